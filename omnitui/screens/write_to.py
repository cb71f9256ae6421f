"""`w`: write to a customer first — one who never wrote, or a new address."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.widgets import Static
from textual.widgets.option_list import Option

from omnitui.context import ConsoleContext
from omnitui.domain.identity import NotAnAddress, TypedAddress, read_typed_address
from omnitui.domain.models import IDENTITY_FOR_CHANNEL, ChannelKind, ContactSummary
from omnitui.domain.safe_text import one_line
from omnitui.i18n import N_, tr
from omnitui.screens.pickers import _Picker
from omnitui.widgets.fields import Input
from omnitui.widgets.format import CHANNEL_STYLE, channel_mark, channel_name

Choice = int | TypedAddress  # a contact's id, or a new address to write to


def _kind_for(address: TypedAddress) -> ChannelKind:
    return next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is address.kind)


class WriteToScreen(_Picker):
    """Pick a customer by name or address, or type a new email address or
    phone number; dismisses with the contact's id or the `TypedAddress`."""

    TITLE_TEXT = N_("Write to…")
    HINT = N_("a name, an email address or a phone number · enter pick · esc cancel")

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.store = context.store
        self.phone_region = context.phone_region
        self.channels = list(context.channels)
        self.choices: list[Choice] = []

    def on_mount(self) -> None:
        self.query_one(Input).placeholder = tr("name, email or phone (090-1234-5678, +44…)")
        self.find("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.find(event.value)

    @work(exclusive=True, group="write-find")
    async def find(self, query: str) -> None:
        store = self.store
        text = query.strip()
        choices: list[Choice] = []
        prompts: list[Text] = []
        hint = tr(self.HINT)
        if not text:
            found = await store.list_contacts(limit=50)
        else:
            await asyncio.sleep(0.1)  # let fast typing settle
            typed = read_typed_address(text, self.phone_region)
            owner: int | None = None
            if isinstance(typed, TypedAddress):
                owner = await store.address_owner(typed.kind, typed.address)
                if owner is None:
                    choices.append(typed)
                    prompts.append(self._new_prompt(typed))
                    kind = _kind_for(typed)
                    if not any(c.kind is kind for c in self.channels):
                        hint = tr("No {channel} account is set up to write from").format(
                            channel=channel_name(kind)
                        )
            elif typed is NotAnAddress.TELEGRAM:
                hint = tr(
                    "A Telegram bot cannot write first: the customer has to send the shop's "
                    "bot a message, then you can answer them."
                )
            elif typed is NotAnAddress.NEEDS_COUNTRY:
                hint = tr(
                    "Type the number with its country code (+81 90…), "
                    "or set default_region in [[sms]]."
                )
            hits = await store.search(text, limit=0)
            ids = list(dict.fromkeys([*([owner] if owner else []), *(h.contact_id for h in hits)]))
            found = [s for s in [await store.contact_summary(i) for i in ids] if s is not None]
        for summary in found:
            choices.append(summary.id)
            prompts.append(_contact_prompt(summary))
        self.choices = choices
        self.options.clear_options()
        self.options.add_options(Option(p) for p in prompts)
        if choices:
            self.options.highlighted = 0
        self.query_one("#picker-hint", Static).update(Text(hint))

    def _new_prompt(self, typed: TypedAddress) -> Text:
        kind = _kind_for(typed)
        prompt = Text("+ " + tr("New customer") + "  ", "bold green")
        prompt.append(channel_mark(kind), CHANNEL_STYLE[kind])
        prompt.append(" " + one_line(typed.address, 60))
        if typed.name:
            prompt.append("  " + one_line(typed.name, 40), "dim")
        return prompt

    def pick(self, index: int | None) -> None:
        if index is not None and index < len(self.choices):
            self.dismiss(self.choices[index])


def _contact_prompt(summary: ContactSummary) -> Text:
    marks = "".join(channel_mark(k) for k in sorted(summary.channels))
    prompt = Text(f"{marks:<3} ")
    prompt.append(one_line(summary.name, 60))
    if not summary.channels:  # channels come from messages: none yet
        prompt.append("  " + tr("no messages yet"), "dim")
    return prompt
