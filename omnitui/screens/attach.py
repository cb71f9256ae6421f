"""ctrl+o in the composer: attach a file from disk to the reply."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.domain.models import OutboundFile
from omnitui.i18n import tr
from omnitui.widgets.fields import Input

# Telegram bots may send up to 50 MB, mail servers often refuse more than 25.
MAX_FILE = 20 * 1024 * 1024


def read_attachment(raw_path: str) -> OutboundFile:
    """The file at `raw_path` (~ allowed) as an attachment; ValueError says why not."""
    path = Path(raw_path.strip()).expanduser()
    if not path.is_file():
        raise ValueError(tr("no such file: {path}").format(path=path))
    size = path.stat().st_size
    if size > MAX_FILE:
        raise ValueError(
            tr("{name} is {size:.1f} MB; at most 20 MB can be sent").format(
                name=path.name, size=size / 1024 / 1024
            )
        )
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return OutboundFile(path.name, content_type, path.read_bytes())


class AttachScreen(ModalScreen[OutboundFile | Literal["clear"] | None]):
    DEFAULT_CSS = """
    AttachScreen { align: center middle; }
    AttachScreen > Vertical { width: 80%; max-width: 90; height: auto; border: round $accent; background: $panel; padding: 0 1; }
    AttachScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="attach.cancel")]

    def __init__(self, title: str = "", placeholder: str = "", hint: str = "") -> None:
        """The composer's words unless others are given (a broadcast's image)."""
        super().__init__()
        self.title_text = title or tr("Attach a file to the reply")
        self.placeholder = placeholder or tr("e.g. ~/Documents/invoice.pdf")
        self.hint = hint or tr(
            "enter attaches · an empty path removes the attachments · esc cancels"
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title")
            yield Input(placeholder=self.placeholder, id="attach-path")
            yield Static(self.hint, classes="hint", id="attach-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.dismiss("clear")
            return
        try:
            self.dismiss(read_attachment(event.value))
        except (ValueError, OSError) as exc:
            self.query_one("#attach-hint", Static).update(f"⚠ {exc}")

    def action_cancel(self) -> None:
        self.dismiss(None)
