"""The inbox's three panes kept in step: the contact list, the open customer's
thread with its composer, the canned replies.

The inbox's actions build on this (`inbox.py` puts them together).
"""

from __future__ import annotations

import contextlib
from contextlib import ExitStack

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerCancelled

from omnitui.context import ConsoleContext
from omnitui.domain.changes import ChangeKind
from omnitui.domain.line import QUOTA_CURSOR, LineQuota, parse_quota, reply_window_end
from omnitui.domain.mail import first_subject, reply_all, reply_subject
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    Channel,
    ChannelKind,
    Contact,
    Draft,
    Identity,
    IdentityKind,
    SearchHit,
    ThreadStatus,
    answer_channels,
)
from omnitui.domain.safe_text import one_line
from omnitui.domain.sms import cannot_answer_sms
from omnitui.domain.views import AnyView, View
from omnitui.i18n import tr, tr_reason
from omnitui.messages import StoreChanged, StoreTrouble
from omnitui.store import StoreError, StoreUnreachable, ThreadCursor
from omnitui.widgets.canned import CannedList
from omnitui.widgets.composer import Composer, ReplyReach
from omnitui.widgets.contact_list import ContactList
from omnitui.widgets.footer import Footer
from omnitui.widgets.format import (
    CHANNEL_STYLE,
    channel_mark,
    clock_time,
    error_label,
    fit_name,
    hours_state,
    now,
    status_label,
    view_label,
)
from omnitui.widgets.thread_view import ThreadView

PAGE = 50
FIRST_PAGE = 12  # a screenful; older pages come as the agent scrolls up
CONTACT_PAGE = 60  # a few screens; more load as the highlight nears the end
# How long the screen may wait for the next contact's thread, so that the moved
# highlight and the thread are drawn in one frame. A slower (cold) read shows the
# highlight first, as before.
HOLD_FRAME = 0.05
NARROW = 100  # below this many columns the canned pane hides
DRAFT_DELAY = 0.4  # seconds after the last key before a draft is kept in the store


