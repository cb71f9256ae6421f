"""Steps an agent takes in the console, for tests that drive it with Textual's pilot."""

from __future__ import annotations

from textual.pilot import Pilot

from tests.waiting import wait_until


async def open_customer(pilot: Pilot[None], contact_id: int) -> None:
    """Down the contact list to the customer, enter: their thread and composer."""
    screen = pilot.app.inbox  # type: ignore[attr-defined]
    await wait_until(lambda: screen.contacts.contacts, pilot=pilot)
    screen.contacts.focus()
    await pilot.press("home")
    for _ in range(len(screen.contacts.contacts)):
        if screen.contacts.current_contact_id == contact_id:
            break
        await pilot.press("j")
    await pilot.press("enter")
    await wait_until(
        lambda: screen.composer.owner == contact_id and screen.composer.loaded,
        what="the composer is the customer's",
        pilot=pilot,
    )
