"""A simulated live channel for `omnitui demo`: no account, no network.

Every few seconds one of the demo shop's customers on this channel writes;
a reply is accepted after a moment and reported delivered a moment later,
except to the one customer whose phone is unreachable.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable

from omnitui.adapters.base import SendError, Sink
from omnitui.demo import DemoShop, customer_line, inbound_from
from omnitui.domain.models import Channel, Delivery, DeliveryUpdate, Outbound

UNREACHABLE = "+819000000000"


class DemoAdapter:
    """One simulated channel account of the demo shop."""

    def __init__(
        self,
        channel: Channel,
        shop: DemoShop,
        *,
        interval: tuple[float, float] = (4.0, 9.0),
        send_delay: float = 0.4,
        deliver_delay: float = 1.5,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._channel = channel
        self._customers = shop.on(channel.kind)
        self._interval = interval
        self._send_delay = send_delay
        self._deliver_delay = deliver_delay
        self._rng = random.Random(seed)
        self._clock = clock
        self._ids = itertools.count(1)
        self._sink: Sink | None = None
        self._receipts: set[asyncio.Task[None]] = set()

    @property
    def channel(self) -> Channel:
        return self._channel

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        if not self._customers:
            await asyncio.Event().wait()
        start = await sink.load_cursor("written") or "0"
        written = int(start)
        while True:
            await asyncio.sleep(self._rng.uniform(*self._interval))
            customer = self._rng.choice(self._customers)
            written += 1
            item = inbound_from(
                customer,
                self._channel.kind,
                customer_line(customer, self._rng),
                self._clock(),
                f"live-{int(self._clock() * 1000)}-{written}",
                subject="お問い合わせ" if customer.language == "ja" else "Question",
            )
            await sink.deliver([item], cursor={"written": str(written)})

    async def send(self, message: Outbound) -> str:
        await asyncio.sleep(self._send_delay)
        provider_id = f"demo-{self._channel.account}-{int(self._clock())}-{next(self._ids)}"
        if message.address == UNREACHABLE:
            raise SendError(
                "30003: the handset is unreachable (switched off or out of range)", retryable=False
            )
        task = asyncio.create_task(self._deliver_later(provider_id))
        self._receipts.add(task)
        task.add_done_callback(self._receipts.discard)
        return provider_id

    async def _deliver_later(self, provider_id: str) -> None:
        await asyncio.sleep(self._deliver_delay)
        if self._sink is not None:
            await self._sink.delivery_update(
                DeliveryUpdate(self._channel, provider_id, Delivery.DELIVERED)
            )

    async def close(self) -> None:
        for task in list(self._receipts):
            task.cancel()
