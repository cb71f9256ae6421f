"""What the console's screens work with: the store, who the agent is, the shop.

The app builds one `ConsoleContext` from its settings and hands it to each
screen it opens; a screen reads its services here, never from the app, so a
screen can be built (and tested) with any store and settings.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from omnitui.domain.broadcast_image import ImageSetup
from omnitui.domain.mail import combined_signature
from omnitui.domain.models import Channel, ChannelKind

if TYPE_CHECKING:
    from omnitui.domain.hours import BusinessHours
    from omnitui.domain.qr import QrChannel
    from omnitui.domain.rules import Rule
    from omnitui.store.protocol import StoreProtocol


WAITING_WARN = 30 * 60.0  # [reports] waiting_warn = "30m"
WAITING_ALERT = 2 * 3600.0  # [reports] waiting_alert = "2h"


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    """The store and the settings every screen of one console shares."""

    store: StoreProtocol
    agent_name: str = "Agent"
    shop_values: Mapping[str, str] = field(default_factory=dict)  # {shop}, {agent}, …
    channels: tuple[Channel, ...] = ()  # the channels config.toml sets up
    keymap: Mapping[str, str] = field(default_factory=dict)
    phone_region: str | None = None  # reads local numbers written in messages
    undo_send: float = 0.0  # seconds a sent reply waits, taking "u to undo"
    # [reports]: seconds a customer waits for an answer before the supervisor
    # view marks them (warn), then marks them urgent (alert).
    waiting_warn: float = WAITING_WARN
    waiting_alert: float = WAITING_ALERT
    signatures: Mapping[str, str] = field(default_factory=dict)  # by email account
    agent_signature: str = ""
    own_addresses: frozenset[str] = frozenset()  # the shop's own mail addresses
    downloads_folder: Path | None = None  # None: the user's downloads folder
    outbox_changed: Callable[[], None] = _nothing  # wakes the senders after a reply
    hours: BusinessHours | None = None  # [hours]; None: the console shows none
    rules: tuple[Rule, ...] = ()  # the [[rule]] tables, in order, for the rules screen
    qr_channels: tuple[QrChannel, ...] = ()  # what the QR screen makes codes for
    # [broadcast] email_requires_consent: marketing email only with recorded consent.
    broadcast_email_consent: bool = True
    # [broadcast] public_url and the SMS numbers: where a broadcast's image can go.
    broadcast_images: ImageSetup = field(default_factory=ImageSetup)

    @classmethod
    def build(
        cls,
        store: StoreProtocol,
        *,
        agent_name: str = "Agent",
        shop_values: Mapping[str, str] | None = None,
        channels: Iterable[Channel] = (),
        keymap: Mapping[str, str] | None = None,
        phone_region: str | None = None,
        undo_send: float = 0.0,
        waiting: tuple[float, float] = (WAITING_WARN, WAITING_ALERT),
        signatures: Mapping[str, str] | None = None,
        agent_signature: str = "",
        own_addresses: Collection[str] = (),
        downloads: Path | None = None,
        outbox_changed: Callable[[], None] | None = None,
        hours: BusinessHours | None = None,
        rules: Iterable[Rule] = (),
        qr_channels: Iterable[QrChannel] = (),
        broadcast_email_consent: bool = True,
        broadcast_images: ImageSetup | None = None,
    ) -> ConsoleContext:
        """A context from the console's settings, copied so that nobody changes
        them under a screen; the agent's name is the placeholder {agent}."""
        values = dict(shop_values or {})
        values.setdefault("agent", agent_name)
        return cls(
            store=store,
            agent_name=agent_name,
            shop_values=MappingProxyType(values),
            channels=tuple(channels),
            keymap=MappingProxyType(dict(keymap or {})),
            phone_region=phone_region,
            undo_send=undo_send,
            waiting_warn=waiting[0],
            waiting_alert=waiting[1],
            signatures=MappingProxyType(dict(signatures or {})),
            agent_signature=agent_signature,
            own_addresses=frozenset(a.lower() for a in own_addresses),
            downloads_folder=downloads,
            outbox_changed=outbox_changed or _nothing,
            hours=hours,
            rules=tuple(rules),
            qr_channels=tuple(qr_channels),
            broadcast_email_consent=broadcast_email_consent,
            broadcast_images=broadcast_images or ImageSetup(),
        )

    def signature_for(self, channel: Channel) -> str:
        """The signature a reply on `channel` carries: email only, the account's
        then the agent's."""
        if channel.kind is not ChannelKind.EMAIL:
            return ""
        return combined_signature(self.signatures.get(channel.account, ""), self.agent_signature)

    def downloads(self) -> Path:
        """Where saved attachments go: the user's downloads folder, OmniTUI/."""
        if self.downloads_folder is not None:
            return self.downloads_folder
        from platformdirs import user_downloads_path

        return user_downloads_path() / "OmniTUI"
