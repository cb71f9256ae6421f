"""Channels as plugins (issue 20): what a `[[plugin]]` channel costs at start-up,
and how fast the example web form answers a post once it is stored.

    pip install ./docs/plugins/webform
    python bench/plugins.py [--posts 500] [--clients 8] [--runs 7]

1. Start-up: a fresh Python process reads a config from the cache of checked
   configs, as the console does, then `build_adapters` + `configured_channels`
   (what the console does before its first frame), with one `[[plugin]]` web
   form channel and without any: median of `--runs`. The difference is
   finding the entry points, importing the plugin (and pydantic, which its
   options model needs: the cached config did not load it) and checking its
   keys.
2. Posts: the real `Hub` runs the web form channel on a fresh SQLite store;
   an aiohttp client posts `--posts` forms one after the other (each answered
   only once stored), then the same number from `--clients` clients at once.
   The floor is the same client against a bare aiohttp server on loopback
   that parses the form and answers, storing nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from omnitui.cli import build_adapters
from omnitui.config import parse
from omnitui.hub import Hub
from omnitui.store import Store

SECRET_ENV = "OMNITUI_BENCH_WEBFORM_SECRET"
SECRET = "bench-secret"

STARTUP = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from omnitui import config
    from omnitui.adapters.runner import configured_channels
    from omnitui.cli import build_adapters
    # As the console reads it: from the cache of checked configs (no pydantic).
    settings = config.load(Path(sys.argv[1]), cache=True)
    ready = time.perf_counter()
    adapters, notes = build_adapters(settings)
    channels = configured_channels(settings)
    assert not notes, notes
    print((time.perf_counter() - ready) * 1000)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webform(port: int) -> str:
    return (
        f'[[plugin]]\nadapter = "webform"\nname = "web-form"\nlisten = "127.0.0.1:{port}"\n'
        f'secret_env = "{SECRET_ENV}"\n'
    )


def startup(runs: int, folder: Path) -> tuple[float, float]:
    """Median ms of build_adapters + configured_channels: without, with a plugin."""
    plain = folder / "plain.toml"
    plain.write_text('[agent]\nname = "Aiko"\n', encoding="utf-8")
    plugged = folder / "plugged.toml"
    plugged.write_text('[agent]\nname = "Aiko"\n\n' + webform(free_port()), encoding="utf-8")
    env = {**os.environ, SECRET_ENV: SECRET, "HOME": str(folder)}
    env.pop("XDG_CACHE_HOME", None)
    figures: dict[Path, list[float]] = {plain: [], plugged: []}
    for config in figures:  # the first run checks the config and caches it
        subprocess.run(
            [sys.executable, "-c", STARTUP, str(config)], capture_output=True, check=True, env=env
        )
    for _ in range(runs):
        for config, out in figures.items():
            done = subprocess.run(
                [sys.executable, "-c", STARTUP, str(config)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            out.append(float(done.stdout.strip()))
    return statistics.median(figures[plain]), statistics.median(figures[plugged])


def form(n: int) -> dict[str, str]:
    return {"name": f"Guest {n}", "email": f"guest{n}@example.com", "message": f"Question {n}"}


async def timed_posts(url: str, start: int, count: int, clients: int) -> list[float]:
    """ms per post (to its answer), `clients` posting at once."""
    times: list[float] = []
    todo = iter(range(start, start + count))
    async with aiohttp.ClientSession() as session:

        async def client() -> None:
            for n in todo:
                began = time.perf_counter()
                async with session.post(
                    url, data=form(n), headers={"X-Webform-Secret": SECRET}
                ) as answer:
                    await answer.read()
                    assert answer.status == 200, answer.status
                times.append((time.perf_counter() - began) * 1000)

        await asyncio.gather(*(client() for _ in range(clients)))
    return times


async def floor_server(port: int) -> web.AppRunner:
    async def handle(request: web.Request) -> web.Response:
        fields = await request.post()
        assert request.headers.get("X-Webform-Secret") == SECRET and fields.get("email")
        return web.json_response({"stored": True, "id": "floor"})

    app = web.Application()
    app.router.add_post("/form", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def quantiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


async def posts(count: int, clients: int, folder: Path) -> dict[str, tuple[float, float, float]]:
    """(median ms, p95 ms, posts a second) for the floor and the web form, both ways."""
    out: dict[str, tuple[float, float, float]] = {}
    port = free_port()
    runner = await floor_server(port)
    url = f"http://127.0.0.1:{port}/form"
    try:
        await timed_posts(url, 0, 20, 1)  # warm up
        for name, at_once in (("floor, one at a time", 1), (f"floor, {clients} at once", clients)):
            began = time.perf_counter()
            times = await timed_posts(url, 0, count, at_once)
            out[name] = (*quantiles(times), count / (time.perf_counter() - began))
    finally:
        await runner.cleanup()

    os.environ[SECRET_ENV] = SECRET
    port = free_port()
    settings = parse(webform(port), folder / "config.toml")
    store = await Store.open(folder / "shop.db")
    adapters, _ = build_adapters(settings, store)
    hub = Hub(store, adapters)
    await hub.start()
    url = f"http://127.0.0.1:{port}/form"
    try:
        for _ in range(200):
            try:
                await timed_posts(url, 10_000_000, 20, 1)  # warm up (and listening)
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        for name, at_once, start in (
            ("web form, one at a time", 1, 0),
            (f"web form, {clients} at once", clients, count),
        ):
            began = time.perf_counter()
            times = await timed_posts(url, start, count, at_once)
            out[name] = (*quantiles(times), count / (time.perf_counter() - began))
        stored = await store.count_contacts()
        assert stored >= 2 * count, stored
    finally:
        await hub.stop()
        await store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="omnitui-bench-plugins-") as name:
        folder = Path(name)
        plain, plugged = startup(args.runs, folder)
        print("\n| what | figure | floor | ratio / cost |\n|---|---|---|---|")
        print(
            f"| build_adapters + configured_channels, one [[plugin]] web form (median of "
            f"{args.runs}) | {plugged:.1f} ms | {plain:.1f} ms (no channel) | "
            f"+{plugged - plain:.1f} ms |"
        )
        figures = asyncio.run(posts(args.posts, args.clients, folder))
        for way in ("one at a time", f"{args.clients} at once"):
            median, p95, rate = figures[f"web form, {way}"]
            f_median, f_p95, f_rate = figures[f"floor, {way}"]
            print(
                f"| post to stored answer, {way}: median / p95 ({args.posts} posts) | "
                f"{median:.1f} / {p95:.1f} ms | {f_median:.1f} / {f_p95:.1f} ms | "
                f"{median / f_median:.1f}x / {p95 / f_p95:.1f}x |"
            )
            print(f"| posts a second, {way} | {rate:.0f} | {f_rate:.0f} | {rate / f_rate:.2f}x |")


if __name__ == "__main__":
    main()
