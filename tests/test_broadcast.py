"""Broadcasts: one canned reply to the customers with a tag, on each one's channel, once.

The plan and the store are checked directly; `omnitui broadcast` runs as a
user runs it (a subprocess) against the loopback Telegram Bot API.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from omnitui.domain.broadcast import (
    SKIP_NO_BROADCASTS,
    SKIP_NO_CONSENT,
    SKIP_OPTED_OUT,
    plan_broadcast,
)
from omnitui.domain.models import Channel, ChannelKind, Delivery, IdentityKind, Inbound
from omnitui.store import Store, StoreError
from tests.conftest import StoreOpener
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer

pytestmark = pytest.mark.backends

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
SMS = Channel(ChannelKind.SMS, "shop-sms")
LINE = Channel(ChannelKind.LINE, "shop-line")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
SALE = (
    ("sale", "Mother's Day", "{first_name|Hello}, Mother's Day bouquets are ready to order.", "en"),
    ("sale", "母の日", "{name}様、母の日の花束のご予約を承ります。", "ja"),
)


async def tagged(store: Store, contact_id: int, *tags: str) -> None:
    await store.update_contact(contact_id, tags=list(tags))


async def a_shop(store: Store) -> dict[str, int]:
    """Customers of every kind, most of them tagged vip."""
    now = time.time()
    got = await store.ingest(
        [
            Inbound(LINE, "l1", "U" + "1" * 32, "山田 花子", "こんにちは", now - 500),
            Inbound(MAIL, "<k@x>", "ken@example.com", "Ken Sato", "hello", now - 400),
            Inbound(SMS, "s1", "+14155550101", "Emma", "STOP", now - 300),
            Inbound(MAIL, "<y@x>", "yui@example.com", "Yui", "hi", now - 200),
            Inbound(BOT, "7:1", "7001", "Taro", "hi", now - 100),
            Inbound(MAIL, "<o@x>", "other@example.com", "Other", "hi", now - 50),
        ]
    )
    ids = dict(
        zip(
            ["hanako", "ken", "emma", "yui", "taro", "other"],
            (g.contact_id for g in got),
            strict=True,
        )
    )
    for name in ("hanako", "ken", "emma", "yui", "taro"):
        await tagged(store, ids[name], "vip")
    await store.update_contact(ids["ken"], profile={"email_consent": "yes"})
    await store.set_opted_out(IdentityKind.PHONE, "+14155550101", True)
    await store.set_broadcast_opt_out(IdentityKind.TELEGRAM, "7001")
    await store.add_canned_replies(SALE)
    return ids


async def test_the_plan_reaches_each_customer_once_where_they_can_be_reached(
    store: Store,
) -> None:
    ids = await a_shop(store)
    audience = await store.broadcast_audience(["vip"])
    assert sorted(m.contact_id for m in audience) == sorted(
        ids[n] for n in ("hanako", "ken", "emma", "yui", "taro")
    )
    plan = plan_broadcast(
        audience,
        await store.canned_replies(),
        "sale",
        [MAIL, SMS, LINE, BOT],
        shop_values={"shop": "Sakura"},
    )
    sent = {m.contact_id: (m.channel, m.text) for m in plan.messages}
    assert sent == {
        ids["hanako"]: (LINE, "山田 花子様、母の日の花束のご予約を承ります。"),
        ids["ken"]: (MAIL, "Ken, Mother's Day bouquets are ready to order."),
    }
    assert {s.contact_id: s.reason for s in plan.skipped} == {
        ids["emma"]: SKIP_OPTED_OUT,
        ids["yui"]: SKIP_NO_CONSENT,
        ids["taro"]: SKIP_NO_BROADCASTS,
    }
    # Without the consent rule, Yui gets it by email.
    relaxed = plan_broadcast(
        audience,
        await store.canned_replies(),
        "sale",
        [MAIL, SMS, LINE, BOT],
        email_requires_consent=False,
    )
    assert ids["yui"] in {m.contact_id for m in relaxed.messages}


async def test_a_broadcast_is_written_whole_refused_twice_and_cancelled_before_it_goes(
    store: Store,
) -> None:
    ids = await a_shop(store)
    audience = await store.broadcast_audience(["vip"])
    plan = plan_broadcast(audience, await store.canned_replies(), "sale", [MAIL, SMS, LINE, BOT])
    key = {"tags": ["vip"]}
    later = time.time() + 3600
    number = await store.create_broadcast("sale", key, plan, send_at=later, author="Aiko")
    progress = await store.broadcast_progress(number)
    assert progress.total("queued") == 2 and progress.skipped_total == 3 and progress.active
    # Each message is in its customer's thread like any reply.
    thread = await store.thread_page(ids["hanako"])
    assert [(m.text, m.status) for m in thread][-1] == (
        "山田 花子様、母の日の花束のご予約を承ります。",
        Delivery.QUEUED,
    )
    # The same broadcast again, while this one waits: refused, nothing doubled.
    with pytest.raises(StoreError, match="already under way"):
        await store.create_broadcast("sale", key, plan, author="Aiko")
    # Not due yet: the hub's broadcast drain takes nothing, and agents' replies never see it.
    assert await store.claim_broadcast("shop-line") == []
    assert await store.claim_due(["shop-line", "shop-mail"]) == []
    assert await store.cancel_broadcast(number) == 2
    progress = await store.broadcast_progress(number)
    assert not progress.active and progress.total() == 0
    assert [m.text for m in await store.thread_page(ids["hanako"])] == ["こんにちは"]


def telegram_config(
    open_store: StoreOpener, tmp_path: Path, peer: BotApiPeer, *, per_second: float
) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n{open_store.toml("shop.db")}\n'
        f"[broadcast]\ntelegram_per_second = {per_second}\n\n"
        f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\napi_base = "{peer.url}"\n',
        encoding="utf-8",
    )
    return config


async def vip_bot_customers(open_store: StoreOpener, customers: list[Customer]) -> None:
    """The shop's store with these Telegram customers (each wrote to the bot) tagged vip."""
    store = await open_store("shop.db")
    now = time.time()
    got = await store.ingest(
        [Inbound(BOT, f"{c.id}:900", str(c.id), c.first_name, "hi", now - 60) for c in customers]
    )
    for g in got:
        await store.update_contact(g.contact_id, tags=["vip"])
    await store.add_canned_replies(SALE)
    await store.close()


