"""Key presses while a burst of 1,000 inbound messages lands (DESIGN.md: < 100 ms).

A headless console on a copy of the quick bench store; a task stores 1,000
messages one transaction each (as an adapter delivering them one by one
would), while `j`/`k` presses go to the contact list every 50 ms. A press
counts from the key event to the highlight having moved and the screen
having refreshed. The floor is the same presses with no burst.

With `--rules N` the console's process also runs N automation rules (those of
`bench/rules.py`) on every message as it lands, the way a console that holds
the channels does; it prints how long the rules took to catch up.

    python bench/burst.py [--messages 1000] [--rules 50]
"""

from __future__ import annotations

import argparse
import asyncio
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
import rules as bench_rules  # noqa: E402

from omnitui.app import OmniApp  # noqa: E402
from omnitui.automation import Automation, AutomationSetup  # noqa: E402
from omnitui.domain.models import Channel, ChannelKind, Inbound  # noqa: E402
from omnitui.screens.inbox import InboxScreen  # noqa: E402
from omnitui.store import Store  # noqa: E402

MAIL = Channel(ChannelKind.EMAIL, "burst-mail")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def presses(app: OmniApp, screen: InboxScreen, count: int) -> list[float]:
    """Alternate j and k; time each until the highlight moved and the screen refreshed."""
    from textual import events

    timings: list[float] = []
    for n in range(count):
        key = "j" if n % 2 == 0 else "k"
        before = screen.contacts.highlighted
        started = time.perf_counter()
        app.post_message(events.Key(key, key))
        while screen.contacts.highlighted == before:
            if time.perf_counter() - started > 10:
                raise TimeoutError("a key press was never answered")
            await asyncio.sleep(0.0005)
        await screen.wait_for_refresh()
        timings.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    return timings


async def burst(store: Store, count: int, automation: Automation | None = None) -> float:
    started = time.perf_counter()
    now = time.time()
    for n in range(count):
        item = Inbound(
            MAIL,
            f"burst-{n}",
            f"burst{n % 300}@example.jp",
            f"Burst {n % 300}",
            f"Order {n}: 明日の配達は何時ですか？",
            now + n * 0.001,
            subject="配達",
        )
        await store.ingest([item])
        if automation is not None:
            automation.wake()  # as the hub does when an adapter stored something
    return time.perf_counter() - started


SOURCE = HERE / "out" / "quick.db"


async def run(count: int, rule_count: int) -> None:
    import random

    source = SOURCE
    caught_up = 0.0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "burst.db"
        shutil.copy(source, path)
        store = await Store.open(path)
        automation: Automation | None = None
        runner: asyncio.Task[None] | None = None
        if rule_count:
            await store.add_canned_replies([("m", "Menu", "営業時間は10時から19時です。", "")])
            ruleset = tuple(bench_rules.rules(rule_count, random.Random(15)))
            automation = Automation(
                store, AutomationSetup(rules=ruleset, max_auto_replies_per_day=3), {}
            )
            runner = asyncio.create_task(automation.run())
        app = OmniApp(store, agent_name="Aiko", channels=[MAIL])
        async with app.run_test(size=(120, 40)) as pilot:
            while not isinstance(app.screen, InboxScreen) or app.screen.contact is None:
                await pilot.pause()
            screen = app.screen
            await app.workers.wait_for_complete()
            quiet = await presses(app, screen, 20)
            begun = time.perf_counter()
            task = asyncio.create_task(burst(store, count, automation))
            busy: list[float] = []
            while not task.done():
                busy.extend(await presses(app, screen, 2))
            took = await task
            if automation is not None:
                while await store.pending_automation(limit=1):
                    busy.extend(await presses(app, screen, 2))
                caught_up = time.perf_counter() - begun
        if runner is not None:
            runner.cancel()
        await store.close()
    print(f"burst of {count} messages stored in {took:.1f} s ({count / took:.0f} msg/s)")
    if rule_count:
        print(
            f"{rule_count} automation rules ran on every message; the last one "
            f"{caught_up:.1f} s after the burst began"
        )
    print("| what | median | p95 | max | target |")
    print("|---|---|---|---|---|")
    for label, values in (
        ("key press, quiet (floor)", quiet),
        ("key press during the burst", busy),
    ):
        print(
            f"| {label} | {statistics.median(values) * 1000:.1f} ms | {_p95(values) * 1000:.1f} ms "
            f"| {max(values) * 1000:.1f} ms | < 100 ms |"
        )
    print(f"presses during the burst: {len(busy)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=0)
    args = parser.parse_args()
    if not SOURCE.exists():  # built before the loop: the build runs one of its own
        build_store.main([str(SOURCE), "--quick"])
    asyncio.run(run(args.messages, args.rules))


if __name__ == "__main__":
    main()
