"""The local API under a script's flood while an agent works in the console that serves it.

A headless console on a copy of the quick bench store runs the channel
runner's services, so the local API (`LocalApi`, as `runner_services` builds
it) answers in the console's own event loop, as in a shop where the first
console runs the channels. A script in another process floods it with
`--clients` connections at once for `--seconds`: searches (`GET
/contacts?q=`), threads (`GET /contacts/{id}/messages`) and tag changes
(`PATCH /contacts/{id}`), each answered before the next. Meanwhile `j`/`k`
go to the contact list every 50 ms, timed as `bench/burst.py` times them
(target under 100 ms). The floor is the same presses with nothing going on.

    python bench/api_console.py [--clients 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
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

from omnitui.adapters.api import LocalApi  # noqa: E402
from omnitui.app import OmniApp  # noqa: E402
from omnitui.config import ApiConfig, HostPort  # noqa: E402
from omnitui.hub import Hub  # noqa: E402
from omnitui.screens.inbox import InboxScreen  # noqa: E402
from omnitui.store import Store  # noqa: E402
from tests.peers.dovecot import free_port  # noqa: E402

TOKEN_ENV = "OMNITUI_BENCH_API_TOKEN"
QUERIES = ["order", "予約", "配達", "Olivia", "佐藤", "delivery", "ありがとう", "the"]


def flood_main(base: str, clients: int, seconds: float, contacts: list[int]) -> None:
    """The script, in its own process: every client asks, waits for the answer, asks again."""
    import aiohttp

    async def client(session: aiohttp.ClientSession, n: int, until: float) -> list[float]:
        taken: list[float] = []
        step = n
        while time.perf_counter() < until:
            step += clients
            contact = contacts[step % len(contacts)]
            started = time.perf_counter()
            if step % 3 == 0:
                query = QUERIES[step % len(QUERIES)]
                async with session.get("/contacts", params={"q": query}) as answer:
                    await answer.read()
            elif step % 3 == 1:
                async with session.get(
                    f"/contacts/{contact}/messages", params={"limit": "20"}
                ) as answer:
                    await answer.read()
            else:
                change = {"add_tags": ["crm"]} if step % 2 else {"remove_tags": ["crm"]}
                async with session.patch(f"/contacts/{contact}", json=change) as answer:
                    await answer.read()
            assert answer.status == 200, answer.status
            taken.append(time.perf_counter() - started)
        return taken

    async def flood() -> None:
        headers = {"Authorization": f"Bearer {os.environ[TOKEN_ENV]}"}
        until = time.perf_counter() + seconds
        async with aiohttp.ClientSession(base, headers=headers) as session:
            done = await asyncio.gather(*(client(session, n, until) for n in range(clients)))
        taken = [t for one in done for t in one]
        print(json.dumps({"requests": len(taken), "seconds": seconds, "times": taken}))

    asyncio.run(flood())


async def run(clients: int, seconds: float) -> None:
    token = secrets.token_urlsafe(24)
    os.environ[TOKEN_ENV] = token
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "api.db"
        shutil.copy(SOURCE, path)
        store = await Store.open(path)
        port = free_port()
        api = LocalApi(ApiConfig(listen=HostPort("127.0.0.1", port), token_env=TOKEN_ENV), store)
        hub = Hub(store, [], services=[api])
        contacts = [c.id for c in (await store.list_contacts(limit=200))]
        app = OmniApp(store, agent_name="Aiko")
        async with app.run_test(size=(120, 40)) as pilot:
            while not isinstance(app.screen, InboxScreen) or app.screen.contact is None:
                await pilot.pause()
            screen = app.screen
            await app.workers.wait_for_complete()
            quiet = await presses(app, screen, 30)
            await hub.start()
            await asyncio.wait_for(api.listening.wait(), 30)
            script = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--flood",
                f"http://127.0.0.1:{port}",
                str(clients),
                str(seconds),
                ",".join(map(str, contacts)),
                stdout=asyncio.subprocess.PIPE,
            )
            busy: list[float] = []
            waiting = asyncio.create_task(script.communicate())
            await asyncio.sleep(0.5)  # the script connects
            while not waiting.done():
                busy.extend(await presses(app, screen, 2))
            out, _ = await waiting
            await hub.stop()
        await store.close()
    flood = json.loads(out)
    times = flood["times"]
    print(
        f"the script: {clients} clients for {seconds:.0f} s, {flood['requests']} requests "
        f"answered ({flood['requests'] / seconds:.0f}/s), each "
        f"median {statistics.median(times) * 1000:.1f} ms, p95 {_p95(times) * 1000:.1f} ms"
    )
    print("| what | median / p95 / max | target |")
    print("|---|---|---|")
    for label, values in (
        ("key press, quiet (floor)", quiet),
        (f"key press while {clients} clients flood the API", busy),
    ):
        print(
            f"| {label} ({len(values)}) | {statistics.median(values) * 1000:.1f} / "
            f"{_p95(values) * 1000:.1f} / {max(values) * 1000:.1f} ms | < 100 ms |"
        )


def main() -> None:
    if "--flood" in sys.argv:
        at = sys.argv.index("--flood")
        base, clients, seconds, contacts = sys.argv[at + 1 : at + 5]
        flood_main(base, int(clients), float(seconds), [int(c) for c in contacts.split(",")])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if not SOURCE.exists():
        build_store.main([str(SOURCE), "--quick"])
    asyncio.run(run(args.clients, args.seconds))


if __name__ == "__main__":
    main()
