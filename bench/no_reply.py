"""`no_reply` rules with 5,000 open conversations: no scan of the store per tick (issue 15).

A fresh store gets 5,000 customers who each wrote once and wait for an answer,
and a `no_reply` rule (after 30 minutes). The rules arm one clock per customer
as the messages arrive. Then, on the store's own (moved) clock:

- an idle tick (`Automation.step` with nothing queued and nothing due) with
  5,000 clocks running, against the same tick on a store with none;
- SQLite's plan for the two reads a tick makes (it must use the index on
  `due_at`, not scan the clocks);
- 30 minutes later: all 5,000 fire, each once (a second pass fires none).

    python bench/no_reply.py [--conversations 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omnitui.automation import Automation, AutomationSetup
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.domain.rules import make_rule
from omnitui.store import Store

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


async def idle_ticks(automation: Automation, runs: int = 200) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        taken = await automation.step()
        times.append(time.perf_counter() - started)
        assert taken == 0
    return times


async def run(count: int) -> None:
    rule = make_rule(name="Nobody answered", on="no_reply", after="30m", notify=True)
    setup = AutomationSetup(rules=(rule,))
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock()
        empty = await Store.open(Path(folder) / "empty.db", clock=clock)
        floor = await idle_ticks(Automation(empty, setup, {MAIL.account: MAIL}))
        await empty.close()

        store = await Store.open(Path(folder) / "shop.db", clock=clock)
        automation = Automation(store, setup, {MAIL.account: MAIL})
        for start in range(0, count, 500):
            await store.ingest(
                [
                    Inbound(
                        MAIL,
                        f"m{n}",
                        f"customer{n}@example.jp",
                        f"Customer {n}",
                        "注文の件でご連絡しました",
                        START - 60 + n * 0.001,
                    )
                    for n in range(start, min(count, start + 500))
                ]
            )
        armed_at = time.perf_counter()
        while await automation.step():
            pass
        armed = time.perf_counter() - armed_at
        clocks = (await store._rows("SELECT count(*) FROM rule_timer"))[0][0]
        ticks = await idle_ticks(automation)
        plans = []
        for sql, params in (
            (
                "EXPLAIN QUERY PLAN SELECT contact_id, rule, since, due_at FROM rule_timer "
                "WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT 50",
                (clock.now,),
            ),
            ("EXPLAIN QUERY PLAN SELECT min(due_at) FROM rule_timer WHERE due_at IS NOT NULL", ()),
        ):
            plans.append(" / ".join(str(r[3]) for r in await store._rows(sql, params)))
        clock.now += 30 * 60 + 1
        fired_at = time.perf_counter()
        while await automation.step():
            pass
        fired = time.perf_counter() - fired_at
        firings = (await store._rows("SELECT count(*) FROM rule_firing"))[0][0]
        again = await automation.step()
        await store.close()
    print(f"no_reply: {count} open conversations, {clocks} clocks armed in {armed:.1f} s")
    print("| what | median | p95 |")
    print("|---|---|---|")
    for label, values in (
        ("idle tick, no clocks (floor)", floor),
        ("idle tick, 5,000 clocks", ticks),
    ):
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95)]
        print(f"| {label} | {statistics.median(values) * 1000:.2f} ms | {p95 * 1000:.2f} ms |")
    for plan in plans:
        print(f"query plan: {plan}")
    print(
        f"30 minutes later: {firings} fired in {fired:.1f} s ({firings / fired:.0f}/s); "
        f"a second pass took {again} more"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(args.conversations))


if __name__ == "__main__":
    main()
