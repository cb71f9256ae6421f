"""The inbox: contacts, the merged thread with its composer, canned replies.

The screen is put together from its parts: `inbox_panes` keeps the panes in
step, `inbox_reply` answers customers, `inbox_triage` sorts their threads and
`inbox_customer` keeps their records; the palette's commands are in
`inbox_commands`.
"""

from __future__ import annotations

import time

from textual.binding import Binding

from omnitui.domain.models import reachable_channels
from omnitui.i18n import tr
from omnitui.screens.inbox_broadcast import BroadcastActions
from omnitui.screens.inbox_commands import InboxCommands
from omnitui.screens.inbox_customer import CustomerActions
from omnitui.screens.inbox_panes import HOLD_FRAME, NARROW
from omnitui.screens.inbox_reply import ReplyActions
from omnitui.screens.inbox_triage import TriageActions
from omnitui.widgets.canned import CannedList
from omnitui.widgets.composer import Composer
from omnitui.widgets.contact_list import ContactList
from omnitui.widgets.format import channel_legend
from omnitui.widgets.thread_view import ThreadView

__all__ = ["HOLD_FRAME", "InboxScreen", "reachable_channels"]


class InboxScreen(TriageActions, CustomerActions, ReplyActions, BroadcastActions):
    """The inbox: contacts, the merged thread with its composer, canned replies."""

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
        Binding(
            "W", "supervisor", "Who is waiting, longest first", show=False, id="inbox.supervisor"
        ),
        Binding("A", "assign", "Assign to me / unassign", show=False, id="inbox.assign"),
        Binding("D", "duplicates", "Possible duplicates", show=False, id="inbox.duplicates"),
        Binding("t", "tags", "Tags", show=False, id="inbox.tags"),
        Binding("N", "note", "Internal note (agents only)", show=False, id="inbox.note"),
        Binding("w", "write_to", "Write to…", show=False, id="inbox.write"),
        Binding("b", "rules", "Automation rules and their hits", show=False, id="inbox.rules"),
        Binding("S", "reports", "Reports: how the shop is doing", show=False, id="inbox.reports"),
        Binding("Q", "qr", "QR codes to start a chat", show=False, id="inbox.qr"),
        Binding("B", "broadcast", "Broadcast to this view", show=False, id="inbox.broadcast"),
        Binding("escape", "back", "Back", show=False, id="inbox.back"),
    ]

    async def action_undo(self) -> None:
        """`u` takes back the reply just sent while it still waits, else it
        undoes the last merge into this contact."""
        sent = self._undoable
        if sent is not None and time.monotonic() < sent[2]:
            self._undoable = None
            await self._withdraw(sent[0], sent[1])
            return
        await self.action_undo_merge()

    def action_rules(self) -> None:
        """`b`: the automation rules, what each does and how often it fired."""
        from omnitui.screens.rules import RulesScreen

        self.app.push_screen(RulesScreen(self.context))

    def action_reports(self) -> None:
        """`S`: the shop's figures for a period, drawn in the terminal."""
        from omnitui.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen(self.context))

    def action_qr(self) -> None:
        """`Q`: each channel's "start a chat" link and its QR code."""
        from omnitui.screens.qr import QrScreen

        self.app.push_screen(QrScreen(self.context))

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
        legend = tr("Marks: {legend}").format(
            legend=channel_legend(c.kind for c in self.context.channels)
        )
        self.app.push_screen(HelpScreen(rows, legend))
