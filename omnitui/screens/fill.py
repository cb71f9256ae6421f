"""Asked at insert time: values a canned reply needs that the profile lacks."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from omnitui.i18n import tr


class FillScreen(ModalScreen[dict[str, str] | None]):
    """One input per missing placeholder; enter on the last one inserts."""

    DEFAULT_CSS = """
    FillScreen { align: center middle; }
    FillScreen > Vertical { width: 70%; max-width: 80; height: auto; border: round $accent; background: $panel; padding: 0 1; }
    FillScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "skip", "Insert as is", id="fill.skip")]

    def __init__(self, names: tuple[str, ...], title: str) -> None:
        super().__init__()
        self.names = names
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(tr("“{title}” needs:").format(title=self.title_text), classes="title")
            for name in self.names:
                yield Input(placeholder=name, id=f"fill-{name}")
            yield Static(
                tr("enter: next / insert · esc: insert with the {gaps} (sending waits for them)"),
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        self.dismiss(
            {
                name: i.value.strip()
                for name, i in zip(self.names, inputs, strict=True)
                if i.value.strip()
            }
        )

    def action_skip(self) -> None:
        self.dismiss(None)
