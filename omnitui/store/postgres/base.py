"""The store on PostgreSQL: its connections, write transactions and change log.

The store's parts (contacts, ingest, outbox, ...) are written once, against
a connection that takes SQLite-flavoured SQL; here that connection is a
psycopg one behind `PgConn`, which hands each statement through
`dialect.translate`.

Writes keep SQLite's guarantee that one transaction writes at a time: each
takes a transaction-level advisory lock first, so every read-then-write the
store does (an incoming message checked against what is stored, an outbox
row claimed, a broadcast refused as a duplicate) stays correct when several
machines write at once, with no second way of writing them. Writes are
milliseconds; a shop's agents and channels never queue long.

Every write that logs a change also sends `NOTIFY omnitui_change` with the
newest change id, which the consoles LISTEN for (`listen.ChangeListener`): a
change on one machine shows on the others at once.

A connection the server dropped (it restarted) is made again on the next use;
a statement that had not begun to write is tried once more on it, so the
first write after a restart does not fail for nothing. What cannot be done
while the server is away raises `StoreUnreachable` saying so.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from omnitui.domain.changes import ChangeKind
from omnitui.store.errors import DuplicateRow, StoreBusy, StoreError, StoreUnreachable
from omnitui.store.files import PRIVATE, StoreUnusable
from omnitui.store.postgres.dialect import translate
from omnitui.store.postgres.listen import CHANNEL, ChangeListener
from omnitui.store.sqlite.base import Clock, SqliteBase

if TYPE_CHECKING:
    import psycopg

    from omnitui.store.postgres.lock import PgChannelLock

T = TypeVar("T")

log = logging.getLogger(__name__)

# The advisory lock every write transaction holds (any fixed number: "OmniTUI's writer").
WRITE_LOCK = 0x4F4D4E49  # "OMNI"
BOUNDED_WRITERS = 4


class PgRow(tuple[Any, ...]):
    """A row read by position or by column name, as SQLite's rows are."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, (_plain(v) for v in values))
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _plain(value: Any) -> Any:
    """PostgreSQL's numerics (sum, avg) as the ints and floats SQLite gives."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _params(params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
    # Flags are stored as 0/1 integers on both databases.
    if isinstance(params, Mapping):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return [int(v) if isinstance(v, bool) else v for v in params]


class PgCursor:
    """What the store reads off a statement it ran: rows, rowcount, lastrowid."""

    def __init__(self, cursor: psycopg.Cursor[Any], returns_id: bool) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid: int | None = None
        self._names: dict[str, int] = {}
        if cursor.description is not None:
            self._names = {c.name: i for i, c in enumerate(cursor.description)}
        if returns_id:
            row = cursor.fetchone()
            self.lastrowid = int(row[0]) if row else None

    def fetchone(self) -> PgRow | None:
        row = self._cursor.fetchone()
        return None if row is None else PgRow(row, self._names)

    def fetchall(self) -> list[PgRow]:
        return [PgRow(row, self._names) for row in self._cursor.fetchall()]

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self.fetchall())


class PgConn:
    """A psycopg connection that takes the store's SQLite-flavoured SQL."""

    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self.notify = False  # a change was logged: NOTIFY at commit
        self.began = False  # the transaction holds the write lock: it may have written

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> PgCursor:
        from psycopg import errors

        statement = translate(sql)
        cursor = self._conn.cursor()
        try:
            cursor.execute(statement.sql, _params(params))
        except errors.UniqueViolation as exc:
            raise DuplicateRow("that is in the store already: {why}", why=_first_line(exc)) from exc
        return PgCursor(cursor, statement.returns_id)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> PgCursor:
        statement = translate(sql, many=True)
        cursor = self._conn.cursor()
        cursor.executemany(statement.sql, [_params(r) for r in rows])
        return PgCursor(cursor, False)


def _connect(
    url: str, password: str | None, *, autocommit: bool = False
) -> psycopg.Connection[Any]:
    import psycopg

    conn = psycopg.connect(
        url,
        password=password,
        autocommit=autocommit,
        connect_timeout=10,
        application_name="omnitui",
    )
    return conn


# What libpq or the server says when the login itself was refused (the server's
# words are English unless its lc_messages says otherwise).
LOGIN_REFUSED = (
    "authentication failed",
    "no pg_hba.conf entry",
    "no password supplied",
    "role ",  # role "x" does not exist
)


def unreachable(url: str, exc: BaseException) -> StoreUnusable:
    """A store server that cannot be used, said in one line (no password in it):
    nothing answers, it refused the login, or it refused the store."""
    import psycopg

    place, why = safe_url(url), _reason(exc)
    first = _first_line(exc)
    connecting = isinstance(exc, OSError) or (
        isinstance(exc, psycopg.OperationalError) and first.startswith("connection failed")
    )
    if connecting and "FATAL:" in first and any(w in why for w in LOGIN_REFUSED):
        return StoreUnusable(
            "the store at {url} cannot be used: the server refused the login ({why})",
            url=place,
            why=why,
        )
    if connecting and "FATAL:" not in first:
        return StoreUnusable(
            "the store at {url} cannot be used: the server cannot be reached ({why})",
            url=place,
            why=why,
        )
    return StoreUnusable("the store at {url} cannot be used: {why}", url=place, why=why)


