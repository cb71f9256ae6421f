"""The store's tables, declared with SQLModel.

These declarations are the schema Alembic migrates to; queries on the hot
paths are written in SQL in `store.py` so that opening the console does not
pay for importing the ORM.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class ContactTable(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (Index("ix_contact_activity", "last_activity", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = ""
    first_name: str = ""
    language: str = ""
    profile: str = "{}"  # JSON object of free fields: company, order id, notes...
    status: str = "open"
    snoozed_until: float | None = None
    assignee: str | None = None
    tags: str = "[]"  # JSON list
    unread: int = 0
    last_activity: float = 0.0
    last_preview: str = ""
    last_direction: str | None = None
    last_account: str | None = None  # channel account of the customer's last message
    channels: str = ""  # comma-separated channel kinds seen, for the list's marks
    created_at: float = 0.0
    merged_into: int | None = None
    # A rule handed the customer to a person: no automatic replies to them
    # until the conversation is resolved.
    handoff: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class IdentityTable(SQLModel, table=True):
    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("kind", "address", name="uq_identity_kind_address"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    kind: str
    address: str
    display: str = ""
    last_used: float | None = None
    data: str = "{}"  # JSON: per-channel facts such as a Telegram chat id
    opted_out: bool = False
    created_at: float = 0.0
    # Asked for no more broadcasts on this address (配信停止, unsubscribe).
    broadcast_opt_out: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class MessageTable(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_thread", "contact_id", "sent_at", "id"),
        Index("ix_message_contact_in", "contact_id", "direction", "account", "kind", "sent_at"),
        Index(
            "uq_message_provider",
            "account",
            "provider_id",
            unique=True,
            sqlite_where=text("provider_id IS NOT NULL"),
        ),
        Index(
            "ix_message_outbox",
            "status",
            "next_attempt_at",
            sqlite_where=text("status IN ('queued', 'sending')"),
        ),
        Index(
            "ix_message_broadcast",
            "broadcast_id",
            "status",
            sqlite_where=text("broadcast_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    identity_id: int | None = Field(default=None, foreign_key="identity.id", index=True)
    account: str
    kind: str
    direction: str
    provider_id: str | None = None
    subject: str = ""
    text: str = ""
    html: str | None = None
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    meta: str = "{}"
    sent_at: float
    created_at: float
    status: str
    status_reason: str = ""
    author: str | None = None
    attempts: int = 0
    next_attempt_at: float | None = None
    edited: bool = False
    parse_error: str = ""
    broadcast_id: int | None = None  # one customer's message of a broadcast


class AttachmentTable(SQLModel, table=True):
    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str = ""
    content_type: str = "application/octet-stream"
    size: int = 0
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    note: str = ""


class CannedReplyTable(SQLModel, table=True):
    __tablename__ = "canned_reply"
    __table_args__ = (UniqueConstraint("shortcut", "language", name="uq_canned_shortcut"),)

    id: int | None = Field(default=None, primary_key=True)
    shortcut: str
    title: str = ""
    body: str = ""
    language: str = ""


class CursorTable(SQLModel, table=True):
    """Where an adapter is in its provider's stream (IMAP UID, update offset...)."""

    __tablename__ = "cursor"

    account: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str = ""


class ChangeTable(SQLModel, table=True):
    """Append-only log every OmniTUI process on the store polls to stay live."""

    __tablename__ = "change"

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    contact_id: int | None = None
    at: float


class MergeRecordTable(SQLModel, table=True):
    """A merge or unmerge, kept so it can be undone."""

    __tablename__ = "merge_record"

    id: int | None = Field(default=None, primary_key=True)
    action: str  # merge | unmerge | link
    source_contact_id: int
    target_contact_id: int
    identity_ids: str = "[]"
    evidence: str = ""
    agent: str | None = None
    at: float
    undone_at: float | None = None
    # The merged-into contact's profile before and after a merge, so undo can
    # put back what the merge changed (JSON; "{}" for splits and links).
    profile_before: str = Field(default="{}", sa_column_kwargs={"server_default": "{}"})
    profile_after: str = Field(default="{}", sa_column_kwargs={"server_default": "{}"})


class FieldHistoryTable(SQLModel, table=True):
    """A profile value that lost in a merge, kept on the merged contact."""

    __tablename__ = "field_history"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    field: str
    value: str
    merge_record_id: int | None = None
    source_name: str = Field(default="", sa_column_kwargs={"server_default": ""})
    at: float


class ComposingTable(SQLModel, table=True):
    """An agent writing a reply to a contact (refreshed while they type)."""

    __tablename__ = "composing"

    contact_id: int = Field(primary_key=True)
    agent: str = Field(primary_key=True)
    at: float


class ChannelStatusTable(SQLModel, table=True):
    """A channel that is not working, and why, as the process running it last said."""

    __tablename__ = "channel_status"

    account: str = Field(primary_key=True)
    problem: str
    at: float


class DraftTable(SQLModel, table=True):
    """A reply an agent has started to a customer and not sent yet."""

    __tablename__ = "draft"

    contact_id: int = Field(primary_key=True)
    agent: str = Field(primary_key=True)
    text: str
    account: str = ""  # the channel account picked for it ("" for the customer's last)
    subject: str = ""
    at: float


