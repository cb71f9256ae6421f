"""SMS: the real twilio SDK against a loopback Twilio checked against Twilio's own spec."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from omnitui import cli
from omnitui.adapters import sms
from omnitui.adapters.base import SendError
from omnitui.adapters.sms import SmsAdapter, api_http_client
from omnitui.app import OmniApp
from omnitui.config import SmsConfig, parse
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Contact,
    Delivery,
    DeliveryUpdate,
    IdentityKind,
    Inbound,
    Message,
    Outbound,
)
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store, StoreError
from tests.conftest import fixture_dir
from tests.peers.dovecot import free_port
from tests.peers.twilio_api import Fault, Posted, TwilioPeer, TwilioSpec, wait_until

pytestmark = pytest.mark.backends

ACCOUNT = "AC" + "5f0c" * 8
TOKEN = "tw-test-token-5f0c9e"
TOKEN_ENV = "OMNITUI_TEST_TWILIO_TOKEN"
SHOP = "+815012345678"
EMMA = "+819012345678"
KEN = "+818011112222"
SMS = Channel(ChannelKind.SMS, "shop-sms")
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.3, max_attempts=4)
PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-flowers" * 40


@pytest.fixture(scope="session")
def twilio_spec() -> TwilioSpec:
    """Twilio's OpenAPI spec, loaded once per session (about 2 s)."""
    return TwilioSpec.load(fixture_dir("twilio"))


@pytest.fixture
async def peer(twilio_spec: TwilioSpec) -> AsyncIterator[TwilioPeer]:
    twilio = TwilioPeer(twilio_spec, ACCOUNT, TOKEN, SHOP)
    await twilio.start()
    yield twilio
    await twilio.stop()
    if twilio.violations:
        pytest.fail("left Twilio's spec:\n" + "\n".join(twilio.violations))


@pytest.fixture(autouse=True)
def twilio_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def sms_toml(peer: TwilioPeer, *, inbound: str = "webhook", port: int = 0) -> str:
    return f"""
[[sms]]
name = "shop-sms"
provider = "twilio"
account_sid = "{ACCOUNT}"
auth_token_env = "{TOKEN_ENV}"
from = "{SHOP}"
api_base = "{peer.base_url}"
inbound = "{inbound}"
poll_seconds = 1
webhook_listen = "127.0.0.1:{port}"
webhook_url = "http://127.0.0.1:{port}/sms"
default_region = "JP"
"""


def account(peer: TwilioPeer, *, inbound: str = "webhook", port: int | None = None) -> SmsConfig:
    text = sms_toml(peer, inbound=inbound, port=port if port is not None else free_port())
    return parse(text, Path("test.toml")).sms[0]


def url_of(config: SmsConfig) -> str:
    assert config.webhook_url is not None
    return config.webhook_url


@contextlib.asynccontextmanager
async def running(store: Store, adapter: SmsAdapter) -> AsyncIterator[Hub]:
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:
        if adapter.config.inbound == "webhook":

            async def listening_and_caught_up() -> bool:
                return adapter.status.get("inbound", "").startswith("listening") and (
                    adapter.status.get("catch_up", "").startswith("caught up")
                )

            await wait_until(listening_and_caught_up)
        yield hub
    finally:
        await hub.stop()


async def contact_of(store: Store, number: str) -> Contact | None:
    for summary in await store.list_contacts(limit=500):
        contact = await store.get_contact(summary.id)
        if any(i.address == number for i in contact.identities):
            return contact
    return None


async def thread_of(store: Store, number: str) -> list[Message]:
    contact = await contact_of(store, number)
    return [] if contact is None else await store.thread_page(contact.id, limit=500)


def creates(peer: TwilioPeer) -> int:
    return sum(
        1 for method, path in peer.calls if method == "POST" and path.endswith("Messages.json")
    )


