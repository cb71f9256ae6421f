"""LINE: the real line-bot-sdk against a loopback LINE checked against LINE's own spec.

The peer (`tests/peers/line_api.py`) plays both of LINE's hosts, checks every
call and answer against `fixtures/line/messaging-api.yml`, and posts signed
events shaped by `fixtures/line/webhook.yml` to the adapter's listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omnitui import cli
from omnitui.adapters import line
from omnitui.adapters.line import LineAdapter, split_text
from omnitui.automation import Automation, AutomationSetup
from omnitui.config import LineConfig, parse
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Contact,
    Delivery,
    IdentityKind,
    Inbound,
    Message,
    OutboundFile,
)
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store, StoreError
from tests.peers.dovecot import free_port
from tests.peers.line_api import MONTHLY_LIMIT, LinePeer, LineUser
from tests.peers.twilio_api import wait_until

pytestmark = pytest.mark.backends

TOKEN_ENV = "OMNITUI_TEST_LINE_TOKEN"
SECRET_ENV = "OMNITUI_TEST_LINE_SECRET"
LINE = Channel(ChannelKind.LINE, "shop-line")
FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.3, max_attempts=4)
PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-sakura" * 50


@pytest.fixture(autouse=True)
def line_secrets(monkeypatch: pytest.MonkeyPatch, line_peer: LinePeer) -> None:
    monkeypatch.setenv(TOKEN_ENV, line_peer.token)
    monkeypatch.setenv(SECRET_ENV, line_peer.secret)


def line_toml(peer: LinePeer, port: int, *, url: str | None = None, groups: bool = False) -> str:
    webhook_url = f'webhook_url = "{url}"\n' if url else ""
    return f"""
