"""The loopback LINE peer itself, driven by the real line-bot-sdk v3 async client.

The adapter's tests trust this peer to answer as LINE does: these tests show it
spends reply tokens, keeps retry keys, counts the quota, fails on demand,
serves profiles, bot info, media and the webhook settings, checks what it is
sent against LINE's spec, and builds webhook bodies that LINE's own parser and
signature check accept.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientSession, web
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    SetWebhookEndpointRequest,
    TextMessage,
)
from linebot.v3.messaging import (
    TestWebhookEndpointRequest as WebhookTestRequest,  # not a test class
)
from linebot.v3.webhook import SignatureValidator, WebhookParser
from linebot.v3.webhooks import (
    FileMessageContent,
    FollowEvent,
    GroupSource,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
)

from tests.peers.line_api import (
    AUTH_FAILED,
    INVALID_REPLY_TOKEN,
    MONTHLY_LIMIT,
    Delivery,
    LinePeer,
    Posted,
)

PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-sakura" * 50
THANKS = {"type": "text", "text": "ありがとうございます"}


@dataclass
class Clients:
    messaging: AsyncMessagingApi
    blob: AsyncMessagingApiBlob


@pytest.fixture
async def sdk(line_peer: LinePeer) -> AsyncIterator[Clients]:
    """The SDK as the adapter uses it: both hosts pointed at the peer."""
    config = Configuration(access_token=line_peer.token, host=line_peer.api_base)
    data_config = Configuration(access_token=line_peer.token, host=line_peer.data_api_base)
    async with AsyncApiClient(config) as client, AsyncApiClient(data_config) as data_client:
        yield Clients(AsyncMessagingApi(client), AsyncMessagingApiBlob(data_client))


@dataclass
class Receiver:
    """A bot server on loopback that checks signatures with the SDK and parses bodies."""

    secret: str
    status: int = 200
    bodies: list[dict[str, Any]] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    refused: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode()
        signature = request.headers.get("x-line-signature", "")
        if not SignatureValidator(self.secret).validate(raw, signature):
            self.refused += 1
            return web.Response(status=400, text="bad signature")
        self.bodies.append(json.loads(raw))
        self.events += WebhookParser(self.secret).parse(raw, signature)
        return web.Response(status=self.status, text="OK")


@pytest.fixture
async def receiver(line_peer: LinePeer) -> AsyncIterator[Receiver]:
    bot = Receiver(line_peer.secret)
    app = web.Application()
    app.router.add_post("/line/webhook", bot.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    bot.url = f"http://127.0.0.1:{port}/line/webhook"
    yield bot
    await runner.cleanup()


def text(words: str) -> TextMessage:
    return TextMessage(text=words)


async def refused(call: Any) -> ApiException:
    with pytest.raises(ApiException) as caught:
        await call
    return caught.value


def message_of(error: ApiException) -> str:
    return str(json.loads(error.body)["message"])


# -- reply ------------------------------------------------------------------------


async def test_a_reply_token_works_once(line_peer: LinePeer, sdk: Clients) -> None:
    alice = line_peer.add_user("Alice")
    event = line_peer.text(alice, "Is the shop open?")
    request = ReplyMessageRequest(reply_token=event["replyToken"], messages=[text(THANKS["text"])])

    answer = await sdk.messaging.reply_message(request)
    again = await refused(sdk.messaging.reply_message(request))

    assert len(answer.sent_messages) == 1
    assert line_peer.delivered[alice.user_id] == [Delivery("reply", [THANKS], None)]
    assert again.status == 400
    assert message_of(again) == INVALID_REPLY_TOKEN


async def test_a_reply_token_expires_on_the_peers_clock(line_peer: LinePeer, sdk: Clients) -> None:
    alice = line_peer.add_user("Alice")
    early, late = line_peer.text(alice, "one"), line_peer.text(alice, "two")
    line_peer.advance(59)
    await sdk.messaging.reply_message(
        ReplyMessageRequest(reply_token=early["replyToken"], messages=[text("in time")])
    )
    line_peer.advance(2)
    error = await refused(
        sdk.messaging.reply_message(
            ReplyMessageRequest(reply_token=late["replyToken"], messages=[text("too late")])
        )
    )
    assert (error.status, message_of(error)) == (400, INVALID_REPLY_TOKEN)
    assert [d.messages[0]["text"] for d in line_peer.delivered[alice.user_id]] == ["in time"]


async def test_a_group_message_is_replied_to_in_the_group(
    line_peer: LinePeer, sdk: Clients
) -> None:
    alice = line_peer.add_user("Alice")
    group = line_peer.new_group_id()
    event = line_peer.text(alice, "for the group", group=group)
    await sdk.messaging.reply_message(
        ReplyMessageRequest(reply_token=event["replyToken"], messages=[text("hello all")])
    )
    assert [d.kind for d in line_peer.delivered[group]] == ["reply"]
    assert alice.user_id not in line_peer.delivered


# -- push, retry keys, quota, faults -------------------------------------------------


async def test_a_retry_key_delivers_once_and_answers_409_after(
    line_peer: LinePeer, sdk: Clients
) -> None:
    alice = line_peer.add_user("Alice")
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=alice.user_id, messages=[text("Your order shipped")])

    first = await sdk.messaging.push_message_with_http_info(request, x_line_retry_key=key)
    again = await refused(sdk.messaging.push_message(request, x_line_retry_key=key))

    assert first.status_code == 200
    assert again.status == 409
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert json.loads(again.body)["sentMessages"] == [m.to_dict() for m in first.data.sent_messages]
    assert line_peer.delivered[alice.user_id] == [
        Delivery("push", [{"type": "text", "text": "Your order shipped"}], key)
    ]
    assert line_peer.consumption == 1


async def test_a_push_that_hangs_after_acceptance_is_not_sent_twice(
    line_peer: LinePeer, sdk: Clients
) -> None:
    alice = line_peer.add_user("Alice")
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=alice.user_id, messages=[text("Ready for pickup")])
    hold = line_peer.hang_after_accept("pushMessage")

    with pytest.raises(asyncio.TimeoutError):
        await sdk.messaging.push_message(request, x_line_retry_key=key, _request_timeout=0.3)
    assert hold.reached.is_set()
    again = await refused(sdk.messaging.push_message(request, x_line_retry_key=key))
    hold.release()

    assert again.status == 409
    assert len(line_peer.delivered[alice.user_id]) == 1


async def test_a_push_answered_500_after_acceptance_is_kept_by_its_key(
    line_peer: LinePeer, sdk: Clients
) -> None:
    alice = line_peer.add_user("Alice")
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=alice.user_id, messages=[text("Thank you")])
    line_peer.fail("pushMessage", 500, "Internal server error", after_accept=True)

    lost = await refused(sdk.messaging.push_message(request, x_line_retry_key=key))
    again = await refused(sdk.messaging.push_message(request, x_line_retry_key=key))

    assert (lost.status, again.status) == (500, 409)
    assert len(line_peer.delivered[alice.user_id]) == 1


async def test_pushes_count_against_the_monthly_quota(line_peer: LinePeer, sdk: Clients) -> None:
    alice = line_peer.add_user("Alice")
    line_peer.quota = 2
    quota = await sdk.messaging.get_message_quota()
    assert (quota.type, quota.value) == ("limited", 2)

    for n in range(2):
        await sdk.messaging.push_message(
            PushMessageRequest(to=alice.user_id, messages=[text(f"news {n}"), text("more")])
        )
    over = await refused(
        sdk.messaging.push_message(PushMessageRequest(to=alice.user_id, messages=[text("x")]))
    )
    used = await sdk.messaging.get_message_quota_consumption()

    assert (over.status, message_of(over)) == (429, MONTHLY_LIMIT)
    assert used.total_usage == 2
    assert len(line_peer.delivered[alice.user_id]) == 2
    line_peer.quota = "none"
    assert (await sdk.messaging.get_message_quota()).type == "none"


async def test_replies_do_not_count_against_the_quota(line_peer: LinePeer, sdk: Clients) -> None:
    alice = line_peer.add_user("Alice")
    line_peer.quota = 0
    event = line_peer.text(alice, "hi")
    await sdk.messaging.reply_message(
        ReplyMessageRequest(reply_token=event["replyToken"], messages=[text("hello")])
    )
    assert (await sdk.messaging.get_message_quota_consumption()).total_usage == 0


async def test_a_queued_429_answers_once_then_the_push_goes_through(
    line_peer: LinePeer, sdk: Clients
) -> None:
    alice = line_peer.add_user("Alice")
    line_peer.fail("pushMessage", 429, "The API rate limit has been exceeded.", retry_after=2)
    line_peer.fail("pushMessage", 500, "Internal server error", skip=1)
    request = PushMessageRequest(to=alice.user_id, messages=[text("hello")])

    limited = await refused(sdk.messaging.push_message(request))
    assert alice.user_id not in line_peer.delivered
    await sdk.messaging.push_message(request)
    broken = await refused(sdk.messaging.push_message(request))

    assert (limited.status, limited.headers["Retry-After"]) == (429, "2")
    assert broken.status == 500
    assert len(line_peer.delivered[alice.user_id]) == 1


async def test_a_text_over_5000_utf16_units_is_refused(line_peer: LinePeer, sdk: Clients) -> None:
    alice = line_peer.add_user("Alice")
    fits = "🌸" * 2500  # 5,000 UTF-16 units
    await sdk.messaging.push_message(PushMessageRequest(to=alice.user_id, messages=[text(fits)]))
    error = await refused(
        sdk.messaging.push_message(
            PushMessageRequest(to=alice.user_id, messages=[text(fits + "!")])
        )
    )
    assert error.status == 400
    assert json.loads(error.body)["details"][0]["property"] == "messages[0].text"


async def test_a_wrong_access_token_is_refused(line_peer: LinePeer) -> None:
    config = Configuration(access_token="not-the-token", host=line_peer.url)
    async with AsyncApiClient(config) as client:
        error = await refused(AsyncMessagingApi(client).get_bot_info())
    assert (error.status, message_of(error)) == (401, AUTH_FAILED)


# -- profile, bot info, media -------------------------------------------------------


async def test_profiles_and_bot_info(line_peer: LinePeer, sdk: Clients) -> None:
    alice = line_peer.add_user("佐藤 花子", language="ja", status_message="こんにちは")
    bob = line_peer.add_user("Bob", language=None, picture=False)

    profile = await sdk.messaging.get_profile(alice.user_id)
    plain = await sdk.messaging.get_profile(bob.user_id)
    missing = await refused(sdk.messaging.get_profile("U" + "0" * 32))
    info = await sdk.messaging.get_bot_info()

    assert (profile.display_name, profile.language) == ("佐藤 花子", "ja")
    assert profile.picture_url is not None and profile.status_message == "こんにちは"
    assert (plain.language, plain.picture_url) == (None, None)
    assert missing.status == 404
    assert (info.user_id, info.basic_id) == (line_peer.bot_user_id, "@123abcde")
    assert info.display_name == line_peer.display_name


async def test_media_downloads_from_the_data_host(line_peer: LinePeer, sdk: Clients) -> None:
    alice = line_peer.add_user("Alice")
    event = line_peer.image(alice, PHOTO)
    message_id = event["message"]["id"]

    answer = await sdk.blob.get_message_content_with_http_info(message_id)
    ready = await sdk.blob.get_message_content_transcoding_by_message_id(message_id)
    line_peer.delete_content(message_id)
    gone = await refused(sdk.blob.get_message_content(message_id))

    assert bytes(answer.data) == PHOTO
    assert answer.headers["Content-Type"] == "image/jpeg"
    assert ready.status == "succeeded"
    assert gone.status == 404


async def test_group_and_room_members_have_profiles_there(
    line_peer: LinePeer, sdk: Clients
) -> None:
    carol = line_peer.add_user("Carol", friend=False)
    group, room = line_peer.new_group_id(), line_peer.new_room_id()
    line_peer.text(carol, "hello group", group=group)
    line_peer.text(carol, "hello room", room=room)

    in_group = await sdk.messaging.get_group_member_profile(group, carol.user_id)
    in_room = await sdk.messaging.get_room_member_profile(room, carol.user_id)
    elsewhere = await refused(
        sdk.messaging.get_group_member_profile(line_peer.new_group_id(), carol.user_id)
    )
    not_a_friend = await refused(sdk.messaging.get_profile(carol.user_id))

    assert (in_group.display_name, in_room.display_name) == ("Carol", "Carol")
    assert (elsewhere.status, not_a_friend.status) == (404, 404)


async def test_a_follow_makes_a_friend_and_an_unfollow_ends_it(
    line_peer: LinePeer, sdk: Clients
) -> None:
    dave = line_peer.add_user("Dave", friend=False)
    line_peer.follow(dave)
    assert (await sdk.messaging.get_profile(dave.user_id)).display_name == "Dave"
    line_peer.unfollow(dave)
    assert (await refused(sdk.messaging.get_profile(dave.user_id))).status == 404


async def test_a_video_still_preparing_answers_202_until_ready(
    line_peer: LinePeer, sdk: Clients
) -> None:
    alice = line_peer.add_user("Alice")
    message_id = line_peer.video(alice, b"mp4-bytes", preparing=True)["message"]["id"]

    early = await sdk.blob.get_message_content_with_http_info(message_id)
    status = await sdk.blob.get_message_content_transcoding_by_message_id(message_id)
    line_peer.ready(message_id)
    later = await sdk.blob.get_message_content(message_id)

    assert (early.status_code, early.data) == (202, None)
    assert status.status == "processing"
    assert bytes(later) == b"mp4-bytes"


# -- webhook settings -----------------------------------------------------------------


async def test_the_webhook_endpoint_is_set_read_and_tested(
    line_peer: LinePeer, sdk: Clients, receiver: Receiver
) -> None:
    public = "https://shop.example/line/webhook"
    line_peer.listener = receiver.url  # the public URL leads to the local listener

    await sdk.messaging.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint=public))
    shown = await sdk.messaging.get_webhook_endpoint()
    ok = await sdk.messaging.test_webhook_endpoint(WebhookTestRequest())
    receiver.status = 500
    broken = await sdk.messaging.test_webhook_endpoint(WebhookTestRequest())

    assert (shown.endpoint, shown.active) == (public, True)
    assert (ok.success, ok.status_code, ok.reason) == (True, 200, "OK")
    assert (broken.success, broken.status_code) == (False, 500)
    assert receiver.bodies[0] == {"destination": line_peer.bot_user_id, "events": []}
    assert receiver.refused == 0


async def test_the_webhook_test_reports_an_unreachable_endpoint(
    line_peer: LinePeer, sdk: Clients
) -> None:
    line_peer.listener = "http://127.0.0.1:9/nowhere"
    await sdk.messaging.set_webhook_endpoint(
        SetWebhookEndpointRequest(endpoint="https://shop.example/hook")
    )
    answer = await sdk.messaging.test_webhook_endpoint(WebhookTestRequest())
    assert (answer.success, answer.status_code) == (False, 0)


# -- webhook bodies ----------------------------------------------------------------------


async def test_every_event_kind_is_parsed_by_the_sdk(
    line_peer: LinePeer, receiver: Receiver
) -> None:
    alice = line_peer.add_user("Alice")
    group, room = line_peer.new_group_id(), line_peer.new_room_id()
    events = [
        line_peer.text(alice, "こんにちは"),
        line_peer.sticker(alice, keywords=["thanks", "bow"]),
        line_peer.image(alice, PHOTO),
        line_peer.video(alice, b"mp4-bytes"),
        line_peer.audio(alice, b"m4a-bytes"),
        line_peer.file(alice, b"%PDF-1.7", "invoice.pdf"),
        line_peer.location(alice, 35.6586, 139.7454, title="Tokyo Tower"),
        line_peer.follow(alice),
        line_peer.unfollow(alice),
        line_peer.postback(alice, "action=reorder"),
        line_peer.text(alice, "in a group", group=group),
        line_peer.text(alice, "in a room", room=room),
    ]

    posted = await line_peer.send(receiver.url, *events)

    assert posted == Posted(200, "OK")
    kinds: list[Callable[[Any], bool]] = [
        lambda e: isinstance(e.message, TextMessageContent),
        lambda e: isinstance(e.message, StickerMessageContent) and e.message.keywords,
        lambda e: isinstance(e.message, ImageMessageContent),
        lambda e: e.message.type == "video" and e.message.content_provider.type == "line",
        lambda e: e.message.type == "audio",
        lambda e: isinstance(e.message, FileMessageContent) and e.message.file_size == 8,
        lambda e: isinstance(e.message, LocationMessageContent),
        lambda e: isinstance(e, FollowEvent) and e.reply_token,
        lambda e: isinstance(e, UnfollowEvent),
        lambda e: isinstance(e, PostbackEvent) and e.postback.data == "action=reorder",
        lambda e: isinstance(e.source, GroupSource) and e.source.group_id == group,
        lambda e: isinstance(e.source, RoomSource) and e.source.room_id == room,
    ]
    assert len(receiver.events) == len(kinds)
    for event, kind in zip(receiver.events, kinds, strict=True):
        assert kind(event), event
    ids = {e.webhook_event_id for e in receiver.events}
    assert len(ids) == len(events) and all(len(i) == 26 for i in ids)
    assert all(isinstance(e, MessageEvent) for e in receiver.events[:7] + receiver.events[10:])


async def test_a_redelivery_repeats_the_event_and_its_ids(
    line_peer: LinePeer, receiver: Receiver
) -> None:
    alice = line_peer.add_user("Alice")
    body = line_peer.callback(line_peer.text(alice, "once"))

    await line_peer.post(receiver.url, body)
    await line_peer.post(receiver.url, line_peer.redelivered(body))

    first, second = (b["events"][0] for b in receiver.bodies)
    assert first["webhookEventId"] == second["webhookEventId"]
    assert first["message"]["id"] == second["message"]["id"]
    assert (first["deliveryContext"], second["deliveryContext"]) == (
        {"isRedelivery": False},
        {"isRedelivery": True},
    )


async def test_forged_and_missing_signatures_fail_the_sdks_check(
    line_peer: LinePeer, receiver: Receiver
) -> None:
    alice = line_peer.add_user("Alice")
    forged = await line_peer.send(receiver.url, line_peer.text(alice, "a"), signature="forged")
    unsigned = await line_peer.send(receiver.url, line_peer.text(alice, "b"), signature=None)
    verify = await line_peer.verify(receiver.url)

    assert (forged.status, unsigned.status, verify.status) == (400, 400, 200)
    assert receiver.refused == 2
    assert receiver.bodies == [{"destination": line_peer.bot_user_id, "events": []}]


async def test_a_burst_of_bodies_arrives_whole(line_peer: LinePeer, receiver: Receiver) -> None:
    users = [line_peer.add_user(f"Customer {n}") for n in range(30)]
    bodies = [line_peer.callback(line_peer.text(u, f"order {n}")) for n, u in enumerate(users)]

    answers = await line_peer.burst(receiver.url, bodies)

    assert {a.status for a in answers} == {200}
    assert sorted(e.message.text for e in receiver.events) == sorted(
        f"order {n}" for n in range(30)
    )


# -- the spec check itself can fail --------------------------------------------------------


async def test_a_field_the_spec_does_not_allow_is_a_violation(line_peer: LinePeer) -> None:
    alice = line_peer.add_user("Alice")
    headers = {"Authorization": f"Bearer {line_peer.token}"}
    pushes = [
        {"to": alice.user_id, "messages": [THANKS], "priority": "high"},
        {"to": alice.user_id, "messages": [{**THANKS, "bold": True}]},
        {"to": alice.user_id, "messages": [{"type": "markdown", "text": "*hi*"}]},
        {"to": alice.user_id, "messages": [{"type": "text"}]},
    ]
    async with ClientSession() as session:
        for body in pushes:
            async with session.post(
                f"{line_peer.url}/v2/bot/message/push", json=body, headers=headers
            ) as response:
                await response.read()
        async with session.get(f"{line_peer.url}/v2/bot/followers/ids", headers=headers):
            pass

    found = list(line_peer.violations)
    line_peer.violations.clear()  # seen here: the fixture must not fail the test for them
    assert any("'priority' is not in the spec" in v for v in found)
    assert any("'bold' is not in the spec" in v for v in found)
    assert any("'markdown' is not one the Messaging API knows" in v for v in found)
    assert any("'text' is a required property" in v for v in found)
    assert any("followers/ids: in the spec, not served by the peer" in v for v in found)


async def test_a_body_line_would_never_send_cannot_be_built(line_peer: LinePeer) -> None:
    alice = line_peer.add_user("Alice")
    follow = line_peer.follow(alice)
    del follow["replyToken"]  # LINE always gives a follow event one
    odd = {**line_peer.text(alice, "hi"), "priority": 1}

    with pytest.raises(AssertionError, match="replyToken"):
        line_peer.callback(follow)
    with pytest.raises(AssertionError, match="priority"):
        line_peer.callback(odd)
    line_peer.violations.clear()
