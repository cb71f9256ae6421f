"""Who never gets a broadcast, on real channels: the Bot API peer, Dovecot and aiosmtpd.

A customer who blocked the shop's Telegram bot is marked when Telegram says
so (403) and skipped by later broadcasts until they write again; a customer
who answers 配信停止, unsubscribe or stop gets no more broadcasts on that
address (配信再開 brings them back); a broadcast email names the shop, carries
`List-Unsubscribe` and a line saying how to refuse, and goes only to customers
who consented to marketing email.
"""

from __future__ import annotations

import asyncio
import email
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from omnitui.adapters.email import EmailAdapter
from omnitui.adapters.telegram import TelegramAdapter
from omnitui.app import OmniApp
from omnitui.domain.broadcast import (
    REFUSAL_FOOTER,
    SKIP_NO_BROADCASTS,
    SKIP_NO_CONSENT,
    SKIP_OPTED_OUT,
    BroadcastPlan,
    broadcast_wish,
    plan_broadcast,
)
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Delivery,
    Direction,
    IdentityKind,
    Inbound,
)
from omnitui.hub import Hub
from omnitui.store import Store
from tests import test_email, test_line, test_telegram
from tests.conftest import StoreOpener
from tests.peers.dovecot import Dovecot
from tests.peers.line_api import LinePeer
from tests.peers.telegram_api import BotApiPeer, Customer
from tests.pilot_steps import open_customer
from tests.test_email import FAST, PASSWORD_ENV, Recorder, account, imap
from tests.test_telegram import adapter_for
from tests.waiting import wait_until

# The peers' fixtures, as the channels' own tests run them.
dovecot = test_email.dovecot
smtp = test_email.smtp
mail_password = test_email.mail_password
bot_token = test_telegram.bot_token
peer = test_telegram.peer

pytestmark = pytest.mark.backends

BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
LINE = Channel(ChannelKind.LINE, "shop-line")
SALE = (
    ("sale", "Mother's Day", "{first_name|Hello}, Mother's Day bouquets are ready to order.", "en"),
    ("sale", "母の日", "{name}様、母の日の花束のご予約を承ります。", "ja"),
)
AIKO = Customer(5_100_001, "Aiko")
BEN = Customer(5_100_002, "Ben")
CHIE = Customer(5_100_003, "Chie")


def test_only_a_whole_message_of_refusal_or_return_is_read_as_one() -> None:
    for said in (
        "配信停止",
        "「配信停止」。",
        "停止",
        " 配信不要 ",
        "Unsubscribe!",
        "ＳＴＯＰ",
        "/stop",
    ):
        assert broadcast_wish(said) is True, said
    for said in ("配信再開", "resubscribe.", "ＲＥＳＵＢＳＣＲＩＢＥ"):
        assert broadcast_wish(said) is False, said
    for said in ("please stop by tomorrow", "配信停止はどうすれば？", "停止中の注文", "", "start"):
        assert broadcast_wish(said) is None, said


# -- Telegram ------------------------------------------------------------------


async def plan_for(store: Store, channels: Sequence[Channel]) -> BroadcastPlan:
    audience = await store.broadcast_audience(["vip"])
    return plan_broadcast(audience, await store.canned_replies(), "sale", channels)


async def broadcast_to_the_end(store: Store, hub: Hub, channels: Sequence[Channel]) -> int:
    """Plan and write the sale broadcast, let the hub send it all; its number."""
    plan = await plan_for(store, channels)
    number = await store.create_broadcast("sale", {"tags": ["vip"]}, plan, author="Aiko")
    hub.outbox_changed()

    async def done() -> bool:
        return not (await store.broadcast_progress(number)).active

    await wait_until(done, 20, "the broadcast to finish")
    return number


@pytest.fixture
async def bot_hub(store: Store, peer: BotApiPeer) -> AsyncIterator[Hub]:
    adapter: TelegramAdapter = adapter_for(peer)
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


