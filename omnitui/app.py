"""The Textual app: wires the store to the inbox screen and keeps it live."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.timer import Timer
from textual.worker import WorkerFailed

from omnitui.config import log_path
from omnitui.context import WAITING_ALERT, WAITING_WARN, ConsoleContext
from omnitui.desktop import Mode
from omnitui.desktop import resolve as resolve_desktop
from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import Channel
from omnitui.i18n import Language, resolve_language, tr, use_language
from omnitui.messages import StoreChanged, StoreTrouble, change_kinds
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.palette import OmniCommandPalette
from omnitui.store.errors import StoreError, StoreUnreachable
from omnitui.widgets.format import toast_room, toast_text, use_clock

if TYPE_CHECKING:
    from omnitui.domain.broadcast_image import ImageSetup
    from omnitui.domain.hours import BusinessHours
    from omnitui.domain.qr import QrChannel
    from omnitui.domain.rules import Rule
    from omnitui.store.protocol import StoreProtocol
    from omnitui.store.records import Notice

log = logging.getLogger("omnitui.console")
TOAST_SECONDS = 4.0  # how long a new-message toast stays
NOTICES_PAGE = 50  # rules' notices read at a time
STORE_RETRY = 2.0  # seconds between looks at a store that cannot be reached


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
        store: StoreProtocol,
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
        waiting: tuple[float, float] = (WAITING_WARN, WAITING_ALERT),
        desktop_notifications: Mode = "off",
        signatures: Mapping[str, str] | None = None,
        agent_signature: str = "",
        own_addresses: Collection[str] = (),
        hours: BusinessHours | None = None,
        rules: Iterable[Rule] = (),
        qr_channels: Iterable[QrChannel] = (),
        broadcast_email_consent: bool = True,
        broadcast_images: ImageSetup | None = None,
    ) -> None:
        """`language` is "en" or "ja"; None takes it from the locale (LC_ALL, LC_MESSAGES, LANG).

        `signatures` are the email accounts' (by account name), `agent_signature`
        this agent's, added after the account's; `own_addresses` are the shop's
        own mail addresses, which a reply-all never copies in. `waiting` is
        [reports] waiting_warn and waiting_alert in seconds (the supervisor view)."""
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
        self.waiting = waiting
        self.desktop = resolve_desktop(desktop_notifications)
        self._toast_until = 0.0  # while a new-message toast is up, more arrivals wait
        self._held_names: list[str] = []
        self._held_timer: Timer | None = None
        self.signatures = dict(signatures or {})
        self.agent_signature = agent_signature
        self.own_addresses = frozenset(a.lower() for a in own_addresses)
        self.hours = hours  # the shop's business hours, shown in the inbox
        self.rules = tuple(rules)  # the automation rules, for the rules screen
        self.qr_channels = tuple(qr_channels)  # the channels the QR screen shows codes for
        self.broadcast_email_consent = broadcast_email_consent
        self.broadcast_images = broadcast_images  # where a broadcast's image can go
        self._poll_every = poll_changes  # how often a SQLite store is looked at
        self._last_change = 0
        self._following: asyncio.Task[None] | None = None
        self.store_problem: str | None = None  # why the store cannot be reached now
        # Internal notes above this id are new to this console: one that calls
        # on its agent (@name) is announced once.
        self._notes_after = 0
        # Rules' notices (notify = true) above this firing are new to this console.
        self._notices_after = 0
        self.language: Language = resolve_language(language)

    def console_context(self) -> ConsoleContext:
        """What the screens work with: the store and this console's settings."""
        return ConsoleContext.build(
            self.store,
            agent_name=self.agent_name,
            shop_values=self.shop_values,
            channels=self.channels,
            keymap=self.keymap,
            phone_region=self.phone_region,
            undo_send=self.undo_send,
            waiting=self.waiting,
            signatures=self.signatures,
            agent_signature=self.agent_signature,
            own_addresses=self.own_addresses,
            downloads=self._downloads,
            outbox_changed=self.outbox_changed,
            hours=self.hours,
            rules=self.rules,
            qr_channels=self.qr_channels,
            broadcast_email_consent=self.broadcast_email_consent,
            broadcast_images=self.broadcast_images,
        )

    def on_load(self) -> None:
        # Load is handled in the app's own task before any screen exists, so
        # every screen, widget and worker started from it reads this language.
        use_language(self.language)
        use_clock(self.store.now)  # ages and times read the store's clock

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self._last_change = await self.store.last_change_id()
        self._notes_after = await self.store.last_message_id()
        self._notices_after = await self.store.last_firing_id()
        await self.push_screen(InboxScreen(self.console_context()))
        self._following = asyncio.create_task(self._follow_changes(), name="store-changes")
        # What start-up built (Textual, styles, the screen) lives as long as the
        # console. Kept out of the collector's full passes, each of which would
        # otherwise stop the console for 30-40 ms every few key presses.
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        if self._following is not None:
            self._following.cancel()
        gc.unfreeze()

    def _handle_exception(self, error: Exception) -> None:
        """An error nobody expected ends the console with exit code 1. The
        traceback goes to the log file, not the screen: Textual's would show
        local variables, which hold customers' messages."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        if isinstance(error, WorkerFailed) and isinstance(cause, StoreError):
            # A worker's store read or write: said, and the console goes on.
            self.store_failed(cause)
            return
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

    async def _follow_changes(self) -> None:
        """Follow the store's change log (any process, any machine) for as long
        as the console runs: wait until the store says something changed, then
        read what, and tell the screens. A store that cannot be reached is said
        in a line on every screen; the console keeps looking and, once it is
        back, reads everything it missed."""
        while True:
            try:
                # While the store is said to be away, a read soon says whether it is back.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STORE_RETRY if self.store_problem else None):
                        await self.store.wait_for_change(self._last_change, poll=self._poll_every)
                await self._read_changes()
            except asyncio.CancelledError:
                raise
            except StoreError as exc:
                self._store_trouble(exc)
                await asyncio.sleep(STORE_RETRY)
                continue
            except Exception:
                # Nothing else may stop the console from following the store.
                log.exception("reading the store's changes")
                await asyncio.sleep(STORE_RETRY)
                continue
            if self.store_problem is not None:
                self._store_trouble(None)

    async def _dispatch_message(self, message: Message) -> None:
        try:
            await super()._dispatch_message(message)
        except StoreError as exc:
            self.store_failed(exc)

    def store_failed(self, exc: StoreError) -> None:
        """What the agent asked for could not be done in the store: said in
        words (and, while the store cannot be reached, in the line above the
        panes); the console goes on."""
        from omnitui.widgets.format import error_label

        reason = error_label(exc)
        log.warning("not done: %s", exc)
        self.notify(tr("Not done: {reason}").format(reason=reason), severity="error", markup=False)
        if isinstance(exc, StoreUnreachable):
            self._say_store(reason)

    def on_store_trouble(self, event: StoreTrouble) -> None:
        """A screen could not read the store: every screen says so until it can."""
        self._say_store(event.problem)

    def _store_trouble(self, exc: StoreError | None) -> None:
        from omnitui.widgets.format import error_label

        self._say_store(None if exc is None else error_label(exc))

    def _say_store(self, problem: str | None) -> None:
        if problem == self.store_problem:
            return
        if problem is None:
            log.info("the store can be reached again")
        else:
            log.warning("the store cannot be reached: %s", problem)
        self.store_problem = problem
        for screen in self.screen_stack:
            screen.post_message(StoreTrouble(problem))

    async def _read_changes(self) -> None:
        """Pick up changes from the store's change log and tell the inbox."""
        batch = await self.store.changes_since(self._last_change)
        if batch.last_id == self._last_change:
            return
        self._last_change = batch.last_id
        kinds = change_kinds(batch.kinds)
        for screen in self.screen_stack:
            screen.post_message(StoreChanged(batch.contact_ids, kinds))
        if ChangeKind.INBOUND in kinds and self.notify_new:
            await self._announce(batch.contact_ids)
        if batch.noted:
            await self._announce_mentions(batch.noted)
        if ChangeKind.AUTOMATION in kinds:
            await self._announce_notices()

    async def _announce(self, contact_ids: frozenset[int]) -> None:
        """A toast (and the bell) for new messages on threads that are mine or nobody's."""
        names: list[str] = []
        for contact_id in sorted(contact_ids)[:20]:
            summary = await self.store.contact_summary(contact_id)
            if (
                summary is not None
                and summary.last_direction is not None
                and summary.last_direction.value == "in"
                and summary.assignee in (None, self.agent_name)
            ):
                names.append(summary.name)
        if not names:
            return
        now = time.monotonic()
        if now < self._toast_until:
            # One toast at a time: a busy hour must not bury the composer in them.
            self._held_names.extend(names)
            if self._held_timer is None:
                self._held_timer = self.set_timer(self._toast_until - now, self._show_held)
            return
        self._show_new(names)

    def _show_held(self) -> None:
        self._held_timer = None
        names, self._held_names = self._held_names, []
        if names:
            self._show_new(names)

    def _show_new(self, names: list[str]) -> None:
        """One toast (and the bell, and a desktop notification) for these arrivals."""
        distinct = list(dict.fromkeys(names))
        more = tr("and {n} more").format(n=len(distinct) - 3) if len(distinct) > 3 else ""
        shown = self.toast_text(distinct[:3], tr(", "), tail=more)
        title = (
            tr("New message") if len(names) == 1 else tr("{n} new messages").format(n=len(names))
        )
        self.notify(shown, title=title, timeout=TOAST_SECONDS, markup=False)
        self._toast_until = time.monotonic() + TOAST_SECONDS
        if self.bell_on_new:
            self.bell()
        self._desktop_notify(title, shown)

    def _desktop_notify(self, title: str, body: str) -> None:
        from omnitui import desktop

        if self.desktop == "notify-send":
            self.run_worker(self._notify_send(desktop.command(title, body)), group="desktop")
            return
        written = desktop.sequence(self.desktop, title, body)
        if written and self._driver is not None:
            self._driver.write(written)  # as App.bell() writes its BEL
            self._driver.flush()

    async def _notify_send(self, command: list[str]) -> None:
        with contextlib.suppress(OSError):
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await process.wait()

    async def _announce_mentions(self, contact_ids: frozenset[int]) -> None:
        """A toast (and the bell) for each new internal note that calls on this
        console's agent with @name, whichever process it was written in."""
        from omnitui.domain.notes import mentions
        from omnitui.domain.safe_text import one_line

        notes = await self.store.notes_after(contact_ids, self._notes_after)
        if not notes:
            return
        self._notes_after = max(self._notes_after, *(n.id for n in notes))
        me = self.agent_name.casefold()
        called = [
            n
            for n in notes
            if (n.author or "").casefold() != me and mentions(n.text, self.agent_name)
        ]
        for note in called[:5]:
            summary = await self.store.contact_summary(note.contact_id)
            name = one_line(summary.name, 30) if summary is not None else tr("contact")
            self.notify(
                f"{name}: {one_line(note.text, 160)}",
                title=tr("{author} mentioned you in a note").format(
                    author=one_line(note.author or tr("an agent"), 30)
                ),
                timeout=10,
                markup=False,
            )
        if called and self.bell_on_new:
            self.bell()

    async def _announce_notices(self) -> None:
        """A toast (and the bell) for each rule with `notify = true` that fired
        since the last look, in whichever process ran it."""
        from omnitui.domain.rule_words import did_text
        from omnitui.domain.safe_text import one_line

        notices: list[Notice] = []
        while True:  # a burst is read whole; only its last few are shown
            page = await self.store.notices_after(self._notices_after, limit=NOTICES_PAGE)
            notices.extend(page)
            if page:
                self._notices_after = max(self._notices_after, page[-1].id)
            if len(page) < NOTICES_PAGE:
                break
        if not notices:
            return
        for notice in notices[-5:]:
            title = tr("Rule fired")
            # The toast is the notice: "notified every console" would say it twice.
            actions = {k: v for k, v in notice.actions.items() if k != "notify"}
            # The rule and the customer's name break only between them, never
            # inside a name (美咲 | 田中); what the rule did wraps as it may.
            body = self.toast_text(
                [f"⚙ {one_line(notice.rule, 40)}", f"{one_line(notice.contact_name, 30)}:"],
                " · ",
                tail=did_text(actions),
            )
            self.notify(body, title=title, timeout=10, markup=False)
            self._desktop_notify(title, " ".join(body.split()))
        if self.bell_on_new:
            self.bell()

    def toast_room(self) -> int:
        """How many cells a line of a toast holds on this screen."""
        return toast_room(self.size.width)

    def toast_text(self, parts: Sequence[str], separator: str, tail: str = "") -> str:
        """Names and words for a toast on this screen, broken only between them."""
        return toast_text(parts, separator, self.size.width, tail)

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

    # -- Textual's own texts, in the console's language -----------------------

    def action_command_palette(self) -> None:
        """ctrl+p: Textual's command palette, its placeholder in the console's language."""
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(
                OmniCommandPalette(placeholder=tr("Search for commands…"), id="--command-palette")
            )

    def search_themes(self) -> None:
        self.push_screen(
            OmniCommandPalette(providers=[ThemeProvider], placeholder=tr("Search for themes…"))
        )

    def action_help_quit(self) -> None:
        """ctrl+c outside a text field: say which key quits (Textual's words, translated)."""
        keys = [
            k for k, a in self.active_bindings.items() if a.binding.action in ("quit", "app.quit")
        ]
        if keys:
            self.notify(
                tr("Press {key} to quit").format(key=min(keys, key=len)),  # q before ctrl+q
                title=tr("Do you want to quit?"),
                markup=False,
            )

    def on_delivery_complete(self, event: events.DeliveryComplete) -> None:
        """A screenshot was saved (the palette's Screenshot): said in the console's language."""
        if event.name == "screenshot":
            event.prevent_default()  # Textual's own toast, in English, is not shown
            where = str(event.path) if event.path is not None else ""
            self.notify(
                tr("Saved the screen to {path}").format(path=where),
                title=tr("Screenshot"),
                markup=False,
            )

    def on_delivery_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "screenshot":
            event.prevent_default()
            self.notify(
                tr("The screen could not be saved"), title=tr("Screenshot"), severity="error"
            )

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.callback == self.action_show_help_panel:
                # Textual's key panel shows its widgets' own (English) help; the
                # inbox has its own, fuller list of keys (its palette's Keys).
                continue
            # Textual's own commands (Theme, Quit, Keys…), in the console's language.
            yield command._replace(title=tr(command.title), help=tr(command.help))
