"""What the hub, the command line and the consoles ask of a store.

`Store` is the SQLite store; a store on another database is a new set of
modules behind these same protocols. Nothing here names SQLite: no
connections, no PRAGMAs, no full-text index, only what OmniTUI's parts ask
for and the domain objects they get back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from omnitui.domain.broadcast import AudienceMember, BroadcastPlan
from omnitui.domain.broadcast_image import BroadcastImage
from omnitui.domain.merge import FieldHistory, MergePlan
from omnitui.domain.models import (
    CannedReply,
    Channel,
    ChannelKind,
    Contact,
    ContactSummary,
    DeliveryUpdate,
    Draft,
    IdentityKind,
    Inbound,
    Message,
    Outbound,
    OutboundFile,
    SearchHit,
    ThreadStatus,
)
from omnitui.domain.views import AnyView, View
from omnitui.store.files import Access
from omnitui.store.records import (
    AutomationEvent,
    AutomationFacts,
    AutomationPlan,
    BroadcastProgress,
    ChangeBatch,
    ConversationRecord,
    CsatState,
    CsatSummary,
    HourCount,
    IngestResult,
    LastMail,
    Notice,
    ProfileFields,
    PublicImage,
    RecordedOutbound,
    RuleStat,
    RuleTimer,
    ThreadCursor,
    UnsubscribeRecipient,
    WaitingCustomer,
    WebhookDelivery,
    WebhookState,
    WithdrawnReply,
)

if TYPE_CHECKING:
    from omnitui.contacts_file import ContactRecord
    from omnitui.domain.duplicates import Suggestion


class StoreFile(Protocol):
    """Where the store is kept and its clock."""

    path: Path  # beside it live the channel lock and saved files
    access: Access  # who may read the files made beside it

    def now(self) -> float:
        """The store's clock (injectable for tests)."""
        ...

    async def close(self) -> None: ...


class ContactListStore(Protocol):
    """The contact list: pages of a view, a contact's place in it, the views' counts."""

    async def list_contacts(
        self,
        *,
        limit: int = 200,
        after: tuple[float, int] | None = None,
        view: AnyView = View.ALL,
        agent: str = "",
    ) -> list[ContactSummary]:
        """Contacts in a view by last activity, newest first, one page at a time.

        `after` is the (last_activity, id) of the last row of the previous page.
        """
        ...

    async def contact_position(
        self, contact_id: int, *, view: AnyView = View.ALL, agent: str = ""
    ) -> int | None:
        """How many contacts come before `contact_id` in a view's list, or None
        when the view does not hold it (to load the list as far as it)."""
        ...

    async def view_counts(self, agent: str = "") -> dict[AnyView, int]:
        """How many contacts each view holds: the fixed views (one pass over the
        contacts), then one view per tag in use, by tag name."""
        ...

    async def next_waiting(self) -> int | None:
        """The customer who has waited longest for an answer."""
        ...

    async def contact_summary(self, contact_id: int, agent: str = "") -> ContactSummary | None: ...


