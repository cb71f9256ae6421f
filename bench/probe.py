"""What `bench/run.py` runs in a fresh process, one measurement per process.

    python bench/probe.py hello            # hello-world Textual app, first frame
    python bench/probe.py omni STORE       # the console on STORE, first frame
    python bench/probe.py command CONFIG   # `omnitui --config CONFIG`, first frame
    python bench/probe.py walk STORE       # move through contacts, time each one

Results go as JSON lines to the file descriptor named by `BENCH_FD` (stdout
if unset), never through `print`, which Textual captures while it runs.
Times are `time.perf_counter()` readings: CLOCK_MONOTONIC on Linux, so the
parent process can compare them with its own.
"""

from __future__ import annotations

import os
import sys
import time

T_PROBE = time.perf_counter()  # the probe's first line: interpreter start-up is done

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

CHANNEL_ACCOUNTS = (("email", "bench-mail"), ("telegram", "bench-telegram"), ("sms", "bench-sms"))
SIZE = (120, 40)


def report(**fields: Any) -> None:
    """Send one JSON line to the parent."""
    line = (json.dumps(fields) + "\n").encode()
    fd = int(os.environ.get("BENCH_FD", "1"))
    os.write(fd, line)


def rss_kb() -> dict[str, int]:
    """This process's resident memory now (VmRSS) and at its peak (VmHWM), in KB."""
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


# -- start-up -----------------------------------------------------------------


async def open_bench_store(spec: str) -> Any:
    """The store at `spec`: a file, or a postgresql:// URL (password in OMNITUI_BENCH_PG_PASSWORD)."""
    if spec.startswith("postgresql://"):
        from omnitui.store.postgres import PostgresStore

        return await PostgresStore.open_url(
            spec, password=os.environ.get("OMNITUI_BENCH_PG_PASSWORD")
        )
    from omnitui.store import Store

    return await Store.open(Path(spec))


