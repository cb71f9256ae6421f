"""`W`: who is waiting for an answer, longest first (the supervisor's view).

Every open conversation whose customer wrote last and has had no person's
answer since: how long they have waited, coloured and marked by the shop's
thresholds (`[reports] waiting_warn`, `waiting_alert`), their channel, who
the conversation is assigned to, and which agent is writing to them now. The
view follows the store: a reply, a new message, an assignment or an agent
starting to write, in this console or another, shows within the console's
change poll; the clocks move every few seconds. `enter` opens the customer
in the inbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from omnitui.context import ConsoleContext
from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import ChannelKind
from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr
from omnitui.messages import StoreChanged
from omnitui.store.records import WaitingCustomer
from omnitui.widgets.format import CHANNEL_STYLE, channel_mark, duration_words, fit_name

TICK = 5.0  # seconds between two redraws when nothing changed: the clocks move
NAME_MOST = 36  # cells for a name on a wide screen: the other columns stay near it
LIMIT = 300  # customers listed; more are counted as "300+"
# What can start or end a customer's wait, or change their row.
WATCHED = frozenset(
    {
        ChangeKind.INBOUND,
        ChangeKind.OUTBOX,
        ChangeKind.STATUS,
        ChangeKind.ASSIGN,
        ChangeKind.COMPOSING,
        ChangeKind.MERGE,
        ChangeKind.CONTACT,
        ChangeKind.AUTOMATION,
    }
)


class Level(IntEnum):
    """How long a customer has waited, against the shop's thresholds."""

    NORMAL = 0
    WARN = 1
    ALERT = 2


# A mark beside the colour, so that the level reads without colour too.
LEVEL_MARK = {Level.NORMAL: "  ", Level.WARN: "! ", Level.ALERT: "!!"}
LEVEL_STYLE = {Level.NORMAL: "", Level.WARN: "bold #ffaf00", Level.ALERT: "bold #ff5f5f"}
MARK_STYLE = {Level.NORMAL: "", Level.WARN: "bold #ffaf00", Level.ALERT: "bold #ffffff on #af0000"}


def level(waited: float, warn: float, alert: float) -> Level:
    """ALERT from `alert` seconds on, WARN from `warn` on, else NORMAL."""
    if waited >= alert:
        return Level.ALERT
    if waited >= warn:
        return Level.WARN
    return Level.NORMAL


def waited_text(seconds: float) -> str:
    """How long a customer has waited: "12 min", "2 h 05", "1 d 3 h" (Japanese
    12 分, 2 時間 05 分, 1 日 3 時間, as the reports screen says durations)."""
    return tr("{n} min").format(n=0) if seconds < 60 else duration_words(seconds)


