"""Print OmniTUI's performance figures against floors measured in the same run.

    python bench/build_store.py && python bench/run.py     # the full store
    python bench/run.py --quick                              # smoke test, < 1 min

Machines here are noisy, so each figure is set beside a floor taken in the
same run (a hello-world Textual app, a bare store query) and the start-up
runs of the console and of the floor are interleaved. Targets are the ones in
DESIGN.md, "Performance".
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import datetime as dt
import json
import os
import platform
import select
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import build_store

HERE = Path(__file__).resolve().parent
PROBE = HERE / "probe.py"

# Search queries: common words, Japanese substrings (one and two characters),
# a rare word, two-word queries, a contact name and an order id.
QUERIES = (
    "order",
    "delivery",
    "thanks",
    "予約",
    "配達",
    "約",
    "ありがとう",
    build_store.RARE_WORD,
    "white roses",
    "order delivery",
    "ご予約 確認",
    "田中",
    "#4242",
)


@dataclass(frozen=True, slots=True)
class Row:
    what: str
    figure: str
    floor: str = ""
    ratio: str = ""
    target: str = ""
    ok: bool | None = None


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (`q` = 0.95 for p95)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# -- running a probe ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeRun:
    first_line_after: float  # seconds from spawn to the probe's first report
    spawned_at: float
    reports: list[dict[str, Any]]


def run_probe(
    args: Sequence[str], *, timeout: float = 120.0, env: dict[str, str] | None = None
) -> ProbeRun:
    """Run `probe.py ARGS` in a fresh interpreter and collect what it reports."""
    read_end, write_end = os.pipe()
    env = dict(os.environ, **(env or {}), BENCH_FD=str(write_end))
    spawned_at = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(PROBE), *args],
        pass_fds=(write_end,),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    buffer = b""
    first_at: float | None = None
    deadline = spawned_at + timeout
    try:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"probe {args} took over {timeout:.0f} s")
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            if first_at is None and b"\n" in buffer + chunk:
                first_at = time.perf_counter()
            buffer += chunk
    finally:
        os.close(read_end)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    if proc.returncode != 0 or first_at is None:
        raise RuntimeError(
            f"probe {args} failed (exit {proc.returncode}):\n{err.decode(errors='replace')}"
        )
    reports = [json.loads(line) for line in buffer.decode().splitlines() if line.strip()]
    return ProbeRun(first_at - spawned_at, spawned_at, reports)


# -- the figures ----------------------------------------------------------------


_PHASE_LABEL = {"probe": "python up", "imports": "imports done"}


class StartupRuns:
    """Spawn-to-first-frame times of one probe, with each phase's share."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = list(args)
        self.env = env
        self.times: list[float] = []
        self.phases: dict[str, list[float]] = {}
        self.rss_kb: list[int] = []

    def run(self) -> None:
        run = run_probe(self.args, env=self.env, timeout=30)
        self.times.append(run.first_line_after)
        frame = run.reports[0]
        self.rss_kb.append(int(frame["VmRSS"]))
        last = run.spawned_at
        for name, at in [*frame["phases"].items(), ("first frame", frame["t"])]:
            self.phases.setdefault(name, []).append(at - last)
            last = at

    def median(self) -> float:
        return statistics.median(self.times)

    def phase_note(self) -> str:
        return ", ".join(
            f"{_PHASE_LABEL.get(name, name)} {statistics.median(values):.3f}"
            for name, values in self.phases.items()
        )


def command_config(store: Path) -> tuple[Path, dict[str, str]]:
    """A config for the real `omnitui` command on `store`, and an environment that
    keeps its log and data dirs under bench/out."""
    home = build_store.OUT / "xdg"
    config = build_store.OUT / f"{store.stem}.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[agent]\nname = "Aiko"\n\n[shop]\nname = "Sakura Flowers"\n\n'
        f"[store]\npath = {json.dumps(str(store.resolve()))}\n",
        encoding="utf-8",
    )
    env = {f"XDG_{d}_HOME": str(home / d.lower()) for d in ("CONFIG", "DATA", "STATE", "CACHE")}
    return config, env


