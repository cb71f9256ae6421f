"""Answering on LINE: the composer says what the reply will cost.

A reply within about a minute of the customer's message uses LINE's free reply
token; after that, or once something was sent, it is a push, counted against
the account's monthly quota. The composer says which, and how many pushes are
left, and turns from one to the other while the agent types. A customer who
blocked the shop's LINE account is said so, and nothing is sent to them.

The store is seeded through its own public API, as the LINE adapter fills it:
a LINE message with its reply token in the meta and LINE's event time as
`sent_at`, and the quota in the account's cursor.
"""

from __future__ import annotations

import contextvars
import json
from pathlib import Path

import pytest

from omnitui.app import OmniApp
from omnitui.domain.line import LINE_REPLY_WINDOW, QUOTA_CURSOR
from omnitui.domain.models import Channel, ChannelKind, Direction, IdentityKind, Inbound
from omnitui.i18n import use_language
from omnitui.store import Store, StoreError
from tests.conftest import StoreOpener
from tests.pilot_steps import open_customer
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

LINE = Channel(ChannelKind.LINE, "shop-line")
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
SAKI = "U" + "0123456789abcdef" * 2
START = 1_780_000_000.0  # the store's clock when each test begins


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def shop(open_store: StoreOpener, clock: Clock) -> Store:
    return await open_store("shop.db", clock=clock)


async def saki_writes(
    store: Store, event: str, at: float, text: str = "明日の予約できますか"
) -> int:
    """Saki writes on LINE; LINE says the event happened `at`."""
    got = await store.ingest(
        [Inbound(LINE, event, SAKI, "Saki", text, at, meta={"reply_token": f"rt-{event}"})]
    )
    return got[0].contact_id


async def line_says_quota(store: Store, quota: dict[str, object]) -> None:
    """The quota as the LINE adapter keeps it: a cursor of the account."""
    await store.ingest([], cursors={(LINE.account, QUOTA_CURSOR): json.dumps(quota)})


def console(store: Store, language: str = "en") -> OmniApp:
    return OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=[MAIL, LINE],
        poll_changes=0.05,
        language=language,
    )


def status_of(app: OmniApp) -> str:
    return str(app.screen.query_one("#composer-status").render())


async def _draft_text(store: Store, contact_id: int) -> str:
    draft = await store.draft(contact_id, "Aiko")
    return draft.text if draft is not None else ""


def toasts(app: OmniApp) -> list[str]:
    return [" ".join(n.message.split()) for n in app._notifications]