async def customers_wrote(store: Store, peer: BotApiPeer, *customers: Customer) -> dict[str, int]:
    """Each customer writes to the bot; they are tagged vip. Their contact ids by name."""
    before = len(await store.list_contacts())
    for customer in customers:
        peer.text(customer, "hello")

    async def stored() -> bool:
        return len(await store.list_contacts()) >= before + len(customers)

    await wait_until(stored, 10, "the customers' messages")
    ids = {c.name: c.id for c in await store.list_contacts()}
    for customer in customers:
        await store.update_contact(ids[customer.first_name], tags=["vip"])
    return {c.first_name: ids[c.first_name] for c in customers}


async def telegram_opted_out(store: Store, contact_id: int) -> bool:
    contact = await store.get_contact(contact_id)
    return any(i.opted_out for i in contact.identities if i.kind is IdentityKind.TELEGRAM)


async def test_a_customer_who_blocked_the_bot_is_marked_and_skipped_by_the_next_broadcast(
    store: Store, peer: BotApiPeer, bot_hub: Hub
) -> None:
    ids = await customers_wrote(store, peer, AIKO, BEN, CHIE)
    await store.add_canned_replies(SALE)
    peer.blocked.add(BEN.id)

    first = await broadcast_to_the_end(store, bot_hub, [BOT])
    assert sorted(s.chat_id for s in peer.sent) == [AIKO.id, CHIE.id]
    progress = await store.broadcast_progress(first)
    assert progress.total("sent") == 2 and progress.total("failed") == 1
    # Ben's message failed in words, in his thread, and he is marked.
    last = (await store.thread_page(ids["Ben"]))[-1]
    assert last.status is Delivery.FAILED
    assert last.status_reason == (
        "the customer has blocked the shop's bot, so Telegram will not deliver (403)"
    )
    assert await telegram_opted_out(store, ids["Ben"])
    assert not await telegram_opted_out(store, ids["Aiko"])
    # The composer says so, and a reply to him is not sent.
    app = OmniApp(store, agent_name="Aiko", channels=[BOT], poll_changes=0.05, language="en")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await open_customer(pilot, ids["Ben"])
        status = app.screen.query_one("#composer-status")
        await wait_until(
            lambda: "blocked the Telegram bot" in str(status.render()),
            what="the composer's word on Ben",
            pilot=pilot,
        )
        await pilot.press("r", *"Still there?", "ctrl+s")
        await wait_until(
            lambda: any(
                "blocked the shop's Telegram bot" in " ".join(n.message.split())
                for n in app._notifications
            ),
            what="the refusal",
            pilot=pilot,
        )
    assert "Still there?" not in [m.text for m in await store.thread_page(ids["Ben"])]

    # The next broadcast does not try him: skipped as opted out, Telegram never asked.
    asked = len([c for c in peer.calls if c.method == "sendMessage"])
    second = await broadcast_to_the_end(store, bot_hub, [BOT])
    progress = await store.broadcast_progress(second)
    assert progress.total("sent") == 2 and progress.total("failed") == 0
    assert progress.skipped == {SKIP_OPTED_OUT: 1}
    assert len([c for c in peer.calls if c.method == "sendMessage"]) == asked + 2

    # He unblocks the bot and writes: he can be reached again.
    peer.blocked.discard(BEN.id)
    peer.text(BEN, "I'm back")

    async def back() -> bool:
        return not await telegram_opted_out(store, ids["Ben"])

    await wait_until(back, 10, "Ben's message to opt him back in")
    plan = await plan_for(store, [BOT])
    assert ids["Ben"] in {m.contact_id for m in plan.messages} and not plan.skipped


async def test_stop_on_telegram_ends_broadcasts_to_that_customer_and_配信再開_brings_them_back(
    store: Store, peer: BotApiPeer, bot_hub: Hub
) -> None:
    ids = await customers_wrote(store, peer, AIKO, CHIE)
    await store.add_canned_replies(SALE)
    peer.text(AIKO, "STOP")

    async def thread_shows(contact_id: int, text: str) -> bool:
        return (await store.thread_page(contact_id))[-1].text == text

    await wait_until(lambda: thread_shows(ids["Aiko"], "STOP"), 10, "Aiko's STOP")
    plan = await plan_for(store, [BOT])
    assert {m.contact_id for m in plan.messages} == {ids["Chie"]}
    assert {s.contact_id: s.reason for s in plan.skipped} == {ids["Aiko"]: SKIP_NO_BROADCASTS}
    # Replies still reach her: only broadcasts stop.
    assert not await telegram_opted_out(store, ids["Aiko"])

    await broadcast_to_the_end(store, bot_hub, [BOT])
    assert [s.chat_id for s in peer.sent] == [CHIE.id]

    peer.text(AIKO, "配信再開")
    await wait_until(lambda: thread_shows(ids["Aiko"], "配信再開"), 10, "Aiko's 配信再開")
    plan = await plan_for(store, [BOT])
    assert {m.contact_id for m in plan.messages} == {ids["Aiko"], ids["Chie"]}