[[line]]
name = "shop-line"
token_env = "{TOKEN_ENV}"
secret_env = "{SECRET_ENV}"
api_base = "{peer.url}"
data_api_base = "{peer.url}"
webhook_listen = "127.0.0.1:{port}"
allow_groups = {"true" if groups else "false"}
{webhook_url}"""


def account(peer: LinePeer, *, url: str | None = None, groups: bool = False) -> LineConfig:
    text = line_toml(peer, free_port(), url=url, groups=groups)
    return parse(text, Path("test.toml")).line[0]


def listener(config: LineConfig) -> str:
    return f"http://127.0.0.1:{config.webhook_listen.port}/line"


@contextlib.asynccontextmanager
async def running(
    store: Store, peer: LinePeer, *, groups: bool = False, **options: object
) -> AsyncIterator[tuple[LineAdapter, str]]:
    config = account(peer, groups=groups)
    adapter = LineAdapter(config, book=store, clock=peer.now, **options)  # type: ignore[arg-type]
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:

        async def ready() -> bool:
            return "webhook" in adapter.status and "bot" in adapter.status

        await wait_until(ready)
        yield adapter, listener(config)
    finally:
        await hub.stop()


async def contact_of(store: Store, user: LineUser) -> Contact | None:
    owner = await store.address_owner(IdentityKind.LINE, user.user_id)
    return None if owner is None else await store.get_contact(owner)


async def thread_of(store: Store, user: LineUser) -> list[Message]:
    contact = await contact_of(store, user)
    return [] if contact is None else await store.thread_page(contact.id, limit=500)


async def reply(store: Store, user: LineUser, text: str) -> int:
    contact = await contact_of(store, user)
    assert contact is not None
    return await store.enqueue_reply(contact.id, LINE, text, author="Aiko")


async def settled(store: Store, user: LineUser, message_id: int) -> Message:
    """The reply once the hub is done with it (sent or failed for good)."""
    found: list[Message] = []

    async def done() -> bool:
        for m in await thread_of(store, user):
            if m.id == message_id and m.status in (Delivery.SENT, Delivery.FAILED):
                found[:] = [m]
                return True
        return False

    await wait_until(done)
    return found[0]


def texts_to(peer: LinePeer, user: LineUser) -> list[tuple[str, list[str]]]:
    return [(d.kind, [m["text"] for m in d.messages]) for d in peer.delivered[user.user_id]]


# -- receiving ---------------------------------------------------------------------


async def test_a_customers_text_is_stored_under_their_profile_name_before_the_answer(
    store: Store, line_peer: LinePeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hanako = line_peer.add_user("山田 花子", language="ja")
    async with running(store, line_peer) as (_, url):
        posted = await line_peer.send(url, line_peer.text(hanako, "明日の10時に受け取れますか？"))
        assert posted.status == 200
        # Stored before the 200: no waiting.
        contact = await contact_of(store, hanako)
        assert contact is not None and contact.name == "山田 花子"
        thread = await thread_of(store, hanako)
        assert [(m.text, m.kind, m.status) for m in thread] == [
            ("明日の10時に受け取れますか？", ChannelKind.LINE, Delivery.RECEIVED)
        ]
        data = await store.identity_data(IdentityKind.LINE, hanako.user_id)
        assert data.get("language_code") == "ja"
        # The account's basic id and quota are kept for the console (QR codes, composer).
        assert await store.load_cursor("shop-line", "line:basic_id") == line_peer.basic_id
        quota = json.loads(await store.load_cursor("shop-line", "line:quota") or "{}")
        assert quota["limit"] == 200 and quota["used"] == 0
    assert "明日の10時" not in caplog.text
    assert line_peer.token not in caplog.text and line_peer.secret not in caplog.text


async def test_a_forged_or_missing_signature_is_refused_and_nothing_is_stored(
    store: Store, line_peer: LinePeer, caplog: pytest.LogCaptureFixture
) -> None:
    mallory = line_peer.add_user("Mallory")
    async with running(store, line_peer) as (_, url):
        forged = await line_peer.send(url, line_peer.text(mallory, "pay here"), signature="forged")
        unsigned = await line_peer.send(url, line_peer.text(mallory, "pay here"), signature=None)
        assert (forged.status, unsigned.status) == (403, 401)
        assert await contact_of(store, mallory) is None
        # LINE's "Verify" button: an empty, signed event list.
        assert (await line_peer.verify(url)).status == 200
    assert "a signature that is not the channel's (answered 403)" in caplog.text
    assert "no x-line-signature (answered 401)" in caplog.text
    assert "pay here" not in caplog.text


async def test_a_redelivered_or_doubled_event_is_stored_once(
    store: Store, line_peer: LinePeer
) -> None:
    ken = line_peer.add_user("Ken", language="en")
    async with running(store, line_peer) as (_, url):
        body = line_peer.callback(line_peer.text(ken, "is the shop open on Sunday?"))
        first, second = await asyncio.gather(line_peer.post(url, body), line_peer.post(url, body))
        again = await line_peer.post(url, line_peer.redelivered(body))
        assert (first.status, second.status, again.status) == (200, 200, 200)
        thread = await thread_of(store, ken)
        assert [m.text for m in thread] == ["is the shop open on Sunday?"]
        contact = await contact_of(store, ken)
        assert contact is not None
        summary = next(c for c in await store.list_contacts(limit=10) if c.id == contact.id)
        assert summary.unread == 1


async def test_photos_files_stickers_and_places_arrive_as_a_shop_owner_reads_them(
    store: Store, line_peer: LinePeer
) -> None:
    aiko = line_peer.add_user("佐藤 愛子")
    async with running(store, line_peer, max_media_bytes=4096) as (_, url):
        events = [
            line_peer.image(aiko, PHOTO),
            line_peer.file(aiko, b"%PDF-1.4 order", "注文書.pdf", "application/pdf"),
            line_peer.sticker(aiko, keywords=("thanks", "bow")),
            line_peer.location(aiko, 35.658581, 139.745433, title="東京タワー"),
            line_peer.image(aiko, b"\xff\xd8" + b"x" * 10_000),  # over this test's 4 KB limit
            line_peer.video(aiko, b"\x00\x00\x00\x18ftypmp42", preparing=True),
        ]
        assert (await line_peer.send(url, *events)).status == 200
        thread = await thread_of(store, aiko)
    assert thread[0].text == "📷 photo"
    assert [(a.filename, a.content_type, a.size, a.note) for a in thread[0].attachments] == [
        ("image.jpg", "image/jpeg", len(PHOTO), "")
    ]
    assert thread[1].text == "📄 注文書.pdf"
    assert [(a.filename, a.content_type, a.note) for a in thread[1].attachments] == [
        ("注文書.pdf", "application/pdf", "")
    ]
    assert thread[2].text == "(sticker: thanks, bow)"
    assert thread[3].text.startswith("📍 東京タワー\n35.658581, 139.745433")
    assert "https://maps.google.com/?q=35.658581,139.745433" in thread[3].text
    too_big = thread[4].attachments[0]
    assert too_big.note == "not downloaded: 9.8 KB is over the 4.0 KB limit"
    preparing = thread[5].attachments[0]
    assert "still preparing" in preparing.note
    # The file is in the store, byte for byte (what `a` saves).
    data = await store.attachment_data(thread[0].attachments[0].id)
    assert data == PHOTO


async def test_group_messages_are_ignored_unless_allowed(
    store: Store, line_peer: LinePeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    taro = line_peer.add_user("Taro")
    group = line_peer.new_group_id()
    async with running(store, line_peer) as (_, url):
        assert (
            await line_peer.send(url, line_peer.text(taro, "hi all", group=group))
        ).status == 200
        assert await contact_of(store, taro) is None
    assert "a group message was ignored (allow_groups = false)" in caplog.text
    async with running(store, line_peer, groups=True) as (_, url):
        assert (
            await line_peer.send(url, line_peer.text(taro, "hi all", group=group))
        ).status == 200
        assert [m.text for m in await thread_of(store, taro)] == ["hi all"]
        sent = await settled(store, taro, await reply(store, taro, "Hello, group!"))
        assert sent.status is Delivery.SENT
    # The answer goes where they wrote: the group.
    assert [d.kind for d in line_peer.delivered[group]] == ["reply"]


async def test_follow_makes_the_customer_known_and_unfollow_opts_them_out(
    store: Store, line_peer: LinePeer
) -> None:
    yui = line_peer.add_user("Yui", friend=False)
    async with running(store, line_peer) as (_, url):
        assert (await line_peer.send(url, line_peer.follow(yui))).status == 200
        contact = await contact_of(store, yui)
        assert contact is not None and contact.name == "Yui"
        assert (await line_peer.send(url, line_peer.unfollow(yui))).status == 200
        contact = await contact_of(store, yui)
        assert contact is not None
        assert [i.opted_out for i in contact.identities if i.kind is IdentityKind.LINE] == [True]
        with pytest.raises(StoreError, match="blocked the shop's LINE account"):
            await store.enqueue_reply(contact.id, LINE, "are you there?")
        # They unblock the account: they can be answered again.
        assert (await line_peer.send(url, line_peer.follow(yui, unblocked=True))).status == 200
        contact = await contact_of(store, yui)
        assert contact is not None
        assert [i.opted_out for i in contact.identities if i.kind is IdentityKind.LINE] == [False]


# -- replying ----------------------------------------------------------------------


async def test_a_quick_answer_uses_the_free_reply_and_a_late_one_is_a_push(
    store: Store, line_peer: LinePeer
) -> None:
    mika = line_peer.add_user("Mika")
    async with running(store, line_peer) as (_, url):
        await line_peer.send(url, line_peer.text(mika, "do you have red roses?"))
        first = await settled(store, mika, await reply(store, mika, "Yes, 12 left."))
        assert first.status is Delivery.SENT
        # A second answer to the same message: the token answered once already.
        second = await settled(store, mika, await reply(store, mika, "Shall I keep some?"))
        assert second.status is Delivery.SENT
        await line_peer.send(url, line_peer.text(mika, "yes please, 6"))
        line_peer.advance(61)  # a minute later: the reply token is gone
        late = await settled(store, mika, await reply(store, mika, "Kept for you."))
        assert late.status is Delivery.SENT
        assert line_peer.quota_left() == 200 - 2
    assert texts_to(line_peer, mika) == [
        ("reply", ["Yes, 12 left."]),
        ("push", ["Shall I keep some?"]),
        ("push", ["Kept for you."]),
    ]
    keys = [d.retry_key for d in line_peer.delivered[mika.user_id] if d.kind == "push"]
    assert all(keys) and len(set(keys)) == 2


async def test_a_push_that_timed_out_is_retried_with_its_key_and_delivered_once(
    store: Store, line_peer: LinePeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(line, "API_SECONDS", 0.5)
    sora = line_peer.add_user("Sora")
    async with running(store, line_peer) as (_, url):
        await line_peer.send(url, line_peer.text(sora, "hello"))
        line_peer.advance(61)
        hold = line_peer.hang_after_accept("pushMessage")
        message_id = await reply(store, sora, "Welcome back!")
        sent = await settled(store, sora, message_id)
        hold.release()
        assert sent.status is Delivery.SENT
    assert texts_to(line_peer, sora) == [("push", ["Welcome back!"])]
    pushes = [c for c in line_peer.calls if c.operation == "pushMessage"]
    # The first try was carried out but never answered; the retry, with the same key,
    # was told 409 (already accepted) and counted as sent.
    assert sorted(c.status for c in pushes) == [200, 409]
    assert pushes[0].retry_key == pushes[1].retry_key


async def test_rate_limits_are_waited_out_and_a_used_up_quota_fails_in_words(
    store: Store, line_peer: LinePeer
) -> None:
    rin = line_peer.add_user("Rin")
    async with running(store, line_peer) as (_, url):
        await line_peer.send(url, line_peer.text(rin, "hi"))
        line_peer.advance(61)
        line_peer.fail("pushMessage", 429, "The API rate limit has been exceeded.", retry_after=1)
        ok = await settled(store, rin, await reply(store, rin, "one moment"))
        assert ok.status is Delivery.SENT
        line_peer.fail("pushMessage", 500, "Internal server error")
        ok = await settled(store, rin, await reply(store, rin, "here it is"))
        assert ok.status is Delivery.SENT
        assert texts_to(line_peer, rin) == [("push", ["one moment"]), ("push", ["here it is"])]

        line_peer.quota = line_peer.consumption  # nothing left this month
        failed = await settled(store, rin, await reply(store, rin, "one more thing"))
        assert failed.status is Delivery.FAILED
        assert "monthly message quota is used up" in failed.status_reason
        line_peer.fail("pushMessage", 400, "The request body has 1 error(s)")
        line_peer.quota = 500
        bad = await settled(store, rin, await reply(store, rin, "again"))
        assert bad.status is Delivery.FAILED and "The request body has 1 error(s)" in (
            bad.status_reason
        )
    pushes = [c for c in line_peer.calls if c.operation == "pushMessage"]
    assert [c.status for c in pushes] == [429, 200, 500, 200, 429, 400]
    assert MONTHLY_LIMIT.startswith("You have reached")


async def test_a_long_reply_is_cut_where_line_counts_and_files_are_refused_in_words(
    store: Store, line_peer: LinePeer
) -> None:
    nao = line_peer.add_user("Nao")
    long_text = "🌸" * 3000  # 6,000 UTF-16 units: LINE takes 5,000 in one text
    assert [len(p) for p in split_text(long_text)] == [2500, 500]
    async with running(store, line_peer) as (_, url):
        await line_peer.send(url, line_peer.text(nao, "photos?"))
        sent = await settled(store, nao, await reply(store, nao, long_text))
        assert sent.status is Delivery.SENT
        # LINE takes files only from a public web address: a reply with a file fails in
        # words, and nothing reaches the customer.
        contact = await contact_of(store, nao)
        assert contact is not None
        with_file = await store.enqueue_reply(
            contact.id,
            LINE,
            "the catalogue",
            files=[OutboundFile("catalogue.pdf", "application/pdf", b"%PDF-1.4")],
        )
        failed = await settled(store, nao, with_file)
        assert failed.status is Delivery.FAILED
        assert failed.status_reason.startswith("LINE takes files only from a public web address")
    [delivery] = line_peer.delivered[nao.user_id]
    assert "".join(m["text"] for m in delivery.messages) == long_text


async def test_a_line_customer_and_an_email_customer_of_one_name_are_suggested_as_one(
    store: Store, line_peer: LinePeer
) -> None:
    hanako = line_peer.add_user("山田 花子")
    await store.create_contact("山田 花子", [(IdentityKind.EMAIL, "hanako@example.jp")])
    async with running(store, line_peer) as (_, url):
        await line_peer.send(url, line_peer.text(hanako, "先日メールした件です"))
    contact = await contact_of(store, hanako)
    assert contact is not None
    suggestions = await store.duplicate_suggestions()
    assert any(contact.id in (s.a, s.b) for s in suggestions)


# -- doctor --------------------------------------------------------------------------


async def test_doctor_checks_the_token_the_webhook_url_and_lines_own_test(
    store: Store,
    line_peer: LinePeer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    public = "https://shop.example.com/line"
    config = account(line_peer, url=public)
    lines = await line.check(config)
    assert lines[0] == (
        True,
        f"{line_peer.display_name} ({line_peer.basic_id}) accepted the token ({line_peer.url})",
    )
    assert lines[1][0] is False and "(nothing set)" in lines[1][1]

    line_peer.webhook_endpoint = "https://old.example.com/callback"
    [_, (ok, words)] = await line.check(config)
    assert not ok and "not to webhook_url https://shop.example.com/line" in words

    # The endpoint is right, and LINE reaches the running listener behind it.
    line_peer.webhook_endpoint = public
    adapter = LineAdapter(config, book=store)
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:
        line_peer.listener = listener(config)

        async def listening() -> bool:
            return "webhook" in adapter.status

        await wait_until(listening)
        [_, (ok, words)] = await line.check(config)
        assert ok and words.startswith("webhook: LINE reached https://shop.example.com/line")
    finally:
        await hub.stop()
    [_, (ok, words)] = await line.check(config)  # nobody listening now
    assert not ok and "LINE could not reach https://shop.example.com/line" in words

    monkeypatch.setenv(TOKEN_ENV, "a-wrong-token")
    [(ok, words)] = await line.check(config)
    assert not ok and "refused the channel access token of shop-line" in words

    # `omnitui doctor`, as a user runs it: one line per check, no secret printed.
    monkeypatch.setenv(TOKEN_ENV, line_peer.token)
    path = tmp_path / "config.toml"
    toml = line_toml(line_peer, free_port(), url=public)
    path.write_text(f'[store]\npath = "{tmp_path / "s.db"}"\n' + toml, encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))
    code = await asyncio.to_thread(cli.main, ["--config", str(path), "doctor"])
    out = capsys.readouterr().out
    assert code == 1  # nothing listens behind the public URL
    assert f"ok    shop-line {line_peer.display_name} ({line_peer.basic_id})" in out
    assert "FAIL  shop-line webhook: LINE could not reach" in out
    assert line_peer.token not in out and line_peer.secret not in out


# -- automation ------------------------------------------------------------------------


async def test_a_rule_answers_a_line_customer_in_their_language_by_the_free_reply(
    store: Store, line_peer: LinePeer
) -> None:
    await store.add_canned_replies(
        [
            ("hours", "Hours", "Open 10-19, {first_name|there}.", "en"),
            ("hours", "営業時間", "{name}様、営業時間は10時から19時です。", "ja"),
        ]
    )
    text = line_toml(line_peer, free_port()) + (
        '\n[[rule]]\nname = "Hours on LINE"\non = "message"\n'
        '[rule.if]\ntext = ["営業時間", "hours"]\nchannel = ["line"]\n'
        '[rule.then]\nreply = "hours"\n'
    )
    settings = parse(text, Path("config.toml"))
    adapter = LineAdapter(settings.line[0], book=store, clock=line_peer.now)
    automation = Automation(store, AutomationSetup.from_settings(settings), {LINE.account: LINE})
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05, automation=automation)
    await hub.start()
    hanako = line_peer.add_user("山田 花子", language="ja")
    try:

        async def ready() -> bool:
            return "webhook" in adapter.status

        await wait_until(ready)
        url = listener(settings.line[0])
        assert (await line_peer.send(url, line_peer.text(hanako, "営業時間を教えて"))).status == 200

        async def answered() -> bool:
            return bool(line_peer.delivered[hanako.user_id])

        await wait_until(answered)
    finally:
        await hub.stop()
    assert texts_to(line_peer, hanako) == [("reply", ["山田 花子様、営業時間は10時から19時です。"])]
    assert line_peer.quota_left() == 200  # a reply by token is free


async def test_the_thread_header_names_line_not_the_user_id_and_says_when_blocked(
    store: Store,
) -> None:
    from omnitui.app import OmniApp

    user_id = "U" + "4f" * 16
    await store.ingest([Inbound(LINE, "m1", user_id, "Yui", "see you tomorrow", time.time() - 60)])
    await store.set_opted_out(IdentityKind.LINE, user_id, True)
    app = OmniApp(store, channels=[LINE], poll_changes=0.05)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("enter")

        def header() -> str:
            return str(app.screen.query_one("#thread-header").render())

        await wait_until(lambda: "Yui" in header())
        assert "Ⓛ LINE" in header() or "L LINE" in header()
        assert "(blocked the shop's LINE account)" in header()
        assert user_id not in header()
