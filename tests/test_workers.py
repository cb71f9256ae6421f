"""Worker processes (a backfill's parsing): they start anywhere and die with their parent."""

from __future__ import annotations

import asyncio
import operator
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest
from textual.app import App

from omnitui.adapters.workers import WorkerError, WorkerPool
from tests.serve import Proc, descendants
from tests.waiting import wait_until


async def test_jobs_run_in_worker_processes_and_a_failure_says_why() -> None:
    pool = WorkerPool(2)
    try:
        assert await pool.run(operator.add, 2, 3) == 5
        pids = await asyncio.gather(*(pool.run(os.getpid) for _ in range(6)))
        assert os.getpid() not in pids and len(set(pids)) <= 2
        assert sorted(set(pids)) == pool.pids
        with pytest.raises(WorkerError, match="ZeroDivisionError"):
            await pool.run(operator.truediv, 1, 0)
        assert await pool.run(operator.mul, 6, 7) == 42  # the worker lives on
    finally:
        pool.close()
    assert pool.pids == []
    with pytest.raises(WorkerError):
        await pool.run(operator.add, 1, 1)


async def test_a_worker_that_dies_fails_its_job_and_the_next_job_gets_a_new_one() -> None:
    pool = WorkerPool(1)
    try:
        [first] = [await pool.run(os.getpid)]
        killed = asyncio.ensure_future(pool.run(time.sleep, 30))
        await asyncio.sleep(0.2)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(WorkerError, match="killed by signal 9"):
            await asyncio.wait_for(killed, 10)
        second = await pool.run(os.getpid)
        assert second not in (first, os.getpid())
        os.kill(second, signal.SIGKILL)  # while it waits for a job: the job never sees it
        await asyncio.sleep(0.2)
        assert await pool.run(os.getpid) not in (first, second, os.getpid())
    finally:
        pool.close()


async def test_close_ends_a_worker_in_the_middle_of_a_job() -> None:
    pool = WorkerPool(1)
    busy = asyncio.ensure_future(pool.run(time.sleep, 30))
    await asyncio.sleep(0.3)
    [worker] = [p for p in descendants(os.getpid()) if p.pid in pool.pids]
    started = time.monotonic()
    pool.close()
    with pytest.raises(WorkerError):
        await asyncio.wait_for(busy, 10)
    assert time.monotonic() - started < 5
    assert not worker.alive()


def test_a_pool_starts_inside_a_running_textual_app() -> None:
    """Textual holds sys.stderr (no file descriptor) while it runs: the console's case."""
    answers: list[object] = []

    class Console(App[None]):
        async def on_mount(self) -> None:
            pool = WorkerPool(2)
            try:
                answers.append(sys.stderr.fileno())
                answers.append(await pool.run(operator.add, 20, 22))
            except Exception as exc:
                answers.append(exc)
            finally:
                pool.close()
            self.exit()

    asyncio.run(Console().run_async(headless=True))
    assert answers == [-1, 42]


PARENT = """
import asyncio, sys, time
from omnitui.adapters.workers import WorkerPool

async def main() -> None:
    pool = WorkerPool(2)
    jobs = [asyncio.ensure_future(pool.run(time.sleep, 60)) for _ in range(2)]
    await asyncio.sleep(0.5)
    print(*pool.pids, flush=True)
    await asyncio.gather(*jobs)

asyncio.run(main())
"""


async def test_workers_busy_with_a_job_die_with_a_parent_killed_by_sigkill(
    tmp_path: Path,
) -> None:
    """No pipe closes a busy worker's loop: the parent's death alone must end it."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(PARENT))
    parent = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE
    )
    assert parent.stdout is not None
    line = await asyncio.wait_for(parent.stdout.readline(), 30)
    workers = [int(pid) for pid in line.split()]
    assert len(workers) == 2
    tree: list[Proc] = descendants(parent.pid)
    assert sorted(p.pid for p in tree) == sorted(workers)
    parent.send_signal(signal.SIGKILL)
    await parent.wait()

    async def gone() -> bool:
        return not any(p.alive() for p in tree)

    await wait_until(gone, 3)  # the job has 60 s to run
