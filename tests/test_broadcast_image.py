"""A broadcast with an image: stored once, sent where each channel takes one.

Against the real peers: the Bot API peer (sendPhoto with the image's bytes),
aiosmtpd (the mail's image part), the LINE peer (an image message by the
shop's public address, in the same push as the text) and the Twilio peer
(MMS from a US number, text alone from a Japanese one). `omnitui broadcast`
runs as a user runs it (a subprocess).
"""

from __future__ import annotations

import asyncio
import email
import io
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from email.policy import default
from pathlib import Path

import pytest
from PIL import Image

from omnitui.adapters.email import EmailAdapter
from omnitui.domain.broadcast import plan_broadcast
from omnitui.domain.broadcast_image import (
    BroadcastImage,
    ImageProblem,
    ImageWay,
    can_send_mms,
    check_image,
    image_reach,
)
from omnitui.domain.models import Channel, ChannelKind, Delivery, Inbound, Message
from omnitui.domain.public_links import media_url, preview_url
from omnitui.domain.views import TagView
from omnitui.hub import Hub
from omnitui.store import Store
from tests import test_email, test_line, test_telegram
from tests.conftest import StoreOpener, fixture_dir
from tests.peers.dovecot import Dovecot, free_port
from tests.peers.line_api import LinePeer
from tests.peers.telegram_api import BotApiPeer, Customer
from tests.peers.twilio_api import TwilioPeer, TwilioSpec
from tests.test_broadcast import a_shop, run_cli, telegram_config, vip_bot_customers
from tests.test_email import FAST, Recorder
from tests.waiting import wait_until

# The peers' fixtures, as the channels' own tests run them.
dovecot = test_email.dovecot
smtp = test_email.smtp
mail_password = test_email.mail_password
bot_token = test_telegram.bot_token

BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
LINE = Channel(ChannelKind.LINE, "shop-line")
SMS = Channel(ChannelKind.SMS, "shop-sms")
PUBLIC = "https://shop.example.com/omnitui"
SALE = "{first_name|Hello}, Mother's Day bouquets are ready to order."
TWILIO_ACCOUNT = "AC" + "1a2b" * 8
TWILIO_TOKEN = "tw-test-token-1a2b"
TWILIO_TOKEN_ENV = "OMNITUI_TEST_TWILIO_TOKEN"


def poster(kind: str = "PNG", side: int = 64) -> bytes:
    """A real picture, as a shop's poster would be."""
    out = io.BytesIO()
    Image.new("RGB", (side, side), (230, 120, 160)).save(out, format=kind)
    return out.getvalue()


def image_for(data: bytes, ways: dict[str, ImageWay], *, public_url: str = "") -> BroadcastImage:
    return BroadcastImage(
        name="poster.png",
        content_type=check_image("poster.png", data),
        data=data,
        ways=ways,
        public_url=public_url,
    )


async def broadcast_with_image(
    store: Store, hub: Hub, channel: Channel, image: BroadcastImage
) -> int:
    audience = await store.broadcast_audience(["vip"])
    plan = plan_broadcast(
        audience, await store.canned_replies(), "sale", [channel], email_requires_consent=False
    )
    assert plan.messages
    number = await store.create_broadcast("sale", {"tags": ["vip"]}, plan, image=image)
    hub.outbox_changed()

    async def done() -> bool:
        return not (await store.broadcast_progress(number)).active

    await wait_until(done, 30, "the broadcast to finish")
    return number


async def image_copies(store: Store, data: bytes) -> int:
    """How many rows of the store hold the image's bytes."""
    [(copies,)] = await store._rows(
        "SELECT (SELECT count(*) FROM broadcast WHERE image = ?) "
        "+ (SELECT count(*) FROM attachment WHERE data = ?)",
        (data, data),
    )
    return int(copies)


# -- checking the file ---------------------------------------------------------


