"""`v` in a thread: the raw source of a message, as text."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from omnitui.domain.safe_text import visible
from omnitui.i18n import tr


def source_text(raw: bytes) -> str:
    """Raw bytes as text for reading: UTF-8 where it is, bytes shown as-is elsewhere."""
    text = raw.decode("utf-8", errors="backslashreplace")
    return visible(text)


class SourceScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    SourceScreen { align: center middle; }
    SourceScreen > Vertical { width: 95%; height: 95%; border: round $accent; background: $panel; }
    SourceScreen TextArea { height: 1fr; }
    SourceScreen .hint { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="source.close")]

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                tr("Raw source · {size:,} bytes · esc closes").format(size=len(self.raw)),
                classes="hint",
            )
            yield TextArea(source_text(self.raw), read_only=True, soft_wrap=True, id="source")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_close(self) -> None:
        self.dismiss(None)
