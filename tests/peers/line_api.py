"""A loopback LINE Messaging API for tests, with state, checked against LINE's own spec.

One aiohttp server on 127.0.0.1 plays both of LINE's hosts (`api.line.me` and
`api-data.line.me`): point the adapter's `api_base` and `data_api_base` at
`peer.url`. Every request the SDK makes and every answer the peer gives is
checked against `fixtures/line/messaging-api.yml` with openapi-core, and every
JSON body, in and out, also strictly: a field the spec does not name, or a
message object whose `type` LINE does not know (or that lacks what its type
requires), is a violation. Violations are kept in `peer.violations`; the
`line_peer` fixture fails the test at teardown when there are any.

Usage (the `line_peer` fixture starts one; `line_spec` is loaded once a session)::

    peer = line_peer
    # the adapter's [[line]]: api_base = data_api_base = peer.url,
    # channel access token peer.token, channel secret peer.secret
    alice = peer.add_user("Alice", language="ja")
    event = peer.text(alice, "こんにちは")          # a dict; event["replyToken"]
    posted = await peer.send(listener_url, event)  # Posted(status, text)
    assert posted.status == 200
    ... the adapter answers ...
    assert peer.delivered[alice.user_id] == [Delivery("reply", [THANKS], None)]

`peer.calls` lists every call (`Call(operation, method, path, status,
retry_key, body)`, operation the spec's operationId); `peer.now()` is the
peer's clock and `peer.advance(seconds)` moves it. A path the peer does not
serve answers 404 and is a violation too.

The REST side (state a test can read and set):

- `POST /v2/bot/message/reply`: tokens come from the events the peer builds;
  single-use and valid `peer.reply_token_seconds` (60) on the peer's own
  clock (`peer.advance(61)` expires them without sleeping). Unknown, used or
  expired: 400 `{"message": "Invalid reply token"}`. Replies are free.
- `POST /v2/bot/message/push` with `X-Line-Retry-Key`: a key already accepted
  answers 409 with `x-line-accepted-request-id` and the original
  `sentMessages`, and nothing is delivered again. Each accepted push counts
  one against `peer.quota` (200 like the free plan, or "none"); over it: 429
  `{"message": "You have reached your monthly limit."}`. A text over 5,000
  UTF-16 units answers 400 with `details`, as LINE does.
- `GET /v2/bot/message/quota`, `/v2/bot/message/quota/consumption`
  (`peer.consumption`).
- `GET /v2/bot/profile/{userId}` (friends: `add_user`, a follow event; others
  404), `GET /v2/bot/group/{groupId}/member/{userId}` and the room one (members:
  whoever wrote in that group or room through the peer's events; others 404),
  `GET /v2/bot/info` (`peer.bot_user_id`, `basic_id`, `display_name`).
- `GET`/`PUT /v2/bot/channel/webhook/endpoint` (`peer.webhook_endpoint`,
  `peer.webhook_active`, which only changes what GET says; GET answers 404
  while none is set, PUT takes only https URLs), `POST
  /v2/bot/channel/webhook/test`: the peer POSTs a signed empty-events body and
  reports `success`/`statusCode` like LINE.
  Webhooks go to `peer.listener` when set (the adapter's local listener that a
  public https endpoint leads to), else to the endpoint itself.
- `GET /v2/bot/message/{messageId}/content` (bytes with their Content-Type;
  404 when unknown or `peer.delete_content(id)`; 202 while a video or audio
  built with `preparing=True` waits for `peer.ready(id)`), `.../content/transcoding`.
- `peer.fail(operation, status, message, retry_after=..., details=..., skip=...,
  after_accept=False)` queues a fault for the next call of an operation
  ("pushMessage", "replyMessage", "getProfile", "getMessageContent", ...):
  nothing is done, or with `after_accept=True` the call is carried out and
  only its answer is the error (a 500 after the push went out).
- `peer.hang_after_accept("pushMessage") -> Hold`: the next such call is
  carried out (delivered, retry key accepted), then its answer waits until
  `hold.release()` or the peer stops, so the client times out; `hold.reached`
  is set once it is waiting.
- `peer.delivered[chat_id]` (a defaultdict): `Delivery(kind "reply"|"push",
  messages, retry_key)` for every delivery, messages as the JSON objects sent;
  a user's chat id is their user id, a group's its group id (`C...`), a room's
  its room id (`R...`).
- A wrong `Authorization: Bearer` token: 401 `{"message": "Authentication
  failed. ..."}`.

The webhook side: event builders shaped by `fixtures/line/webhook.yml`
(`text`, `sticker`, `image`, `video`, `audio`, `file`, `location`, `follow`,
`unfollow`, `postback`; `group=`/`room=` for a group or room source),
`callback(*events)` for the body (checked against `CallbackRequest`: a test
cannot post a shape LINE never sends), `redelivered(body)` (same event and
message ids and reply tokens, isRedelivery true), `sign(raw)`,
`send(url, *events, signature="valid"|"forged"|None)`, `post(url, body)`,
`verify(url)` (empty events), `burst(url, bodies)`. Posts return
`Posted(status, text)`, a named tuple; `url` None posts to `peer.listener`,
else to the endpoint set through the API. Media events register their bytes
in the peer (`event["message"]["id"]` downloads them); follow makes a friend,
unfollow ends it; a group or room event makes the user a member there.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import secrets
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from tests.peers.spec_exchange import SpecRequest, SpecResponse

TOKEN = "loopback-line-channel-access-token-0123456789abcdefABCDEF="
SECRET = "0123456789abcdef0123456789abcdef"  # a channel secret is 32 hex characters
BOT_USER_ID = "U" + "b0" * 16
API_HOST = "https://api.line.me"
DATA_HOST = "https://api-data.line.me"
TEXT_LIMIT = 5000  # UTF-16 code units
RETRY_KEY_HOURS = 24
WEBHOOK_WAITS = 10.0  # seconds the peer waits for the adapter's answer to a webhook
INVALID_REPLY_TOKEN = "Invalid reply token"
MONTHLY_LIMIT = "You have reached your monthly limit."
RETRY_KEY_ACCEPTED = "The retry key is already accepted"
AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
AUTH_MISSING = (
    "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# -- the spec -------------------------------------------------------------------


class SchemaChecker:
    """One OpenAPI document's schemas, checked strictly: JSON Schema validation plus
    no field the schema does not name, and a discriminator followed to its subtype
    (openapi-core does neither)."""

    def __init__(self, document: Mapping[str, Any], name: str) -> None:
        self.document = document
        self.name = name
        self.schemas: Mapping[str, Any] = document["components"]["schemas"]

    def check(self, value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
        return self._full(value, schema, where) + self._walk(value, schema, where, follow=True)

    def check_named(self, value: Any, name: str, where: str) -> list[str]:
        return self.check(value, {"$ref": f"#/components/schemas/{name}"}, where)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[str(schema["$ref"]).rsplit("/", 1)[1]]
        return schema

    def _full(self, value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
        from openapi_schema_validator import OAS30Validator, oas30_format_checker

        root = {**schema, "components": self.document["components"]}
        validator = OAS30Validator(root, format_checker=oas30_format_checker)
        return [
            f"{where}{_pointer(error.absolute_path)}: {error.message}"
            for error in validator.iter_errors(value)
        ]

    def _shape(self, schema: Mapping[str, Any]) -> tuple[dict[str, Any], Any, bool]:
        """Named properties, additionalProperties (None: not declared), whether any part
        says what an object holds."""
        schema = self.resolve(schema)
        props = dict(schema.get("properties", {}))
        extra = schema.get("additionalProperties")
        said = "properties" in schema or "additionalProperties" in schema
        for part in schema.get("allOf", []):
            more, part_extra, part_said = self._shape(part)
            props.update(more)
            said = said or part_said
            if part_extra is not None:
                extra = part_extra
        return props, extra, said

    def _walk(
        self, value: Any, schema: Mapping[str, Any], where: str, *, follow: bool
    ) -> list[str]:
        schema = self.resolve(schema)
        if follow and isinstance(value, dict) and "discriminator" in schema:
            key = schema["discriminator"]["propertyName"]
            tag = value.get(key)
            target = schema["discriminator"].get("mapping", {}).get(tag)
            if target is None:
                return [f"{where}: {key} {tag!r} is not one {self.name} knows"]
            sub = {"$ref": target}
            return self._full(value, sub, where) + self._walk(value, sub, where, follow=False)
        choices = schema.get("oneOf") or schema.get("anyOf")
        if choices:
            tries = [self._walk(value, c, where, follow=True) for c in choices]
            return [] if any(not t for t in tries) else tries[0]
        if isinstance(value, list) and "items" in schema:
            out: list[str] = []
            for index, item in enumerate(value):
                out += self._walk(item, schema["items"], f"{where}[{index}]", follow=True)
            return out
        if not isinstance(value, dict):
            return []
        props, extra, said = self._shape(schema)
        if not said:
            return []  # a free-form object
        out = []
        for name, item in value.items():
            if name in props:
                out += self._walk(item, props[name], f"{where}.{name}", follow=True)
            elif isinstance(extra, Mapping):
                out += self._walk(item, extra, f"{where}.{name}", follow=True)
            elif extra is not True:
                out.append(f"{where}: field {name!r} is not in the spec")
        return out


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


@dataclass(frozen=True)
class LineSpec:
    """LINE's two specs: the Messaging API (openapi-core and raw) and the webhook events."""

    openapi: Any
    api: SchemaChecker
    webhook: SchemaChecker

    @classmethod
    def load(cls, folder: Path) -> LineSpec:
        return _load_spec(str(folder))

    def paths(self) -> Mapping[str, Any]:
        return dict(self.api.document["paths"])

    def operation(self, template: str, method: str) -> Mapping[str, Any] | None:
        item = self.api.document["paths"].get(template)
        found = item.get(method.lower()) if item is not None else None
        return found if isinstance(found, Mapping) else None

    def check_callback(self, body: Any) -> list[str]:
        """What is wrong with a webhook body, as LINE's `CallbackRequest` has it."""
        return self.webhook.check_named(body, "CallbackRequest", "webhook")


