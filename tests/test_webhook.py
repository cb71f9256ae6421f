"""The webhook listener every webhook channel shares, on loopback, driven by a real client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from omnitui.adapters.base import Sink
from omnitui.adapters.webhook import Refusal, WebhookServer, deliver_within
from omnitui.config import HostPort
from omnitui.domain.models import Channel, ChannelKind, Inbound, Outbound
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store
from tests.conftest import wait_for
from tests.peers.dovecot import free_port

if TYPE_CHECKING:
    from omnitui.adapters.webhook import Body

CHAT = Channel(ChannelKind.SMS, "shop-hooks")
KEY = b"shared-secret"
LIMIT = 4096
log = logging.getLogger("omnitui.tests.webhook")


def sign(body: bytes) -> str:
    return hmac.new(KEY, body, hashlib.sha256).hexdigest()


class HookAdapter:
    """A channel that takes signed JSON-free text posts: one message per request."""

    def __init__(self, port: int, within: float = 0.5) -> None:
        self.listen = HostPort("127.0.0.1", port)
        self.within = within
        self.listening = asyncio.Event()
        self.not_stored: list[str] = []

    @property
    def channel(self) -> Channel:
        return CHAT

    async def run(self, sink: Sink) -> None:
        async def signed(request: web.Request) -> Refusal | None:
            # The body is not read yet: only that a signature is there.
            if "X-Signature" not in request.headers:
                return Refusal(403, "signature required", "no X-Signature")
            return None

        async def handle(request: web.Request, body: Body) -> web.Response | Refusal:
            assert isinstance(body, bytes)
            if not hmac.compare_digest(request.headers["X-Signature"], sign(body)):
                return Refusal(403, "invalid signature", "the X-Signature does not match")
            sid = request.headers.get("X-Id", "m1")
            item = Inbound(CHAT, sid, "+819012345678", "", body.decode(), time.time())
            await deliver_within(sink, [item], self.within)
            return web.Response(text="ok")

        server = WebhookServer(
            self.listen,
            handle,
            account=CHAT.account,
            log=log,
            max_bytes=LIMIT,
            check_headers=signed,
            not_stored=lambda exc: self.not_stored.append(type(exc).__name__),
        )
        await server.start()
        self.listening.set()
        await server.serve()

    async def send(self, message: Outbound) -> str:
        return "sent"

    async def close(self) -> None:
        pass


@pytest.fixture
async def hooked(store: Store) -> AsyncIterator[tuple[HookAdapter, str]]:
    adapter = HookAdapter(free_port())
    hub = Hub(store, [adapter], retry=RetryPolicy(first_delay=0.05, max_delay=0.1))
    await hub.start()
    try:
        await asyncio.wait_for(adapter.listening.wait(), 10)
        yield adapter, f"http://127.0.0.1:{adapter.listen.port}/hook"
    finally:
        await hub.stop()


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str | None]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        return r.status, await r.text(), r.headers.get("Retry-After")


async def stored(store: Store) -> list[str]:
    texts: list[str] = []
    for summary in await store.list_contacts(limit=50):
        texts += [m.text for m in await store.thread_page(summary.id, limit=50)]
    return texts


async def test_a_signed_request_is_answered_only_once_it_is_stored(
    store: Store, hooked: tuple[HookAdapter, str]
) -> None:
    _, url = hooked
    body = "明日の午後に届きますか".encode()
    status, text, _ = await post(url, body, {"X-Signature": sign(body)})
    assert (status, text) == (200, "ok")
    assert await stored(store) == ["明日の午後に届きますか"]  # in the store when answered


async def test_an_unsigned_or_forged_request_is_refused_and_nothing_is_stored(
    store: Store, hooked: tuple[HookAdapter, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _, url = hooked
    body = b"send the refund here"
    assert (await post(url, body, {}))[:2] == (403, "signature required")
    assert (await post(url, body, {"X-Signature": sign(b"other")}))[:2] == (
        403,
        "invalid signature",
    )
    assert await stored(store) == []
    lines = [r.getMessage() for r in caplog.records if "refused a webhook" in r.getMessage()]
    assert len(lines) == 2 and all("(answered 403)" in line for line in lines)
    assert "refund" not in caplog.text


async def test_a_body_over_the_limit_is_answered_413_with_or_without_a_length(
    store: Store, hooked: tuple[HookAdapter, str]
) -> None:
    _, url = hooked
    big = b"x" * (LIMIT + 1)
    assert (await post(url, big, {"X-Signature": sign(big)}))[:2] == (413, "too large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(LIMIT // 512 + 2):
            yield b"y" * 512

    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=chunks(), headers={"X-Signature": "any"}) as answer,
    ):
        assert answer.status == 413
    assert await stored(store) == []


async def test_a_busy_store_is_answered_503_in_time_and_the_next_try_is_stored(
    store: Store, hooked: tuple[HookAdapter, str]
) -> None:
    adapter, url = hooked
    body = b"is my order ready?"
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        status, _, retry_after = await post(url, body, {"X-Signature": sign(body)})
        assert (status, retry_after) == (503, "60")
        assert time.monotonic() - started < adapter.within + 2.0
        assert adapter.not_stored == ["SinkBusy"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    status, _, _ = await post(url, body, {"X-Signature": sign(body)})
    assert status == 200
    await wait_for(lambda: _has(store, "is my order ready?"))


async def _has(store: Store, text: str) -> bool:
    return text in await stored(store)
