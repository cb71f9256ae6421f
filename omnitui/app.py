"""The Textual app: wires the store to the inbox screen and keeps it live."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import WorkerFailed

from omnitui.config import log_path
from omnitui.domain.mail import combined_signature
from omnitui.domain.models import Channel, ChannelKind
from omnitui.i18n import N_, Language, resolve_language, tr, use_language
from omnitui.screens.inbox import InboxChanged, InboxScreen
from omnitui.store import Store

NARROW = 100  # below this many columns the canned pane hides
log = logging.getLogger("omnitui.console")


class OmniApp(App[None]):
    """OmniTUI's console. The store is injected; the app never calls a network service."""

    TITLE = "OmniTUI"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        store: Store,
        *,
        agent_name: str = "Agent",
        shop_values: Mapping[str, str] | None = None,
        channels: Iterable[Channel] = (),
        keymap: Mapping[str, str] | None = None,
        on_outbox: Callable[[], None] | None = None,
        poll_changes: float = 0.25,
        downloads: Path | None = None,
        phone_region: str | None = None,
        notify_new: bool = True,
        bell: bool = True,
        language: str | None = None,
        undo_send: float = 0.0,
        signatures: Mapping[str, str] | None = None,
        agent_signature: str = "",
        own_addresses: Collection[str] = (),
    ) -> None:
        """`language` is "en" or "ja"; None takes it from the locale (LC_ALL, LC_MESSAGES, LANG).

        `signatures` are the email accounts' (by account name), `agent_signature`
        this agent's, added after the account's; `own_addresses` are the shop's
        own mail addresses, which a reply-all never copies in."""
        super().__init__()
        self.store = store
        self.agent_name = agent_name
        self.shop_values = dict(shop_values or {})
        self.shop_values.setdefault("agent", agent_name)
        self.channels = list(channels)
        self.keymap = dict(keymap or {})
        self._on_outbox = on_outbox
        self._downloads = downloads
        self.phone_region = phone_region  # reads local numbers written in messages
        self.notify_new = notify_new
        self.bell_on_new = bell
        self.undo_send = undo_send  # seconds a sent reply waits, taking "u to undo"
        self.signatures = dict(signatures or {})
        self.agent_signature = agent_signature
        self.own_addresses = frozenset(a.lower() for a in own_addresses)
        self._poll_every = poll_changes
        self._last_change = 0
        self._polling = False
        self.language: Language = resolve_language(language)

    def signature_for(self, channel: Channel) -> str:
        """The signature a reply on `channel` carries: email only, the account's
        then the agent's."""
        if channel.kind is not ChannelKind.EMAIL:
            return ""
        return combined_signature(self.signatures.get(channel.account, ""), self.agent_signature)

    def on_load(self) -> None:
        # Load is handled in the app's own task before any screen exists, so
        # every screen, widget and worker started from it reads this language.
        use_language(self.language)

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self._last_change = await self.store.last_change_id()
        await self.push_screen(InboxScreen())
        self._apply_width(self.size.width)
        self.set_interval(self._poll_every, self._poll_changes)
        # What start-up built (Textual, styles, the screen) lives as long as the
        # console. Kept out of the collector's full passes, each of which would
        # otherwise stop the console for 30-40 ms every few key presses.
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        gc.unfreeze()

    def on_resize(self, event: events.Resize) -> None:
        self._apply_width(event.size.width)  # the new size: self.size may still be the old one

    def _handle_exception(self, error: Exception) -> None:
        """An error nobody expected ends the console with exit code 1. The
        traceback goes to the log file, not the screen: Textual's would show
        local variables, which hold customers' messages."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        log.error("the console stopped on an unexpected error", exc_info=cause)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        self.bell()
        self.exit(
            return_code=1,
            message=Text(
                tr("OmniTUI stopped on an unexpected error; what happened is in {log}").format(
                    log=log_path()
                )
            ),
        )

    async def action_quit(self) -> None:
        """Quit, keeping the reply being written as its customer's draft."""
        for screen in self.screen_stack:
            if isinstance(screen, InboxScreen):
                await screen.flush_draft()
        self.exit()

    def _apply_width(self, width: int) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, InboxScreen):
                screen.set_class(width < NARROW, "-narrow")

    async def _poll_changes(self) -> None:
        """Pick up changes from the store's change log (any process) and tell the inbox."""
        if self._polling:
            return
        self._polling = True
        try:
            batch = await self.store.changes_since(self._last_change)
            if batch.last_id != self._last_change:
                self._last_change = batch.last_id
                for screen in self.screen_stack:
                    if isinstance(screen, InboxScreen):
                        screen.post_message(InboxChanged(batch.contact_ids, batch.kinds))
                if "inbound" in batch.kinds and self.notify_new:
                    await self._announce(batch.contact_ids)
        finally:
            self._polling = False

    @property
    def downloads(self) -> Path:
        """Where saved attachments go: the user's downloads folder, OmniTUI/."""
        if self._downloads is None:
            from platformdirs import user_downloads_path

            self._downloads = user_downloads_path() / "OmniTUI"
        return self._downloads

    async def _announce(self, contact_ids: frozenset[int]) -> None:
        """A toast (and the bell) for new messages on threads that are mine or nobody's."""
        from omnitui.domain.safe_text import one_line

        names = []
        for contact_id in sorted(contact_ids)[:20]:
            summary = await self.store.contact_summary(contact_id)
            if (
                summary is not None
                and summary.last_direction is not None
                and summary.last_direction.value == "in"
                and summary.assignee in (None, self.agent_name)
            ):
                names.append(one_line(summary.name, 30))
        if not names:
            return
        shown = ", ".join(names[:3])
        if len(names) > 3:
            shown = tr("{names} and {n} more").format(names=shown, n=len(names) - 3)
        self.notify(shown, title=tr("New message"), timeout=4, markup=False)
        if self.bell_on_new:
            self.bell()

    def outbox_changed(self) -> None:
        if self._on_outbox is not None:
            self._on_outbox()

    @property
    def inbox(self) -> InboxScreen:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, InboxScreen):
                return screen
        raise LookupError("no inbox screen")

    def action_help(self) -> None:
        if isinstance(self.screen, InboxScreen):
            self.screen.action_help()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        inbox = screen if isinstance(screen, InboxScreen) else None
        for command in super().get_system_commands(screen):
            if inbox is not None and command.callback == self.action_show_help_panel:
                continue  # the inbox has its own, fuller list of keys (below)
            # Textual's own commands (Theme, Quit, Keys…), in the console's language.
            yield command._replace(title=tr(command.title), help=tr(command.help))
        if inbox is not None:
            commands: list[tuple[str, str, Callable[[], object]]] = [
                (N_("Reply"), N_("Write a reply to the open customer"), inbox.action_reply),
                (N_("Search"), N_("Search every message and contact"), inbox.action_search),
                (N_("Resolve"), N_("Mark the customer's thread resolved"), inbox.action_resolve),
                (N_("Reopen"), N_("Reopen the customer's thread"), inbox.action_reopen),
                (N_("Snooze"), N_("Hide the thread until a time"), inbox.action_snooze),
                (N_("Tags"), N_("Tag the customer; each tag is a view"), inbox.action_tags),
                (
                    N_("Views"),
                    N_("Every view of the customers with counts"),
                    inbox.action_pick_view,
                ),
                (N_("Profile"), N_("Names, language, fields and identities"), inbox.action_profile),
                (N_("Merge"), N_("Merge another contact into this one"), inbox.action_merge),
                (
                    N_("Possible duplicates"),
                    N_("Contacts that may be the same customer"),
                    inbox.action_duplicates,
                ),
                (N_("Canned reply"), N_("Insert a canned reply"), inbox.action_canned),
                (N_("Keys"), N_("Every key on this screen"), inbox.action_help),
            ]
            for title, help_text, action in commands:
                yield SystemCommand(tr(title), tr(help_text), action)
