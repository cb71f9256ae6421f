"""Broadcasts from the inbox: start one from the view, the progress line while
one goes out (in every console on the store), the list, and cancel."""

from __future__ import annotations

from textual import on
from textual.widgets import Static

from omnitui.domain.changes import ChangeKind
from omnitui.i18n import tr
from omnitui.messages import StoreChanged
from omnitui.screens.inbox_panes import InboxPanes
from omnitui.store.records import BroadcastProgress


class BroadcastActions(InboxPanes):
    """`B` and the palette's broadcast commands; the 📣 line above the panes."""

    active_broadcasts: tuple[BroadcastProgress, ...] = ()

    async def on_mount(self) -> None:
        await self.show_broadcasts()

    @on(StoreChanged)
    async def broadcasts_changed(self, event: StoreChanged) -> None:
        if event.kinds & {ChangeKind.OUTBOX, ChangeKind.DELIVERY, ChangeKind.CANNED}:
            await self.show_broadcasts()

    async def show_broadcasts(self) -> None:
        """The 📣 line while a broadcast goes out; read again on each change (every
        message it sends is one), never on a timer."""
        from omnitui.screens.broadcast import progress_line

        store = self.context.store
        active = tuple(await store.broadcasts(active_only=True))
        self.active_broadcasts = active
        line = self.query_one("#broadcast-progress", Static)
        if active:
            line.update(progress_line(active, await store.canned_replies()))
        line.display = bool(active)

    def action_broadcast(self) -> None:
        """`B`: one canned reply to the customers of this view's tag."""
        from omnitui.screens.broadcast import BroadcastScreen

        def written(number: int | None) -> None:
            if number is not None:
                self.notify(tr("Broadcast {number} is on its way").format(number=number))
                self.run_worker(self.show_broadcasts(), group="broadcasts")

        self.app.push_screen(BroadcastScreen(self.context, self.view), written)

    def action_broadcasts(self) -> None:
        """The recent broadcasts and how each went, per channel."""
        from omnitui.screens.broadcast import BroadcastsScreen

        self.app.push_screen(BroadcastsScreen(self.context))

    async def action_cancel_broadcast(self) -> None:
        """Cancel the broadcast going out (the newest), after a y/N."""
        from omnitui.screens.broadcast import CancelBroadcastScreen

        if not self.active_broadcasts:
            self.notify(tr("No broadcast is going out."))
            return
        target = self.active_broadcasts[0]

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            taken = await self.context.store.cancel_broadcast(target.id)
            self.notify(tr("Broadcast cancelled: {count} not sent").format(count=taken))
            await self.show_broadcasts()

        self.app.push_screen(
            CancelBroadcastScreen(target, await self.context.store.canned_replies()), answered
        )
