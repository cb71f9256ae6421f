"""SMS through Twilio: the official `twilio` SDK out, a signed webhook or polling in.

The SDK is blocking, so every call runs in a worker thread. `api_base` is
honoured through the SDK's public `http_client` argument (a client that sends
each request to another scheme and host), which is also how tests point the
real SDK at a loopback peer.

Inbound, one of two ways:
- webhook: an aiohttp listener on `webhook_listen` takes a message only with a
  valid `X-Twilio-Signature` for `webhook_url`, stores it, and only then
  answers 200. Status callbacks arrive on the same listener. Twilio waits
  15 s for the answer and, by default, never sends a failed webhook again,
  so each request has its own bounded time (media `WEBHOOK_MEDIA_SECONDS`,
  the store `WEBHOOK_STORE_SECONDS`, never queued behind another request):
  a store that cannot take it in time is answered 503 and the message is
  taken by the catch-up instead. The catch-up lists recent messages at
  Twilio, as polling does, once at start, every `CATCH_UP_SECONDS`, and
  at once after a webhook was not stored; the store keeps one copy per
  MessageSid, however it came.
- poll: `messages.list(to=our number, date_sent_after=day)` every
  `poll_seconds`. The filter is day-grained and inclusive, so the cursor keeps
  the day and the SIDs already taken from it, and is stored in the same
  transaction as the messages. Replies still on their way are fetched again
  until Twilio says how they ended.

A webhook's counts are bounded before anything is done with them: NumMedia
beyond Twilio's 10 is ignored (the message says so), and a count that is not
a plain number is refused (400, logged). So is a body that is not a form or
is over 1 MiB (413).

Opt-outs: a message that is only STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END,
QUIT) marks the customer's number opted out in the same transaction that
stores it; START, YES or UNSTOP opt back in. Twilio itself refuses later
sends (21610).

Twilio's side (error codes in words, states, a listed message, media
downloads, `omnitui doctor`) is in sms_twilio.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from omnitui.adapters.base import KnownMessages, SendError, Sink, SinkBusy
from omnitui.adapters.reconnect import keep_trying, steady
from omnitui.adapters.sms_twilio import (
    MAX_MEDIA,
    SDK_LOG,
    SETTLED,
    BadPayload,
    ConsentBook,
    PollCursor,
    TwilioMedia,
    api_http_client,
    check,
    connection_failure,
    delivery_update,
    describe,
    e164,
    error_code,
    explain,
    japan_note,
    listed_message,
    read_webhook,
    refusal,
    utc_of,
    webhook_message,
)
from omnitui.adapters.webhook import Refusal, WebhookServer, deliver_within, update_within
from omnitui.config import SmsConfig
from omnitui.domain.health import (
    CONNECTED,
    CONNECTING,
    ChannelState,
    ChannelTrouble,
    Health,
    first_trouble,
)
from omnitui.domain.identity import InvalidAddress, normalize_phone
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    DeliveryUpdate,
    IdentityKind,
    Inbound,
    InboundAttachment,
    Outbound,
)
from omnitui.domain.sms import MAX_BODY, count_segments

if TYPE_CHECKING:
    from aiohttp import web

    from omnitui.adapters.webhook import Body, Form

__all__ = ["POLL_KEY", "SmsAdapter", "api_http_client", "check", "explain", "japan_note"]

log = logging.getLogger("omnitui.sms")
SDK_LOG.setLevel(logging.WARNING)

# Twilio waits 15 s for a webhook's answer. Media (fetched side by side) and the
# store each get a bounded share, so the answer leaves within about 11 s.
WEBHOOK_MEDIA_SECONDS = 6.0
WEBHOOK_STORE_SECONDS = 5.0
POLL_MEDIA_SECONDS = 60.0  # a polled message's media: nobody is waiting for an answer
CATCH_UP_SECONDS = 300.0  # webhook mode lists recent messages this often (and at start)
CATCH_UP_RETRY = 15.0  # after a failed catch-up, doubling up to CATCH_UP_SECONDS
MAX_MEDIA_BYTES = 5 * 1024 * 1024  # Twilio's own limit for one MMS
MAX_BODY_BYTES = 1024 * 1024  # a webhook's form; Twilio's are a few KB
FIRST_POLL_DAYS = 1  # a first poll reaches back to yesterday (UTC)
LATE_MARGIN = timedelta(hours=1)  # a message may show up this late in a listing
PAGE_SIZE = 100
RECHECK_FOR = 2 * 86400.0  # how long a reply's delivery state is fetched (poll mode)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
POLL_KEY = "twilio:poll"
OUTBOUND_KEY = "twilio:outbound"


class SmsAdapter:
    """One `[[sms]]` account on Twilio."""

    def __init__(
        self,
        config: SmsConfig,
        *,
        auth_token: Callable[[], str] | None = None,
        http_client: Any = None,
        consent: ConsentBook | None = None,
        clock: Callable[[], float] = time.time,
        max_media_bytes: int = MAX_MEDIA_BYTES,
    ) -> None:
        if config.inbound == "webhook" and not (config.webhook_listen and config.webhook_url):
            raise ValueError('inbound = "webhook" needs webhook_listen and webhook_url')
        self.config = config
        self.number = e164(config.from_, config.default_region)
        self._channel = Channel(ChannelKind.SMS, config.name)
        self._reveal = auth_token or config.auth_token.reveal
        self._token: str | None = None
        self._http_client = http_client
        self._sdk: Any = None
        self._consent = consent
        self._clock = clock
        self.max_media_bytes = max_media_bytes
        self._server: WebhookServer | None = None
        self._sink: Sink | None = None
        self._poll_lock = asyncio.Lock()
        self._cursor: PollCursor | None = None
        # Replies whose delivery state is still to be fetched (poll mode): sid -> (status, since).
        self._pending: dict[str, tuple[str, float]] = {}
        self._pending_loaded = False
        self._pending_saved = ""
        self._sends_in_flight = 0
        self._sent_recently: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._catch_up_soon = asyncio.Event()
        self.catch_up_every = CATCH_UP_SECONDS
        self.status: dict[str, str] = {}
        self._health: dict[str, Health] = {}  # inbound, catch_up -> how it is doing

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def health(self) -> Health:
        """Polling (or catching up on webhooks) failing while it goes on trying, or how
        it is doing."""
        return first_trouble(self._health.get(key, CONNECTING) for key in self._parts())

    def _parts(self) -> tuple[str, ...]:
        return ("inbound", "catch_up") if self.config.inbound == "webhook" else ("inbound",)

    # -- credentials and the SDK ---------------------------------------------

    async def token(self) -> str:
        """The auth token (read once: a `*_cmd` secret runs a command)."""
        if self._token is None:
            self._token = await asyncio.to_thread(self._reveal)
        return self._token

    async def client(self) -> Any:
        """The SDK's `Client`, built on first use."""
        if self._sdk is None:
            token = await self.token()
            from twilio.rest import Client

            http = self._http_client or api_http_client(self.config.api_base)
            self._sdk = Client(self.config.account_sid, token, http_client=http)
        return self._sdk

    # -- receiving -----------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        if self.config.inbound == "webhook":
            await self._serve_webhooks(sink)
            return

        async def poll() -> bool:
            await self.poll_once(sink)
            return False

        def retrying(reason: str, delay: float) -> None:
            self.status["inbound"] = f"{reason}; retrying in {delay:.0f} s"
            self._health["inbound"] = Health(
                ChannelState.RETRYING,
                ChannelTrouble(
                    "{reason}; retrying in {seconds:.0f} s", reason=reason, seconds=delay
                ),
            )
            log.warning("%s: %s", self.channel.account, self.status["inbound"])

        every = float(self.config.poll_seconds)
        await keep_trying(
            poll,
            policy=steady(2 * every, min(300.0, 32 * every)),
            passing=lambda exc: explain(exc, self.config.api_base),
            retrying=retrying,
            pause=lambda: every,
        )

    async def _serve_webhooks(self, sink: Sink) -> None:
        listen = self.config.webhook_listen
        assert listen is not None  # checked when the adapter was made
        server = WebhookServer(
            listen,
            self._on_webhook,
            account=self.channel.account,
            log=log,
            path=urlsplit(self.config.webhook_url or "").path or "/",
            max_bytes=MAX_BODY_BYTES,
            body="form",
            check_signature=self._check_signature,
            not_stored=self._not_stored,
        )
        self._server = server
        try:
            await server.start()
            host, port = listen.bind_host, listen.port
            self.status["inbound"] = f"listening on {host}:{port}"
            self._health["inbound"] = CONNECTED
            log.info("%s: listening for Twilio webhooks on %s:%s", self.channel.account, host, port)
            await self._catch_up(sink)
        finally:
            self._server = None
            await server.close()

    async def _catch_up(self, sink: Sink) -> None:
        """Webhook mode: list recent messages at Twilio, so a webhook that was never
        stored (the store busy, OmniTUI down, a network fault) still arrives.

        Once at start, then every `catch_up_every` seconds, and at once when a
        webhook could not be stored. The window starts at the stored watermark
        (the poll cursor); messages already stored are skipped.
        """

        async def once() -> bool:
            async with self._poll_lock:
                taken = await self._poll_inbound(sink)
                await self._poll_outbound(sink)
            self.status["catch_up"] = f"caught up (every {self.catch_up_every / 60:g} min)"
            self._health["catch_up"] = CONNECTED
            if taken:
                log.info(
                    "%s: caught up %d message(s) that no webhook had stored",
                    self.channel.account,
                    taken,
                )
            return False

        def passing(exc: Exception) -> str:
            if isinstance(exc, sqlite3.Error):
                return f"the store did not take them ({exc})"
            return explain(exc, self.config.api_base)

        def retrying(reason: str, delay: float) -> None:
            self.status["catch_up"] = (
                f"cannot catch up on missed webhooks: {reason}; retrying in {delay:.0f} s"
            )
            self._health["catch_up"] = Health(
                ChannelState.RETRYING,
                ChannelTrouble(
                    "cannot catch up on missed webhooks: {reason}; retrying in {seconds:.0f} s",
                    reason=reason,
                    seconds=delay,
                ),
            )
            log.warning("%s: %s", self.channel.account, self.status["catch_up"])

        await keep_trying(
            once,
            policy=steady(CATCH_UP_RETRY, min(self.catch_up_every, CATCH_UP_RETRY * 64)),
            passing=passing,
            retrying=retrying,
            pause=lambda: self.catch_up_every,
            wake=self._catch_up_soon,
        )

    async def _check_signature(self, request: web.Request, form: Form) -> Refusal | None:
        """Twilio signs every webhook with the auth token, over the URL and the form."""
        from twilio.request_validator import RequestValidator

        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return Refusal(403, "signature required", "no X-Twilio-Signature")
        if not RequestValidator(await self.token()).validate(
            self.config.webhook_url, form, signature
        ):
            return Refusal(403, "invalid signature", "the X-Twilio-Signature does not match")
        return None

    async def _on_webhook(self, request: web.Request, form: Body) -> web.Response | Refusal:
        """An inbound message or a status callback, answered only once it is stored.

        Each request waits on its own, for a bounded time: a store that cannot
        take it in time is answered 503 and the catch-up takes the message.
        """
        from aiohttp import web

        assert not isinstance(form, bytes)
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        sink = self._sink
        if sink is None:
            return web.Response(status=503, text="not ready")
        # Status callbacks carry MessageStatus; an inbound message has none
        # (or "received"), only SmsStatus.
        callback = params.get("MessageStatus", "received") not in ("received", "receiving")
        item: Inbound | None = None
        try:
            if not callback:
                item = await self._inbound_from_webhook(params)
        except BadPayload as exc:
            return Refusal(400, "malformed", str(exc))
        if item is None:
            await self._on_status_callback(sink, params)
        else:
            await deliver_within(sink, [item], WEBHOOK_STORE_SECONDS)
        if item is not None and item.opt_out is not None:
            log.info(
                "%s: a customer opted %s",
                self.channel.account,
                "out" if item.opt_out else "back in",
            )
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    def _not_stored(self, exc: BaseException) -> None:
        """A webhook the store did not take (answered 503 or 500): catch up from Twilio."""
        if isinstance(exc, SinkBusy):
            log.warning(
                "%s: a webhook was not stored: the store was busy for %g s (answered 503); "
                "catching up from Twilio's list of messages",
                self.channel.account,
                WEBHOOK_STORE_SECONDS,
            )
        else:
            log.exception(
                "%s: could not store a webhook (answered 500); catching up from Twilio's list",
                self.channel.account,
            )
        self._catch_up_soon.set()

    async def _on_status_callback(self, sink: Sink, params: Mapping[str, str]) -> None:
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        update = delivery_update(
            self.channel,
            sid,
            params.get("MessageStatus", ""),
            error_code(params.get("ErrorCode", "")),
        )
        if update is None or not sid:
            return
        try:
            await update_within(sink, update, WEBHOOK_STORE_SECONDS)
        except BaseException:
            # Twilio will not post it again: the catch-up fetches this reply's state.
            self._pending.setdefault(sid, ("", self._clock()))
            raise
        # A callback can beat the hub's record of the SID it was sent under;
        # apply it once more when that may be so (the store never moves back).
        recent = self._sent_recently.get(sid)
        if self._sends_in_flight or (recent is not None and time.monotonic() - recent < 30):
            self._later(self._reapply(sink, update))

    async def _reapply(self, sink: Sink, update: DeliveryUpdate) -> None:
        await asyncio.sleep(2.0)
        await sink.delivery_update(update)

    def _later(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _inbound_from_webhook(self, params: Mapping[str, str]) -> Inbound:
        """A webhook's form as an `Inbound`; a payload with fields missing is kept with a note."""
        form = read_webhook(params)
        if form.media_count > MAX_MEDIA:
            log.warning(
                "%s: a webhook said it carried %d media files; took the first %d (Twilio's limit)",
                self.channel.account,
                form.media_count,
                MAX_MEDIA,
            )
        attachments = await self._media().download_all(form.media, within=WEBHOOK_MEDIA_SECONDS)
        region = self.config.default_region
        return webhook_message(self.channel, form, params, region, self._clock(), attachments)

    async def poll_once(self, sink: Sink) -> int:
        """List new messages to our number and fetch the states of recent replies;
        returns how many messages were new."""
        async with self._poll_lock:
            taken = await self._poll_inbound(sink)
            await self._poll_outbound(sink)
            self.status["inbound"] = f"up to date (every {self.config.poll_seconds} s)"
            self._health["inbound"] = CONNECTED
            return taken

    async def _poll_inbound(self, sink: Sink) -> int:
        if self._cursor is None:
            self._cursor = PollCursor.load(await sink.load_cursor(POLL_KEY))
        if not self._pending_loaded:
            stored = json.loads(await sink.load_cursor(OUTBOUND_KEY) or "{}")
            for sid, (status, since) in stored.items():
                self._pending.setdefault(sid, (str(status), float(since)))
            self._pending_loaded = True
        now = datetime.fromtimestamp(self._clock(), UTC)
        cursor = self._cursor or PollCursor(
            (now - timedelta(days=FIRST_POLL_DAYS)).date(), frozenset()
        )
        client = await self.client()
        start = datetime.combine(cursor.after, datetime.min.time(), UTC)
        listed = await asyncio.to_thread(
            lambda: list(
                client.messages.list(to=self.number, date_sent_after=start, page_size=PAGE_SIZE)
            )
        )
        received = [
            (sent, m)
            for m in listed
            if m.status == "received"
            and m.direction == "inbound"
            and (sent := utc_of(m.date_sent)) is not None
        ]
        received.sort(key=lambda pair: pair[0])
        new = [(sent, m) for sent, m in received if m.sid not in cursor.seen]
        if new and isinstance(sink, KnownMessages):
            # Messages a webhook stored: no need to fetch their media again.
            known = await sink.known([m.sid for _, m in new])
            new = [(sent, m) for sent, m in new if m.sid not in known]
        items = [await self._inbound_from_record(m, sent) for sent, m in new]
        if self._cursor is None:
            # A first poll lists the last day's messages: history, which
            # automation rules never answer.
            items = [dataclasses.replace(item, history=True) for item in items]
        # Move on by Twilio's clock (the dates it gave), never by ours: a wrong
        # local clock must not skip a day.
        after = cursor.after
        if received:
            after = max(after, (received[-1][0] - LATE_MARGIN).date())
        floor = datetime.combine(after, datetime.min.time(), UTC)
        seen = frozenset(m.sid for sent, m in received if sent >= floor)
        next_cursor = PollCursor(after, seen)
        pending = self._dump_pending()
        if items or next_cursor != self._cursor or pending != self._pending_saved:
            await sink.deliver(items, cursor={POLL_KEY: next_cursor.dump(), OUTBOUND_KEY: pending})
            self._pending_saved = pending
        self._cursor = next_cursor
        return len(items)

    async def _inbound_from_record(self, m: Any, sent: datetime) -> Inbound:
        attachments: tuple[InboundAttachment, ...] = ()
        if str(m.num_media or "0") not in ("", "0"):
            attachments = await self._media_of(m.sid)
        return listed_message(self.channel, m, sent, self.config.default_region, attachments)

    async def _media_of(self, sid: str) -> tuple[InboundAttachment, ...]:
        """A polled MMS's media; a listing that fails leaves a note, never blocks the poll."""
        client = await self.client()
        try:
            media = await asyncio.to_thread(
                lambda: list(client.messages(sid).media.list(limit=MAX_MEDIA))
            )
        except Exception as exc:
            note = f"media not listed: {explain(exc, self.config.api_base)}"
            return (InboundAttachment("mms", "application/octet-stream", None, 0, note),)
        base = self.config.api_base.rstrip("/")
        return await self._media().download_all(
            [(base + str(x.uri).removesuffix(".json"), x.content_type or "", x.sid) for x in media],
            within=POLL_MEDIA_SECONDS,
        )

    async def _poll_outbound(self, sink: Sink) -> None:
        """Fetch Twilio's state of replies still on their way; report what changed."""
        if not self._pending:
            return
        client = await self.client()
        now = self._clock()
        for sid, (known, since) in list(self._pending.items()):
            try:
                fetched = await asyncio.to_thread(client.messages(sid).fetch)
            except Exception as exc:
                log.warning(
                    "%s: delivery state not fetched: %s", self.channel.account, explain(exc)
                )
                return
            status = str(fetched.status)
            if status != known:
                update = delivery_update(self.channel, sid, status, fetched.error_code)
                if update is not None:
                    await sink.delivery_update(update)
            if status in SETTLED or now - since > RECHECK_FOR:
                self._pending.pop(sid, None)
            else:
                self._pending[sid] = (status, since)

    def _dump_pending(self) -> str:
        return json.dumps({sid: [s, t] for sid, (s, t) in self._pending.items()})

    def _media(self) -> TwilioMedia:
        return TwilioMedia(
            self.config.api_base, self.config.account_sid, self.token, self.max_media_bytes
        )

    # -- sending -------------------------------------------------------------

    async def send(self, message: Outbound) -> str:
        """Send an SMS; return its SID. Only a send Twilio surely did not take is retryable."""
        from twilio.base.exceptions import TwilioRestException

        try:
            to = normalize_phone(message.address, self.config.default_region)
        except InvalidAddress:
            raise SendError(
                "not sent: {address} is not a phone number ({why})",
                address=repr(message.address),
                why=describe(21211),
                retryable=False,
            ) from None
        if count_segments(message.text).too_long:
            raise SendError(
                "not sent: an SMS can be at most {limit} characters",
                limit=MAX_BODY,
                retryable=False,
            )
        try:
            client = await self.client()
        except Exception as exc:
            raise SendError(
                "cannot read the auth token: {reason}", reason=exc, retryable=False
            ) from None
        options: dict[str, Any] = {}
        if self.config.inbound == "webhook" and self.config.webhook_url:
            options["status_callback"] = self.config.webhook_url
        picture = message.meta.get("image_url")
        if message.meta.get("image") == "link" and isinstance(picture, str) and picture:
            options["media_url"] = [picture]  # MMS: Twilio fetches the broadcast's image
        self._sends_in_flight += 1
        try:
            created = await asyncio.to_thread(
                lambda: client.messages.create(
                    to=to, from_=self.number, body=message.text, **options
                )
            )
        except TwilioRestException as exc:
            if exc.code == 21610:
                await self._opted_out_at_twilio(to)
            raise refusal(exc) from None
        except Exception as exc:
            raise connection_failure(exc, self.config.api_base) from None
        finally:
            self._sends_in_flight -= 1
        sid = str(created.sid)
        now = time.monotonic()
        self._sent_recently = {s: t for s, t in self._sent_recently.items() if now - t < 60}
        self._sent_recently[sid] = now
        if self.config.inbound == "poll":
            self._pending[sid] = (str(created.status), self._clock())
        return sid

    async def _opted_out_at_twilio(self, to: str) -> None:
        """Twilio says the customer sent STOP (we may have missed it): record it."""
        if self._consent is None:
            return
        try:
            await self._consent.set_opted_out(
                IdentityKind.PHONE, to, True, region=self.config.default_region
            )
        except Exception:
            log.exception("%s: recording an opt-out", self.channel.account)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.close()
        session = getattr(getattr(self._sdk, "http_client", None), "session", None)
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()
