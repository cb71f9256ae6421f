"""The things a shop owner talks about, as plain immutable records.

The store returns these to the UI; they carry no database session and no
widget, so any layer can hold them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from omnitui.errors import OmniError

# A kind beyond the built-in ones (a plugin's channel, or the kind of address it
# brings): lower-case letters, digits, `_` and `-`, a letter first.
_PLUGIN_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_Kind = TypeVar("_Kind", bound=StrEnum)


def _pseudo_member(cls: type[_Kind], value: object) -> _Kind | None:
    """A member of `cls` for a well-formed kind it does not list, made once and
    kept, so that `ChannelKind("webform") is ChannelKind("webform")`."""
    if not isinstance(value, str) or not _PLUGIN_KIND.fullmatch(value):
        return None
    member = str.__new__(cls, value)
    member._name_ = value.upper().replace("-", "_")
    member._value_ = value
    # setdefault: two threads making the same kind at once keep one of them.
    return cls._value2member_map_.setdefault(value, member)  # type: ignore[return-value]


class ChannelKind(StrEnum):
    """The kind of channel a message travelled on.

    The four built-in kinds are listed; an installed plugin brings its own
    (`ChannelKind("webform")`), which the store keeps as text like the others.
    Iterating the class gives the built-in ones only.
    """

    EMAIL = "email"
    TELEGRAM = "telegram"
    SMS = "sms"
    LINE = "line"

    @classmethod
    def _missing_(cls, value: object) -> ChannelKind | None:
        return _pseudo_member(cls, value)


class IdentityKind(StrEnum):
    """What an identity's address is (a plugin may bring a kind of its own)."""

    EMAIL = "email"
    PHONE = "phone"
    TELEGRAM = "telegram"
    LINE = "line"  # a LINE user id (`U` and 32 hex digits), as the bot sees it

    @classmethod
    def _missing_(cls, value: object) -> IdentityKind | None:
        member = _pseudo_member(cls, value)
        if member is not None and ChannelKind(member.value) not in IDENTITY_FOR_CHANNEL:
            # An address kind of a plugin's own is answered on its plugin's channel
            # kind (same name), so "which channel reaches this address" finds one
            # even in a process that has not loaded the plugin.
            # No reply goes on it until its plugin says it can carry one.
            _PLUGIN_KINDS.setdefault(
                ChannelKind(member.value), KindInfo(identity=member, replies=False)
            )
        return member


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What OmniTUI knows of a plugin's channel kind: which identity kind its
    addresses are, how the console draws it, and whether it can carry a reply."""

    identity: IdentityKind
    label: str = ""  # its short name ("web form"); "" shows the kind itself
    label_ja: str = ""  # its short name in the Japanese console ("フォーム"); "" for `label`
    mark: str = ""  # one cell in the contact list (English); "" for its first letter
    icon: str = ""  # one cell, the Japanese console's picture; "" for the mark
    replies: bool = True  # False: a reply cannot go on it (a web form)


_BUILT_IN_IDENTITY: dict[ChannelKind, IdentityKind] = {
    ChannelKind.EMAIL: IdentityKind.EMAIL,
    ChannelKind.SMS: IdentityKind.PHONE,
    ChannelKind.TELEGRAM: IdentityKind.TELEGRAM,
    ChannelKind.LINE: IdentityKind.LINE,
}
# The plugins' kinds this process knows of, in the order they were made known.
_PLUGIN_KINDS: dict[ChannelKind, KindInfo] = {}


class _IdentityForChannel(Mapping[ChannelKind, IdentityKind]):
    """The built-in kinds first, then the plugins' kinds known to this process."""

    def __getitem__(self, kind: ChannelKind) -> IdentityKind:
        if kind in _BUILT_IN_IDENTITY and kind not in _PLUGIN_KINDS:
            return _BUILT_IN_IDENTITY[kind]
        return _PLUGIN_KINDS[kind].identity

    def __iter__(self) -> Iterator[ChannelKind]:
        yield from _BUILT_IN_IDENTITY
        yield from (k for k in list(_PLUGIN_KINDS) if k not in _BUILT_IN_IDENTITY)

    def __len__(self) -> int:
        return len(_BUILT_IN_IDENTITY) + sum(
            1 for k in _PLUGIN_KINDS if k not in _BUILT_IN_IDENTITY
        )

    def __contains__(self, kind: object) -> bool:
        return kind in _BUILT_IN_IDENTITY or kind in _PLUGIN_KINDS


# Which identity kind answers on which channel kind.
IDENTITY_FOR_CHANNEL: Mapping[ChannelKind, IdentityKind] = _IdentityForChannel()


