"""Telegram arrival: from an update being served by the Bot API to it being in the
store, and drawn in the console (DESIGN.md: under 0.5 s).

    python bench/telegram_arrival.py                 # 20 updates timed, after 3 not counted
    python bench/telegram_arrival.py --updates 50

The Bot API is the tests' loopback peer (`tests/peers/telegram_api.py`,
checked against `../shared/fixtures/telegram/api.json`). It runs in its own
thread and event loop, as Telegram would be another machine. "Served" is the
moment the peer hands a getUpdates answer holding the update to aiohttp.

1. Floor: a bare python-telegram-bot `Bot.get_updates` long-poll loop on the
   same peer, timed until the `Update` object is in hand.
2. OmniTUI: the real `Hub` and `TelegramAdapter` on a fresh store, with a
   headless console (`OmniApp.run_test`, the default 0.25 s change poll)
   open. Timed until `Store.ingest` has committed the message (the offset
   with it), then until the contact list shows it and the screen has
   refreshed (`wait_for_refresh`).

Each update is a text from a new customer, sent after a random pause of
0-0.3 s so arrivals fall anywhere in the console's poll interval.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from run import Row, ms, quantile, table

from omnitui.adapters.telegram import TelegramAdapter
from omnitui.config import parse
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.hub import Hub
from omnitui.store import Store

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests.peers` lives in the repository, not in the venv
    sys.path.insert(1, str(ROOT))

from tests.peers.telegram_api import TOKEN, BotApiPeer, BotApiSpec, Customer  # noqa: E402

SPEC = ROOT.parent / "shared" / "fixtures" / "telegram" / "api.json"
TOKEN_ENV = "OMNITUI_BENCH_TELEGRAM_TOKEN"
BOT = Channel(ChannelKind.TELEGRAM, "bench-bot")
WARMUP = 3
TARGET = 0.5
T = TypeVar("T")


class PeerThread:
    """The Bot API peer on its own thread and event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.peer = BotApiPeer(BotApiSpec.load(SPEC))

    def __enter__(self) -> PeerThread:
        self.thread.start()
        self.run(self.peer.start)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.peer.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if self.peer.violations:
            raise SystemExit(
                "the Bot API peer saw spec violations:\n" + "\n".join(self.peer.violations)
            )

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        return asyncio.run_coroutine_threadsafe(_call(fn), self.loop).result(10)

    def text(self, customer: Customer, text: str) -> int:
        """Queue a message on the peer's loop; returns its update id."""
        done: Future[int] = Future()

        def push() -> None:
            done.set_result(int(self.peer.text(customer, text)["update_id"]))

        self.loop.call_soon_threadsafe(push)
        return done.result(10)

    def served_at(self, update_id: int) -> float | None:
        return self.peer.served_at.get(update_id)


