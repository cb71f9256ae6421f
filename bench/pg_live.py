"""How long a change made on one machine takes to show on another, on PostgreSQL.

Two machines are two processes with their own HOME and config dir, each
configured with `[store] url` to the same database of a throwaway cluster
(`tests/peers/postgres.py`). A headless console runs in this process; the
other machine (another agent's) resolves or reopens the customer at the top
of the list, `--changes` times. Each change is timed from the commit in the
other process to the console's contact list showing it, and, separately,
to the store waking a waiter (`wait_for_change`, the NOTIFY alone).

The same console on a SQLite file, changed by another process the same way,
is measured in the same run for comparison: there the console looks every
0.25 s (its polling interval), here it is told.

    python bench/pg_live.py [--changes 50] [--contacts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # `tests.peers` lives in the repository, not in the venv
    sys.path.insert(1, str(ROOT))

from omnitui.app import OmniApp  # noqa: E402
from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus  # noqa: E402
from omnitui.screens.inbox import InboxScreen  # noqa: E402
from omnitui.store import Store  # noqa: E402
from omnitui.store.postgres import PostgresStore  # noqa: E402
from tests.peers.postgres import PASSWORD, PgCluster, bindir  # noqa: E402

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
PASSWORD_ENV = "OMNITUI_BENCH_DB_PASSWORD"

# The other machine: opens the store its config names, reads "contact_id
# status" lines, commits each and prints the wall-clock time right after.
OTHER = """
import asyncio, sys, time
from pathlib import Path
from omnitui.config import load
from omnitui.domain.models import ThreadStatus
async def main():
    store = await load(Path(sys.argv[1])).open_store()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        contact_id, status = line.split()
        await store.set_status(int(contact_id), ThreadStatus(status))
        print(time.time(), flush=True)
    await store.close()
asyncio.run(main())
"""


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def other_machine(home: Path, store_section: str, password: str | None) -> subprocess.Popen[str]:
    """The other agent's process, with a HOME and config of its own."""
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text(f'[agent]\nname = "Ken"\n\n[store]\n{store_section}\n', encoding="utf-8")
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    if password is not None:
        env[PASSWORD_ENV] = password
    process = subprocess.Popen(
        [sys.executable, "-c", OTHER, str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


async def fill(store: Store, contacts: int) -> None:
    now = time.time()
    await store.ingest(
        [
            Inbound(MAIL, f"m{n}", f"c{n}@example.com", f"Customer {n}", "hello", now - n)
            for n in range(contacts)
        ]
    )


async def on_screen(
    store: Store, other: subprocess.Popen[str], changes: int
) -> tuple[list[float], list[float]]:
    """Commit -> shown in the console's list, and commit -> the store woke a waiter."""
    assert other.stdin is not None and other.stdout is not None
    app = OmniApp(store, agent_name="Aiko", channels=[MAIL], language="en")
    shown: list[float] = []
    woken: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, InboxScreen) or not app.screen.contacts.contacts:
            await pilot.pause()
        screen = app.screen
        top = screen.contacts.contacts[0].id
        for n in range(changes):
            status = ThreadStatus.RESOLVED if n % 2 == 0 else ThreadStatus.OPEN
            seen = await store.last_change_id()
            waiter = asyncio.create_task(_woken_at(store.wait_for_change(seen)))
            other.stdin.write(f"{top} {status}\n")
            other.stdin.flush()
            committed = float(await asyncio.to_thread(other.stdout.readline))

            def status_of() -> ThreadStatus | None:
                found = [c for c in screen.contacts.contacts if c.id == top]
                return found[0].status if found else None

            while status_of() is not status:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            shown.append(time.time() - committed)
            woken.append(await waiter - committed)
            await asyncio.sleep(0.1)
    return shown, woken


async def _woken_at(wait: Awaitable[None]) -> float:
    await wait
    return time.time()


async def run(changes: int, contacts: int) -> None:
    rows: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory() as folder:
        where = bindir()
        if where is None:
            raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
        cluster = PgCluster.create(where)
        try:
            url = cluster.url(cluster.new_database())
            store = await PostgresStore.open_url(url, password=PASSWORD)
            await fill(store, contacts)
            other = other_machine(
                Path(folder) / "ken-pg",
                f'url = "{url}"\npassword_env = "{PASSWORD_ENV}"',
                PASSWORD,
            )
            shown, woken = await on_screen(store, other, changes)
            _close(other)
            await store.close()
            rows.append(("PostgreSQL: another machine's change -> told (NOTIFY)", woken))
            rows.append(("PostgreSQL: another machine's change -> on screen", shown))
        finally:
            cluster.destroy()
        path = Path(folder) / "shop.db"
        lite = await Store.open(path)
        await fill(lite, contacts)
        other = other_machine(Path(folder) / "ken-lite", f'path = "{path}"', None)
        shown, woken = await on_screen(lite, other, changes)
        _close(other)
        await lite.close()
        rows.append(("SQLite: another process's change -> seen (0.25 s look)", woken))
        rows.append(("SQLite: another process's change -> on screen", shown))
    print(f"{changes} changes, {contacts} customers in the list")
    print("| what | p50 | p95 | max | target |")
    print("|---|---|---|---|---|")
    for what, values in rows:
        print(
            f"| {what} | {_ms(statistics.median(values))} | {_ms(p95(values))} "
            f"| {_ms(max(values))} | < 1 s |"
        )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _close(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=200)
    args = parser.parse_args(argv)
    asyncio.run(run(args.changes, args.contacts))


if __name__ == "__main__":
    main()
