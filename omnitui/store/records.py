"""What the store hands back besides domain objects: results, cursors, batches.

They belong to no database: every store backend returns the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnitui.domain.models import Channel, Delivery, OutboundFile


@dataclass(frozen=True, slots=True)
class IngestResult:
    message_id: int
    contact_id: int
    created: bool  # False when the message was already stored (a resend)


@dataclass(frozen=True, slots=True)
class RecordedOutbound:
    """A reply already sent, to be kept in the thread as it was."""

    channel: Channel
    address: str  # normalised identity address it went to
    text: str
    sent_at: float
    provider_id: str
    subject: str = ""
    status: Delivery = Delivery.DELIVERED
    author: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawnReply:
    """A reply taken back before it was sent, to put in the composer again."""

    contact_id: int
    channel: Channel
    subject: str
    text: str
    files: tuple[OutboundFile, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LastMail:
    """The customer's newest mail on an account: what a reply to it starts from."""

    subject: str
    sender: str  # the address it came from (Reply-To when it had one)
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileFields:
    first_name: str = ""
    language: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    last_id: int
    contact_ids: frozenset[int]
    kinds: frozenset[str]
    noted: frozenset[int] = frozenset()  # contacts with a new internal note


@dataclass(frozen=True, slots=True)
class ThreadCursor:
    """Where a thread page ends, to fetch the page before it."""

    sent_at: float
    message_id: int
