"""Automation rules firing on real channels: the Bot API peer, the rules in the hub's process.

Each test runs a shop's config.toml rules in a Hub with the real Telegram
adapter (python-telegram-bot) against the loopback Bot API built from
Telegram's spec, and checks what the customer got and what the thread shows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from omnitui.adapters.telegram import TelegramAdapter
from omnitui.automation import Automation, AutomationSetup
from omnitui.config import parse
from omnitui.domain.models import Channel, ChannelKind, Direction, ThreadStatus
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.3, max_attempts=4)
MISAKI = Customer(4_300_001, "美咲", last_name="田中", username="misaki_t", language_code="ja")
EMMA = Customer(4_300_002, "Emma", username="emma_flowers", language_code="en")
KENTA = Customer(4_300_003, "健太", username="kenta", language_code="ja")

CLOSED_JA = "ただいま営業時間外です。明日10時よりご返信いたします。"
CLOSED_EN = "We are closed now; we will answer from 10:00 tomorrow."
MENU = "ご用件の番号をお送りください。\n1. 営業時間\n2. 返品\n3. 担当者と話す"
HOURS_ANSWER = "営業時間は10時から19時です。"

CANNED = [
    ("closed", "Closed", CLOSED_JA, "ja"),
    ("closed", "Closed", CLOSED_EN, ""),
    ("menu", "Menu", MENU, "ja"),
    ("hours", "Hours", HOURS_ANSWER, "ja"),
    ("hello", "Hello", "Hello {first_name}!", ""),
]

# The shop is always closed: no day has a period.
ALWAYS_CLOSED = '[hours]\ntimezone = "Asia/Tokyo"\n'


@pytest.fixture(autouse=True)
def bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


Shop = Callable[[str], Awaitable[tuple[Hub, Automation]]]


@pytest.fixture
async def shop(store: Store, telegram_peer: BotApiPeer) -> AsyncIterator[Shop]:
    """Start the shop's channel process with these rules (a config.toml's text)."""
    hubs: list[Hub] = []
    await store.add_canned_replies(CANNED)

    async def start(rules: str) -> tuple[Hub, Automation]:
        text = (
            f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\n'
            f'api_base = "{telegram_peer.url}"\n\n{rules}'
        )
        settings = parse(text, Path("config.toml"))
        adapter = TelegramAdapter(settings.telegram[0], poll_timeout=2)
        automation = Automation(store, AutomationSetup.from_settings(settings), {BOT.account: BOT})
        hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05, automation=automation)
        await hub.start()
        hubs.append(hub)
        # The bot's first poll is done: what customers write from now on is live.
        await wait_until(lambda: any(c.method == "getUpdates" for c in telegram_peer.calls))
        return hub, automation

    try:
        yield start
    finally:
        for hub in hubs:
            await hub.stop()


async def contact_of(store: Store, customer: Customer) -> int:
    name = " ".join(filter(None, [customer.first_name, customer.last_name]))

    async def known() -> bool:
        return any(c.name == name for c in await store.list_contacts())

    await wait_until(known, what=f"{name} stored")
    return next(c.id for c in await store.list_contacts() if c.name == name)


async def settled(store: Store, messages: int | None = None) -> None:
    """`messages` customer messages are stored (all there were when None), and
    every queued event has been through the rules."""

    async def done() -> bool:
        if messages is not None:
            rows = await store._rows("SELECT count(*) FROM message WHERE direction = 'in'")
            if rows[0][0] < messages:
                return False
        return not await store.pending_automation()

    await wait_until(done, what=f"{messages} messages stored and the rules run")


def sent_to(peer: BotApiPeer, customer: Customer) -> list[str]:
    return [s.text or "" for s in peer.sent if s.chat_id == customer.id]


async def automation_lines(store: Store, contact_id: int) -> list[dict[str, object]]:
    lines = [m for m in await store.thread_page(contact_id) if m.direction is Direction.AUTO]
    return [{"rule": m.author, **json.loads(m.text)} for m in lines]


async def test_after_hours_reply_in_japanese_once_per_window(
    store: Store, telegram_peer: BotApiPeer, shop: Shop
) -> None:
    await shop(
        ALWAYS_CLOSED
        + """
