"""`b`: the shop's automation rules, what each does, and how often it fired.

Each `[[rule]]` of config.toml in its order, with its event, its conditions
and actions in words, its hits in the last 7 days and when it last fired. A
rule that fired before but is no longer configured is listed, dimmed, after
them: its ⚙ lines are still in customers' threads. The screen counts again
whenever a rule fires, in this console's process or another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from omnitui.domain.rule_words import SEPARATOR, conditions, describe, event_words
from omnitui.domain.rules import Rule
from omnitui.domain.safe_text import visible
from omnitui.i18n import tr
from omnitui.messages import StoreChanged
from omnitui.store.records import RuleStat
from omnitui.widgets.format import clock_time, now

WEEK = 7 * 86_400.0


def fired_when(at: float | None, current: float | None = None) -> str:
    """When a rule last fired: "never", "today 10:42", "yesterday 18:05", else the date."""
    if at is None:
        return tr("never")
    stamp = datetime.fromtimestamp(at)
    today = datetime.fromtimestamp(now() if current is None else current).date()
    clock = f"{stamp.hour}:{stamp.minute:02d}"
    if stamp.date() == today:
        return tr("today {time}").format(time=clock)
    if (today - stamp.date()).days == 1:
        return tr("yesterday {time}").format(time=clock)
    return clock_time(at, current)


def rule_cell(number: int, rule: Rule) -> Text:
    """A rule in three lines: its name; its event and conditions; what it does."""
    cell = Text()
    cell.append(f"{number}. ", "dim")
    cell.append(visible(rule.name), "bold")
    when = [tr("on {event}").format(event=event_words(rule.on)), *conditions(rule)]
    cell.append("\n" + SEPARATOR.join(when), "cyan")
    cell.append("\n→ " + SEPARATOR.join(describe(rule.then)))
    return cell


def rules_table(
    rules: Sequence[Rule], stats: Mapping[str, RuleStat], current: float | None = None
) -> Table:
    """Every configured rule with its hits, then the rules that fired but are gone."""
    table = Table(expand=True, show_edge=False, pad_edge=False, show_lines=True)
    table.add_column(tr("rule"), overflow="fold", ratio=1)
    table.add_column(tr("7 days"), justify="right", no_wrap=True)
    table.add_column(tr("last fired"), no_wrap=True)
    for number, rule in enumerate(rules, 1):
        stat = stats.get(rule.name)
        hits = stat.hits if stat is not None else 0
        table.add_row(
            rule_cell(number, rule),
            Text(str(hits), "bold #ffaf00" if hits else "dim", justify="right"),
            Text(fired_when(stat.last_fired if stat else None, current)),
        )
    configured = {r.name for r in rules}
    gone = sorted(
        (s for s in stats.values() if s.rule not in configured),
        key=lambda s: -(s.last_fired or 0.0),
    )
    for stat in gone:
        cell = Text(visible(stat.rule), "bold")
        cell.append("\n" + tr("no longer in config.toml"), "italic")
        table.add_row(
            cell,
            Text(str(stat.hits), justify="right"),
            Text(fired_when(stat.last_fired, current)),
            style="dim",
        )
    return table


def no_rules_text() -> Text:
    """What the screen says to a shop without rules: where to read how to write one."""
    text = Text(tr("No automation rules yet."), "bold")
    text.append("\n\n")
    text.append(
        tr(
            "Rules live in config.toml as [[rule]] tables: a keyword that tags and assigns, "
            "an answer when the shop is closed, a numbered menu, a hand-off to a person. "
            'The README\'s "Automation rules" section shows the first six a shop needs; '
            "`omnitui rules test TEXT` tries them without changing anything."
        )
    )
    return text


class RulesScreen(ModalScreen[None]):
    """The automation rules and their hits; esc closes it."""

    DEFAULT_CSS = """
    RulesScreen { align: center middle; }
    RulesScreen > VerticalScroll { width: 90%; max-width: 110; height: 90%; border: round $accent; background: $panel; padding: 0 1; }
    RulesScreen #rules-title { text-style: bold; margin-bottom: 1; }
    RulesScreen #rules-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="rules.close")]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.stats: dict[str, RuleStat] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(tr("Automation rules")), id="rules-title")
            yield Static(id="rules-table")
            yield Static(id="rules-hint")

    async def on_mount(self) -> None:
        await self.count()

    async def count(self) -> None:
        """Ask the store for each rule's hits and draw the table."""
        store = self.context.store
        self.stats = await store.rule_stats(store.now() - WEEK)
        table = self.query_one("#rules-table", Static)
        hint = self.query_one("#rules-hint", Static)
        if not self.context.rules and not self.stats:
            table.update(no_rules_text())
            hint.update(Text(tr("esc close")))
            return
        table.update(rules_table(self.context.rules, self.stats, store.now()))
        hint.update(Text(tr("hits in the last 7 days · esc close")))

    async def on_store_changed(self, event: StoreChanged) -> None:
        if ChangeKind.AUTOMATION in event.kinds:
            await self.count()

    def action_close(self) -> None:
        self.dismiss(None)
