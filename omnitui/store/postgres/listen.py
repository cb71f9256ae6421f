"""Live across machines: one connection that LISTENs for the store's changes.

Every write transaction that logs a change ends with `NOTIFY omnitui_change`,
its payload the newest change id. A store's `ChangeListener` holds one
autocommit connection, on a thread of its own, that LISTENs on that channel
and wakes every console or channel runner waiting for a change after the one
it last read: a change on one machine shows on the others at once, and
nothing reads the database to find out whether something changed.

When the connection is lost (the server restarted, the network went), the
listener says so to whoever waits (their next read fails and the console
says why), connects again with backoff, reads the newest change id once and
wakes them again: they read everything they missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

CHANNEL = "omnitui_change"
# Seconds a waiter waits, while the server cannot be reached, before it looks
# again by itself (its read then says whether the server is back).
DOWN_LOOK = 2.0
# How long one wait on the listening connection lasts before the thread looks
# whether the store is closing (no query: a wait on its socket).
TICK = 0.2


def backoff(failures: int) -> float:
    """Seconds before connecting again after `failures` failures in a row."""
    return float(min(10.0, 0.25 * 2 ** min(failures - 1, 6)))


class ChangeListener:
    """One LISTEN connection for a store, and the tasks (in any event loop)
    waiting for the change log to move past a change id."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]], place: str) -> None:
        self._connect = connect
        self._place = place  # the store's URL without its password, for the log
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self.latest = -1  # the newest change id known to be committed
        self.up = False  # listening now
        self.problem: str | None = None  # why it cannot listen, while it cannot

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="omnitui-store-listen", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop listening (the store is closing); waits for the thread."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5.0)
        self._wake_all()

    async def wait(self, after: int) -> None:
        """Return once a change after `after` is committed, or the connection
        was lost or made again; while it is lost, after `DOWN_LOOK` seconds."""
        self.start()
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event, after)
        with self._lock:
            if self.up and self.latest > after:
                return
            listening = self.up
            self._waiters.append(entry)
        # Not (yet) listening: the caller looks again soon by itself.
        limit = None if listening else DOWN_LOOK
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), limit)
        finally:
            with self._lock, contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    # -- the listening thread --------------------------------------------------

    def _run(self) -> None:
        import psycopg

        failures = 0
        while not self._stop.is_set():
            try:
                conn = self._connect()
            except (psycopg.Error, OSError) as exc:
                failures += 1
                self._lost(exc, failures)
                self._stop.wait(backoff(failures))
                continue
            try:
                with conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    row = conn.execute("SELECT coalesce(max(id), 0) FROM change").fetchone()
                    if failures:
                        log.info("listening for changes at %s again", self._place)
                    failures = 0
                    self._listening(int(row[0]) if row else 0)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=TICK):
                            self._changed(note.payload)
            except (psycopg.Error, OSError) as exc:
                failures += 1
                self._lost(exc, failures)
                self._stop.wait(backoff(failures))

    def _listening(self, latest: int) -> None:
        with self._lock:
            self.latest = max(self.latest, latest)
            self.up = True
            self.problem = None
        self._wake_all()  # whatever was missed meanwhile is read now

    def _changed(self, payload: str) -> None:
        try:
            change_id = int(payload)
        except ValueError:
            change_id = self.latest + 1  # a NOTIFY from elsewhere: look anyway
        with self._lock:
            self.latest = max(self.latest, change_id)
            woken = [(loop, event) for loop, event, after in self._waiters if change_id > after]
        _wake(woken)

    def _lost(self, exc: BaseException, failures: int) -> None:
        from omnitui.store.postgres.base import _first_line

        why = _first_line(exc)
        with self._lock:
            was_up, self.up = self.up, False
            self.problem = why
        if was_up or failures == 1:
            log.warning(
                "lost the store's change notifications at %s (%s); connecting again",
                self._place,
                why,
            )
        self._wake_all()

    def _wake_all(self) -> None:
        with self._lock:
            woken = [(loop, event) for loop, event, _ in self._waiters]
        _wake(woken)


def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
    for loop, event in waiters:
        with contextlib.suppress(RuntimeError):  # that event loop has closed
            loop.call_soon_threadsafe(event.set)
