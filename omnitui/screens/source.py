"""`v` in a thread: the raw source of a message, as text.

A mail can be many megabytes (a video attached): the screen shows its head,
`SHOWN` bytes, at once, and `s` saves the whole source as a file instead of
drawing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.domain.safe_text import visible
from omnitui.i18n import tr
from omnitui.widgets.fields import TextArea

SHOWN = 256 * 1024  # bytes of a source shown; the rest is saved, not drawn


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
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="source.close"),
        Binding("s", "save", "Save as a file", id="source.save"),
    ]

    def __init__(
        self, raw: bytes, size: int | None = None, save: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """`raw` is the source or its head, of `size` bytes in all; `save` writes it whole."""
        super().__init__()
        self.raw = raw
        self.total = len(raw) if size is None else size
        self._save = save

    def compose(self) -> ComposeResult:
        if self.total > len(self.raw):
            hint = tr(
                "Raw source · {size:,} bytes, the first {shown:,} shown · s saves it whole · esc closes"
            ).format(size=self.total, shown=len(self.raw))
        else:
            hint = tr("Raw source · {size:,} bytes · esc closes").format(size=self.total)
        with Vertical():
            yield Static(hint, classes="hint", markup=False)
            yield TextArea(source_text(self.raw), read_only=True, soft_wrap=True, id="source")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    async def action_save(self) -> None:
        if self._save is not None:
            await self._save()

    def action_close(self) -> None:
        self.dismiss(None)