def threshold_text(seconds: float) -> str:
    """A threshold as the count line says it: "30 min", "2 h", "1 h 30"."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return tr("{n} min").format(n=minutes)
    hours, minutes = divmod(minutes, 60)
    if minutes == 0:
        return tr("{h} h").format(h=hours)
    return tr("{h} h {m:02d}").format(h=hours, m=minutes)


def count_line(
    waiting: Sequence[WaitingCustomer], now: float, warn: float, alert: float, *, more: bool = False
) -> Text:
    """How many wait, and how many of them are over each threshold; it is also
    the legend of the marks: `7 waiting · ! 3 over 30 min · !! 1 over 2 h`."""
    if not waiting:
        return Text(tr("Nobody is waiting for an answer"), "bold")
    levels = [level(now - w.since, warn, alert) for w in waiting]
    over_warn = sum(1 for lv in levels if lv >= Level.WARN)
    over_alert = sum(1 for lv in levels if lv is Level.ALERT)
    total = f"{len(waiting)}+" if more else str(len(waiting))
    line = Text(tr("{n} waiting").format(n=total), "bold")
    for mark_level, count, after in (
        (Level.WARN, over_warn, warn),
        (Level.ALERT, over_alert, alert),
    ):
        line.append(" · ")
        line.append(LEVEL_MARK[mark_level].strip(), MARK_STYLE[mark_level])
        line.append(" ")
        shown = f"{count}+" if more and count == len(waiting) else str(count)
        said = tr("{n} over {time}").format(n=shown, time=threshold_text(after))
        line.append(said, LEVEL_STYLE[mark_level] if count else "dim")
    return line


@dataclass(frozen=True, slots=True)
class Columns:
    """Cells given to each column of a row, for a list this wide."""

    waited: int
    name: int
    assignee: int
    composing: int

    GAP = "  "

    @classmethod
    def fit(cls, rows: Sequence[tuple[str, str, str, str]], width: int) -> Columns:
        """Columns for rows of (waited, name, assignee, composing) texts in
        `width` cells: the names get what is left, up to the longest one."""
        waited = max([cell_len(tr("waiting")), *(cell_len(r[0]) for r in rows)])
        assignee = min(14, max([cell_len(tr("assigned to")), *(cell_len(r[2]) for r in rows)]))
        writing = [cell_len(r[3]) for r in rows if r[3]]
        composing = min(18, max([cell_len(tr("replying now")), *writing])) if writing else 0
        fixed = 2 + 1 + waited + 1 + 1 + 1 + len(cls.GAP) + assignee
        if composing:
            fixed += len(cls.GAP) + composing
        longest = max([cell_len(tr("customer")), *(cell_len(one_line(r[1], 200)) for r in rows)])
        return cls(waited, max(8, min(width - fixed, longest, NAME_MOST)), assignee, composing)


def _padded(text: Text, width: int, *, right: bool = False) -> Text:
    """`text` in exactly `width` cells (Japanese characters take two)."""
    text.truncate(width, overflow="ellipsis")
    room = width - text.cell_len
    if right:
        text.pad_left(room)
    else:
        text.pad_right(room)
    return text


def composing_text(agents: Sequence[str]) -> str:
    """`✎ Aiko` (or `✎ Aiko, Ken`) when agents are writing to the customer, else ""."""
    return "✎ " + ", ".join(one_line(a, 20) for a in agents) if agents else ""


def assignee_text(assignee: str | None) -> str:
    return one_line(assignee, 30) if assignee else tr("unassigned")


def header(columns: Columns) -> Text:
    """The columns' titles, over the rows."""
    line = Text(no_wrap=True, style="dim")
    line.append("   ")
    line.append_text(_padded(Text(tr("waiting")), columns.waited, right=True))
    line.append("   ")
    line.append_text(_padded(Text(tr("customer")), columns.name))
    line.append(columns.GAP)
    line.append_text(_padded(Text(tr("assigned to")), columns.assignee))
    if columns.composing:
        line.append(columns.GAP)
        line.append_text(_padded(Text(tr("replying now")), columns.composing))
    return line


def waiting_row(
    customer: WaitingCustomer, now: float, warn: float, alert: float, columns: Columns
) -> Text:
    """One customer: mark, waiting time, channel, name, assignee, who writes now.

    The name is the customer's own text: shown as text, never as markup."""
    waited = now - customer.since
    lv = level(waited, warn, alert)
    row = Text(no_wrap=True, overflow="ellipsis")
    row.append(LEVEL_MARK[lv], MARK_STYLE[lv])
    row.append(" ")
    row.append_text(_padded(Text(waited_text(waited), LEVEL_STYLE[lv]), columns.waited, right=True))
    row.append(" ")
    try:
        kind: ChannelKind | None = ChannelKind(customer.kind)
    except ValueError:
        kind = None
    row.append(channel_mark(kind) if kind else " ", CHANNEL_STYLE[kind] if kind else "")
    row.append(" ")
    row.append_text(_padded(Text(fit_name(customer.name, columns.name)), columns.name))
    row.append(columns.GAP)
    who = Text(fit_name(assignee_text(customer.assignee), columns.assignee))
    who.stylize("cyan" if customer.assignee else "dim italic")
    row.append_text(_padded(who, columns.assignee))
    if columns.composing:
        row.append(columns.GAP)
        writing = composing_text(customer.composing)
        row.append_text(_padded(Text(writing, "bold yellow"), columns.composing))
    return row


