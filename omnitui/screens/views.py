"""`V`: every view of the contact list with how many it holds."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.domain.views import AnyView
from omnitui.i18n import tr
from omnitui.widgets.format import view_label


class ViewPicker(ModalScreen[AnyView | None]):
    DEFAULT_CSS = """
    ViewPicker { align: center middle; }
    ViewPicker > Vertical { width: 40; height: auto; max-height: 90%; border: round $accent; background: $panel; padding: 0 1; }
    ViewPicker OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="views.cancel")]

    def __init__(self, counts: dict[AnyView, int], current: AnyView) -> None:
        super().__init__()
        self.counts = counts
        self.current = current
        self.views: list[AnyView] = list(counts) if current in counts else [*counts, current]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(tr("Views"), classes="title")
            yield OptionList(*(self._option(view) for view in self.views))

    def _option(self, view: AnyView) -> Option:
        """The view's name, padded by cells (Japanese names are two cells a character)."""
        name = Text(view_label(view))
        name.pad_right(max(0, 12 - name.cell_len))
        return Option(name + Text(f"{self.counts.get(view, 0):>6}"), id=str(view))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.views.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.views[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