async def _call(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()


async def until(check: Callable[[], bool], limit: float = 10.0, step: float = 0.001) -> float:
    """Wait until `check()`; returns when (time.monotonic) it was first seen true."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        await asyncio.sleep(step)
    raise TimeoutError("condition not met in time")


async def served(peers: PeerThread, update_id: int) -> float:
    await until(lambda: peers.served_at(update_id) is not None)
    at = peers.served_at(update_id)
    assert at is not None
    return at


async def floor(peers: PeerThread, count: int, rng: random.Random) -> list[float]:
    """Served -> a bare PTB `get_updates` loop has the Update."""
    from telegram import Bot

    bot = Bot(TOKEN, base_url=f"{peers.peer.url}/bot", base_file_url=f"{peers.peer.url}/file/bot")
    await bot.initialize()
    received: dict[int, float] = {}

    async def loop() -> None:
        offset: int | None = None
        while True:
            for update in await bot.get_updates(offset=offset, timeout=30):
                received[update.update_id] = time.monotonic()
                offset = update.update_id + 1

    task = asyncio.create_task(loop())
    out: list[float] = []
    try:
        for n in range(count + WARMUP):
            await asyncio.sleep(rng.uniform(0, 0.3))
            update_id = peers.text(Customer(900_000 + n, f"Floor {n}"), f"floor message {n}")
            got = await until(lambda u=update_id: u in received)  # type: ignore[misc]
            if n >= WARMUP:
                out.append(got - await served(peers, update_id))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.shutdown()
    return out


async def omnitui(
    peers: PeerThread, count: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """Served -> committed in the store, and served -> drawn in the console."""
    from omnitui.app import OmniApp

    cfg = parse(
        f'[[telegram]]\nname = "{BOT.account}"\ntoken_env = "{TOKEN_ENV}"\n'
        f'api_base = "{peers.peer.url}"\n',
        Path("bench.toml"),
    ).telegram[0]
    stored_at: dict[str, float] = {}
    in_store: list[float] = []
    drawn: list[float] = []
    with tempfile.TemporaryDirectory(prefix="omnitui-bench-tg-") as folder:
        store = await Store.open(Path(folder) / "bench.db")
        ingest = store.ingest

        async def timed_ingest(items: Sequence[Inbound], **kwargs: Any) -> Any:
            result = await ingest(items, **kwargs)
            now = time.monotonic()
            for item in items:
                stored_at[item.provider_id] = now
            return result

        store.ingest = timed_ingest  # type: ignore[method-assign]
        adapter = TelegramAdapter(cfg, token=lambda: TOKEN)
        hub = Hub(store, [adapter])
        await hub.start()
        try:
            await until(lambda: adapter.status.get("polling") == "up to date", 20)
            app = OmniApp(store, channels=[BOT])
            async with app.run_test(size=(120, 40)):
                for n in range(count + WARMUP):
                    await asyncio.sleep(rng.uniform(0, 0.3))
                    customer = Customer(800_000 + n, f"Customer {n}")
                    text = f"bench message {n}"
                    update_id = peers.text(customer, text)
                    provider = f"{customer.id}:1"
                    await until(lambda p=provider: p in stored_at)  # type: ignore[misc]
                    committed = stored_at[provider]
                    listed = app.inbox.contacts

                    def shown(t: str = text, shown_in: Any = listed) -> bool:
                        return bool(shown_in.contacts) and shown_in.contacts[0].last_preview == t

                    await until(shown)
                    await app.inbox.wait_for_refresh()
                    on_screen = time.monotonic()
                    if n >= WARMUP:
                        at = await served(peers, update_id)
                        in_store.append(committed - at)
                        drawn.append(on_screen - at)
        finally:
            await hub.stop()
            await store.close()
    return in_store, drawn


def summary(values: Sequence[float]) -> tuple[float, float]:
    return quantile(values, 0.5), quantile(values, 0.95)


async def main_async(count: int) -> None:
    import os

    os.environ[TOKEN_ENV] = TOKEN
    rng = random.Random(20261123)
    with PeerThread() as peers:
        bare = await floor(peers, count, rng)
        in_store, drawn = await omnitui(peers, count, rng)
    bare_med, bare_p95 = summary(bare)
    store_med, store_p95 = summary(in_store)
    drawn_med, drawn_p95 = summary(drawn)
    rows = [
        Row(
            f"Telegram: served -> in store, median of {count}",
            ms(store_med),
            f"{ms(bare_med)} (bare get_updates)",
            f"{store_med / bare_med:.1f}x" if bare_med else "",
            "",
        ),
        Row(
            f"Telegram: served -> in store, p95 of {count}",
            ms(store_p95),
            f"{ms(bare_p95)} (bare get_updates)",
            f"{store_p95 / bare_p95:.1f}x" if bare_p95 else "",
            f"< {TARGET * 1000:.0f} ms",
            store_p95 < TARGET,
        ),
        Row(f"Telegram: served -> drawn, median of {count}", ms(drawn_med), "", "", ""),
        Row(
            f"Telegram: served -> drawn, p95 of {count}",
            ms(drawn_p95),
            "",
            "",
            f"< {TARGET * 1000:.0f} ms",
            drawn_p95 < TARGET,
        ),
    ]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{stamp}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{count} updates timed after {WARMUP} not counted"
    )
    print(table(rows))
    print()
    print("- in store, each (ms): " + ", ".join(f"{v * 1000:.0f}" for v in in_store))
    print("- drawn, each (ms): " + ", ".join(f"{v * 1000:.0f}" for v in drawn))
    print("- floor, each (ms): " + ", ".join(f"{v * 1000:.1f}" for v in bare))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, default=20, help="updates timed (default 20)")
    args = parser.parse_args(argv)
    if not SPEC.exists():
        print(f"{SPEC} is missing: the bench needs the shared fixtures", file=sys.stderr)
        return 1
    asyncio.run(main_async(args.updates))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
