"""The inbox is a screen like any other: given a ConsoleContext, it runs in any
Textual app, and it follows the store's changes from a StoreChanged message."""

from __future__ import annotations

import time

from textual.app import App

from omnitui.context import ConsoleContext
from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.messages import StoreChanged, change_kinds
from omnitui.screens.inbox import InboxScreen
from omnitui.store import Store
from tests.waiting import wait_until

MAIL = Channel(ChannelKind.EMAIL, "shop@sakura.example")


class BareApp(App[None]):
    """A Textual app that knows nothing of OmniTUI but the inbox it shows."""

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context

    async def on_mount(self) -> None:
        await self.push_screen(InboxScreen(self.context))


async def test_the_inbox_runs_in_any_app_given_a_context(store: Store) -> None:
    await store.ingest(
        [Inbound(MAIL, "m1", "misaki@example.jp", "田中 美咲", "ご予約の件", time.time() - 60)]
    )
    app = BareApp(ConsoleContext.build(store, agent_name="Aiko", channels=[MAIL]))
    async with app.run_test(size=(120, 36)) as pilot:
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        await wait_until(lambda: len(inbox.contacts.contacts) == 1, what="one contact", pilot=pilot)
        got = await store.ingest(
            [Inbound(MAIL, "m2", "ken@example.jp", "Ken", "Is it ready?", time.time())]
        )
        # No app polls the store here: the message alone brings Ken in.
        inbox.post_message(StoreChanged(frozenset({got[0].contact_id}), change_kinds(["inbound"])))
        await wait_until(lambda: len(inbox.contacts.contacts) == 2, what="Ken listed", pilot=pilot)
        assert inbox.contacts.contacts[0].name == "Ken"


def test_a_kind_of_change_this_console_does_not_know_is_left_out() -> None:
    assert change_kinds(["inbound", "canned", "hologram"]) == {
        ChangeKind.INBOUND,
        ChangeKind.CANNED,
    }


def test_the_context_gives_the_agent_to_canned_replies_and_signs_email_only() -> None:
    context = ConsoleContext.build(
        object(),  # type: ignore[arg-type]  # no store is asked here
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        signatures={MAIL.account: "Sakura Flowers"},
        agent_signature="Aiko",
        own_addresses=["Shop@Sakura.example"],
    )
    assert context.shop_values == {"shop": "Sakura Flowers", "agent": "Aiko"}
    assert "Sakura Flowers" in context.signature_for(MAIL)
    assert context.signature_for(Channel(ChannelKind.SMS, "twilio")) == ""
    assert context.own_addresses == {"shop@sakura.example"}
