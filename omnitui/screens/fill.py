"""Asked at insert time: values a canned reply needs that the profile lacks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Static

from omnitui.i18n import tr
from omnitui.widgets.fields import Input


@dataclass(frozen=True, slots=True)
class Filled:
    values: dict[str, str]
    remember: bool  # keep the values on the customer's profile for next time


class FillScreen(ModalScreen[Filled | None]):
    """One input per missing placeholder; enter on the last one inserts.

    A likely value (the given name in 山田 花子) is filled in for the agent to
    check; what is typed is kept on the customer's profile unless they untick it.
    """

    DEFAULT_CSS = """
    FillScreen { align: center middle; }
    FillScreen > Vertical { width: 70%; max-width: 80; height: auto; border: round $accent; background: $panel; padding: 0 1; }
    FillScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "skip", "Insert as is", id="fill.skip")]

    def __init__(
        self, names: tuple[str, ...], title: str, suggested: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self.names = names
        self.title_text = title
        self.suggested = dict(suggested or {})

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(tr("“{title}” needs:").format(title=self.title_text), classes="title")
            for name in self.names:
                field = Input(self.suggested.get(name, ""), placeholder=name, id=f"fill-{name}")
                field.border_title = name  # still named once a likely value is filled in
                yield field
            yield Checkbox(tr("Keep on the customer's profile"), value=True, id="fill-remember")
            yield Static(
                tr("enter: next / insert · esc: insert with the {gaps} (sending waits for them)"),
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = next(i for i, field in enumerate(inputs) if field is event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        values = {
            name: i.value.strip()
            for name, i in zip(self.names, inputs, strict=True)
            if i.value.strip()
        }
        self.dismiss(Filled(values, self.query_one("#fill-remember", Checkbox).value))

    def action_skip(self) -> None:
        self.dismiss(None)