def test_only_a_jpeg_or_png_of_at_most_10_mb_goes_with_a_broadcast() -> None:
    assert check_image("poster.jpg", poster("JPEG")) == "image/jpeg"
    assert check_image("poster.png", poster("PNG")) == "image/png"
    with pytest.raises(ImageProblem, match=r"menu\.gif: not a JPEG or PNG image"):
        check_image("menu.gif", poster("GIF"))
    with pytest.raises(ImageProblem, match=r"notes\.txt: not a JPEG or PNG image"):
        check_image("notes.txt", b"Mother's Day orders open")
    with pytest.raises(ImageProblem, match=r"huge\.png: 10\.0 MB is more than"):
        check_image("huge.png", poster() + b"\0" * (10 * 1024 * 1024))


def test_the_image_goes_by_file_or_link_and_mms_only_from_us_and_canadian_numbers() -> None:
    assert can_send_mms("+14155550000") and can_send_mms("+16045550100")
    assert not can_send_mms("+815012345678") and not can_send_mms("")
    channels = [BOT, MAIL, LINE, SMS]
    without = image_reach(channels, None, {"shop-sms": "+14155550000"})
    assert without.ways == {"shop-bot": ImageWay.FILE, "shop-mail": ImageWay.FILE}
    assert set(without.text_only) == {"shop-line", "shop-sms"}
    us = image_reach(channels, PUBLIC, {"shop-sms": "+14155550000"})
    assert us.ways["shop-line"] is ImageWay.LINK and us.ways["shop-sms"] is ImageWay.LINK
    japan = image_reach(channels, PUBLIC, {"shop-sms": "+815012345678"})
    assert "shop-sms" not in japan.ways and japan.ways["shop-line"] is ImageWay.LINK


# -- the command line ----------------------------------------------------------


async def test_a_bad_image_is_refused_by_name_and_nothing_is_written(
    tmp_path: Path, telegram_peer: BotApiPeer, open_store: StoreOpener
) -> None:
    # On SQLite: the store's file is the same, byte for byte, after each refusal.
    config = telegram_config(open_store, tmp_path, telegram_peer, per_second=25)
    await vip_bot_customers(open_store, [Customer(8600, "GuestA")])
    db = tmp_path / "shop.db"
    before = db.read_bytes()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture", encoding="utf-8")
    huge = tmp_path / "huge.png"
    huge.write_bytes(poster() + b"\0" * (10 * 1024 * 1024))
    for bad, said in (
        (notes, "not a JPEG or PNG image"),
        (huge, "is more than a broadcast image may be"),
        (tmp_path / "missing.png", "missing.png"),
    ):
        code, out, err = await run_cli(
            tmp_path,
            *("--config", str(config), "broadcast", "sale", "--tag", "vip"),
            *("--image", str(bad), "--yes"),
        )
        assert code == 2, (out, err)
        assert str(bad) in err and said in err
        assert "Traceback" not in err
    assert db.read_bytes() == before
    assert not telegram_peer.sent


async def test_telegram_customers_get_the_photo_with_the_text_as_its_caption(
    tmp_path: Path, telegram_peer: BotApiPeer, open_store: StoreOpener
) -> None:
    config = telegram_config(open_store, tmp_path, telegram_peer, per_second=25)
    customers = [Customer(8700 + n, f"Guest{chr(65 + n)}") for n in range(3)]
    await vip_bot_customers(open_store, customers)
    picture = tmp_path / "poster.jpg"
    data = poster("JPEG", 200)
    picture.write_bytes(data)
    code, out, err = await run_cli(
        tmp_path,
        *("--config", str(config), "broadcast", "sale", "--tag", "vip"),
        *("--image", str(picture), "--yes"),
    )
    assert code == 0, err
    assert "🖼 poster.jpg" in out
    sent = telegram_peer.sent
    assert [s.method for s in sent] == ["sendPhoto"] * 3
    assert all(s.file == data for s in sent)
    assert {s.chat_id: s.caption for s in sent}[8700] == (
        "GuestA, Mother's Day bouquets are ready to order."
    )
    # The thread names the image like an attachment; the bytes are on the broadcast once.
    store = await Store.open(tmp_path / "shop.db")
    try:
        contact = (await store.list_contacts())[0]
        last = (await store.thread_page(contact.id))[-1]
        assert last.status is Delivery.SENT
        assert [(a.filename, a.size) for a in last.attachments] == [("poster.jpg", len(data))]
        assert await image_copies(store, data) == 1
    finally:
        await store.close()


