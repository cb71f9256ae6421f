"""`?`: every key of the inbox screen, by pane."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.i18n import tr


def binding_rows(
    sections: Sequence[tuple[str, Iterable[BindingType]]], keymap: Mapping[str, str]
) -> list[tuple[str, str, str, str]]:
    """(pane, keys, what, id) for each binding with a description; keymap
    overrides keys. The id is what `[keymap]` in config.toml names.

    Descriptions are translated here, where they are shown: bindings are class
    attributes, shared by every console in the process.
    """
    rows: list[tuple[str, str, str, str]] = []
    for pane, bindings in sections:
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            keys = keymap.get(binding.id or "", binding.key)
            rows.append((pane, _pretty(keys), tr(binding.description), binding.id or ""))
    return rows


def _pretty(keys: str) -> str:
    names = {"slash": "/", "question_mark": "?", "escape": "esc", "shift+tab": "shift+tab"}
    return " ".join(names.get(k, k) for k in keys.split(","))


WIDE_ENOUGH_FOR_IDS = 100  # columns


class HelpScreen(ModalScreen[None]):
    """A table of keys; any of esc, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80%; max-width: 90; height: 90%; border: round $accent; background: $panel; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, rows: list[tuple[str, str, str, str]], note: str = "") -> None:
        """`note` is a line under the table: what the channel marks mean."""
        super().__init__()
        self.rows = rows
        self.note = note

    def compose(self) -> ComposeResult:
        table = Table(title=tr("OmniTUI keys"), expand=True, show_edge=False, pad_edge=False)
        table.add_column(tr("where"), style="dim", no_wrap=True)
        table.add_column(tr("key"), style="bold #ffaf00", no_wrap=True)
        # Japanese has no spaces to wrap at: a long description folds by character.
        table.add_column(tr("does"), overflow="fold")
        # The [keymap] ids where there is room for them: at 80 columns they
        # would fold every description onto two lines.
        with_ids = self.app.size.width >= WIDE_ENOUGH_FOR_IDS
        if with_ids:
            table.add_column(Text(tr("[keymap] id")), style="dim", no_wrap=True)  # not markup
        for pane, keys, what, binding_id in self.rows:
            table.add_row(pane, keys, what, *([binding_id] if with_ids else []))
        with VerticalScroll():
            yield Static(table, id="help-table")
            if self.note:
                yield Static(Text(self.note), id="help-note")

    def action_close(self) -> None:
        self.dismiss(None)
