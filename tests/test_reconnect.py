"""Reconnecting with backoff, and a channel's health as the hub and the consoles see it."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import time

import pytest

from omnitui.adapters.base import Sink
from omnitui.adapters.reconnect import keep_trying, steady
from omnitui.domain.health import CONNECTED, CONNECTING, ChannelState, ChannelTrouble, Health
from omnitui.domain.models import Channel, ChannelKind, Outbound
from omnitui.domain.retry import RetryPolicy
from omnitui.hub import Hub
from omnitui.i18n import tr_reason, use_language
from omnitui.store import Store
from tests.conftest import wait_for
from tests.peers.dovecot import free_port

CHAT = Channel(ChannelKind.TELEGRAM, "shop-chat")


async def test_a_failing_connection_is_tried_again_after_the_policys_waits() -> None:
    """Each wait is the policy's, doubling; a try that goes through starts them over."""
    policy = steady(0.05, 0.2)
    port = free_port()  # nobody listens: connecting is refused
    tries: list[float] = []
    told: list[tuple[str, float]] = []

    async def connect() -> bool:
        tries.append(time.monotonic())
        if len(tries) == 5:
            return False  # through once: the next failure waits the first delay again
        if len(tries) == 7:
            return True
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        return True

    await keep_trying(
        connect,
        policy=policy,
        passing=lambda exc: type(exc).__name__ if isinstance(exc, OSError) else None,
        retrying=lambda words, seconds: told.append((words, seconds)),
    )
    assert [seconds for _, seconds in told] == [0.05, 0.1, 0.2, 0.2, 0.05]
    assert all(words == "ConnectionRefusedError" for words, _ in told)
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    waited = [gaps[0], gaps[1], gaps[2], gaps[3], gaps[5]]
    for gap, wanted in zip(waited, [0.05, 0.1, 0.2, 0.2, 0.05], strict=True):
        assert wanted <= gap < wanted + 0.5
    assert gaps[4] < 0.05  # after a try that went through, no wait at all


async def test_a_failure_that_will_not_pass_ends_the_loop_at_once() -> None:
    calls = 0

    async def refused() -> bool:
        nonlocal calls
        calls += 1
        raise PermissionError("login refused")

    with pytest.raises(PermissionError):
        await keep_trying(
            refused,
            policy=steady(0.05, 0.2),
            passing=lambda exc: None,
            retrying=lambda words, seconds: None,
        )
    assert calls == 1


async def test_a_wake_cuts_the_wait_short() -> None:
    wake = asyncio.Event()
    tries: list[float] = []

    async def once() -> bool:
        tries.append(time.monotonic())
        return len(tries) == 2

    started = time.monotonic()
    loop = asyncio.create_task(
        keep_trying(
            once,
            policy=steady(0.05, 0.2),
            passing=lambda exc: None,
            retrying=lambda words, seconds: None,
            pause=lambda: 60.0,
            wake=wake,
        )
    )
    await asyncio.sleep(0.1)
    wake.set()
    await asyncio.wait_for(loop, 5.0)
    assert time.monotonic() - started < 5.0


def test_the_shared_policy_doubles_up_to_its_limit_with_jitter_around_it() -> None:
    policy = RetryPolicy(first_delay=2.0, factor=2.0, max_delay=300.0)
    assert [policy.base_delay(n) for n in (1, 2, 3, 9, 20)] == [2.0, 4.0, 8.0, 300.0, 300.0]
    for attempt in range(1, 12):
        assert 0.8 * policy.base_delay(attempt) <= policy.delay(attempt)
        assert policy.delay(attempt) <= 1.2 * policy.base_delay(attempt)
    assert steady(1.0, 60.0).delay(3) == 4.0


