"""The interface a channel plugin is written against: `API_VERSION` 1.

A shop adds a channel OmniTUI does not ship by installing a package that
names an `AdapterPlugin` in the entry point group `omnitui.adapters`, and a
`[[plugin]]` table in config.toml:

    [[plugin]]
    adapter = "webform"          # the entry point's name
    name = "web-form"            # the channel's name, as for [[email]]
    listen = "127.0.0.1:8780"    # the plugin's own keys, checked by its `options` model

A plugin imports only the names of this module (`__all__`). They keep their
meaning while `API_VERSION` stays the same; a change that could break a plugin
written for it raises `API_VERSION`, and OmniTUI refuses, with a message
naming the plugin and both versions, a plugin written for another one.
docs/plugins.md describes the interface and the policy in full.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator

from omnitui.adapters.base import (
    Adapter,
    KnownMessages,
    PromptSink,
    ReadMirror,
    Reporting,
    SendError,
    Sent,
    Sink,
    SinkBusy,
)
from omnitui.config import HostPort, PluginConfig, Secret, SecretError, host_port
from omnitui.domain.health import (
    CONNECTED,
    CONNECTING,
    STOPPED,
    ChannelState,
    ChannelTrouble,
    Health,
)
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryUpdate,
    IdentityKind,
    Inbound,
    InboundAttachment,
    Outbound,
    OutboundFile,
)
from omnitui.errors import OmniError

# Raised by any change that could break a plugin written for the version before
# (docs/plugins.md, "Version policy").
API_VERSION = 1
ENTRY_POINT_GROUP = "omnitui.adapters"

__all__ = [
    "API_VERSION",
    "CONNECTED",
    "CONNECTING",
    "ENTRY_POINT_GROUP",
    "STOPPED",
    "Adapter",
    "AdapterPlugin",
    "Channel",
    "ChannelKind",
    "ChannelState",
    "ChannelTrouble",
    "Delivery",
    "DeliveryUpdate",
    "Health",
    "HostPort",
    "IdentityKind",
    "Inbound",
    "InboundAttachment",
    "KnownMessages",
    "LoopbackListen",
    "OmniError",
    "Outbound",
    "OutboundFile",
    "PluginConfig",
    "PromptSink",
    "ReadMirror",
    "Reporting",
    "Secret",
    "SecretError",
    "SendError",
    "Sent",
    "Sink",
    "SinkBusy",
    "cannot_reply",
]


@runtime_checkable
class AdapterPlugin(Protocol):
    """What an entry point in `omnitui.adapters` names: one kind of channel.

    Plain class attributes are enough for the properties.
    """

    @property
    def name(self) -> str:
        """The plugin's name (its entry point's name, `adapter = ...` in config.toml)."""

    @property
    def version(self) -> str:
        """The plugin's own version (`omnitui doctor` shows it)."""

    @property
    def api_version(self) -> int:
        """The `API_VERSION` it was written for; any other is refused."""

    @property
    def kind(self) -> str:
        """The channel kind its messages carry: lower-case letters, digits, `_`, `-`
        (e.g. "webform"). A built-in kind ("sms") only with that kind's identity."""

    @property
    def identity(self) -> IdentityKind:
        """What its customers' addresses are. An existing kind (`IdentityKind.EMAIL`)
        joins the customer to the contact that has the address already; a kind of
        its own is `IdentityKind("<its kind>")`."""

    @property
    def label(self) -> str:
        """Its short name in the console ("web form"). An optional `label_ja`
        attribute names it in the Japanese console ("ウェブフォーム")."""

    @property
    def mark(self) -> str:
        """One cell standing for it in the contact list ("W")."""

    @property
    def icon(self) -> str:
        """One cell for the Japanese console, which draws pictures ("✎"); "" for `mark`."""

    @property
    def replies(self) -> bool:
        """Whether it can carry a reply. False: the console offers the customer's other
        channels, and a reply put on it fails saying why (`cannot_reply`)."""

    @property
    def options(self) -> type[BaseModel]:
        """The pydantic model of its own `[[plugin]]` keys (every key but `adapter`
        and `name`). OmniTUI checks the table with it; a problem is a config error
        naming the file, the line and the key."""

    def build(self, config: PluginConfig, options: Any) -> Adapter:
        """The adapter for one `[[plugin]]` channel; `options` is an instance of
        `options`. Build only: connect, listen or read secrets in `Adapter.run`
        (`omnitui doctor` builds every channel without running it)."""


def cannot_reply(label: str) -> SendError:
    """The error a channel that cannot carry a reply raises from `send`: the reply
    fails (not retried) and the thread says why."""
    return SendError(
        "a {channel} cannot carry a reply: answer on another of the customer's channels",
        retryable=False,
        channel=label,
    )


def _loopback(value: object) -> object:
    found = host_port(value)
    if isinstance(found, HostPort):
        try:
            loopback = ipaddress.ip_address(found.host).is_loopback
        except ValueError:
            loopback = found.host == "localhost"
        if not loopback:
            raise ValueError(
                f"{value!r} is not a loopback address: listen on 127.0.0.1 or ::1, "
                "behind the shop's proxy"
            )
    return found


# A "host:port" key that must be a loopback address, for a plugin's `options`.
LoopbackListen = Annotated[HostPort, BeforeValidator(_loopback)]
