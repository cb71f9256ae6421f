"""Webhooks out: a shop's CRM receives every event it subscribed to, signed, in order, once recognisable.

The CRM is a real HTTP server on loopback (`Receiver`) that checks each
signature with the shop's secret, records every id it sees, and can answer
slowly, with a 500, with a redirect, or not at all. Events come from real
actions: a Telegram message through the Bot API peer, a reply sent through
the outbox, a resolve, a tag change, a satisfaction answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from textual.widgets import Static

from omnitui.adapters.base import Adapter
from omnitui.adapters.runner import runner_services
from omnitui.adapters.telegram import TelegramAdapter
from omnitui.adapters.webhooks_out import DeliveryPolicy, WebhooksOut, signature
from omnitui.app import OmniApp
from omnitui.automation import Automation, AutomationSetup
from omnitui.config import Settings, parse
from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
from omnitui.domain.wire import WebhookBody
from omnitui.hub import Hub
from omnitui.store import Store
from tests import test_telegram
from tests.conftest import PG_PASSWORD_ENV, StoreOpener
from tests.peers.dovecot import free_port
from tests.peers.postgres import PASSWORD as PG_PASSWORD
from tests.peers.telegram_api import BotApiPeer, Customer
from tests.test_automatic_channels import bot_config
from tests.test_email import FAST
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

bot_token = test_telegram.bot_token
peer = test_telegram.peer

SECRET = "whsec-shop-crm-5b1f0c"
SECRET_ENV = "OMNITUI_TEST_WEBHOOK_SECRET"
ALL_EVENTS = (
    '["message.received", "message.sent", "conversation.resolved", '
    '"contact.updated", "csat.received"]'
)
# Retries in fractions of a second, given up after a few: a day, shrunk.
SHORT = DeliveryPolicy(first=0.05, cap=0.2, window=30)
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
MISAKI = Customer(4_500_001, "美咲", last_name="田中", language_code="ja")
ASK = "今回の対応を1〜5でお知らせください（5が最高です）。"


@dataclass(frozen=True)
class Received:
    """One POST the CRM took: its headers and the body exactly as it came."""

    event_id: str  # X-OmniTUI-Delivery
    event: str  # X-OmniTUI-Event
    raw: bytes
    user_agent: str
    at: float

    @property
    def body(self) -> dict[str, Any]:
        data = json.loads(self.raw)
        assert isinstance(data, dict)
        return data

    @property
    def contact_id(self) -> int:
        return int(self.body["contact"]["id"])


Answer = Callable[[Received], Awaitable[web.StreamResponse]]


async def accept(_: Received) -> web.StreamResponse:
    return web.Response(status=204)


class Receiver:
    """A CRM's webhook endpoint on loopback. It refuses (401) a body whose
    signature is not the HMAC of its bytes with `secret`, as a real one must;
    `answer` decides what it says to the others (200 unless told)."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.got: list[Received] = []  # signed ones, in arrival order, repeats included
        self.refused = 0
        self.elsewhere = 0  # requests to the address a redirect pointed at
        self.answer: Answer = accept
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/elsewhere", self._elsewhere)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-OmniTUI-Signature", ""), expected):
            self.refused += 1
            return web.Response(status=401, text="bad signature")
        got = Received(
            request.headers.get("X-OmniTUI-Delivery", ""),
            request.headers.get("X-OmniTUI-Event", ""),
            raw,
            request.headers.get("User-Agent", ""),
            time.monotonic(),
        )
        assert request.headers.get("Content-Type") == "application/json"
        self.got.append(got)
        return await self.answer(got)

    async def _elsewhere(self, request: web.Request) -> web.StreamResponse:
        self.elsewhere += 1
        return web.Response(status=200)

    def ids(self) -> list[str]:
        """Every event id once, in the order each first arrived."""
        return list(dict.fromkeys(r.event_id for r in self.got))

    def events(self, contact_id: int | None = None) -> list[str]:
        """The events' names, once each, in the order each first arrived."""
        first = {r.event_id: r for r in reversed(self.got)}
        return [
            first[i].event
            for i in self.ids()
            if contact_id is None or first[i].contact_id == contact_id
        ]

    def first(self, event: str) -> Received:
        return next(r for r in self.got if r.event == event)


@pytest.fixture
async def crm() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