@cache
def _load_spec(folder: str) -> LineSpec:
    from openapi_core import OpenAPI

    api = OpenAPI.from_file_path(str(Path(folder) / "messaging-api.yml"))
    hook = OpenAPI.from_file_path(str(Path(folder) / "webhook.yml"))
    return LineSpec(
        api,
        SchemaChecker(api.spec.read_value(), "the Messaging API"),
        SchemaChecker(hook.spec.read_value(), "LINE"),
    )


# -- state ----------------------------------------------------------------------


@dataclass(frozen=True)
class LineUser:
    """A LINE user who is a friend of the shop's account."""

    user_id: str
    display_name: str
    language: str | None = "ja"
    picture_url: str | None = None
    status_message: str | None = None


class Delivery(NamedTuple):
    """What reached a chat: a reply or a push, its message objects, its retry key."""

    kind: Literal["reply", "push"]
    messages: list[dict[str, Any]]
    retry_key: str | None


class Posted(NamedTuple):
    """The adapter's answer to a webhook post."""

    status: int
    text: str


@dataclass
class Fault:
    """An error the next call of an operation answers with: nothing is done, or with
    `after_accept` the call is carried out first and only its answer is the error."""

    status: int
    message: str
    retry_after: int | None = None
    details: list[dict[str, str]] | None = None
    skip: int = 0  # calls to let through before this one fails
    after_accept: bool = False