# -- Telegram: a long text after the photo, and a retry -------------------------


@pytest.fixture
async def bot_hub(store: Store, telegram_peer: BotApiPeer) -> AsyncIterator[Hub]:
    hub = Hub(store, [test_telegram.adapter_for(telegram_peer)], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


async def bot_customers(store: Store, *customers: Customer) -> None:
    now = time.time()
    got = await store.ingest(
        [Inbound(BOT, f"{c.id}:1", str(c.id), c.first_name, "hi", now - 60) for c in customers]
    )
    for g in got:
        await store.update_contact(g.contact_id, tags=["vip"])


@pytest.mark.backends
async def test_a_text_too_long_for_a_caption_follows_the_photo_and_a_retry_never_repeats_the_photo(
    store: Store, telegram_peer: BotApiPeer, bot_hub: Hub
) -> None:
    customers = [Customer(8800 + n, f"Guest{chr(65 + n)}") for n in range(2)]
    await bot_customers(store, *customers)
    long_text = "{first_name|Hello}, " + "our Mother's Day bouquets are ready. " * 40
    await store.add_canned_replies([("sale", "Mother's Day", long_text, "en")])
    # The photo goes, then Telegram asks to wait before the text: the text waits,
    # the photo is not sent again.
    telegram_peer.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    data = poster()
    number = await broadcast_with_image(
        store, bot_hub, BOT, image_for(data, {"shop-bot": ImageWay.FILE})
    )
    per_chat = Counter((s.chat_id, s.method) for s in telegram_peer.sent)
    for c in customers:
        assert per_chat[(c.id, "sendPhoto")] == 1, telegram_peer.sent
        assert per_chat[(c.id, "sendMessage")] == 1, telegram_peer.sent
    photos = [s for s in telegram_peer.sent if s.method == "sendPhoto"]
    assert all(s.file == data and not s.caption for s in photos)
    texts = [s.text or "" for s in telegram_peer.sent if s.method == "sendMessage"]
    assert all(t.startswith("Guest") and len(t) > 1024 for t in texts)
    progress = await store.broadcast_progress(number)
    assert progress.total("sent") == 2 and progress.total("failed", "unknown") == 0


@pytest.mark.backends
async def test_an_agents_retry_after_the_text_failed_sends_only_the_text(
    store: Store, telegram_peer: BotApiPeer, bot_hub: Hub
) -> None:
    guest = Customer(8900, "GuestA")
    await bot_customers(store, guest)
    long_text = "{first_name|Hello}, " + "our Mother's Day bouquets are ready. " * 40
    await store.add_canned_replies([("sale", "Mother's Day", long_text, "en")])
    # A refusal that is not "try later": the message fails, the photo having gone.
    telegram_peer.fail("sendMessage", 400, "Bad Request: message is too long")
    number = await broadcast_with_image(
        store, bot_hub, BOT, image_for(poster(), {"shop-bot": ImageWay.FILE})
    )
    contact = (await store.list_contacts())[0]
    failed = (await store.thread_page(contact.id))[-1]
    assert failed.status is Delivery.FAILED and "photo went out" in failed.status_reason
    await store.retry(failed.id)
    bot_hub.outbox_changed()

    async def sent() -> bool:
        return (await store.broadcast_progress(number)).total("sent") == 1

    await wait_until(sent, 20, "the retried message to go")
    assert Counter(s.method for s in telegram_peer.sent) == {"sendPhoto": 1, "sendMessage": 1}


# -- email ---------------------------------------------------------------------


@pytest.mark.backends
async def test_a_broadcast_mail_carries_the_image(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], mail_password: None
) -> None:
    recorder, port = smtp
    now = time.time()
    got = await store.ingest(
        [Inbound(MAIL, "<k@x>", "ken@example.com", "Ken Sato", "hello", now - 60)]
    )
    await store.update_contact(got[0].contact_id, tags=["vip"])
    await store.add_canned_replies([("sale", "Mother's Day", SALE, "en")])
    data = poster("JPEG", 120)
    adapter = EmailAdapter(test_email.account(dovecot, port))
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:
        await broadcast_with_image(store, hub, MAIL, image_for(data, {"shop-mail": ImageWay.FILE}))
    finally:
        await hub.stop()
    assert len(recorder.messages) == 1
    mail = email.message_from_bytes(recorder.messages[0][2], policy=default)
    images = [p for p in mail.walk() if p.get_content_type() == "image/jpeg"]
    assert len(images) == 1 and images[0].get_payload(decode=True) == data
    body = mail.get_body(("plain",))
    assert body is not None and "Ken, Mother's Day bouquets" in body.get_content()