def webhook_toml(url: str, events: str = ALL_EVENTS, extra: str = "") -> str:
    return f'\n[[webhook]]\nurl = "{url}"\nevents = {events}\nsecret_env = "{SECRET_ENV}"\n{extra}'


Runner = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def runner(store: Store) -> AsyncIterator[Runner]:
    """Start the shop's channel runner with this config (its channels, rules and webhooks)."""
    hubs: list[Hub] = []

    async def start(config: str, *, policy: DeliveryPolicy | None = SHORT) -> Hub:
        settings = parse(config, Path("config.toml"))
        adapters: list[Adapter] = [TelegramAdapter(s, poll_timeout=2) for s in settings.telegram]
        channels = {a.channel.account: a.channel for a in adapters}
        automation = Automation(store, AutomationSetup.from_settings(settings), channels)
        services = (
            runner_services(settings, store)
            if policy is None
            else [WebhooksOut(store, settings.webhook, policy=policy)]
        )
        hub = Hub(
            store,
            adapters,
            retry=FAST,
            poll_outbox=0.05,
            automation=automation,
            services=services,
        )
        await hub.start()
        hubs.append(hub)
        await wait_until(lambda: webhooks_known(store, settings), what="the webhooks in the store")
        return hub

    try:
        yield start
    finally:
        for hub in hubs:
            await hub.stop()


async def webhooks_known(store: Store, settings: Settings) -> bool:
    active = {s.url for s in await store.webhook_states() if s.active}
    return active >= {w.url for w in settings.webhook}


async def queued(store: Store) -> int:
    return int(await store._value("SELECT count(*) FROM webhook_delivery"))


async def states(store: Store) -> dict[str, int]:
    rows = await store._rows("SELECT state, count(*) AS n FROM webhook_delivery GROUP BY state")
    return {str(r["state"]): int(r["n"]) for r in rows}


async def all_delivered(store: Store) -> bool:
    s = await states(store)
    return bool(s) and set(s) == {"delivered"}


def lines(contact_id: int, n: int) -> list[tuple[int, str]]:
    return [(contact_id, f"tag-{i}") for i in range(n)]


async def tag_changes(store: Store, changes: list[tuple[int, str]]) -> None:
    """An agent tags customers one change at a time: one contact.updated each."""
    tags: dict[int, list[str]] = {}
    for contact_id, tag in changes:
        tags.setdefault(contact_id, []).append(tag)
        await store.update_contact(contact_id, tags=tags[contact_id])


async def customers(store: Store, n: int) -> list[int]:
    got = await store.ingest(
        [
            Inbound(BOT, f"{7000 + i}:1", str(7000 + i), f"Guest {i}", "hi", time.time() - 60)
            for i in range(n)
        ]
    )
    return [g.contact_id for g in got]


def schema(received: Received) -> WebhookBody:
    """The body as the published model reads it (fails on a shape it does not describe)."""
    return WebhookBody.model_validate_json(received.raw)