class RecordingSink:
    """The hub's view of the store, keeping every message the adapter hands over."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.delivered: list[str] = []

    async def deliver(
        self, items: Sequence[Inbound], cursor: Mapping[str, str] | None = None
    ) -> None:
        self.delivered += [i.provider_id for i in items]
        cursors = {("shop-sms", k): v for k, v in (cursor or {}).items()}
        await self.store.ingest(items, cursors=cursors)

    async def delivery_update(self, update: DeliveryUpdate) -> None:
        await self.store.apply_delivery(update)

    async def load_cursor(self, key: str) -> str | None:
        return await self.store.load_cursor("shop-sms", key)


# -- webhooks ------------------------------------------------------------------


async def test_a_customers_text_arrives_by_signed_webhook_and_is_stored_before_the_answer(
    store: Store, peer: TwilioPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = account(peer)
    adapter = SmsAdapter(config, consent=store)
    async with running(store, adapter):
        _, answer = await peer.text_in(url_of(config), EMMA, "明日の午後に受け取れますか？")
        assert answer.status == 200
        assert answer.content_type == "text/xml" and "<Response></Response>" in answer.text
        # Stored before the 200: no waiting needed.
        thread = await thread_of(store, EMMA)
        assert [(m.text, m.kind, m.status) for m in thread] == [
            ("明日の午後に受け取れますか？", ChannelKind.SMS, Delivery.RECEIVED)
        ]
    assert "明日の午後" not in caplog.text and TOKEN not in caplog.text


async def test_a_forged_or_unsigned_webhook_is_refused_and_nothing_is_stored(
    store: Store, peer: TwilioPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = account(peer)
    url = url_of(config)
    async with running(store, SmsAdapter(config, consent=store)):
        _, forged = await peer.text_in(url, EMMA, "secret order 1", signature="forged")
        _, missing = await peer.text_in(url, EMMA, "secret order 2", signature=None)
        # A valid signature over other parameters: someone changed the body on the way.
        sid = peer.add_inbound(EMMA, "secret order 3")
        params = peer.inbound_params(sid)
        signature = peer.sign(url, params)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url,
                data={**params, "Body": "send the refund here"},
                headers={"X-Twilio-Signature": signature},
            ) as tampered,
        ):
            tampered_status = tampered.status
        status = await peer.post(
            url, {"MessageSid": sid, "MessageStatus": "delivered"}, signature="forged"
        )
    assert (forged.status, missing.status, tampered_status, status.status) == (403,) * 4
    assert await store.count_contacts() == 0
    refusals = [r.getMessage() for r in caplog.records if "refused a webhook" in r.getMessage()]
    assert len(refusals) == 4
    assert any("no X-Twilio-Signature" in line for line in refusals)
    assert "secret order" not in caplog.text and "refund" not in caplog.text
    assert TOKEN not in caplog.text


async def test_the_same_webhook_sent_twice_is_stored_once(store: Store, peer: TwilioPeer) -> None:
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        sid, first = await peer.text_in(url_of(config), EMMA, "Do you deliver on Sundays?")
        again = await peer.post(url_of(config), peer.inbound_params(sid))
    assert (first.status, again.status) == (200, 200)
    assert [m.text for m in await thread_of(store, EMMA)] == ["Do you deliver on Sundays?"]


async def test_a_webhook_with_fields_missing_is_kept_with_a_marker(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        answer = await peer.post(url_of(config), {"Body": "hello?", "To": SHOP})
    assert answer.status == 200
    [summary] = await store.list_contacts()
    [message] = await store.thread_page(summary.id)
    assert message.text == "hello?"
    assert "no MessageSid" in message.parse_error and "no From" in message.parse_error


# -- polling -------------------------------------------------------------------


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


async def test_polling_takes_each_message_once_across_restarts_and_midnight(
    store: Store, peer: TwilioPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sms, "PAGE_SIZE", 3)  # several pages per listing
    config = account(peer, inbound="poll")
    now = [at("2026-03-01T00:00:30")]
    peer.clock = lambda: now[0]
    sink = RecordingSink(store)

    def restarted() -> SmsAdapter:
        return SmsAdapter(config, consent=store, clock=lambda: now[0])

    early = [
        peer.add_inbound(KEN, f"order {n}", sent_at=at("2026-02-28T09:00:00") + n) for n in range(5)
    ]
    a = peer.add_inbound(EMMA, "just before midnight", sent_at=at("2026-02-28T23:59:50"))
    b = peer.add_inbound(EMMA, "just after midnight", sent_at=at("2026-03-01T00:00:10"))
    mms = peer.add_inbound(
        KEN, "the photo", sent_at=at("2026-03-01T00:00:20"), media=[("image/jpeg", PHOTO)]
    )
    # Twilio answers the list before this one shows: it lands late, dated before midnight.
    assert await restarted().poll_once(sink) == 8
    late = peer.add_inbound(KEN, "late from yesterday", sent_at=at("2026-02-28T23:59:58"))
    c = peer.add_inbound(EMMA, "after the restart", sent_at=at("2026-03-01T00:00:40"))

    adapter = restarted()  # a restart: only the stored cursor is left
    assert await adapter.poll_once(sink) == 2
    assert await adapter.poll_once(sink) == 0
    # Hours later the listing starts at the new day, and a restart still takes nothing twice.
    now[0] = at("2026-03-01T05:00:00")
    d = peer.add_inbound(EMMA, "good morning", sent_at=at("2026-03-01T04:59:00"))
    assert await adapter.poll_once(sink) == 1
    assert await restarted().poll_once(sink) == 0

    assert sorted(sink.delivered) == sorted([*early, a, b, mms, late, c, d])
    cursor = await store.load_cursor("shop-sms", sms.POLL_KEY)
    assert cursor is not None and '"after": "2026-03-01"' in cursor
    queries = [m for m, p in peer.calls if m == "GET" and p.endswith("/Messages.json")]
    assert len(queries) > 6  # paged
    photo = next(m for m in await thread_of(store, KEN) if m.text == "the photo")
    assert photo.attachments[0].content_type == "image/jpeg"
    assert await store.attachment_data(photo.attachments[0].id) == PHOTO


async def test_poll_mode_fetches_the_delivery_state_of_recent_replies(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer, inbound="poll")
    peer.add_inbound(EMMA, "Is the bouquet ready?")
    adapter = SmsAdapter(config, consent=store)
    async with running(store, adapter):

        async def arrived() -> bool:
            return bool(await thread_of(store, EMMA))

        await wait_until(arrived)
        contact = await contact_of(store, EMMA)
        assert contact is not None
        await store.enqueue_reply(contact.id, SMS, "Yes, come by at 3pm")

        async def status(wanted: Delivery) -> bool:
            return (await thread_of(store, EMMA))[-1].status is wanted

        await wait_until(lambda: status(Delivery.SENT))
        [sent] = peer.sent_to(EMMA)
        assert sent["body"] == "Yes, come by at 3pm" and sent["from"] == SHOP
        assert not peer.callbacks  # no status callback URL when polling
        await peer.advance(sent["sid"], "delivered")
        await wait_until(lambda: status(Delivery.DELIVERED), limit=10)


# -- opt-outs ------------------------------------------------------------------


async def test_stop_opts_the_customer_out_and_start_opts_them_back_in(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    url = url_of(config)
    async with running(store, SmsAdapter(config, consent=store)):
        await peer.text_in(url, EMMA, "Thanks for the flowers")
        _, answer = await peer.text_in(url, EMMA, "  Stop ")
        assert answer.status == 200
        contact = await contact_of(store, EMMA)
        assert contact is not None and contact.identities[0].opted_out
        assert [m.text for m in await store.thread_page(contact.id)][-1] == "  Stop "
        with pytest.raises(StoreError, match="opted out of sms"):
            await store.enqueue_reply(contact.id, SMS, "We have a sale!")

        await peer.text_in(url, EMMA, "START")
        contact = await store.get_contact(contact.id)
        assert not contact.identities[0].opted_out
        await store.enqueue_reply(contact.id, SMS, "Welcome back")

        async def sent() -> bool:
            return [m["body"] for m in peer.sent_to(EMMA)] == ["Welcome back"]

        await wait_until(sent)


async def test_twilio_refusing_an_unsubscribed_number_fails_the_reply_and_marks_the_opt_out(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        await peer.text_in(url_of(config), EMMA, "hello")
        peer.opted_out.add(EMMA)  # a STOP we never saw (sent while another tool ran)
        contact = await contact_of(store, EMMA)
        assert contact is not None
        await store.enqueue_reply(contact.id, SMS, "Your order shipped")

        async def failed() -> bool:
            return (await store.thread_page(contact.id))[-1].status is Delivery.FAILED

        await wait_until(failed)
    reply = (await store.thread_page(contact.id))[-1]
    assert "replied STOP" in reply.status_reason and "21610" in reply.status_reason
    assert (await store.get_contact(contact.id)).identities[0].opted_out
    assert creates(peer) == 1


# -- sending and delivery states ---------------------------------------------------


async def reply_and_wait_sent(store: Store, peer: TwilioPeer, texts: Sequence[str]) -> list[str]:
    contact = await contact_of(store, EMMA)
    assert contact is not None
    for text in texts:
        await store.enqueue_reply(contact.id, SMS, text)

    async def all_sent() -> bool:
        page = await store.thread_page(contact.id)
        return sum(m.status is Delivery.SENT for m in page) == len(texts)

    await wait_until(all_sent)
    by_body = {m["body"]: m["sid"] for m in peer.sent_to(EMMA)}
    return [by_body[t] for t in texts]


async def test_delivered_and_undelivered_receipts_are_shown_in_words(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        await peer.text_in(url_of(config), EMMA, "Where is my order?")
        good, bad = await reply_and_wait_sent(store, peer, ["It is on its way", "Tracking: 123"])
        assert peer.callbacks[good] == url_of(config)
        for status in ("sent", "delivered"):
            answer = await peer.advance(good, status)
            assert answer is not None and answer.status == 200
        await peer.advance(bad, "sent")
        await peer.advance(bad, "undelivered", error_code=30003)
        await peer.advance(good, "sent")  # a late, out-of-order callback
    page = await thread_of(store, EMMA)
    states = {m.text: (m.status, m.status_reason) for m in page[1:]}
    assert states["It is on its way"] == (Delivery.DELIVERED, "")
    status, reason = states["Tracking: 123"]
    assert status is Delivery.FAILED
    assert "unreachable handset" in reason and "30003" in reason


async def test_a_receipt_that_arrives_before_twilio_answers_the_send_is_not_lost(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        await peer.text_in(url_of(config), EMMA, "hi")
        peer.early_statuses = ["sent", "delivered"]
        contact = await contact_of(store, EMMA)
        assert contact is not None
        await store.enqueue_reply(contact.id, SMS, "Fast carrier")

        async def delivered() -> bool:
            return (await store.thread_page(contact.id))[-1].status is Delivery.DELIVERED

        await wait_until(delivered)


async def test_an_invalid_number_fails_with_the_reason_and_is_not_retried(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        await peer.text_in(url_of(config), EMMA, "hi")
        peer.create_faults.append(Fault(400, 21211, "The 'To' number is not valid."))
        contact = await contact_of(store, EMMA)
        assert contact is not None
        await store.enqueue_reply(contact.id, SMS, "Hello Emma")

        async def failed() -> bool:
            return (await store.thread_page(contact.id))[-1].status is Delivery.FAILED

        await wait_until(failed)
        await asyncio.sleep(0.4)  # longer than the retry backoff: nothing more goes out
    reply = (await store.thread_page(contact.id))[-1]
    assert "invalid To number" in reply.status_reason and "21211" in reply.status_reason
    assert creates(peer) == 1


async def test_a_rate_limited_reply_is_retried_then_sent_once(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        await peer.text_in(url_of(config), EMMA, "hi")
        peer.create_faults.append(Fault(429, 20429, "Too Many Requests"))
        [sid] = await reply_and_wait_sent(store, peer, ["Thanks for waiting"])
    assert creates(peer) == 2
    assert [m["sid"] for m in peer.sent_to(EMMA)] == [sid]


async def test_only_a_send_that_never_reached_twilio_is_retryable(peer: TwilioPeer) -> None:
    reply = Outbound(1, SMS, "09012345678", "Your order is ready", "")
    # A local number is sent in E.164 (default_region = "JP").
    sid = await SmsAdapter(account(peer)).send(reply)
    assert peer.messages[sid]["to"] == EMMA

    closed = free_port()
    config = parse(
        sms_toml(peer).replace(peer.base_url, f"http://127.0.0.1:{closed}"), Path("t.toml")
    ).sms[0]
    with pytest.raises(SendError) as refused:
        await SmsAdapter(config).send(reply)
    assert refused.value.retryable and "refused the connection" in refused.value.reason

    # A server that takes the request and never answers: Twilio may have it.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    quiet = f"http://127.0.0.1:{port}"
    adapter = SmsAdapter(config, http_client=api_http_client(quiet, timeout=0.5))
    with pytest.raises(SendError) as lost:
        await adapter.send(reply)
    server.close()
    assert not lost.value.retryable and "may or may not" in lost.value.reason

    peer.create_faults.append(Fault(500, 20500, "Internal Server Error"))
    with pytest.raises(SendError) as broken:
        await SmsAdapter(account(peer)).send(reply)
    assert not broken.value.retryable


# -- MMS -----------------------------------------------------------------------


async def test_an_mms_photo_is_downloaded_with_the_account_credentials_and_kept(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    big = b"\x89PNG" + b"\0" * 5000
    adapter = SmsAdapter(config, consent=store, max_media_bytes=4096)
    async with running(store, adapter):
        _, answer = await peer.text_in(
            url_of(config),
            EMMA,
            "この花をください",
            media=[("image/jpeg", PHOTO), ("image/png", big)],
        )
    assert answer.status == 200
    [message] = await thread_of(store, EMMA)
    photo, poster = message.attachments
    assert (photo.content_type, photo.size, photo.note) == ("image/jpeg", len(PHOTO), "")
    assert photo.filename.endswith(".jpg")
    assert await store.attachment_data(photo.id) == PHOTO
    assert "not downloaded: larger than" in poster.note
    assert await store.attachment_data(poster.id) is None
    # The peer checked that the credentials went to the API only, never to the media store.


# -- a crash between receiving and storing -----------------------------------------


def stored(db: Path) -> list[tuple[str, int]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=10)
    try:
        return [
            (str(r[0]), int(r[1]))
            for r in conn.execute(
                "SELECT m.provider_id, count(a.id) FROM message m "
                "LEFT JOIN attachment a ON a.message_id = m.id GROUP BY m.id"
            )
        ]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


async def serve(config: Path, env: Mapping[str, str], port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        "--config",
        str(config),
        "serve",
        env=dict(env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )

    async def listening() -> bool:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        return True

    await wait_until(listening, limit=30)
    return process


async def test_kill_9_between_receiving_and_storing_a_webhook_loses_and_duplicates_nothing(
    tmp_path: Path, peer: TwilioPeer
) -> None:
    port = free_port()
    db = tmp_path / "shop.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{db}"\n' + sms_toml(peer, port=port), encoding="utf-8")
    env = {**os.environ, TOKEN_ENV: TOKEN, "HOME": str(tmp_path)}
    env.pop("XDG_STATE_HOME", None)  # the log goes under HOME, where the test reads it
    url = f"http://127.0.0.1:{port}/sms"
    peer.media_gate = asyncio.Event()  # the photo download hangs: received, not yet stored

    server = await serve(config, env, port)
    sid = peer.add_inbound(EMMA, "写真を送ります", media=[("image/jpeg", PHOTO)])
    first = asyncio.create_task(peer.post(url, peer.inbound_params(sid)))
    await asyncio.wait_for(peer.media_requested.wait(), 10)
    server.send_signal(signal.SIGKILL)
    await server.wait()
    with pytest.raises(aiohttp.ClientError):
        await first  # Twilio got no answer, so it will send the webhook again
    assert stored(db) == []

    peer.media_gate.set()
    server = await serve(config, env, port)
    try:
        again = await peer.post(url, peer.inbound_params(sid))
        once_more = await peer.post(url, peer.inbound_params(sid))
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 20)
    assert (again.status, once_more.status) == (200, 200)
    assert stored(db) == [(sid, 1)]
    [log_file] = tmp_path.glob("**/omnitui.log")
    logged = log_file.read_text(encoding="utf-8")
    assert "listening for Twilio webhooks" in logged
    assert TOKEN not in logged and "写真" not in logged


# -- the composer ----------------------------------------------------------------


async def open_first_contact(app: OmniApp, pilot: object) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot.press("enter")

    async def opened() -> bool:
        await pilot.pause(0.02)
        return app.inbox.contact is not None

    await wait_until(opened)
    await pilot.press("r")


def status_line(app: OmniApp) -> str:
    return str(app.screen.query_one("#composer-status").render())


async def test_the_composer_counts_segments_live_and_refuses_over_1600_characters(
    store: Store,
) -> None:
    await store.ingest([Inbound(SMS, "SM1", EMMA, "", "Is my order ready?", time.time())])
    app = OmniApp(store, channels=[SMS], poll_changes=0.05)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_first_contact(app, pilot)
        composer = app.inbox.composer
        await pilot.press(*"Thanks")
        assert "1 SMS · GSM-7 6/160" in status_line(app)
        composer.text_area.load_text("a" * 160)
        await pilot.pause()
        assert "1 SMS · GSM-7 160/160" in status_line(app)
        composer.text_area.load_text("a" * 159 + "€")  # € costs two septets
        await pilot.pause()
        assert "2 SMS · GSM-7 161/306" in status_line(app)
        composer.text_area.load_text("ご来店ありがとうございます")
        await pilot.pause()
        line = status_line(app)
        assert "1 SMS · UCS-2 13/70" in line and "makes it UCS-2" in line
        composer.text_area.load_text("b" * 1601)
        await pilot.pause()
        assert "over 1600 characters" in status_line(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert any("at most 1,600" in n.message for n in app._notifications)
        assert len(await thread_of(store, EMMA)) == 1  # nothing queued


async def test_the_composer_refuses_sms_to_an_opted_out_customer_and_offers_another_channel(
    store: Store,
) -> None:
    contact_id = await store.create_contact(
        "Emma", [(IdentityKind.PHONE, EMMA), (IdentityKind.EMAIL, "emma@example.com")]
    )
    await store.ingest([Inbound(SMS, "SM1", EMMA, "", "STOP", time.time())])
    await store.set_opted_out(IdentityKind.PHONE, EMMA, True)
    app = OmniApp(store, channels=[SMS, MAIL], poll_changes=0.05)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_first_contact(app, pilot)
        assert app.inbox.composer.channel == SMS
        assert "(opted out)" in str(app.screen.query_one("#thread-header").render())
        await pilot.press(*"Your order is ready")
        await pilot.press("ctrl+s")
        await wait_until(
            lambda: any("opted out" in n.message for n in app._notifications),
            5,
            "no refusal was shown",
            pilot=pilot,
        )
        refusal = [n.message for n in app._notifications if "opted out" in n.message]
        assert refusal and "ctrl+t" in refusal[0] and "email" in refusal[0]
        assert len(await store.thread_page(contact_id)) == 1
        assert app.inbox.composer.text == "Your order is ready"  # kept for another channel
        await pilot.press("ctrl+t", "ctrl+s")

        async def kept_by_email() -> bool:  # the send is handled while the app runs on
            return len(await store.thread_page(contact_id)) >= 2

        await wait_until(kept_by_email, 5, "the reply is kept", pilot=pilot)
        last = (await store.thread_page(contact_id))[-1]
        assert (last.kind, last.text, last.status) == (
            ChannelKind.EMAIL,
            "Your order is ready",
            Delivery.QUEUED,
        )


# -- doctor ------------------------------------------------------------------------


async def test_doctor_checks_the_account_and_the_number(
    peer: TwilioPeer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = await sms.check(account(peer))
    assert good == [
        (True, "Twilio account ok: 'Sakura Flowers' is active"),
        (True, f"number ok: {SHOP} belongs to the account"),
    ]
    peer.numbers = ["+815099999999"]
    wrong_number = await sms.check(account(peer))
    assert wrong_number[1] == (False, f"from = {SHOP} is not one of this account's phone numbers")

    monkeypatch.setenv(TOKEN_ENV, "a-wrong-token")
    [(ok, line)] = await sms.check(account(peer))
    assert not ok and "authentication error" in line and "20003" in line

    closed = free_port()
    offline = sms_toml(peer).replace(peer.base_url, f"http://127.0.0.1:{closed}")
    [(ok, line)] = await sms.check(parse(offline, Path("t.toml")).sms[0])
    assert not ok and "refused the connection" in line

    # `omnitui doctor` prints one line per check.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    peer.numbers = [SHOP]
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "s.db"}"\n' + sms_toml(peer), encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))
    code = await asyncio.to_thread(cli.main, ["--config", str(path), "doctor"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ok    shop-sms Twilio account ok" in out and "number ok" in out
    assert TOKEN not in out


# -- a busy store, and payloads that lie -----------------------------------------


def sms_shop(tmp_path: Path, peer: TwilioPeer, port: int) -> tuple[Path, Path, dict[str, str]]:
    """A shop whose one channel is SMS by webhook: its store, its config and serve's env."""
    db = tmp_path / "shop.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{db}"\n' + sms_toml(peer, port=port), encoding="utf-8")
    env = {**os.environ, TOKEN_ENV: TOKEN, "HOME": str(tmp_path)}
    env.pop("XDG_STATE_HOME", None)  # the log goes under HOME, where the test reads it
    return db, config, env