class KindClash(OmniError):
    """A plugin's kind that cannot be made known (it contradicts a built-in kind)."""


def register_kind(kind: str, info: KindInfo) -> ChannelKind:
    """Make a plugin's channel kind known to this process: its addresses, its
    label and mark, whether it replies. A built-in kind may be brought by a
    plugin (another SMS provider) only with the built-in kind's identity."""
    member = ChannelKind(kind)
    built_in = _BUILT_IN_IDENTITY.get(member)
    if built_in is not None and info.identity is not built_in:
        raise KindClash(
            "channel kind {kind} is built in with {built_in} addresses, not {identity}",
            kind=kind,
            built_in=built_in,
            identity=info.identity,
        )
    _PLUGIN_KINDS[member] = info
    return member


def kind_info(kind: ChannelKind) -> KindInfo | None:
    """What a plugin said about `kind`, or None (a built-in kind, or a plugin's kind
    this process has not loaded)."""
    return _PLUGIN_KINDS.get(kind)


def can_reply(kind: ChannelKind) -> bool:
    """Whether a reply can go out on a channel of `kind`: a built-in one, or a
    plugin's that says it can (a web form cannot). A plugin's kind this process
    has not loaded (its messages stay in the store after the plugin is gone) has
    nothing here to send it."""
    info = _PLUGIN_KINDS.get(kind)
    if info is None:
        return kind in _BUILT_IN_IDENTITY
    return info.replies


def reply_channel(channel: Channel | None, channels: Iterable[Channel]) -> Channel | None:
    """Where a reply to a message that came on `channel` goes: `channel` itself when
    it can carry one, else the first of `channels` that can and reaches the same
    kind of address (a web form's customer is answered by the shop's email)."""
    if channel is None or can_reply(channel.kind):
        return channel
    wanted = IDENTITY_FOR_CHANNEL.get(channel.kind)
    return next(
        (
            c
            for c in channels
            if can_reply(c.kind)
            and wanted is not None
            and IDENTITY_FOR_CHANNEL.get(c.kind) is wanted
        ),
        None,
    )


def reachable_channels(contact: Contact, configured: Sequence[Channel]) -> list[Channel]:
    """The shop's channels that can write to this customer first: email and SMS
    to their addresses (an SMS opt-out is said when sending). Never Telegram:
    a bot may only answer someone who wrote to it, so a Telegram channel is
    offered only once the customer has written on it."""
    kinds = {
        k
        for k, v in IDENTITY_FOR_CHANNEL.items()
        if k is not ChannelKind.TELEGRAM and any(i.kind is v for i in contact.identities)
    }
    return [c for c in configured if c.kind in kinds]


def answer_channels(
    contact: Contact, used: Sequence[Channel], configured: Sequence[Channel]
) -> tuple[list[Channel], Channel | None]:
    """The channels a reply to `contact` can go on, and the one it goes on unless
    another is picked (their last). Those they wrote on come first, then the
    shop's that can write to them first (`reachable_channels`); never one that
    cannot carry a reply (a plugin's web form: the reply goes on another that
    reaches the same address, the shop's email). The composer and the local API
    both answer from this."""
    channels = [c for c in used if can_reply(c.kind)]
    for channel in reachable_channels(contact, configured):
        if channel not in channels and can_reply(channel.kind):
            channels.append(channel)
    default = next((c for c in channels if c.account == contact.last_account), None)
    return channels, default


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    # An agent's internal note in the thread: agents see it, the customer never
    # does. It is on no channel, never enters the outbox, and changes nothing
    # about the conversation (not its last activity, unread count or waiting).
    NOTE = "note"
    # What an automation rule did ("⚙ returns: tagged support, assigned to
    # Ken"): like a note, on no channel and leaving the conversation as it was.
    # Its text is the JSON of the rule's actions, put in words when shown.
    AUTO = "auto"


class Delivery(StrEnum):
    """Delivery state of a message. Inbound messages are simply `received`."""

    RECEIVED = "received"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"


class ThreadStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Channel:
    """One configured channel account, e.g. the shop's mailbox `shop-mail`."""

    kind: ChannelKind
    account: str


@dataclass(frozen=True, slots=True)
class Identity:
    id: int
    contact_id: int
    kind: IdentityKind
    address: str
    display: str
    last_used: float | None
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class ContactSummary:
    """One row of the contact list."""

    id: int
    name: str
    status: ThreadStatus
    snoozed_until: float | None
    unread: int
    last_activity: float
    last_preview: str
    last_direction: Direction | None
    channels: frozenset[ChannelKind]
    assignee: str | None
    draft: bool = False  # the agent has an unsent reply to them