async def test_every_event_reaches_the_crm_signed_in_order_with_the_customer_as_it_is_now(
    store: Store, peer: BotApiPeer, crm: Receiver, runner: Runner
) -> None:
    csat = '\n[csat]\nenabled = true\nask = "csat"\n'
    await store.add_canned_replies([("csat", "Survey", ASK, "")])
    await runner(bot_config(peer) + csat + webhook_toml(crm.url), policy=None)
    await wait_until(lambda: any(c.method == "getUpdates" for c in peer.calls))

    peer.text(MISAKI, "注文した花はいつ届きますか？")
    await wait_until(lambda: "message.received" in crm.events(), what="message.received")
    got = crm.first("message.received")
    misaki = got.contact_id
    body = schema(got)
    assert body.id == got.event_id and body.event == "message.received"
    assert body.contact.name == "美咲 田中" and body.contact.status == "open"
    assert [(i.kind, i.address) for i in body.contact.identities] == [("telegram", str(MISAKI.id))]
    assert body.message is not None
    assert (body.message.direction, body.message.channel, body.message.text) == (
        "in",
        "telegram",
        "注文した花はいつ届きますか？",
    )
    assert got.user_agent.startswith("OmniTUI/")

    await store.update_contact(misaki, tags=["vip"], profile={"order": "A-1043"})
    await wait_until(lambda: "contact.updated" in crm.events(), what="contact.updated")
    updated = schema(crm.first("contact.updated"))
    assert (updated.contact.tags, updated.contact.profile) == (["vip"], {"order": "A-1043"})
    assert updated.message is None

    await store.enqueue_reply(misaki, BOT, "本日発送いたします。", author="Ken")
    await wait_until(lambda: "message.sent" in crm.events(), what="message.sent")
    sent = schema(crm.first("message.sent"))
    assert sent.message is not None
    assert (sent.message.direction, sent.message.status, sent.message.author) == (
        "out",
        "sent",
        "Ken",
    )
    assert sent.message.text == "本日発送いたします。"

    await store.set_status(misaki, ThreadStatus.RESOLVED)
    await wait_until(lambda: crm.events().count("message.sent") == 2, what="the survey sent")
    resolved = schema(crm.first("conversation.resolved"))
    assert resolved.contact.status == "resolved" and resolved.message is None

    peer.text(MISAKI, "5")
    await wait_until(lambda: "csat.received" in crm.events(), what="csat.received")
    rating = schema(crm.first("csat.received"))
    assert rating.csat is not None and rating.csat.rating == 5
    assert rating.message is not None and rating.message.csat == 5
    assert rating.contact.status == "resolved"  # a rating reopens nothing

    assert crm.events(misaki) == [
        "message.received",
        "contact.updated",
        "message.sent",
        "conversation.resolved",
        "message.sent",  # the survey question
        "message.received",  # the answer is a message too
        "csat.received",
    ]
    # Each POST carried its event's id in the header and the body, and ids are distinct.
    assert all(schema(r).id == r.event_id and schema(r).event == r.event for r in crm.got)
    assert len(set(crm.ids())) == len(crm.got) == 7
    assert crm.refused == 0


async def test_a_receiver_checking_another_secret_refuses_every_delivery(
    store: Store, runner: Runner
) -> None:
    impostor = Receiver(secret="not-the-shop-secret")
    await impostor.start()
    try:
        await runner(webhook_toml(impostor.url, '["contact.updated"]'))
        [ada] = await customers(store, 1)
        await store.update_contact(ada, name="Ada")

        async def failing() -> bool:
            return any(s.failures_in_row >= 3 for s in await store.webhook_states())

        await wait_until(failing, what="three refused attempts")
        assert impostor.got == [] and impostor.refused >= 3
        [state] = await store.webhook_states()
        assert state.delivered == 0 and state.pending == 1
        assert state.failures_in_row >= 3 and state.last_error == "HTTP 401 Unauthorized"
    finally:
        await impostor.stop()


async def test_the_signature_is_the_hmac_of_the_exact_body_bytes() -> None:
    body = b'{"id":"evt_1","event":"contact.updated"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(SECRET, body) == f"sha256={expected}"
    assert signature(SECRET, body + b" ") != signature(SECRET, body)


async def test_500_then_200_delivers_once_more_with_the_same_id_and_bytes(
    store: Store, crm: Receiver, runner: Runner
) -> None:
    calls = 0

    async def flaky(_: Received) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        return web.Response(status=500 if calls == 1 else 200)

    crm.answer = flaky
    await runner(webhook_toml(crm.url, '["contact.updated"]'))
    [ada] = await customers(store, 1)
    await store.update_contact(ada, name="Ada")
    await wait_until(lambda: all_delivered(store), what="delivered")
    first, second = crm.got
    assert first.event_id == second.event_id and first.raw == second.raw
    rows = await store._rows("SELECT attempts, last_status, last_error FROM webhook_delivery")
    assert [tuple(r) for r in rows] == [(2, 200, "HTTP 500 Internal Server Error")]


