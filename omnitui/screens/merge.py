"""The merge preview: what moves, which values win, then `y` merges.

Opened by `m` once the other contact is picked. Identities and their
messages move into the contact the agent is on; for each field both contacts
fill differently, enter (or space) switches which value is kept. The value
that loses is kept as history on the merged contact, and `u` undoes it all.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.domain.merge import Conflict, MergePlan, field_label
from omnitui.domain.models import IDENTITY_FOR_CHANNEL, Contact
from omnitui.domain.safe_text import one_line
from omnitui.i18n import N_, tr
from omnitui.widgets.format import CHANNEL_STYLE, channel_mark, fit_name

LABEL_WIDTH = 12
CORE_LABELS = {"name": N_("Name"), "first_name": N_("First name"), "language": N_("Language")}
VALUE_WIDTH = 28


def _label(key: str) -> str:
    """A merge key as the agent reads it: Name, First name… or the profile field's own key."""
    return tr(CORE_LABELS[key]) if key in CORE_LABELS else field_label(key)


def _cells(value: str, width: int, style: str = "") -> Text:
    """`value` on one line in exactly `width` cells (Japanese takes two a character)."""
    text = Text(one_line(value, width))
    text.truncate(width - 1, overflow="ellipsis")
    text.stylize(style)
    text.append(" " * (width - text.cell_len))
    return text


class MergeScreen(ModalScreen[frozenset[str] | None]):
    """Dismisses with the fields where the other contact's value wins, or None."""

    DEFAULT_CSS = """
    MergeScreen { align: center middle; }
    MergeScreen > Vertical { width: 90%; max-width: 100; height: auto; max-height: 95%; border: round $accent; background: $panel; padding: 0 1; }
    MergeScreen .title { text-style: bold; height: auto; }
    MergeScreen .hint { color: $text-muted; height: auto; }
    MergeScreen #moves { height: auto; max-height: 8; }
    MergeScreen #conflicts { height: auto; max-height: 12; }
    """
    BINDINGS = [
        Binding("y", "confirm", "Merge", id="mergeplan.confirm"),
        Binding("space", "switch", "Switch the kept value", id="mergeplan.switch"),
        Binding("escape", "cancel", "Cancel", id="mergeplan.cancel"),
    ]

    def __init__(
        self,
        target: Contact,
        source: Contact,
        plan: MergePlan,
        message_counts: Mapping[int, int],
    ) -> None:
        super().__init__()
        self.target = target
        self.source = source
        self.plan = plan
        self.message_counts = dict(message_counts)
        self.conflicts: list[Conflict] = plan.conflicts()
        self.incoming_wins: set[str] = set()

    def compose(self) -> ComposeResult:
        title = Text(tr("Merge") + " ", "bold")
        title.append(fit_name(self.source.name, 40), "bold magenta")
        title.append(" → ")
        title.append(fit_name(self.target.name, 40), "bold cyan")
        with Vertical():
            yield Static(title, classes="title")
            yield Static(tr("What moves here (nothing is deleted):"), classes="hint")
            yield Static(self._moves(), id="moves")
            if self.conflicts:
                yield Static(
                    tr("Both have a value: enter or space switches which one is kept"),
                    classes="hint",
                )
                yield OptionList(*self._conflict_options(), id="conflicts")
            yield Static(self._kept_as_is(), classes="hint", id="kept")
            yield Static(
                tr("The other value is kept as history · y merge · esc cancel · u undoes"),
                classes="hint",
            )

    def _moves(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for n, identity in enumerate(self.source.identities):
            kind = next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is identity.kind)
            if n:
                text.append("\n")
            text.append(channel_mark(kind) + " ", CHANNEL_STYLE[kind])
            text.append(one_line(identity.address, 50))
            count = self.message_counts.get(identity.id, 0)
            words = tr("1 message") if count == 1 else tr("{n} messages").format(n=count)
            text.append("  " + words, "dim")
        return text

    def _conflict_options(self) -> list[Option]:
        options = []
        for conflict in self.conflicts:
            incoming_wins = conflict.key in self.incoming_wins
            row = Text(no_wrap=True, overflow="ellipsis")
            row.append_text(_cells(_label(conflict.key), LABEL_WIDTH))
            for value, wins in (
                (conflict.kept, not incoming_wins),
                (conflict.incoming, incoming_wins),
            ):
                row.append("● " if wins else "○ ", "bold green" if wins else "dim")
                row.append_text(_cells(value, VALUE_WIDTH + 2, "bold" if wins else "dim strike"))
            options.append(Option(row, id=conflict.key))
        return options

    def _kept_as_is(self) -> Text:
        text = Text()
        filled = self.plan.filled()
        if filled:
            text.append(tr("Taken from the other contact: "))
            text.append(", ".join(one_line(_label(k), 20) for k in filled))
            text.append("\n")
        tags = self.plan.tags()
        if tags:
            text.append(tr("Tags: "))
            text.append(", ".join(one_line(t, 20) for t in tags))
        return text

    def on_mount(self) -> None:
        if self.conflicts:
            options = self.query_one("#conflicts", OptionList)
            options.highlighted = 0
            options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._switch(event.option_index)

    def action_switch(self) -> None:
        if self.conflicts:
            self._switch(self.query_one("#conflicts", OptionList).highlighted)

    def _switch(self, index: int | None) -> None:
        if index is None or index >= len(self.conflicts):
            return
        key = self.conflicts[index].key
        self.incoming_wins ^= {key}
        options = self.query_one("#conflicts", OptionList)
        options.replace_option_prompt_at_index(index, self._conflict_options()[index].prompt)

    def action_confirm(self) -> None:
        self.dismiss(frozenset(self.incoming_wins))

    def action_cancel(self) -> None:
        self.dismiss(None)
