"""Worker processes for CPU-bound work (a mail backfill's parsing) that die with us.

Why not `multiprocessing`: its spawn start method runs a resource tracker
that is handed `sys.stderr.fileno()`, and inside a running Textual app
`sys.stderr` is Textual's capture with no file descriptor (-1), so a pool
cannot even start from a console ("bad value(s) in fds_to_keep"). Its
workers also hold both ends of their job queue, so a parent killed by
SIGKILL leaves them, and the tracker they keep open, running for good.

Here each worker is a plain `python -c` child that owns nothing of ours but
two pipes: jobs in on its stdin, answers out on its stdout (stderr goes to
/dev/null, so a worker never writes on the console's terminal). It ends
when:
- its job pipe closes (the pool closed it, or the parent died: the kernel
  closes a dead process's pipes);
- its parent dies, even by SIGKILL, mid-job: Linux sends it SIGKILL
  (PR_SET_PDEATHSIG); elsewhere a watchdog thread sees its parent pid change.

A job is a module-level function and its arguments, pickled; at most one
job per worker at a time. A worker that dies fails its job with
`WorkerError` and is replaced by the next job.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, TypeVar, cast

from omnitui.errors import OmniError

T = TypeVar("T")

# The parent's pid and sys.path come in argv: the child imports what the parent can.
BOOT = (
    "import sys; sys.path[:] = sys.argv[2:]; "
    "from omnitui.adapters.workers import serve; serve(int(sys.argv[1]))"
)
HEADER = 8  # bytes: the length of the pickle that follows, big-endian
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_EVERY = 0.5  # seconds between the watchdog's looks at the parent pid


class WorkerError(OmniError):
    """A job was not done: its worker could not start, died, or the job raised there."""


class _Worker:
    """One worker process and its two pipes; one job at a time."""

    def __init__(self) -> None:
        # Started from the event loop's thread: Linux's parent-death signal
        # follows the thread that started a child, and that one lives as long
        # as the process.
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, str(os.getpid()), *sys.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.broken = False
        self._busy = threading.Lock()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, fn: Callable[..., object], args: tuple[object, ...]) -> object:
        """Run `fn(*args)` in the worker and return its result (blocks: run it in a thread)."""
        job = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        with self._busy:
            if self.broken:
                raise WorkerError("worker {pid} was stopped", pid=self.pid)
            jobs, answers = cast(IO[bytes], self.proc.stdin), cast(IO[bytes], self.proc.stdout)
            try:
                jobs.write(len(job).to_bytes(HEADER, "big"))
                jobs.write(job)
                jobs.flush()
                answer = _read_frame(answers)
            except (OSError, ValueError):  # a broken pipe, or a pipe closed by stop()
                answer = None
            if answer is None:
                self.broken = True
                raise WorkerError("worker {pid} {ended}", pid=self.pid, ended=self._ended())
        try:
            ok, value = pickle.loads(answer)
        except Exception as exc:
            raise WorkerError(
                "worker {pid} answered garbage: {reason}", pid=self.pid, reason=repr(exc)
            ) from None
        if not ok:
            raise WorkerError("in worker {pid}: {reason}", pid=self.pid, reason=value)
        return cast(object, value)

    def _ended(self) -> str:
        try:
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"

    def stop(self) -> None:
        """End the process now (a job in flight fails) and close its pipes."""
        self.broken = True
        with contextlib.suppress(OSError):
            self.proc.kill()
        with self._busy:  # a job in flight sees its pipe close at once and lets go
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        self.proc.wait()


class WorkerPool:
    """Up to `size` worker processes, started as jobs need them; `close()` ends them all.

    Use it from one event loop, started in the process's main thread.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        # A slot holds an idle worker, or None: room to start one.
        self._slots: asyncio.Queue[_Worker | None] = asyncio.Queue()
        for _ in range(size):
            self._slots.put_nowait(None)
        self._workers: set[_Worker] = set()
        self._io = ThreadPoolExecutor(max_workers=size, thread_name_prefix="omnitui-worker-io")
        self._closed = False

    @property
    def pids(self) -> list[int]:
        return sorted(worker.pid for worker in self._workers)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in a worker process; `fn` must be a module-level function."""
        slot = await self._slots.get()
        if self._closed:
            self._slots.put_nowait(slot)  # wakes the next one waiting, to be told too
            raise WorkerError("the worker processes were stopped")
        worker = slot
        if worker is not None and worker.proc.poll() is not None:  # it died while idle
            self._workers.discard(worker)
            worker.stop()
            worker = None
        if worker is None:
            try:
                worker = _Worker()
            except Exception as exc:  # no such executable, no more processes...
                self._slots.put_nowait(None)
                raise WorkerError("cannot start a worker process: {reason}", reason=exc) from None
            self._workers.add(worker)
        loop = asyncio.get_running_loop()
        job = self._io.submit(worker.call, fn, args)

        def done(_: Future[object], worker: _Worker = worker) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: so is the pool
                loop.call_soon_threadsafe(self._give_back, worker)

        # Given back when the job is over, even if whoever awaits it is cancelled first.
        job.add_done_callback(done)
        return cast(T, await asyncio.wrap_future(job))

    def _give_back(self, worker: _Worker) -> None:
        if self._closed or worker.broken:
            self._workers.discard(worker)
            worker.stop()
            if not self._closed:
                self._slots.put_nowait(None)
            return
        self._slots.put_nowait(worker)

    def close(self) -> None:
        """Stop every worker now; jobs still running fail with `WorkerError`."""
        if self._closed:
            return
        self._closed = True
        for worker in list(self._workers):
            worker.stop()
        self._workers.clear()
        self._io.shutdown(wait=False, cancel_futures=True)
        self._slots.put_nowait(None)  # anyone waiting for a worker hears it is over


def _read_frame(pipe: IO[bytes]) -> bytes | None:
    """One length-prefixed message from `pipe`, or None at the end of the pipe."""
    header = pipe.read(HEADER)
    if len(header) < HEADER:
        return None
    size = int.from_bytes(header, "big")
    body = pipe.read(size)
    return body if len(body) == size else None


# -- in the worker process -------------------------------------------------------------


def serve(parent: int) -> None:
    """A worker's life: read jobs from stdin and answer on stdout until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c in serve's terminal is serve's to handle
    die_with(parent)
    jobs = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    # Whatever else writes on stdout (a library's print) must not land in the answers.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    while True:
        job = _read_frame(jobs)
        if job is None:
            return
        answer: tuple[bool, Any]
        try:
            fn, args = pickle.loads(job)
            answer = (True, fn(*args))
        except Exception:
            answer = (False, traceback.format_exc())
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            data = pickle.dumps((False, traceback.format_exc()))
        try:
            answers.write(len(data).to_bytes(HEADER, "big"))
            answers.write(data)
            answers.flush()
        except OSError:  # the parent is gone
            return


def die_with(parent: int) -> None:
    """End this process as soon as `parent` (the pid that started it) ends, however it ends."""
    if sys.platform == "linux":
        import ctypes  # here, in the worker: the console itself never needs it

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # it died before we could ask to follow it
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()


def _watch(parent: int) -> None:
    # Where there is no PR_SET_PDEATHSIG: an orphan is adopted, its parent pid changes.
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY)
    os._exit(1)
