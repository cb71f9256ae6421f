"""`S`: how the shop is doing: the period's figures, drawn in the terminal.

The same figures as `omnitui report` (`omnitui.domain.report`), for today, the
last 7 days or the last 30: the key figures; customer messages per day by
channel as bars; when customers write (weekday × hour, in shades); first
response and resolution medians per day; the CSAT answers; a table per agent.
Times are business time when the shop has `[hours]`. Everything is text
(Rich), so it reads the same at 80 columns and in Japanese; customer and
agent names are shown as plain text.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.context import ConsoleContext
from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import ChannelKind
from omnitui.domain.report import RATINGS, Figures, Report, Stat, build_report
from omnitui.domain.safe_text import visible
from omnitui.i18n import N_, tr
from omnitui.messages import StoreChanged
from omnitui.widgets.format import CHANNEL_ORDER, CHANNEL_STYLE, channel_mark, duration_words

DAY = 86_400.0
PERIODS = {"1": 1, "7": 7, "3": 30}  # key -> days
SHADES = " ░▒▓█"
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
REFRESH_AT_MOST = 2.0  # seconds between recounts while messages arrive
_LIVE = {ChangeKind.INBOUND, ChangeKind.OUTBOX, ChangeKind.STATUS, ChangeKind.ASSIGN}


def duration(seconds: float | None) -> str:
    """A duration for a person ("12 min", "3 h 05"); "–" for none."""
    return "–" if seconds is None else duration_words(seconds)


def _stat(stat: Stat) -> str:
    if stat.median is None:
        return "–"
    return tr("median {median} · p90 {p90}").format(
        median=duration(stat.median), p90=duration(stat.p90)
    )


def _csat(figures: Figures) -> str:
    csat = figures.csat
    if not csat.responses or csat.average is None:
        return "–"
    return tr("{average:.1f} ★ ({n} answers)").format(average=csat.average, n=csat.responses)


def key_figures(report: Report) -> Text:
    """The period's figures, a line each."""
    total = report.total
    longest = report.waiting[0].waiting_s if report.waiting else None
    rows = [
        (
            tr("Conversations"),
            tr("{n} (resolved {resolved}, unanswered {unanswered})").format(
                n=total.conversations, resolved=total.resolved, unanswered=total.unanswered
            ),
        ),
        (
            tr("Messages"),
            tr("in {n_in} · out {n_out} · automatic {auto}").format(
                n_in=total.messages_in, n_out=total.messages_out, auto=total.automatic_out
            ),
        ),
        (tr("First response"), _stat(total.first_response_s)),
        (tr("Resolution"), _stat(total.resolution_s)),
        (tr("Satisfaction"), _csat(total)),
        (
            tr("Waiting now"),
            tr("{n} (longest {longest})").format(n=len(report.waiting), longest=duration(longest))
            if report.waiting
            else "0",
        ),
    ]
    width = max(Text(label).cell_len for label, _ in rows) + 2
    text = Text()
    for label, value in rows:
        text.append(label, "bold")
        text.append(" " * (width - Text(label).cell_len))
        text.append(value + "\n")
    text.rstrip()
    return text


def _day_label(day: str) -> str:
    when = datetime.strptime(day, "%Y-%m-%d")
    return f"{day[5:]} {tr(WEEKDAYS[when.weekday()])}"


def _kind_name(text: str) -> bool:
    """Whether `text` is a channel kind's name (a plugin's, as the store keeps it)."""
    try:
        ChannelKind(text)
    except ValueError:
        return False
    return True


def volume_bars(report: Report, width: int) -> Text:
    """Customer messages per day, one bar each, in segments by channel."""
    text = Text()
    days = list(report.volume)[-31:]
    most = max((sum(report.volume[d].values()) for d in days), default=0)
    room = max(10, width - 20)
    # The built-in channels, then any plugin's channel that had messages.
    seen = {k for d in days for k in report.volume[d]} - {str(k) for k in CHANNEL_ORDER}
    plugins = [ChannelKind(k) for k in sorted(seen) if _kind_name(k)]
    kinds = (*CHANNEL_ORDER, *plugins)
    for day in days:
        counts = report.volume[day]
        total = sum(counts.values())
        text.append(_day_label(day) + " ", "dim")
        drawn = 0
        for kind in kinds:
            count = counts.get(str(kind), 0)
            cells = round(count / most * room) if most else 0
            if count and not cells:
                cells = 1
            text.append("█" * cells, CHANNEL_STYLE[kind].replace("bold ", ""))
            drawn += cells
        text.append(" " * max(0, room - drawn) + f" {total:>4}\n")
    legend = Text("  ")
    for kind in kinds:
        legend.append("█ ", CHANNEL_STYLE[kind].replace("bold ", ""))
        legend.append(channel_mark(kind) + "  ", "dim")
    text.append_text(legend)
    return text


def heat_map(report: Report) -> Text:
    """When customers write: a row per weekday, a column per hour, darker is more."""
    most = max((n for row in report.heatmap for n in row), default=0)
    text = Text("    ", "dim")
    for hour in range(0, 24, 3):
        text.append(f"{hour:<6}", "dim")
    text.append("\n")
    for weekday, row in enumerate(report.heatmap):
        label = tr(WEEKDAYS[weekday])
        text.append(label + " " * max(1, 4 - Text(label).cell_len), "dim")
        for count in row:
            level = 0 if not most or not count else 1 + round(count / most * (len(SHADES) - 2))
            text.append(SHADES[level] * 2, "#ffaf00")
        text.append("\n")
    text.append(tr("░ few … █ most customer messages in that hour"), "dim")
    return text