async def test_a_reply_is_free_then_turns_into_a_push_while_the_agent_types(
    shop: Store, clock: Clock
) -> None:
    saki = await saki_writes(shop, "ev1", clock.now - 5)
    await line_says_quota(shop, {"limit": 200, "used": 37, "at": clock.now - 60})
    app = console(shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_customer(pilot, saki)
        await pilot.press("r")
        await wait_until(lambda: "reply (free)" in status_of(app), pilot=pilot)
        assert "push" not in status_of(app)
        await pilot.press(*"Yes, ")
        # (The draft is kept first: nothing else in the store changes after it.)
        await wait_until(lambda: _draft_text(shop, saki), pilot=pilot)
        await pilot.pause(0.3)
        # LINE's reply token runs out while she types: the status says so by itself.
        clock.now += LINE_REPLY_WINDOW
        await wait_until(
            lambda: "push: 163 of 200 left this month" in status_of(app),
            limit=5,
            what="the status turned to a push",
            pilot=pilot,
        )
        assert "reply (free)" not in status_of(app)
        composer = app.inbox.composer
        assert composer.text == "Yes, " and composer.text_area.has_focus

        # She writes again: a new reply token, the reply is free again.
        await saki_writes(shop, "ev2", clock.now - 1, "17時は空いていますか")
        await wait_until(lambda: "reply (free)" in status_of(app), pilot=pilot)


async def test_after_one_reply_the_next_is_a_push(shop: Store, clock: Clock) -> None:
    saki = await saki_writes(shop, "ev1", clock.now - 3)
    await line_says_quota(shop, {"limit": 200, "used": 199, "at": clock.now})
    app = console(shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_customer(pilot, saki)
        await pilot.press("r")
        await wait_until(lambda: "reply (free)" in status_of(app), pilot=pilot)
        await pilot.press(*"Yes!", "ctrl+s")
        # The reply used her token: anything more is a push, the month's last.
        await wait_until(lambda: "push: 1 of 200 left this month" in status_of(app), pilot=pilot)
        sent = (await shop.thread_page(saki))[-1]
        assert (sent.kind, sent.direction, sent.text) == (ChannelKind.LINE, Direction.OUT, "Yes!")


@pytest.mark.parametrize(
    ("quota", "said"),
    [
        (None, "push (quota not known yet)"),
        (
            {"limit": 200, "used": 200, "at": START},
            "this month's 200 are used up, a push will fail",
        ),
        ({"limit": None, "used": 4100, "at": START}, "push (no monthly limit)"),
    ],
)
async def test_what_a_push_costs(
    shop: Store, clock: Clock, quota: dict[str, object] | None, said: str
) -> None:
    saki = await saki_writes(shop, "ev1", clock.now - 7200)  # two hours ago
    if quota is not None:
        await line_says_quota(shop, quota)
    app = console(shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_customer(pilot, saki)
        await wait_until(lambda: said in status_of(app), pilot=pilot)
        assert "reply (free)" not in status_of(app)


async def test_a_customer_who_blocked_the_line_account_gets_nothing(
    shop: Store, clock: Clock
) -> None:
    saki = await saki_writes(shop, "ev1", clock.now - 3)
    app = console(shop)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await open_customer(pilot, saki)
        await pilot.press("r", *"Thank you")
        await wait_until(lambda: "reply (free)" in status_of(app), pilot=pilot)
        # She blocks the shop (LINE's unfollow): the composer says so at once.
        await shop.set_opted_out(IdentityKind.LINE, SAKI, True)
        await wait_until(
            lambda: "blocked the LINE account: nothing can be sent" in status_of(app),
            pilot=pilot,
        )
        assert "reply (free)" not in status_of(app)
        await pilot.press("ctrl+s")
        await wait_until(
            lambda: any("blocked the shop's LINE account" in t for t in toasts(app)),
            pilot=pilot,
        )
        assert not any("STOP" in t for t in toasts(app))  # LINE's words, not SMS's
        assert app.inbox.composer.text == "Thank you"  # kept, not lost
    thread = await shop.thread_page(saki)
    assert [m.direction for m in thread] == [Direction.IN]
    # The store refuses it too, in words that read right in both languages.
    with pytest.raises(StoreError) as refused:
        await shop.enqueue_reply(saki, LINE, "Thank you", subject="", author="Aiko")
    assert str(refused.value) == "this customer blocked the shop's LINE account"

    def in_japanese() -> str:
        use_language("ja")
        return refused.value.message()

    assert contextvars.copy_context().run(in_japanese) == (
        "このお客様は LINE 公式アカウントをブロックしています"
    )


async def test_the_line_status_in_japanese(shop: Store, clock: Clock) -> None:
    saki = await saki_writes(shop, "ev1", clock.now - 5)
    await line_says_quota(shop, {"limit": 200, "used": 37, "at": clock.now})
    app = console(shop, "ja")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_customer(pilot, saki)
        await wait_until(lambda: "応答メッセージ (無料)" in status_of(app), pilot=pilot)
        clock.now += LINE_REPLY_WINDOW
        await wait_until(
            lambda: "プッシュ: 今月の残り 163/200 通" in status_of(app),
            limit=5,
            pilot=pilot,
        )
        await shop.set_opted_out(IdentityKind.LINE, SAKI, True)
        await wait_until(
            lambda: "LINE 公式アカウントがブロックされています" in status_of(app), pilot=pilot
        )


async def test_a_line_reply_with_a_file_is_refused_and_kept_for_another_channel(
    shop: Store, clock: Clock, tmp_path: Path
) -> None:
    contact_id = await saki_writes(shop, "e1", clock())
    photo = tmp_path / "bouquet.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg")
    app = console(shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_customer(pilot, contact_id)
        await pilot.press("r")
        await pilot.press(*"the bouquet")
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        await pilot.press(*str(photo), "enter")
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        await wait_until(
            lambda: any("LINE takes files only" in t for t in toasts(app)), pilot=pilot
        )
        assert len(await shop.thread_page(contact_id)) == 1  # nothing queued
        assert app.inbox.composer.text == "the bouquet"
