"""`N`: an internal note about a customer, written for the other agents."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr
from omnitui.widgets.fields import TextArea


class NoteScreen(ModalScreen[str | None]):
    """Dismisses with the note's text, or None when cancelled."""

    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical { width: 80%; max-width: 90; height: auto; border: round #d7af00; background: $panel; padding: 0 1; }
    NoteScreen .title { text-style: bold; color: #ffd75f; }
    NoteScreen .hint { color: $text-muted; height: auto; }
    NoteScreen TextArea { height: 6; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="note.save"),
        Binding("escape", "cancel", "Cancel", id="note.cancel"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.contact_name = name

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("✎ ")
            title.append(
                tr("Internal note about {name}").format(name=one_line(self.contact_name, 40))
            )
            yield Static(title, classes="title")
            yield Static(
                Text(tr("Every agent sees it; the customer never does. @name tells that agent.")),
                classes="hint",
            )
            yield TextArea(id="note-text", soft_wrap=True, show_line_numbers=False)
            yield Static(Text(tr("ctrl+s save · esc cancel")), classes="hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if not text.strip():
            self.notify(tr("The note is empty"), severity="warning")
            return
        self.dismiss(text.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
