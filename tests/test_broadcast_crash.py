"""A broadcast sent exactly once through `omnitui serve`, across a kill -9 and at its time.

`omnitui serve` and `omnitui broadcast` run as a shop runs them (subprocesses)
against the loopback Telegram Bot API; what counts is what the peer received.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from omnitui.broadcast_commands import BroadcastUsage, parse_at
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.store import Store
from tests.peers.telegram_api import TOKEN, BotApiPeer, Hold
from tests.peers.twilio_api import wait_until

BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
SALE = "{first_name|Hello}, Mother's Day bouquets are ready to order."
FIRST_CHAT = 9100


def guest(n: int) -> str:
    return "Guest" + chr(65 + n // 26) + chr(97 + n % 26)


async def a_shop(tmp_path: Path, peer: BotApiPeer, customers: int, per_second: float) -> Path:
    """`customers` Telegram customers tagged vip, a canned reply `sale`, and the config."""
    store = await Store.open(tmp_path / "shop.db")
    now = time.time()
    got = await store.ingest(
        [
            Inbound(BOT, f"{FIRST_CHAT + n}:900", str(FIRST_CHAT + n), guest(n), "hi", now - 60)
            for n in range(customers)
        ]
    )
    for g in got:
        await store.update_contact(g.contact_id, tags=["vip"])
    await store.add_canned_replies([("sale", "Mother's Day", SALE, "en")])
    await store.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[store]\npath = "{tmp_path / "shop.db"}"\n\n'
        f"[broadcast]\ntelegram_per_second = {per_second}\n\n"
        f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\napi_base = "{peer.url}"\n',
        encoding="utf-8",
    )
    return config


def environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, TOKEN_ENV: TOKEN, "HOME": str(tmp_path)}
    env.pop("XDG_STATE_HOME", None)
    return env


async def serve(config: Path, tmp_path: Path, peer: BotApiPeer) -> asyncio.subprocess.Process:
    """`omnitui serve`, once it polls the bot (it runs the channels from then on)."""
    polls = sum(1 for c in peer.calls if c.method == "getUpdates")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        "--config",
        str(config),
        "serve",
        env=environment(tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )

    async def polling() -> bool:
        return sum(1 for c in peer.calls if c.method == "getUpdates") > polls

    await wait_until(polling, limit=30)
    return process


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 20)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("omnitui serve ignored SIGTERM") from None


async def broadcast(config: Path, tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        "--config",
        str(config),
        "broadcast",
        "sale",
        "--tag",
        "vip",
        "--yes",
        *args,
        env=environment(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finished(process: asyncio.subprocess.Process, limit: float = 90) -> tuple[int, str]:
    out, err = await asyncio.wait_for(process.communicate(), limit)
    return process.returncode or 0, out.decode() + err.decode()


def states(db: Path) -> dict[int, str]:
    """Each broadcast recipient's chat and the state of their message, as the store has it."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT i.address, m.status FROM broadcast_recipient r "
            "JOIN message m ON m.id = r.message_id JOIN identity i ON i.id = m.identity_id"
        ).fetchall()
        skipped = conn.execute("SELECT count(*) FROM broadcast_recipient WHERE skipped != ''")
        assert skipped.fetchone() == (0,)
        return {int(address): status for address, status in rows}
    finally:
        conn.close()


