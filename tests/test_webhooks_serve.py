"""`omnitui serve` killed (kill -9) while it sends a rush of events to the shop's CRM.

200 customers write twice on Telegram (the loopback Bot API) while `serve`
POSTs each `message.received` to a loopback CRM. `serve` is killed mid-way
and started again: the CRM has every event at least once, a repeat carries
the same id and the same bytes, and each customer's messages arrived in the
order they wrote them.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from aiohttp import web

from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.serve import ServeCommand
from tests.test_webhooks import SECRET, SECRET_ENV, Received, Receiver
from tests.waiting import wait_until

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
CUSTOMERS = 200
ROUNDS = 2
EVENTS = CUSTOMERS * ROUNDS
KILL_AFTER = EVENTS // 4  # serve is killed once the CRM has this many, more on their way
LONG = 180.0


def customer(n: int) -> Customer:
    return Customer(6_100_000 + n, f"Guest{n:03d}", language_code="en")


def question(n: int, round_: int) -> str:
    return f"Order {n:03d}, question {round_}: is my bouquet on its way?"


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def webhook_known(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        conn = read_only(db)
        try:
            return bool(conn.execute("SELECT count(*) FROM webhook WHERE active = 1").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:  # the store is still being made
        return False


def delivery_states(db: Path) -> dict[str, int]:
    conn = read_only(db)
    try:
        rows = conn.execute("SELECT state, count(*) FROM webhook_delivery GROUP BY state")
        return {str(state): int(n) for state, n in rows}
    finally:
        conn.close()


async def test_serve_killed_mid_delivery_sends_every_event_again_with_its_same_id_in_order(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    peer = telegram_peer
    crm = Receiver()

    killed = asyncio.Event()

    async def a_busy_crm(_: Received) -> web.StreamResponse:
        await asyncio.sleep(0.01)  # a CRM that takes a moment per event
        if len(crm.got) > KILL_AFTER:
            await killed.wait()  # these are on their way when serve is killed
        return web.Response(status=200)

    crm.answer = a_busy_crm
    await crm.start()
    shop = ServeCommand.with_channels(
        tmp_path,
        f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\napi_base = "{peer.url}"\n\n'
        f'[[webhook]]\nurl = "{crm.url}"\nevents = ["message.received"]\n'
        f'secret_env = "{SECRET_ENV}"\n',
        {TOKEN_ENV: TOKEN, SECRET_ENV: SECRET},
    )
    server = await shop.start()
    try:
        await wait_until(lambda: webhook_known(shop.db), LONG, "serve wrote its webhook")
        # What customers sent before the bot's first poll is history (no event):
        # they write once it polls.
        await wait_until(
            lambda: any(c.method == "getUpdates" for c in peer.calls), LONG, "the bot polling"
        )
        # The rush: every customer writes twice, their messages interleaved.
        people = [customer(n) for n in range(CUSTOMERS)]
        for round_ in range(ROUNDS):
            for n, person in enumerate(people):
                peer.text(person, question(n, round_))
        await wait_until(lambda: len(crm.got) > KILL_AFTER, LONG, "the first deliveries")
        server.kill()  # kill -9: no goodbye, whatever was on its way is cut off
        await server.wait()
        killed.set()
        first_run = len(crm.ids())
        assert KILL_AFTER <= first_run < EVENTS, "serve was not killed mid-delivery"

        server = await shop.start()

        async def all_delivered() -> bool:
            return delivery_states(shop.db) == {"delivered": EVENTS}

        try:
            await wait_until(all_delivered, LONG, "every event delivered")
        except AssertionError:
            said = shop.log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(
                f"not all delivered: {delivery_states(shop.db)}, the CRM has "
                f"{len(crm.ids())} events; serve said:\n{said}"
            ) from None
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        await crm.stop()

    # Every event at least once; a repeat has the same id and the very same bytes.
    bodies = {r.event_id: r.raw for r in crm.got}
    assert all(bodies[r.event_id] == r.raw for r in crm.got)
    by_message: dict[int, set[str]] = {}
    for r in crm.got:
        by_message.setdefault(int(r.body["message"]["id"]), set()).add(r.event_id)
    assert len(by_message) == EVENTS
    assert all(len(ids) == 1 for ids in by_message.values()), "an event changed its id"
    assert crm.refused == 0
    assert len(crm.got) > len(crm.ids()), "the events cut off by the kill were not sent again"
    # Each customer's messages arrived in the order they wrote them (by each id's first arrival).
    first = {r.event_id: r for r in reversed(crm.got)}
    texts: dict[str, list[str]] = {}
    for event_id in crm.ids():
        body = json.loads(first[event_id].raw)
        texts.setdefault(body["contact"]["name"], []).append(body["message"]["text"])
    assert texts == {
        f"Guest{n:03d}": [question(n, round_) for round_ in range(ROUNDS)] for n in range(CUSTOMERS)
    }
    logged = shop.log_file.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in logged