class PortWatcher:
    """A channel that holds a connection to a loopback provider and reconnects."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.health: Health = CONNECTING
        self.refuse_forever = False

    @property
    def channel(self) -> Channel:
        return CHAT

    async def run(self, sink: Sink) -> None:
        async def connected() -> bool:
            if self.refuse_forever:
                raise PermissionError("the provider refused the token")
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.health = CONNECTED
            await sink.load_cursor("since")  # as every adapter does once it is through
            try:
                await reader.read()  # until the provider drops the connection
            finally:
                writer.close()
            raise ConnectionResetError("connection lost")

        def retrying(words: str, seconds: float) -> None:
            self.health = Health(
                ChannelState.RETRYING,
                ChannelTrouble(
                    "disconnected ({reason}); retrying in {seconds:.0f} s",
                    reason=words,
                    seconds=seconds,
                ),
            )

        await keep_trying(
            connected,
            policy=steady(0.05, 0.1),
            passing=lambda exc: "refused" if isinstance(exc, ConnectionError) else None,
            retrying=retrying,
        )

    async def send(self, message: Outbound) -> str:
        return "sent"

    async def close(self) -> None:
        pass


@pytest.mark.backends
async def test_a_channels_health_moves_through_its_states_in_the_hub_and_the_store(
    store: Store,
) -> None:
    port = free_port()
    watcher = PortWatcher(port)
    hub = Hub(store, [watcher], retry=RetryPolicy(first_delay=0.05, max_delay=0.1))
    hub.report_every = 0.02
    clients: list[asyncio.StreamWriter] = []

    async def provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        clients.append(writer)

    async def state_is(state: ChannelState) -> bool:
        return hub.health(CHAT.account).state is state

    async def shown() -> dict[str, str]:
        return await store.channel_problems()

    assert hub.health(CHAT.account).state is ChannelState.STOPPED  # not started yet
    await hub.start()
    try:
        await wait_for(lambda: state_is(ChannelState.RETRYING))
        await wait_for(
            lambda: _equal(shown(), {CHAT.account: "disconnected (refused); retrying in 0 s"})
        )
        server = await asyncio.start_server(provider, "127.0.0.1", port)
        await wait_for(lambda: state_is(ChannelState.CONNECTED))
        await wait_for(lambda: _equal(shown(), {}))
        # The provider goes away: retrying, then back.
        watcher.refuse_forever = True
        for client in clients:
            client.close()
        await wait_for(lambda: state_is(ChannelState.FAILED))
        assert hub.problem(CHAT.account) == "the provider refused the token"
        await wait_for(lambda: _equal(shown(), {CHAT.account: "the provider refused the token"}))
        watcher.refuse_forever = False
        await wait_for(lambda: state_is(ChannelState.CONNECTED))
        await wait_for(lambda: _equal(shown(), {}))
        server.close()
    finally:
        with contextlib.suppress(Exception):
            for client in clients:
                client.close()
        await hub.stop()
    assert hub.health(CHAT.account).state is ChannelState.STOPPED
    assert await store.channel_problems() == {}


async def _equal(got: object, wanted: object) -> bool:
    assert asyncio.iscoroutine(got)
    return bool(await got == wanted)


def test_a_retrying_channel_reads_the_same_from_its_reason_and_from_the_store() -> None:
    """The console shows the stored English in its language, as the reason itself reads."""
    health = Health(
        ChannelState.RETRYING,
        ChannelTrouble(
            "{folder}: disconnected ({reason}); retrying in {seconds:.0f} s",
            folder="INBOX",
            reason="connection refused",
            seconds=4.2,
        ),
    )
    stored = health.problem()
    assert stored == "INBOX: disconnected (connection refused); retrying in 4 s"
    assert health.reason is not None

    def japanese() -> tuple[str, str]:
        use_language("ja")
        assert health.reason is not None and stored is not None
        return health.reason.message(), tr_reason(stored)

    shown, from_store = contextvars.copy_context().run(japanese)
    assert (
        shown
        == from_store
        == "INBOX: 接続が切れました(connection refused)。4 秒後にもう一度つなぎます"
    )
    assert CONNECTED.problem() is None and CONNECTING.problem() is None