[[rule]]
name = "After hours"
on = "message"
once_per = "12h"
[rule.if]
hours = "closed"
[rule.then]
reply = "closed"
"""
    )
    telegram_peer.text(MISAKI, "明日予約できますか？")
    misaki = await contact_of(store, MISAKI)
    await wait_until(lambda: sent_to(telegram_peer, MISAKI), what="the after-hours reply")
    assert sent_to(telegram_peer, MISAKI) == [CLOSED_JA]

    telegram_peer.text(MISAKI, "もう一つ質問です")
    telegram_peer.text(EMMA, "Are you open today?")
    await wait_until(lambda: sent_to(telegram_peer, EMMA), what="Emma's reply")
    await settled(store, 3)
    assert sent_to(telegram_peer, EMMA) == [CLOSED_EN]  # her Telegram says English
    assert sent_to(telegram_peer, MISAKI) == [CLOSED_JA]  # once in the 12-hour window
    lines = await automation_lines(store, misaki)
    assert lines == [{"rule": "After hours", "reply": "closed"}]
    # The automatic reply does not answer for a person: she still waits, unread.
    summary = await store.contact_summary(misaki)
    assert summary is not None and summary.unread == 2
    assert summary.last_direction is Direction.IN


async def test_a_keyword_rule_tags_and_assigns_round_robin(
    store: Store, telegram_peer: BotApiPeer, shop: Shop
) -> None:
    await shop(
        """
[[rule]]
name = "Returns go to support"
on = "message"
[rule.if]
text = ["返品", "交換", "return"]
[rule.then]
tag = ["support"]
assign = ["Ken", "Yui"]
"""
    )
    telegram_peer.text(MISAKI, "ｻｲｽﾞ違いなので返品したいです")  # half-width kana around it
    telegram_peer.text(EMMA, "I would like to RETURN my order")
    telegram_peer.text(KENTA, "営業時間は？")
    misaki, emma, kenta = [await contact_of(store, c) for c in (MISAKI, EMMA, KENTA)]
    await settled(store, 3)
    first, second, other = [await store.get_contact(c) for c in (misaki, emma, kenta)]
    assert first.tags == ("support",) and second.tags == ("support",)
    assert {first.assignee, second.assignee} == {"Ken", "Yui"}  # one each, in turn
    assert other.tags == () and other.assignee is None
    telegram_peer.text(MISAKI, "交換でも大丈夫です")  # her next message keeps her agent
    await settled(store, 4)
    assert (await store.get_contact(misaki)).assignee == first.assignee
    line = {"rule": "Returns go to support", "tag": ["support"], "assign": first.assignee}
    assert await automation_lines(store, misaki) == [line, line]
    assert telegram_peer.sent == []  # the rule replies nothing


async def test_a_numbered_menu_answers_1_and_fullwidth_1(
    store: Store, telegram_peer: BotApiPeer, shop: Shop
) -> None:
    await shop(
        """
[[rule]]
name = "Menu"
on = "new_conversation"
[rule.then]
reply = "menu"

[[rule]]
name = "Menu 1"
on = "message"
[rule.if]
exact = ["1"]
[rule.then]
reply = "hours"
"""
    )
    telegram_peer.text(MISAKI, "こんにちは")
    await wait_until(lambda: sent_to(telegram_peer, MISAKI), what="the menu")
    assert sent_to(telegram_peer, MISAKI) == [MENU]
    telegram_peer.text(MISAKI, "１")  # full-width, as a Japanese keyboard types it
    await wait_until(lambda: len(sent_to(telegram_peer, MISAKI)) == 2, what="the answer to １")
    telegram_peer.text(MISAKI, " 1 ")
    await wait_until(lambda: len(sent_to(telegram_peer, MISAKI)) == 3, what="the answer to 1")
    assert sent_to(telegram_peer, MISAKI) == [MENU, HOURS_ANSWER, HOURS_ANSWER]
    telegram_peer.text(MISAKI, "12")  # not a menu answer
    await settled(store, 4)
    assert len(sent_to(telegram_peer, MISAKI)) == 3


async def test_a_handoff_word_stops_automatic_replies_until_resolved(
    store: Store, telegram_peer: BotApiPeer, shop: Shop
) -> None:
    await shop(
        ALWAYS_CLOSED
        + """
