"""A channel's webhook listener: where a provider posts what a customer sent.

One `WebhookServer` per webhook account (Telegram's bot, Twilio's number)
listens on the configured `host:port` and answers each POST only after the
store has what it carried, so a provider that gets no 200 sends it again
and nothing is lost:

- a request the provider did not sign (Telegram's secret token header,
  Twilio's X-Twilio-Signature) is answered 403 and stores nothing;
- a body over `max_bytes` is answered 413 before (or while) it is read;
- a store that cannot take it within the adapter's bound is answered 503
  with Retry-After (`SinkBusy`), anything else that kept it from the store
  500; the adapter is told, to catch up on its own;
- every refusal is logged under the adapter's logger, never with the body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from omnitui.adapters.base import PromptSink, Sink, SinkBusy
from omnitui.config import HostPort
from omnitui.domain.models import DeliveryUpdate, Inbound

if TYPE_CHECKING:
    from typing import TypeAlias

    from aiohttp import web
    from multidict import MultiDictProxy

    Form: TypeAlias = MultiDictProxy[Any]
    Body: TypeAlias = bytes | Form
    HeaderCheck: TypeAlias = Callable[[web.Request], Awaitable["Refusal | None"]]
    SignatureCheck: TypeAlias = Callable[[web.Request, Form], Awaitable["Refusal | None"]]
    Handler: TypeAlias = Callable[[web.Request, Body], Awaitable["web.StreamResponse | Refusal"]]

BUSY_RETRY_AFTER = "60"  # seconds a provider is asked to wait after a busy store


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request not taken: the answer's status and text, and why, for the log."""

    status: int
    text: str
    why: str


class WebhookServer:
    """An aiohttp listener for one account: `await start()`, `await serve()`, `await close()`."""

    def __init__(
        self,
        listen: HostPort,
        handler: Handler,
        *,
        account: str,
        log: logging.Logger,
        path: str = "/{tail:.*}",
        max_bytes: int,
        body: Literal["bytes", "form"] = "bytes",
        check_headers: HeaderCheck | None = None,
        check_signature: SignatureCheck | None = None,
        not_stored: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.listen = listen
        self._handler = handler
        self._account = account
        self._log = log
        self._path = path
        self.max_bytes = max_bytes
        self._body = body
        self._check_headers = check_headers
        self._check_signature = check_signature
        self._not_stored = not_stored
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on `listen`; an address that cannot be had raises `OSError`."""
        from aiohttp import web

        app = web.Application(client_max_size=self.max_bytes)
        app.router.add_post(self._path, self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runner = runner
        try:
            await web.TCPSite(runner, self.listen.bind_host, self.listen.port).start()
        except BaseException:
            await self.close()
            raise

    async def serve(self) -> None:
        """Listen until cancelled, then stop listening."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def refuse(self, request: web.Request, refusal: Refusal) -> web.Response:
        """Log why `request` was not taken and answer it so."""
        from aiohttp import web

        self._log.warning(
            "%s: refused a webhook request from %s: %s (answered %d)",
            self._account,
            request.remote,
            refusal.why,
            refusal.status,
        )
        return web.Response(status=refusal.status, text=refusal.text)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        if self._check_headers is not None:
            refusal = await self._check_headers(request)
            if refusal is not None:
                return self.refuse(request, refusal)
        too_big = Refusal(413, "too large", f"the body is over {self.max_bytes} bytes")
        if (request.content_length or 0) > self.max_bytes:
            return self.refuse(request, too_big)
        body: Body
        try:
            if self._body == "form":
                body = await request.post()
            else:
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # sent in chunks, without a length
            return self.refuse(request, too_big)
        except ValueError:  # not a form, or not in its charset
            return self.refuse(request, Refusal(400, "not a form", "the body is not a form"))
        if self._check_signature is not None and not isinstance(body, bytes):
            refusal = await self._check_signature(request, body)
            if refusal is not None:
                return self.refuse(request, refusal)
        try:
            answer = await self._handler(request, body)
        except asyncio.CancelledError:
            raise
        except SinkBusy as exc:
            self._told(exc)
            return web.Response(status=503, text="busy", headers={"Retry-After": BUSY_RETRY_AFTER})
        except Exception as exc:  # not answered 200: the provider sends it again, or we catch up
            self._told(exc)
            return web.Response(status=500, text="not stored")
        return self.refuse(request, answer) if isinstance(answer, Refusal) else answer

    def _told(self, exc: BaseException) -> None:
        if self._not_stored is not None:
            self._not_stored(exc)


async def deliver_within(sink: Sink, items: Sequence[Inbound], seconds: float) -> None:
    """Store `items` within `seconds`, or raise `SinkBusy` (a webhook owes its answer)."""
    if isinstance(sink, PromptSink):
        await sink.deliver_within(items, seconds)
        return
    try:  # a sink that cannot be told: stop waiting for it (ingest is idempotent)
        await asyncio.wait_for(sink.deliver(items), seconds)
    except TimeoutError:
        raise SinkBusy("not stored within {seconds:g} s", seconds=seconds) from None


async def update_within(sink: Sink, update: DeliveryUpdate, seconds: float) -> None:
    """Record a delivery receipt within `seconds`, or raise `SinkBusy`."""
    if isinstance(sink, PromptSink):
        await sink.delivery_update_within(update, seconds)
        return
    try:
        await asyncio.wait_for(sink.delivery_update(update), seconds)
    except TimeoutError:
        raise SinkBusy("not stored within {seconds:g} s", seconds=seconds) from None