async def test_order_per_customer_holds_under_retries_and_a_slow_customer_holds_up_nobody(
    store: Store, crm: Receiver, runner: Runner
) -> None:
    ada, bea, cho = await customers(store, 3)
    release = asyncio.Event()
    tries: dict[str, int] = {}

    async def answer(got: Received) -> web.StreamResponse:
        tries[got.event_id] = tries.get(got.event_id, 0) + 1
        if got.contact_id == ada:
            await release.wait()  # Ada's CRM record is locked for now
        if got.contact_id == bea and tries[got.event_id] < 3:
            return web.Response(status=503)  # each of Bea's events fails twice first
        return web.Response(status=200)

    crm.answer = answer
    await runner(webhook_toml(crm.url, '["contact.updated"]', "timeout = 30\n"))
    changes = [*lines(ada, 3), *lines(bea, 5), *lines(cho, 5)]
    await tag_changes(store, sorted(changes, key=lambda c: c[1]))  # interleaved
    # Bea and Cho are all delivered while Ada's first event still waits.
    await wait_until(
        lambda: len(crm.events(bea)) == 5 and len(crm.events(cho)) == 5,
        what="Bea's and Cho's events",
    )
    assert len(crm.events(ada)) == 1
    release.set()
    await wait_until(lambda: all_delivered(store), what="everything delivered")
    rows = await store._rows("SELECT event_id, contact_id FROM webhook_delivery ORDER BY id")
    queued_order = {
        c: [r["event_id"] for r in rows if r["contact_id"] == c] for c in (ada, bea, cho)
    }
    first_seen = crm.ids()
    for contact_id, ids in queued_order.items():
        assert [i for i in first_seen if i in ids] == ids, f"customer {contact_id} out of order"
    # Bea's later event never went before her earlier one was delivered.
    bea_got = [r.event_id for r in crm.got if r.contact_id == bea]
    assert bea_got == [i for i in queued_order[bea] for _ in range(3)]


async def test_a_redirect_is_not_followed_and_says_where_it_pointed(
    store: Store, crm: Receiver, runner: Runner
) -> None:
    async def moved(_: Received) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": "/elsewhere"})

    crm.answer = moved
    await runner(webhook_toml(crm.url, '["contact.updated"]'))
    [ada] = await customers(store, 1)
    await store.update_contact(ada, name="Ada")
    await wait_until(lambda: len(crm.got) >= 2, what="a retry")
    assert crm.elsewhere == 0
    [state] = await store.webhook_states()
    assert state.last_error == "HTTP 307: redirected to /elsewhere (redirects are not followed)"
    assert state.pending == 1 and state.delivered == 0


async def test_a_slow_receiver_times_out_and_is_tried_again(
    store: Store, crm: Receiver, runner: Runner
) -> None:
    calls = 0

    async def slow_once(_: Received) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(3)
        return web.Response(status=200)

    crm.answer = slow_once
    await runner(webhook_toml(crm.url, '["contact.updated"]', "timeout = 0.5\n"))
    [ada] = await customers(store, 1)
    await store.update_contact(ada, name="Ada")
    await wait_until(lambda: all_delivered(store), what="delivered on the second try")
    assert len(crm.ids()) == 1 and len(crm.got) == 2
    rows = await store._rows("SELECT attempts, last_error FROM webhook_delivery")
    assert [tuple(r) for r in rows] == [(2, "no answer within 0.5 s")]


async def test_refused_and_dropped_connections_are_recorded_and_retried(
    store: Store, runner: Runner
) -> None:
    closed_port = free_port()
    dropped = 0

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal dropped
        dropped += 1
        await reader.read(100)  # part of the request, then the receiver goes away
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await runner(
            webhook_toml(f"http://127.0.0.1:{closed_port}/hook", '["contact.updated"]')
            + webhook_toml(f"http://127.0.0.1:{port}/hook", '["contact.updated"]')
        )
        [ada] = await customers(store, 1)
        await store.update_contact(ada, name="Ada")

        async def both_failing() -> bool:
            return all(s.failures_in_row >= 2 for s in await store.webhook_states())

        await wait_until(both_failing, what="both retried")
        errors = {s.url: s.last_error for s in await store.webhook_states()}
        assert (
            errors[f"http://127.0.0.1:{closed_port}/hook"] == "cannot connect: Connection refused"
        )
        assert (
            errors[f"http://127.0.0.1:{port}/hook"]
            == "the receiver closed the connection before answering"
        )
        assert dropped >= 2
    finally:
        server.close()
        await server.wait_closed()


async def test_given_up_after_the_window_shown_as_a_problem_then_replayed_with_the_same_id(
    store: Store, crm: Receiver, runner: Runner
) -> None:
    down = True

    async def answer(_: Received) -> web.StreamResponse:
        return web.Response(status=502 if down else 200)

    crm.answer = answer
    await runner(
        webhook_toml(crm.url, '["contact.updated"]'),
        policy=DeliveryPolicy(first=0.05, cap=0.05, window=0.2),
    )
    [ada] = await customers(store, 1)
    await store.update_contact(ada, name="Ada")
    await wait_until(lambda: states_are(store, {"failed": 1}), what="given up")
    attempts = len(crm.got)
    assert attempts == 5  # 0.05 s apart until the waits pass 0.2 s
    said = {
        f"webhook {crm.url}": "given up on 1 event (HTTP 502 Bad Gateway); "
        "omnitui webhooks replay sends it again"
    }
    # The consoles' line is written just after the delivery's state.
    await wait_until(lambda: problems_are(store, said), what="the problem shown")

    down = False
    assert await store.replay_webhooks(url=crm.url) == 1
    await wait_until(lambda: all_delivered(store), what="delivered after the replay")
    assert len(crm.ids()) == 1 and len(crm.got) == attempts + 1
    await wait_until(lambda: no_problems(store), what="the problem cleared")