class AutomationEventTable(SQLModel, table=True):
    """An event waiting for the automation rules (a message, a resolve)."""

    __tablename__ = "automation_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    contact_id: int
    message_id: int | None = None
    new_conversation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    at: float
    rating: int | None = None  # a `csat` event: the customer's answer


class RuleFiringTable(SQLModel, table=True):
    """A rule that fired for an event, and what it did in words."""

    __tablename__ = "rule_firing"
    __table_args__ = (
        Index("ix_rule_firing_rule_at", "rule", "at"),
        Index("ix_rule_firing_contact_at", "contact_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: str
    event: str
    contact_id: int
    message_id: int | None = None
    at: float
    replied: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    notify: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    summary: str = Field(default="", sa_column_kwargs={"server_default": ""})


class RuleTimerTable(SQLModel, table=True):
    """A no_reply rule's clock for one customer (due_at NULL: it fired)."""

    __tablename__ = "rule_timer"
    __table_args__ = (Index("ix_rule_timer_due", "due_at"),)

    contact_id: int = Field(primary_key=True)
    rule: str = Field(primary_key=True)
    since: float
    due_at: float | None = None


class ConversationTable(SQLModel, table=True):
    """One conversation: from a customer's message on a new or resolved thread
    until it is resolved. Kept up to date as messages arrive, for reports."""

    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_contact", "contact_id", "resolved_at"),
        Index("ix_conversation_started", "started_at"),
        Index("ix_conversation_resolved", "resolved_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int
    account: str = Field(default="", sa_column_kwargs={"server_default": ""})
    kind: str = Field(default="", sa_column_kwargs={"server_default": ""})
    first_message_id: int | None = None
    started_at: float
    first_response_at: float | None = None  # a person's first reply (not a rule's)
    first_response_by: str | None = None
    resolved_at: float | None = None
    assignee: str | None = None
    messages_in: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    messages_out: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    automatic_out: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    csat_asked_at: float | None = None
    csat_rating: int | None = None
    csat_at: float | None = None


class MessageHourTable(SQLModel, table=True):
    """Messages per hour (UTC epoch hours), channel kind, direction and agent."""

    __tablename__ = "message_hour"

    hour: int = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    direction: str = Field(primary_key=True)  # in | out | auto
    agent: str = Field(primary_key=True)
    count: int


class BroadcastTable(SQLModel, table=True):
    """One canned reply sent to a segment of customers."""

    __tablename__ = "broadcast"

    id: int | None = Field(default=None, primary_key=True)
    canned: str  # the canned reply's shortcut
    audience: str = Field(default="{}", sa_column_kwargs={"server_default": "{}"})  # JSON
    created_at: float
    send_at: float
    author: str | None = None
    cancelled_at: float | None = None
    # The image, stored once for every recipient; `public_token` names it in
    # the public URL LINE and Twilio fetch it from.
    image: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    image_name: str = Field(default="", sa_column_kwargs={"server_default": ""})
    image_type: str = Field(default="", sa_column_kwargs={"server_default": ""})
    public_token: str | None = Field(default=None, unique=True, index=True)


class BroadcastRecipientTable(SQLModel, table=True):
    """A customer's place in a broadcast: their message, or why they were skipped."""

    __tablename__ = "broadcast_recipient"
    __table_args__ = (Index("ix_broadcast_recipient_message", "message_id"),)

    broadcast_id: int = Field(primary_key=True)
    contact_id: int = Field(primary_key=True)
    account: str | None = None
    kind: str | None = None
    message_id: int | None = None
    skipped: str = Field(default="", sa_column_kwargs={"server_default": ""})
    # The unguessable part of this customer's one-click unsubscribe link.
    unsubscribe_token: str | None = Field(default=None, unique=True, index=True)


class WebhookTable(SQLModel, table=True):
    """A `[[webhook]]` of the channel runner's config: where events go, and which."""

    __tablename__ = "webhook"
    __table_args__ = (UniqueConstraint("url", name="uq_webhook_url"),)

    id: int | None = Field(default=None, primary_key=True)
    url: str
    events: str = Field(default="[]", sa_column_kwargs={"server_default": "[]"})  # JSON list
    # In the runner's config now; a webhook taken out of it keeps its history.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})
    failures_in_row: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str = Field(default="", sa_column_kwargs={"server_default": ""})
    last_error_at: float | None = None
    updated_at: float


class WebhookDeliveryTable(SQLModel, table=True):
    """One event on its way to one webhook, its body frozen when it happened."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_queue", "webhook_id", "state", "contact_id", "id"),
        Index("ix_webhook_delivery_order", "webhook_id", "state", "id"),
        Index("ix_webhook_delivery_event", "event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int
    event_id: str  # "evt_…": the same for every webhook and every attempt
    event: str
    contact_id: int
    body: str  # the JSON POSTed, byte for byte on every attempt
    state: str = Field(default="pending", sa_column_kwargs={"server_default": "pending"})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_at: float
    last_error: str = Field(default="", sa_column_kwargs={"server_default": ""})
    last_status: int | None = None
    created_at: float
    attempted_at: float | None = None
    done_at: float | None = None
