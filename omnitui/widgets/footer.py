"""The footer: Textual's key bar, with each key described in the console's language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter

# FooterKey is not exported by textual.widgets; textual is pinned, so its module is stable.
from textual.widgets._footer import FooterKey

from omnitui.i18n import tr


class Footer(TextualFooter):
    """Textual's footer; key descriptions are translated when the keys are drawn.

    Binding descriptions are English class attributes (one set for every
    console in the process), so they are translated here, where they are shown.
    """

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = tr(widget.description)
                if isinstance(widget.tooltip, str) and widget.tooltip:
                    widget.tooltip = tr(widget.tooltip)
            yield widget
