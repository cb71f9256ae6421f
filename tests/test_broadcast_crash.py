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
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from omnitui.broadcast_commands import BroadcastUsage, parse_at
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.store import Store
from tests.conftest import fixture_dir
from tests.peers.telegram_api import TOKEN, BotApiPeer, Hold
from tests.peers.twilio_api import TwilioPeer, TwilioSpec, wait_until

BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
SMS = Channel(ChannelKind.SMS, "shop-sms")
TWILIO_ACCOUNT = "AC" + "7e1d" * 8
TWILIO_TOKEN = "tw-test-token-7e1d"
TWILIO_TOKEN_ENV = "OMNITUI_TEST_TWILIO_TOKEN"
SHOP_NUMBER = "+14155550000"
TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
SALE = "{first_name|Hello}, Mother's Day bouquets are ready to order."
FIRST_CHAT = 9100


def guest(n: int) -> str:
    return "Guest" + chr(65 + n // 26) + chr(97 + n % 26)


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


async def a_shop(
    tmp_path: Path,
    peer: BotApiPeer,
    customers: int,
    per_second: float,
    twilio: TwilioPeer | None = None,
    texters: int = 0,
) -> Path:
    """`customers` Telegram customers (and `texters` SMS ones) tagged vip, a canned
    reply `sale`, and the config: Telegram at `per_second`, SMS at half that."""
    store = await Store.open(tmp_path / "shop.db")
    now = time.time()
    got = await store.ingest(
        [
            Inbound(BOT, f"{FIRST_CHAT + n}:900", str(FIRST_CHAT + n), guest(n), "hi", now - 60)
            for n in range(customers)
        ]
        + [Inbound(SMS, f"SMin{n}", phone(n), guest(n), "hi", now - 60) for n in range(texters)]
    )
    for g in got:
        await store.update_contact(g.contact_id, tags=["vip"])
    await store.add_canned_replies([("sale", "Mother's Day", SALE, "en")])
    await store.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[store]\npath = "{tmp_path / "shop.db"}"\n\n'
        f"[broadcast]\ntelegram_per_second = {per_second}\n"
        f"sms_segments_per_second = {per_second / 2}\n\n"
        f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\napi_base = "{peer.url}"\n'
        + (sms_toml(twilio) if twilio is not None else ""),
        encoding="utf-8",
    )
    return config


def sms_toml(peer: TwilioPeer) -> str:
    """A Twilio number that polls for texts (no webhook port to wait on)."""
    return f"""
[[sms]]
name = "shop-sms"
provider = "twilio"
account_sid = "{TWILIO_ACCOUNT}"
auth_token_env = "{TWILIO_TOKEN_ENV}"
from = "{SHOP_NUMBER}"
api_base = "{peer.base_url}"
inbound = "poll"
poll_seconds = 1
default_region = "US"
"""


@pytest.fixture(scope="module")
def twilio_spec() -> TwilioSpec:
    return TwilioSpec.load(fixture_dir("twilio"))


@pytest.fixture
async def twilio_peer(twilio_spec: TwilioSpec) -> AsyncIterator[TwilioPeer]:
    twilio = TwilioPeer(twilio_spec, TWILIO_ACCOUNT, TWILIO_TOKEN, SHOP_NUMBER)
    await twilio.start()
    yield twilio
    await twilio.stop()
    assert not twilio.violations, "\n".join(twilio.violations)


def texted(peer: TwilioPeer) -> Counter[str]:
    """How many times each number got a text from the shop."""
    return Counter(m["to"] for m in peer.messages.values() if m["direction"] == "outbound-api")


def environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, TOKEN_ENV: TOKEN, TWILIO_TOKEN_ENV: TWILIO_TOKEN, "HOME": str(tmp_path)}
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


