"""`Q`: the shop's QR codes, the same links and codes as `omnitui qr`.

The console asks no network service: a Telegram bot's username and a LINE
account's basic id are what the channels stored when they last connected
(the store's cursor table). A channel that has not connected yet says so.
Each code is drawn black on white with its quiet zone, so a phone reads it
from the screen whatever the terminal's colours.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.context import ConsoleContext
from omnitui.domain.qr import ChannelCode, terminal_code
from omnitui.i18n import tr
from omnitui.qr import channel_codes, channel_title, store_names

_CODE_STYLE = "#000000 on #ffffff"


def codes_text(codes: list[ChannelCode]) -> Group:
    """Each channel: its name, its link, and its code or why there is none."""
    parts: list[Text] = []
    for code in codes:
        parts.append(Text(channel_title(code), style="bold"))
        if code.link is None:
            parts.append(Text(f"{tr('no code')} — {code.why_not}", style="yellow"))
            parts.append(Text(""))
            continue
        parts.append(Text(code.link, style="underline"))
        parts.append(Text("\n".join(terminal_code(code.link)), style=_CODE_STYLE, no_wrap=True))
        parts.append(Text(""))
    if not codes:
        parts.append(
            Text(tr("No channels in the config: add [[email]], [[telegram]], [[sms]] or [[line]]."))
        )
    return Group(*parts)


class QrScreen(ModalScreen[None]):
    """Every channel's "start a chat" link and its QR code."""

    DEFAULT_CSS = """
    QrScreen { align: center middle; }
    QrScreen > VerticalScroll { width: 96%; max-width: 100; height: 94%; border: round $accent; background: $panel; padding: 0 1; }
    QrScreen #qr-title { text-style: bold; }
    QrScreen #qr-hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="qr.close")]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.codes: list[ChannelCode] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(tr("QR codes: customers scan one to start a chat")), id="qr-title")
            yield Static(
                Text(
                    tr(
                        "A poster to print: omnitui qr --source counter --png poster.png · esc close"
                    )
                ),
                id="qr-hint",
            )
            yield Static(id="qr-codes")

    async def on_mount(self) -> None:
        telegram, line = store_names(self.context.store)
        self.codes = await channel_codes(
            self.context.qr_channels,
            self.context.shop_values.get("shop", ""),
            None,
            telegram_username=telegram,
            line_basic_id=line,
        )
        self.query_one("#qr-codes", Static).update(codes_text(self.codes))

    def action_close(self) -> None:
        self.dismiss(None)
