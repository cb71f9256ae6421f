"""LINE: a LINE Official Account's Messaging API channel, through the official line-bot-sdk.

LINE only pushes: the adapter listens on `webhook_listen` (behind the shop's
HTTPS proxy or tunnel, which LINE posts to at `webhook_url`).

Receiving:
- every request's `x-line-signature` is checked against the channel secret
  before anything else is read: none is answered 401, a wrong one 403, both
  logged, nothing stored. LINE's "Verify" (an empty event list) gets 200;
- each event is read on its own (`line_events`): a message becomes an
  `Inbound` whose provider id is LINE's message id, so a redelivered event
  (`deliveryContext.isRedelivery`) or a webhook that arrives twice is stored
  once; the answer 200 leaves only after the store has it (a store that
  cannot take it in time is answered 503, and LINE's redelivery, when the
  shop turned it on, sends it again);
- the sender is named from their LINE profile (display name, language), read
  once per customer per run;
- images, video, audio and files are downloaded at once from the content API
  on `data_api_base` (LINE deletes them after a while), up to
  `MAX_MEDIA_BYTES`; one that cannot be had is listed with why;
- `follow` makes the customer known (and opts them back in); `unfollow`
  (they blocked the account) marks them opted out, so no reply goes to them;
- group and room messages are taken only with `allow_groups = true`.

Sending: a reply uses the reply token of the customer's last message while it
is fresh (`REPLY_WINDOW`, free); after that it is a push, which counts
against the account's monthly quota. A push carries an `X-Line-Retry-Key`
made from the outbox message, so a retry after a timeout that LINE had in
fact accepted is answered 409 and is not delivered twice. A reply by token
that got no answer is not sent again as a push (it may have arrived): it
fails in words and the agent decides. 429 (too many requests) and 5xx are
retried; 4xx fail in words, a used-up monthly quota among them.

The account's basic id (for `omnitui qr`) and its quota (for the composer)
are written to the store's cursor table (`line:basic_id`, `line:quota`).
line-bot-sdk costs about 0.6 s to import: it is imported on first use, in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from omnitui.adapters.base import SendError, Sink
from omnitui.adapters.line_events import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    LineEvent,
    Media,
    NotAnEvent,
    read_body,
    read_event,
    signed_by,
)
from omnitui.adapters.webhook import Refusal, WebhookServer, deliver_within
from omnitui.config import LineConfig
from omnitui.domain.broadcast import broadcast_wish
from omnitui.domain.health import CONNECTED, CONNECTING, Health
from omnitui.domain.line import LINE_REPLY_WINDOW, QUOTA_CURSOR
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    IdentityKind,
    Inbound,
    InboundAttachment,
    Outbound,
)
from omnitui.domain.sizes import size_words
from omnitui.errors import OmniError

if TYPE_CHECKING:
    from aiohttp import web

    from omnitui.adapters.webhook import Body

__all__ = ["LineAdapter", "LineBook", "LineBotInfo", "bot_info", "check"]

log = logging.getLogger("omnitui.line")

# A reply token is LINE's free answer to one event; LINE keeps it about a minute.
# OmniTUI uses it only this long after the event (the composer says so), then pushes.
REPLY_WINDOW = LINE_REPLY_WINDOW
MAX_MEDIA_BYTES = 20 * 1024 * 1024
MEDIA_SECONDS = 20.0  # one file's download
WEBHOOK_STORE_SECONDS = 10.0
API_SECONDS = 15.0  # one call to the Messaging API
MAX_TEXT = 5000  # LINE's limit for one text message
MAX_MESSAGES = 5  # message objects in one reply or push
QUOTA_EVERY = 600.0  # the quota is read again this often, and after a push
PROFILE_CALLS = 8  # profile reads at once (a burst of new customers)
BASIC_ID_KEY = "line:basic_id"
BOT_NAME_KEY = "line:bot_name"
QUOTA_KEY = QUOTA_CURSOR
_RETRY_KEYS = uuid.UUID("8d5a0f3e-3c1b-4f4e-9a51-6f0b2d7c1e90")  # OmniTUI's namespace


class LineSetupError(OmniError):
    """A LINE channel that cannot work until its config changes."""


class LineBook(Protocol):
    """Where `follow` and `unfollow` are recorded (the store implements it)."""

    async def contact_for_address(
        self, kind: IdentityKind, raw: str, *, name: str = "", region: str | None = None
    ) -> tuple[int, bool]: ...

    async def set_opted_out(
        self, kind: IdentityKind, address: str, opted_out: bool, *, region: str | None = None
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class LineBotInfo:
    """The account as LINE knows it: `basic_id` is the `@…` id friends add."""

    user_id: str
    basic_id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    language: str = ""


async def _load_sdk() -> None:
    def load() -> None:
        import linebot.v3.messaging  # noqa: F401

    await asyncio.to_thread(load)


def _timeout(seconds: float) -> Any:
    from aiohttp import ClientTimeout

    return ClientTimeout(total=seconds)


def _said(exc: BaseException) -> str:
    """What LINE said in an error answer (its `message`), without anything else."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        return _said_text(body)
    return str(getattr(exc, "reason", "") or type(exc).__name__)[:200]


