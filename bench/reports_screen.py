"""The reports screen (`S`) opening on the 1,000,000-message store (issue 16: under 0.5 s).

A headless console on `bench/out/bench.db` (built by `bench/build_store.py`;
a store from before migration 0009 is migrated when first opened, once, and
that is not timed). Each run presses `S` and times until the screen has drawn
the period's figures (7 days, then 30 days with `3`), and closes it with esc.
The floor is the same three store reads and `build_report` alone.

    python bench/reports_screen.py [--store PATH] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from omnitui.app import OmniApp  # noqa: E402
from omnitui.config import local_timezone  # noqa: E402
from omnitui.domain.report import build_report  # noqa: E402
from omnitui.screens.inbox import InboxScreen  # noqa: E402
from omnitui.screens.reports import ReportsScreen, period_bounds  # noqa: E402
from omnitui.store import Store  # noqa: E402


async def floor(store: Store, days: int) -> float:
    started = time.perf_counter()
    now = store.now()
    since, until = period_bounds(now, days, local_timezone())
    build_report(
        await store.conversations_between(since, until),
        await store.message_hours(since, until),
        await store.waiting_now(),
        since=since,
        until=until,
        now=now,
        timezone=local_timezone(),
    )
    return time.perf_counter() - started


async def run(path: Path, runs: int) -> None:
    migrated = time.perf_counter()
    store = await Store.open(path)
    opened = time.perf_counter() - migrated
    app = OmniApp(store, agent_name="Aiko", channels=[])
    week: list[float] = []
    month: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, InboxScreen) or app.screen.contact is None:
            await pilot.pause()
        await app.workers.wait_for_complete()
        for _ in range(runs):
            started = time.perf_counter()
            await pilot.press("S")
            while not isinstance(app.screen, ReportsScreen) or app.screen.report is None:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            screen = app.screen
            await screen.wait_for_refresh()
            week.append(time.perf_counter() - started)
            before = screen.report
            started = time.perf_counter()
            await pilot.press("3")
            while screen.report is before:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            await screen.wait_for_refresh()
            month.append(time.perf_counter() - started)
            await pilot.press("escape")
            while isinstance(app.screen, ReportsScreen):
                await pilot.pause()
    floors = [await floor(store, 7) for _ in range(runs)]
    await store.close()
    print(f"store {path} opened in {opened:.2f} s")
    print("| what | median | max | target |")
    print("|---|---|---|---|")
    for label, values in (
        ("S: reports screen drawn, last 7 days", week),
        ("3: last 30 days drawn", month),
        ("floor: the store's reads and build_report, 7 days", floors),
    ):
        print(
            f"| {label} | {statistics.median(values) * 1000:.0f} ms "
            f"| {max(values) * 1000:.0f} ms | < 500 ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=HERE / "out" / "bench.db")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.store, args.runs))


if __name__ == "__main__":
    main()