# -- LINE ----------------------------------------------------------------------


@pytest.fixture
def line_secrets(monkeypatch: pytest.MonkeyPatch, line_peer: LinePeer) -> None:
    monkeypatch.setenv(test_line.TOKEN_ENV, line_peer.token)
    monkeypatch.setenv(test_line.SECRET_ENV, line_peer.secret)


@pytest.mark.backends
async def test_line_gets_the_image_by_its_public_address_in_the_same_push_as_the_text(
    store: Store, line_peer: LinePeer, line_secrets: None
) -> None:
    hanako = line_peer.add_user("Hanako", language="en")
    await store.add_canned_replies([("sale", "Mother's Day", SALE, "en")])
    async with test_line.running(store, line_peer) as (_, url):
        assert (await line_peer.send(url, line_peer.text(hanako, "hello"))).status == 200
        contact = await test_line.contact_of(store, hanako)
        assert contact is not None
        await store.update_contact(contact.id, tags=["vip"])
        used = line_peer.consumption
        number = await store.create_broadcast(
            "sale",
            {"tags": ["vip"]},
            plan_broadcast(
                await store.broadcast_audience(["vip"]),
                await store.canned_replies(),
                "sale",
                [LINE],
            ),
            image=image_for(poster(), {"shop-line": ImageWay.LINK}, public_url=PUBLIC),
        )

        async def done() -> bool:
            return not (await store.broadcast_progress(number)).active

        await wait_until(done, 20, "the LINE broadcast")
    [(token,)] = await store._rows("SELECT public_token FROM broadcast WHERE id = ?", (number,))
    assert token
    pushes = [d for d in line_peer.delivered[hanako.user_id] if d.kind == "push"]
    assert len(pushes) == 1
    image, text = pushes[0].messages
    assert image == {
        "type": "image",
        "originalContentUrl": media_url(PUBLIC, token),
        "previewImageUrl": preview_url(PUBLIC, token),
    }
    assert text["type"] == "text" and text["text"].startswith("Hanako, Mother's Day")
    assert line_peer.consumption == used + 1  # one request: one message of the quota


# -- SMS -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def twilio_spec() -> TwilioSpec:
    return TwilioSpec.load(fixture_dir("twilio"))


def sms_config(tmp_path: Path, peer: TwilioPeer, number: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[store]\npath = "{tmp_path / "shop.db"}"\n\n'
        "[broadcast]\nsms_segments_per_second = 20\n"
        f'public_listen = "127.0.0.1:{free_port()}"\npublic_url = "{PUBLIC}"\n\n'
        f'[[sms]]\nname = "shop-sms"\nprovider = "twilio"\naccount_sid = "{TWILIO_ACCOUNT}"\n'
        f'auth_token_env = "{TWILIO_TOKEN_ENV}"\nfrom = "{number}"\n'
        f'api_base = "{peer.base_url}"\ninbound = "poll"\npoll_seconds = 1\n'
        'default_region = "US"\n',
        encoding="utf-8",
    )
    return config


async def texters(tmp_path: Path, count: int) -> None:
    store = await Store.open(tmp_path / "shop.db")
    now = time.time()
    got = await store.ingest(
        [
            Inbound(SMS, f"SMin{n}", f"+1415555{n:04d}", f"Guest{n}", "hi", now - 60)
            for n in range(count)
        ]
    )
    for g in got:
        await store.update_contact(g.contact_id, tags=["vip"])
    await store.add_canned_replies([("sale", "Mother's Day", SALE, "en")])
    await store.close()