async def problems_are(store: Store, expected: dict[str, str]) -> bool:
    return await store.channel_problems() == expected


async def states_are(store: Store, expected: dict[str, int]) -> bool:
    return await states(store) == expected


async def no_problems(store: Store) -> bool:
    return not await store.channel_problems()


async def test_a_missing_secret_stops_only_its_own_webhook(
    store: Store, crm: Receiver, runner: Runner
) -> None:
    await runner(
        webhook_toml(crm.url, '["contact.updated"]')
        + '\n[[webhook]]\nurl = "http://127.0.0.1:9/other"\nevents = ["contact.updated"]\n'
        'secret_env = "OMNITUI_TEST_UNSET_WEBHOOK_SECRET"\n'
    )
    [ada] = await customers(store, 1)
    await store.update_contact(ada, name="Ada")

    async def delivered() -> bool:
        return any(s.delivered for s in await store.webhook_states())

    await wait_until(delivered, what="the working webhook delivered")
    problems = await store.channel_problems()
    assert problems == {
        "webhook http://127.0.0.1:9/other": "not sending: [[webhook]] http://127.0.0.1:9/other: "
        "environment variable OMNITUI_TEST_UNSET_WEBHOOK_SECRET is not set"
    }
    states_now = {s.url: (s.pending, s.delivered) for s in await store.webhook_states()}
    # Its event waits in the store for the secret.
    assert states_now == {crm.url: (0, 1), "http://127.0.0.1:9/other": (1, 0)}


