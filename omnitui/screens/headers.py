"""An email reply's Cc and Bcc, edited from the composer (`ctrl+l`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.domain.mail import parse_addresses
from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr
from omnitui.widgets.fields import Input

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 80%; max-width: 90; height: auto; border: round $accent; background: $panel; padding: 0 1; }}
{name} .title {{ text-style: bold; }}
{name} .label {{ color: $text-muted; margin-top: 1; }}
{name} .hint {{ color: $text-muted; height: auto; }}
{name} #refusal {{ color: $error; text-style: bold; height: auto; }}
"""


class RecipientsScreen(ModalScreen[tuple[list[str], list[str]] | None]):
    """Cc and Bcc of an email reply. Dismisses with both lists, checked, or None
    when cancelled; while one entry is not an address it says which and stays."""

    DEFAULT_CSS = _CSS.format(name="RecipientsScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="recipients.cancel")]

    def __init__(self, cc: list[str], bcc: list[str], customer: str) -> None:
        super().__init__()
        self.cc = cc
        self.bcc = bcc
        self.customer = customer

    def compose(self) -> ComposeResult:
        with Vertical():
            # The customer's name is their own text: never markup, never a format string.
            before, _, after = tr("Copies of the reply to {customer}").partition("{customer}")
            yield Static(Text.assemble(before, one_line(self.customer, 60), after), classes="title")
            yield Static("Cc", classes="label")
            yield Input(", ".join(self.cc), id="cc-input", placeholder="name@example.com, …")
            yield Static(tr("Bcc (not shown to the others)"), classes="label")
            yield Input(", ".join(self.bcc), id="bcc-input", placeholder="name@example.com, …")
            yield Static(id="refusal")
            yield Static(
                tr("comma separated · tab next field · enter keep · esc cancel"), classes="hint"
            )

    def on_mount(self) -> None:
        self.query_one("#cc-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        cc, bad_cc = parse_addresses(self.query_one("#cc-input", Input).value)
        bcc, bad_bcc = parse_addresses(self.query_one("#bcc-input", Input).value)
        refusal = self.query_one("#refusal", Static)
        if bad_cc or bad_bcc:
            shown = Text(tr("Not an email address:") + " ")
            shown.append(", ".join(one_line(b, 60) for b in [*bad_cc, *bad_bcc]))
            refusal.update(shown)
            self.query_one("#cc-input" if bad_cc else "#bcc-input", Input).focus()
            return
        self.dismiss((cc, bcc))

    def action_cancel(self) -> None:
        self.dismiss(None)
