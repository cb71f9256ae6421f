"""Telegram: python-telegram-bot against a loopback Bot API checked against the spec."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from omnitui.adapters import telegram as telegram_adapter
from omnitui.adapters.base import SendError
from omnitui.adapters.telegram import TelegramAdapter, split_text
from omnitui.config import ConfigError, TelegramConfig, parse
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Delivery,
    IdentityKind,
    Inbound,
    Outbound,
    OutboundFile,
)
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store
from tests.conftest import wait_for
from tests.peers.dovecot import free_port
from tests.peers.telegram_api import (
    CONFLICT_POLLER,
    TOKEN,
    BotApiPeer,
    Customer,
)
from tests.serve import ServeCommand

pytestmark = pytest.mark.backends

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
SECRET_ENV = "OMNITUI_TEST_TELEGRAM_SECRET"
SECRET = "shop-webhook_secret-42"
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.3, max_attempts=4)
MISAKI = Customer(4_200_001, "美咲", last_name="田中", username="misaki_t", language_code="ja")
EMMA = Customer(4_200_002, "Emma", username="emma_flowers")
PICTURE = b"\xff\xd8\xff\xe0JFIF" + bytes(range(256)) * 40


@pytest.fixture(autouse=True)
def bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest.fixture
def peer(telegram_peer: BotApiPeer) -> BotApiPeer:
    return telegram_peer


def bot_config(peer: BotApiPeer, extra: str = "") -> TelegramConfig:
    text = f"""