@pytest.mark.parametrize(
    ("number", "mms"), [("+14155550000", True), ("+815012345678", False)], ids=["us", "japan"]
)
async def test_mms_goes_from_a_us_number_and_a_japanese_number_sends_the_text_alone(
    tmp_path: Path,
    twilio_spec: TwilioSpec,
    monkeypatch: pytest.MonkeyPatch,
    number: str,
    mms: bool,
) -> None:
    monkeypatch.setenv(TWILIO_TOKEN_ENV, TWILIO_TOKEN)
    peer = TwilioPeer(twilio_spec, TWILIO_ACCOUNT, TWILIO_TOKEN, number)
    await peer.start()
    try:
        config = sms_config(tmp_path, peer, number)
        await texters(tmp_path, 2)
        picture = tmp_path / "poster.png"
        picture.write_bytes(poster())
        code, out, err = await run_cli(
            tmp_path,
            *("--config", str(config), "broadcast", "sale", "--tag", "vip"),
            *("--image", str(picture), "--yes"),
        )
        assert code == 0, err
    finally:
        await peer.stop()
    assert not peer.violations, peer.violations
    sent = [m for m in peer.messages.values() if m["direction"] == "outbound-api"]
    assert len(sent) == 2 and all(
        m["body"] == "Hello, Mother's Day bouquets are ready to order." for m in sent
    )
    with sqlite3.connect(tmp_path / "shop.db") as conn:
        token = conn.execute("SELECT public_token FROM broadcast").fetchone()[0]
    if mms:
        assert all(peer.sent_media.get(m["sid"]) == [media_url(PUBLIC, token)] for m in sent)
        assert "text only" not in out
    else:
        assert not peer.sent_media
        assert "SMS: text only — Twilio sends MMS only from US and Canadian numbers" in out


# -- one copy ------------------------------------------------------------------


async def test_two_thousand_recipients_share_one_copy_of_the_image(store: Store) -> None:
    now = time.time()
    got = await store.ingest(
        [
            Inbound(MAIL, f"<{n}@x>", f"guest{n}@example.com", f"Guest {n}", "hi", now - 60)
            for n in range(2000)
        ]
    )
    for g in got:
        await store.update_contact(g.contact_id, tags=["vip"])
    await store.add_canned_replies([("sale", "Mother's Day", SALE, "en")])
    # A poster of about 1 MB that does not compress.
    noise = Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    data = out.getvalue()
    assert len(data) > 500_000
    size_before = _store_size(store.path)
    plan = plan_broadcast(
        await store.broadcast_audience(["vip"]),
        await store.canned_replies(),
        "sale",
        [MAIL],
        email_requires_consent=False,
    )
    assert len(plan.messages) == 2000
    await store.create_broadcast(
        "sale", {"tags": ["vip"]}, plan, image=image_for(data, {"shop-mail": ImageWay.FILE})
    )
    grown = _store_size(store.path) - size_before
    # One copy, plus 2,000 small messages: far from 2,000 copies (about 2 GB).
    assert grown < len(data) + 4_000_000, grown
    assert await image_copies(store, data) == 1
    # Each message gets the bytes when it goes, from the one copy.
    jobs = await store.claim_broadcast("shop-mail", limit=3)
    assert [j.files[0].data == data for j in jobs] == [True, True, True]
    # Cancelled, the rest leave the threads, the image's name with them.
    [number] = [b.id for b in await store.broadcasts()]
    assert await store.cancel_broadcast(number) == 1997
    thread = await store.thread_page(got[-1].contact_id)
    assert [m.text for m in thread] == ["hi"]


