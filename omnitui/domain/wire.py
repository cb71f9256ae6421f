"""Customers and messages as JSON, for what leaves OmniTUI: webhooks and the local API.

One set of pydantic models serves both, so a CRM reads the same `contact` and
`message` objects in a webhook's body as from `GET /contacts/{id}`, and the
API's OpenAPI description is generated from them. Times are ISO 8601 in UTC.
Imported only by the webhook queue and the API (a console without them never
loads pydantic for this).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omnitui.domain.models import Contact, Identity, Message

WebhookEvent = Literal[
    "message.received",
    "message.sent",
    "conversation.resolved",
    "contact.updated",
    "csat.received",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


def when(at: float | None) -> datetime | None:
    """A store time (seconds since the epoch) as an aware UTC datetime."""
    return None if at is None else datetime.fromtimestamp(at, UTC)


class IdentityOut(_Out):
    """One address a customer writes from."""

    kind: str = Field(description="email, phone, telegram, line, or a plugin channel's kind")
    address: str
    display: str = ""
    opted_out: bool = Field(False, description="the customer shut this channel to the shop")


class ContactOut(_Out):
    """A customer, with every address they have written from."""

    id: int
    name: str
    first_name: str = ""
    language: str = ""
    tags: list[str] = Field(default_factory=list)
    status: Literal["open", "pending", "snoozed", "resolved"]
    snoozed_until: datetime | None = None
    assignee: str | None = None
    unread: int = 0
    last_activity: datetime | None = None
    last_channel: str | None = Field(None, description="the channel account the customer last used")
    profile: dict[str, str] = Field(default_factory=dict)
    identities: list[IdentityOut] = Field(default_factory=list)


class AttachmentOut(_Out):
    filename: str
    content_type: str
    size: int


class MessageOut(_Out):
    """One message of a customer's thread, on any channel."""

    id: int
    contact_id: int
    direction: Literal["in", "out", "note", "auto"]
    channel: str | None = Field(None, description="the channel's kind; null for a note")
    account: str = Field("", description="the channel account's name")
    subject: str = ""
    text: str
    at: datetime
    status: Literal["received", "queued", "sending", "sent", "delivered", "failed", "unknown"]
    status_reason: str = ""
    author: str | None = Field(None, description="the agent (or API) that wrote an outgoing one")
    sender: str = ""
    attachments: list[AttachmentOut] = Field(default_factory=list)
    csat: int | None = Field(None, description="the 1-5 rating this message gave")


class CsatOut(_Out):
    """A customer's satisfaction rating of a resolved conversation."""

    rating: int = Field(description="1 (worst) to 5 (best)")
    conversation_id: int
    conversation_started: datetime
    resolved_at: datetime | None = None
    asked_at: datetime | None = Field(None, description="when the question went out")
    resolved_by: str | None = Field(None, description="the agent the conversation was with")


class WebhookBody(_Out):
    """What each webhook POST carries. `id` is the event's: a retried delivery
    carries the same one, so a receiver can ignore a repeat."""

    id: str
    event: WebhookEvent
    at: datetime
    contact: ContactOut
    message: MessageOut | None = None
    csat: CsatOut | None = Field(None, description="the rating, on csat.received")


def identity_out(identity: Identity) -> IdentityOut:
    return IdentityOut(
        kind=str(identity.kind),
        address=identity.address,
        display=identity.display,
        opted_out=identity.opted_out,
    )


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        name=contact.name,
        first_name=contact.first_name,
        language=contact.language,
        tags=list(contact.tags),
        status=contact.status.value,
        snoozed_until=when(contact.snoozed_until),
        assignee=contact.assignee,
        unread=contact.unread,
        last_activity=when(contact.last_activity) if contact.last_activity else None,
        last_channel=contact.last_account,
        profile={k: v for k, v in contact.profile.items() if v},
        identities=[identity_out(i) for i in contact.identities],
    )


def message_out(message: Message) -> MessageOut:
    at = when(message.sent_at)
    assert at is not None
    return MessageOut(
        id=message.id,
        contact_id=message.contact_id,
        direction=message.direction.value,
        channel=None if message.kind is None else str(message.kind),
        account=message.account,
        subject=message.subject,
        text=message.text,
        at=at,
        status=message.status.value,
        status_reason=message.status_reason,
        author=message.author,
        sender=message.sender,
        attachments=[
            AttachmentOut(filename=a.filename, content_type=a.content_type, size=a.size)
            for a in message.attachments
        ],
        csat=message.csat,
    )