# -- LINE ----------------------------------------------------------------------


@pytest.fixture
def line_secrets(monkeypatch: pytest.MonkeyPatch, line_peer: LinePeer) -> None:
    monkeypatch.setenv(test_line.TOKEN_ENV, line_peer.token)
    monkeypatch.setenv(test_line.SECRET_ENV, line_peer.secret)


async def test_配信停止_on_line_ends_broadcasts_there_but_a_question_about_it_does_not(
    store: Store, line_peer: LinePeer, line_secrets: None
) -> None:
    hanako = line_peer.add_user("山田 花子", language="ja")
    mei = line_peer.add_user("Mei", language="ja")
    await store.add_canned_replies(SALE)
    async with test_line.running(store, line_peer) as (_, url):
        for user, text in ((hanako, "「配信停止」"), (mei, "配信停止はどうすればいいですか？")):
            assert (await line_peer.send(url, line_peer.text(user, text))).status == 200
        ids: dict[str, int] = {}
        for user in (hanako, mei):
            contact = await test_line.contact_of(store, user)
            assert contact is not None
            ids[user.display_name] = contact.id
            await store.update_contact(contact.id, tags=["vip"])
        # The thread shows what she wrote, brackets and all.
        assert [m.text for m in await test_line.thread_of(store, hanako)] == ["「配信停止」"]
        plan = await plan_for(store, [LINE])
        assert [m.contact_id for m in plan.messages] == [ids["Mei"]]
        assert {s.contact_id: s.reason for s in plan.skipped} == {
            ids["山田 花子"]: SKIP_NO_BROADCASTS
        }

        assert (await line_peer.send(url, line_peer.text(hanako, "配信再開"))).status == 200
        plan = await plan_for(store, [LINE])
        assert sorted(m.contact_id for m in plan.messages) == sorted(ids.values())


# -- email ---------------------------------------------------------------------


def mail_config(tmp_path: Path, dovecot: Dovecot, smtp_port: int, store_toml: str) -> Path:
    """The shop's config.toml: its email account and the store that `store_toml` names."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[shop]\nname = "Sakura Flowers"\n\n{store_toml}\n'
        "[broadcast]\nemail_per_minute = 600\n\n"
        f"""[[email]]