[[telegram]]
name = "shop-bot"
token_env = "{TOKEN_ENV}"
api_base = "{peer.url}"
{extra}
"""
    return parse(text, Path("test.toml")).telegram[0]


def adapter_for(peer: BotApiPeer, extra: str = "") -> TelegramAdapter:
    return TelegramAdapter(bot_config(peer, extra), poll_timeout=2)


@pytest.fixture
async def running(store: Store, peer: BotApiPeer) -> AsyncIterator[tuple[Hub, TelegramAdapter]]:
    adapter = adapter_for(peer)
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:
        yield hub, adapter
    finally:
        await hub.stop()


async def stored(store: Store) -> int:
    rows = await store._rows("SELECT count(*) FROM message WHERE direction = 'in'")
    return int(rows[0][0])


async def wait_stored(store: Store, n: int, limit: float = 10.0) -> None:
    async def enough() -> bool:
        return await stored(store) >= n

    await wait_for(enough, limit)


async def only_contact(store: Store, name: str) -> int:
    contacts = {c.name: c.id for c in await store.list_contacts()}
    return contacts[name]


# -- the peer itself ---------------------------------------------------------


async def test_the_bot_api_peer_flags_whatever_the_spec_does_not_allow(peer: BotApiPeer) -> None:
    async def call(method: str, **form: str) -> int:
        async with (
            ClientSession() as session,
            session.post(f"{peer.url}/bot{TOKEN}/{method}", data=form) as response,
        ):
            return response.status

    assert await call("sendMessage", chat_id="1", text="hi", colour="red") == 400
    assert await call("sendMessage", chat_id="1") == 400
    assert await call("sendFax", chat_id="1") == 404
    assert await call("getUpdates", timeout="soon") == 400
    peer.push({"message": {"message_id": 1, "date": 1, "chat": {"id": 5}, "mood": "happy"}})
    assert peer.violations == [
        "request: sendMessage: unknown parameter 'colour'",
        "request: sendMessage: missing required parameter 'text'",
        "request: sendFax: no such method in Bot API 10.1",
        "request: getUpdates.timeout: 'soon' is not Integer",
        "pushed update: Update.message.chat: Chat lacks required field 'type'",
        "pushed update: Update.message: Message has no field 'mood'",
    ]
    photo = {"file_id": "x", "file_unique_id": "y", "width": 1, "height": "2"}
    assert peer.spec.check_value("Array of PhotoSize", [photo], "photo") == [
        "photo[0].height: '2' is not Integer"
    ]
    peer.violations.clear()
    peer.updates.clear()


# -- inbound ----------------------------------------------------------------


async def test_a_customers_message_arrives_with_their_name_and_chat(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    sent = peer.text(MISAKI, "明日の15時に受け取りに行けますか?")
    await wait_stored(store, 1)
    contact = await store.get_contact(await only_contact(store, "美咲 田中"))
    message = (await store.thread_page(contact.id))[0]
    assert message.text == "明日の15時に受け取りに行けますか?"
    assert message.kind is ChannelKind.TELEGRAM and message.has_source
    assert [(i.kind, i.address) for i in contact.identities] == [
        (IdentityKind.TELEGRAM, str(MISAKI.id))
    ]
    data = await store.identity_data(IdentityKind.TELEGRAM, str(MISAKI.id))
    assert data["chat_id"] == MISAKI.id and data["username"] == "misaki_t"
    rows = await store._rows("SELECT provider_id FROM message")
    assert rows[0][0] == f"{MISAKI.id}:{sent['message']['message_id']}"
    assert running[1].status["polling"] == "up to date"


async def test_telegram_out_of_reach_is_shown_to_every_console_until_it_is_back(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    await wait_for(lambda: _polling(running[1], "up to date"))
    port = peer.port
    await peer.stop()

    async def warned() -> bool:
        return "cannot connect" in (await store.channel_problems()).get("shop-bot", "")

    await wait_for(warned, 20)
    await peer.start(port)
    peer.text(MISAKI, "もう届きますか?")
    await wait_stored(store, 1, 30)

    async def cleared() -> bool:
        return await store.channel_problems() == {}

    await wait_for(cleared)


async def _polling(adapter: TelegramAdapter, words: str) -> bool:
    return adapter.status.get("polling") == words


async def test_every_kind_of_message_is_stored_readably(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    peer.photo(MISAKI, PICTURE, caption="この色で花束をお願いします")
    peer.document(MISAKI, b"%PDF-1.4 order", file_name="注文書.pdf", mime_type="application/pdf")
    peer.voice(MISAKI, b"OggS voice", duration=7)
    peer.sticker(MISAKI, "👍")
    peer.location(MISAKI, 35.681236, 139.767125)
    peer.contact(EMMA, "44 7700 900123", first_name="Emma", user_id=EMMA.id)
    peer.contact(EMMA, "819012345678", first_name="Ken", last_name="Sato")
    await wait_stored(store, 7)
    misaki = await store.thread_page(await only_contact(store, "美咲 田中"))
    by_text = {m.text: m for m in misaki}
    photo = by_text["この色で花束をお願いします"]
    assert [(a.filename, a.content_type, a.size) for a in photo.attachments] == [
        ("photo_1.jpg", "image/jpeg", len(PICTURE))
    ]
    assert await store.attachment_data(photo.attachments[0].id) == PICTURE  # the largest size
    document = by_text["📄 注文書.pdf"]
    assert document.attachments[0].filename == "注文書.pdf"
    assert await store.attachment_data(document.attachments[0].id) == b"%PDF-1.4 order"
    voice = by_text["🎤 voice message, 0:07"]
    assert voice.attachments[0].content_type == "audio/ogg"
    assert "👍 (sticker)" in by_text
    assert "📍 35.681236, 139.767125\nhttps://maps.google.com/?q=35.681236,139.767125" in by_text
    emma_id = await only_contact(store, "Emma")
    emma = await store.get_contact(emma_id)
    texts = [m.text for m in await store.thread_page(emma_id)]
    assert texts == [
        "📞 shared their phone number: +447700900123",
        "📇 contact card: Ken Sato, 819012345678",
    ]
    # Her own number became her phone identity; the card she forwarded did not.
    assert {(i.kind, i.address) for i in emma.identities} == {
        (IdentityKind.TELEGRAM, str(EMMA.id)),
        (IdentityKind.PHONE, "+447700900123"),
    }
    assert await store.count_contacts() == 2


async def test_an_edited_message_is_updated_in_place_and_marked_edited(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    original = peer.text(EMMA, "Roses for Saturday please")
    await wait_stored(store, 1)
    peer.edit(original, text="Tulips for Saturday please")
    contact_id = await only_contact(store, "Emma")

    async def edited() -> bool:
        return (await store.thread_page(contact_id))[0].edited

    await wait_for(edited)
    page = await store.thread_page(contact_id)
    assert [(m.text, m.edited) for m in page] == [("Tulips for Saturday please", True)]
    assert [h.message_id for h in await store.search("Tulips")] == [page[0].id]


async def test_group_messages_are_ignored_and_said_so_in_the_log(
    store: Store, peer: BotApiPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omnitui.telegram")
    adapter = adapter_for(peer)
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:
        peer.group_message(EMMA, "Flower fans", "anyone know a good florist?")
        peer.text(EMMA, "Hello shop")
        await wait_stored(store, 1)
        await wait_for(lambda: _no_updates_left(peer))
    finally:
        await hub.stop()
    assert [m.text for m in await store.thread_page(await only_contact(store, "Emma"))] == [
        "Hello shop"
    ]
    assert "ignored a message in a supergroup chat (allow_groups = false)" in caplog.text
    assert "florist" not in caplog.text  # customers' texts are never logged

    allowing = adapter_for(peer, "allow_groups = true")
    hub = Hub(store, [allowing], retry=FAST)
    await hub.start()
    try:
        peer.group_message(EMMA, "Flower fans", "the shop on 5th is great")
        await wait_stored(store, 2)
    finally:
        await hub.stop()


async def _no_updates_left(peer: BotApiPeer) -> bool:
    return not peer.updates


async def test_media_over_20_mb_is_listed_with_the_reason_not_downloaded(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    huge = peer.document(
        EMMA,
        b"(pretend this is 25 MB)",
        file_name="wedding-video.mov",
        mime_type="video/quicktime",
        caption="the video from the wedding",
        size=25 * 1024 * 1024,
    )
    await wait_stored(store, 1)
    message = (await store.thread_page(await only_contact(store, "Emma")))[0]
    (attachment,) = message.attachments
    assert attachment.filename == "wedding-video.mov" and attachment.size == 25 * 1024 * 1024
    assert "not downloaded: 25.0 MB is over the 20 MB a Telegram bot may download" in (
        attachment.note
    )
    assert await store.attachment_data(attachment.id) is None
    file_id = huge["message"]["document"]["file_id"]
    assert file_id not in peer.downloads
    assert not [c for c in peer.calls if c.method == "getFile"]


async def test_a_message_with_fields_missing_is_kept_with_a_marker(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    body = {
        "message_id": 77,
        "date": int(time.time()),
        "from": EMMA.user(),
        "text": "is the shop open?",
    }  # no "chat": python-telegram-bot cannot read it
    peer.push({"message": body}, check=False)
    peer.text(EMMA, "and on Sunday?")
    await wait_stored(store, 2)
    page = await store.thread_page(await only_contact(store, "Emma"))
    assert [m.text for m in page] == ["is the shop open?", "and on Sunday?"]
    assert "fields missing or malformed" in page[0].parse_error
    assert page[1].parse_error == ""


async def test_a_telegram_photo_shows_in_the_console(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter], tmp_path: Path
) -> None:
    from omnitui.app import OmniApp

    app = OmniApp(store, channels=[BOT], poll_changes=0.05, downloads=tmp_path / "dl")
    async with app.run_test(size=(120, 36)) as pilot:
        peer.photo(MISAKI, PICTURE, caption="この色で花束をお願いします")
        await wait_for(lambda: app.inbox.contacts.contacts, 5, "the photo is listed", pilot=pilot)
        assert app.inbox.contacts.contacts[0].name == "美咲 田中"
        await pilot.press("enter")
        await pilot.pause(0.2)
        shown = "\n".join(app.inbox.thread.lines_text())
        assert "この色で花束をお願いします" in shown
        assert "photo_1.jpg (image/jpeg" in shown
        await pilot.press("a")
        await pilot.pause(0.1)
        assert (tmp_path / "dl" / "photo_1.jpg").read_bytes() == PICTURE


# -- outbound ---------------------------------------------------------------


async def _customer_wrote(store: Store, peer: BotApiPeer, customer: Customer) -> int:
    peer.text(customer, "hello")
    await wait_stored(store, 1)
    return await only_contact(
        store, " ".join(filter(None, [customer.first_name, customer.last_name]))
    )


async def _last(store: Store, contact_id: int) -> tuple[Delivery, str]:
    message = (await store.thread_page(contact_id))[-1]
    return message.status, message.status_reason


async def test_a_reply_goes_out_to_the_customers_chat_and_shows_sent(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    contact_id = await _customer_wrote(store, peer, EMMA)
    await store.enqueue_reply(contact_id, BOT, "Your roses are ready 🌹")
    running[0].outbox_changed()

    async def sent() -> bool:
        return (await _last(store, contact_id))[0] is Delivery.SENT

    await wait_for(sent)
    assert [(s.chat_id, s.text) for s in peer.sent] == [(EMMA.id, "Your roses are ready 🌹")]
    rows = await store._rows("SELECT provider_id FROM message WHERE direction = 'out'")
    assert rows[0][0] == f"{EMMA.id}:{peer.sent[0].message_id}"


async def test_a_long_reply_is_split_at_lines_and_words(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    contact_id = await _customer_wrote(store, peer, EMMA)
    paragraph = " ".join(f"word{n}" for n in range(700))  # about 5,600 characters
    text = f"Dear Emma,\n{paragraph}\nSee you soon!"
    await store.enqueue_reply(contact_id, BOT, text)
    running[0].outbox_changed()

    async def sent() -> bool:
        return (await _last(store, contact_id))[0] is Delivery.SENT

    await wait_for(sent)
    parts = [s.text or "" for s in peer.sent]
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())  # no word cut or lost
    assert parts[0].endswith(tuple(f"word{n}" for n in range(700)))
    rows = await store._rows("SELECT provider_id FROM message WHERE direction = 'out'")
    assert rows[0][0] == f"{EMMA.id}:{peer.sent[0].message_id}"  # the reply's first part


def test_splitting_prefers_lines_then_sentences_then_words() -> None:
    assert split_text("short") == ["short"]
    assert split_text("   ") == []
    lines = "\n".join(["a" * 50] * 3)
    assert split_text(lines, limit=120) == ["\n".join(["a" * 50] * 2), "a" * 50]
    japanese = "ご注文ありがとうございます。" * 10  # no spaces: cut after 。
    parts = split_text(japanese, limit=50)
    assert all(p.endswith("。") and len(p) <= 50 for p in parts)
    assert "".join(parts) == japanese
    assert split_text("one two three four", limit=9) == ["one two", "three", "four"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    emoji = "🌹" * 3000  # 6,000 UTF-16 units: Telegram counts 2 per rose
    assert [len(p) for p in split_text(emoji)] == [2048, 952]


async def test_flood_control_is_honoured_then_the_reply_is_sent(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    contact_id = await _customer_wrote(store, peer, EMMA)
    peer.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await store.enqueue_reply(contact_id, BOT, "Thank you!")
    running[0].outbox_changed()

    async def retrying() -> bool:
        status, reason = await _last(store, contact_id)
        return status is Delivery.QUEUED and "flood control" in reason

    await wait_for(retrying)

    async def sent() -> bool:
        return (await _last(store, contact_id))[0] is Delivery.SENT

    await wait_for(sent)
    calls = [c.at for c in peer.calls if c.method == "sendMessage"]
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9
    assert [s.text for s in peer.sent] == ["Thank you!"]


async def test_flood_control_mid_reply_waits_rather_than_repeating_the_start(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    contact_id = await _customer_wrote(store, peer, EMMA)
    peer.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, after=1)
    await store.enqueue_reply(contact_id, BOT, ("line one\n" * 500).strip())
    running[0].outbox_changed()

    async def sent() -> bool:
        return (await _last(store, contact_id))[0] is Delivery.SENT

    await wait_for(sent)
    assert len(peer.sent) == 2  # two parts, each once


async def test_a_customer_who_blocked_the_bot_shows_a_failed_reply_in_words(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    contact_id = await _customer_wrote(store, peer, EMMA)
    peer.blocked.add(EMMA.id)
    await store.enqueue_reply(contact_id, BOT, "Are you still there?")
    running[0].outbox_changed()

    async def failed() -> bool:
        return (await _last(store, contact_id))[0] is Delivery.FAILED

    await wait_for(failed)
    _, reason = await _last(store, contact_id)
    assert reason == "the customer has blocked the shop's bot, so Telegram will not deliver (403)"
    assert len([c for c in peer.calls if c.method == "sendMessage"]) == 1  # not retried


async def test_photos_and_documents_go_out(peer: BotApiPeer) -> None:
    adapter = adapter_for(peer)
    try:
        provider_id = await adapter.send(
            Outbound(
                1,
                BOT,
                str(EMMA.id),
                "Here is your bouquet and the invoice",
                "",
                files=(
                    OutboundFile("bouquet.jpg", "image/jpeg", PICTURE),
                    OutboundFile("invoice.pdf", "application/pdf", b"%PDF-1.4 invoice"),
                ),
            )
        )
    finally:
        await adapter.close()
    assert [(s.method, s.file) for s in peer.sent] == [
        ("sendMessage", None),
        ("sendPhoto", PICTURE),
        ("sendDocument", b"%PDF-1.4 invoice"),
    ]
    assert peer.sent[2].filename == "invoice.pdf"
    assert provider_id == f"{EMMA.id}:{peer.sent[0].message_id}"


async def test_an_unreachable_telegram_is_a_retryable_failure(peer: BotApiPeer) -> None:
    adapter = adapter_for(peer)
    await adapter._ready()
    await peer.stop()  # the server goes away before the reply is sent
    try:
        with pytest.raises(SendError) as raised:
            await adapter.send(Outbound(1, BOT, str(EMMA.id), "hello", ""))
    finally:
        await adapter.close()
    assert raised.value.retryable
    assert "cannot reach Telegram" in raised.value.reason and TOKEN not in raised.value.reason


# -- conflicts, restarts, crashes ---------------------------------------------


async def test_another_poller_is_reported_in_words_and_not_retried_in_a_loop(
    store: Store, peer: BotApiPeer
) -> None:
    for _ in range(5):
        peer.fail("getUpdates", 409, CONFLICT_POLLER)
    adapter = adapter_for(peer)
    hub = Hub(store, [adapter], retry=RetryPolicy(first_delay=5.0))
    await hub.start()
    try:

        async def reported() -> bool:
            return "another program is polling this bot" in hub.errors.get("shop-bot", "")

        await wait_for(reported)
        await asyncio.sleep(0.5)
    finally:
        await hub.stop()
    assert "another program is polling this bot, or a webhook is set" in adapter.status["polling"]
    assert "terminated by other getUpdates request" in hub.errors["shop-bot"]
    assert len([c for c in peer.calls if c.method == "getUpdates"]) == 1


async def test_a_webhook_set_by_another_program_is_reported_and_left_alone(
    store: Store, peer: BotApiPeer
) -> None:
    peer.webhook = {"url": "https://crm.example.com/telegram", "secret_token": None}
    adapter = adapter_for(peer)
    hub = Hub(store, [adapter], retry=RetryPolicy(first_delay=5.0))
    await hub.start()
    try:

        async def reported() -> bool:
            return "a webhook is set (https://crm.example.com/telegram)" in hub.errors.get(
                "shop-bot", ""
            )

        await wait_for(reported)
    finally:
        await hub.stop()
    assert peer.webhook["url"] == "https://crm.example.com/telegram"
    assert not [c for c in peer.calls if c.method in ("deleteWebhook", "getUpdates")]


async def test_omnitui_switching_from_webhook_to_polling_removes_its_own_webhook(
    store: Store, peer: BotApiPeer
) -> None:
    peer.webhook = {"url": "https://shop.example.com/tg", "secret_token": SECRET}
    adapter = adapter_for(peer, 'webhook_url = "https://shop.example.com/tg"')
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:
        peer.text(EMMA, "hello again")
        await wait_stored(store, 1)
    finally:
        await hub.stop()
    assert not peer.webhook
    assert [c.params for c in peer.calls if c.method == "deleteWebhook"] == [
        {"drop_pending_updates": "false"}
    ]


async def test_a_restart_takes_up_at_the_stored_offset_without_duplicates(
    store: Store, peer: BotApiPeer
) -> None:
    first = [peer.text(EMMA, f"message {n}") for n in range(5)]
    adapter = adapter_for(peer)
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    await wait_stored(store, 5)
    await hub.stop()
    last_id = first[-1]["update_id"]
    assert await store.load_cursor("shop-bot", "offset") == str(last_id + 1)
    later = [peer.text(EMMA, f"message {n}") for n in range(5, 7)]
    calls_before = len(peer.calls)
    hub = Hub(store, [adapter_for(peer)], retry=FAST)
    await hub.start()
    try:
        await wait_stored(store, 7)
        await asyncio.sleep(0.2)
    finally:
        await hub.stop()
    polls = [c for c in peer.calls[calls_before:] if c.method == "getUpdates"]
    assert polls[0].params["offset"] == str(last_id + 1)  # confirms the first batch
    assert sorted(peer.served) == [u["update_id"] for u in first + later]  # each served once
    rows = await store._rows("SELECT count(*), count(DISTINCT provider_id) FROM message")
    assert tuple(rows[0]) == (7, 7)


async def test_kill_9_between_fetch_and_store_loses_and_doubles_nothing(
    tmp_path: Path, peer: BotApiPeer
) -> None:
    shop = ServeCommand(tmp_path, peer.url, TOKEN_ENV)
    db, log_file, serve = shop.db, shop.log_file, shop.start

    def count() -> tuple[int, int]:
        if not db.exists():
            return 0, 0
        conn = sqlite3.connect(db, timeout=10)
        try:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT provider_id) FROM message"
            ).fetchone()
            return int(row[0]), int(row[1])
        except sqlite3.OperationalError:
            return 0, 0
        finally:
            conn.close()

    for n in range(20):
        peer.text([EMMA, MISAKI][n % 2], f"order question {n}")
    peer.photo(MISAKI, PICTURE, caption="like this one")
    # 1. Killed while downloading the batch's photo: fetched, not stored.
    held = peer.hold("getFile")
    server = await serve()
    await asyncio.wait_for(held.reached.wait(), 20)
    server.send_signal(signal.SIGKILL)
    await server.wait()
    del peer.holds["getFile"]
    held.release()
    assert count() == (0, 0)
    # 2. Killed the moment the batch is served, before the answer reaches it.
    server = await serve()
    served = asyncio.Event()

    def kill(ids: list[int]) -> None:
        server.send_signal(signal.SIGKILL)
        served.set()

    peer.on_served = kill
    await asyncio.wait_for(served.wait(), 20)
    peer.on_served = None
    await server.wait()
    assert count() == (0, 0)
    # 3. Started again: everything arrives once, and so does what comes next.
    server = await serve()
    try:
        for n in range(20, 25):
            peer.text(EMMA, f"order question {n}")

        async def all_in() -> bool:
            return count()[0] >= 26

        with contextlib.suppress(AssertionError):  # the count is checked below
            await wait_for(all_in, 20)
        await asyncio.sleep(0.3)
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 20)
    assert count() == (26, 26)
    conn = sqlite3.connect(db)
    (attachment,) = conn.execute("SELECT data FROM attachment").fetchall()
    conn.close()
    assert attachment[0] == PICTURE
    logged = log_file.read_text(encoding="utf-8", errors="replace")
    assert "polling Telegram as @sakura_flowers_bot" in logged
    assert TOKEN not in logged and "order question" not in logged


# -- webhook ----------------------------------------------------------------


async def test_a_webhook_stores_updates_that_carry_the_secret_and_refuses_others(
    store: Store, peer: BotApiPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omnitui.telegram")
    port = free_port()
    adapter = adapter_for(
        peer,
        f'mode = "webhook"\nwebhook_listen = "127.0.0.1:{port}"\n'
        f'webhook_url = "http://127.0.0.1:{port}/telegram"\nsecret_env = "{SECRET_ENV}"',
    )
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def webhook_set() -> bool:
            return bool(peer.webhook.get("url")) and "webhook" in adapter.status

        await wait_for(webhook_set)
        assert peer.webhook == {
            "url": f"http://127.0.0.1:{port}/telegram",
            "secret_token": SECRET,
        }
        forged = peer.compose(EMMA, text="send your card number to this link")
        assert await peer.send_webhook(forged, secret="guessed") == 403
        assert await peer.send_webhook(forged, secret=None) == 403
        async with (
            ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/telegram", data=b"{}") as response,
        ):
            assert response.status == 403
        assert await stored(store) == 0
        real = peer.compose(EMMA, text="Do you deliver on Sunday?")
        assert await peer.send_webhook(real) == 200
        assert await stored(store) == 1  # stored before the 200
        assert await peer.send_webhook(real) == 200  # Telegram resending: kept once
        photo = peer.compose(EMMA, photo=[peer._photo_size(peer.add_file(PICTURE), 800, 600)])
        assert await peer.send_webhook(photo) == 200
    finally:
        await hub.stop()
    page = await store.thread_page(await only_contact(store, "Emma"))
    assert [m.text for m in page] == ["Do you deliver on Sunday?", "📷 photo"]
    assert await store.attachment_data(page[1].attachments[0].id) == PICTURE
    assert "wrong secret token (answered 403)" in caplog.text
    assert "no secret token (answered 403)" in caplog.text
    assert "card number" not in caplog.text and SECRET not in caplog.text


async def test_a_webhook_body_that_is_not_an_acceptable_update_is_refused_and_logged(
    store: Store, peer: BotApiPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omnitui.telegram")
    port = free_port()
    adapter = adapter_for(
        peer,
        f'mode = "webhook"\nwebhook_listen = "127.0.0.1:{port}"\n'
        f'webhook_url = "http://127.0.0.1:{port}/telegram"\nsecret_env = "{SECRET_ENV}"',
    )
    deep = b'{"update_id": 7, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    update = peer.compose(EMMA, text="my card number is 4111")
    nested: object = "the bottom"
    for _ in range(200):  # deep enough to refuse, shallow enough for json to parse
        nested = {"again": nested}
    padded = json.dumps({**update, "pad": "x" * (1024 * 1024)}).encode()

    async def in_chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(padded), 65536):
            yield padded[start : start + 65536]

    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def webhook_set() -> bool:
            return bool(peer.webhook.get("url")) and "webhook" in adapter.status

        await wait_for(webhook_set)
        # The secret first: without it nothing else is looked at.
        assert await peer.post_to_webhook(deep, secret=None) == 403
        assert await peer.post_to_webhook(deep, secret="guessed") == 403
        refused = {
            "deep": await peer.post_to_webhook(deep),
            "nested": await peer.post_to_webhook(json.dumps({**update, "extra": nested}).encode()),
            "not json": await peer.post_to_webhook(b"update_id=8&text=hello"),
            "not utf-8": await peer.post_to_webhook(b'{"update_id": 9, "text": "\xff\xfe"}'),
            "surrogate": await peer.post_to_webhook(b'{"update_id": 10, "text": "\\ud800"}'),
            "array": await peer.post_to_webhook(b"[1, 2, 3]"),
            "no update_id": await peer.post_to_webhook(b'{"message": {}}'),
            "too big": await peer.post_to_webhook(padded),
            "too big, chunked": await peer.post_to_webhook(in_chunks()),
        }
        assert await stored(store) == 0
        # The listener is fine and takes the real thing.
        assert await peer.send_webhook(update) == 200
    finally:
        await hub.stop()
    assert refused == {
        "deep": 400,
        "nested": 400,
        "not json": 400,
        "not utf-8": 400,
        "surrogate": 400,
        "array": 400,
        "no update_id": 400,
        "too big": 413,
        "too big, chunked": 413,
    }
    assert [m.text for m in await store.thread_page(await only_contact(store, "Emma"))] == [
        "my card number is 4111"
    ]
    lines = [r.getMessage() for r in caplog.records if "refused a webhook" in r.getMessage()]
    assert sum("(answered 403)" in line for line in lines) == 2
    assert sum("(answered 400)" in line for line in lines) == 7
    assert sum("(answered 413)" in line for line in lines) == 2
    assert any(f"nested deeper than {telegram_adapter.MAX_JSON_DEPTH}" in x for x in lines)
    assert any("not UTF-8" in x for x in lines) and any("not JSON" in x for x in lines)
    assert "card number" not in caplog.text and SECRET not in caplog.text


async def test_webhook_mode_without_a_secret_does_not_start(
    store: Store, peer: BotApiPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    port = free_port()
    adapter = adapter_for(
        peer,
        f'mode = "webhook"\nwebhook_listen = "127.0.0.1:{port}"\n'
        f'webhook_url = "https://shop.example.com/tg"\nsecret_env = "{SECRET_ENV}"',
    )
    hub = Hub(store, [adapter], retry=RetryPolicy(first_delay=5.0))
    await hub.start()
    try:

        async def reported() -> bool:
            return SECRET_ENV in hub.errors.get("shop-bot", "")

        await wait_for(reported)
    finally:
        await hub.stop()
    assert not peer.webhook


# -- doctor and secrets -------------------------------------------------------


async def test_doctor_checks_the_token_and_the_mode(peer: BotApiPeer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "shop.db"}"\n\n[[telegram]]\nname = "shop-bot"\n'
        f'token_env = "{TOKEN_ENV}"\napi_base = "{peer.url}"\n',
        encoding="utf-8",
    )
    doctor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        "--config",
        str(config),
        "doctor",
        env={**os.environ, TOKEN_ENV: TOKEN, "HOME": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await doctor.communicate()
    lines = out.decode().splitlines()
    assert doctor.returncode == 0, lines
    assert f"ok    shop-bot bot @sakura_flowers_bot accepted the token ({peer.url})" in lines
    assert "ok    shop-bot mode polling: no webhook set, 0 update(s) waiting" in lines

    peer.webhook = {"url": "https://crm.example.com/telegram", "secret_token": None}
    checked = await telegram_adapter.check(bot_config(peer))
    assert checked[1] == (
        False,
        "mode polling, but a webhook is set (https://crm.example.com/telegram): Telegram "
        'sends this bot\'s messages there and refuses polling. Remove it, or set mode = "webhook"',
    )
    # Webhook mode without its keys is a config mistake, named by file and line.
    with pytest.raises(
        ConfigError, match=r'test.toml, line 2: telegram\[0\]: mode = "webhook" needs'
    ):
        bot_config(peer, 'mode = "webhook"')

    wrong = TelegramConfig.model_validate(
        {"name": "shop-bot", "token_env": "WRONG_TOKEN_VAR", "api_base": peer.url}
    )
    os.environ["WRONG_TOKEN_VAR"] = "7000001:AAH-not_the_right_token_at_all-000"
    try:
        (line,) = await telegram_adapter.check(wrong)
    finally:
        del os.environ["WRONG_TOKEN_VAR"]
    assert line == (
        False,
        "token Telegram refused the bot token of shop-bot: check token_env or token_cmd "
        "(the token comes from @BotFather)",
    )

    closed = TelegramConfig.model_validate(
        {"name": "b", "token_env": TOKEN_ENV, "api_base": f"http://127.0.0.1:{free_port()}"}
    )
    ((good, text),) = await telegram_adapter.check(closed)
    assert not good and text.startswith("token unreachable: cannot connect to http://127.0.0.1:")


async def test_the_token_stays_out_of_logs_and_errors(
    store: Store, peer: BotApiPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = TelegramConfig.model_validate(
        {"name": "shop-bot", "token_env": "OTHER_TOKEN", "api_base": peer.url}
    )
    other = "7000001:AAH-some_other_token_value-0000000"
    adapter = TelegramAdapter(wrong, token=lambda: other)
    hub = Hub(store, [adapter], retry=RetryPolicy(first_delay=5.0))
    await hub.start()
    try:

        async def reported() -> bool:
            return "refused the bot token" in hub.errors.get("shop-bot", "")

        await wait_for(reported)
    finally:
        await hub.stop()
    good = adapter_for(peer)
    hub = Hub(store, [good], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:
        peer.text(EMMA, "my secret order note")
        await wait_stored(store, 1)
        await store.enqueue_reply(await only_contact(store, "Emma"), BOT, "noted, thank you")
        hub.outbox_changed()
        await wait_for(lambda: _sent_count(peer, 1))
    finally:
        await hub.stop()
    for text in (caplog.text, " ".join(hub.errors.values()), str(adapter.status)):
        assert TOKEN not in text and other not in text
        assert "%3A" not in text
    assert "my secret order note" not in caplog.text


async def _sent_count(peer: BotApiPeer, n: int) -> bool:
    return len(peer.sent) >= n


async def test_sharing_her_own_number_links_her_sms_history_and_can_be_undone(
    store: Store, peer: BotApiPeer, running: tuple[Hub, TelegramAdapter]
) -> None:
    sms = Channel(ChannelKind.SMS, "shop-sms")
    texted = await store.ingest(
        [Inbound(sms, "SM1", "+447700900123", "", "Are you open on Sunday?", 1.0)]
    )
    peer.text(EMMA, "Hi, it's Emma from the SMS earlier")
    peer.contact(EMMA, "44 7700 900123", first_name="Emma", user_id=EMMA.id)
    await wait_stored(store, 3)

    async def linked() -> bool:
        return await store.count_contacts() == 1

    await wait_for(linked)
    contact = (await store.list_contacts())[0]
    assert contact.channels == {ChannelKind.SMS, ChannelKind.TELEGRAM}
    texts = [m.text for m in await store.thread_page(contact.id)]
    assert texts[0] == "Are you open on Sunday?" and len(texts) == 3
    record = await store.last_merge_into(contact.id)
    assert record is not None
    rows = await store._rows("SELECT evidence FROM merge_record WHERE id = ?", (record,))
    assert rows[0][0] == "telegram user shared their own phone +447700900123"
    await store.undo_merge(record)
    assert await store.count_contacts() == 2
    assert [m.text for m in await store.thread_page(texted[0].contact_id)] == [
        "Are you open on Sunday?"
    ]