async def test_a_token_in_a_webhooks_address_stays_out_of_logs_and_the_channel_line(
    store: Store, runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    # Many CRMs put their receiver's key in the address; nothing answers at this one.
    dead = "http://127.0.0.1:9/hook?key=CRMKEY123"
    unsigned = "http://user:PASSWORD9@127.0.0.1:9/other?token=CRMKEY456"
    await runner(
        webhook_toml(dead, '["contact.updated"]')
        + f'\n[[webhook]]\nurl = "{unsigned}"\nevents = ["contact.updated"]\n'
        'secret_env = "OMNITUI_TEST_UNSET_WEBHOOK_SECRET"\n'
    )
    [ada] = await customers(store, 1)
    with caplog.at_level(logging.DEBUG):
        await store.update_contact(ada, name="Ada")

        async def both_shown() -> bool:
            return len(await store.channel_problems()) == 2

        await wait_until(both_shown, what="both webhooks in the channel line")
    problems = await store.channel_problems()
    assert set(problems) == {
        "webhook http://127.0.0.1:9/hook?key=…",
        "webhook http://user:***@127.0.0.1:9/other?token=…",
    }
    said = " ".join([*problems, *problems.values(), caplog.text])
    assert "cannot connect" in said and "OMNITUI_TEST_UNSET_WEBHOOK_SECRET" in said
    for secret in ("CRMKEY123", "CRMKEY456", "PASSWORD9"):
        assert secret not in said


async def test_nothing_is_queued_without_a_webhook_that_wants_the_event(store: Store) -> None:
    [ada] = await customers(store, 1)
    await store.update_contact(ada, name="Ada")
    assert await queued(store) == 0
    await store.set_webhooks([("http://127.0.0.1:9/hook", ["message.sent"])])
    await store.update_contact(ada, name="Ada Lovelace")
    assert await queued(store) == 0
    await store.set_webhooks([])  # taken out of the runner's config
    await store.set_status(ada, ThreadStatus.RESOLVED)
    assert await queued(store) == 0


async def test_history_is_no_event_and_one_event_is_shared_by_every_webhook(store: Store) -> None:
    await store.set_webhooks(
        [
            ("http://127.0.0.1:9/a", ["message.received"]),
            ("http://127.0.0.1:9/b", ["message.received", "contact.updated"]),
        ]
    )
    old = Inbound(BOT, "1:1", "42", "Ada", "from last year", time.time() - 9e6)
    await store.import_history([old])
    assert await queued(store) == 0
    await store.ingest([Inbound(BOT, "1:2", "42", "Ada", "hello", time.time())])
    rows = await store._rows("SELECT webhook_id, event_id, body FROM webhook_delivery")
    assert len(rows) == 2 and rows[0]["event_id"] == rows[1]["event_id"]
    assert rows[0]["body"] == rows[1]["body"]
    assert rows[0]["event_id"].startswith("evt_")


def test_a_store_without_webhooks_never_loads_pydantic_for_them(tmp_path: Path) -> None:
    script = f"""
import asyncio, sys, time
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.store import Store

async def main():
    store = await Store.open({str(tmp_path / "s.db")!r})
    bot = Channel(ChannelKind.TELEGRAM, "bot")
    [got] = await store.ingest([Inbound(bot, "1:1", "42", "Ada", "hi", time.time())])
    await store.update_contact(got.contact_id, tags=["vip"])
    await store.close()
    print("omnitui.domain.wire" in sys.modules)

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


async def omnitui(config: Path, *args: str) -> tuple[int, str]:
    """Run the real command line on the shop's config; (exit code, what it printed)."""
    env = {
        **os.environ,
        PG_PASSWORD_ENV: PG_PASSWORD,
        SECRET_ENV: SECRET,
        "HOME": str(config.parent),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        "--config",
        str(config),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_a_failing_webhook_shows_in_the_console_and_doctor_and_is_replayed_from_the_command_line(
    store: Store, open_store: StoreOpener, crm: Receiver, runner: Runner, tmp_path: Path
) -> None:
    down = True

    async def answer(_: Received) -> web.StreamResponse:
        return web.Response(status=503 if down else 200)

    crm.answer = answer
    hook = webhook_toml(crm.url, '["contact.updated"]')
    await runner(hook, policy=DeliveryPolicy(first=0.05, cap=0.05, window=0.3))
    config = tmp_path / "config.toml"
    config.write_text(open_store.toml() + hook, encoding="utf-8")
    app = OmniApp(store, agent_name="Aiko", channels=[BOT], poll_changes=0.05)
    async with app.run_test(size=(160, 36)) as pilot:
        await pilot.pause()
        [ada] = await customers(store, 1)
        await store.update_contact(ada, name="Ada")
        banner = app.inbox.query_one("#channel-problems", Static)

        def shown() -> str:
            return str(banner.render()) if banner.display else ""

        await wait_until(lambda: "failed in a row" in shown(), pilot=pilot, what="failing")
        assert f"⚠ webhook {crm.url}: 3 deliveries failed in a row (HTTP 503" in shown()
        await wait_until(lambda: "given up" in shown(), pilot=pilot, what="given up")
        assert "given up on 1 event (HTTP 503 Service Unavailable)" in shown()

        code, said = await omnitui(config, "doctor")
        line = next(x for x in said.splitlines() if x[6:14] == "webhook ")
        assert code == 1
        assert line == (
            f"FAIL  webhook  {crm.url} (secret from env {SECRET_ENV}; waiting 0, failed 1; "
            "last error: HTTP 503 Service Unavailable)"
        )
        code, said = await omnitui(config, "webhooks")
        assert code == 0
        assert "waiting 0, failed 1, delivered 0" in said
        assert "last error" in said and "HTTP 503 Service Unavailable" in said

        down = False
        code, said = await omnitui(config, "webhooks", "replay", "--url", crm.url)
        assert code == 0 and said.startswith("1 failed events back in the queue")
        await wait_until(lambda: all_delivered(store), what="delivered after the replay")
        await wait_until(lambda: not banner.display, pilot=pilot, what="the problem gone")
    assert len(crm.ids()) == 1  # the same event, the same id, every time


async def test_delivered_events_are_forgotten_after_a_week_and_failed_ones_kept(
    open_store: StoreOpener,
) -> None:
    now = [1_900_000_000.0]
    store = await open_store(clock=lambda: now[0])
    ids = await store.set_webhooks([("http://127.0.0.1:9/hook", ["contact.updated"])])
    ada, bea = await customers(store, 2)
    await store.update_contact(ada, name="Ada")
    await store.update_contact(bea, name="Bea")
    first, second = await store.due_webhook_deliveries(ids["http://127.0.0.1:9/hook"])
    await store.webhook_delivered(first.id, 200)
    await store.webhook_attempt_failed(second.id, "HTTP 410 Gone", 410, retry_at=None)
    now[0] += 6 * 86400
    assert await store.prune_webhook_deliveries(7 * 86400) == 0
    now[0] += 2 * 86400
    assert await store.prune_webhook_deliveries(7 * 86400) == 1
    [state] = await store.webhook_states()
    assert (state.delivered, state.failed, state.last_error) == (0, 1, "HTTP 410 Gone")


async def test_a_runner_without_webhooks_stops_queueing_for_an_earlier_runners_ones(
    store: Store, runner: Runner
) -> None:
    old = "http://127.0.0.1:9/old"
    await store.set_webhooks([(old, ["contact.updated"])])
    await store.set_channel_problem(f"webhook {old}", "3 deliveries failed in a row (HTTP 500)")
    await runner("", policy=None)  # the config has no [[webhook]] any more

    async def inactive() -> bool:
        return not any(s.active for s in await store.webhook_states())

    await wait_until(inactive, what="the old webhook inactive")
    assert await store.channel_problems() == {}
    [ada] = await customers(store, 1)
    await store.update_contact(ada, name="Ada")
    assert await queued(store) == 0


async def test_a_crm_script_tagging_through_the_local_api_gets_contact_updated(
    store: Store, crm: Receiver, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNITUI_TEST_API_TOKEN", "api-token-7c2e")
    port = free_port()
    api = f'[api]\nlisten = "127.0.0.1:{port}"\ntoken_env = "OMNITUI_TEST_API_TOKEN"\n'
    await runner(api + webhook_toml(crm.url, '["contact.updated"]'), policy=None)
    [ada] = await customers(store, 1)
    headers = {"Authorization": "Bearer api-token-7c2e"}

    async def patched() -> bool:
        try:
            async with (
                ClientSession() as session,
                session.patch(
                    f"http://127.0.0.1:{port}/contacts/{ada}",
                    json={"add_tags": ["crm-lead"], "profile": {"deal": "D-77"}},
                    headers=headers,
                ) as answer,
            ):
                return answer.status == 200
        except OSError:  # the API is not listening yet
            return False

    await wait_until(patched, what="the API took the change")
    await wait_until(lambda: "contact.updated" in crm.events(), what="contact.updated")
    body = schema(crm.first("contact.updated"))
    assert body.contact.id == ada
    assert (body.contact.tags, body.contact.profile) == (["crm-lead"], {"deal": "D-77"})


async def queued_bodies(store: Store, event: str) -> list[WebhookBody]:
    rows = await store._rows(
        "SELECT body FROM webhook_delivery WHERE event = ? ORDER BY id", (event,)
    )
    return [WebhookBody.model_validate_json(str(r["body"])) for r in rows]


async def test_an_import_an_sms_stop_and_a_merge_each_update_the_contact_for_the_crm(
    store: Store,
) -> None:
    from omnitui.contacts_file import read_csv

    await store.set_webhooks([("http://127.0.0.1:9/hook", ["contact.updated"])])
    sms = Channel(ChannelKind.SMS, "shop-sms")
    parsed = read_csv("name,phone,email,company\nKen Sato,+819012345678,ken@example.jp,Hana Ltd\n")
    assert await store.import_contacts(parsed.records) == (1, 0, [])
    [imported] = await queued_bodies(store, "contact.updated")
    assert imported.contact.name == "Ken Sato" and imported.contact.profile == {
        "company": "Hana Ltd"
    }
    assert {(i.kind, i.address) for i in imported.contact.identities} == {
        ("phone", "+819012345678"),
        ("email", "ken@example.jp"),
    }

    stop = Inbound(sms, "SM1", "+819012345678", "", "STOP", time.time(), opt_out=True)
    await store.ingest([stop])
    stopped = (await queued_bodies(store, "contact.updated"))[-1]
    phone = next(i for i in stopped.contact.identities if i.kind == "phone")
    assert phone.opted_out

    [other] = await customers(store, 1)
    await store.merge(other, imported.contact.id)
    merged = (await queued_bodies(store, "contact.updated"))[-1]
    assert merged.contact.id == imported.contact.id
    assert "telegram" in {i.kind for i in merged.contact.identities}
    assert len(await queued_bodies(store, "contact.updated")) == 3
