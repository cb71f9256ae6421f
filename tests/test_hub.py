"""The hub: inbound into the store, the outbox drained exactly once, failures contained."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

import pytest

from omnitui.adapters.base import SendError, Sink
from omnitui.adapters.demo import DemoAdapter
from omnitui.demo import DEMO_CHANNELS, DemoShop
from omnitui.domain.models import Channel, ChannelKind, Delivery, Inbound, Outbound
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store
from tests.waiting import wait_until

MAIL = Channel(ChannelKind.EMAIL, "flaky-mail")
FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.2, max_attempts=3)


class FlakyProvider:
    """A provider that refuses the first `refusals` sends (retry is safe), then accepts."""

    def __init__(self, refusals: int, *, permanent: bool = False) -> None:
        self.refusals = refusals
        self.permanent = permanent
        self.accepted: list[str] = []
        self.calls = 0

    @property
    def channel(self) -> Channel:
        return MAIL

    async def run(self, sink: Sink) -> None:
        await sink.deliver([Inbound(MAIL, "in-1", "kim@example.com", "Kim", "hello?", time.time())])
        await asyncio.Event().wait()

    async def send(self, message: Outbound) -> str:
        self.calls += 1
        if self.permanent:
            raise SendError("550 mailbox unavailable", retryable=False)
        if self.calls <= self.refusals:
            raise SendError("421 try again later", retryable=True)
        self.accepted.append(message.text)
        return f"prov-{self.calls}"

    async def close(self) -> None:
        pass


class BrokenProvider:
    """A provider whose receiving side crashes every time."""

    def __init__(self) -> None:
        self.runs = 0

    @property
    def channel(self) -> Channel:
        return Channel(ChannelKind.SMS, "broken-sms")

    async def run(self, sink: Sink) -> None:
        self.runs += 1
        raise ConnectionError("network unreachable")

    async def send(self, message: Outbound) -> str:
        raise SendError("down", retryable=False)

    async def close(self) -> None:
        pass


class GatedProvider(FlakyProvider):
    """A provider whose sends wait until the test lets them through."""

    def __init__(self) -> None:
        super().__init__(refusals=0)
        self.gate = asyncio.Event()
        self.sending = asyncio.Event()

    async def send(self, message: Outbound) -> str:
        self.sending.set()
        await self.gate.wait()
        return await super().send(message)


async def last_status(store: Store, contact_id: int) -> Delivery:
    return (await store.thread_page(contact_id))[-1].status


@pytest.mark.backends
async def test_a_refused_send_is_retried_and_sent_exactly_once(store: Store) -> None:
    provider = FlakyProvider(refusals=2)
    hub = Hub(store, [provider], retry=FAST, poll_outbox=0.02)
    await hub.start()
    try:
        await wait_until(lambda: _has_contacts(store))
        contact = (await store.list_contacts())[0]
        await store.enqueue_reply(contact.id, MAIL, "we are open until 7")
        hub.outbox_changed()

        async def sent() -> bool:
            return await last_status(store, contact.id) is Delivery.SENT

        await wait_until(sent)
        await asyncio.sleep(0.3)
        assert provider.accepted == ["we are open until 7"]
        assert provider.calls == 3
    finally:
        await hub.stop()


@pytest.mark.backends
async def test_a_permanent_failure_shows_the_reason_and_is_not_retried(store: Store) -> None:
    provider = FlakyProvider(refusals=0, permanent=True)
    hub = Hub(store, [provider], retry=FAST, poll_outbox=0.02)
    await hub.start()
    try:
        await wait_until(lambda: _has_contacts(store))
        contact = (await store.list_contacts())[0]
        await store.enqueue_reply(contact.id, MAIL, "hello")

        async def failed() -> bool:
            return await last_status(store, contact.id) is Delivery.FAILED

        await wait_until(failed)
        await asyncio.sleep(0.2)
        last = (await store.thread_page(contact.id))[-1]
        assert last.status_reason == "550 mailbox unavailable"
        assert provider.calls == 1
    finally:
        await hub.stop()


@pytest.mark.backends
async def test_one_broken_channel_does_not_stop_the_others(store: Store) -> None:
    broken = BrokenProvider()
    demo = DemoAdapter(DEMO_CHANNELS[0], _one_customer_shop(), interval=(0.01, 0.03), seed=1)
    hub = Hub(store, [broken, demo], retry=FAST, poll_outbox=0.02)
    await hub.start()
    try:
        await wait_until(lambda: _has_contacts(store))
        await asyncio.sleep(0.3)
        assert broken.runs >= 2  # restarted with backoff
        assert "network unreachable" in hub.errors["broken-sms"]
        count_before = len(await store.thread_page((await store.list_contacts())[0].id, limit=500))
        await asyncio.sleep(0.2)
        count_after = len(await store.thread_page((await store.list_contacts())[0].id, limit=500))
        assert count_after > count_before
    finally:
        await hub.stop()


@pytest.mark.backends
async def test_demo_replies_are_delivered(store: Store) -> None:
    demo = DemoAdapter(
        DEMO_CHANNELS[0],
        _one_customer_shop(),
        interval=(0.05, 0.1),
        send_delay=0.01,
        deliver_delay=0.05,
    )
    hub = Hub(store, [demo], poll_outbox=0.02)
    await hub.start()
    try:
        await wait_until(lambda: _has_contacts(store))
        contact = (await store.list_contacts())[0]
        mid = await store.enqueue_reply(contact.id, DEMO_CHANNELS[0], "thanks!")

        async def delivered() -> bool:
            page = await store.thread_page(contact.id, limit=500)
            return any(m.id == mid and m.status is Delivery.DELIVERED for m in page)

        await wait_until(delivered)
    finally:
        await hub.stop()


async def _has_contacts(store: Store) -> bool:
    return await store.count_contacts() > 0


def _one_customer_shop() -> DemoShop:
    from omnitui.demo import DemoCustomer

    return DemoShop((DemoCustomer("Kim Lee", "Kim", "en", {ChannelKind.EMAIL: "kim@example.com"}),))


async def test_a_store_held_by_another_process_stops_no_reply_for_good(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="omnitui.hub")
    # The writer gives up on a held lock after 0.2 s instead of 10 s: the same
    # failures as a long hold, in a short test.
    await store._write(lambda conn: conn.execute("PRAGMA busy_timeout = 200"))
    provider = GatedProvider()
    hub = Hub(store, [provider], retry=FAST, poll_outbox=0.02)
    await hub.start()
    holder = sqlite3.connect(store.path, isolation_level=None)
    try:
        await wait_until(lambda: _has_contacts(store))
        contact = (await store.list_contacts())[0]
        await store.enqueue_reply(contact.id, MAIL, "we are open until 7")
        await asyncio.wait_for(provider.sending.wait(), 5)
        holder.execute("BEGIN IMMEDIATE")  # a backup script, another console...
        provider.gate.set()  # the provider takes the reply while the store is held
        await asyncio.sleep(1.5)
        holder.execute("ROLLBACK")

        async def sent() -> bool:
            return await last_status(store, contact.id) is Delivery.SENT

        await wait_until(sent)
        await store.enqueue_reply(contact.id, MAIL, "see you tomorrow")
        # Held again as the outbox goes for the new reply (it wakes for the change).
        holder.execute("BEGIN IMMEDIATE")
        await asyncio.sleep(1.0)
        holder.execute("ROLLBACK")

        async def both_sent() -> bool:
            # The provider takes the reply first; its "sent" is stored just after.
            return (
                provider.accepted
                == [
                    "we are open until 7",
                    "see you tomorrow",
                ]
                and await last_status(store, contact.id) is Delivery.SENT
            )

        await wait_until(both_sent)
    finally:
        holder.close()
        await hub.stop()
    assert provider.calls == 2  # nothing sent twice
    assert "the outbox could not be read" in caplog.text
    assert "could not be recorded" in caplog.text