class WaitingRows(ScrollView, can_focus=True):
    """The waiting customers, one line each, drawn only where they are seen
    (a line-API view: hundreds of rows redraw in the time of a screenful).

    j/k and the arrows move the highlight, enter picks the customer."""

    BINDINGS = [
        Binding("j,down", "down", "Down", show=False, id="supervisor.down"),
        Binding("k,up", "up", "Up", show=False, id="supervisor.up"),
        Binding("home", "first", "First", show=False, id="supervisor.first"),
        Binding("end", "last", "Last", show=False, id="supervisor.last"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="supervisor.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="supervisor.page_up"),
        Binding("enter", "pick", "Open in the inbox", show=False, id="supervisor.open"),
    ]
    COMPONENT_CLASSES = {"waiting-rows--cursor"}
    DEFAULT_CSS = """
    WaitingRows > .waiting-rows--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    """

    class Picked(Message):
        """Enter on a customer."""

        def __init__(self, contact_id: int) -> None:
            super().__init__()
            self.contact_id = contact_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.waiting: list[WaitingCustomer] = []
        self.highlighted: int | None = None
        self._layout: tuple[float, float, float, Columns] | None = None  # now, warn, alert
        # Drawn rows by what they show: a reload redraws only the rows that changed.
        self._strips: dict[tuple[WaitingCustomer, str, Level, Columns], Strip] = {}

    @property
    def count(self) -> int:
        return len(self.waiting)

    @property
    def contact_ids(self) -> list[int]:
        return [w.contact_id for w in self.waiting]

    def show(
        self,
        waiting: list[WaitingCustomer],
        now: float,
        warn: float,
        alert: float,
        columns: Columns,
    ) -> None:
        """These customers from now on, keeping the highlighted one highlighted."""
        kept = self.current_contact_id
        at = self.highlighted
        self.waiting = waiting
        self._layout = (now, warn, alert, columns)
        if len(self._strips) > 4 * LIMIT:
            self._strips = {}
        ids = self.contact_ids
        if not ids:
            self.highlighted = None
        elif kept in ids:
            self.highlighted = ids.index(kept)
        else:
            self.highlighted = min(at or 0, len(ids) - 1)
        self.virtual_size = Size(self.size.width, len(ids))
        self._keep_in_view()
        self.refresh()

    @property
    def current_contact_id(self) -> int | None:
        at = self.highlighted
        return self.waiting[at].contact_id if at is not None and at < len(self.waiting) else None

    def row_text(self, index: int) -> Text:
        """The row of the customer at `index`, as text with its styles."""
        assert self._layout is not None
        now, warn, alert, columns = self._layout
        return waiting_row(self.waiting[index], now, warn, alert, columns)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self.waiting) or self._layout is None:
            return Strip.blank(width, self.rich_style)
        now, warn, alert, columns = self._layout
        customer = self.waiting[index]
        waited = now - customer.since
        key = (customer, waited_text(waited), level(waited, warn, alert), columns)
        strip = self._strips.get(key)
        if strip is None:
            text = self.row_text(index)
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            self._strips[key] = strip
        if index == self.highlighted:
            base = self.get_component_rich_style("waiting-rows--cursor")
        else:
            base = self.rich_style
        # Under the row's own colours: the panel, or the highlight across the line.
        return strip.apply_style(base).crop_extend(scroll_x, scroll_x + width, base)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.waiting))

    def _move_to(self, index: int) -> None:
        if not self.waiting:
            return
        before, top = self.highlighted, self.scroll_offset.y
        self.highlighted = max(0, min(index, len(self.waiting) - 1))
        self._keep_in_view()
        if before is None or self.scroll_offset.y != top:
            self.refresh()
            return
        self.refresh_line(before)  # only the two rows whose highlight moved
        self.refresh_line(self.highlighted)

    def _keep_in_view(self) -> None:
        if self.highlighted is None:
            return
        top, height = self.scroll_offset.y, max(1, self.size.height)
        if self.highlighted < top:
            self.scroll_to(y=self.highlighted, animate=False, immediate=True)
        elif self.highlighted >= top + height:
            self.scroll_to(y=self.highlighted - height + 1, animate=False, immediate=True)

    def action_down(self) -> None:
        self._move_to(0 if self.highlighted is None else self.highlighted + 1)

    def action_up(self) -> None:
        self._move_to(0 if self.highlighted is None else self.highlighted - 1)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self.waiting) - 1)

    def action_page(self, direction: int) -> None:
        step = max(1, self.size.height - 1) * direction
        self._move_to((self.highlighted or 0) + step)

    def action_pick(self) -> None:
        contact_id = self.current_contact_id
        if contact_id is not None:
            self.post_message(self.Picked(contact_id))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < len(self.waiting):
            if index == self.highlighted:
                self.action_pick()
            else:
                self._move_to(index)


