"""Modal pickers: canned replies, search, merge, snooze."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from rapidfuzz import fuzz, process
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.context import ConsoleContext
from omnitui.domain.models import CannedReply, ContactSummary, SearchHit
from omnitui.domain.safe_text import one_line
from omnitui.domain.search import highlight_spans
from omnitui.i18n import N_, tr
from omnitui.widgets.canned import canned_prompt
from omnitui.widgets.fields import Input
from omnitui.widgets.format import CHANNEL_STYLE, channel_mark, clock_time, fit_name, when_at

PICKER_CSS = """
.picker { width: 80%; max-width: 100; height: 80%; border: round $accent; background: $panel; padding: 0 1; }
.picker > .title { height: 1; text-style: bold; }
.picker > Input { margin: 0; }
.picker > OptionList { height: 1fr; }
.picker > .hint { height: auto; color: $text-muted; }
"""


class _Picker(ModalScreen[object]):
    """Input on top, options below; up/down move in the list while typing."""

    DEFAULT_CSS = "_Picker { align: center middle; }\n" + PICKER_CSS
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", "Down", show=False, id="picker.down"),
        Binding("up", "move(-1)", "Up", show=False, id="picker.up"),
    ]
    # English, marked with N_ and translated where shown (one class for every console).
    TITLE_TEXT = ""
    HINT = N_("type to filter · ↑↓ move · enter pick · esc cancel")

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(Text(tr(self.TITLE_TEXT)), classes="title")
            yield Input(placeholder=tr("type to filter"), id="picker-input")
            yield OptionList(id="picker-options")
            yield Static(tr(self.HINT), classes="hint", id="picker-hint")

    @property
    def options(self) -> OptionList:
        return self.query_one("#picker-options", OptionList)

    def dismiss(self, result: object | None = None) -> AwaitComplete:
        """Close the picker, first stopping the lookups still running for it.

        A search or a find answers into the picker's list; once the picker
        is closing that list is going away, so an answer arriving late is
        dropped rather than shown on a screen that is no longer there.
        """
        self.workers.cancel_node(self)
        return super().dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_move(self, step: int) -> None:
        options = self.options
        if options.option_count == 0:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(options.option_count - 1, current + step))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pick(self.options.highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.pick(event.option_index)

    def pick(self, index: int | None) -> None:
        raise NotImplementedError


class CannedPicker(_Picker):
    """Pick a canned reply by fuzzy filter; dismisses with the `CannedReply`."""

    TITLE_TEXT = N_("Canned replies")

    def __init__(self, replies: list[CannedReply], language: str = "") -> None:
        super().__init__()
        # The contact's language first, then the rest.
        self.replies = sorted(
            replies, key=lambda r: (r.language != language and bool(r.language), r.shortcut)
        )
        self.shown: list[CannedReply] = list(self.replies)

    def on_mount(self) -> None:
        self._fill(self.replies)

    def _fill(self, replies: list[CannedReply]) -> None:
        self.shown = replies
        self.options.clear_options()
        self.options.add_options(Option(canned_prompt(r), id=str(r.id)) for r in replies)
        if replies:
            self.options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        query = event.value.strip().lstrip("/")
        if not query:
            self._fill(self.replies)
            return
        choices = {r.id: f"{r.shortcut} {r.title} {r.body}" for r in self.replies}
        ranked = process.extract(query, choices, scorer=fuzz.WRatio, limit=50, score_cutoff=40)
        by_id = {r.id: r for r in self.replies}
        exact = [r for r in self.replies if r.shortcut.startswith(query)]
        rest = [by_id[key] for _, _, key in ranked if by_id[key] not in exact]
        self._fill(exact + rest)

    def pick(self, index: int | None) -> None:
        if index is not None and index < len(self.shown):
            self.dismiss(self.shown[index])


def hit_prompt(hit: SearchHit, query: str) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if hit.message_id is None:
        text.append(tr("contact") + " ", "bold magenta")
        name = Text(fit_name(hit.contact_name, 60), "bold")
        for start, end in highlight_spans(name.plain, query):
            name.stylize("reverse", start, end)
        text.append_text(name)
        return text
    if hit.note:
        text.append("✎ " + tr("note") + " ", "bold #d7af00")
    elif hit.kind is not None:
        text.append(channel_mark(hit.kind) + " ", CHANNEL_STYLE[hit.kind])
    text.append(fit_name(hit.contact_name, 30), "bold")
    if hit.sent_at is not None:
        text.append(f"  {clock_time(hit.sent_at)}", "dim")
    text.append("\n  ")
    snippet = Text(one_line(hit.snippet, 200))
    for start, end in highlight_spans(snippet.plain, query):
        snippet.stylize("bold reverse #ffaf00", start, end)
    text.append_text(snippet)
    return text


class SearchScreen(_Picker):
    """Search every message and contact; dismisses with the chosen `SearchHit`."""

    TITLE_TEXT = N_("Search messages and contacts")
    HINT = N_("words or Japanese (予約) · ↑↓ move · enter jump · esc cancel")

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.store = context.store
        self.hits: list[SearchHit] = []
        self.query_text = ""

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.run_search(event.value)

    @work(exclusive=True, group="search")
    async def run_search(self, query: str) -> None:
        await asyncio.sleep(0.12)  # let fast typing settle
        started = time.perf_counter()
        hits = await self.store.search(query, limit=50)
        elapsed = (time.perf_counter() - started) * 1000
        self.hits = hits
        self.options.clear_options()
        self.options.add_options(Option(hit_prompt(h, query)) for h in hits)
        if hits:
            self.options.highlighted = 0
        count = await self._count(query) if hits else tr("nothing found")
        self.query_one("#picker-hint", Static).update(
            tr("{count} in {ms} ms · ↑↓ move · enter jump · esc cancel").format(
                count=count, ms=f"{elapsed:.0f}"
            )
            if query.strip()
            else tr(self.HINT)
        )

    async def _count(self, query: str) -> str:
        """How many matched in all, not how many are listed: "12 customers, 3,456 messages"."""
        contacts, messages = await self.store.search_count(query, cap=SEARCH_COUNT_CAP)
        parts = []
        if contacts:
            parts.append(tr("{n} customers").format(n=f"{contacts:,}"))
        if messages:
            many = f"{SEARCH_COUNT_CAP:,}+" if messages > SEARCH_COUNT_CAP else f"{messages:,}"
            parts.append(tr("{n} messages").format(n=many))
        shown = len(self.hits)
        found = ", ".join(parts)
        if shown < contacts + messages:
            return tr("{found} (the newest {shown} listed)").format(found=found, shown=shown)
        return found

    def pick(self, index: int | None) -> None:
        if index is not None and index < len(self.hits):
            self.dismiss(self.hits[index])


SEARCH_COUNT_CAP = 10_000  # past this a count says "10,000+" rather than take long


class MergePicker(_Picker):
    """Pick the contact to merge into the current one; the merge preview follows."""

    HINT = N_("type to filter · enter pick · esc cancel")

    def __init__(self, context: ConsoleContext, current: ContactSummary) -> None:
        super().__init__()
        self.store = context.store
        self.current = current
        self.found: list[ContactSummary] = []
        self.TITLE_TEXT = tr("Merge another contact into {name}").format(
            name=fit_name(current.name, 40)
        )

    def on_mount(self) -> None:
        self.find("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.find(event.value)

    @work(exclusive=True, group="merge-find")
    async def find(self, query: str) -> None:
        if query.strip():
            await asyncio.sleep(0.1)
            hits = await self.store.search(query, limit=0)
            ids = [h.contact_id for h in hits if h.message_id is None]
            found = [s for s in [await self.store.contact_summary(i) for i in ids] if s]
        else:
            found = await self.store.list_contacts(limit=50)
        self.found = [c for c in found if c.id != self.current.id]
        self.options.clear_options()
        self.options.add_options(
            Option(
                Text(f"{''.join(channel_mark(k) for k in sorted(c.channels)):<3} ")
                + Text(fit_name(c.name, 60))
            )
            for c in self.found
        )
        if self.found:
            self.options.highlighted = 0

    def pick(self, index: int | None) -> None:
        if index is not None and index < len(self.found):
            self.dismiss(self.found[index].id)


def _tomorrow_at(hour: int, now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)


def _next_monday(now: datetime) -> datetime:
    days = (7 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


SNOOZE_CHOICES: list[tuple[str, Callable[[datetime], datetime]]] = [
    (N_("1 hour"), lambda now: now + timedelta(hours=1)),
    (N_("3 hours"), lambda now: now + timedelta(hours=3)),
    (N_("Tomorrow 9:00"), lambda now: _tomorrow_at(9, now)),
    (N_("Next Monday 9:00"), _next_monday),
]


class SnoozePicker(_Picker):
    """Until when to snooze; dismisses with a timestamp."""

    TITLE_TEXT = N_("Snooze until…")
    HINT = N_("↑↓ move · enter snooze · esc cancel")

    def compose(self) -> ComposeResult:
        now = datetime.now()
        with Vertical(classes="picker"):
            yield Static(tr(self.TITLE_TEXT), classes="title")
            yield OptionList(
                *(
                    Option(Text(f"{tr(label)}  ({when_at(at)})"))
                    for label, at in ((label, f(now)) for label, f in SNOOZE_CHOICES)
                ),
                id="picker-options",
            )
            yield Static(tr(self.HINT), classes="hint", id="picker-hint")

    def on_mount(self) -> None:
        self.options.highlighted = 0
        self.options.focus()

    def pick(self, index: int | None) -> None:
        if index is not None:
            self.dismiss(SNOOZE_CHOICES[index][1](datetime.now()).timestamp())
