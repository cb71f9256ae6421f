"""`V`: every view of the contact list with how many it holds."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.domain.views import VIEWS, View


class ViewPicker(ModalScreen[View | None]):
    DEFAULT_CSS = """
    ViewPicker { align: center middle; }
    ViewPicker > Vertical { width: 40; height: auto; max-height: 90%; border: round $accent; background: $panel; padding: 0 1; }
    ViewPicker OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="views.cancel")]

    def __init__(self, counts: dict[View, int], current: View) -> None:
        super().__init__()
        self.counts = counts
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Views", classes="title")
            yield OptionList(
                *(
                    Option(f"{view:<12}{self.counts.get(view, 0):>6}", id=str(view))
                    for view in VIEWS
                )
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = VIEWS.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(VIEWS[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