def startup(store: Path, runs: int) -> tuple[list[Row], list[str], int]:
    """Spawn-to-first-frame of the console and of a hello-world app, interleaved."""
    hello = StartupRuns("hello")
    omni = StartupRuns("omni", str(store))
    config, env = command_config(store)
    command: StartupRuns | None = StartupRuns("command", str(config), env=env)
    notes: list[str] = []
    # One unmeasured run of each first: file cache, and the venv's imports.
    run_probe(hello.args)
    run_probe(omni.args)
    for n in range(runs + 1):
        if n:
            hello.run()
            omni.run()
        if command is None:
            continue
        try:  # the command runs everything others are editing: never let it stop the bench
            if n:
                command.run()
            else:
                run_probe(command.args, env=env, timeout=30)
        except (RuntimeError, TimeoutError) as exc:
            command = None
            last = str(exc).strip().splitlines()[-1]
            notes.append(f"the real `omnitui --config` start-up was not measured: {last}")
    h, o = hello.median(), omni.median()
    rows = [
        Row(
            "start-up: console's first frame (contacts listed)",
            f"{o:.3f} s",
            f"{h:.3f} s (hello world)",
            f"{o / h:.2f}x",
            "<= 1.5x",
            o / h <= 1.5,
        )
    ]
    if command is not None:
        c = command.median()
        rows.append(
            Row(
                "start-up: `omnitui --config` (settings too)",
                f"{c:.3f} s",
                f"{h:.3f} s (hello world)",
                f"{c / h:.2f}x",
                "<= 1.5x",
                c / h <= 1.5,
            )
        )
    notes += [
        f"start-up runs (s): console {', '.join(f'{v:.3f}' for v in omni.times)}; "
        f"hello world {', '.join(f'{v:.3f}' for v in hello.times)}",
        "start-up by phase, time since the previous one (median s): "
        f"console: {omni.phase_note()}; hello world: {hello.phase_note()}",
    ]
    if command is not None:
        notes.append(f"`omnitui --config` by phase (median s): {command.phase_note()}")
    return rows, notes, int(statistics.median(omni.rss_kb))


def next_contact(store: Path, presses: int, total: int) -> tuple[list[Row], list[str], int]:
    run = run_probe(["walk", str(store), "--presses", str(presses), "--total", str(total)])
    by_event: dict[str, dict[str, Any]] = {}
    rss_after = 0
    for r in run.reports:
        if r["event"] == "rss" and r["at"] != "first frame":
            rss_after = int(r["VmRSS"])
        by_event[r["event"]] = r
    walk = by_event["walk"]
    shown: list[float] = walk["shown"]
    settled: list[float] = walk["settled"]
    floor: list[float] = walk["floor"]
    med, p95 = statistics.median(shown), quantile(shown, 0.95)
    fmed, fp95 = statistics.median(floor), quantile(floor, 0.95)
    rows = [
        Row(
            f"next contact: thread drawn, median of {len(shown)}",
            ms(med),
            f"{ms(fmed)} (thread_page)",
            f"{med / fmed:.1f}x",
            "< 30 ms",
            med < 0.030,
        ),
        Row(
            f"next contact: thread drawn, p95 of {len(shown)}",
            ms(p95),
            f"{ms(fp95)} (thread_page)",
            f"{p95 / fp95:.1f}x",
            "< 60 ms",
            p95 < 0.060,
        ),
    ]
    notes = [
        f"next contact, until its worker is done (composer channels too): median "
        f"{ms(statistics.median(settled))}, p95 {ms(quantile(settled, 0.95))}",
        "drawing per press, key sent to thread drawn (median / p95; a refresh includes "
        "the layout in it): "
        + "; ".join(
            f"{label} {ms(d['median'])} / {ms(d['p95'])}" for label, d in walk["drawing"].items()
        ),
        "store calls during the walk (median / p95 / max, count): "
        + "; ".join(
            f"{name} {ms(c['median'])} / {ms(c['p95'])} / {ms(c['max'])}, {c['count']}"
            for name, c in walk["calls"].items()
        ),
    ]
    return rows, notes, rss_after