def states(db: Path) -> dict[str, str]:
    """Each broadcast recipient's chat and the state of their message, as the store has it."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT i.address, m.status FROM broadcast_recipient r "
            "JOIN message m ON m.id = r.message_id JOIN identity i ON i.id = m.identity_id"
        ).fetchall()
        skipped = conn.execute("SELECT count(*) FROM broadcast_recipient WHERE skipped != ''")
        assert skipped.fetchone() == (0,)
        return {str(address): status for address, status in rows}
    finally:
        conn.close()


def broadcasts(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM broadcast").fetchone()[0])
    finally:
        conn.close()


async def test_kill_9_mid_broadcast_and_restart_sends_everyone_once_and_nobody_twice(
    tmp_path: Path, telegram_peer: BotApiPeer, twilio_peer: TwilioPeer
) -> None:
    bot_customers, sms_customers = 30, 15
    config = await a_shop(
        tmp_path, telegram_peer, bot_customers, 5, twilio=twilio_peer, texters=sms_customers
    )
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
            return len(telegram_peer.sent) >= 12

        await wait_until(halfway, limit=30)
        # The next Telegram message reaches Telegram and Telegram has not
        # answered yet when the process that sends is killed (the SMS drain
        # is wherever it is).
        hold = Hold()
        telegram_peer.holds["sendMessage"] = hold
        await asyncio.wait_for(hold.reached.wait(), 10)
        in_flight = next(
            c for c in reversed(telegram_peer.calls) if c.method == "sendMessage"
        ).params["chat_id"]
        server.send_signal(signal.SIGKILL)
        await server.wait()
        del telegram_peer.holds["sendMessage"]
        hold.release()  # Telegram goes on and delivers it: the sender never heard
        sent_before, texted_before = len(telegram_peer.sent), texted(twilio_peer).total()
        assert 0 < texted_before < sms_customers  # killed mid-broadcast on both channels
        await asyncio.sleep(1.0)
        # Nobody sends while serve is down (the broadcast command only watches).
        assert len(telegram_peer.sent) <= sent_before + 1
        assert texted(twilio_peer).total() == texted_before
        assert states(db)[str(in_flight)] == "sending"

        server = await serve(config, tmp_path, telegram_peer)
        code, said = await finished(first)
        assert code == 0, said
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        await stop(server)

    # What the customers got, at Telegram and at Twilio.
    received = Counter(str(s.chat_id) for s in telegram_peer.sent) + texted(twilio_peer)
    chats = {str(FIRST_CHAT + n) for n in range(bot_customers)}
    numbers = {phone(n) for n in range(sms_customers)}
    twice = {a: n for a, n in received.items() if n > 1}
    assert not twice, f"sent twice: {twice}"
    store_says = states(db)
    assert set(store_says) == chats | numbers  # every recipient has their message
    unknown = {a for a, state in store_says.items() if state == "unknown"}
    assert str(in_flight) in unknown and len(unknown) <= 2  # one in flight per channel at most
    assert {a for a, state in store_says.items() if state != "unknown"} == (
        chats | numbers
    ) - unknown
    assert all(state in ("sent", "unknown") for state in store_says.values())
    # Nobody skipped: all got it, but perhaps the one whose text was in flight when
    # serve died (it may or may not have reached Twilio; the Telegram one did).
    assert (chats | numbers) - (unknown - {str(in_flight)}) <= set(received) <= chats | numbers
    texts = {str(s.chat_id): s.text for s in telegram_peer.sent}
    assert texts[str(FIRST_CHAT + 7)] == SALE.replace("{first_name|Hello}", guest(7))
    assert broadcasts(db) == 1
    # The pace holds on both sides of the restart, as Telegram counts it: no two
    # messages arrive less than 0.2 s apart (five a second).
    times = sorted(s.at for s in telegram_peer.sent)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.2 - 0.005


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
        assert asked + 3.5 <= send_at <= asked + 20.0  # four seconds after the command began
        assert not telegram_peer.sent

        async def all_sent() -> bool:
            return sorted(states(db).values()) == ["sent"] * 6

        await wait_until(all_sent, limit=30)
    finally:
        await stop(server)
    assert len(telegram_peer.sent) == 6
    # The peer's clock is monotonic: bring the schedule onto it.
    offset = time.time() - time.monotonic()
    first_received = min(s.at for s in telegram_peer.sent) + offset
    assert first_received >= send_at - 0.05, "sent before its time"
    assert first_received <= send_at + 5.0, "sent long after its time"


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
