"""Keys typed in a burst reach a text field in the order they were typed."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult

from omnitui.widgets.fields import Input, TextArea
from tests.waiting import wait_until


class Fields(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(id="line")
        yield TextArea(id="area")


def burst(app: App[None], keys: list[str]) -> None:
    """Keys arriving together, as a busy terminal hands them over: none waits
    for the one before it to be done."""
    for key in keys:
        character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character))


async def test_a_line_cleared_and_typed_at_once_holds_what_was_typed_after() -> None:
    app = Fields()
    async with app.run_test() as pilot:
        field = app.query_one("#line", Input)
        field.focus()
        await pilot.pause()
        burst(app, [*"ken@", "ctrl+u", *"manager@example.com"])
        await wait_until(lambda: field.value.endswith(".com"), pilot=pilot)
        assert field.value == "manager@example.com"


async def test_a_backspace_and_an_arrow_in_a_burst_act_where_they_were_typed() -> None:
    app = Fields()
    async with app.run_test() as pilot:
        area = app.query_one("#area", TextArea)
        area.focus()
        await pilot.pause()
        burst(app, [*"ax", "backspace", "c", "left", "b", "end", "!"])
        await wait_until(lambda: "!" in area.text, pilot=pilot)
        assert area.text == "abc!"
