"""Triage in the inbox: status, snooze, views, search, tags, notes, assignment."""

from __future__ import annotations

from textual import work

from omnitui.domain.models import (
    SearchHit,
    ThreadStatus,
)
from omnitui.domain.safe_text import one_line
from omnitui.domain.views import TagView, View
from omnitui.i18n import tr
from omnitui.screens.inbox_panes import (
    InboxPanes,
)
from omnitui.store import StoreError
from omnitui.widgets.format import (
    error_label,
    status_label,
    toast_text,
)


class TriageActions(InboxPanes):
    """The inbox's triage actions: what happens to a thread, and which threads show."""

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

    @work(group="supervisor")
    async def action_supervisor(self) -> None:
        """`W`: every customer waiting for an answer, live; enter opens one here."""
        from omnitui.screens.supervisor import SupervisorScreen

        contact_id = await self.app.push_screen_wait(SupervisorScreen(self.context))
        if contact_id is not None:
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