@dataclass
class Hold:
    """A call carried out whose answer waits until released (the client times out)."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class Content:
    data: bytes
    content_type: str
    transcoding: Literal["processing", "succeeded", "failed"] = "succeeded"
    deleted: bool = False


@dataclass
class ReplyToken:
    chat_id: str
    issued_at: float
    used: bool = False


@dataclass
class Accepted:
    """A push accepted under a retry key."""

    request_id: str
    sent: list[dict[str, str]]
    at: float


@dataclass(frozen=True)
class Call:
    operation: str  # the spec's operationId ("" when the path is not in the spec)
    method: str
    path: str
    status: int
    retry_key: str | None
    body: Any


def ulid(at_ms: int) -> str:
    """A ULID-like id (26 Crockford base32 characters: time, then randomness)."""
    n = (at_ms << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _hex_id(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


# -- the peer -------------------------------------------------------------------


class LinePeer:
    """One LINE Official Account's Messaging API on 127.0.0.1.

    `await peer.start()`, `await peer.stop()`; `peer.url` serves both API hosts.
    """

    def __init__(
        self,
        spec: LineSpec,
        *,
        token: str = TOKEN,
        secret: str = SECRET,
        bot_user_id: str = BOT_USER_ID,
        basic_id: str = "@123abcde",
        display_name: str = "Sakura Flowers",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.token = token
        self.secret = secret
        self.bot_user_id = bot_user_id
        self.basic_id = basic_id
        self.display_name = display_name
        self.chat_mode: Literal["chat", "bot"] = "bot"
        self.port = 0
        self.violations: list[str] = []
        self.calls: list[Call] = []
        self.users: dict[str, LineUser] = {}  # every LINE user the peer knows
        self.friends: set[str] = set()  # user ids that follow the account (getProfile)
        self.members: defaultdict[str, set[str]] = defaultdict(set)  # group/room id -> users
        self.delivered: defaultdict[str, list[Delivery]] = defaultdict(list)
        self.reply_tokens: dict[str, ReplyToken] = {}
        self.reply_token_seconds: float = 60.0
        self.quota: int | Literal["none"] = 200
        self.consumption = 0
        self.accepted: dict[str, Accepted] = {}  # retry key -> the push it accepted
        self.contents: dict[str, Content] = {}
        self.webhook_endpoint: str | None = None
        self.webhook_active = True
        self.listener: str | None = None
        self.webhook_posts: list[Posted] = []  # answers to the peer's own webhook tests
        self.faults: dict[str, deque[Fault]] = {}
        self.holds: dict[str, Hold] = {}
        self._clock = clock
        self._offset = 0.0
        self._message_ids = itertools.count(560_000_000_000_000_001)
        self._hung: list[Hold] = []
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    api_base = url
    data_api_base = url

    async def start(self) -> None:
        app = web.Application(middlewares=[self._checked])
        routes: list[tuple[str, str, str, Callable[[web.Request], Awaitable[web.Response]]]] = [
            ("POST", "/v2/bot/message/reply", "replyMessage", self._reply),
            ("POST", "/v2/bot/message/push", "pushMessage", self._push),
            ("GET", "/v2/bot/message/quota", "getMessageQuota", self._quota),
            (
                "GET",
                "/v2/bot/message/quota/consumption",
                "getMessageQuotaConsumption",
                self._consumption,
            ),
            ("GET", "/v2/bot/profile/{userId}", "getProfile", self._profile),
            (
                "GET",
                "/v2/bot/group/{groupId}/member/{userId}",
                "getGroupMemberProfile",
                self._member_profile,
            ),
            (
                "GET",
                "/v2/bot/room/{roomId}/member/{userId}",
                "getRoomMemberProfile",
                self._member_profile,
            ),
            ("GET", "/v2/bot/info", "getBotInfo", self._bot_info),
            (
                "GET",
                "/v2/bot/channel/webhook/endpoint",
                "getWebhookEndpoint",
                self._get_endpoint,
            ),
            (
                "PUT",
                "/v2/bot/channel/webhook/endpoint",
                "setWebhookEndpoint",
                self._set_endpoint,
            ),
            ("POST", "/v2/bot/channel/webhook/test", "testWebhookEndpoint", self._test_endpoint),
            (
                "GET",
                "/v2/bot/message/{messageId}/content",
                "getMessageContent",
                self._content,
            ),
            (
                "GET",
                "/v2/bot/message/{messageId}/content/transcoding",
                "getMessageContentTranscodingByMessageId",
                self._transcoding,
            ),
        ]
        for method, path, operation, handler in routes:
            app.router.add_route(method, path, handler, name=operation)
        app.router.add_route("*", "/{tail:.*}", self._unserved)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for hold in [*self.holds.values(), *self._hung]:
            hold.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what a test does to the account ------------------------------------------

    def now(self) -> float:
        """The peer's clock (seconds): the real one plus what `advance` added."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the peer's clock on (expire reply tokens, retry keys) without sleeping."""
        self._offset += seconds

    def add_user(
        self,
        display_name: str,
        *,
        language: str | None = "ja",
        picture: bool = True,
        status_message: str | None = None,
        user_id: str | None = None,
        friend: bool = True,
    ) -> LineUser:
        """A LINE user; a friend of the account (`getProfile` finds them) unless
        `friend=False` (someone who only writes in a group)."""
        user_id = user_id or _hex_id("U")
        picture_url = f"https://profile.line-scdn.net/0h{user_id[1:17]}" if picture else None
        user = LineUser(user_id, display_name, language, picture_url, status_message)
        self.users[user_id] = user
        if friend:
            self.friends.add(user_id)
        return user

    def add_content(
        self,
        data: bytes,
        content_type: str,
        *,
        transcoding: Literal["processing", "succeeded", "failed"] = "succeeded",
    ) -> str:
        """Media a user sent, held by LINE: returns its message id."""
        message_id = self.next_message_id()
        self.contents[message_id] = Content(data, content_type, transcoding)
        return message_id

    def ready(self, message_id: str) -> None:
        """LINE has finished preparing a video or audio: it can be downloaded."""
        self.contents[message_id].transcoding = "succeeded"

    def delete_content(self, message_id: str) -> None:
        """LINE no longer holds the media (kept a limited time): downloads answer 404."""
        self.contents[message_id].deleted = True

    def next_message_id(self) -> str:
        return str(next(self._message_ids))

    def issue_reply_token(self, chat_id: str) -> str:
        token = secrets.token_hex(16)
        self.reply_tokens[token] = ReplyToken(chat_id, self.now())
        return token

    def fail(
        self,
        operation: str,
        status: int,
        message: str,
        *,
        retry_after: int | None = None,
        details: list[dict[str, str]] | None = None,
        skip: int = 0,
        after_accept: bool = False,
    ) -> Fault:
        """Queue an error for a later call of `operation` (the spec's operationId).

        `after_accept`: the call is carried out (a push delivered, its retry key
        accepted) and the error is its answer, as when LINE's answer is lost."""
        fault = Fault(status, message, retry_after, details, skip, after_accept)
        self.faults.setdefault(operation, deque()).append(fault)
        return fault

    def hang_after_accept(self, operation: str = "pushMessage") -> Hold:
        """Carry out the next call of `operation`, then hold its answer until released."""
        hold = Hold()
        self.holds[operation] = hold
        return hold

    def quota_left(self) -> int | None:
        return None if self.quota == "none" else max(0, self.quota - self.consumption)

    # -- webhook events (shaped by webhook.yml) -----------------------------------

    def _source(self, user: LineUser, group: str | None, room: str | None) -> dict[str, Any]:
        self.users.setdefault(user.user_id, user)
        if group is not None or room is not None:
            self.members[group or room or ""].add(user.user_id)
        if group is not None:
            return {"type": "group", "groupId": group, "userId": user.user_id}
        if room is not None:
            return {"type": "room", "roomId": room, "userId": user.user_id}
        return {"type": "user", "userId": user.user_id}

    def _event(
        self,
        kind: str,
        user: LineUser,
        *,
        group: str | None,
        room: str | None,
        reply: bool,
        **content: Any,
    ) -> dict[str, Any]:
        at_ms = int(self.now() * 1000)
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": at_ms,
            "source": self._source(user, group, room),
            "webhookEventId": ulid(at_ms),
            "deliveryContext": {"isRedelivery": False},
        }
        if reply:
            event["replyToken"] = self.issue_reply_token(group or room or user.user_id)
        event.update(content)
        return event

    def _message(
        self,
        user: LineUser,
        message: dict[str, Any],
        group: str | None,
        room: str | None,
    ) -> dict[str, Any]:
        message.setdefault("id", self.next_message_id())
        return self._event("message", user, group=group, room=room, reply=True, message=message)

    def text(
        self,
        user: LineUser,
        text: str,
        *,
        group: str | None = None,
        room: str | None = None,
        quoted_message_id: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "text", "text": text, "quoteToken": _quote_token()}
        if quoted_message_id is not None:
            message["quotedMessageId"] = quoted_message_id
        return self._message(user, message, group, room)

    def sticker(
        self,
        user: LineUser,
        package_id: str = "446",
        sticker_id: str = "1988",
        *,
        keywords: Sequence[str] = ("happy", "smile"),
        resource_type: str = "STATIC",
        group: str | None = None,
        room: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "sticker",
            "packageId": package_id,
            "stickerId": sticker_id,
            "stickerResourceType": resource_type,
            "quoteToken": _quote_token(),
        }
        if keywords:
            message["keywords"] = list(keywords)
        return self._message(user, message, group, room)

    def _media(
        self, kind: str, data: bytes, content_type: str, preparing: bool = False, **extra: Any
    ) -> dict[str, Any]:
        message_id = self.add_content(
            data, content_type, transcoding="processing" if preparing else "succeeded"
        )
        return {"type": kind, "id": message_id, "contentProvider": {"type": "line"}, **extra}

    def image(
        self,
        user: LineUser,
        data: bytes,
        content_type: str = "image/jpeg",
        *,
        group: str | None = None,
        room: str | None = None,
    ) -> dict[str, Any]:
        message = self._media("image", data, content_type, quoteToken=_quote_token())
        return self._message(user, message, group, room)

    def video(
        self,
        user: LineUser,
        data: bytes,
        content_type: str = "video/mp4",
        *,
        duration_ms: int = 5000,
        preparing: bool = False,
        group: str | None = None,
        room: str | None = None,
    ) -> dict[str, Any]:
        """`preparing`: LINE is still transcoding it (content answers 202 until `ready`)."""
        message = self._media(
            "video",
            data,
            content_type,
            preparing,
            duration=duration_ms,
            quoteToken=_quote_token(),
        )
        return self._message(user, message, group, room)

    def audio(
        self,
        user: LineUser,
        data: bytes,
        content_type: str = "audio/x-m4a",
        *,
        duration_ms: int = 3000,
        preparing: bool = False,
        group: str | None = None,
        room: str | None = None,
    ) -> dict[str, Any]:
        message = self._media("audio", data, content_type, preparing, duration=duration_ms)
        return self._message(user, message, group, room)

    def file(
        self,
        user: LineUser,
        data: bytes,
        file_name: str,
        content_type: str = "application/octet-stream",
        *,
        group: str | None = None,
        room: str | None = None,
    ) -> dict[str, Any]:
        message_id = self.add_content(data, content_type)
        message = {"type": "file", "id": message_id, "fileName": file_name, "fileSize": len(data)}
        return self._message(user, message, group, room)

    def location(
        self,
        user: LineUser,
        latitude: float,
        longitude: float,
        *,
        title: str | None = None,
        address: str | None = None,
        group: str | None = None,
        room: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "location",
            "latitude": latitude,
            "longitude": longitude,
        }
        if title is not None:
            message["title"] = title
        if address is not None:
            message["address"] = address
        return self._message(user, message, group, room)

    def follow(self, user: LineUser, *, unblocked: bool = False) -> dict[str, Any]:
        """The user added the account as a friend (or unblocked it)."""
        self.friends.add(user.user_id)
        return self._event(
            "follow",
            user,
            group=None,
            room=None,
            reply=True,
            follow={"isUnblocked": unblocked},
        )

    def unfollow(self, user: LineUser) -> dict[str, Any]:
        """The user blocked the account: no reply token, and getProfile no longer finds them."""
        self.friends.discard(user.user_id)
        return self._event("unfollow", user, group=None, room=None, reply=False)

    def postback(
        self,
        user: LineUser,
        data: str,
        *,
        group: str | None = None,
        room: str | None = None,
    ) -> dict[str, Any]:
        return self._event(
            "postback", user, group=group, room=room, reply=True, postback={"data": data}
        )

    @staticmethod
    def new_group_id() -> str:
        return _hex_id("C")

    @staticmethod
    def new_room_id() -> str:
        return _hex_id("R")

    def callback(self, *events: Mapping[str, Any]) -> dict[str, Any]:
        """The body LINE posts: checked against webhook.yml's CallbackRequest (a shape LINE
        would never send is a violation at once, failing the test)."""
        body = {"destination": self.bot_user_id, "events": [dict(e) for e in events]}
        problems = self.spec.check_callback(body)
        self.violations.extend(problems)
        assert not problems, "\n".join(problems)
        return body

    @staticmethod
    def redelivered(body: Mapping[str, Any]) -> dict[str, Any]:
        """The same events again, as LINE redelivers them: same webhookEventId, message
        ids and reply tokens, with deliveryContext.isRedelivery true."""
        again = copy.deepcopy(dict(body))
        for event in again["events"]:
            event["deliveryContext"] = {"isRedelivery": True}
        return again

    def sign(self, raw: bytes, secret: str | None = None) -> str:
        """`x-line-signature`: Base64 of HMAC-SHA256 of the raw body, keyed with the secret."""
        key = (secret or self.secret).encode()
        return base64.b64encode(hmac.new(key, raw, hashlib.sha256).digest()).decode()

    def _target(self, url: str | None) -> str:
        target = url or self.listener or self.webhook_endpoint
        assert target, "no webhook URL: pass one, or set peer.listener / the endpoint"
        return target

    async def post(
        self,
        url: str | None,
        body: Mapping[str, Any] | bytes,
        *,
        signature: Literal["valid", "forged"] | None = "valid",
        session: ClientSession | None = None,
    ) -> Posted:
        """POST a body to the adapter as LINE does; a dict body is checked first.

        `url` None: `peer.listener`, else the webhook endpoint set through the API.
        """
        if isinstance(body, Mapping):
            self.violations.extend(self.spec.check_callback(body))
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        else:
            raw = body
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0",
        }
        if signature == "valid":
            headers["x-line-signature"] = self.sign(raw)
        elif signature == "forged":
            headers["x-line-signature"] = self.sign(raw, secret="f" * 32)
        if session is None:
            async with ClientSession(timeout=ClientTimeout(total=WEBHOOK_WAITS)) as own:
                return await self._post(own, self._target(url), raw, headers)
        return await self._post(session, self._target(url), raw, headers)

    @staticmethod
    async def _post(
        session: ClientSession, url: str, raw: bytes, headers: Mapping[str, str]
    ) -> Posted:
        async with session.post(url, data=raw, headers=headers) as response:
            return Posted(response.status, await response.text())

    async def send(
        self,
        url: str | None,
        *events: Mapping[str, Any],
        signature: Literal["valid", "forged"] | None = "valid",
    ) -> Posted:
        """Build one body of these events, check it, sign it and post it."""
        return await self.post(url, self.callback(*events), signature=signature)

    async def verify(self, url: str | None = None) -> Posted:
        """The console's "Verify": a signed body with no events."""
        return await self.post(url, self.callback())

    async def burst(self, url: str | None, bodies: Sequence[Mapping[str, Any]]) -> list[Posted]:
        """Post many bodies at once, as LINE does for a busy account."""
        async with ClientSession(timeout=ClientTimeout(total=WEBHOOK_WAITS * 3)) as session:
            return list(await asyncio.gather(*(self.post(url, b, session=session) for b in bodies)))

    # -- checking every exchange against the spec ---------------------------------

    @web.middleware
    async def _checked(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        route = request.match_info.route
        operation = route.name or ""
        resource = route.resource
        template = resource.canonical if resource is not None and operation else ""
        body = await request.read()
        spec_op = self.spec.operation(template, request.method) if template else None
        if spec_op is not None:
            self._check_request(request, template, spec_op, body)
        retry_key = request.headers.get("X-Line-Retry-Key")
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body
        if spec_op is None:
            response: web.StreamResponse = await handler(request)
        elif not request.headers.get("Authorization", "").startswith("Bearer "):
            response = _error(401, AUTH_MISSING)
        elif request.headers["Authorization"] != f"Bearer {self.token}":
            response = _error(401, AUTH_FAILED)
        else:
            fault = self._fault(operation)
            if fault is None:
                response = await handler(request)
            else:
                if fault.after_accept:
                    await handler(request)
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                response = _error(
                    fault.status, fault.message, details=fault.details, headers=headers
                )
        if spec_op is not None and isinstance(response, web.Response):
            self._check_response(request, template, spec_op, body, response)
        status = response.status
        self.calls.append(Call(operation, request.method, request.path, status, retry_key, parsed))
        return response

    def _host(self, spec_op: Mapping[str, Any]) -> str:
        servers = spec_op.get("servers")
        return str(servers[0]["url"]) if servers else API_HOST

    def _check_request(
        self, request: web.Request, template: str, spec_op: Mapping[str, Any], body: bytes
    ) -> None:
        where = f"{request.method} {request.path}"
        try:
            self.spec.openapi.validate_request(SpecRequest(request, body, self._host(spec_op)))
        except Exception as exc:
            self.violations.append(f"{where}: request: {_explained(exc)}")
        params = spec_op.get("parameters", [])
        query = {p["name"] for p in params if p["in"] == "query"}
        headers = {p["name"].lower() for p in params if p["in"] == "header"}
        for name in request.query:
            if name not in query:
                self.violations.append(f"{where}: query parameter {name!r} is not in the spec")
        for name in request.headers:
            if name.lower().startswith("x-line-") and name.lower() not in headers:
                self.violations.append(f"{where}: header {name!r} is not in the spec")
        schema = (
            spec_op.get("requestBody", {})
            .get("content", {})
            .get("application/json", {})
            .get("schema")
        )
        if body and schema is None:
            self.violations.append(f"{where}: a body where the spec takes none")
        elif schema is not None and body:
            try:
                value = json.loads(body)
            except ValueError:
                self.violations.append(f"{where}: the body is not JSON")
                return
            self.violations.extend(self.spec.api.check(value, schema, f"{where}: body"))

    def _check_response(
        self,
        request: web.Request,
        template: str,
        spec_op: Mapping[str, Any],
        body: bytes,
        response: web.Response,
    ) -> None:
        where = f"{request.method} {request.path} -> {response.status}"
        documented = spec_op.get("responses", {}).get(str(response.status))
        if documented is not None:
            try:
                self.spec.openapi.validate_response(
                    SpecRequest(request, body, self._host(spec_op)), SpecResponse(response)
                )
            except Exception as exc:
                self.violations.append(f"{where}: response: {_explained(exc)}")
        elif response.status == 202 and spec_op.get("operationId") == "getMessageContent":
            return  # LINE's answer while it prepares a video or audio; the spec leaves it out
        elif response.status < 400:
            self.violations.append(f"{where}: a status the spec does not give")
            return
        if response.content_type != "application/json":
            return
        raw = response.body if isinstance(response.body, bytes) else b""
        value = json.loads(raw) if raw else None
        content = (documented or {}).get("content", {}).get("application/json", {})
        schema = content.get("schema")
        if schema is None and response.status < 400:
            return  # "200 OK" with no body described: LINE sends `{}`
        schema = schema or {"$ref": "#/components/schemas/ErrorResponse"}
        self.violations.extend(self.spec.api.check(value, schema, f"{where}: body"))

    def _fault(self, operation: str) -> Fault | None:
        faults = self.faults.get(operation)
        if not faults:
            return None
        if faults[0].skip > 0:
            faults[0].skip -= 1
            return None
        return faults.popleft()

    async def _held(self, operation: str) -> None:
        hold = self.holds.pop(operation, None)
        if hold is not None:
            self._hung.append(hold)
            hold.reached.set()
            await hold.released.wait()

    async def _unserved(self, request: web.Request) -> web.Response:
        path = request.path
        known = any(_matches(t, path) for t in self.spec.paths())
        if known:
            self.violations.append(f"{request.method} {path}: in the spec, not served by the peer")
        else:
            self.violations.append(f"{request.method} {path}: not in the Messaging API")
        return _error(404, "Not found")

    # -- the Messaging API ---------------------------------------------------------

    def _sent(self, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        out = []
        for message in messages:
            sent = {"id": self.next_message_id()}
            if message.get("type") in ("text", "textV2", "sticker", "image", "video"):
                sent["quoteToken"] = _quote_token()
            out.append(sent)
        return out

    @staticmethod
    def _too_long(messages: Sequence[Mapping[str, Any]]) -> web.Response | None:
        details = [
            {
                "message": f"Length must be between 0 and {TEXT_LIMIT}",
                "property": f"messages[{i}].text",
            }
            for i, m in enumerate(messages)
            if m.get("type") == "text" and utf16_units(str(m.get("text", ""))) > TEXT_LIMIT
        ]
        if not details:
            return None
        return _error(400, f"The request body has {len(details)} error(s)", details=details)

    def _deliver(
        self,
        chat_id: str,
        kind: Literal["reply", "push"],
        messages: list[dict[str, Any]],
        retry_key: str | None,
    ) -> None:
        self.delivered[chat_id].append(Delivery(kind, messages, retry_key))

    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        messages = list(body.get("messages", []))
        token = self.reply_tokens.get(str(body.get("replyToken")))
        if token is None or token.used or self.now() - token.issued_at > self.reply_token_seconds:
            return _error(400, INVALID_REPLY_TOKEN)
        refused = self._too_long(messages)
        if refused is not None:
            return refused
        token.used = True
        self._deliver(token.chat_id, "reply", messages, None)
        answer = web.json_response({"sentMessages": self._sent(messages)}, headers=_request_id())
        await self._held("replyMessage")
        return answer

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.json()
        messages = list(body.get("messages", []))
        to = str(body.get("to", ""))
        key = request.headers.get("X-Line-Retry-Key")
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                return _error(400, "The value of the X-Line-Retry-Key header is invalid")
            earlier = self.accepted.get(key)
            if earlier is not None and self.now() - earlier.at < RETRY_KEY_HOURS * 3600:
                return _error(
                    409,
                    RETRY_KEY_ACCEPTED,
                    sent=earlier.sent,
                    headers={"x-line-accepted-request-id": earlier.request_id},
                )
        if len(to) != 33 or to[0] not in "UCR":
            return _error(
                400, "The property, 'to', in the request body is invalid (line: -, column: -)"
            )
        refused = self._too_long(messages)
        if refused is not None:
            return refused
        left = self.quota_left()
        if left is not None and left <= 0:
            return _error(429, MONTHLY_LIMIT)
        self.consumption += 1
        sent = self._sent(messages)
        ids = _request_id()
        if key is not None:
            self.accepted[key] = Accepted(ids["x-line-request-id"], sent, self.now())
        self._deliver(to, "push", messages, key)
        answer = web.json_response({"sentMessages": sent}, headers=ids)
        await self._held("pushMessage")
        return answer

    async def _quota(self, request: web.Request) -> web.Response:
        if self.quota == "none":
            return web.json_response({"type": "none"}, headers=_request_id())
        return web.json_response({"type": "limited", "value": self.quota}, headers=_request_id())

    async def _consumption(self, request: web.Request) -> web.Response:
        return web.json_response({"totalUsage": self.consumption}, headers=_request_id())

    async def _profile(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        user = self.users.get(user_id)
        if user is None or user_id not in self.friends:
            return _error(404, "Not found")
        out: dict[str, Any] = {"displayName": user.display_name, "userId": user.user_id}
        if user.language is not None:
            out["language"] = user.language
        if user.picture_url is not None:
            out["pictureUrl"] = user.picture_url
        if user.status_message is not None:
            out["statusMessage"] = user.status_message
        return web.json_response(out, headers=_request_id())

    async def _member_profile(self, request: web.Request) -> web.Response:
        chat = request.match_info.get("groupId") or request.match_info.get("roomId") or ""
        user_id = request.match_info["userId"]
        user = self.users.get(user_id)
        if user is None or user_id not in self.members.get(chat, set()):
            return _error(404, "Not found")
        out: dict[str, Any] = {"displayName": user.display_name, "userId": user.user_id}
        if user.picture_url is not None:
            out["pictureUrl"] = user.picture_url
        return web.json_response(out, headers=_request_id())

    async def _bot_info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "userId": self.bot_user_id,
                "basicId": self.basic_id,
                "displayName": self.display_name,
                "chatMode": self.chat_mode,
                "markAsReadMode": "auto" if self.chat_mode == "bot" else "manual",
            },
            headers=_request_id(),
        )

    async def _get_endpoint(self, request: web.Request) -> web.Response:
        if self.webhook_endpoint is None:
            return _error(404, "Not found")
        return web.json_response(
            {"endpoint": self.webhook_endpoint, "active": self.webhook_active},
            headers=_request_id(),
        )

    async def _set_endpoint(self, request: web.Request) -> web.Response:
        body = await request.json()
        endpoint = str(body.get("endpoint", ""))
        if not endpoint.startswith("https://"):
            return _error(
                400,
                "The request body has 1 error(s)",
                details=[{"message": "The URL must start with https://", "property": "endpoint"}],
            )
        self.webhook_endpoint = endpoint
        return web.json_response({}, headers=_request_id())

    async def _test_endpoint(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        endpoint = body.get("endpoint") or self.webhook_endpoint
        if endpoint is None:
            return _error(400, "Webhook URL is not set")
        target = self.listener if endpoint == self.webhook_endpoint and self.listener else endpoint
        stamp = datetime.fromtimestamp(self.now(), UTC).isoformat(timespec="milliseconds")
        stamp = stamp.replace("+00:00", "Z")
        try:
            posted = await self.post(target, self.callback())
        except TimeoutError:
            result = (0, "REQUEST_TIMEOUT", "request timed out")
        except ClientError as exc:
            result = (0, "COULD_NOT_CONNECT", type(exc).__name__)
        else:
            self.webhook_posts.append(posted)
            reason = "OK" if posted.status == 200 else "ERROR_STATUS_CODE"
            result = (posted.status, reason, str(posted.status))
        status, reason, detail = result
        return web.json_response(
            {
                "success": status == 200,
                "timestamp": stamp,
                "statusCode": status,
                "reason": reason,
                "detail": detail,
            },
            headers=_request_id(),
        )

    def _stored(self, request: web.Request) -> Content | None:
        content = self.contents.get(request.match_info["messageId"])
        return None if content is None or content.deleted else content

    async def _content(self, request: web.Request) -> web.Response:
        content = self._stored(request)
        if content is None:
            return _error(404, "Not found")
        if content.transcoding == "processing":  # a video or audio LINE is still preparing
            return web.Response(status=202, headers=_request_id())
        return web.Response(
            body=content.data, content_type=content.content_type, headers=_request_id()
        )

    async def _transcoding(self, request: web.Request) -> web.Response:
        content = self._stored(request)
        if content is None:
            return _error(404, "Not found")
        return web.json_response({"status": content.transcoding}, headers=_request_id())


def _explained(exc: Exception) -> str:
    """openapi-core's error with its cause, when the cause says more."""
    cause = exc.__cause__
    if cause is None or str(cause) in str(exc):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}: {cause}"


def _quote_token() -> str:
    return secrets.token_urlsafe(48)[:64]


def _request_id() -> dict[str, str]:
    return {"x-line-request-id": str(uuid.uuid4())}


def _matches(template: str, path: str) -> bool:
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(got) and all(
        w.startswith("{") or w == g for w, g in zip(want, got, strict=True)
    )


def _error(
    status: int,
    message: str,
    *,
    details: list[dict[str, str]] | None = None,
    sent: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    if sent:
        body["sentMessages"] = sent
    return web.json_response(body, status=status, headers={**_request_id(), **(headers or {})})
