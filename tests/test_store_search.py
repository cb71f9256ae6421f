"""Search finds the same messages on PostgreSQL as on SQLite, for the same shop.

A few hundred messages in Japanese and English (ご予約 and 予約, 返品, single
kanji, words typed half-way, accents, half-width katakana) are written to a
store on each backend in the same order; every query then finds the same
messages, newest first, and counts the same number on both.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.store import Store
from omnitui.store.postgres import PostgresStore
from tests.peers.postgres import PASSWORD, PgCluster

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
SMS = Channel(ChannelKind.SMS, "shop-sms")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")

PHRASES = (
    "ご予約ありがとうございます",
    "予約の変更をお願いします",
    "明日の予約を取り消したい",
    "予定が変わりました",
    "約束の時間に伺います",
    "返品したいです",
    "返品・交換について教えてください",
    "花束を注文しました",
    "母の日の花",
    "花",
    "配送はいつですか",
    "カーネーションの在庫はありますか",
    "ｶｰﾈｰｼｮﾝ",
    "ラッピングをお願いします",
    "東京都渋谷区神南一丁目",
    "東京から京都へ行きます",
    "営業時間を教えてください",
    "Can I book a bouquet for Sunday?",
    "The bouquets were lovely",
    "booking reference 1234",
    "Return policy please",
    "I returned the roses",
    "one rose, not a dozen",
    "Delivery to São Paulo?",
    "We deliver tomorrow",
    "Café au lait coloured ribbon",
    "crème brûlée cake with flowers",
    "Zoë asked about her résumé",
    "resume the subscription",
    "naïve question: are tulips toxic?",
    "Thanks!",
    "order #1234 was late",
    "100% silk ribbon_red",
)

NAMES = ("Hanako", "Ken Sato", "Émilie", "田中 美咲", "Yui", "Zoë", "Taro", "São")

QUERIES = (
    "予約",
    "ご予約",
    "予約の変更",
    "返品",
    "花",
    "予",
    "約",
    "花束",
    "カーネーション",
    "ｶｰﾈｰｼｮﾝ",
    "渋谷区",
    "東京都",  # 東京 and 京都 apart are not 東京都
    "bouq",
    "bouquet",
    "Bouquets",
    "book",
    "boo",
    "rose",
    "Return",
    "RETURNED",
    "cafe",
    "café",
    "creme",
    "brûlée",
    "zoe",
    "resume",
    "résumé",
    "sao paulo",
    "予約 book",
    "花束 deliv",
    "order 1234",
    "1234",
    "silk",
    "ribbon_red",
    "100%",
    "tulip",
    "nothing-like-this",
    # Customers by name or address.
    "HANAKO",
    "émilie",
    "Émilie",
    "田中",
    "guest3",
    "example.jp",
    "+8190",
)


def the_shop() -> list[Inbound]:
    """The same few hundred messages, every time."""
    pick = random.Random(19)
    out: list[Inbound] = []
    for n in range(320):
        name = pick.choice(NAMES)
        channel = (MAIL, SMS, BOT)[n % 3]
        who = NAMES.index(name)
        address = {MAIL: f"guest{who}@example.jp", SMS: f"+81901234560{who}", BOT: f"700{who}"}[
            channel
        ]
        text = pick.choice(("。", " ", "\n")).join(pick.sample(PHRASES, pick.randint(1, 3)))
        subject = pick.choice(PHRASES) if channel is MAIL and pick.random() < 0.5 else ""
        out.append(
            Inbound(channel, f"p{n}", address, name, text, 1_800_000_000 + n * 60, subject=subject)
        )
    return out


@pytest.fixture
async def both(tmp_path: Path, pg_cluster: PgCluster) -> AsyncIterator[tuple[Store, Store]]:
    sqlite = await Store.open(tmp_path / "shop.db")
    postgres = await PostgresStore.open_url(
        pg_cluster.url(pg_cluster.new_database()), password=PASSWORD
    )
    try:
        messages = the_shop()
        for start in range(0, len(messages), 40):  # as a channel hands them over
            for store in (sqlite, postgres):
                await store.ingest(messages[start : start + 40])
        yield sqlite, postgres
    finally:
        await sqlite.close()
        await postgres.close()


async def found(store: Store, query: str) -> tuple[list[int], list[int], tuple[int, int]]:
    hits = await store.search(query, limit=1000)
    contacts = [h.contact_id for h in hits if h.message_id is None]
    messages = [h.message_id for h in hits if h.message_id is not None]
    return contacts, messages, await store.search_count(query)


async def test_every_query_finds_the_same_messages_on_both_backends(
    both: tuple[Store, Store],
) -> None:
    sqlite, postgres = both
    differ: list[str] = []
    results: dict[str, list[int]] = {}
    for query in QUERIES:
        on_sqlite = await found(sqlite, query)
        on_postgres = await found(postgres, query)
        if on_sqlite != on_postgres:
            differ.append(f"{query!r}: SQLite {on_sqlite} / PostgreSQL {on_postgres}")
        results[query] = on_sqlite[1]
    assert not differ, "\n".join(differ)

    # What a user expects, so that "the same" is never "the same nothing".
    texts = {
        m.id: f"{m.subject}\n{m.text}".lower()
        for c in await sqlite.list_contacts(limit=100)
        for m in await sqlite.thread_page(c.id, limit=1000)
    }
    assert len(texts) == 320
    booked = [i for i in results["予約"] if "ご予約" in texts[i]]
    assert booked and set(results["ご予約"]) <= set(results["予約"])
    assert set(results["予約"]) == {i for i, t in texts.items() if "予約" in t}
    assert set(results["返品"]) == {i for i, t in texts.items() if "返品" in t}
    assert set(results["東京都"]) == {i for i, t in texts.items() if "東京都" in t} != set()
    assert set(results["花"]) >= {i for i, t in texts.items() if "花" in t}
    assert results["bouq"] and set(results["bouq"]) == set(results["bouquet"])
    assert set(results["cafe"]) == set(results["café"]) != set()
    assert results["nothing-like-this"] == []
    assert results["予約"] == sorted(results["予約"], reverse=True)  # newest first
    for name in ("HANAKO", "Émilie", "田中"):
        assert (await found(sqlite, name))[0], name