def broadcasts(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM broadcast").fetchone()[0])
    finally:
        conn.close()


async def test_kill_9_mid_broadcast_and_restart_sends_everyone_once_and_nobody_twice(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    customers = 40
    config = await a_shop(tmp_path, telegram_peer, customers, per_second=5)
    db = tmp_path / "shop.db"
    server = await serve(config, tmp_path, telegram_peer)
    first = await broadcast(config, tmp_path)
    try:

        async def sending() -> bool:
            return len(telegram_peer.sent) >= 3

        await wait_until(sending, limit=30)
        # The same broadcast again while it runs: refused, and nothing doubled.
        code, said = await finished(await broadcast(config, tmp_path))
        assert code == 1 and "already under way" in said, said
        assert broadcasts(db) == 1

        async def halfway() -> bool:
            return len(telegram_peer.sent) >= 15

        await wait_until(halfway, limit=30)
        # The next message reaches Telegram and Telegram has not answered yet
        # when the process that sends is killed.
        hold = Hold()
        telegram_peer.holds["sendMessage"] = hold
        await asyncio.wait_for(hold.reached.wait(), 10)
        in_flight = int(
            next(c for c in reversed(telegram_peer.calls) if c.method == "sendMessage").params[
                "chat_id"
            ]
        )
        server.send_signal(signal.SIGKILL)
        await server.wait()
        del telegram_peer.holds["sendMessage"]
        hold.release()  # Telegram goes on and delivers it: the sender never heard
        before_restart = len(telegram_peer.sent)
        await asyncio.sleep(1.0)
        assert len(telegram_peer.sent) <= before_restart + 1  # nobody sends while serve is down
        assert states(db)[in_flight] == "sending"

        server = await serve(config, tmp_path, telegram_peer)
        code, said = await finished(first)
        assert code == 0, said
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        await stop(server)

    received = Counter(s.chat_id for s in telegram_peer.sent)
    everyone = set(range(FIRST_CHAT, FIRST_CHAT + customers))
    assert set(received) == everyone  # nobody skipped
    assert max(received.values()) == 1  # nobody twice, the one in flight included
    texts = {s.chat_id: s.text for s in telegram_peer.sent}
    assert all(
        texts[FIRST_CHAT + n] == SALE.replace("{first_name|Hello}", guest(n))
        for n in range(customers)
    )
    store_says = states(db)
    assert store_says == {chat: "unknown" if chat == in_flight else "sent" for chat in everyone}, (
        "the store says otherwise than the peer"
    )
    assert broadcasts(db) == 1
    # After the restart the pace holds again: five a second.
    times = sorted(s.at for s in telegram_peer.sent)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.15


async def test_a_scheduled_broadcast_is_written_at_once_and_sent_at_its_time(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    config = await a_shop(tmp_path, telegram_peer, 6, per_second=25)
    db = tmp_path / "shop.db"
    server = await serve(config, tmp_path, telegram_peer)
    try:
        asked = time.time()
        code, said = await finished(await broadcast(config, tmp_path, "--at", "+4s"))
        assert code == 0, said
        assert "is scheduled for" in said, said
        written = states(db)
        assert sorted(written.values()) == ["queued"] * 6  # in the store, not yet sent
        conn = sqlite3.connect(db)
        [(send_at,)] = conn.execute("SELECT send_at FROM broadcast").fetchall()
        conn.close()
        assert asked + 3.5 <= send_at <= asked + 6.0
        assert not telegram_peer.sent

        async def all_sent() -> bool:
            return len(telegram_peer.sent) == 6

        await wait_until(all_sent, limit=30)
    finally:
        await stop(server)
    # The peer's clock is monotonic: bring the schedule onto it.
    offset = time.time() - time.monotonic()
    first_received = min(s.at for s in telegram_peer.sent) + offset
    assert first_received >= send_at - 0.05, "sent before its time"
    assert first_received <= send_at + 5.0, "sent long after its time"
    assert sorted(states(db).values()) == ["sent"] * 6


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("18:30", datetime(2026, 12, 5, 18, 30)),
        ("18:30:15", datetime(2026, 12, 5, 18, 30, 15)),
        ("09:15:00", datetime(2026, 12, 6, 9, 15)),  # past today: tomorrow
        ("+30s", datetime(2026, 12, 5, 10, 0, 30)),
        ("+10m", datetime(2026, 12, 5, 10, 10)),
        ("+ 2h", datetime(2026, 12, 5, 12, 0)),
        ("2026-12-24 09:00", datetime(2026, 12, 24, 9, 0)),
    ],
)
def test_at_takes_a_time_a_delay_or_a_date(given: str, expected: datetime) -> None:
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 12, 5, 10, 0, tzinfo=tokyo)
    assert parse_at(given, now) == expected.replace(tzinfo=tokyo).timestamp()
    assert parse_at("2026-12-24T09:00+00:00", now) == (
        datetime(2026, 12, 24, 18, 0, tzinfo=tokyo).timestamp()
    )
    assert parse_at("+1d", now) == (now + timedelta(days=1)).timestamp()


@pytest.mark.parametrize("given", ["25:00", "18:61:00", "+10x", "soon", "+", "18:30:"])
def test_at_refuses_what_is_no_time(given: str) -> None:
    from zoneinfo import ZoneInfo

    with pytest.raises(BroadcastUsage, match="--at"):
        parse_at(given, datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