class SupervisorScreen(ModalScreen[int | None]):
    """Who is waiting, live; dismissed with the customer to open, or None."""

    DEFAULT_CSS = """
    SupervisorScreen { align: center middle; }
    SupervisorScreen > Vertical { width: 94%; max-width: 120; height: 90%; border: round $accent; background: $panel; padding: 0 1; }
    SupervisorScreen #supervisor-title { text-style: bold; }
    SupervisorScreen #supervisor-columns { height: 1; }
    SupervisorScreen WaitingRows { height: 1fr; background: $panel; }
    SupervisorScreen #supervisor-hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [Binding("escape", "close", "Back", id="supervisor.close")]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.waiting: list[WaitingCustomer] = []
        self.more = False  # more customers wait than the list holds
        self._looking = False
        self._again = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(tr("Who is waiting")), id="supervisor-title")
            yield Static(id="supervisor-count")
            yield Static(id="supervisor-columns")
            yield WaitingRows(id="waiting")
            yield Static(
                Text(tr("enter open in the inbox · esc back")), id="supervisor-hint", markup=False
            )

    @property
    def rows(self) -> WaitingRows:
        return self.query_one(WaitingRows)

    async def on_mount(self) -> None:
        self.rows.focus()
        # The clocks move on the screen alone; the store is read on a change.
        self.set_interval(TICK, self.draw)
        self._looking = True
        await self._look()

    def look_again(self) -> None:
        """Ask the store again; a look already under way looks once more when done."""
        if self._looking:
            self._again = True
            return
        self._looking = True
        self.run_worker(self._look(), group="supervisor", exit_on_error=True)

    async def _look(self) -> None:
        try:
            while True:
                self._again = False
                found = await self.context.store.waiting_now(limit=LIMIT + 1)
                self.waiting, self.more = found[:LIMIT], len(found) > LIMIT
                self.draw()
                if not self._again:
                    return
        finally:
            self._looking = False

    def on_store_changed(self, event: StoreChanged) -> None:
        if event.kinds & WATCHED:
            self.look_again()

    def on_resize(self, event: events.Resize) -> None:
        self.draw()

    def _width(self) -> int:
        width = self.rows.scrollable_content_region.width
        if width <= 0:  # not laid out yet: the box's share of the screen
            width = min(120, int(self.app.size.width * 0.94)) - 4
        return max(30, width - 1)

    def draw(self) -> None:
        """Lay out the rows anew (the clocks too), keeping the highlighted customer."""
        if not self.is_mounted:
            return
        context, now = self.context, self.context.store.now()
        warn, alert = context.waiting_warn, context.waiting_alert
        self.query_one("#supervisor-count", Static).update(
            count_line(self.waiting, now, warn, alert, more=self.more)
        )
        texts = [
            (
                waited_text(now - w.since),
                w.name,
                assignee_text(w.assignee),
                composing_text(w.composing),
            )
            for w in self.waiting
        ]
        columns = Columns.fit(texts, self._width())
        self.query_one("#supervisor-columns", Static).update(
            header(columns) if self.waiting else Text()
        )
        self.rows.show(self.waiting, now, warn, alert, columns)

    def on_waiting_rows_picked(self, event: WaitingRows.Picked) -> None:
        event.stop()
        self.dismiss(event.contact_id)

    def action_close(self) -> None:
        self.dismiss(None)