class InboxPanes(Screen[None]):
    """The inbox's panes and what keeps them together: the contact list and
    its views, the open customer's thread and header, the composer handed to
    whoever is open, and the store's changes shown as they come."""

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.contact: Contact | None = None
        self.view: AnyView = View.ALL
        self._composing: tuple[int, float] | None = None  # (contact, when said)
        self.counts: dict[AnyView, int] = {}
        self._showing: int | None = None
        self._loading_more = False
        self._held: tuple[ExitStack, Timer] | None = None
        self._draft_timer: Timer | None = None
        # The reply just sent, while `u` can take it back: (contact, message, until).
        self._undoable: tuple[int, int, float] | None = None
        self._hours_timer: Timer | None = None
        # Drafts the store could not take while it was away, by customer.
        self._unkept: dict[int, Draft | None] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="store-problem")  # ⚠ the store cannot be reached
        yield Static(id="channel-problems")
        yield Static(id="broadcast-progress")  # 📣 while a broadcast goes out
        with Horizontal(id="panes"):
            yield ContactList(id="contacts")
            with Vertical(id="middle"):
                yield Static(id="thread-header")
                yield ThreadView(id="thread")
                yield Composer(id="composer")
            with Vertical(id="right"):
                yield Static(tr("Canned replies"), id="canned-title")
                yield CannedList(id="canned")
        yield Footer()

    @property
    def contacts(self) -> ContactList:
        return self.query_one(ContactList)

    @property
    def thread(self) -> ThreadView:
        return self.query_one(ThreadView)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    async def on_mount(self) -> None:
        self.thread.agent_name = self.context.agent_name
        self.composer.clock = self.context.store.now
        self.contacts.border_title = tr("Customers")
        self.thread.border_title = tr("Thread")
        self.show_hours()
        self.watch(self.contacts, "highlighted", self.contact_highlighted, init=False)
        # The list has the focus from the start: an agent who opens a customer and
        # presses `r` before the canned replies and channel problems have loaded
        # keeps the composer.
        self.contacts.focus()
        await self.reload_contacts()
        self.query_one(CannedList).set_replies(await self.context.store.canned_replies())
        await self.show_channel_problems()

    def show_hours(self) -> None:
        """The shop's business hours above the thread ("open now", "closed until
        Thu 10:00"), drawn again when they next change; nothing without [hours]."""
        hours = self.context.hours
        if hours is None:
            return
        label, change = hours_state(hours)
        self.thread.border_title = f"{tr('Thread')} · {label}"
        if self._hours_timer is not None:
            self._hours_timer.stop()
        if change is not None:
            # Looked at again at least hourly, in case the machine slept.
            wait = min(max(change - now(), 0.0) + 0.5, 3600.0)
            self._hours_timer = self.set_timer(wait, self.show_hours)

    async def show_channel_problems(self) -> None:
        """A line per channel that is not working, with why, above the panes."""
        problems = await self.context.store.channel_problems()
        text = Text(no_wrap=True, overflow="ellipsis")
        for n, (account, problem) in enumerate(list(problems.items())[:3]):
            if n:
                text.append("\n")
            # Long enough for a webhook's address ("webhook https://crm.example.com/…").
            text.append("⚠ " + one_line(account, 50) + ": ", "bold")
            text.append(one_line(tr_reason(problem), 200))
        banner = self.query_one("#channel-problems", Static)
        banner.update(text)
        banner.display = bool(problems)

    async def reload_contacts(self) -> None:
        store, agent = self.context.store, self.context.agent_name
        limit = max(CONTACT_PAGE, len(self.contacts.contacts))
        rows = await store.list_contacts(limit=limit, view=self.view, agent=agent)
        self.contacts.set_contacts(rows, exhausted=len(rows) < limit)
        self.counts = await store.view_counts(agent)
        view = f"{view_label(self.view)} {self.counts.get(self.view, 0)}"
        title = f"{tr('Customers')} · {view}"
        # A narrow pane keeps the view and its count whole, without the pane's name.
        room = (self.contacts.size.width or 80) - 6
        self.contacts.border_title = title if cell_len(title) <= room else view
        self.contacts.border_subtitle = "v " + tr("view")

    @on(ContactList.MoreWanted)
    async def load_more_contacts(self) -> None:
        if self._loading_more or not self.contacts.contacts:
            return
        self._loading_more = True
        try:
            last = self.contacts.contacts[-1]
            rows = await self.context.store.list_contacts(
                limit=CONTACT_PAGE,
                after=(last.last_activity, last.id),
                view=self.view,
                agent=self.context.agent_name,
            )
            self.contacts.append_contacts(rows, exhausted=len(rows) < CONTACT_PAGE)
        finally:
            self._loading_more = False

    def contact_highlighted(self, highlighted: int | None) -> None:
        """Open the highlighted contact (called as the highlight moves, not later
        from a message, so that the screen is held before it draws the highlight)."""
        contact_id = self.contacts.current_contact_id
        if contact_id is not None and contact_id != self._showing:
            self._hold_frame()
            self.open_contact(contact_id)

    def _hold_frame(self) -> None:
        """Hold screen updates until the next thread is drawn, or `HOLD_FRAME` passes.

        Otherwise a contact switch costs two frames: the moved highlight with
        the old thread, then the new thread a frame later. One frame is less
        drawing, and the agent never sees a highlight beside someone else's thread.
        """
        if self._held is not None or self._showing is None or not self.is_current:
            return  # the first contact at start-up draws as soon as it can, as before
        updates = ExitStack()
        updates.enter_context(self.app.batch_update())
        self._held = (updates, self.set_timer(HOLD_FRAME, self._release_frame))

    def _release_frame(self) -> None:
        if self._held is not None:
            (updates, timer), self._held = self._held, None
            timer.stop()
            updates.close()

    def on_unmount(self) -> None:
        self._release_frame()

    def on_screen_suspend(self) -> None:
        self._release_frame()

    def on_screen_resume(self) -> None:
        """Textual sets the width classes (HORIZONTAL_BREAKPOINTS) on resize, and
        only on the screen in front: the width is read again whenever the inbox
        comes to the front, after a dialog the terminal was resized under."""
        breakpoints = self.HORIZONTAL_BREAKPOINTS or []
        width = self.app.size.width
        on = self._get_breakpoint_classes(width, breakpoints)
        self.update_classes({name: name in on for _, name in breakpoints}, animate=False)

    @on(ContactList.OptionSelected, "#contacts")
    async def contact_selected(self, event: ContactList.OptionSelected) -> None:
        contact_id = self.contacts.current_contact_id
        if contact_id is None:
            return
        if self.contact is None or self.contact.id != contact_id:
            await self._drawn(self.open_contact(contact_id))
        if self.focused in (None, self.contacts):
            # Not when the agent has moved on meanwhile (`r` pressed at once
            # must leave the focus in the composer).
            self.thread.focus()
        await self.context.store.mark_read(contact_id)

    def open_contact(self, contact_id: int, *, select_message: int | None = None) -> Worker[None]:
        """Show a contact's thread (a newer call cancels an older one still loading)."""
        self._showing = contact_id
        return self.show_contact(contact_id, select_message=select_message)

    @staticmethod
    async def _drawn(worker: Worker[None]) -> None:
        """Wait for a thread to be drawn; a newer one the agent asked for meanwhile
        cancels it, which is no error."""
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()

    @work(exclusive=True, group="thread")
    async def show_contact(self, contact_id: int, *, select_message: int | None = None) -> None:
        """Draw a contact's merged thread, its header and reply channels."""
        store = self.context.store
        contact = await store.get_contact(contact_id)
        if select_message is not None:
            page, has_older = await store.thread_around(contact_id, select_message, limit=PAGE)
        else:
            page = await store.thread_page(contact_id, limit=FIRST_PAGE)
            has_older = len(page) >= FIRST_PAGE
        keep = self.contact is not None and self.contact.id == contact_id
        self.contact = contact
        if not keep:
            # In the same step as the thread: never one customer's thread with
            # another's reply below it.
            self._hand_composer_to(contact_id)
        self.thread.show(page, has_older=has_older, keep_selection=keep)
        if select_message is not None:
            self.thread.select_message(select_message)
        self._draw_header(contact)
        self._release_frame()
        if not keep:
            await self._set_reply_channels(contact)
            if not self.is_attached:  # the console closed while the thread was read
                return
            self.composer.others = await self.context.store.others_composing(
                contact_id, self.context.agent_name
            )
            draft = await self.context.store.draft(contact_id, self.context.agent_name)
            if self.composer.owner == contact_id:
                self.composer.load_draft(draft)

    def _hand_composer_to(self, contact_id: int) -> None:
        """The composer now belongs to `contact_id`; what was written for the
        customer before is kept as their draft."""
        if self.composer.owner == contact_id:
            return
        self._draft_timer_stop()
        left = self.composer.hand_over(contact_id)
        if left is not None:
            owner, draft = left
            self.run_worker(self._keep_draft(owner, draft), group="drafts")

    async def _keep_draft(self, owner: int, draft: Draft | None) -> None:
        try:
            await self.context.store.save_draft(owner, self.context.agent_name, draft)
        except StoreError as exc:
            # Kept here until the store is back (the line above the panes says why).
            self._unkept[owner] = draft
            self.app.post_message(StoreTrouble(error_label(exc)))
            return
        self._unkept.pop(owner, None)

    def _draft_timer_stop(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None

    def _keep_draft_soon(self) -> None:
        """Keep the draft in the store a moment after the agent stops typing,
        so it survives a restart or a crash."""
        self._draft_timer_stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self.flush_draft)

    async def flush_draft(self) -> None:
        """Keep what the composer holds as its owner's draft, now."""
        self._draft_timer_stop()
        composer = self.composer
        if composer.owner is not None and composer.loaded:
            await self._keep_draft(composer.owner, composer.draft())

    def _draw_header(self, contact: Contact) -> None:
        header = Text(no_wrap=True, overflow="ellipsis")
        status_style = {
            "open": "cyan",
            "resolved": "green",
            "snoozed": "magenta",
            "pending": "yellow",
        }
        status = status_label(contact.status)
        if contact.status is ThreadStatus.SNOOZED and contact.snoozed_until:
            status += " " + tr("(until {time})").format(time=clock_time(contact.snoozed_until))
        # The name first and whole where it fits; a long one is cut at its end,
        # never between family and given name, and the status stays in view.
        room = (self.query_one("#thread-header", Static).size.width or 80) - 2
        header.append(fit_name(contact.name, max(8, room - cell_len(status) - 2)), "bold")
        header.append(f"  {status}", status_style.get(str(contact.status), ""))
        if contact.assignee:
            header.append("  @" + one_line(contact.assignee, 20), "bold cyan")
        for tag in contact.tags[:4]:
            header.append("  #" + one_line(tag, 20), "bold yellow")
        for identity in contact.identities:
            kind = next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is identity.kind)
            header.append("  ")
            header.append(channel_mark(kind), CHANNEL_STYLE[kind])
            # A LINE user id means nothing to people: the channel's name stands for it.
            shown = "LINE" if kind is ChannelKind.LINE else one_line(identity.address, 40)
            header.append(" " + shown, "dim")
            if identity.opted_out:
                blocked = kind is ChannelKind.LINE
                said = tr("blocked the shop's LINE account") if blocked else tr("opted out")
                header.append(" (" + said + ")", "red")
        self.query_one("#thread-header", Static).update(header, layout=False)

    async def _set_reply_channels(self, contact: Contact) -> None:
        store = self.context.store
        used = [
            Channel(kind, account) for account, kind in await store.contact_channels(contact.id)
        ]
        # A console on another machine may not run the channels it reads: what the
        # customer wrote on is offered whether or not this config names it.
        channels, default = answer_channels(contact, used, self.context.channels)
        subjects: dict[str, str] = {}
        signatures: dict[str, str] = {}
        others: dict[str, tuple[str, ...]] = {}
        for channel in channels:
            if channel.kind is not ChannelKind.EMAIL:
                continue
            subjects[channel.account] = (
                reply_subject(await store.reply_subject(contact.id, channel.account))
                if channel in used
                else first_subject(self.context.shop_values.get("shop", ""), contact.language)
            )
            signatures[channel.account] = self.context.signature_for(channel)
            last = await store.last_mail(contact.id, channel.account)
            if last is not None:
                others[channel.account] = tuple(
                    reply_all(
                        (*last.to, *last.cc), own=self.context.own_addresses, customer=last.sender
                    )
                )
        if not self.is_attached:  # the console closed while the store was read
            return
        self.composer.set_channels(
            channels, default, subjects, signatures=signatures, others_on_mail=others
        )
        await self._show_reach(contact)

    async def _show_reach(self, contact: Contact) -> None:
        """Tell the composer how its channels reach the customer on screen: a
        one-way SMS to Japan, an opt-out, LINE's free reply and its quota."""
        composer = self.composer
        if composer.owner != contact.id:
            return
        phone = _used_identity(contact, IdentityKind.PHONE)
        opted_out = frozenset(
            kind
            for kind, identity_kind in IDENTITY_FOR_CHANNEL.items()
            if (used := _used_identity(contact, identity_kind)) is not None and used.opted_out
        )
        free_until: dict[str, float] = {}
        quotas: dict[str, LineQuota | None] = {}
        for channel in composer.channels:
            if channel.kind is ChannelKind.LINE:
                end = reply_window_end(self.thread.messages, channel.account)
                if end is not None:
                    free_until[channel.account] = end
                cursor = await self.context.store.load_cursor(channel.account, QUOTA_CURSOR)
                quotas[channel.account] = parse_quota(cursor)
        if composer.owner == contact.id:
            composer.set_reach(
                ReplyReach(
                    one_way_sms=phone is not None and cannot_answer_sms(phone.address),
                    opted_out=opted_out,
                    line_free_until=free_until,
                    line_quota=quotas,
                )
            )

    @on(ThreadView.OlderWanted)
    async def load_older(self) -> None:
        thread = self.thread
        if self.contact is None or not thread.messages or not thread.has_older:
            return
        first = thread.messages[0]
        older = await self.context.store.thread_page(
            self.contact.id, before=ThreadCursor(first.sent_at, first.id), limit=PAGE
        )
        thread.prepend(older, has_older=len(older) >= PAGE)

    async def _dispatch_message(self, message: Message) -> None:
        try:
            await super()._dispatch_message(message)
        except StoreError as exc:
            # What the agent asked for could not be done: said, and the console goes on.
            self.notify(
                tr("Not done: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            if isinstance(exc, StoreUnreachable):
                self.app.post_message(StoreTrouble(error_label(exc)))

    async def on_store_trouble(self, event: StoreTrouble) -> None:
        """The store cannot be reached (a line above the panes says why), or can again."""
        line = self.query_one("#store-problem", Static)
        was_down = line.display
        if event.problem is not None:
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(tr("⚠ store unreachable: "), "bold")
            text.append(one_line(event.problem, 200))
            text.append(tr(" · trying again by itself"))
            line.update(text)
        line.display = event.problem is not None
        if was_down and event.problem is None:
            # What failed to draw while it was away is drawn again now.
            await self._redraw_all()

    async def _redraw_all(self) -> None:
        for owner, draft in list(self._unkept.items()):
            if owner != self.composer.owner:  # the composer's own is kept as it is now
                await self._keep_draft(owner, draft)
        await self.flush_draft()
        shown = frozenset() if self.contact is None else frozenset({self.contact.id})
        everything = frozenset({ChangeKind.CHANNEL, ChangeKind.CANNED})
        await self.on_store_changed(StoreChanged(shown, everything))

    async def on_store_changed(self, event: StoreChanged) -> None:
        try:
            await self._show_changes(event)
        except StoreError as exc:
            # The console says so and keeps running; it draws again once it is back.
            self.app.post_message(StoreTrouble(error_label(exc)))

    async def _show_changes(self, event: StoreChanged) -> None:
        if ChangeKind.CHANNEL in event.kinds:
            await self.show_channel_problems()
        await self.reload_contacts()
        if ChangeKind.CANNED in event.kinds:
            self.query_one(CannedList).set_replies(await self.context.store.canned_replies())
        if self.contact is not None and (
            self.contact.id in event.contact_ids or self._thread_behind()
        ):
            await self._refresh_open_thread()
            if ChangeKind.COMPOSING in event.kinds:
                await self._refresh_others()

    def _thread_behind(self) -> bool:
        """Does the contact list know of newer activity than the open thread shows?"""
        if self.contact is None:
            return False
        summary = next((c for c in self.contacts.contacts if c.id == self.contact.id), None)
        shown = self.thread.messages[-1].sent_at if self.thread.messages else 0.0
        return summary is not None and summary.last_activity > shown

    async def _refresh_open_thread(self) -> None:
        if self.contact is None:
            return
        store = self.context.store
        contact = await store.get_contact(self.contact.id)
        count = max(FIRST_PAGE, len(self.thread.messages) + 5)
        page = await store.thread_page(contact.id, limit=count)
        self.contact = contact
        self.thread.show(page, has_older=len(page) >= count, keep_selection=True)
        self._draw_header(contact)
        await self._show_reach(contact)

    def _current(self) -> int | None:
        if self.focused is self.contacts or self.contact is None:
            return self.contacts.current_contact_id
        return self.contact.id

    async def set_view(self, view: AnyView) -> None:
        self.view = view
        self.contacts.contacts = []
        await self.reload_contacts()
        self.contacts.focus()

    async def go_to(self, contact_id: int, *, select_message: int | None = None) -> None:
        """Show a customer and focus their thread, whether or not the list has
        loaded them yet; one the current view does not hold is shown in All,
        and the agent is told the view changed."""
        if not await self._reveal(contact_id) and self.view != View.ALL:
            self.view = View.ALL
            self.contacts.contacts = []
            await self._reveal(contact_id)
            self.notify(tr("Switched to the view All to show this customer"))
        self.contact = None
        await self._drawn(self.open_contact(contact_id, select_message=select_message))
        self.thread.focus()

    async def _reveal(self, contact_id: int) -> bool:
        """Highlight `contact_id` in the list, loading it as far as needed."""
        if self.contacts.highlight_contact(contact_id):
            return True
        store, agent = self.context.store, self.context.agent_name
        position = await store.contact_position(contact_id, view=self.view, agent=agent)
        if position is None:
            await self.reload_contacts()
            return False
        rows = await store.list_contacts(limit=position + CONTACT_PAGE, view=self.view, agent=agent)
        self.contacts.set_contacts(rows, exhausted=len(rows) < position + CONTACT_PAGE)
        await self.reload_contacts()  # the counts and title; keeps what was loaded
        return self.contacts.highlight_contact(contact_id)

    async def jump_to(self, hit: SearchHit) -> None:
        await self.go_to(hit.contact_id, select_message=hit.message_id)

    async def _refresh_others(self) -> None:
        if self.contact is None:
            return
        others = await self.context.store.others_composing(self.contact.id, self.context.agent_name)
        if others != self.composer.others:
            self.composer.others = others
            self.composer.refresh_status()


def _used_identity(contact: Contact, kind: IdentityKind) -> Identity | None:
    """The customer's identity of `kind` a reply goes to: the one they used last
    (as the outbox picks it)."""
    found = [i for i in contact.identities if i.kind is kind]
    found.sort(key=lambda i: (i.last_used is None, -(i.last_used or 0.0), i.id))
    return found[0] if found else None
