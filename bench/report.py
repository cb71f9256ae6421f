"""`omnitui report` on the 1,000,000-message store (DESIGN.md / issue 16: under 1 s).

    python bench/report.py [--store PATH] [--runs 7]

Measures, on `bench/out/bench.db` (built by `bench/build_store.py`):

- the report in one process (`report_commands.read_report`: the store's three
  reads, then `domain.report.build_report`) for the last 7 days, the last 30
  days and the whole history, with business hours and wall-clock; the floor
  is the three store reads alone;
- the real command, `python -m omnitui.cli report --format json` and the text
  summary, from spawn to exit; the floor is `python -m omnitui.cli --version`;
- `build_report` alone on 200,000 synthetic conversations (a shop whose
  million messages were spread over many resolved conversations).

A store built before the conversations table (migration 0009) is migrated,
and its conversations filled from its messages, when first opened: that
open is timed once and printed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omnitui.domain.hours import business_hours
from omnitui.domain.report import build_report
from omnitui.report_commands import read_report
from omnitui.store import Store
from omnitui.store.records import ConversationRecord, HourCount

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DAY = 86_400.0
WEEKDAYS = {d: ["10:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
HOURS_TOML = (
    '[hours]\ntimezone = "Asia/Tokyo"\n'
    + "".join(f'{d} = ["10:00-19:00"]\n' for d in WEEKDAYS)
    + 'sat = ["10:00-15:00"]\nholidays = "JP"\n'
)


def revision(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else "?"
    finally:
        conn.close()


def counts(path: Path) -> tuple[float, int, int]:
    """The newest message's time, and the rows of the two tables reports read."""
    conn = sqlite3.connect(path)
    try:
        newest = conn.execute("SELECT max(sent_at) FROM message").fetchone()[0]
        conversations = conn.execute("SELECT count(*) FROM conversation").fetchone()[0]
        hour_rows = conn.execute("SELECT count(*) FROM message_hour").fetchone()[0]
    finally:
        conn.close()
    return float(newest or time.time()), int(conversations), int(hour_rows)


async def migrate(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


async def in_process(path: Path, runs: int) -> None:
    hours = business_hours("Asia/Tokyo", dict(WEEKDAYS, sat=["10:00-15:00"]), "JP")
    store = await Store.open(path)
    try:
        newest, conversations, hour_rows = counts(path)
        print(f"conversations table: {conversations:,} rows; message_hour: {hour_rows:,} rows")
        now = newest + 600
        periods = {"7 days": 7 * DAY, "30 days": 30 * DAY, "whole history": 800 * DAY}
        print(f"\n{'report (in process)':34} {'median':>11} {'floor':>11}   (runs: {runs})")
        for label, span in periods.items():
            since, until = now - span, now
            floor: list[float] = []
            for calendar in (False, True):
                took: list[float] = []
                for n in range(runs + 1):
                    t0 = time.perf_counter()
                    report = await read_report(
                        store, since, until, now=now, business=hours, calendar=calendar
                    )
                    elapsed = time.perf_counter() - t0
                    t0 = time.perf_counter()
                    await store.conversations_between(since, until)
                    await store.message_hours(since, until)
                    await store.waiting_now()
                    if n:  # the first run warms the page cache
                        took.append(elapsed)
                        floor.append(time.perf_counter() - t0)
                how = "wall-clock" if calendar else "business hours"
                print(
                    f"{label + ', ' + how:34} {median_ms(took)} {median_ms(floor)}"
                    f"   ({report.total.conversations:,} conversations, "
                    f"{report.total.messages_in + report.total.messages_out:,} messages)"
                )
    finally:
        await store.close()


def command(path: Path, runs: int) -> None:
    config = OUT / "report.toml"
    config.write_text(f'[store]\npath = "{path}"\n\n{HOURS_TOML}', encoding="utf-8")
    base = [sys.executable, "-m", "omnitui.cli", "--config", str(config)]
    cases = {
        "omnitui --version (floor)": [*base, "--version"],
        "omnitui report --format json": [*base, "report", "--format", "json"],
        "omnitui report (text)": [*base, "report"],
        "omnitui report --since 800d --format json": [
            *base,
            "report",
            "--since",
            "800d",
            "--format",
            "json",
        ],
    }
    print(f"\n{'the real command':44} {'median':>11}   (runs: {runs}, spawn to exit)")
    for label, argv in cases.items():
        took: list[float] = []
        for n in range(runs + 1):
            t0 = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, check=False)
            if done.returncode:
                print(f"{label}: failed: {done.stderr.decode()[-300:]}")
                break
            if n:
                took.append(time.perf_counter() - t0)
        if took:
            print(f"{label:44} {median_ms(took)}")


def synthetic(runs: int) -> None:
    """build_report alone on 200,000 conversations over a year."""
    rng = random.Random(16)
    start = 1_765_000_000.0
    records = []
    for n in range(200_000):
        at = start + rng.random() * 365 * DAY
        first = at + rng.expovariate(1 / 3600)
        records.append(
            ConversationRecord(
                id=n,
                contact_id=n % 5000,
                kind=rng.choice(("email", "telegram", "sms")),
                account="shop",
                started_at=at,
                first_response_at=first,
                first_response_by=rng.choice(("Aiko", "Ken", "Mika")),
                resolved_at=first + rng.expovariate(1 / 7200),
                assignee=None,
                messages_in=3,
                messages_out=2,
                automatic_out=0,
                csat_rating=rng.choice((None, 3, 4, 5)),
                csat_at=first + 9000,
                tags=("vip",) if n % 7 == 0 else (),
            )
        )
    hours = [HourCount(int(start // 3600) + h, "email", "in", "", 3) for h in range(0, 365 * 24, 1)]
    business = business_hours("Asia/Tokyo", dict(WEEKDAYS), "JP")
    print(f"\n{'build_report alone, 200,000 conversations':44} {'median':>11}")
    for calendar in (False, True):
        took: list[float] = []
        for _ in range(max(3, runs // 2)):
            t0 = time.perf_counter()
            build_report(
                records,
                hours,
                [],
                since=start,
                until=start + 366 * DAY,
                now=start + 366 * DAY,
                business=business,
                calendar=calendar,
            )
            took.append(time.perf_counter() - t0)
        how = "wall-clock" if calendar else "business hours"
        print(f"{'  ' + how:44} {median_ms(took)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=OUT / "bench.db")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    path: Path = args.store
    if not path.exists():
        sys.exit(f"{path} is missing: run python bench/build_store.py first")
    before = revision(path)
    if before < "0009":
        t0 = time.perf_counter()
        asyncio.run(migrate(path))
        print(f"migrated {path.name} from {before}: {time.perf_counter() - t0:.2f} s (once)")
    asyncio.run(in_process(path, args.runs))
    command(path, args.runs)
    synthetic(args.runs)


if __name__ == "__main__":
    main()
