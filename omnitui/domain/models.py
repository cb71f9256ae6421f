"""The things a shop owner talks about, as plain immutable records.

The store returns these to the UI; they carry no database session and no
widget, so any layer can hold them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ChannelKind(StrEnum):
    """The kind of channel a message travelled on."""

    EMAIL = "email"
    TELEGRAM = "telegram"
    SMS = "sms"
    LINE = "line"


class IdentityKind(StrEnum):
    """What an identity's address is."""

    EMAIL = "email"
    PHONE = "phone"
    TELEGRAM = "telegram"
    LINE = "line"  # a LINE user id (`U` and 32 hex digits), as the bot sees it


# Which identity kind answers on which channel kind.
IDENTITY_FOR_CHANNEL: Mapping[ChannelKind, IdentityKind] = {
    ChannelKind.EMAIL: IdentityKind.EMAIL,
    ChannelKind.SMS: IdentityKind.PHONE,
    ChannelKind.TELEGRAM: IdentityKind.TELEGRAM,
    ChannelKind.LINE: IdentityKind.LINE,
}


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