async def stop_serve(server: asyncio.subprocess.Process, limit: float = 20.0) -> int:
    """SIGTERM, as a service manager stops it; SIGKILL (and fail) if it does not stop."""
    if server.returncode is None:
        server.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(server.wait(), limit)
    except TimeoutError:
        server.kill()
        await server.wait()
        raise AssertionError(f"omnitui serve ignored SIGTERM for {limit:.0f} s") from None
    # (the test's own failure, if any, is the exception being handled around this call)


async def timed_text_in(
    peer: TwilioPeer, url: str, sender: str, body: str
) -> tuple[str, Posted, float]:
    started = time.monotonic()
    sid, answer = await peer.text_in(url, sender, body)
    return sid, answer, time.monotonic() - started


async def test_a_webhook_while_another_process_holds_the_store_is_answered_fast_and_caught_up(
    tmp_path: Path, peer: TwilioPeer
) -> None:
    port = free_port()
    db, config, env = sms_shop(tmp_path, peer, port)
    url = f"http://127.0.0.1:{port}/sms"
    server = await serve(config, env, port)
    # Another process (a second console, a backup script) holds the store's write lock.
    holder = sqlite3.connect(db, timeout=10, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        locked = time.monotonic()
        first = asyncio.create_task(timed_text_in(peer, url, EMMA, "花束は何時に届きますか？"))
        await asyncio.sleep(1.0)
        second = asyncio.create_task(timed_text_in(peer, url, KEN, "Can I change my order?"))
        first_sid, first_answer, first_took = await first
        second_sid, second_answer, second_took = await second
        # Twilio gives up after 15 s: each request has its own bounded wait, none queues
        # behind another, and a store that cannot take it in time is an honest error.
        assert (first_answer.status, second_answer.status) == (503, 503)
        assert first_took < 8.0 and second_took < 8.0, (first_took, second_took)
        assert stored(db) == []
        await asyncio.sleep(max(0.0, 11.0 - (time.monotonic() - locked)))
        holder.execute("ROLLBACK")

        # Twilio does not send a failed webhook again: the catch-up listing takes both.
        async def caught_up() -> bool:
            return len(stored(db)) >= 2

        await wait_until(caught_up, limit=30)
        await asyncio.sleep(1.0)  # a later catch-up or webhook would double them now
        assert sorted(stored(db)) == sorted([(first_sid, 0), (second_sid, 0)])

        # The outbox outlived the busy store: a reply queued now goes out.
        console = await Store.open(db)
        try:
            contact = await contact_of(console, EMMA)
            assert contact is not None
            await console.enqueue_reply(contact.id, SMS, "15時ごろお届けします")

            async def sent() -> bool:
                return [m["body"] for m in peer.sent_to(EMMA)] == ["15時ごろお届けします"]

            await wait_until(sent, limit=15)
        finally:
            await console.close()
    finally:
        holder.close()
        await stop_serve(server)
    [log_file] = tmp_path.glob("**/omnitui.log")
    logged = log_file.read_text(encoding="utf-8")
    assert "store was busy" in logged
    assert TOKEN not in logged and "花束" not in logged and "change my order" not in logged


async def test_a_message_whose_webhook_never_came_is_caught_up_at_start_and_kept_once(
    store: Store, peer: TwilioPeer
) -> None:
    # Emma texted while OmniTUI was stopped: Twilio's webhook failed, and it does not retry.
    sid = peer.add_inbound(EMMA, "Are you open on Sunday?")
    config = account(peer)
    async with running(store, SmsAdapter(config, consent=store)):
        assert [m.text for m in await thread_of(store, EMMA)] == ["Are you open on Sunday?"]
        late = await peer.post(url_of(config), peer.inbound_params(sid))  # a fallback URL's retry
        assert late.status == 200
    assert [m.text for m in await thread_of(store, EMMA)] == ["Are you open on Sunday?"]


async def test_a_signed_webhook_with_counts_that_are_not_numbers_is_refused_and_logged(
    store: Store, peer: TwilioPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = account(peer)
    url = url_of(config)
    bad = [
        ("NumMedia", "lots"),
        ("NumMedia", "-1"),
        ("NumMedia", "²"),  # a digit to str.isdigit(), not to int()
        ("NumMedia", "1e3"),
        ("NumMedia", " 3"),
        ("NumMedia", "9" * 40),
        ("NumSegments", "two"),
    ]
    async with running(store, SmsAdapter(config, consent=store)):
        sid = peer.add_inbound(EMMA, "my secret order")
        answers = []
        for name, value in bad:
            answers.append(await peer.post(url, {**peer.inbound_params(sid), name: value}))
        # The signature is still checked first.
        unsigned = await peer.post(
            url, {**peer.inbound_params(sid), "NumMedia": "lots"}, signature=None
        )
    assert [a.status for a in answers] == [400] * len(bad)
    assert unsigned.status == 403
    assert await store.count_contacts() == 0
    refusals = [r.getMessage() for r in caplog.records if "answered 400" in r.getMessage()]
    assert len(refusals) == len(bad)
    assert "NumMedia is not a count ('lots')" in refusals[0]
    assert "NumSegments is not a count" in refusals[-1]
    assert "secret order" not in caplog.text and TOKEN not in caplog.text


async def test_a_webhook_claiming_more_media_than_twilio_allows_takes_the_first_ten(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    photos = [("image/jpeg", PHOTO + bytes([n])) for n in range(12)]
    async with running(store, SmsAdapter(config, consent=store)):
        sid = peer.add_inbound(EMMA, "all my photos", media=photos)
        params = peer.inbound_params(sid)
        assert params["NumMedia"] == "12"
        answer = await peer.post(url_of(config), params)
    assert answer.status == 200
    [message] = await thread_of(store, EMMA)
    assert len(message.attachments) == 10
    assert [await store.attachment_data(a.id) for a in message.attachments] == [
        data for _, data in photos[:10]
    ]
    assert "12 media files: only the first 10" in message.parse_error


async def test_a_signed_webhook_claiming_a_billion_media_is_answered_and_serve_still_stops(
    tmp_path: Path, peer: TwilioPeer
) -> None:
    port = free_port()
    db, config, env = sms_shop(tmp_path, peer, port)
    url = f"http://127.0.0.1:{port}/sms"
    server = await serve(config, env, port)
    try:
        sid = peer.add_inbound(EMMA, "見てください", media=[("image/jpeg", PHOTO)])
        params = {**peer.inbound_params(sid), "NumMedia": "1000000000"}
        started = time.monotonic()
        answer = await peer.post(url, params)
        took = time.monotonic() - started
        assert answer.status == 200 and took < 5.0, (answer.status, took)
        assert stored(db) == [(sid, 1)]
        following = await peer.text_in(url, KEN, "and me?")  # serve still answers others
        assert following[1].status == 200
    finally:
        stopped = time.monotonic()
        assert await stop_serve(server, limit=15.0) == 0
    assert time.monotonic() - stopped < 10.0
    [log_file] = tmp_path.glob("**/omnitui.log")
    logged = log_file.read_text(encoding="utf-8")
    assert "said it carried 1000000000 media files; took the first 10" in logged
    assert TOKEN not in logged and "見て" not in logged


# -- retries ---------------------------------------------------------------------


async def test_a_reply_refused_at_every_attempt_does_not_promise_another(
    store: Store, peer: TwilioPeer
) -> None:
    config = account(peer)
    adapter = SmsAdapter(config, consent=store)
    async with running(store, adapter):
        await peer.text_in(url_of(config), EMMA, "hi")
        contact = await contact_of(store, EMMA)
        assert contact is not None
        for status, code, words in [
            (429, 20429, "rate limited by Twilio"),
            (503, 20503, "Twilio is unavailable"),
        ]:
            peer.create_faults[:] = [Fault(status, code, "Try later")] * FAST.max_attempts
            before = creates(peer)
            await store.enqueue_reply(contact.id, SMS, f"Your order is ready ({status})")

            async def failed() -> bool:
                return (await store.thread_page(contact.id))[-1].status is Delivery.FAILED

            await wait_until(failed)
            reply = (await store.thread_page(contact.id))[-1]
            assert creates(peer) - before == FAST.max_attempts
            assert reply.status_reason.startswith(f"not sent after {FAST.max_attempts} attempts: ")
            assert words in reply.status_reason
            assert "again" not in reply.status_reason and "retrying" not in reply.status_reason
            await asyncio.sleep(0.4)  # longer than the backoff: nothing more goes out
            assert creates(peer) - before == FAST.max_attempts
    assert peer.sent_to(EMMA) == []
