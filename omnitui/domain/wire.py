"""Customers and messages as JSON, for what leaves OmniTUI: webhooks and the local API.

One set of pydantic models serves both, so a CRM reads the same `contact` and
`message` objects in a webhook's body as from `GET /contacts/{id}`, and the
API's OpenAPI description is generated from them. Times are ISO 8601 in UTC.
Imported only by the webhook queue and the API (a console without them never
loads pydantic for this).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omnitui.domain.models import Contact, Identity, Message, SearchHit

WebhookEvent = Literal[
    "message.received",
    "message.sent",
    "conversation.resolved",
    "contact.updated",
    "csat.received",
]


class _Out(BaseModel):
    # A field with a default is always in the JSON sent: the schema says it is there.
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


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


# -- the local API: what a script sends, and the lists and errors it gets back --------

TEXT_MAX = 20_000  # characters of a message posted through the API (an SMS says less)
NAME_MAX = 200
TAG_MAX = 64
LIST_MAX = 200  # items in one answer


class _In(BaseModel):
    """What a script sends: a key OmniTUI does not know is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX)]
StatusName = Literal["open", "pending", "snoozed", "resolved"]


class MessageIn(_In):
    """A message to a customer, queued in the outbox like an agent's reply."""

    text: str = Field(min_length=1, max_length=TEXT_MAX, pattern=r"\S")
    channel: str | None = Field(
        None,
        description="a channel kind (email, telegram, sms, line) or a channel account's name; "
        "without it, the channel the customer last wrote on (as the console's composer)",
    )
    subject: str | None = Field(
        None,
        max_length=250,
        description="email only; without it, Re: the subject of the customer's last mail",
    )


class NoteIn(_In):
    """An internal note in a customer's thread: agents see it, the customer never does."""

    text: str = Field(min_length=1, max_length=TEXT_MAX, pattern=r"\S")


class ContactPatch(_In):
    """What changes on a customer; a key left out stays as it is.

    `profile` changes only the fields it names (null removes one); `tags` is
    the whole list, or `add_tags` / `remove_tags` change it; `assignee` null
    gives the customer to nobody; `status` "snoozed" needs `snoozed_until`.
    """

    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
        | None
    ) = None
    first_name: str | None = Field(None, max_length=NAME_MAX)
    language: str | None = Field(None, max_length=16, description='e.g. "ja", "en"; "" for none')
    profile: dict[str, str | None] | None = Field(
        None, description="fields to set; a field set to null is removed"
    )
    tags: list[Tag] | None = Field(None, description="the whole list of tags")
    add_tags: list[Tag] | None = None
    remove_tags: list[Tag] | None = None
    status: StatusName | None = None
    snoozed_until: datetime | None = Field(None, description='with status "snoozed"')
    assignee: str | None = Field(
        None, max_length=NAME_MAX, description="an agent's name; null: nobody"
    )


class ContactQuery(_In):
    """`GET /contacts`: with `q`, the customers a search finds (names, addresses,
    then what they wrote, newest first); without it, by last activity, newest first."""

    q: str = Field("", max_length=200, description="words, as the console's / search")
    tag: str | None = Field(None, max_length=TAG_MAX, description="only customers with this tag")
    status: StatusName | None = None
    assignee: str | None = Field(None, max_length=NAME_MAX, description="only this agent's")
    limit: int = Field(20, ge=1, le=LIST_MAX)
    after: str | None = Field(
        None, max_length=64, description="without q: the `next` of the page before"
    )


class MessageQuery(_In):
    """`GET /contacts/{id}/messages`: the merged thread, newest first."""

    limit: int = Field(50, ge=1, le=LIST_MAX)
    before: int | None = Field(None, ge=1, description="a message id: only messages older than it")


class SearchQuery(_In):
    """`GET /search`: messages and customers, as the console's / search finds them."""

    q: str = Field(min_length=1, max_length=200, pattern=r"\S")
    limit: int = Field(50, ge=1, le=LIST_MAX)


class ContactList(_Out):
    items: list[ContactOut]
    next: str | None = Field(None, description="more follow: pass it as `after` (lists without q)")


class MessageList(_Out):
    items: list[MessageOut] = Field(description="newest first")
    next: int | None = Field(None, description="older messages follow: pass it as `before`")


class SearchHitOut(_Out):
    """A customer (message_id null: their name or an address matched) or a message."""

    contact_id: int
    contact_name: str
    message_id: int | None = None
    channel: str | None = None
    at: datetime | None = None
    snippet: str = ""
    note: bool = Field(False, description="the message found is an internal note")


class SearchList(_Out):
    items: list[SearchHitOut]


class TagOut(_Out):
    tag: str
    contacts: int = Field(description="how many customers have it")


class TagList(_Out):
    items: list[TagOut]


class ChannelOut(_Out):
    """A channel account the shop replies from."""

    name: str
    kind: str


class ChannelList(_Out):
    items: list[ChannelOut]


class ErrorOut(_Out):
    """Every refusal: what is wrong, in words, and the field it is about (if one)."""

    error: str
    field: str | None = None


def search_hit_out(hit: SearchHit) -> SearchHitOut:
    return SearchHitOut(
        contact_id=hit.contact_id,
        contact_name=hit.contact_name,
        message_id=hit.message_id,
        channel=None if hit.kind is None else str(hit.kind),
        at=when(hit.sent_at),
        snippet=hit.snippet,
        note=hit.note,
    )
