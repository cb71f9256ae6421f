"""`t`: a contact's tags, edited in one line from the inbox."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr
from omnitui.widgets.fields import Input
from omnitui.widgets.format import fit_name


def parse_tags(text: str) -> list[str]:
    """Comma separated (、 too), blanks dropped, each tag once, in the order typed."""
    parts = text.replace("、", ",").replace("，", ",").split(",")
    return list(dict.fromkeys(t.strip().lstrip("#").strip() for t in parts if t.strip("# ")))


class TagsScreen(ModalScreen[list[str] | None]):
    """Dismisses with the new tags, or None when cancelled."""

    DEFAULT_CSS = """
    TagsScreen { align: center middle; }
    TagsScreen > Vertical { width: 70%; max-width: 80; height: auto; border: round $accent; background: $panel; padding: 0 1; }
    TagsScreen .title { text-style: bold; }
    TagsScreen .hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="tags.cancel")]

    def __init__(self, name: str, tags: Sequence[str], known: Sequence[str]) -> None:
        super().__init__()
        self.contact_name = name
        self.tags = list(tags)
        self.known = list(known)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(tr("Tags · {name}").format(name=fit_name(self.contact_name, 40))),
                classes="title",
            )
            yield Input(", ".join(self.tags), id="tags-input", placeholder=tr("e.g. vip, wedding"))
            if self.known:
                known = Text(tr("In use: "))
                known.append(", ".join(one_line(t, 20) for t in self.known[:30]))
                yield Static(known, classes="hint")
            yield Static(tr("comma separated · enter save · esc cancel"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(parse_tags(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
