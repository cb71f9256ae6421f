"""Conversations and hourly counts, kept by the store as a shop's day goes on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
from omnitui.store import Store
from omnitui.store.migrate import upgrade
from omnitui.store.records import AutomationPlan, PlannedFiring, PlannedReply
from tests.conftest import StoreOpener

pytestmark = pytest.mark.backends

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
DAY = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class Clock:
    def __init__(self) -> None:
        self.now = DAY

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def shop(open_store: StoreOpener, clock: Clock) -> Store:
    return await open_store("shop.db", clock=clock)


def mail(n: int, sender: str, at: float) -> Inbound:
    return Inbound(MAIL, f"m{n}", sender, sender.split("@")[0].title(), f"question {n}", at)


async def test_a_day_of_conversations_is_counted_as_it_happens(shop: Store, clock: Clock) -> None:
    # 08:00 Hanako writes; a rule answers at once; Ken answers at 08:20; resolved 09:00.
    clock.now = DAY
    hanako = (await shop.ingest([mail(1, "hanako@example.jp", DAY)]))[0].contact_id
    plan = AutomationPlan(
        event="message",
        contact_id=hanako,
        firings=(PlannedFiring("After hours", {"reply": "closed"}, reply=0),),
        replies=(PlannedReply("After hours", MAIL, "We are closed", "Re: question 1"),),
    )
    await shop.apply_automation(plan)
    await shop.set_assignee(hanako, "Ken")
    clock.now = DAY + 600
    await shop.ingest([mail(2, "hanako@example.jp", DAY + 600)])  # same conversation
    clock.now = DAY + 1200
    await shop.enqueue_reply(hanako, MAIL, "Here you are", author="Ken")
    clock.now = DAY + 1300
    await shop.enqueue_reply(hanako, MAIL, "And one more thing", author="Ken")
    clock.now = DAY + 3600
    await shop.set_status(hanako, ThreadStatus.RESOLVED)
    # 10:00 she writes again: a new conversation, still open; Aiko's reply is withdrawn.
    clock.now = DAY + 7200
    await shop.ingest([mail(3, "hanako@example.jp", DAY + 7200)])
    clock.now = DAY + 7260
    undone = await shop.enqueue_reply(hanako, MAIL, "oops", author="Aiko", hold=5)
    assert await shop.withdraw_reply(undone) is not None
    # 10:30 Taro writes and nobody answers.
    clock.now = DAY + 9000
    taro = (await shop.ingest([mail(4, "taro@example.jp", DAY + 9000)]))[0].contact_id

    found = await shop.conversations_between(DAY, DAY + 86_400)
    assert [(c.contact_id, c.started_at, c.resolved_at) for c in found] == [
        (hanako, DAY, DAY + 3600),
        (hanako, DAY + 7200, None),
        (taro, DAY + 9000, None),
    ]
    first, second, third = found
    assert (first.first_response_at, first.first_response_by) == (DAY + 1200, "Ken")
    assert (first.messages_in, first.messages_out, first.automatic_out) == (2, 2, 1)
    assert first.assignee == "Ken" and first.kind == "email"
    assert second.first_response_at is None and second.messages_out == 0  # withdrawn
    assert third.first_response_at is None and third.assignee is None
    assert await shop.conversations_between(DAY + 3600, DAY + 3601) == [first]  # resolved then

    hours = {
        (h.hour, h.direction, h.agent): h.count for h in await shop.message_hours(DAY, DAY + 86_400)
    }
    hour = int(DAY // 3600)
    assert hours == {
        (hour, "in", ""): 2,
        (hour, "auto", ""): 1,
        (hour, "out", "Ken"): 2,
        (hour + 2, "in", ""): 2,
    }

    clock.now = DAY + 10_000
    await shop.set_composing(taro, "Aiko", True)
    waiting = await shop.waiting_now()
    assert [(w.contact_id, w.since, w.composing) for w in waiting] == [
        (hanako, DAY + 7200, ()),
        (taro, DAY + 9000, ("Aiko",)),
    ]


async def test_an_old_store_gets_its_conversations_from_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade(path, "0008")
    conn = sqlite3.connect(path)
    conn.executescript(
        "INSERT INTO contact(id, name, first_name, language, profile, status, tags, unread, "
        "last_activity, last_preview, channels, created_at, handoff) VALUES "
        "(1, 'Hanako', '', '', '{}', 'resolved', '[]', 0, 5000, '', 'email', 0, 0), "
        "(2, 'Taro', '', '', '{}', 'open', '[]', 1, 9000, '', 'telegram', 0, 0);"
        "INSERT INTO message(contact_id, account, kind, direction, subject, text, meta, sent_at, "
        "created_at, status, status_reason, author, attempts, edited, parse_error) VALUES "
        "(1, 'shop-mail', 'email', 'in', '', 'a', '{}', 1000, 1000, 'received', '', NULL, 0, 0, ''), "
        "(1, 'shop-mail', 'email', 'out', '', 'b', '{\"automatic\": true}', 1001, 1001, 'sent', '', "
        "'⚙ After hours', 1, 0, ''), "
        "(1, 'shop-mail', 'email', 'out', '', 'c', '{}', 4000, 4000, 'sent', '', 'Ken', 1, 0, ''), "
        "(2, 'shop-bot', 'telegram', 'in', '', 'd', '{}', 9000, 9000, 'received', '', NULL, 0, 0, '');"
    )
    conn.commit()
    conn.close()
    store = await Store.open(path)
    try:
        found = await store.conversations_between(0, 10_000)
        hours = await store.message_hours(0, 10_000)
    finally:
        await store.close()
    assert [
        (c.contact_id, c.started_at, c.first_response_at, c.first_response_by, c.resolved_at)
        for c in found
    ] == [(1, 1000, 4000, "Ken", 5000), (2, 9000, None, None, None)]
    assert sorted((h.hour, h.kind, h.direction, h.agent, h.count) for h in hours) == [
        (0, "email", "auto", "", 1),
        (0, "email", "in", "", 1),
        (1, "email", "out", "Ken", 1),
        (2, "telegram", "in", "", 1),
    ]


async def test_a_customer_answered_in_the_same_second_still_waits_from_their_last_message(
    shop: Store, clock: Clock
) -> None:
    # Replies kept from elsewhere (a Sent folder) can carry the message's own second.
    from omnitui.store.records import RecordedOutbound

    clock.now = DAY - 60
    aiko = (await shop.ingest([mail(1, "aiko@example.jp", DAY - 60)]))[0].contact_id
    await shop.record_outbound(
        [RecordedOutbound(MAIL, "aiko@example.jp", "thanks", DAY, "sent-1", author="Ken")]
    )
    await shop.ingest([mail(2, "aiko@example.jp", DAY)])  # the same second as the reply
    clock.now = DAY + 120
    taro = (await shop.ingest([mail(3, "taro@example.jp", DAY + 120)]))[0].contact_id
    clock.now = DAY + 600
    assert [(w.contact_id, w.since) for w in await shop.waiting_now()] == [
        (aiko, DAY),
        (taro, DAY + 120),
    ]
