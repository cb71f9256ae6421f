"""Webhooks out: 1,000 events delivered to a loopback CRM while the console runs the channels.

A headless console on a copy of the quick bench store holds the channels, so
the webhook sender (`WebhooksOut`, as `runner_services` builds it) runs in its
event loop. 1,000 customer messages land (one transaction each, as an
adapter stores them; 300 customers), each queueing a signed
`message.received` event that is POSTed to a receiver in another process
(aiohttp, checking every signature). Meanwhile `j`/`k` go to the contact list
every 50 ms, timed as `bench/burst.py` times them (target under 100 ms).

Floors, from the same run: the same presses with nothing going on, and the
receiver's rate for the same 1,000 signed bodies POSTed by a bare aiohttp
client with the sender's parallelism (4 at a time), no store.

    python bench/webhooks.py [--events 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import build_store  # noqa: E402
from burst import SOURCE, _p95, presses  # noqa: E402

from omnitui.adapters.webhooks_out import PARALLEL, WebhooksOut, signature  # noqa: E402
from omnitui.app import OmniApp  # noqa: E402
from omnitui.config import WebhookConfig  # noqa: E402
from omnitui.domain.models import Channel, ChannelKind, Inbound  # noqa: E402
from omnitui.hub import Hub  # noqa: E402
from omnitui.screens.inbox import InboxScreen  # noqa: E402
from omnitui.store import Store  # noqa: E402

BOT = Channel(ChannelKind.TELEGRAM, "bench-bot")
SECRET = "bench-webhook-secret"
SECRET_ENV = "OMNITUI_BENCH_WEBHOOK_SECRET"


def receiver_main() -> None:
    """The CRM, in its own process: checks each signature, counts, answers 200."""
    from aiohttp import web

    got = 0
    bad = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal got, bad
        raw = await request.read()
        good = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-OmniTUI-Signature", ""), good):
            bad += 1
            return web.Response(status=401)
        got += 1
        return web.Response(status=200)

    async def count(_: web.Request) -> web.Response:
        return web.Response(text=f"{got} {bad}")

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/hook", hook)
        app.router.add_get("/count", count)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


async def start_receiver() -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--receiver", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    port = int((await process.stdout.readline()).decode())
    return process, f"http://127.0.0.1:{port}"


async def received(base: str) -> tuple[int, int]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{base}/count") as answer:
        got, bad = (await answer.text()).split()
    return int(got), int(bad)


async def bare_rate(base: str, bodies: list[bytes]) -> float:
    """The floor: the same signed bodies, POSTed by a bare client, PARALLEL at a time."""
    import aiohttp

    queue = list(bodies)

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            body = queue.pop()
            headers = {
                "Content-Type": "application/json",
                "X-OmniTUI-Signature": signature(SECRET, body),
            }
            async with session.post(f"{base}/hook", data=body, headers=headers) as answer:
                await answer.read()

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(PARALLEL)))
    return len(bodies) / (time.perf_counter() - started)


async def commit_rate(store: Store, count: int) -> float:
    """The other floor: the store's write per delivery alone (`webhook_delivered`,
    one transaction each, PARALLEL at a time), without any HTTP."""
    ids = [
        int(r["id"]) for r in await store._rows("SELECT id FROM webhook_delivery LIMIT ?", (count,))
    ]

    async def worker() -> None:
        while ids:
            await store.webhook_delivered(ids.pop(), 200)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(PARALLEL)))
    return count / (time.perf_counter() - started)


async def arrivals(store: Store, count: int, wave: str) -> float:
    started = time.perf_counter()
    now = time.time()
    for n in range(count):
        item = Inbound(
            BOT,
            f"{wave}-{n}",
            str(9_000_000 + n % 300),
            f"Webhook {n % 300}",
            f"Order {n}: 明日の配達は何時ですか？",
            now + n * 0.001,
        )
        await store.ingest([item])
    return time.perf_counter() - started


async def run(count: int) -> None:
    os.environ[SECRET_ENV] = SECRET
    receiver, base = await start_receiver()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "webhooks.db"
            shutil.copy(SOURCE, path)
            store = await Store.open(path)
            hook = WebhookConfig(
                url=f"{base}/hook", events=["message.received"], secret_env=SECRET_ENV
            )
            hub = Hub(store, [], services=[WebhooksOut(store, [hook])])
            app = OmniApp(store, agent_name="Aiko", channels=[BOT])
            async with app.run_test(size=(120, 40)) as pilot:
                while not isinstance(app.screen, InboxScreen) or app.screen.contact is None:
                    await pilot.pause()
                screen = app.screen
                await app.workers.wait_for_complete()
                quiet = await presses(app, screen, 20)
                # Wave 0, the floor for wave 1: the same arrivals with no webhook.
                landing = asyncio.create_task(arrivals(store, count, "wh0"))
                plain: list[float] = []
                while not landing.done():
                    plain.extend(await presses(app, screen, 2))
                plain_in = await landing
                await hub.start()
                while not await store.webhook_states():  # noqa: ASYNC110 (the service's first write)
                    await asyncio.sleep(0.01)
                begun = time.perf_counter()
                landing = asyncio.create_task(arrivals(store, count, "wh1"))
                busy: list[float] = []
                while (await received(base))[0] < count:
                    busy.extend(await presses(app, screen, 2))
                delivered_in = time.perf_counter() - begun
                stored_in = await landing
                lag = begun + delivered_in - (begun + stored_in)
                # Then 1,000 events queued at once (one transaction): the sender's own pace.
                await hub.stop()
                now = time.time()
                await store.ingest(
                    [
                        Inbound(
                            BOT,
                            f"wh2-{n}",
                            str(9_000_000 + n % 300),
                            f"Webhook {n % 300}",
                            f"Second wave {n}",
                            now + n * 0.001,
                        )
                        for n in range(count)
                    ]
                )
                await hub.start()
                begun = time.perf_counter()
                drain: list[float] = []
                while (await received(base))[0] < 2 * count:
                    drain.extend(await presses(app, screen, 2))
                drained_in = time.perf_counter() - begun
                await hub.stop()
            rows = await store._rows(
                "SELECT body FROM webhook_delivery ORDER BY id LIMIT ?", (count,)
            )
            bodies = [str(r["body"]).encode() for r in rows]
            states = await store.webhook_states()
            commits = await commit_rate(store, count)
            await store.close()
        got, bad = await received(base)
        floor = await bare_rate(base, bodies)
        after, _ = await received(base)
        assert after == got + len(bodies), "the bare client's POSTs did not all arrive"
    finally:
        receiver.terminate()
        await receiver.wait()
    rate = count / drained_in
    print(
        f"wave 0: {count} customer messages stored with no webhook in {plain_in:.2f} s "
        f"({count / plain_in:.0f}/s)"
    )
    print(
        f"wave 1: {count} customer messages stored one transaction each in {stored_in:.2f} s "
        f"({count / stored_in:.0f}/s), one event each; the last delivered {lag * 1000:.0f} ms "
        "after the last was stored"
    )
    print(
        f"wave 2: {count} events queued in one transaction, delivered in {drained_in:.2f} s; "
        f"the receiver took {got} signed POSTs ({2 * count} events), refused {bad}; "
        f"{states[0].delivered} recorded delivered"
    )
    print("| what | figure | floor | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| deliveries per second (wave 2) | {rate:.0f}/s | {floor:.0f}/s (bare aiohttp client, "
        f"{PARALLEL} at a time, no store) | {rate / floor:.2f} | |"
    )
    print(
        f"| deliveries per second (wave 2) | {rate:.0f}/s | {commits:.0f}/s (the store's "
        f"commit per delivery alone, no HTTP) | {rate / commits:.2f} | |"
    )
    for label, values in (
        ("key press, quiet (floor)", quiet),
        ("key press while messages land, no webhook (wave 0, floor)", plain),
        ("key press while messages land and are delivered (wave 1)", busy),
        ("key press while 1,000 queued events are delivered (wave 2)", drain),
    ):
        print(
            f"| {label}: median / p95 / max of {len(values)} | "
            f"{statistics.median(values) * 1000:.1f} / {_p95(values) * 1000:.1f} / "
            f"{max(values) * 1000:.1f} ms | | | < 100 ms |"
        )


def main() -> None:
    if "--receiver" in sys.argv:
        receiver_main()
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    if not SOURCE.exists():
        build_store.main([str(SOURCE), "--quick"])
    asyncio.run(run(args.events))


if __name__ == "__main__":
    main()
