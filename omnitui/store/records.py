"""What the store hands back besides domain objects: results, cursors, batches.

They belong to no database: every store backend returns the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Contact,
    Delivery,
    IdentityKind,
    OutboundFile,
    ThreadStatus,
)


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


@dataclass(frozen=True, slots=True)
class AutomationEvent:
    """An event waiting for the automation rules."""

    id: int
    kind: str  # "message" (a customer's message), "resolved" or "csat" (their rating)
    contact_id: int
    message_id: int | None
    new_conversation: bool  # the message opened a conversation (first, or after resolved)
    at: float  # when it was stored
    rating: int | None = None  # a "csat" event: the customer's answer, 1 to 5


@dataclass(frozen=True, slots=True)
class RuleTimer:
    """A no_reply rule's clock for one customer, due now."""

    contact_id: int
    rule: str
    since: float  # the customer's unanswered message
    due_at: float


@dataclass(frozen=True, slots=True)
class AutomationFacts:
    """What the rules look at for one customer when an event is evaluated."""

    contact: Contact
    handoff: bool  # a rule handed them to a person; not resolved since
    text: str = ""  # the event's message (or the customer's last one)
    subject: str = ""
    account: str | None = None  # where that message came in
    kind: ChannelKind | None = None
    sent_at: float | None = None
    automatic: str = ""  # why that message was written by a machine, or ""
    sender: str = ""  # the address it came from
    sender_language: str = ""  # the language its channel gave (Telegram's language_code)
    last_agent_reply: float | None = None  # a person's last reply to them
    composing: tuple[str, ...] = ()  # agents writing to them now
    replies_today: int = 0  # automatic replies in the last 24 hours
    last_fired: Mapping[str, float] = field(default_factory=dict)  # rule -> last firing


@dataclass(frozen=True, slots=True)
class PlannedReply:
    """An automatic reply a rule sends."""

    rule: str
    channel: Channel
    text: str
    subject: str = ""


@dataclass(frozen=True, slots=True)
class PlannedFiring:
    """One rule that fired, and what it did (JSON-able words for its ⚙ line)."""

    rule: str
    actions: Mapping[str, object]
    reply: int | None = None  # index in the plan's replies
    notify: bool = False


@dataclass(frozen=True, slots=True)
class AutomationPlan:
    """Everything the rules do for one event, written in one transaction."""

    event: str  # the rules' event: message, new_conversation, resolved, no_reply
    contact_id: int
    message_id: int | None = None
    firings: tuple[PlannedFiring, ...] = ()
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    status: ThreadStatus | None = None
    profile: tuple[tuple[str, str], ...] = ()
    handoff: bool = False
    replies: tuple[PlannedReply, ...] = ()
    timers: tuple[tuple[str, float], ...] = ()  # no_reply rules to start: (rule, due at)
    round_robin: tuple[tuple[str, str], ...] = ()  # (rule, the agent it picked)
    # The satisfaction question after a resolve, and the conversation it asks about
    # (whose `csat_asked_at` is set with it).
    csat: PlannedReply | None = None
    csat_conversation: int | None = None


@dataclass(frozen=True, slots=True)
class CsatState:
    """What decides whether a customer is asked about their last conversation."""

    conversation_id: int
    account: str  # the channel the conversation came in on
    asked: bool  # this conversation was asked already
    person_replied: bool  # a person answered in it (not only automation)
    asked_recently: bool  # the customer was asked within the window
    address: str  # where a reply on that channel goes ("" without one)
    opted_out: bool  # that address opted out


@dataclass(frozen=True, slots=True)
class CsatSummary:
    """A customer's satisfaction answers: the last one and the average."""

    count: int
    average: float
    last: int
    last_at: float


@dataclass(frozen=True, slots=True)
class RuleStat:
    """A rule's hits for the rules screen."""

    rule: str
    hits: int  # in the period asked
    last_fired: float | None


@dataclass(frozen=True, slots=True)
class Notice:
    """A rule's `notify`: a toast and a bell in every console."""

    id: int
    rule: str
    contact_id: int
    contact_name: str
    actions: Mapping[str, object]
    at: float


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """One conversation, as reports read it."""

    id: int
    contact_id: int
    kind: str  # the channel kind of the message that opened it
    account: str
    started_at: float
    first_response_at: float | None  # a person's first reply
    first_response_by: str | None
    resolved_at: float | None
    assignee: str | None
    messages_in: int
    messages_out: int  # by people
    automatic_out: int  # by rules
    csat_rating: int | None = None
    csat_at: float | None = None
    tags: tuple[str, ...] = ()  # the customer's tags now


@dataclass(frozen=True, slots=True)
class HourCount:
    """Messages in one hour (UTC epoch hours) on one channel kind, one direction."""

    hour: int
    kind: str
    direction: str  # in | out | auto
    agent: str  # who wrote it (out), else ""
    count: int


@dataclass(frozen=True, slots=True)
class WaitingCustomer:
    """A customer waiting for a person's answer now."""

    contact_id: int
    name: str
    since: float  # their first message after a person last answered
    assignee: str | None
    kind: str  # the channel of their last message
    composing: tuple[str, ...] = ()  # agents writing to them now


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    """A broadcast and where it stands: messages by channel kind and state, skips by reason."""

    id: int
    canned: str
    audience: Mapping[str, object]
    created_at: float
    send_at: float
    author: str | None
    cancelled_at: float | None
    counts: Mapping[tuple[str, str], int]  # (channel kind, delivery state) -> messages
    skipped: Mapping[str, int]  # reason (English template) -> customers

    def total(self, *states: str) -> int:
        """Messages in any of `states` (all of them when none is given)."""
        return sum(n for (_, s), n in self.counts.items() if not states or s in states)

    @property
    def active(self) -> bool:
        """Still has messages waiting to go (and is not cancelled)."""
        return self.cancelled_at is None and self.total("queued", "sending") > 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True, slots=True)
class UnsubscribeRecipient:
    """Whom a one-click unsubscribe link names: the address one broadcast went to."""

    broadcast_id: int
    contact_id: int
    kind: IdentityKind
    address: str
    language: str  # "ja" or "en": the language the broadcast spoke to them in
    opted_out: bool  # they already asked for no more broadcasts on this address


@dataclass(frozen=True, slots=True)
class PublicImage:
    """A broadcast's image as its public link serves it."""

    data: bytes
    content_type: str
    name: str


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event on its way to one webhook: the body exactly as it is POSTed."""

    id: int
    webhook_id: int
    event_id: str
    event: str
    contact_id: int
    body: str
    attempts: int
    created_at: float


@dataclass(frozen=True, slots=True)
class WebhookState:
    """A webhook as `omnitui webhooks` and `omnitui doctor` show it."""

    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    pending: int
    failed: int
    delivered: int
    failures_in_row: int
    last_error: str
    last_error_at: float | None
