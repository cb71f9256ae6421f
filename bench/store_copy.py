"""`omnitui store copy`: how long a shop's move to PostgreSQL takes (issue 19).

    python bench/store_copy.py                      # 1,000 contacts / 100,000 messages
    python bench/store_copy.py --messages 1000000   # bench/out/bench.db, if built

The SQLite store is made by build_store.py (bench/out/copy-100k.db; made on
the first run). The PostgreSQL server is a throwaway cluster under a temp dir
with durable settings (fsync and synchronous_commit on, as a shop's server
has them), started for the run and removed after. The command is run as a
shop owner runs it, through the installed `omnitui`: the figure is from its
start to its exit, counts verified. Then it is run again onto the complete
copy (the check of the database and the verification alone), and once more
after a kill -9 halfway (carrying on).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import build_store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # `tests.peers` lives in the repository, not in the venv
    sys.path.insert(1, str(ROOT))

import psycopg  # noqa: E402

from tests.peers.postgres import PASSWORD, PgCluster, bindir  # noqa: E402

PASSWORD_ENV = "OMNITUI_BENCH_STORE_PASSWORD"


class DurableCluster(PgCluster):
    """The test cluster, with what a power cut needs: as a shop's server runs."""

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip


def copy_command(config: Path, url: str, batch: int) -> list[str]:
    return [
        sys.executable, "-m", "omnitui.cli", "--config", str(config),
        "store", "copy", "--to", url, "--password-env", PASSWORD_ENV, "--batch", str(batch),
    ]  # fmt: skip


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    spent = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the copy failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return spent, done.stdout


def killed_halfway(command: list[str], env: dict[str, str], url: str, messages: int) -> int:
    """Start the copy, kill -9 it once half the messages are there; how many were."""
    running = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    there = 0
    try:
        with psycopg.connect(url, password=PASSWORD, autocommit=True) as conn:
            while running.poll() is None:
                made = conn.execute("SELECT to_regclass('message') IS NOT NULL").fetchone()
                if made == (True,):
                    row = conn.execute("SELECT count(*) FROM message").fetchone()
                    there = int(row[0]) if row else 0
                    if there >= messages // 2:
                        break
                time.sleep(0.05)
    finally:
        running.send_signal(signal.SIGKILL)
        running.wait()
    return there


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--store", type=Path, help="the SQLite store (default: made for the size)")
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000, help="rows per transaction")
    args = parser.parse_args(argv)
    path: Path = args.store or build_store.OUT / f"copy-{args.messages // 1000}k.db"
    if args.messages == 1_000_000 and args.store is None:
        path = build_store.FULL[0]
    if build_store.store_counts(path) is None:
        build_store.main(
            [str(path), "--contacts", str(args.contacts), "--messages", str(args.messages)]
        )
    contacts, messages = build_store.store_counts(path) or (0, 0)
    where = bindir()
    if where is None:
        print("PostgreSQL is not installed: apt-get install postgresql")
        return 1
    size = path.stat().st_size
    print(f"{path}: {contacts:,} contacts, {messages:,} messages, {size / 1e6:,.0f} MB")
    cluster = DurableCluster.create(where)
    try:
        with tempfile.TemporaryDirectory(prefix="omnitui-bench-copy-") as home:
            config = Path(home) / "config.toml"
            config.write_text(f'[store]\npath = "{path}"\n', encoding="utf-8")
            env = {**os.environ, "HOME": home, PASSWORD_ENV: PASSWORD}
            url = cluster.url(cluster.new_database())
            command = copy_command(config, url, args.batch)
            whole, out = timed(command, env)
            print(out.rstrip())
            again, _ = timed(command, env)
            url = cluster.url(cluster.new_database())
            command = copy_command(config, url, args.batch)
            there = killed_halfway(command, env, url, messages)
            rest, _ = timed(command, env)
    finally:
        cluster.destroy()
    print()
    print(f"copy of {messages:,} messages ({contacts:,} contacts), batches of {args.batch:,}:")
    print(f"  whole copy, counts verified   {whole:7.1f} s   {messages / whole:9,.0f} messages/s")
    print(f"  again onto the complete copy  {again:7.1f} s   (check and counts only)")
    print(f"  after kill -9 at {there:,} messages: the rest in {rest:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