class ContactStore(Protocol):
    """Contacts and their identities."""

    async def count_contacts(self) -> int: ...

    async def get_contact(self, contact_id: int) -> Contact: ...

    async def contacts_by_id(self, contact_ids: Sequence[int]) -> list[Contact]:
        """These contacts with their identities, in the order given (an unknown id
        is left out), in two reads whatever their number."""
        ...

    async def surviving_contact(self, contact_id: int) -> int | None:
        """The contact that now holds `contact_id`'s thread: itself, or the one it
        was merged into (followed to the end); None when there is no such contact."""
        ...

    async def contact_channels(self, contact_id: int) -> list[tuple[str, ChannelKind]]:
        """The channel accounts this contact has written on, most recent first."""
        ...

    async def create_contact(
        self,
        name: str,
        identities: Sequence[tuple[IdentityKind, str]],
        profile: ProfileFields | None = None,
        *,
        region: str | None = None,
    ) -> int:
        """A new contact with known identities (an import, a customer met in the shop)."""
        ...

    async def address_owner(self, kind: IdentityKind, address: str) -> int | None:
        """The contact a normalised address belongs to, if any."""
        ...

    async def contact_for_address(
        self, kind: IdentityKind, raw: str, *, name: str = "", region: str | None = None
    ) -> tuple[int, bool]:
        """The customer with this address, made now if nobody has it (an agent
        writing to someone new): (contact id, whether it was made).

        The address is normalised first, so `Hanako@Example.jp` finds
        hanako@example.jp and `090-1234-5678` finds +819012345678.
        """
        ...

    async def import_contacts(self, records: Sequence[ContactRecord]) -> tuple[int, int, list[str]]:
        """Add or update contacts from a customer list, in one transaction.

        A row whose addresses are already known updates that contact (its
        non-empty values win, fields it does not name are kept); a row whose
        addresses belong to two different contacts is reported, not merged.
        Returns (created, updated, problems).
        """
        ...

    async def all_contacts(self) -> list[Contact]:
        """Every contact with its identities (for an export)."""
        ...

    async def set_profiles(self, profiles: Mapping[int, ProfileFields]) -> None:
        """Fill several contacts' profile fields in one transaction (imports, the demo)."""
        ...

    async def update_contact(
        self,
        contact_id: int,
        *,
        name: str | None = None,
        first_name: str | None = None,
        language: str | None = None,
        profile: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        """Edit a contact's profile; only the fields given change."""
        ...

    async def set_assignee(self, contact_id: int, agent: str | None) -> None:
        """Give a customer's thread to an agent (None: to nobody)."""
        ...

    async def set_status(
        self, contact_id: int, status: ThreadStatus, snoozed_until: float | None = None
    ) -> None:
        """Resolve, reopen, mark pending or snooze a contact's thread."""
        ...

    async def wake_snoozed(self) -> list[int]:
        """Reopen threads whose snooze has run out; returns their contact ids."""
        ...

    async def mark_read(self, contact_id: int) -> None: ...

    async def set_opted_out(
        self, kind: IdentityKind, address: str, opted_out: bool, *, region: str | None = None
    ) -> int:
        """Record that a customer opted out of a channel (an SMS STOP), or back in.

        A customer not seen before gets their identity now, so an opt-out
        recorded before their message is stored is never lost. Returns the
        contact id.
        """
        ...

    async def identity_data(self, kind: IdentityKind, address: str) -> dict[str, object]:
        """What adapters remembered about an identity (e.g. its Telegram chat id)."""
        ...


class MergeStore(Protocol):
    """Merging contacts, undoing it, splitting one off, suggesting duplicates."""

    async def duplicate_suggestions(
        self, *, region: str | None = None, recent: int = 2000
    ) -> list[Suggestion]:
        """Possible duplicates among the most recently active contacts."""
        ...

    async def dismiss_suggestion(self, a: int, b: int, *, agent: str | None = None) -> None:
        """The agent says these two are different customers: stop suggesting them."""
        ...

    async def merge(
        self,
        source_id: int,
        target_id: int,
        *,
        agent: str | None = None,
        evidence: str = "manual",
        incoming_wins: Collection[str] = (),
    ) -> int:
        """Move every identity and message of `source_id` into `target_id`.

        Nothing is deleted: the source contact stays, marked merged, and the
        merge record lists what moved so `undo_merge` can move it back. The
        profiles are merged by `MergePlan`: `incoming_wins` names the fields
        (merge keys) where the source's value wins; each losing value is kept
        as history on the target.
        """
        ...

    async def merge_plan(self, source_id: int, target_id: int) -> MergePlan:
        """What merging `source_id` into `target_id` would do to the profile."""
        ...

    async def identity_message_counts(self, contact_id: int) -> dict[int, int]:
        """How many messages each of a contact's identities carries (what a merge moves)."""
        ...

    async def field_history(self, contact_id: int) -> list[FieldHistory]:
        """Profile values that lost in merges into this contact, newest first."""
        ...

    async def undo_merge(self, record_id: int) -> None:
        """Move a merge's identities, and their messages, back to the source contact."""
        ...

    async def split_identity(self, identity_id: int, *, agent: str | None = None) -> int:
        """Unmerge: move one identity, and the messages to and from it, into a
        contact of its own. Recorded, so `undo_merge` puts it back."""
        ...

    async def last_merge_into(self, contact_id: int) -> int | None:
        """The newest merge into this contact, or split off it, not yet undone."""
        ...


class IngestStore(Protocol):
    """Messages coming in, history, and each channel's cursor."""

    async def ingest(
        self,
        items: Sequence[Inbound],
        *,
        cursors: Mapping[tuple[str, str], str] | None = None,
        region: str | None = None,
        within: float | None = None,
    ) -> list[IngestResult]:
        """Store inbound messages and the adapter's cursor in one transaction.

        Idempotent on (channel account, provider id): a message already stored
        is not stored again (an edit updates it in place). With `within`, the
        store takes them within that many seconds or raises `StoreBusy`,
        having stored nothing.
        """
        ...

    async def known_provider_ids(self, account: str, provider_ids: Sequence[str]) -> set[str]:
        """Which of `provider_ids` are already stored for `account`."""
        ...

    async def record_outbound(self, items: Sequence[RecordedOutbound]) -> list[int]:
        """Store replies that were already sent elsewhere (history, a Sent folder)."""
        ...

    async def import_history(
        self, items: Sequence[Inbound | RecordedOutbound], *, region: str | None = None
    ) -> None:
        """Store a stretch of history, in time order, in one transaction."""
        ...

    async def load_cursor(self, account: str, key: str) -> str | None: ...


class ThreadStore(Protocol):
    """A customer's thread and what its messages carry."""

    async def thread_page(
        self, contact_id: int, *, before: ThreadCursor | None = None, limit: int = 50
    ) -> list[Message]:
        """Up to `limit` messages of a contact's merged thread, oldest first,
        ending just before `before` (or at the newest message)."""
        ...

    async def thread_around(
        self, contact_id: int, message_id: int, *, limit: int = 50, newer: int = 10
    ) -> tuple[list[Message], bool]:
        """A page of a thread that holds `message_id` with some context after it;
        returns the page (oldest first) and whether older messages exist."""
        ...

    async def read_refs(
        self, contact_ids: Collection[int], accounts: Collection[str], *, limit: int = 500
    ) -> dict[str, list[dict[str, object]]]:
        """Provider references (`meta.imap`) of the newest inbound messages of
        these contacts on these accounts, by account: what the agent has read."""
        ...

    async def message_source(self, message_id: int) -> bytes | None:
        """The raw source of a message as it arrived (kept for email)."""
        ...

    async def message_source_head(self, message_id: int, limit: int) -> tuple[bytes, int] | None:
        """The first `limit` bytes of a message's raw source and its whole size
        (a 15 MB mail is not read whole to be shown)."""
        ...

    async def attachment_data(self, attachment_id: int) -> bytes | None: ...

    async def message_position(self, message_id: int) -> tuple[int, ThreadCursor] | None:
        """The contact of a message and a cursor just after it (to page to it)."""
        ...

    async def reply_subject(self, contact_id: int, account: str) -> str:
        """The subject of the customer's last message on `account`, for a reply."""
        ...

    async def last_mail(self, contact_id: int, account: str) -> LastMail | None:
        """The customer's newest mail on `account`: its subject, sender, To and Cc."""
        ...


class OutboxStore(Protocol):
    """The outbox: replies queued, claimed, delivered, failed or withdrawn."""

    async def enqueue_reply(
        self,
        contact_id: int,
        channel: Channel,
        text: str,
        *,
        subject: str = "",
        author: str | None = None,
        files: Sequence[OutboundFile] = (),
        hold: float = 0.0,
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        signature: str = "",
    ) -> int:
        """Put a reply (text, files or both) in the outbox; the hub sends it
        once `hold` seconds have passed (the agent may withdraw it until then).

        An email may go to `cc` and `bcc` too (each checked: one that is not an
        address refuses the whole reply) and carry `signature` below its text;
        they are kept in the message's meta, as sent. Returns the message id."""
        ...

    async def claim_due(self, accounts: Collection[str], *, limit: int = 20) -> list[Outbound]:
        """Move due queued replies for `accounts` to `sending` and return them."""
        ...

    async def withdraw_reply(self, message_id: int) -> WithdrawnReply | None:
        """Take back a reply the hub has not started to send (undo send): it
        leaves the thread and the outbox in one step, and what it held is
        returned for the composer. None when it is already on its way."""
        ...

    async def next_due_at(self, accounts: Collection[str]) -> float | None:
        """When the next queued reply for `accounts` is due."""
        ...

    async def mark_sent(self, message_id: int, provider_id: str, *, note: str = "") -> None:
        """The provider took the reply; `note` is what it said besides (shown on it)."""
        ...

    async def note_progress(self, message_id: int, progress: Mapping[str, object]) -> None:
        """Keep in the message's meta what of it already went out."""
        ...

    async def mark_failed(
        self,
        message_id: int,
        reason: str,
        *,
        retry_at: float | None,
        progress: Mapping[str, object] | None = None,
    ) -> None:
        """Record a failed attempt: back to the queue at `retry_at`, or failed for good."""
        ...

    async def recover_interrupted(self, accounts: Collection[str]) -> int:
        """Replies left `sending` by a process that stopped mid-send become `unknown`.

        They are not sent again on their own: the provider may have them. The
        agent sees why and can retry.
        """
        ...

    async def retry(self, message_id: int) -> None:
        """Queue a failed or unknown reply again, at the agent's word."""
        ...

    async def apply_delivery(self, update: DeliveryUpdate, *, within: float | None = None) -> bool:
        """Apply a provider's delivery receipt; False if no such message.

        With `within`, it is applied within that many seconds or `StoreBusy` is raised.
        """
        ...


class DraftStore(Protocol):
    """Replies being written: drafts and who is composing."""

    async def draft(self, contact_id: int, agent: str) -> Draft | None:
        """The agent's unsent reply to this customer, if they started one."""
        ...

    async def save_draft(self, contact_id: int, agent: str, draft: Draft | None) -> None:
        """Keep (or, with None or empty text, drop) the agent's draft to a customer.

        A draft that starts or ends is a change the contact list shows (its
        marker); the text changing as the agent types is not.
        """
        ...

    async def set_composing(self, contact_id: int, agent: str, active: bool) -> None:
        """Say (or stop saying) that `agent` is writing to this contact."""
        ...

    async def others_composing(
        self, contact_id: int, agent: str, *, fresh: float = 90.0
    ) -> list[str]:
        """Other agents writing to this contact now (seen in the last `fresh` seconds)."""
        ...


class NoteStore(Protocol):
    """Internal notes."""

    async def add_note(self, contact_id: int, text: str, *, author: str | None) -> int:
        """Keep an agent's internal note in a customer's thread; returns its id.

        Every agent sees it; it is on no channel and has no identity, so it can
        never be claimed by the outbox, and it leaves the conversation as it
        was (last activity, preview, unread count, waiting). It is indexed
        for search like a message.
        """
        ...

    async def notes_after(self, contact_ids: Collection[int], after: int) -> list[Message]:
        """The internal notes on these contacts with an id above `after`, oldest first."""
        ...

    async def last_message_id(self) -> int:
        """The highest message id so far (notes written later have higher ones)."""
        ...


class CannedStore(Protocol):
    """Canned replies."""

    async def canned_replies(self) -> list[CannedReply]: ...

    async def add_canned_replies(self, replies: Iterable[tuple[str, str, str, str]]) -> None:
        """Add (shortcut, title, body, language) replies; an existing shortcut is updated."""
        ...

    async def save_canned_reply(self, reply: CannedReply) -> int:
        """Create (id 0) or change a canned reply; returns its id."""
        ...

    async def delete_canned_reply(self, reply_id: int) -> None: ...


class SearchStore(Protocol):
    """Search over contacts and messages."""

    async def search(self, query: str, *, limit: int = 50) -> list[SearchHit]:
        """Contacts and messages matching `query`, newest messages first, found
        without sorting every match (a common word in a big store stays fast)."""
        ...

    async def search_count(self, query: str, *, cap: int = 10_000) -> tuple[int, int]:
        """How many (contacts, messages) match `query`, counting messages up to
        `cap` (a common word in a big store is "10,000+", not a slow count)."""
        ...


class ChangeLogStore(Protocol):
    """The change log every console follows, and each channel's health."""

    async def set_channel_problem(self, account: str, problem: str | None) -> None:
        """Say what is wrong with a channel (None: it works), for every console to show."""
        ...

    async def channel_problems(self) -> dict[str, str]:
        """The channels that are not working, by account, with the reason in words."""
        ...

    async def last_change_id(self) -> int: ...

    async def changes_since(self, change_id: int) -> ChangeBatch:
        """What changed after `change_id`, from this process or any other."""
        ...

    async def wait_for_change(self, after: int, *, poll: float = 0.25) -> None:
        """Return once there may be something in the change log after `after`
        (a change logged by any process, on any machine); `changes_since(after)`
        then says what. A caller that waits for something else too bounds the
        wait itself (`asyncio.timeout`).

        On PostgreSQL the store is told of each change (LISTEN/NOTIFY) and
        returns at once, never reading the database to find out; it also
        returns when its server goes away or comes back, so the caller's next
        read says what is wrong (`StoreError`) and, after it, brings everything
        missed meanwhile. SQLite cannot tell other processes' writes: it looks
        every `poll` seconds.
        """
        ...

    async def prune_changes(self, older_than: float = 3600.0) -> None: ...


class AutomationStore(Protocol):
    """What the automation rules read and write (in the process that runs the channels)."""

    async def pending_automation(self, *, limit: int = 50) -> list[AutomationEvent]:
        """Events waiting for the rules, oldest first."""
        ...

    async def automation_facts(
        self, contact_id: int, message_id: int | None = None
    ) -> AutomationFacts | None:
        """What the rules look at for a customer (None when they are gone):
        the contact and the event's message (or their last one)."""
        ...

    async def automation_history(self, facts: AutomationFacts) -> AutomationFacts:
        """`facts` with what a firing rule needs (a person's last reply, who is
        writing to them, today's automatic replies, each rule's last firing)."""
        ...

    async def drop_automation_events(self, event_ids: Sequence[int]) -> None:
        """Take events that set off nothing out of the queue, in one transaction."""
        ...

    async def due_timers(self, now: float, *, limit: int = 50) -> list[RuleTimer]:
        """no_reply clocks that have run out."""
        ...

    async def next_timer_due(self) -> float | None:
        """When the next no_reply clock runs out, if one runs."""
        ...

    async def drop_timer(self, contact_id: int, rule: str) -> None: ...

    async def round_robin_last(self, rule: str) -> str | None:
        """The agent a round-robin rule gave its last customer to."""
        ...

    async def apply_automation(
        self,
        plan: AutomationPlan,
        *,
        event_id: int | None = None,
        timer: tuple[int, str] | None = None,
    ) -> bool:
        """Do what the rules said for one event in one transaction, taking the
        event out of the queue (or marking the clock fired) in it; False when
        another taker already did."""
        ...

    async def rule_stats(self, since: float) -> dict[str, RuleStat]:
        """Each rule that ever fired: its hits since `since`, and when it last fired."""
        ...

    async def notices_after(self, after: int, *, limit: int = 20) -> list[Notice]:
        """Rules' notifications newer than `after`, oldest first."""
        ...

    async def last_firing_id(self) -> int: ...

    async def csat_state(self, contact_id: int, every: float) -> CsatState | None:
        """The customer's last resolved conversation as the satisfaction question
        sees it (None without one); `every`: seconds between two questions."""
        ...

    async def csat_summary(self, contact_id: int) -> CsatSummary | None:
        """The customer's satisfaction answers (None without one)."""
        ...


class ReportStore(Protocol):
    """What reports read: conversations, messages per hour, who waits now."""

    async def conversations_between(self, since: float, until: float) -> list[ConversationRecord]:
        """Conversations started, or resolved, in [since, until), oldest first."""
        ...

    async def message_hours(self, since: float, until: float) -> list[HourCount]:
        """Messages per hour in [since, until), by channel kind, direction and agent."""
        ...

    async def waiting_now(self, *, limit: int = 200) -> list[WaitingCustomer]:
        """Customers waiting for a person's answer, longest first."""
        ...


class BroadcastStore(Protocol):
    """One canned reply to a segment of customers, each message exactly once."""

    async def broadcast_audience(self, tags: Sequence[str]) -> list[AudienceMember]:
        """The customers who have every tag in `tags`, with their addresses."""
        ...

    async def create_broadcast(
        self,
        canned: str,
        audience: Mapping[str, object],
        plan: BroadcastPlan,
        *,
        send_at: float | None = None,
        author: str | None = None,
        image: BroadcastImage | None = None,
    ) -> int:
        """Write the broadcast and every recipient's message in one transaction
        (an `image` once, on the broadcast)."""
        ...

    async def claim_broadcast(self, account: str, *, limit: int = 1) -> list[Outbound]:
        """Move due queued broadcast messages of `account` to `sending` and return them."""
        ...

    async def next_broadcast_due(self, accounts: Sequence[str]) -> float | None:
        """When the next queued broadcast message for `accounts` is due."""
        ...

    async def broadcast_progress(self, broadcast_id: int) -> BroadcastProgress: ...

    async def broadcasts(
        self, *, limit: int = 20, active_only: bool = False
    ) -> list[BroadcastProgress]:
        """The newest broadcasts with their progress."""
        ...

    async def broadcasts_between(self, since: float, until: float) -> list[BroadcastProgress]:
        """The broadcasts created in [since, until), oldest first, with their results."""
        ...

    async def cancel_broadcast(self, broadcast_id: int) -> int:
        """Take back every message of the broadcast not yet on its way; returns how many."""
        ...

    async def set_broadcast_opt_out(
        self, kind: IdentityKind, address: str, opted_out: bool = True, *, one_click: bool = False
    ) -> bool:
        """Record that a customer wants no more broadcasts on this address (or again).

        `one_click`: they asked through their unsubscribe link; when that
        changes anything, a line in their thread tells the agents why
        broadcasts stop."""
        ...

    async def unsubscribe_recipient(self, token: str) -> UnsubscribeRecipient | None:
        """The recipient a one-click unsubscribe token names, or None."""
        ...

    async def public_image(self, token: str) -> PublicImage | None:
        """A broadcast's image by its public token; None without one or once cancelled."""
        ...


class WebhookStore(Protocol):
    """Webhooks out: the webhooks the channel runner serves and their delivery queue.

    Events are queued by the store itself, in the transaction of the change
    that makes them, for the active webhooks that want them."""

    async def set_webhooks(self, webhooks: Sequence[tuple[str, Sequence[str]]]) -> dict[str, int]:
        """Make these (url, events) the webhooks events are queued for; returns their ids."""
        ...

    async def due_webhook_deliveries(
        self, webhook_id: int, *, busy: Collection[int] = (), limit: int = 8
    ) -> list[WebhookDelivery]:
        """The next event of each customer whose turn it is, but those in `busy`."""
        ...

    async def next_webhook_due(
        self, webhook_id: int, *, busy: Collection[int] = ()
    ) -> float | None:
        """When the next event of a customer not in `busy` is due (None: nothing waits)."""
        ...

    async def webhook_delivered(self, delivery_id: int, status: int) -> None:
        """The receiver took it."""
        ...

    async def webhook_attempt_failed(
        self, delivery_id: int, error: str, status: int | None, *, retry_at: float | None
    ) -> int:
        """An attempt failed: again at `retry_at`, or given up; the webhook's failures in a row."""
        ...

    async def webhook_states(self, webhook_id: int | None = None) -> list[WebhookState]:
        """Every webhook (or the one) with its queue's counts and last error."""
        ...

    async def replay_webhooks(self, *, url: str | None = None, event_id: str | None = None) -> int:
        """Failed events back in the queue, with their same ids; how many."""
        ...

    async def prune_webhook_deliveries(self, older_than: float) -> int:
        """Forget delivered events older than `older_than` seconds; how many."""
        ...


class StoreProtocol(
    StoreFile,
    ContactListStore,
    ContactStore,
    MergeStore,
    IngestStore,
    ThreadStore,
    OutboxStore,
    DraftStore,
    NoteStore,
    CannedStore,
    SearchStore,
    ChangeLogStore,
    AutomationStore,
    ReportStore,
    BroadcastStore,
    WebhookStore,
    Protocol,
):
    """Everything OmniTUI asks of its store."""