def hello() -> None:
    """The floor: a hello-world Textual app's first frame."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    t_import = time.perf_counter()

    class Hello(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("Hello, world!")

        def on_mount(self) -> None:
            self.call_after_refresh(self.first_frame)

        def first_frame(self) -> None:
            report(
                event="frame",
                t=time.perf_counter(),
                phases={"probe": T_PROBE, "imports": t_import},
                **rss_kb(),
            )
            self.exit()

    Hello().run(headless=True, size=SIZE)


def report_first_inbox_frame(phases: dict[str, float]) -> None:
    """Report, then quit, at the first frame after `InboxScreen.on_mount` has
    finished, that is with the contact list filled."""
    from omnitui.screens.inbox import InboxScreen

    original = InboxScreen.on_mount

    async def on_mount(screen: InboxScreen) -> None:
        phases["app mounted"] = time.perf_counter()
        await original(screen)
        phases["inbox filled"] = time.perf_counter()

        def first_frame() -> None:
            report(
                event="frame",
                t=time.perf_counter(),
                phases=phases,
                contacts=len(screen.contacts.contacts),
                **rss_kb(),
            )
            screen.app.exit()

        screen.call_after_refresh(first_frame)

    # Wrap the screen's own handler (Textual looks handlers up in the class dict).
    setattr(InboxScreen, "on_mount", on_mount)  # noqa: B010


async def omni(path: str) -> None:
    """The console on the bench store, built as `omnitui.cli._console` builds it."""
    from omnitui.app import OmniApp
    from omnitui.domain.models import Channel, ChannelKind
    from omnitui.hub import Hub

    phases = {"probe": T_PROBE, "imports": time.perf_counter()}
    report_first_inbox_frame(phases)
    store = await open_bench_store(path)
    await store.canned_replies()  # run_console checks for canned replies
    phases["store open"] = time.perf_counter()
    hub = Hub(store, [])
    await hub.start()
    channels = [Channel(ChannelKind(kind), account) for kind, account in CHANNEL_ACCOUNTS]
    app = OmniApp(store, agent_name="Aiko", channels=channels)
    try:
        await app.run_async(headless=True, size=SIZE)
    finally:
        await hub.stop()
        await store.close()


def command(config: Path) -> int:
    """The real `omnitui --config CONFIG` (settings, store, hub, app), headless."""
    from omnitui import cli
    from omnitui.app import OmniApp

    phases = {"probe": T_PROBE, "imports": time.perf_counter()}
    report_first_inbox_frame(phases)
    run_async = OmniApp.run_async

    async def headless_run(app: OmniApp, **_: Any) -> None:
        await run_async(app, headless=True, size=SIZE)

    setattr(OmniApp, "run_async", headless_run)  # noqa: B010
    return cli.main(["--config", str(config)])


# -- next contact and memory --------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def walk(path: str, presses: int, total: int) -> None:
    """Press `j` in the contact list; time each press until its thread is drawn.

    A press is sent as a key event to the app (what the terminal driver does);
    `Pilot.press` and `Pilot.pause` are not used for timing because each sleeps
    at least 20 ms by design (`wait_for_idle`). The press is done when
    `InboxScreen.contact` is the highlighted contact, the thread view holds its
    messages, and the screen has refreshed after that.
    """
    from textual import events
    from textual.screen import Screen

    from omnitui.app import OmniApp
    from omnitui.domain.models import Channel, ChannelKind
    from omnitui.screens.inbox import InboxScreen
    from omnitui.widgets.thread_view import ThreadView

    store = await open_bench_store(path)
    # The floor: the thread query alone, on the contacts the walk will visit.
    first_page = await store.list_contacts(limit=presses + 1)
    floor: list[float] = []
    for summary in first_page[1:]:
        started = time.perf_counter()
        await store.thread_page(summary.id, limit=50)
        floor.append(time.perf_counter() - started)

    # Time every store call the console makes during the walk.
    calls: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                calls.setdefault(name, []).append(time.perf_counter() - started)

        return wrapper

    for name in (
        "get_contact",
        "thread_page",
        "contact_channels",
        "reply_subject",
        "list_contacts",
        "changes_since",
    ):
        setattr(store, name, timed(name, getattr(store, name)))

    # Where a press's time goes on the UI side: wrap the drawing steps.
    drawing: dict[str, float] = {}

    def timed_sync(cls: type, name: str, label: str) -> None:
        original = cls.__dict__.get(name)
        if original is None:  # renamed upstream: leave that part out
            return

        def wrapper(self: object, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                drawing[label] = drawing.get(label, 0.0) + time.perf_counter() - started

        setattr(cls, name, wrapper)

    timed_sync(ThreadView, "_rebuild", "ThreadView._rebuild")
    timed_sync(Screen, "_refresh_layout", "Screen._refresh_layout")
    timed_sync(Screen, "_compositor_refresh", "Screen._compositor_refresh")
    per_press: dict[str, list[float]] = {}

    channels = [Channel(ChannelKind(kind), account) for kind, account in CHANNEL_ACCOUNTS]
    app = OmniApp(store, agent_name="Aiko", channels=channels)
    shown: list[float] = []  # key sent -> thread drawn
    settled: list[float] = []  # key sent -> the contact's worker done (composer too)
    async with app.run_test(size=SIZE) as pilot:
        while not isinstance(app.screen, InboxScreen) or app.screen.contact is None:
            await pilot.pause()
        screen = app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        report(event="rss", at="first frame", **rss_kb())
        for n in range(total):
            contacts = screen.contacts
            index = contacts.highlighted or 0
            if index + 1 >= len(contacts.contacts):
                break
            want = contacts.contacts[index + 1].id
            drawing.clear()
            started = time.perf_counter()
            app.post_message(events.Key("j", "j"))
            while not (
                screen.contact is not None
                and screen.contact.id == want
                and contacts.current_contact_id == want
                and screen.thread.messages
                and screen.thread.messages[-1].contact_id == want
            ):
                if time.perf_counter() - started > 30:
                    raise TimeoutError(f"contact {want} was not shown after a press")
                await asyncio.sleep(0.0005)
            await screen.wait_for_refresh()
            done = time.perf_counter()
            spent = dict(drawing)
            await app.workers.wait_for_complete()
            worker_done = time.perf_counter()
            if n < presses:
                shown.append(done - started)
                settled.append(worker_done - started)
                for label, seconds in spent.items():
                    per_press.setdefault(label, []).append(seconds)
            # A person reads before the next press; let the app go idle.
            await pilot.pause()
        report(event="rss", at=f"after {total} contacts", **rss_kb())
        report(
            event="walk",
            shown=shown,
            settled=settled,
            floor=floor,
            drawing={
                label: {"median": statistics.median(v), "p95": _quantile(v, 0.95)}
                for label, v in per_press.items()
            },
            calls={
                name: {
                    "count": len(v),
                    "median": statistics.median(v),
                    "p95": _quantile(v, 0.95),
                    "max": max(v),
                }
                for name, v in calls.items()
                if v
            },
        )
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["hello", "omni", "command", "walk"])
    parser.add_argument(
        "path", nargs="?", help="the store: a file or a postgresql:// URL (a config for `command`)"
    )
    parser.add_argument("--presses", type=int, default=50)
    parser.add_argument("--total", type=int, default=200)
    args = parser.parse_args()
    if args.what != "hello":  # the console as `omnitui` runs it; the floor is plain Textual
        from omnitui.cli import use_frame_rate

        use_frame_rate()
    if args.what == "hello":
        hello()
    elif args.what == "omni":
        asyncio.run(omni(args.path))
    elif args.what == "command":
        sys.exit(command(Path(args.path)))
    else:
        asyncio.run(walk(args.path, args.presses, max(args.total, args.presses)))


if __name__ == "__main__":
    main()