async def run_cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, TOKEN_ENV: TOKEN, "HOME": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_omnitui_broadcast_sends_each_telegram_customer_one_message_at_the_set_pace(
    tmp_path: Path, telegram_peer: BotApiPeer, open_store: StoreOpener
) -> None:
    config = telegram_config(open_store, tmp_path, telegram_peer, per_second=10)
    await vip_bot_customers(
        open_store, [Customer(8100 + n, f"Guest{chr(65 + n)}") for n in range(12)]
    )

    code, out, err = await run_cli(
        tmp_path, "--config", str(config), "broadcast", "sale", "--tag", "vip", "--dry-run"
    )
    assert code == 0, err
    assert "12 customer(s)" in out and "Dry run: nothing was sent." in out
    assert not telegram_peer.sent

    code, out, err = await run_cli(
        tmp_path, "--config", str(config), "broadcast", "sale", "--tag", "vip", "--yes"
    )
    assert code == 0, err
    texts = {s.chat_id: s.text for s in telegram_peer.sent}
    assert len(telegram_peer.sent) == 12 and len(texts) == 12
    assert texts[8100] == "GuestA, Mother's Day bouquets are ready to order."
    times = sorted(s.at for s in telegram_peer.sent)
    # 10 a second: twelve messages take at least 1.1 s, never faster.
    assert times[-1] - times[0] >= 1.0
    # However the sends jitter, no second holds more than the ten the pace allows.
    assert all(times[i + 10] - times[i] >= 0.95 for i in range(len(times) - 10))


async def test_telegrams_flood_control_holds_the_whole_broadcast_and_everyone_gets_it_once(
    tmp_path: Path, telegram_peer: BotApiPeer, open_store: StoreOpener
) -> None:
    config = telegram_config(open_store, tmp_path, telegram_peer, per_second=25)
    customers = [Customer(8300 + n, f"Guest{chr(65 + n)}") for n in range(6)]
    await vip_bot_customers(open_store, customers)
    # The third send is told to wait 2 s (429 retry_after): the account waits, not only
    # that message, and nobody gets it twice.
    telegram_peer.fail(
        "sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, after=2
    )
    code, _, err = await run_cli(
        tmp_path, "--config", str(config), "broadcast", "sale", "--tag", "vip", "--yes"
    )
    assert code == 0, err
    chats = [s.chat_id for s in telegram_peer.sent]
    assert sorted(chats) == [c.id for c in customers]
    times = sorted(s.at for s in telegram_peer.sent)
    assert times[2] - times[1] >= 1.9  # the wait Telegram asked for, before the next send
