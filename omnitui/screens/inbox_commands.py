"""The inbox's actions in the command palette (ctrl+p), in the console's language.

Textual asks the providers in `InboxScreen.COMMANDS` while the inbox is the
screen the palette opened over; Textual's own commands (Theme, Quit, Keys…)
come from the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider

from omnitui.i18n import N_, tr

if TYPE_CHECKING:
    from omnitui.screens.inbox import InboxScreen


def inbox_commands(inbox: InboxScreen) -> list[SystemCommand]:
    """Every inbox action the palette offers: title, what it does, the action."""
    thread, composer = inbox.thread, inbox.composer
    commands: list[tuple[str, str, Callable[[], object]]] = [
        (N_("Reply"), N_("Write a reply to the open customer"), inbox.action_reply),
        (N_("Search"), N_("Search every message and contact"), inbox.action_search),
        (N_("Resolve"), N_("Mark the customer's thread resolved"), inbox.action_resolve),
        (N_("Reopen"), N_("Reopen the customer's thread"), inbox.action_reopen),
        (N_("Snooze"), N_("Hide the thread until a time"), inbox.action_snooze),
        (N_("Tags"), N_("Tag the customer; each tag is a view"), inbox.action_tags),
        (N_("Views"), N_("Every view of the customers with counts"), inbox.action_pick_view),
        (N_("Profile"), N_("Names, language, fields and identities"), inbox.action_profile),
        (N_("Merge"), N_("Merge another contact into this one"), inbox.action_merge),
        (
            N_("Possible duplicates"),
            N_("Contacts that may be the same customer"),
            inbox.action_duplicates,
        ),
        (N_("Canned reply"), N_("Insert a canned reply"), inbox.action_canned),
        (N_("Assign"), N_("Assign to me / unassign"), inbox.action_assign),
        (
            N_("Next waiting customer"),
            N_("The customer who has waited longest for an answer"),
            inbox.action_next_waiting,
        ),
        (
            N_("Supervisor: who is waiting"),
            N_("Every customer waiting for an answer, longest first, as it changes"),
            inbox.action_supervisor,
        ),
        (
            N_("Undo"),
            N_("Undo: the reply just sent, else the last merge into this contact"),
            inbox.action_undo,
        ),
        (N_("Retry"), N_("Retry a failed reply"), inbox.action_retry),
        (N_("Fold quoted text"), N_("Show or fold quoted text"), thread.action_toggle_fold),
        (N_("Raw source"), N_("Show the raw source"), thread.action_source),
        (N_("Save attachments"), N_("Save attachments"), thread.action_save_attachments),
        (N_("Attach a file"), N_("Attach a file to the reply"), composer.action_attach),
        (
            N_("Edit in $EDITOR"),
            N_("Write the reply in your own editor"),
            composer.action_editor,
        ),
        (
            N_("Internal note"),
            N_("A note about the customer for the agents, never sent"),
            inbox.action_note,
        ),
        (
            N_("Write to…"),
            N_("Start a conversation: a customer or a new email address or phone"),
            inbox.action_write_to,
        ),
        (
            N_("Rules"),
            N_("The automation rules: what each does, hits in the last 7 days"),
            inbox.action_rules,
        ),
        (
            N_("Reports"),
            N_("How the shop is doing: conversations, response times, satisfaction"),
            inbox.action_reports,
        ),
        (
            N_("QR codes"),
            N_("Each channel's link and QR code: customers scan one to start a chat"),
            inbox.action_qr,
        ),
        (
            N_("Broadcast to this view…"),
            N_("One canned reply to the customers with this view's tag, after a look"),
            inbox.action_broadcast,
        ),
        (
            N_("Broadcasts"),
            N_("The recent broadcasts: sent, delivered, failed and skipped per channel"),
            inbox.action_broadcasts,
        ),
        (
            N_("Cancel the broadcast"),
            N_("Take back what the broadcast going out has not sent yet"),
            inbox.action_cancel_broadcast,
        ),
        (N_("Keys"), N_("Every key on this screen"), inbox.action_help),
    ]
    return [
        SystemCommand(tr(title), tr(help_text), action) for title, help_text, action in commands
    ]


class InboxCommands(Provider):
    """The inbox's actions for the command palette."""

    def _commands(self) -> list[SystemCommand]:
        from omnitui.screens.inbox import InboxScreen

        screen = self.screen
        return inbox_commands(screen) if isinstance(screen, InboxScreen) else []

    async def discover(self) -> Hits:
        """Every action, by title, for the palette before anything is typed."""
        for title, help_text, callback, _ in sorted(self._commands(), key=lambda c: c.title):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """The actions whose title matches what was typed."""
        matcher = self.matcher(query)
        for title, help_text, callback, _ in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
