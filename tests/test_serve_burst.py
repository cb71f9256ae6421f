"""`omnitui serve` stopped by the service manager in the middle of a rush of customers.

A shop restarts its server (systemd sends SIGTERM) while a backlog of
Telegram messages is coming in. Whatever had been stored stays stored, the
rest arrives when `serve` runs again, and no customer's message is lost or
shown twice.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.peers.telegram_api import BotApiPeer, Customer
from tests.serve import ServeCommand
from tests.waiting import wait_until

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
CUSTOMERS = 200
PER_CUSTOMER = 5
RUSH = CUSTOMERS * PER_CUSTOMER
PAGE = 10  # updates per getUpdates: the backlog takes many pages to arrive
STOP_AFTER = RUSH // 5  # serve is stopped once this many are stored, with more in flight
LONG = 180.0  # seconds: generous, a busy shop server can be slow


@pytest.fixture
def peer(telegram_peer: BotApiPeer) -> BotApiPeer:
    return telegram_peer


def customer(n: int) -> Customer:
    if n % 2:
        return Customer(5_300_000 + n, f"Customer{n:03d}", username=f"customer_{n:03d}")
    return Customer(5_300_000 + n, f"お客様{n:03d}", language_code="ja")


def question(n: int, round_: int) -> str:
    if n % 2:
        return f"Order {n:03d}-{round_}: can I pick up the bouquet tomorrow?"
    return f"注文 {n:03d}-{round_}: 明日花束を受け取れますか?"


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def stored_count(db: Path) -> int:
    """Customer messages in the store, read the way a second console would."""
    if not db.exists():
        return 0
    try:
        conn = read_only(db)
    except sqlite3.OperationalError:
        return 0
    try:
        row = conn.execute("SELECT count(*) FROM message WHERE direction = 'in'").fetchone()
        return int(row[0])
    except sqlite3.OperationalError:  # the store is still being created
        return 0
    finally:
        conn.close()


def stored_messages(db: Path) -> list[tuple[str, str]]:
    """(provider id, text) of every customer message in the store."""
    conn = read_only(db)
    try:
        rows = conn.execute(
            "SELECT provider_id, text FROM message WHERE direction = 'in'"
        ).fetchall()
    finally:
        conn.close()
    return [(str(provider_id), str(text)) for provider_id, text in rows]


def threads(db: Path) -> dict[str, tuple[str, int, int]]:
    """Telegram user id -> (contact name, messages in the thread, unread badge)."""
    conn = read_only(db)
    try:
        rows = conn.execute(
            "SELECT i.address, c.name, count(m.id), c.unread FROM contact c "
            "JOIN identity i ON i.contact_id = c.id "
            "LEFT JOIN message m ON m.contact_id = c.id AND m.direction = 'in' "
            "WHERE c.merged_into IS NULL GROUP BY c.id, i.id"
        ).fetchall()
    finally:
        conn.close()
    return {str(a): (str(name), int(count), int(unread)) for a, name, count, unread in rows}


async def wait_stored(db: Path, n: int) -> None:
    async def enough() -> bool:
        return stored_count(db) >= n

    await wait_until(enough, LONG)


async def test_restarting_serve_in_a_rush_of_customers_loses_none_and_shows_none_twice(
    tmp_path: Path, peer: BotApiPeer
) -> None:
    shop = ServeCommand(tmp_path, peer.url, TOKEN_ENV)
    db, log_file, serve = shop.db, shop.log_file, shop.start

    async def stopped_by_sigterm(server: asyncio.subprocess.Process) -> int:
        server.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(server.wait(), LONG)

    # A rush: every customer writes several times, their messages interleaved.
    people = [customer(n) for n in range(CUSTOMERS)]
    expected: dict[str, str] = {}  # provider id -> text
    for round_ in range(PER_CUSTOMER):
        for n, person in enumerate(people):
            text = question(n, round_)
            update = peer.text(person, text)
            expected[f"{person.id}:{update['message']['message_id']}"] = text
    assert len(expected) == RUSH and len(set(expected.values())) == RUSH
    peer.page_size = PAGE

    # 1. serve works through the backlog and is stopped part-way, a page in flight.
    server = await serve()
    try:
        await wait_stored(db, STOP_AFTER)
        in_flight = asyncio.Event()

        def stop_now(ids: list[int]) -> None:
            server.send_signal(signal.SIGTERM)
            in_flight.set()

        peer.on_served = stop_now  # SIGTERM the moment the next page goes out
        await asyncio.wait_for(in_flight.wait(), LONG)
        peer.on_served = None
        assert await asyncio.wait_for(server.wait(), LONG) == 0
    finally:
        peer.on_served = None
        if server.returncode is None:
            server.kill()
            await server.wait()
    first = stored_messages(db)
    assert STOP_AFTER <= len(first) < RUSH, "serve was not stopped in the middle of the rush"
    assert len({provider_id for provider_id, _ in first}) == len(first)

    # 2. serve again: the rest arrives, Telegram is told everything was taken.
    server = await serve()
    try:
        await wait_stored(db, RUSH)

        async def all_confirmed() -> bool:
            return not peer.updates

        await wait_until(all_confirmed, LONG)
    finally:
        assert await stopped_by_sigterm(server) == 0

    # Every message once: none lost, none twice, each in its customer's thread.
    stored = stored_messages(db)
    assert Counter(provider_id for provider_id, _ in stored) == Counter(expected.keys())
    assert Counter(text for _, text in stored) == Counter(expected.values())
    assert dict(stored) == expected
    want = {str(person.id): (person.first_name, PER_CUSTOMER, PER_CUSTOMER) for person in people}
    assert threads(db) == want
    logged = log_file.read_text(encoding="utf-8", errors="replace")
    assert logged.count("stopping") == 2
    assert "Traceback" not in logged and " ERROR " not in logged
