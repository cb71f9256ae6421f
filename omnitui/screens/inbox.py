"""The inbox: contacts, the merged thread with its composer, canned replies."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static, TextArea
from textual.worker import Worker, WorkerCancelled

from omnitui.context import ConsoleContext
from omnitui.domain.changes import ChangeKind
from omnitui.domain.identity import TypedAddress
from omnitui.domain.mail import clean_subject, first_subject, reply_all, reply_subject
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    CannedReply,
    Channel,
    ChannelKind,
    Contact,
    Draft,
    IdentityKind,
    SearchHit,
    ThreadStatus,
)
from omnitui.domain.safe_text import one_line
from omnitui.domain.sms import count_segments
from omnitui.domain.templates import Rendered, render
from omnitui.domain.views import AnyView, TagView, View
from omnitui.i18n import tr
from omnitui.messages import StoreChanged
from omnitui.screens.inbox_commands import InboxCommands
from omnitui.store import StoreError
from omnitui.store.store import ThreadCursor
from omnitui.widgets.canned import CannedList
from omnitui.widgets.composer import Composer
from omnitui.widgets.contact_list import ContactList
from omnitui.widgets.footer import Footer
from omnitui.widgets.format import (
    CHANNEL_STYLE,
    channel_legend,
    channel_mark,
    channel_name,
    clock_time,
    error_label,
    fit_name,
    reason_label,
    status_label,
    toast_text,
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


class InboxScreen(Screen[None]):
    CSS_PATH = "inbox.tcss"
    COMMANDS = {InboxCommands}
    # Below NARROW columns the canned pane folds away (inbox.tcss: -narrow).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]

    BINDINGS = [
        Binding("r", "reply", "Reply", id="inbox.reply"),
        Binding(
            "g",
            "reply_all",
            "Reply to all (email)",
            show=False,
            id="inbox.reply_all",
        ),
        Binding("c", "canned", "Canned", id="inbox.canned"),
        Binding("slash", "search", "Search", id="inbox.search"),
        Binding("e", "resolve", "Resolve", id="inbox.resolve"),
        Binding("o", "reopen", "Reopen", show=False, id="inbox.reopen"),
        Binding("z", "snooze", "Snooze", id="inbox.snooze"),
        Binding("m", "merge", "Merge", show=False, id="inbox.merge"),
        Binding(
            "u",
            "undo",
            "Undo: the reply just sent, else the last merge into this contact",
            show=False,
            id="inbox.unmerge",
        ),
        Binding("R", "retry", "Retry a failed reply", show=False, id="inbox.retry"),
        Binding("p", "profile", "Profile", show=False, id="inbox.profile"),
        Binding("v", "next_view", "Next view", show=False, id="inbox.view"),
        Binding("V", "pick_view", "Views with counts", show=False, id="inbox.views"),
        Binding("n", "next_waiting", "Next waiting customer", show=False, id="inbox.next_waiting"),
        Binding("A", "assign", "Assign to me / unassign", show=False, id="inbox.assign"),
        Binding("D", "duplicates", "Possible duplicates", show=False, id="inbox.duplicates"),
        Binding("t", "tags", "Tags", show=False, id="inbox.tags"),
        Binding("N", "note", "Internal note (agents only)", show=False, id="inbox.note"),
        Binding("w", "write_to", "Write to…", show=False, id="inbox.write"),
        Binding("escape", "back", "Back", show=False, id="inbox.back"),
    ]

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

    def compose(self) -> ComposeResult:
        yield Static(id="channel-problems")
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
        self.contacts.border_title = tr("Customers")
        self.thread.border_title = tr("Thread")
        self.watch(self.contacts, "highlighted", self.contact_highlighted, init=False)
        await self.reload_contacts()
        self.query_one(CannedList).set_replies(await self.context.store.canned_replies())
        await self.show_channel_problems()
        self.contacts.focus()

    async def show_channel_problems(self) -> None:
        """A line per channel that is not working, with why, above the panes."""
        problems = await self.context.store.channel_problems()
        text = Text(no_wrap=True, overflow="ellipsis")
        for n, (account, problem) in enumerate(list(problems.items())[:3]):
            if n:
                text.append("\n")
            text.append("⚠ " + one_line(account, 30) + ": ", "bold")
            text.append(one_line(problem, 200))
        banner = self.query_one("#channel-problems", Static)
        banner.update(text)
        banner.display = bool(problems)

    # -- loading ------------------------------------------------------------

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
        await self.context.store.save_draft(owner, self.context.agent_name, draft)

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
            header.append(" " + one_line(identity.address, 40), "dim")
            if identity.opted_out:
                header.append(" (" + tr("opted out") + ")", "red")
        self.query_one("#thread-header", Static).update(header, layout=False)

    async def _set_reply_channels(self, contact: Contact) -> None:
        store = self.context.store
        used = [
            Channel(kind, account) for account, kind in await store.contact_channels(contact.id)
        ]
        channels = list(used)
        for channel in reachable_channels(contact, self.context.channels):
            if channel not in channels:
                channels.append(channel)
        default = next((c for c in channels if c.account == contact.last_account), None)
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
        self.composer.set_channels(
            channels, default, subjects, signatures=signatures, others_on_mail=others
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

    @on(ThreadView.SourceWanted)
    async def show_source(self, event: ThreadView.SourceWanted) -> None:
        from omnitui.screens.source import SHOWN, SourceScreen

        message_id = event.message.id
        head = await self.context.store.message_source_head(message_id, SHOWN)
        if head is None:
            self.notify(
                tr("This message has no raw source (only email keeps one)"), severity="warning"
            )
            return

        async def save() -> None:
            from omnitui import downloads

            raw = await self.context.store.message_source(message_id)
            if raw is None:
                return
            try:
                target = await asyncio.to_thread(
                    downloads.save, self.context.downloads(), f"message-{message_id}.eml", raw
                )
            except OSError as exc:
                self.notify(
                    tr("Not saved: {reason}").format(reason=exc.strerror or str(exc)),
                    severity="warning",
                    markup=False,
                )
                return
            self.notify(
                tr("Saved to {folder}: {files}").format(folder=target.parent, files=target.name),
                markup=False,
            )

        raw, size = head
        self.app.push_screen(SourceScreen(raw, size, save))

    @on(ThreadView.SaveWanted)
    async def save_attachments(self, event: ThreadView.SaveWanted) -> None:
        from omnitui import downloads

        message = event.message
        if not message.attachments:
            self.notify(tr("This message has no attachments"), severity="warning")
            return
        folder = self.context.downloads()
        saved: list[str] = []
        skipped: list[str] = []
        for att in message.attachments:
            data = await self.context.store.attachment_data(att.id)
            if data is None:
                skipped.append(f"{att.filename} ({reason_label(att.note or 'not kept')})")
                continue
            try:
                target = await asyncio.to_thread(downloads.save, folder, att.filename, data)
            except OSError as exc:
                skipped.append(f"{att.filename} ({exc.strerror or exc})")
                continue
            saved.append(target.name)
        if saved:
            self.notify(
                tr("Saved to {folder}: {files}").format(folder=folder, files=", ".join(saved)),
                title=tr("Attachments"),
                markup=False,
            )
        if skipped:
            self.notify(
                tr("Not saved: {reason}").format(reason=", ".join(skipped)),
                severity="warning",
                markup=False,
            )

    async def on_store_changed(self, event: StoreChanged) -> None:
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

    # -- actions ------------------------------------------------------------

    def action_reply(self) -> None:
        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        # Focus at once (not after the next refresh): keys typed right after
        # `r` must land in the composer, not trigger inbox keys like `e`.
        self.set_focus(self.composer.text_area)

    async def action_reply_all(self) -> None:
        """`g`: reply to the customer and everyone else their last mail went to."""
        self.action_reply()
        composer = self.composer
        if self.contact is not None and not composer.reply_all:
            composer.action_reply_all()

    @on(Composer.RecipientsWanted)
    @work(group="recipients")
    async def edit_recipients(self) -> None:
        from omnitui.screens.headers import RecipientsScreen

        composer = self.composer
        owner = composer.owner
        if self.contact is None or owner != self.contact.id:
            return
        chosen = await self.app.push_screen_wait(
            RecipientsScreen(composer.cc, composer.bcc, self.contact.name)
        )
        if chosen is not None and composer.owner == owner:
            composer.set_recipients(*chosen)
        composer.text_area.focus()

    def action_back(self) -> None:
        focused = self.focused
        if focused is self.thread:
            self.contacts.focus()
        elif focused is not None and focused.id == "canned":
            self.thread.focus()

    @on(Composer.Left)
    def composer_left(self) -> None:
        self.thread.focus()

    def action_canned(self) -> None:
        self.open_canned_picker()

    @on(Composer.CannedWanted)
    def composer_wants_canned(self) -> None:
        self.open_canned_picker()

    @work(group="canned-picker")
    async def open_canned_picker(self) -> None:
        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        from omnitui.screens.pickers import CannedPicker

        replies = await self.context.store.canned_replies()
        chosen = await self.app.push_screen_wait(CannedPicker(replies, self.contact.language))
        if isinstance(chosen, CannedReply):
            self.insert_canned(chosen)

    @on(CannedList.EditWanted)
    @work(group="canned-editor")
    async def edit_canned(self, event: CannedList.EditWanted) -> None:
        from omnitui.screens.canned_editor import CannedEditor

        edited = await self.app.push_screen_wait(CannedEditor(event.reply))
        if edited is None:
            return
        try:
            await self.context.store.save_canned_reply(edited)
        except StoreError as exc:
            self.notify(
                tr("Not saved: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        self.query_one(CannedList).set_replies(await self.context.store.canned_replies())
        self.notify(tr("Saved /{shortcut}").format(shortcut=edited.shortcut), markup=False)

    @on(CannedList.DeleteWanted)
    async def delete_canned(self, event: CannedList.DeleteWanted) -> None:
        await self.context.store.delete_canned_reply(event.reply.id)
        self.query_one(CannedList).set_replies(await self.context.store.canned_replies())
        self.notify(
            tr("Deleted /{shortcut} (canned export keeps a copy in git)").format(
                shortcut=event.reply.shortcut
            ),
            markup=False,
        )

    @on(CannedList.OptionSelected, "#canned")
    def canned_selected(self, event: CannedList.OptionSelected) -> None:
        reply = self.query_one(CannedList).current
        if reply is not None:
            self.insert_canned(reply)

    @on(Composer.ShortcutTyped)
    @work(group="canned-insert")
    async def expand_shortcut(self, event: Composer.ShortcutTyped) -> None:
        if self.contact is None:
            return
        replies = [r for r in await self.context.store.canned_replies() if r.shortcut == event.name]
        if not replies:
            return
        language = self.contact.language
        reply = next((r for r in replies if r.language == language), None) or next(
            (r for r in replies if not r.language), replies[0]
        )
        rendered = await self._complete(reply)
        self.composer.replace_range(rendered.text, event.start, event.end, rendered.unresolved)
        self.composer.text_area.focus()
        self._warn_unresolved(rendered)

    def _personalise(self, reply: CannedReply, extra: Mapping[str, str] | None = None) -> Rendered:
        assert self.contact is not None
        values = dict(self.context.shop_values)
        values.update(self.contact.placeholder_values())
        values.update(extra or {})
        return render(reply.body, values)

    @work(group="canned-insert")
    async def insert_canned(self, reply: CannedReply) -> None:
        """Insert a canned reply, personalised for the open contact; values the
        profile lacks (and the reply has no fallback for) are asked for."""
        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        rendered = await self._complete(reply)
        self.composer.insert_text(rendered.text, rendered.unresolved)
        self._warn_unresolved(rendered)

    async def _complete(self, reply: CannedReply) -> Rendered:
        from omnitui.domain.names import given_name_guess
        from omnitui.screens.fill import FillScreen

        rendered = self._personalise(reply)
        if rendered.unresolved and self.contact is not None:
            guess = given_name_guess(self.contact.name)
            filled = await self.app.push_screen_wait(
                FillScreen(
                    rendered.unresolved,
                    reply.title or reply.shortcut,
                    {"first_name": guess} if guess else {},
                )
            )
            if filled is not None and filled.values:
                rendered = self._personalise(reply, filled.values)
                if filled.remember:
                    await self._remember(filled.values)
        return rendered

    async def _remember(self, values: Mapping[str, str]) -> None:
        """Keep values typed for a canned reply on the customer's profile."""
        contact = self.contact
        if contact is None:
            return
        core = {k: v for k, v in values.items() if k in ("name", "first_name", "language")}
        fields = {k: v for k, v in values.items() if k not in core}
        await self.context.store.update_contact(
            contact.id,
            profile={**contact.profile, **fields} if fields else None,
            **core,
        )
        self.contact = await self.context.store.get_contact(contact.id)

    def _warn_unresolved(self, rendered: Rendered) -> None:
        if rendered.unresolved:
            self.notify(
                tr("Fill in {placeholders} before sending").format(
                    placeholders=", ".join(rendered.markers())
                ),
                title=tr("Canned reply"),
                severity="warning",
                markup=False,
            )

    @on(TextArea.Changed, "#composer-text")
    async def composing(self, event: TextArea.Changed) -> None:
        """Keep the draft, and tell other agents on this store that I am writing
        to this customer."""
        if self.contact is None:
            return
        if self.composer.loaded:
            self._keep_draft_soon()
        store, me = self.context.store, self.context.agent_name
        if not event.text_area.text.strip():
            await self._stop_composing()
            return
        now = time.monotonic()
        said = self._composing
        if said is not None and said[0] == self.contact.id and now - said[1] < 20:
            return
        if said is not None and said[0] != self.contact.id:
            await store.set_composing(said[0], me, False)
        await store.set_composing(self.contact.id, me, True)
        self._composing = (self.contact.id, now)
        others = await store.others_composing(self.contact.id, me)
        if others and said is None:
            replying = (
                tr("{names} is already replying to this customer")
                if len(others) == 1
                else tr("{names} are already replying to this customer")
            )
            self.notify(
                replying.format(names=", ".join(others)),
                title=tr("Careful"),
                severity="warning",
                markup=False,
            )

    @on(Input.Changed, "#composer-subject")
    def subject_changed(self) -> None:
        """A subject the agent typed is kept with the draft."""
        if self.contact is not None and self.composer.loaded and self.composer.subject_typed:
            self._keep_draft_soon()

    async def _stop_composing(self) -> None:
        if self._composing is not None:
            await self.context.store.set_composing(
                self._composing[0], self.context.agent_name, False
            )
            self._composing = None

    async def _refresh_others(self) -> None:
        if self.contact is None:
            return
        others = await self.context.store.others_composing(self.contact.id, self.context.agent_name)
        if others != self.composer.others:
            self.composer.others = others
            self.composer.refresh_status()

    @on(Composer.AttachWanted)
    @work(group="attach")
    async def attach_file(self) -> None:
        from omnitui.screens.attach import AttachScreen

        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        chosen = await self.app.push_screen_wait(AttachScreen())
        if chosen is None:
            return
        if chosen == "clear":
            self.composer.files = []
        else:
            self.composer.files.append(chosen)
        self.composer.refresh_status()
        self.composer.text_area.focus()

    @on(Composer.EditorWanted)
    def edit_in_editor(self) -> None:
        """Hand the terminal to $VISUAL or $EDITOR with the reply; the text it
        saves comes back into the composer (the same customer's)."""
        from omnitui.editor import EditorError, edit, editor_command

        owner = self.composer.owner
        if owner is None or self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        try:
            command = editor_command()
            with self.app.suspend():  # nothing in here may raise: the console must come back
                edited = edit(command, self.composer.text)
        except EditorError as exc:
            edited = exc
        except SuspendNotSupported:
            edited = EditorError("This terminal cannot hand over to an editor")
        self.app.refresh(layout=True)
        if isinstance(edited, EditorError):
            self.notify(edited.message(), title=tr("Editor"), severity="error", markup=False)
        elif self.composer.owner == owner:
            self.composer.replace_text(edited)

    @on(Composer.SendRequested)
    async def send_reply(self, event: Composer.SendRequested) -> None:
        contact = self.contact
        text = event.text.strip()
        if contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        if self.composer.owner != contact.id or not self.composer.loaded:
            # The composer is still being handed to the customer on screen.
            self.notify(tr("Not sent: the reply is still loading, try again"), severity="warning")
            return
        files = list(self.composer.files)
        if not text and not files:
            self.notify(tr("Nothing to send"), severity="warning")
            return
        missing = self.composer.unresolved()
        if missing:
            self.notify(
                tr("Not sent: fill in {placeholders} first").format(
                    placeholders=", ".join("{" + m + "}" for m in missing)
                ),
                title=tr("Unresolved placeholder"),
                markup=False,
                severity="error",
            )
            return
        channel = event.channel
        if channel is None:
            self.notify(tr("This customer has no channel to reply on"), severity="error")
            return
        if channel.kind is ChannelKind.SMS and count_segments(text).too_long:
            self.notify(tr("Not sent: an SMS can be at most 1,600 characters"), severity="error")
            return
        if files and channel.kind is ChannelKind.SMS:
            self.notify(
                tr(
                    "Not sent: an SMS from OmniTUI cannot carry files; "
                    "ctrl+t picks email or Telegram"
                ),
                severity="error",
            )
            return
        refusal = await self._opted_out(contact.id, channel)
        if refusal:
            self.notify(refusal, title=tr("Opted out"), severity="error")
            return
        hold = self.context.undo_send
        email = channel.kind is ChannelKind.EMAIL
        try:
            message_id = await self.context.store.enqueue_reply(
                contact.id,
                channel,
                text,
                subject=clean_subject(self.composer.subject),
                author=self.context.agent_name,
                files=files,
                hold=hold,
                cc=self.composer.cc if email else (),
                bcc=self.composer.bcc if email else (),
                signature=self.composer.signature,
            )
        except StoreError as exc:
            self.notify(
                tr("Not sent: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        if hold > 0:
            # A little less than the hub's wait, so `u` is never offered too late.
            self._undoable = (contact.id, message_id, time.monotonic() + hold - 0.3)
            self.notify(
                tr("Sending in {seconds} s · u to undo").format(seconds=f"{hold:g}"),
                timeout=hold,
            )
        self.composer.reset()
        self._draft_timer_stop()
        await self._keep_draft(contact.id, None)
        await self._stop_composing()
        self.context.outbox_changed()
        self.thread.focus()
        await self._refresh_open_thread()
        self.thread.action_last_message()
        await self.reload_contacts()

    async def _opted_out(self, contact_id: int, channel: Channel) -> str:
        """Why a reply on `channel` must not go (the customer texted STOP), or ''."""
        contact = await self.context.store.get_contact(contact_id)
        kind = IDENTITY_FOR_CHANNEL[channel.kind]
        identity = next((i for i in contact.identities if i.kind is kind), None)
        if identity is None or not identity.opted_out:
            return ""
        others = [c for c in self.composer.channels if c.kind is not channel.kind]
        hint = (
            tr("Press ctrl+t to reply by {channel} instead.").format(
                channel=channel_name(others[0].kind)
            )
            if others
            else tr("They have no other channel; texting START opts them back in.")
        )
        return tr("Not sent: this customer opted out of {channel} (they texted STOP).").format(
            channel=channel_name(channel.kind)
        ) + (" " + hint)

    def _current(self) -> int | None:
        if self.focused is self.contacts or self.contact is None:
            return self.contacts.current_contact_id
        return self.contact.id

    async def _set_status(self, status: ThreadStatus, until: float | None = None) -> None:
        contact_id = self._current()
        if contact_id is None:
            return
        await self.context.store.set_status(contact_id, status, until)
        summary = await self.context.store.contact_summary(contact_id)
        name = summary.name if summary else tr("contact")
        self.notify(
            toast_text([name, status_label(status)], ": ", self.app.size.width), markup=False
        )
        await self.reload_contacts()
        if self.contact is not None and self.contact.id == contact_id:
            await self._refresh_open_thread()

    async def action_resolve(self) -> None:
        await self._set_status(ThreadStatus.RESOLVED)

    async def action_reopen(self) -> None:
        await self._set_status(ThreadStatus.OPEN)

    @work(group="snooze")
    async def action_snooze(self) -> None:
        from omnitui.screens.pickers import SnoozePicker

        if self._current() is None:
            return
        until = await self.app.push_screen_wait(SnoozePicker())
        if isinstance(until, float):
            await self._set_status(ThreadStatus.SNOOZED, until)

    @work(group="search-screen")
    async def action_search(self) -> None:
        from omnitui.screens.pickers import SearchScreen

        hit = await self.app.push_screen_wait(SearchScreen(self.context))
        if isinstance(hit, SearchHit):
            await self.jump_to(hit)

    async def jump_to(self, hit: SearchHit) -> None:
        await self.go_to(hit.contact_id, select_message=hit.message_id)

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

    @work(group="merge")
    async def action_merge(self) -> None:
        contact_id = self._current()
        if contact_id is None:
            return
        summary = await self.context.store.contact_summary(contact_id)
        if summary is None:
            return
        from omnitui.screens.merge import MergeScreen
        from omnitui.screens.pickers import MergePicker

        store = self.context.store
        other = await self.app.push_screen_wait(MergePicker(self.context, summary))
        if not isinstance(other, int):
            return
        choice = await self.app.push_screen_wait(
            MergeScreen(
                await store.get_contact(contact_id),
                await store.get_contact(other),
                await store.merge_plan(other, contact_id),
                await store.identity_message_counts(other),
            )
        )
        if choice is None:
            return
        try:
            await store.merge(
                other, contact_id, agent=self.context.agent_name, incoming_wins=choice
            )
        except StoreError as exc:
            self.notify(
                tr("Not merged: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        self.notify(tr("Merged. Press u to undo."), title=tr("Merge"))
        self.contact = None
        worker = self.open_contact(contact_id)
        await self.reload_contacts()
        self.contacts.highlight_contact(contact_id)
        await self._drawn(worker)

    async def set_view(self, view: AnyView) -> None:
        self.view = view
        self.contacts.contacts = []
        await self.reload_contacts()
        self.contacts.focus()

    async def action_next_view(self) -> None:
        views = list(self.counts) or [View.ALL]  # the fixed views, then one per tag
        at = views.index(self.view) if self.view in views else -1
        await self.set_view(views[(at + 1) % len(views)])

    @work(group="views")
    async def action_pick_view(self) -> None:
        from omnitui.screens.views import ViewPicker

        counts = await self.context.store.view_counts(self.context.agent_name)
        chosen = await self.app.push_screen_wait(ViewPicker(counts, self.view))
        if isinstance(chosen, View | TagView):
            await self.set_view(chosen)

    async def action_next_waiting(self) -> None:
        contact_id = await self.context.store.next_waiting()
        if contact_id is None:
            self.notify(tr("Nobody is waiting for an answer"))
            return
        if self.view not in (View.ALL, View.WAITING):
            await self.set_view(View.WAITING)
        await self.go_to(contact_id)

    @work(group="tags")
    async def action_tags(self) -> None:
        """Edit the contact's tags in one line; each tag is a view (`V`)."""
        from omnitui.screens.tags import TagsScreen

        contact_id = self._current()
        if contact_id is None:
            return
        store = self.context.store
        contact = await store.get_contact(contact_id)
        known = [v.tag for v in await store.view_counts() if isinstance(v, TagView)]
        tags = await self.app.push_screen_wait(TagsScreen(contact.name, contact.tags, known))
        if tags is None or tags == list(contact.tags):
            return
        await store.update_contact(contact_id, tags=tags)
        shown = ", ".join(f"#{t}" for t in tags) or tr("no tags")
        self.notify(toast_text([contact.name, shown], ": ", self.app.size.width), markup=False)
        await self.reload_contacts()
        if self.contact is not None and self.contact.id == contact_id:
            await self._refresh_open_thread()

    @work(group="note")
    async def action_note(self) -> None:
        """`N`: an internal note about the customer, for every agent and never
        for the customer; `@name` in it tells that agent."""
        from omnitui.screens.note import NoteScreen

        contact_id = self._current()
        if contact_id is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        store = self.context.store
        summary = await store.contact_summary(contact_id)
        if summary is None:
            return
        text = await self.app.push_screen_wait(NoteScreen(summary.name))
        if not text:
            return
        try:
            await store.add_note(contact_id, text, author=self.context.agent_name)
        except StoreError as exc:
            self.notify(
                tr("Not saved: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        self.notify(
            tr("Note kept on {name}: only agents see it").format(name=one_line(summary.name, 30)),
            title=tr("Internal note"),
            markup=False,
        )
        if self.contact is not None and self.contact.id == contact_id:
            await self._refresh_open_thread()
            self.thread.action_last_message()

    @work(group="write-to")
    async def action_write_to(self) -> None:
        """`w`: start a conversation, with a customer who never wrote or a new
        address; the composer opens for them on a channel that reaches them."""
        from omnitui.screens.write_to import WriteToScreen

        store = self.context.store
        chosen = await self.app.push_screen_wait(WriteToScreen(self.context))
        kind: ChannelKind | None = None
        if isinstance(chosen, TypedAddress):
            kind = next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is chosen.kind)
            if not any(c.kind is kind for c in self.context.channels):
                self.notify(
                    tr("No {channel} account is set up to write from").format(
                        channel=channel_name(kind)
                    ),
                    severity="error",
                )
                return
            try:
                contact_id, _made = await store.contact_for_address(
                    chosen.kind, chosen.address, name=chosen.name, region=self.context.phone_region
                )
            except StoreError as exc:
                self.notify(error_label(exc), severity="error", markup=False)
                return
        elif isinstance(chosen, int):
            contact_id = chosen
        else:
            return
        if self.view != View.ALL:
            await self.set_view(View.ALL)
        await self.go_to(contact_id)
        await self._open_composer_for(contact_id, kind)

    async def _open_composer_for(self, contact_id: int, kind: ChannelKind | None) -> None:
        """Focus the composer of the customer just opened, on a channel of
        `kind` when given, or say in words why nothing reaches them."""
        composer = self.composer
        deadline = time.monotonic() + 5
        while not (composer.owner == contact_id and composer.loaded):
            if time.monotonic() > deadline or self.contact is None:
                return
            await asyncio.sleep(0.02)
        if self.contact is None or self.contact.id != contact_id:
            return
        if composer.channel is None:
            self.notify(self._unreachable(self.contact), severity="warning", markup=False)
            return
        if kind is not None and composer.channel.kind is not kind:
            wanted = next((c for c in composer.channels if c.kind is kind), composer.channel)
            composer.pick_channel(wanted)
        # The subject (for email) is prefilled; shift+tab goes back to edit it.
        # (focus() after go_to's own, which is queued the same way.)
        composer.text_area.focus()

    def _unreachable(self, contact: Contact) -> str:
        """Why no channel reaches a customer, in words."""
        name = one_line(contact.name, 30)
        kinds = {i.kind for i in contact.identities}
        if kinds == {IdentityKind.TELEGRAM}:
            return tr(
                "{name} can only be reached on Telegram, and a Telegram bot cannot write "
                "first: they have to send the shop's bot a message, then you can answer them."
            ).format(name=name)
        if not kinds:
            return tr("{name} has no address to write to: add one in the profile (p).").format(
                name=name
            )
        return tr("No channel set up in config.toml reaches {name}'s addresses.").format(name=name)

    async def action_assign(self) -> None:
        contact_id = self._current()
        if contact_id is None:
            return
        summary = await self.context.store.contact_summary(contact_id)
        me = self.context.agent_name
        mine = summary is not None and summary.assignee == me
        await self.context.store.set_assignee(contact_id, None if mine else me)
        self.notify(
            tr("Unassigned") if mine else tr("Assigned to {agent}").format(agent=me), markup=False
        )
        await self.reload_contacts()

    @work(group="duplicates")
    async def action_duplicates(self) -> None:
        from omnitui.screens.duplicates import DuplicatesScreen

        changed = await self.app.push_screen_wait(DuplicatesScreen(self.context))
        if changed:
            self.contact = None
            await self.reload_contacts()
            current = self.contacts.current_contact_id
            if current is not None:
                self.open_contact(current)

    @work(group="profile")
    async def action_profile(self) -> None:
        from omnitui.screens.profile import ProfileScreen

        contact_id = self._current()
        if contact_id is None:
            return
        contact = await self.context.store.get_contact(contact_id)
        changed = await self.app.push_screen_wait(ProfileScreen(self.context, contact))
        if changed:
            self.contact = None
            self.open_contact(contact_id)
            await self.reload_contacts()

    async def action_undo(self) -> None:
        """`u` takes back the reply just sent while it still waits, else it
        undoes the last merge into this contact."""
        sent = self._undoable
        if sent is not None and time.monotonic() < sent[2]:
            self._undoable = None
            await self._withdraw(sent[0], sent[1])
            return
        await self.action_undo_merge()

    async def _withdraw(self, contact_id: int, message_id: int) -> None:
        store = self.context.store
        taken = await store.withdraw_reply(message_id)
        if taken is None:
            self.notify(tr("Too late to undo: the reply is on its way"), severity="warning")
            return
        composer = self.composer
        if composer.owner == contact_id and composer.loaded and not composer.text.strip():
            composer.text_area.load_text(taken.text)
            composer.files = list(taken.files)
            composer.pick_channel(taken.channel)
            if taken.subject:
                composer.put_typed_subject(taken.subject)
            composer.set_recipients(list(taken.cc), list(taken.bcc))
            composer.text_area.focus()
        else:  # the agent moved on: it waits as that customer's draft
            await self._keep_draft(
                contact_id, Draft(taken.text, taken.channel.account, taken.subject)
            )
            composer.keep_recipients(contact_id, list(taken.cc), list(taken.bcc))
        self.notify(tr("Not sent: the reply is back in the composer"), title=tr("Undone"))
        await self._refresh_open_thread()
        await self.reload_contacts()

    async def action_undo_merge(self) -> None:
        contact_id = self._current()
        if contact_id is None:
            return
        record = await self.context.store.last_merge_into(contact_id)
        if record is None:
            self.notify(tr("No merge into this contact to undo"), severity="warning")
            return
        await self.context.store.undo_merge(record)
        self.notify(tr("Merge undone: the other contact is back on its own"), title=tr("Merge"))
        self.contact = None
        self.open_contact(contact_id)
        await self.reload_contacts()

    async def action_retry(self) -> None:
        message = self.thread.selected_message
        if message is None:
            return
        try:
            await self.context.store.retry(message.id)
        except StoreError as exc:
            self.notify(error_label(exc), severity="warning", markup=False)
            return
        self.context.outbox_changed()
        self.notify(tr("Queued again"))

    def action_help(self) -> None:
        from omnitui.screens.help import HelpScreen, binding_rows

        anywhere, contacts = tr("anywhere"), tr("contacts")
        sections = [
            (anywhere, [*self.app.BINDINGS]),
            (tr("inbox"), self.BINDINGS),
            (contacts, ContactList.BINDINGS),
            (tr("thread"), ThreadView.BINDINGS),
            (tr("composer"), Composer.BINDINGS),
            (tr("canned pane"), CannedList.BINDINGS),
        ]
        rows = [
            (contacts, "enter", tr("Open the merged thread"), ""),
            (anywhere, "tab shift+tab", tr("Next / previous pane"), ""),
        ]
        rows += binding_rows(sections, self.context.keymap)
        legend = tr("Marks: {legend}").format(legend=channel_legend())
        self.app.push_screen(HelpScreen(rows, legend))
