"""The SQLite store's plumbing: its connections, write transactions and change log entries."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite
import aiosqlite.core

from omnitui.domain.changes import ChangeKind
from omnitui.store.errors import DuplicateRow, StoreBusy
from omnitui.store.files import PRIVATE, Access, prepare, unusable
from omnitui.store.migrate import ensure_current

T = TypeVar("T")


Clock = Callable[[], float]

# What a store part catches for "that row exists already", on either database.
DUPLICATE_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, DuplicateRow)


# Bounded writes run side by side, each on its own connection, each waiting for
# SQLite's lock by itself: one that waits long never holds up the next.
BOUNDED_WRITERS = 4
READER_CLOSE_SECONDS = 5.0

log = logging.getLogger("omnitui.store")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    # lower() of every letter, as PostgreSQL's (SQLite's own lowers A-Z only):
    # a search for "émilie" finds Émilie on both databases.
    conn.create_function("lower", 1, _lower, deterministic=True)
    _tune(conn)
    return conn


def _lower(text: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return text.lower() if isinstance(text, str) else text


def _tune(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a message acknowledged to a provider must survive a power cut too.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")


def _connect_bounded(path: Path) -> sqlite3.Connection:
    """A writer connection for bounded writes (the file is already in WAL mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc)


class SqliteBase:
    """What every part of the SQLite store stands on: one writer thread, bounded
    writers on connections of their own, a reader, and the clock."""

    dialect = "sqlite"  # the SQL the store's parts write for: "sqlite" or "postgresql"

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        reader: aiosqlite.Connection,
        clock: Clock,
        access: Access = PRIVATE,
    ) -> None:
        self.path = path
        self.access = access  # who may read its files; files made beside it follow it
        self._writer = writer
        self._reader = reader
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnitui-store")
        self._bounded = ThreadPoolExecutor(
            max_workers=BOUNDED_WRITERS, thread_name_prefix="omnitui-store-bounded"
        )
        self._spares: list[sqlite3.Connection] = []
        self._spares_lock = threading.Lock()

    @classmethod
    async def open(
        cls, path: Path | str, *, clock: Clock = time.time, access: Access = PRIVATE
    ) -> Self:
        """Open (creating or migrating as needed) the store at `path`.

        Its files are private to this user, or shared with `access.group`.
        A file that is not a store, a damaged one or one this user cannot
        write raises `StoreUnusable` saying so in one line.
        """
        path = Path(path).expanduser()

        def checked_writer() -> sqlite3.Connection:
            # One thread hop for the file checks, the revision and the writer.
            prepare(path, access)
            ensure_current(path)
            return _connect(path)

        try:
            writer = await asyncio.to_thread(checked_writer)
        except (sqlite3.Error, OSError) as exc:
            raise unusable(path, exc) from None
        try:
            reader = await aiosqlite.connect(path, isolation_level=None)
            reader.row_factory = sqlite3.Row  # every row read by its column names
            await reader.execute("PRAGMA busy_timeout = 10000")
            await reader.execute("PRAGMA query_only = ON")
            await reader.create_function("lower", 1, _lower, deterministic=True)
        except (sqlite3.Error, OSError) as exc:
            writer.close()
            raise unusable(path, exc) from None
        return cls(path, writer, reader, clock, access)

    def now(self) -> float:
        """The store's clock (injectable for tests)."""
        return self._clock()

    async def close(self) -> None:
        await self._close_reader()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._writer.close)
        self._executor.shutdown(wait=True)
        await asyncio.to_thread(self._bounded.shutdown, wait=True)
        with self._spares_lock:
            spares, self._spares = self._spares, []
        for conn in spares:
            conn.close()

    async def _close_reader(self) -> None:
        """Close the reader's connection on its own thread and wait, at most a few
        seconds, for the thread to end. No event-loop future is involved: the
        thread dies if a read it was doing finished after the event loop that
        asked for it had closed (a test harness's loop, an app torn down
        mid-read), and a close waiting on a future would then wait forever,
        as would a cancelled one at the loop's end. Uses aiosqlite's queue
        (pinned 0.22); another aiosqlite is closed its own way."""
        reader = self._reader
        thread = getattr(reader, "_thread", None)
        queue = getattr(reader, "_tx", None)
        stop = getattr(aiosqlite.core, "_STOP_RUNNING_SENTINEL", None)
        if not isinstance(thread, threading.Thread) or queue is None or stop is None:
            await reader.close()
            return
        conn = getattr(reader, "_connection", None)
        if conn is not None and thread.is_alive():
            queue.put((None, conn.close))
            queue.put((None, lambda: stop))
        reader._connection = None
        await asyncio.to_thread(thread.join, READER_CLOSE_SECONDS)
        if thread.is_alive():
            log.warning("the store's reader did not close within %.0f s", READER_CLOSE_SECONDS)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` as one write transaction on the writer thread."""

        def transaction() -> T:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, transaction)

    async def _write_within(self, fn: Callable[[sqlite3.Connection], T], seconds: float) -> T:
        """Run `fn` as one write transaction within `seconds`, or raise `StoreBusy`.

        It does not queue behind the writer thread: it takes a connection of
        its own and waits for SQLite's write lock at most what is left of
        `seconds` (time spent waiting for a free connection counts too).
        """
        deadline = time.monotonic() + seconds

        def busy() -> StoreBusy:
            return StoreBusy(
                "the store was busy (another process was writing to it) for {seconds} s",
                seconds=f"{seconds:g}",
            )

        def transaction() -> T:
            left = deadline - time.monotonic()
            if left <= 0.01:
                raise busy()
            conn = self._spare()
            try:
                conn.execute(f"PRAGMA busy_timeout = {max(1, int(left * 1000))}")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if _is_busy(exc):
                        raise busy() from None
                    raise
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result
            finally:
                with self._spares_lock:
                    self._spares.append(conn)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._bounded, transaction)

    def _spare(self) -> sqlite3.Connection:
        with self._spares_lock:
            if self._spares:
                return self._spares.pop()
        return _connect_bounded(self.path)

    async def _rows(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[sqlite3.Row]:
        # One call on the reader's thread runs, reads and closes the statement:
        # a caller cancelled mid-query (a newer contact was picked) cannot
        # leave it open, which would pin the reader to an old snapshot.
        rows = await self._reader.execute_fetchall(sql, params)
        return list(rows)

    async def _value(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """The first column of the first row a query finds (None without one)."""
        rows = await self._rows(sql, params)
        return rows[0][0] if rows else None

    def _change(self, conn: sqlite3.Connection, kind: ChangeKind, contact_id: int | None) -> None:
        conn.execute(
            "INSERT INTO change(kind, contact_id, at) VALUES (?, ?, ?)",
            (kind, contact_id, self._clock()),
        )

    def _change_for_message(
        self, conn: sqlite3.Connection, kind: ChangeKind, message_id: int
    ) -> None:
        row = conn.execute("SELECT contact_id FROM message WHERE id = ?", (message_id,)).fetchone()
        self._change(conn, kind, row["contact_id"] if row else None)