def _said_text(body: str) -> str:
    """LINE's `message` in an error body (else the start of the body)."""
    with contextlib.suppress(ValueError):
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])[:200]
    return body[:200]


def _status(exc: BaseException) -> int:
    status = getattr(exc, "status", 0)
    return status if isinstance(status, int) else 0


def _header(exc: BaseException, name: str) -> str | None:
    headers = getattr(exc, "headers", None) or {}
    with contextlib.suppress(Exception):
        for key, value in dict(headers).items():
            if str(key).lower() == name:
                return str(value)
    return None


class LineAdapter:
    """One `[[line]]` account: signed webhooks in, replies and pushes out."""

    def __init__(
        self,
        config: LineConfig,
        *,
        book: LineBook | None = None,
        token: Callable[[], str] | None = None,
        secret: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.time,
        max_media_bytes: int = MAX_MEDIA_BYTES,
    ) -> None:
        self.config = config
        self._channel = Channel(ChannelKind.LINE, config.name)
        self._book = book
        self._token_source = token or config.token.reveal
        self._secret_source = secret or config.secret.reveal
        self._clock = clock
        self.max_media_bytes = max_media_bytes
        self._api: Any = None  # AsyncApiClient on api_base
        self._data: Any = None  # AsyncApiClient on data_api_base
        self._lock = asyncio.Lock()
        self._health = CONNECTING
        self._profiles: dict[str, Profile] = {}
        self._profile_calls = asyncio.Semaphore(PROFILE_CALLS)
        self._used_tokens: set[str] = set()
        self._sink: Sink | None = None
        self._quota_wanted = asyncio.Event()
        self.status: dict[str, str] = {}

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def health(self) -> Health:
        return self._health

    # -- the API clients ------------------------------------------------------

    def _reveal(self, source: Callable[[], str]) -> str:
        try:
            return source()
        except Exception as exc:  # SecretError names the variable or command, never the value
            raise LineSetupError("{reason}", reason=exc) from None

    async def _clients(self) -> tuple[Any, Any]:
        """The SDK's clients for the API and for content (made on first use)."""
        async with self._lock:
            if self._api is None:
                await _load_sdk()
                from linebot.v3.messaging import AsyncApiClient, Configuration

                token = await asyncio.to_thread(self._reveal, self._token_source)
                api = Configuration(host=self.config.api_base.rstrip("/"), access_token=token)
                data = Configuration(host=self.config.data_api_base.rstrip("/"), access_token=token)
                self._api, self._data = AsyncApiClient(api), AsyncApiClient(data)
            return self._api, self._data

    async def _messaging(self) -> Any:
        from linebot.v3.messaging import AsyncMessagingApi

        api, _ = await self._clients()
        return AsyncMessagingApi(api)

    def explain(self, exc: BaseException) -> str:
        """What went wrong talking to LINE, in words (never the token)."""
        status = _status(exc)
        if status == 401:
            return (
                f"LINE refused the channel access token of {self.config.name}: "
                "check token_env or token_cmd (LINE Developers console, Messaging API tab)"
            )
        if status:
            return f"LINE answered {status}: {_said(exc)}"
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            return f"LINE did not answer within {API_SECONDS:g} s ({self.config.api_base})"
        if isinstance(exc, OSError) or "Connect" in type(exc).__name__:
            return f"cannot reach LINE at {self.config.api_base}: {exc}"
        return str(exc) or type(exc).__name__

    # -- receiving ------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        self._health = CONNECTING
        self._sink = sink
        secret = await asyncio.to_thread(self._reveal, self._secret_source)
        await self._clients()  # a token that cannot be had stops here, in words
        server = WebhookServer(
            self.config.webhook_listen,
            lambda request, body: self._handle(sink, secret, request, body),
            account=self.channel.account,
            log=log,
            max_bytes=MAX_BODY_BYTES,
            check_headers=lambda request: _check_signature_present(request),
        )
        try:
            await server.start()
        except OSError as exc:
            raise LineSetupError(
                "cannot listen on {listen}: {reason}",
                listen=self.config.webhook_listen,
                reason=exc,
            ) from None
        self._health = CONNECTED
        self.status["webhook"] = f"listening on {self.config.webhook_listen}"
        log.info("%s: %s", self.config.name, self.status["webhook"])
        account = asyncio.create_task(self._keep_account_facts(sink))
        try:
            await server.serve()
        finally:
            account.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await account
            await server.close()

    async def _handle(
        self, sink: Sink, secret: str, request: web.Request, body: Body
    ) -> web.Response | Refusal:
        from aiohttp import web

        assert isinstance(body, bytes)
        if not signed_by(body, request.headers.get(SIGNATURE_HEADER, ""), secret):
            return Refusal(403, "forbidden", "a signature that is not the channel's")
        try:
            events = read_body(body)
        except NotAnEvent as exc:
            return Refusal(400, "not a webhook", str(exc))
        items: list[Inbound] = []
        for data in events:
            try:
                event = read_event(data)
            except NotAnEvent as exc:
                log.warning("%s: an event was not taken: %s", self.channel.account, exc)
                continue
            item = await self._take(event)
            if item is not None:
                items.append(item)
        if items:
            await deliver_within(sink, items, WEBHOOK_STORE_SECONDS)
        return web.Response(text="ok")

    async def _take(self, event: LineEvent) -> Inbound | None:
        """What one event means: a message to store, or a follow recorded now."""
        if event.group_id is not None and not self.config.allow_groups:
            log.info(
                "%s: a %s message was ignored (allow_groups = false)",
                self.channel.account,
                event.group_kind,
            )
            return None
        if event.user_id is None:
            if event.kind == "message":
                log.warning("%s: a message without its sender was not taken", self.channel.account)
            return None
        if event.kind in ("follow", "unfollow"):
            await self._follow(event)
            return None
        if event.kind != "message":
            log.info("%s: a %s event was not taken", self.channel.account, event.event_type)
            return None
        return await self._inbound(event)

    async def _follow(self, event: LineEvent) -> None:
        assert event.user_id is not None
        if self._book is None:
            return
        if event.kind == "unfollow":
            await self._book.set_opted_out(IdentityKind.LINE, event.user_id, True)
            log.info("%s: a customer blocked the account", self.channel.account)
            return
        profile = await self._profile(event.user_id, event)
        await self._book.contact_for_address(IdentityKind.LINE, event.user_id, name=profile.name)
        await self._book.set_opted_out(IdentityKind.LINE, event.user_id, False)

    async def _inbound(self, event: LineEvent) -> Inbound:
        assert event.user_id is not None and event.message_id is not None
        profile = await self._profile(event.user_id, event)
        attachments: tuple[InboundAttachment, ...] = ()
        if event.media is not None:
            attachments = (await self._download(event.media),)
        identity: dict[str, object] = {}
        if profile.language:
            identity["language_code"] = profile.language
        return Inbound(
            channel=self.channel,
            provider_id=event.message_id,
            address=event.user_id,
            display_name=profile.name,
            text=event.text,
            sent_at=event.timestamp,
            meta={**event.meta, "event_id": event.event_id},
            attachments=attachments,
            identity_data=identity,
            # "配信停止" in their own chat with the account: no more broadcasts.
            broadcast_opt_out=broadcast_wish(event.text) if event.group_kind is None else None,
        )

    async def _profile(self, user_id: str, event: LineEvent) -> Profile:
        """The customer's LINE display name and language (asked once per run)."""
        known = self._profiles.get(user_id)
        if known is not None:
            return known
        async with self._profile_calls:
            try:
                api = await self._messaging()
                if event.group_kind == "group" and event.group_id:
                    found = await api.get_group_member_profile(
                        event.group_id, user_id, _request_timeout=_timeout(API_SECONDS)
                    )
                elif event.group_kind == "room" and event.group_id:
                    found = await api.get_room_member_profile(
                        event.group_id, user_id, _request_timeout=_timeout(API_SECONDS)
                    )
                else:
                    found = await api.get_profile(user_id, _request_timeout=_timeout(API_SECONDS))
            except Exception as exc:  # the message is stored under a plain name
                log.warning(
                    "%s: the sender's profile could not be read (%s)",
                    self.channel.account,
                    self.explain(exc),
                )
                return Profile("LINE user")
        profile = Profile(
            str(getattr(found, "display_name", "") or "LINE user"),
            str(getattr(found, "language", "") or ""),
        )
        self._profiles[user_id] = profile
        return profile

    async def _download(self, media: Media) -> InboundAttachment:
        """The file from LINE's content API, within the size limit; else listed with why."""

        def listed(size: int, why: str) -> InboundAttachment:
            return InboundAttachment(media.filename, media.content_type, None, size, why)

        limit = self.max_media_bytes
        if media.external_url is not None:
            return listed(0, f"not downloaded: kept by the sender at {media.external_url}")
        if media.size is not None and media.size > limit:
            return listed(media.size, _too_big(media.size, limit))
        # Read as a stream on the SDK's own session, so a file over the limit is cut
        # off rather than held in memory whole (the SDK's call reads it all).
        _, data_client = await self._clients()
        session = data_client.rest_client.pool_manager
        base = self.config.data_api_base.rstrip("/")
        url = f"{base}/v2/bot/message/{quote(media.message_id, safe='')}/content"
        headers = {"Authorization": f"Bearer {data_client.configuration.access_token}"}
        try:
            async with session.get(url, headers=headers, timeout=_timeout(MEDIA_SECONDS)) as raw:
                if raw.status == 202:  # video or audio LINE is still preparing
                    return listed(0, "not downloaded: LINE was still preparing it")
                if raw.status != 200:
                    said = _said_text(await raw.text())
                    return listed(0, f"not downloaded: LINE answered {raw.status} {said}")
                length = raw.content_length
                if length is not None and length > limit:
                    return listed(length, _too_big(length, limit))
                content_type = (raw.content_type or media.content_type).split(";")[0]
                chunks: list[bytes] = []
                got = 0
                async for chunk in raw.content.iter_chunked(64 * 1024):
                    got += len(chunk)
                    if got > limit:
                        return listed(got, _too_big(got, limit))
                    chunks.append(chunk)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return listed(media.size or 0, f"not downloaded: {self.explain(exc)}")
        data = b"".join(chunks)
        if content_type == "application/octet-stream":
            content_type = media.content_type
        return InboundAttachment(media.filename, content_type, data, len(data))

    async def _keep_account_facts(self, sink: Sink) -> None:
        """The account's basic id once, then its quota now and again (for the console)."""
        said_basic = False
        while True:
            try:
                if not said_basic:
                    info = await self._bot_info()
                    await sink.deliver(
                        [], cursor={BASIC_ID_KEY: info.basic_id, BOT_NAME_KEY: info.display_name}
                    )
                    self.status["bot"] = f"{info.display_name} ({info.basic_id})"
                    said_basic = True
                await self._store_quota(sink)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "%s: the account could not be read (%s)",
                    self.channel.account,
                    self.explain(exc),
                )
            self._quota_wanted.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quota_wanted.wait(), QUOTA_EVERY)

    async def _bot_info(self) -> LineBotInfo:
        api = await self._messaging()
        found = await api.get_bot_info(_request_timeout=_timeout(API_SECONDS))
        return LineBotInfo(str(found.user_id), str(found.basic_id), str(found.display_name))

    async def _store_quota(self, sink: Sink) -> None:
        api = await self._messaging()
        quota = await api.get_message_quota(_request_timeout=_timeout(API_SECONDS))
        used = await api.get_message_quota_consumption(_request_timeout=_timeout(API_SECONDS))
        kind = str(getattr(quota.type, "value", quota.type))
        limit = int(quota.value) if kind == "limited" and quota.value is not None else None
        text = json.dumps({"limit": limit, "used": int(used.total_usage), "at": self._clock()})
        await sink.deliver([], cursor={QUOTA_KEY: text})

    # -- sending --------------------------------------------------------------

    async def send(self, message: Outbound) -> str:
        """Send a reply: by the reply token while it is fresh, else a push.

        Returns the id of LINE's first sent message.
        """
        if message.files:
            raise SendError(
                "LINE takes files only from a public web address: send the file by "
                "email, or a link to it",
                retryable=False,
            )
        texts = split_text(message.text)
        picture = image_links(message)
        if not texts and picture is None:
            raise SendError("the reply is empty", retryable=False)
        if len(texts) + (picture is not None) > MAX_MESSAGES:
            raise SendError(
                "the reply is too long for LINE ({count} characters, at most {limit})",
                count=len(message.text),
                limit=MAX_TEXT * MAX_MESSAGES,
                retryable=False,
            )
        try:
            api = await self._messaging()
        except LineSetupError as exc:
            raise SendError("not sent: {reason}", reason=exc, retryable=False) from None
        except Exception as exc:  # nothing went out yet
            raise SendError(
                "not sent: {reason}", reason=self.explain(exc), retryable=True
            ) from None
        from linebot.v3.messaging import ImageMessage, TextMessage

        # A broadcast's image and its text in one request: one message of the quota.
        messages: list[Any] = []
        if picture is not None:
            original, preview = picture
            messages.append(ImageMessage(original_content_url=original, preview_image_url=preview))
        messages += [TextMessage(text=t) for t in texts]
        to = str(message.meta.get("line_to") or message.address)
        token = self._fresh_token(message)
        if token is not None:
            sent = await self._reply(api, token, messages)
            if sent is not None:
                return sent
        return await self._push(api, to, messages, message)

    def _fresh_token(self, message: Outbound) -> str | None:
        token = message.meta.get("reply_token")
        at = message.meta.get("reply_token_at")
        if not isinstance(token, str) or not isinstance(at, int | float) or message.attempt > 1:
            return None
        if token in self._used_tokens or self._clock() - float(at) > REPLY_WINDOW:
            return None
        return token

    async def _reply(self, api: Any, token: str, messages: list[Any]) -> str | None:
        """Answer by the reply token; None when LINE says the token is no longer good."""
        from linebot.v3.messaging import ReplyMessageRequest

        self._used_tokens.add(token)
        try:
            response = await api.reply_message_with_http_info(
                ReplyMessageRequest(reply_token=token, messages=messages),
                _request_timeout=_timeout(API_SECONDS),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status = _status(exc)
            if status == 400 and "reply token" in _said(exc).lower():
                return None  # expired or used: nothing was delivered, a push goes instead
            if status and status < 500 and status != 429:
                raise SendError("{reason}", reason=self.explain(exc), retryable=False) from None
            if status == 429:  # refused before anything went out
                raise SendError(
                    "{reason}", reason=self.explain(exc), retryable=True, retry_after=_wait(exc)
                ) from None
            # No answer, or a server error: the reply may have arrived. A push now could
            # say it twice, so the agent decides.
            raise SendError(
                "LINE did not confirm the reply ({reason}); it may have arrived: "
                "look in LINE before sending it again",
                reason=self.explain(exc),
                retryable=False,
            ) from None
        return _first_id(response.data)

    async def _push(self, api: Any, to: str, messages: list[Any], message: Outbound) -> str:
        from linebot.v3.messaging import PushMessageRequest

        key = str(uuid.uuid5(_RETRY_KEYS, f"{self.channel.account}:{message.message_id}"))
        try:
            response = await api.push_message_with_http_info(
                PushMessageRequest(to=to, messages=messages),
                x_line_retry_key=key,
                _request_timeout=_timeout(API_SECONDS),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status = _status(exc)
            if status == 409:  # an earlier try with this key went through
                accepted = _header(exc, "x-line-accepted-request-id") or key
                self._quota_wanted.set()
                return f"request:{accepted}"
            said = _said(exc)
            if status == 429 and "monthly limit" in said.lower():
                raise SendError(
                    "not sent: the LINE account's monthly message quota is used up "
                    "(pushes are counted; a reply within a minute of the customer's message is not)",
                    retryable=False,
                ) from None
            if status == 429 or status >= 500 or not status:
                raise SendError(
                    "not sent yet: {reason}",
                    reason=self.explain(exc),
                    retryable=True,
                    retry_after=_wait(exc),
                ) from None
            raise SendError("{reason}", reason=self.explain(exc), retryable=False) from None
        self._quota_wanted.set()
        return _first_id(response.data) or f"request:{key}"

    async def close(self) -> None:
        api, data = self._api, self._data
        self._api = self._data = None
        for client in (api, data):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()


async def _check_signature_present(request: web.Request) -> Refusal | None:
    if not request.headers.get(SIGNATURE_HEADER):
        return Refusal(401, "unauthorized", "no x-line-signature")
    return None


def image_links(message: Outbound) -> tuple[str, str] | None:
    """A broadcast's image as LINE fetches it: its public address and its preview's."""
    original, preview = message.meta.get("image_url"), message.meta.get("preview_url")
    if message.meta.get("image") != "link" or not isinstance(original, str):
        return None
    return original, preview if isinstance(preview, str) and preview else original


def split_text(text: str) -> list[str]:
    """The reply as LINE text messages of at most `MAX_TEXT` UTF-16 units each (LINE
    counts an emoji outside the BMP as two), never cutting a character in half."""
    text = text.strip()
    pieces: list[str] = []
    start = units = 0
    for index, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > MAX_TEXT:
            pieces.append(text[start:index])
            start, units = index, 0
        units += width
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _first_id(data: Any) -> str | None:
    sent = getattr(data, "sent_messages", None) or []
    return str(sent[0].id) if sent else None


def _wait(exc: BaseException) -> float | None:
    value = _header(exc, "retry-after")
    try:
        return max(1.0, float(value)) if value else None
    except ValueError:
        return None


def _too_big(size: int, limit: int) -> str:
    return f"not downloaded: {size_words(size)} is over the {size_words(limit)} limit"


def public_url(url: str) -> bool:
    """Whether LINE could reach `url`: https on a name or address not local to the shop."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host or host == "localhost" or host.endswith(".local"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return address.is_global


async def bot_info(config: LineConfig, *, token: str | None = None) -> LineBotInfo:
    """The account's LINE id, basic id and name (checks the token)."""
    adapter = LineAdapter(config, token=(lambda: token) if token is not None else None)
    try:
        return await adapter._bot_info()
    finally:
        await adapter.close()


async def check(config: LineConfig) -> list[tuple[bool, str]]:
    """`omnitui doctor` for one account: the token, the webhook endpoint, LINE's test of it."""
    try:
        token = config.token.reveal()
        config.secret.reveal()
    except Exception as exc:
        return [(False, str(exc))]
    adapter = LineAdapter(config, token=lambda: token)
    try:
        try:
            info = await adapter._bot_info()
        except Exception as exc:
            return [(False, "token " + adapter.explain(exc))]
        results = [
            (True, f"{info.display_name} ({info.basic_id}) accepted the token ({config.api_base})")
        ]
        results.append(await _endpoint_line(adapter, config))
        return results
    finally:
        await adapter.close()


async def _endpoint_line(adapter: LineAdapter, config: LineConfig) -> tuple[bool, str]:
    api = await adapter._messaging()
    try:
        endpoint = await api.get_webhook_endpoint(_request_timeout=_timeout(API_SECONDS))
        url, active = str(endpoint.endpoint or ""), bool(endpoint.active)
    except Exception as exc:
        if _status(exc) != 404:  # 404: no webhook URL is set for the channel
            return (False, "webhook could not be checked: " + adapter.explain(exc))
        url, active = "", False
    listen = f"listening on {config.webhook_listen}"
    if not config.webhook_url:
        return (
            bool(url and active),
            f"webhook: LINE posts to {url or '(nothing set)'}; set webhook_url to check it ({listen})",
        )
    if url != config.webhook_url:
        return (
            False,
            f"webhook: LINE posts to {url or '(nothing set)'}, not to webhook_url "
            f"{config.webhook_url}: set it in the LINE Developers console",
        )
    if not active:
        return (False, f"webhook: {url} is set but 'Use webhook' is off in the LINE console")
    if not public_url(url):
        return (
            True,
            f"webhook: LINE posts to {url} ({listen}; not tested: not a public https URL)",
        )
    from linebot.v3.messaging import TestWebhookEndpointRequest

    try:
        tested = await api.test_webhook_endpoint(
            TestWebhookEndpointRequest(endpoint=url), _request_timeout=_timeout(API_SECONDS)
        )
    except Exception as exc:
        return (False, f"webhook: LINE's test of {url} could not run: {adapter.explain(exc)}")
    if tested.success:
        return (True, f"webhook: LINE reached {url} ({listen})")
    return (
        False,
        f"webhook: LINE could not reach {url}: {tested.status_code} {tested.reason or ''}".rstrip()
        + " (is `omnitui serve` running behind the proxy?)",
    )