def _reason(exc: BaseException) -> str:
    """The server's or the network's own words, without libpq's wrapping."""
    line = _first_line(exc)
    if line.startswith("connection failed:"):
        line = line.rsplit(" failed: ", 1)[-1]
    return line.removeprefix("FATAL:").strip()


def safe_url(url: str) -> str:
    """`url` without a password in it, for logs and messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class _Stale(StoreError):
    """A connection the server had dropped before the transaction wrote anything
    (caught inside this module, which tries once more on a new connection)."""

    def __init__(self) -> None:
        super().__init__("the connection to the store's server had dropped")


def _disconnected() -> tuple[type[Exception], ...]:
    """The errors of a server that went away or cannot be reached."""
    import psycopg

    return (psycopg.OperationalError, psycopg.InterfaceError)


def _gone(conn: psycopg.Connection[Any]) -> bool:
    return bool(conn.closed or conn.broken)


def _unanswered(exc: BaseException, gone: bool = True) -> StoreError:
    """What the store says when the server failed a statement: unreachable when
    the connection is gone (the console says so and tries again by itself)."""
    kind = StoreUnreachable if gone else StoreError
    return kind("the store's server did not answer: {why}", why=_first_line(exc))


class PostgresBase(SqliteBase):
    """What every part of the store stands on, on PostgreSQL: a writer thread,
    bounded writers on connections of their own, a reader, and the clock."""

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        password: str | None,
        writer: psycopg.Connection[Any],
        reader: psycopg.Connection[Any],
        clock: Clock,
    ) -> None:
        # What SqliteBase.__init__ sets but its two SQLite connections.
        self.path = Path(safe_url(url))  # for messages and logs: never the password
        self.access = PRIVATE
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnitui-store")
        self._bounded = ThreadPoolExecutor(
            max_workers=BOUNDED_WRITERS, thread_name_prefix="omnitui-store-bounded"
        )
        self._spares_lock = threading.Lock()
        self.url = url
        self._password = password
        self._pg_writer = writer
        self._pg_reader = reader
        self._pg_spares: list[psycopg.Connection[Any]] = []
        self._reader_lock = asyncio.Lock()
        self._listener = ChangeListener(
            lambda: _connect(url, password, autocommit=True), safe_url(url)
        )

    @classmethod
    async def open_url(
        cls, url: str, *, password: str | None = None, clock: Clock = time.time
    ) -> Self:
        """Open (migrating as needed) the store in the PostgreSQL database at `url`.

        An unreachable server, a refused login or a database this role cannot
        use raises `StoreUnusable` saying so in one line.
        """
        import psycopg

        from omnitui.store.migrate import ensure_current_url

        def connect_both() -> tuple[psycopg.Connection[Any], psycopg.Connection[Any]]:
            ensure_current_url(url, password)
            writer = _connect(url, password)
            reader = _connect(url, password, autocommit=True)
            return writer, reader

        try:
            writer, reader = await asyncio.to_thread(connect_both)
        except (psycopg.Error, OSError) as exc:
            raise unreachable(url, exc) from None
        return cls(url, password, writer, reader, clock)

    def channel_lock(self) -> PgChannelLock:
        """The lock that makes one process, on any machine, the channel runner."""
        from omnitui.store.postgres.lock import PgChannelLock

        return PgChannelLock(self.url, self._password)

    async def wait_for_change(self, after: int, *, poll: float = 0.25) -> None:
        """Return once a change after `after` is committed (told by NOTIFY, on
        any machine), or the server went away or came back."""
        await self._listener.wait(after)

    async def close(self) -> None:
        await asyncio.to_thread(self._listener.stop)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._pg_writer.close)
        self._executor.shutdown(wait=True)
        await asyncio.to_thread(self._bounded.shutdown, wait=True)
        await asyncio.to_thread(self._pg_reader.close)
        with self._spares_lock:
            spares, self._pg_spares = self._pg_spares, []
        for conn in spares:
            conn.close()

    def _transaction(
        self, conn: psycopg.Connection[Any], fn: Callable[[Any], T], lock_wait: float | None
    ) -> T:
        pg = PgConn(conn)
        try:
            with conn.transaction():
                if lock_wait is not None:
                    conn.execute(f"SET LOCAL lock_timeout = {max(1, int(lock_wait * 1000))}")
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                pg.began = True
                result = fn(pg)
                if pg.notify:
                    # The newest change id rides along: a console that has read
                    # it already is not woken for nothing.
                    conn.execute(
                        "SELECT pg_notify(%s, (SELECT max(id) FROM change)::text)", (CHANNEL,)
                    )
        except _disconnected() as exc:
            if not pg.began and _gone(conn):
                raise _Stale() from exc  # dropped while idle: nothing was written
            raise
        return result

    def _writer_conn(self) -> psycopg.Connection[Any]:
        if self._pg_writer.closed:
            self._pg_writer = _connect(self.url, self._password)
        return self._pg_writer

    async def _write(self, fn: Callable[[Any], T]) -> T:
        """Run `fn` as one write transaction on the writer thread."""

        def transaction() -> T:
            for attempt in (1, 2):
                try:
                    return self._transaction(self._writer_conn(), fn, None)
                except _Stale as stale:
                    self._pg_writer.close()
                    if attempt == 1:
                        continue  # the server restarted since the last write
                    raise _unanswered(stale.__cause__ or stale) from None
                except _disconnected() as exc:
                    gone = _gone(self._pg_writer)
                    if gone:
                        self._pg_writer.close()
                    raise _unanswered(exc, gone) from None
            raise AssertionError("not reached")

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, transaction)

    async def _write_within(self, fn: Callable[[Any], T], seconds: float) -> T:
        """Run `fn` as one write transaction within `seconds`, or raise `StoreBusy`."""
        from psycopg import errors

        deadline = time.monotonic() + seconds

        def busy() -> StoreBusy:
            return StoreBusy(
                "the store was busy (another process was writing to it) for {seconds} s",
                seconds=f"{seconds:g}",
            )

        def attempt(conn: psycopg.Connection[Any]) -> T:
            left = deadline - time.monotonic()
            if left <= 0.01:
                raise busy()
            keep = True
            try:
                return self._transaction(conn, fn, left)
            except errors.LockNotAvailable:
                raise busy() from None
            except _Stale:
                keep = False
                raise
            except _disconnected() as exc:
                keep = not _gone(conn)
                raise _unanswered(exc, not keep) from None
            finally:
                if keep:
                    with self._spares_lock:
                        self._pg_spares.append(conn)
                else:
                    conn.close()

        def transaction() -> T:
            try:
                try:
                    return attempt(self._spare())
                except _Stale:
                    return attempt(self._spare())  # a spare the server dropped while idle
            except _Stale as stale:
                raise _unanswered(stale.__cause__ or stale) from None
            except _disconnected() as exc:  # no spare, and no new connection either
                raise _unanswered(exc) from None

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._bounded, transaction)

    def _spare(self) -> psycopg.Connection[Any]:  # type: ignore[override]
        with self._spares_lock:
            if self._pg_spares:
                return self._pg_spares.pop()
        return _connect(self.url, self._password)

    async def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        statement = translate(sql)

        def read() -> list[PgRow]:
            cursor = self._pg_reader.execute(statement.sql, _params(params))
            names = {c.name: i for i, c in enumerate(cursor.description or ())}
            return [PgRow(row, names) for row in cursor.fetchall()]

        def run() -> list[PgRow]:
            try:
                if not self._pg_reader.closed:
                    try:
                        return read()
                    except _disconnected() as exc:
                        if not _gone(self._pg_reader):  # the server refused the statement
                            raise _unanswered(exc, False) from None
                        # Dropped while idle (the server restarted), or the
                        # server is away: a read is safe to try again.
                        self._pg_reader.close()
                self._pg_reader = _connect(self.url, self._password, autocommit=True)
                return read()
            except _disconnected() as exc:
                gone = _gone(self._pg_reader)
                if gone:
                    self._pg_reader.close()
                raise _unanswered(exc, gone) from None

        # One reader connection answers one query at a time, on its own thread.
        async with self._reader_lock:
            return await asyncio.to_thread(run)

    def _change(self, conn: Any, kind: ChangeKind, contact_id: int | None) -> None:
        super()._change(conn, kind, contact_id)
        conn.notify = True


def check(url: str, password: str | None) -> tuple[bool, str]:
    """`omnitui doctor`'s line for a store on PostgreSQL: can it be reached and used?"""
    import psycopg

    from omnitui.store.migrate import HEAD

    place = safe_url(url)
    try:
        with psycopg.connect(url, password=password, connect_timeout=10) as conn:
            found = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
            if not found or not found[0]:
                return True, f"{place} (no OmniTUI tables yet: created on first start)"
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = str(row[0]) if row else None
            if revision is not None and revision > HEAD:
                return False, (
                    f"{place}: written by a newer OmniTUI (schema {revision}); upgrade OmniTUI"
                )
            contacts = conn.execute(
                "SELECT count(*) FROM contact WHERE merged_into IS NULL"
            ).fetchone()
    except (psycopg.Error, OSError) as exc:
        return False, unreachable(url, exc).message()
    return True, f"{place} ({contacts[0] if contacts else 0} contacts, schema {revision})"