def _store_size(path: Path) -> int:
    """The store's size on disk, its write-ahead log included."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


# -- the console ---------------------------------------------------------------


@pytest.mark.backends
async def test_the_console_adds_an_image_as_the_composer_attaches_a_file_and_says_where_it_cannot_go(
    store: Store, tmp_path: Path
) -> None:
    from omnitui.screens.attach import AttachScreen
    from omnitui.screens.inbox import InboxScreen
    from tests import test_broadcast_console as console_tests

    ids = await a_shop(store)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture", encoding="utf-8")
    picture = tmp_path / "poster.jpg"
    data = poster("JPEG", 300)
    picture.write_bytes(data)
    app = console_tests.console(store)
    async with app.run_test(size=(100, 40)) as pilot:
        inbox = await console_tests.inbox_ready(pilot, app)
        await inbox.set_view(TagView("vip"))
        screen = await console_tests.look_at(pilot, app)
        for path in (notes, picture):
            await pilot.press("ctrl+o")
            await wait_until(lambda: isinstance(app.screen, AttachScreen), pilot=pilot)
            await pilot.press(*str(path), "enter")
            await wait_until(lambda: app.screen is screen, pilot=pilot)
            if path == notes:  # said at once (a toast goes after a while)
                await wait_until(
                    lambda: any(
                        "notes.txt: not a JPEG or PNG image" in t for t in console_tests.toasts(app)
                    ),
                    pilot=pilot,
                )
        await console_tests.shows(pilot, app, f"🖼 poster.jpg, {round(len(data) / 1024)} KB")
        # No public address in this config: LINE takes the text alone, and says so.
        await console_tests.shows(
            pilot, app, "LINE: text only — set [broadcast] public_url to send the image"
        )
        assert "email: text only" not in console_tests.screen_text(app)
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
    assert await image_copies(store, data) == 1
    ken = (await store.thread_page(ids["ken"]))[-1]
    hanako = (await store.thread_page(ids["hanako"]))[-1]
    assert [a.filename for a in ken.attachments] == ["poster.jpg"]
    # Saved from the thread, it is the broadcast's one copy.
    assert await store.attachment_data(ken.attachments[0].id) == data
    assert hanako.attachments == ()
    [job] = await store.claim_broadcast("shop-mail")
    assert [f.data for f in job.files] == [data]
    [line_job] = await store.claim_broadcast("shop-line")
    assert line_job.files == () and "image" not in line_job.meta


# -- kill -9 between the photo and the text -------------------------------------


async def test_kill_9_between_the_photo_and_the_text_then_a_retry_sends_the_text_alone(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    from tests import test_broadcast_crash as crash

    config = await crash.a_shop(tmp_path, telegram_peer, 1, per_second=25)
    store = await Store.open(tmp_path / "shop.db")
    long_text = "{first_name|Hello}, " + "our Mother's Day bouquets are ready. " * 40
    await store.add_canned_replies([("long", "Mother's Day", long_text, "en")])
    await store.close()
    picture = tmp_path / "poster.png"
    data = poster()
    picture.write_bytes(data)
    hold = telegram_peer.hold("sendMessage")
    server = await crash.serve(config, tmp_path, telegram_peer)
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "omnitui.cli", "--config", str(config), "broadcast", "long"),
        *("--tag", "vip", "--image", str(picture), "--yes"),
        env=crash.environment(tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # The photo went; the text is on its way when the process that sends dies.
        await asyncio.wait_for(hold.reached.wait(), 30)
        server.send_signal(signal.SIGKILL)
        await server.wait()
        # Telegram never got the text (the connection died with the process).
        telegram_peer.fail("sendMessage", 500, "Internal Server Error: connection lost")
        del telegram_peer.holds["sendMessage"]
        hold.release()
        server = await crash.serve(config, tmp_path, telegram_peer)
        store = await Store.open(tmp_path / "shop.db")
        try:
            contact = (await store.list_contacts())[0]

            async def unknown() -> Message | None:
                last = (await store.thread_page(contact.id))[-1]
                return last if last.status is Delivery.UNKNOWN else None

            await wait_until(unknown, 30, "the interrupted message to be unknown")
            interrupted = await unknown()
            assert interrupted is not None
            # The agent looks in Telegram, sees the photo without its text, and retries.
            await store.retry(interrupted.id)

            async def sent() -> bool:
                return (await store.thread_page(contact.id))[-1].status is Delivery.SENT

            await wait_until(sent, 30, "the retried message to be sent")
        finally:
            await store.close()
    finally:
        await crash.stop(server)
        if command.returncode is None:
            command.kill()
        await command.wait()
    methods = Counter(s.method for s in telegram_peer.sent)
    assert methods == {"sendPhoto": 1, "sendMessage": 1}, telegram_peer.sent
    [photo] = [s for s in telegram_peer.sent if s.method == "sendPhoto"]
    assert photo.file == data