async def search(store_path: Path | str, repeat: int) -> tuple[list[Row], list[str]]:
    from probe import open_bench_store

    store = await open_bench_store(str(store_path))
    try:
        # Floor: one row by primary key through the same reader connection.
        floor: list[float] = []
        for n in range(200):
            started = time.perf_counter()
            await store.message_position(1 + n * 997)
            floor.append(time.perf_counter() - started)
        times: list[float] = []
        per_query: list[str] = []
        for query in QUERIES:
            await store.search(query, limit=50)  # first run not counted: cold pages
            mine: list[float] = []
            hits = 0
            for _ in range(repeat):
                started = time.perf_counter()
                found = await store.search(query, limit=50)
                mine.append(time.perf_counter() - started)
                hits = len(found)
            times.extend(mine)
            per_query.append(f"{query!r} {ms(statistics.median(mine))} ({hits} hits)")
    finally:
        await store.close()
    p95, fmed = quantile(times, 0.95), statistics.median(floor)
    rows = [
        Row(
            f"search: p95 of {len(QUERIES)} queries x {repeat}",
            ms(p95),
            f"{ms(fmed)} (one-row read)",
            f"{p95 / fmed:.0f}x",
            "< 50 ms",
            p95 < 0.050,
        ),
        Row("search: median", ms(statistics.median(times))),
    ]
    notes = [
        "search, median per query: " + "; ".join(per_query),
        f"search, slowest single run: {ms(max(times))}",
    ]
    return rows, notes


# -- the table ------------------------------------------------------------------


def table(rows: Sequence[Row]) -> str:
    head = ("what", "figure", "floor", "ratio", "target", "ok?")
    body = [
        (
            r.what,
            r.figure,
            r.floor,
            r.ratio,
            r.target,
            "" if r.ok is None else ("yes" if r.ok else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)


def describe(store: Path) -> str:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        contacts = conn.execute("SELECT count(*) FROM contact").fetchone()[0]
        messages = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    finally:
        conn.close()
    import textual

    return (
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Textual {textual.__version__}, "
        f"SQLite {sqlite3.sqlite_version}; store {store} "
        f"({contacts:,} contacts, {messages:,} messages, {store.stat().st_size / 1e6:,.0f} MB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small store, fewer runs (smoke test)")
    parser.add_argument("--store", type=Path, help="store to measure (built if missing)")
    parser.add_argument("--runs", type=int, help="start-up runs of each app (default 5, quick 3)")
    parser.add_argument("--presses", type=int, default=50, help="timed next-contact presses")
    parser.add_argument("--walk", type=int, default=200, help="contacts to move through")
    parser.add_argument("--repeat", type=int, help="timed runs of each search query (default 5)")
    args = parser.parse_args(argv)
    # A user's Python caches compiled modules; this environment sets
    # PYTHONDONTWRITEBYTECODE, which would make every start compile OmniTUI anew.
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "omnitui"), quiet=1)

    default_store, contacts, messages = build_store.QUICK if args.quick else build_store.FULL
    store: Path = args.store or default_store
    if build_store.store_counts(store) is None:
        print(f"no store at {store}: building it first")
        build = [str(store), "--contacts", str(contacts), "--messages", str(messages)]
        if build_store.main(build) != 0:
            return 1
    runs = args.runs or (3 if args.quick else 5)
    repeat = args.repeat or (3 if args.quick else 5)
    print(describe(store), flush=True)

    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    print("start-up...", flush=True)
    got, more, rss_first = startup(store, runs)
    rows += got
    notes += more
    print("next contact...", flush=True)
    got, more, rss_walk = next_contact(store, args.presses, args.walk)
    rows += got
    notes += more
    print("search...", flush=True)
    got, more = asyncio.run(search(store, repeat))
    rows += got
    notes += more
    for label, kb in (
        ("memory: RSS at the first frame", rss_first),
        (f"memory: RSS after {args.walk} contacts", rss_walk),
    ):
        rows.append(Row(label, f"{kb / 1024:.0f} MB", target="< 200 MB", ok=kb < 200 * 1024))

    print()
    print(table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    missed = [r.what for r in rows if r.ok is False]
    print(f"\n{len(missed)} target(s) missed; measured in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
