"""A reply belongs to one customer: drafts that stay with their customer.

Text typed for Emma must never go to Misaki: moving to another customer
keeps Emma's words as her draft (in the store, so a restart keeps them too,
with a ✎ in the list), and the composer shows only the draft of the customer
on screen.
"""

from __future__ import annotations

import pytest

from omnitui.store import Store
from omnitui.widgets.contact_list import contact_prompt
from tests.test_console import inbox, make_app, open_contact, shop
from tests.waiting import wait_for_value, wait_until

pytestmark = pytest.mark.backends


async def _count(store: Store, contact_id: int) -> int:
    return len(await store.thread_page(contact_id))


async def test_a_reply_stays_with_its_customer_when_the_agent_moves_on(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        screen = inbox(app)
        await pilot.press("r")
        await pilot.press(*"Thank you for your message, Emma!")
        await pilot.press("escape", "escape")  # composer -> thread -> list
        await wait_until(lambda: screen.focused is screen.contacts, pilot=pilot)
        await pilot.press("j")
        await wait_until(
            lambda: screen.contact is not None and screen.contact.id != ids["emma"], pilot=pilot
        )
        other = screen.contact
        assert other is not None
        await wait_until(
            lambda: screen.composer.owner == other.id and screen.composer.loaded, pilot=pilot
        )
        assert screen.composer.text == ""  # never Emma's words under someone else's thread
        await pilot.press("r", "ctrl+s")
        await pilot.pause(0.3)
        assert await _count(store, other.id) == 1  # nothing went to them
        assert await _count(store, ids["emma"]) == 1

        # Emma's row says a reply waits for her; back on Emma, it is there.
        await wait_for_value(lambda: _has_draft(store, ids["emma"]), True, pilot=pilot)
        await wait_until(lambda: any(c.draft for c in screen.contacts.contacts), pilot=pilot)
        emma = next(c for c in screen.contacts.contacts if c.id == ids["emma"])
        assert "✎" in contact_prompt(emma, 40).plain
        await pilot.press("escape", "escape")
        await wait_until(lambda: screen.focused is screen.contacts, pilot=pilot)
        await pilot.press("k")
        await wait_until(
            lambda: screen.composer.owner == ids["emma"] and screen.composer.loaded, pilot=pilot
        )
        assert screen.composer.text == "Thank you for your message, Emma!"
        await pilot.press("r", "ctrl+s")
        await wait_for_value(lambda: _count(store, ids["emma"]), 2, pilot=pilot)
        assert (await store.thread_page(ids["emma"]))[
            -1
        ].text == "Thank you for your message, Emma!"
        await wait_for_value(
            lambda: _has_draft(store, ids["emma"]), False, pilot=pilot
        )  # sent: no draft


async def _has_draft(store: Store, contact_id: int) -> bool:
    return await store.draft(contact_id, "Aiko") is not None


async def test_a_draft_survives_quitting_and_opening_the_console_again(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "田中 美咲")
        await pilot.press("r")
        await pilot.press(*"Your bouquet is ready")
        await pilot.press("escape", "q")  # at once: no pause for the draft to be kept
        await pilot.pause()
    assert (await store.draft(ids["misaki"], "Aiko")) is not None

    again = make_app(store)
    async with again.run_test(size=(120, 36)) as pilot:
        screen = inbox(again)
        await open_contact(pilot, "田中 美咲")
        await wait_until(
            lambda: screen.composer.owner == ids["misaki"] and screen.composer.loaded, pilot=pilot
        )
        assert screen.composer.text == "Your bouquet is ready"
        # Another agent on the same store does not get Aiko's draft.
    draft = await store.draft(ids["misaki"], "Ken")
    assert draft is None