[automation]
max_auto_replies_per_day = 10

[[rule]]
name = "Hand-off"
on = "message"
[rule.if]
text = ["担当者", "人と話したい", "agent"]
[rule.then]
assign = "Ken"
notify = true
handoff = true
stop = true

[[rule]]
name = "After hours"
on = "message"
[rule.if]
hours = "closed"
[rule.then]
reply = "closed"
"""
    )
    before = await store.last_firing_id()
    telegram_peer.text(MISAKI, "担当者と話したいです")
    misaki = await contact_of(store, MISAKI)
    await settled(store, 1)
    contact = await store.get_contact(misaki)
    assert contact.assignee == "Ken"
    notices = await store.notices_after(before)
    assert [(n.rule, n.contact_name) for n in notices] == [("Hand-off", "美咲 田中")]
    telegram_peer.text(MISAKI, "まだですか？")
    await settled(store, 2)
    assert sent_to(telegram_peer, MISAKI) == []  # a person takes over: no bot reply
    lines = await automation_lines(store, misaki)
    assert lines[-1] == {"rule": "After hours", "reply": "closed", "reply_skipped": "handoff"}

    await store.set_status(misaki, ThreadStatus.RESOLVED)
    telegram_peer.text(MISAKI, "夜分にすみません")
    await wait_until(lambda: sent_to(telegram_peer, MISAKI), what="replies again after resolve")
    assert sent_to(telegram_peer, MISAKI) == [CLOSED_JA]


async def test_no_automatic_reply_while_an_agent_is_writing_or_past_the_daily_cap(
    store: Store, telegram_peer: BotApiPeer, shop: Shop
) -> None:
    await shop(
        """
[automation]
max_auto_replies_per_day = 2

[[rule]]
name = "Greeting"
on = "message"
[rule.then]
reply = "hello"
"""
    )
    telegram_peer.text(EMMA, "hi")
    emma = await contact_of(store, EMMA)
    await wait_until(lambda: sent_to(telegram_peer, EMMA), what="the first greeting")
    assert sent_to(telegram_peer, EMMA) == ["Hello Emma!"]
    await store.set_composing(emma, "Ken", True)
    telegram_peer.text(EMMA, "are you there?")
    await settled(store, 2)
    assert len(sent_to(telegram_peer, EMMA)) == 1  # Ken is answering her
    await store.set_composing(emma, "Ken", False)
    for text in ("one", "two", "three"):
        telegram_peer.text(EMMA, text)
    await wait_until(lambda: len(sent_to(telegram_peer, EMMA)) == 2, what="the second greeting")
    await settled(store, 5)
    assert len(sent_to(telegram_peer, EMMA)) == 2  # two a day, all rules together
    skipped = [line.get("reply_skipped") for line in await automation_lines(store, emma)]
    assert skipped == [None, "agent", None, "limit", "limit"]


async def test_no_reply_escalates_once_after_its_delay_and_again_after_an_answer(
    store: Store, telegram_peer: BotApiPeer, shop: Shop
) -> None:
    await shop(
        """
[[rule]]
name = "Nobody answered"
on = "no_reply"
after = "1s"
[rule.then]
notify = true
tag = ["late"]
"""
    )
    telegram_peer.text(EMMA, "hello?")
    emma = await contact_of(store, EMMA)

    async def fired() -> int:
        return len(await automation_lines(store, emma))

    await wait_until(fired, what="the no_reply rule")
    telegram_peer.text(EMMA, "anyone?")  # still unanswered: the clock already fired
    await settled(store, 2)
    assert await store.next_timer_due() is None  # fired; waits for an agent's answer
    assert await fired() == 1
    assert (await store.get_contact(emma)).tags == ("late",)

    await store.enqueue_reply(emma, BOT, "Sorry, here we are!", author="Ken")
    telegram_peer.text(EMMA, "thanks, one more question")
    await wait_until(lambda: _count(fired, 2), what="the clock after an agent's answer")
    assert await fired() == 2


async def _count(fired: Callable[[], Awaitable[int]], n: int) -> bool:
    return await fired() >= n
