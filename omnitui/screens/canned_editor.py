"""Writing a canned reply in the console: shortcut, language, title, text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from omnitui.domain.models import CannedReply
from omnitui.domain.templates import placeholders
from omnitui.i18n import tr
from omnitui.widgets.fields import Input, TextArea


class CannedEditor(ModalScreen[CannedReply | None]):
    """Dismisses with the edited reply (id 0 for a new one), or None."""

    DEFAULT_CSS = """
    CannedEditor { align: center middle; }
    CannedEditor > Vertical { width: 90%; max-width: 90; height: auto; max-height: 95%; border: round $accent; background: $panel; padding: 0 1; }
    CannedEditor Grid { grid-size: 2; grid-columns: 15 1fr; grid-rows: 3; height: auto; }
    CannedEditor Label { padding: 1 0 0 0; }
    CannedEditor TextArea { height: 8; }
    CannedEditor .hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="canned_editor.save"),
        Binding("escape", "cancel", "Cancel", id="canned_editor.cancel"),
    ]

    def __init__(self, reply: CannedReply | None) -> None:
        super().__init__()
        self.reply = reply or CannedReply(0, "", "", "", "")

    def compose(self) -> ComposeResult:
        r = self.reply
        with Vertical():
            yield Static(tr("Canned reply") if r.id else tr("New canned reply"), classes="title")
            with Grid():
                yield Label(tr("Shortcut"))
                yield Input(r.shortcut, id="shortcut", placeholder=tr("thanks  (typed as /thanks)"))
                yield Label(tr("Language"))
                yield Input(r.language, id="language", placeholder=tr("ja, en… or empty for any"))
                yield Label(tr("Title"))
                yield Input(r.title, id="title")
            yield TextArea(r.body, id="body")
            yield Static(
                Text(
                    tr("{first_name|fallback} {name} {agent} {shop} and any profile or [shop] key")
                    + " · "
                    + tr("ctrl+s save · esc cancel")
                ),
                classes="hint",
                id="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#shortcut", Input).focus()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        names = placeholders(event.text_area.text)
        hint = self.query_one("#hint", Static)
        hint.update(
            Text(tr("uses:") + " " + " ".join("{" + n + "}" for n in names))
            if names
            else tr("ctrl+s save · esc cancel")
        )

    def action_save(self) -> None:
        self.dismiss(
            CannedReply(
                self.reply.id,
                self.query_one("#shortcut", Input).value.strip().lstrip("/"),
                self.query_one("#title", Input).value.strip(),
                self.query_one("#body", TextArea).text,
                self.query_one("#language", Input).value.strip(),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