def times_per_day(report: Report) -> Table:
    """First response and resolution medians, day by day."""
    table = Table(expand=True, show_edge=False, pad_edge=False, box=None)
    table.add_column(tr("day"), no_wrap=True, style="dim")
    table.add_column(tr("conversations"), justify="right")
    table.add_column(tr("first response"), justify="right")
    table.add_column(tr("resolution"), justify="right")
    for day, figures in list(report.days.items())[-31:]:
        table.add_row(
            _day_label(day),
            str(figures.conversations),
            duration(figures.first_response_s.median),
            duration(figures.resolution_s.median),
        )
    return table


def csat_bars(report: Report, width: int) -> Text:
    """How many customers answered each rating."""
    counts = report.total.csat.counts
    most = max(counts.values(), default=0)
    room = max(10, width - 14)
    text = Text()
    for rating in reversed(RATINGS):
        count = counts.get(rating, 0)
        cells = round(count / most * room) if most else 0
        text.append(f"★ {rating} ", "bold #ffaf00")
        text.append("█" * cells, "#ffaf00")
        text.append(f" {count}\n")
    text.rstrip()
    return text


def agents_table(report: Report) -> Table:
    """One row per agent (and one for what nobody answered yet)."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column(tr("agent"), overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column(tr("conv."), justify="right", no_wrap=True)
    table.add_column(tr("replies"), justify="right", no_wrap=True)
    table.add_column(tr("first resp."), justify="right", no_wrap=True)
    table.add_column(tr("resolution"), justify="right", no_wrap=True)
    table.add_column("★", justify="right", no_wrap=True)
    for agent, figures in sorted(report.agents.items(), key=lambda a: (a[0] == "", a[0])):
        average = figures.csat.average
        table.add_row(
            Text(visible(agent)) if agent else Text(tr("nobody yet"), "dim italic"),
            str(figures.conversations),
            str(figures.messages_out),
            duration(figures.first_response_s.median),
            duration(figures.resolution_s.median),
            f"{average:.1f}" if average is not None else "–",
        )
    return table


def period_bounds(now: float, days: int, timezone: str) -> tuple[float, float]:
    """[start of the day `days - 1` days ago, now]: today, 7 or 30 days (shop's time zone)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    today = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today.timestamp() - (days - 1) * DAY
    return start, now


class ReportsScreen(ModalScreen[None]):
    """The shop's figures for a period; 1 / 7 / 3 pick today, 7 or 30 days."""

    DEFAULT_CSS = """
    ReportsScreen { align: center middle; }
    ReportsScreen > VerticalScroll { width: 96%; max-width: 120; height: 94%; border: round $accent; background: $panel; padding: 0 1; }
    ReportsScreen .title { text-style: bold; }
    ReportsScreen .heading { text-style: bold; color: $accent; margin-top: 1; }
    ReportsScreen #reports-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("1", "period('1')", "Today", id="reports.today"),
        Binding("7", "period('7')", "Last 7 days", id="reports.week"),
        Binding("3", "period('3')", "Last 30 days", id="reports.month"),
        Binding("escape", "close", "Close", id="reports.close"),
    ]

    def __init__(self, context: ConsoleContext, days: int = 7) -> None:
        super().__init__()
        self.context = context
        self.days = days
        self.report: Report | None = None
        self._counted = 0.0

    def compose(self) -> ComposeResult:
        headings = (
            ("key", N_("Key figures")),
            ("volume", N_("Customer messages per day")),
            ("heat", N_("When customers write")),
            ("times", N_("First response and resolution, median per day")),
            ("csat", N_("Satisfaction answers")),
            ("agents", N_("Agents")),
        )
        with VerticalScroll():
            yield Static(id="reports-title", classes="title")
            yield Static(
                Text(tr("1 today · 7 last 7 days · 3 last 30 days · esc close")),
                id="reports-hint",
            )
            for name, heading in headings:
                yield Static(Text(tr(heading)), classes="heading")
                yield Static(id=f"reports-{name}")

    async def on_mount(self) -> None:
        await self.count()

    async def count(self) -> None:
        """Read the period from the store and draw every part."""
        from omnitui.config import local_timezone

        store, hours = self.context.store, self.context.hours
        now = store.now()
        timezone = hours.timezone if hours else local_timezone()
        since, until = period_bounds(now, self.days, timezone)
        conversations = await store.conversations_between(since, until)
        counts = await store.message_hours(since, until)
        waiting = await store.waiting_now()
        self.report = report = build_report(
            conversations,
            counts,
            waiting,
            since=since,
            until=until,
            now=now,
            business=hours,
            timezone=timezone,
        )
        self._counted = time.monotonic()
        self._draw(report)

    def _draw(self, report: Report) -> None:
        width = max(40, self.size.width - 6)
        title = Text(tr("Reports"), "bold")
        period = {1: N_("today"), 7: N_("last 7 days"), 30: N_("last 30 days")}[self.days]
        title.append(f" · {tr(period)}")
        title.append(
            " · " + (tr("business hours") if report.business_hours else tr("wall-clock time")),
            "dim",
        )
        self.query_one("#reports-title", Static).update(title)
        self.query_one("#reports-key", Static).update(key_figures(report))
        self.query_one("#reports-volume", Static).update(volume_bars(report, width))
        self.query_one("#reports-heat", Static).update(heat_map(report))
        self.query_one("#reports-times", Static).update(times_per_day(report))
        self.query_one("#reports-csat", Static).update(csat_bars(report, width))
        self.query_one("#reports-agents", Static).update(agents_table(report))

    async def action_period(self, key: str) -> None:
        self.days = PERIODS[key]
        await self.count()

    async def on_store_changed(self, event: StoreChanged) -> None:
        if _LIVE & set(event.kinds) and time.monotonic() - self._counted > REFRESH_AT_MOST:
            await self.count()

    def action_close(self) -> None:
        self.dismiss(None)