name = "shop-mail"
imap_host = "127.0.0.1"
imap_port = {dovecot.port}
imap_tls = "none"
username = "{dovecot.user}"
password_env = "{PASSWORD_ENV}"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_tls = "none"
from = "Sakura Flowers <shop@example.com>"
""",
        encoding="utf-8",
    )
    return config


async def run_cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "HOME": str(tmp_path)}
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


def answer(sender: str, subject: str, body: str, *, refs: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "shop@example.com"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["Message-ID"] = make_msgid("answer", "example.jp")
    if refs:
        mail["In-Reply-To"] = refs
        mail["References"] = refs
    mail.set_content(body, charset="utf-8")
    return mail.as_bytes()


async def test_broadcast_email_names_the_shop_says_how_to_refuse_and_a_reply_refuses(
    tmp_path: Path, dovecot: Dovecot, smtp: tuple[Recorder, int], open_store: StoreOpener
) -> None:
    recorder, port = smtp
    config = mail_config(tmp_path, dovecot, port, open_store.toml("shop.db"))
    store = await open_store("shop.db")
    now = time.time()
    got = await store.ingest(
        [
            Inbound(MAIL, "<h@x>", "hanako@example.jp", "山田 花子", "こんにちは", now - 300),
            Inbound(MAIL, "<k@x>", "ken@example.com", "Ken Sato", "hello", now - 200),
            Inbound(MAIL, "<y@x>", "yui@example.com", "Yui Abe", "hi", now - 100),
        ]
    )
    hanako, ken, yui = (g.contact_id for g in got)
    for contact_id in (hanako, ken, yui):
        await store.update_contact(contact_id, tags=["vip"])
    await store.update_contact(hanako, profile={"email_consent": "はい"})
    await store.update_contact(ken, profile={"email_consent": "2026-04-01"})
    await store.add_canned_replies(SALE)
    await store.close()

    code, out, err = await run_cli(
        tmp_path, "--config", str(config), "broadcast", "sale", "--tag", "vip", "--yes"
    )
    assert code == 0, err
    assert "no consent to marketing email recorded" in out
    # Only the two who consented got it; Yui, who did not, got nothing.
    received = {
        rcpt[0]: email.message_from_bytes(raw, policy=default) for _, rcpt, raw in recorder.messages
    }
    assert sorted(received) == ["hanako@example.jp", "ken@example.com"]
    assert all(mail_from == "shop@example.com" for mail_from, _, _ in recorder.messages)
    for mail in received.values():
        assert mail["From"] == "Sakura Flowers <shop@example.com>"
        assert mail["List-Unsubscribe"] == "<mailto:shop@example.com?subject=unsubscribe>"
        assert mail["Precedence"] == "bulk"
    ja = received["hanako@example.jp"].get_body(("plain",))
    en = received["ken@example.com"].get_body(("plain",))
    assert ja is not None and en is not None
    ja_text, en_text = ja.get_content().rstrip(), en.get_content().rstrip()
    assert ja_text.startswith("山田 花子様、母の日の花束のご予約を承ります。")
    assert ja_text.endswith(REFUSAL_FOOTER["ja"])
    assert en_text.startswith("Ken, Mother's Day bouquets are ready to order.")
    assert en_text.endswith("Reply 'unsubscribe' to receive no more of these.")

    # Hanako answers 配信停止 above the quoted broadcast; Ken's mail app follows
    # the List-Unsubscribe link (subject "unsubscribe", a line of its own below).
    quoted = "\n".join("> " + line for line in ja_text.splitlines())
    sent_id = str(received["hanako@example.jp"]["Message-ID"])
    client = imap(dovecot)
    client.append(
        "INBOX",
        answer(
            "山田 花子 <hanako@example.jp>", "Re: 母の日", f"配信停止\n\n{quoted}\n", refs=sent_id
        ),
    )
    client.append(
        "INBOX",
        answer(
            "Ken Sato <ken@example.com>",
            "unsubscribe",
            "This message was automatically generated by Gmail.",
        ),
    )
    client.logout()
    store = await open_store("shop.db")
    hub = Hub(store, [EmailAdapter(account(dovecot, port))], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:

        async def both_answered() -> bool:
            threads = [await store.thread_page(c) for c in (hanako, ken)]
            return all(len([m for m in t if m.direction is Direction.IN]) == 2 for t in threads)

        await wait_until(both_answered, 15, "the two answers")
        # The thread shows her answer as she wrote it.
        hers = [m for m in await store.thread_page(hanako) if m.direction is Direction.IN]
        assert hers[-1].text.startswith("配信停止\n\n> 山田 花子様")
        plan = await plan_for(store, [MAIL])
        assert not plan.messages
        assert {s.contact_id: s.reason for s in plan.skipped} == {
            hanako: SKIP_NO_BROADCASTS,
            ken: SKIP_NO_BROADCASTS,
            yui: SKIP_NO_CONSENT,
        }

        # 配信再開 brings her back.
        client = imap(dovecot)
        client.append("INBOX", answer("山田 花子 <hanako@example.jp>", "Re: 母の日", "配信再開"))
        client.logout()

        async def she_is_back() -> bool:
            plan = await plan_for(store, [MAIL])
            return [m.contact_id for m in plan.messages] == [hanako]

        await wait_until(she_is_back, 15, "Hanako's 配信再開")
    finally:
        await hub.stop()
        await store.close()
