"""The SQLite store's plumbing: its connections, write transactions and change log entries."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import ChannelKind, Direction, IdentityKind
from omnitui.domain.safe_text import one_line
from omnitui.store.errors import StoreBusy
from omnitui.store.files import PRIVATE, Access, prepare, unusable
from omnitui.store.migrate import ensure_current

T = TypeVar("T")


Clock = Callable[[], float]


# Bounded writes run side by side, each on its own connection, each waiting for
# SQLite's lock by itself: one that waits long never holds up the next.
BOUNDED_WRITERS = 4


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    _tune(conn)
    return conn


def _tune(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a message acknowledged to a provider must survive a power cut too.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")


def _connect_bounded(path: Path) -> sqlite3.Connection:
    """A writer connection for bounded writes (the file is already in WAL mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
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
        try:
            await asyncio.to_thread(prepare, path, access)
            await asyncio.to_thread(ensure_current, path)
            writer = await asyncio.to_thread(_connect, path)
        except (sqlite3.Error, OSError) as exc:
            raise unusable(path, exc) from None
        try:
            reader = await aiosqlite.connect(path, isolation_level=None)
            await reader.execute("PRAGMA busy_timeout = 10000")
            await reader.execute("PRAGMA query_only = ON")
        except (sqlite3.Error, OSError) as exc:
            writer.close()
            raise unusable(path, exc) from None
        return cls(path, writer, reader, clock, access)

    def now(self) -> float:
        """The store's clock (injectable for tests)."""
        return self._clock()

    async def close(self) -> None:
        await self._reader.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._writer.close)
        self._executor.shutdown(wait=True)
        await asyncio.to_thread(self._bounded.shutdown, wait=True)
        with self._spares_lock:
            spares, self._spares = self._spares, []
        for conn in spares:
            conn.close()

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

    def _change(self, conn: sqlite3.Connection, kind: ChangeKind, contact_id: int | None) -> None:
        conn.execute(
            "INSERT INTO change(kind, contact_id, at) VALUES (?, ?, ?)",
            (kind, contact_id, self._clock()),
        )

    def _change_for_message(
        self, conn: sqlite3.Connection, kind: ChangeKind, message_id: int
    ) -> None:
        row = conn.execute("SELECT contact_id FROM message WHERE id = ?", (message_id,)).fetchone()
        self._change(conn, kind, row[0] if row else None)

    def _identity_for(
        self,
        conn: sqlite3.Connection,
        kind: IdentityKind,
        address: str,
        display: str,
        now: float,
    ) -> tuple[int, int]:
        row = conn.execute(
            "SELECT id, contact_id FROM identity WHERE kind = ? AND address = ?",
            (str(kind), address),
        ).fetchone()
        if row is not None:
            return int(row[0]), int(row[1])
        cur = conn.execute(
            "INSERT INTO contact(name, first_name, language, profile, status, tags, unread, "
            "last_activity, last_preview, channels, created_at) "
            "VALUES (?, '', '', '{}', 'open', '[]', 0, 0, '', '', ?)",
            (display.strip() or address, now),
        )
        contact_id = int(cur.lastrowid or 0)
        cur = conn.execute(
            "INSERT INTO identity(contact_id, kind, address, display, data, opted_out, created_at) "
            "VALUES (?, ?, ?, ?, '{}', 0, ?)",
            (contact_id, str(kind), address, display, now),
        )
        return int(cur.lastrowid or 0), contact_id

    def _touch_contact(
        self,
        conn: sqlite3.Connection,
        contact_id: int,
        at: float,
        preview: str,
        direction: Direction,
        account: str,
        kind: ChannelKind,
        unread: int,
    ) -> None:
        row = conn.execute(
            "SELECT last_activity, channels FROM contact WHERE id = ?", (contact_id,)
        ).fetchone()
        channels = set(filter(None, (row[1] or "").split(",")))
        channels.add(str(kind))
        newest = at >= row[0]
        conn.execute(
            "UPDATE contact SET unread = unread + ?, channels = ?, "
            "last_activity = CASE WHEN ? THEN ? ELSE last_activity END, "
            "last_preview = CASE WHEN ? THEN ? ELSE last_preview END, "
            "last_direction = CASE WHEN ? THEN ? ELSE last_direction END, "
            "last_account = CASE WHEN ? OR last_account IS NULL THEN ? ELSE last_account END "
            "WHERE id = ?",
            (
                unread,
                ",".join(sorted(channels)),
                newest,
                at,
                newest,
                preview,
                newest,
                str(direction),
                newest and direction is Direction.IN,
                account,
                contact_id,
            ),
        )

    def _recount(self, conn: sqlite3.Connection, contact_id: int) -> None:
        """Recompute a contact's list columns from its messages (after a merge)."""
        # Internal notes are no part of the conversation: they set none of these.
        last = conn.execute(
            "SELECT sent_at, text, subject, direction FROM message WHERE contact_id = ? "
            "AND direction IN ('in', 'out') ORDER BY sent_at DESC, id DESC LIMIT 1",
            (contact_id,),
        ).fetchone()
        # The customer's last channel; for a conversation the shop started, its own.
        last_in = conn.execute(
            "SELECT account FROM message WHERE contact_id = ? AND direction IN ('in', 'out') "
            "ORDER BY direction = 'in' DESC, sent_at DESC, id DESC LIMIT 1",
            (contact_id,),
        ).fetchone()
        kinds = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT kind FROM message WHERE contact_id = ? "
                "AND direction IN ('in', 'out')",
                (contact_id,),
            )
        ]
        unread = conn.execute(
            "SELECT coalesce(sum(unread), 0) FROM contact WHERE id = ? OR merged_into = ?",
            (contact_id, contact_id),
        ).fetchone()[0]
        conn.execute(
            "UPDATE contact SET last_activity = ?, last_preview = ?, last_direction = ?, "
            "last_account = ?, channels = ?, unread = ? WHERE id = ?",
            (
                last[0] if last else 0.0,
                one_line(last[1] or last[2], 120) if last else "",
                last[3] if last else None,
                last_in[0] if last_in else None,
                ",".join(sorted(kinds)),
                unread,
                contact_id,
            ),
        )
