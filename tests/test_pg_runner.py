"""One channel runner across machines, on a store in PostgreSQL.

A shop with two machines runs `omnitui serve` on both, each with its own
home and config, both with `[store] url` at one database. One runs the
channels; the other waits as its standby. When the runner dies (kill -9, in
the middle of a rush of customers), the standby takes over within seconds,
and every customer's message is stored exactly once and every rule fires
exactly once for it: none lost across the switch, none repeated.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from tests.peers.postgres import PASSWORD, PgCluster
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.waiting import wait_until

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
PASSWORD_ENV = "OMNITUI_TEST_STORE_PASSWORD"
CUSTOMERS = 60
PER_CUSTOMER = 5
RUSH = CUSTOMERS * PER_CUSTOMER
LONG = 120.0
TAKEOVER = 15.0  # seconds the standby may take to run the channels after the runner died

RULES = """
[[rule]]
name = "Bookings"
on = "message"
[rule.if]
text = ["予約", "booking"]
[rule.then]
tag = ["booking"]
"""


class Machine:
    """One of the shop's machines: its own home and config, the shared database."""

    def __init__(self, root: Path, name: str, url: str, api_base: str) -> None:
        self.home = root / name
        self.home.mkdir()
        self.config = self.home / "config.toml"
        self.config.write_text(
            f'[store]\nurl = "{url}"\npassword_env = "{PASSWORD_ENV}"\n\n'
            f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\n'
            f'api_base = "{api_base}"\n{RULES}',
            encoding="utf-8",
        )
        self.log = self.home / "serve.log"
        self.env = {
            **os.environ,
            TOKEN_ENV: TOKEN,
            PASSWORD_ENV: PASSWORD,
            "HOME": str(self.home),
        }
        self.env.pop("XDG_STATE_HOME", None)

    async def serve(self) -> asyncio.subprocess.Process:
        command = [sys.executable, "-m", "omnitui.cli", "--config", str(self.config), "serve"]
        with self.log.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                *command, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=log
            )

    def said(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    try:
        with psycopg.connect(url, password=PASSWORD) as conn:
            return list(conn.execute(sql).fetchall())
    except psycopg.errors.UndefinedTable:  # the first serve is still creating the tables
        return []


def customer(n: int) -> Customer:
    return Customer(6_100_000 + n, f"お客様{n:02d}", language_code="ja")


def question(n: int, round_: int) -> str:
    return (
        f"予約 {n:02d}-{round_}: 明日の午後は空いていますか?"
        if n % 3 == 0
        else f"質問 {n:02d}-{round_}"
    )


async def stop(server: asyncio.subprocess.Process) -> int:
    if server.returncode is None:
        server.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(server.wait(), LONG)


async def test_a_standby_serve_takes_over_after_kill_9_and_stores_every_message_once(
    tmp_path: Path, pg_cluster: PgCluster, telegram_peer: BotApiPeer
) -> None:
    url = pg_cluster.url(pg_cluster.new_database())
    shop_a = Machine(tmp_path, "a", url, telegram_peer.url)
    shop_b = Machine(tmp_path, "b", url, telegram_peer.url)

    def stored() -> int:
        found = rows(url, "SELECT count(*) FROM message WHERE direction = 'in'")
        return int(found[0][0]) if found else 0

    expected: dict[str, str] = {}
    runner = await shop_a.serve()
    standby: asyncio.subprocess.Process | None = None
    try:

        async def serving() -> bool:
            return "serving 1 channel(s)" in shop_a.said()

        await wait_until(serving, LONG, "the first serve running the channels")
        standby = await shop_b.serve()

        async def waiting() -> bool:
            return "standby" in shop_b.said()

        await wait_until(waiting, LONG, "the second serve waiting as a standby")
        assert "serving" not in shop_b.said()

        # The rush, once the bot runs (what was sent before is history: no rules).
        await asyncio.sleep(1.1)
        telegram_peer.page_size = 5  # it arrives page by page
        for round_ in range(PER_CUSTOMER):
            for n in range(CUSTOMERS):
                text = question(n, round_)
                update = telegram_peer.text(customer(n), text)
                expected[f"{customer(n).id}:{update['message']['message_id']}"] = text

        async def some_stored() -> bool:
            return stored() >= RUSH // 4

        await wait_until(some_stored, LONG, "part of the rush stored by the runner")
        runner.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await runner.wait()
        assert stored() < RUSH, "the runner was not killed in the middle of the rush"

        async def took_over() -> bool:
            return "runs the channels now" in shop_b.said()

        await wait_until(took_over, TAKEOVER, "the standby taking over")
        took = time.monotonic() - killed_at

        async def all_stored() -> bool:
            return stored() >= RUSH and not telegram_peer.updates

        await wait_until(all_stored, LONG, "the rest of the rush stored by the new runner")
        await asyncio.sleep(1.0)  # anything stored twice would show by now
    finally:
        if runner.returncode is None:
            runner.kill()
            await runner.wait()
        if standby is not None:
            assert await stop(standby) == 0

    messages = rows(url, "SELECT provider_id, text FROM message WHERE direction = 'in'")
    assert Counter(str(p) for p, _ in messages) == Counter(expected.keys())
    assert dict((str(p), str(t)) for p, t in messages) == expected
    # The rule fired once for each booking question, across the switch too.
    firings = rows(
        url,
        "SELECT m.provider_id, count(*) FROM rule_firing f JOIN message m ON m.id = f.message_id "
        "GROUP BY m.provider_id",
    )
    bookings = {p for p, text in expected.items() if text.startswith("予約")}
    assert {str(p): int(n) for p, n in firings} == dict.fromkeys(bookings, 1)
    assert took < TAKEOVER
    said = shop_b.said()
    assert "Traceback" not in said and "Traceback" not in shop_a.said()


async def test_a_second_serve_on_a_store_the_server_refuses_says_why_in_one_line(
    tmp_path: Path, pg_cluster: PgCluster
) -> None:
    url = pg_cluster.url(pg_cluster.new_database())
    shop = Machine(tmp_path, "a", url, "http://127.0.0.1:9")
    shop.env[PASSWORD_ENV] = "not-the-password"
    server = await shop.serve()
    assert await asyncio.wait_for(server.wait(), LONG) == 1
    said = shop.said()
    assert "password authentication failed" in said
    assert "not-the-password" not in said and "Traceback" not in said