@dataclass(frozen=True, slots=True)
class Draft:
    """An agent's unsent reply to one customer."""

    text: str
    account: str = ""  # the channel account picked for it; "" for the customer's last
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    """A customer, with every identity they have written from."""

    id: int
    name: str
    first_name: str
    language: str
    profile: Mapping[str, str]
    status: ThreadStatus
    snoozed_until: float | None
    assignee: str | None
    tags: tuple[str, ...]
    unread: int
    last_activity: float
    last_account: str | None
    identities: tuple[Identity, ...] = ()

    def placeholder_values(self) -> dict[str, str]:
        """Values a canned reply can use: profile fields, then the fixed ones."""
        values = {k: v for k, v in self.profile.items() if v}
        if self.name:
            values["name"] = self.name
        if self.first_name:
            values["first_name"] = self.first_name
        if self.language:
            values["language"] = self.language
        return values


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    contact_id: int
    kind: ChannelKind | None  # None for an internal note (it is on no channel)
    account: str
    direction: Direction
    subject: str
    text: str
    sent_at: float
    status: Delivery
    status_reason: str
    author: str | None
    sender: str
    edited: bool = False
    parse_error: str = ""
    attachments: tuple[Attachment, ...] = ()
    folded: str = ""  # the text with quoted history folded away, when there was some
    has_source: bool = False  # the raw source (email) is kept and can be shown
    # Email: who else it went to (`Name <address>`), and the signature a reply
    # carried below its text.
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    signature: str = ""
    csat: int | None = None  # the customer's satisfaction rating (1-5) this message gave
    # A Telegram customer opened the chat through the bot's link: the link's
    # source ("counter"), "" for a plain link. None for any other message.
    started_from: str | None = None

    @property
    def is_note(self) -> bool:
        return self.direction is Direction.NOTE

    @property
    def is_automation(self) -> bool:
        return self.direction is Direction.AUTO


@dataclass(frozen=True, slots=True)
class CannedReply:
    id: int
    shortcut: str
    title: str
    body: str
    language: str = ""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message or a contact that matched a search."""

    contact_id: int
    contact_name: str
    message_id: int | None
    kind: ChannelKind | None
    sent_at: float | None
    snippet: str
    note: bool = False  # the message found is an agent's internal note


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes | None
    size: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message an adapter received, before the store has placed it.

    `provider_id` makes ingestion idempotent per channel account: storing the
    same (account, provider_id) twice keeps one message.
    """

    channel: Channel
    provider_id: str
    address: str
    display_name: str
    text: str
    sent_at: float
    subject: str = ""
    html: str | None = None
    raw: bytes | None = None
    meta: Mapping[str, object] = field(default_factory=dict)
    attachments: tuple[InboundAttachment, ...] = ()
    parse_error: str = ""
    edited: bool = False
    # Facts to remember on the sender's identity (e.g. a Telegram chat id).
    identity_data: Mapping[str, object] = field(default_factory=dict)
    # Other addresses the sender proved are theirs (a Telegram user sharing
    # their own phone number): they become identities of the same contact.
    linked_identities: tuple[tuple[IdentityKind, str], ...] = ()
    # With this message the sender opted out of the channel (True, an SMS STOP)
    # or back in (False, START); stored in the same transaction as the message.
    opt_out: bool | None = None
    # With this message the sender asked for no more broadcasts on this address
    # (True: 配信停止, unsubscribe) or for them again (False: 配信再開); the
    # channel itself stays open for replies. Stored with the message.
    broadcast_opt_out: bool | None = None
    # Stored as history (a first sync, a backfill), not a live arrival: no
    # automation rule runs on it.
    history: bool = False
    # Tags the sender gets with this message (`source:counter` for a customer
    # who came through the counter's QR code), in the same transaction.
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboundFile:
    """A file sent with a reply (a photo or a document)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Outbound:
    """A reply the hub hands to an adapter to send."""

    message_id: int
    channel: Channel
    address: str
    text: str
    subject: str
    meta: Mapping[str, object] = field(default_factory=dict)
    attempt: int = 1
    files: tuple[OutboundFile, ...] = ()
    # Records what of a message in several parts already went out (kept in its
    # meta), before the next part goes: a retry, even after a crash, sends only the rest.
    on_progress: Callable[[Mapping[str, object]], Awaitable[None]] | None = field(
        default=None, compare=False, repr=False
    )


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """A provider's later word on a message it accepted (a delivery receipt)."""

    channel: Channel
    provider_id: str
    status: Delivery
    reason: str = ""
