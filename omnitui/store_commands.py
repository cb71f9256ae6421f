"""`omnitui store copy --to postgresql://…`: a shop's SQLite store moved to PostgreSQL.

The SQLite file is only read (opened read-only, in one read transaction, so
the copy is of one moment of the shop). The database at the URL is brought
to the current schema first, then every table is copied with its ids, so
threads, merges, broadcasts and the channels' cursors line up as they did.
Tables go in foreign-key order, in batches of their own transaction each;
the search index is built anew on PostgreSQL from the messages.

An interrupted copy (Ctrl+C, kill -9, a dropped connection) is carried on by
running the same command again: a table with ids goes on above the highest
id already there, a table keyed otherwise is written again with the rows
already there left alone. A database holding anything but an earlier part of
this very copy is refused. At the end every table's rows are counted on both
sides; a difference exits 1.

The channels must not run while the store is copied (a message arriving then
would be missed): the copy holds the channel lock of both stores throughout.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from omnitui.cli import EXIT_ERROR, EXIT_OK, UsageError
from omnitui.errors import OmniError
from omnitui.i18n import N_, tr

if TYPE_CHECKING:
    import psycopg

    from omnitui.config import Settings

BATCH = 5_000  # rows per transaction on PostgreSQL
BATCH_BYTES = 32 * 1024 * 1024  # and at most about this much text and data
COPY_NAME = "omnitui store copy"  # the copy's connection, as pg_stat_activity shows it
SEARCH = "message_search"  # the search index: built from the messages, not copied
NOT_COPIED = {"alembic_version", SEARCH}
REPLACEMENT = "\ufffd"  # for a NUL character, which PostgreSQL's text cannot hold

# What each table holds, in the shop's words; also the order tables are
# copied in where foreign keys leave a choice.
LABELS: dict[str, str] = {
    "contact": N_("customers"),
    "identity": N_("addresses"),
    "message": N_("messages"),
    SEARCH: N_("search index"),
    "attachment": N_("attachments"),
    "canned_reply": N_("canned replies"),
    "cursor": N_("channel cursors"),
    "change": N_("change log"),
    "merge_record": N_("merges"),
    "field_history": N_("merged profile values"),
    "composing": N_("agents typing"),
    "channel_status": N_("channel problems"),
    "draft": N_("drafts"),
    "automation_event": N_("automation events"),
    "rule_firing": N_("rules fired"),
    "rule_timer": N_("rule timers"),
    "conversation": N_("conversations"),
    "message_hour": N_("hourly counts"),
    "broadcast": N_("broadcasts"),
    "broadcast_recipient": N_("broadcast recipients"),
    "webhook": N_("webhooks"),
    "webhook_delivery": N_("webhook deliveries"),
}


class CopyRefused(OmniError):
    """The copy cannot start, or cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Table:
    """A table as the database at the URL has it: its columns and primary key."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def by_id(self) -> bool:
        """Rows with an `id`: copied in id order, carried on above the highest there."""
        return self.key == ("id",)


@dataclass(frozen=True, slots=True)
class Tally:
    """One table's rows in the SQLite store and in PostgreSQL, after the copy."""

    label: str
    source: int
    target: int

    @property
    def same(self) -> bool:
        return self.source == self.target

    def line(self, width: int) -> str:
        """ "customers   3,214 = 3,214 ✓", the label padded to `width` terminal cells."""
        from rich.cells import cell_len

        mark = "=" if self.same else "≠"
        tick = "✓" if self.same else "✗"
        label = self.label + " " * (width - cell_len(self.label))
        return f"{label} {self.source:>11,} {mark} {self.target:,} {tick}"


class Progress:
    """What the copy tells the person watching: a table begun, rows written."""

    def begin(self, label: str, done: int, total: int) -> None:
        """A table is started with `done` of its `total` rows already there."""

    def advance(self, rows: int) -> None:
        """`rows` more rows of the current table are committed."""


class RichProgress(Progress):
    """A bar per table on standard error (standard output keeps the counts)."""

    def __init__(self, stack: ExitStack) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bars

        self._bars = stack.enter_context(
            Bars(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
        )
        self._task: Any = None

    def begin(self, label: str, done: int, total: int) -> None:
        self._task = self._bars.add_task(label, total=max(total, done), completed=done)

    def advance(self, rows: int) -> None:
        if self._task is not None:
            self._bars.advance(self._task, rows)


def cmd_store_copy(
    settings: Settings,
    to: str,
    *,
    password_env: str | None = None,
    batch: int = BATCH,
) -> int:
    """`omnitui store copy --to URL`: exit 0 when every table's count matches."""
    from omnitui.store.postgres.base import safe_url

    if not to.startswith(("postgresql://", "postgres://")):
        raise UsageError(
            "--to {url} is not a PostgreSQL URL (postgresql://user@host/database)",
            url=safe_url(to),
        )
    if batch < 1:
        raise UsageError("--batch must be at least 1")
    password = _password(settings, password_env)
    path = settings.store_path()
    try:
        return _copy(settings, path, to, password, batch)
    except KeyboardInterrupt:
        print(
            "omnitui: "
            + tr(
                "the copy was interrupted: run the same command again to carry on where it stopped"
            ),
            file=sys.stderr,
        )
        return EXIT_ERROR
    except CopyRefused as exc:
        print(f"omnitui: {exc.message()}", file=sys.stderr)
        return EXIT_ERROR


def _password(settings: Settings, variable: str | None) -> str | None:
    """--password-env's variable, else `[store] password_env / _cmd`, else None
    (the URL, ~/.pgpass or PGPASSWORD, as libpq finds them)."""
    from omnitui.config import SecretError

    if variable is not None:
        value = os.environ.get(variable)
        if not value:
            raise UsageError(
                "--password-env {variable}: the environment variable is not set",
                variable=variable,
            )
        return value
    secret = settings.store.password()
    if secret is None:
        return None
    try:
        return secret.reveal()
    except SecretError as exc:
        raise UsageError("{reason}", reason=exc) from None


def _copy(settings: Settings, path: Path, url: str, password: str | None, batch: int) -> int:
    import psycopg

    from omnitui.hub import ChannelLock
    from omnitui.store.migrate import ensure_current_url
    from omnitui.store.postgres.base import safe_url, unreachable
    from omnitui.store.postgres.lock import PgChannelLock

    if not path.is_file():
        raise CopyRefused("there is no store at {path} to copy ([store] path)", path=path)
    place = safe_url(url)
    with ExitStack() as stack:
        lock = ChannelLock(path, settings.store_access())
        if not lock.acquire():
            raise CopyRefused(
                "the channels of {path} are running (pid {pid}): a message arriving during "
                "the copy would be missed. Stop `omnitui serve` and the consoles first",
                path=path,
                pid=lock.holder(),
            )
        stack.callback(lock.release)
        source = stack.enter_context(_Source.open(path))
        try:
            ensure_current_url(url, password)
            # Autocommit: each batch below is a transaction of its own.
            target = stack.enter_context(
                psycopg.connect(
                    url,
                    password=password,
                    connect_timeout=10,
                    autocommit=True,
                    application_name=COPY_NAME,
                )
            )
        except (psycopg.Error, OSError) as exc:
            raise unreachable(url, exc) from None
        runner = PgChannelLock(url, password)
        if not runner.acquire():
            raise CopyRefused(
                "the channels of the store at {url} are running ({holder}): stop that "
                "`omnitui serve` before copying into it",
                url=place,
                holder=runner.holder(),
            )
        stack.callback(runner.release)
        print(tr("Copying {path} to {url}").format(path=path, url=place), flush=True)
        copy = StoreCopy(source.conn, target, batch=batch, source_name=str(path), target_name=place)
        try:
            copy.check_target()
            copy.run(RichProgress(stack))
            tallies = copy.tally()
        except psycopg.OperationalError as exc:
            raise CopyRefused(
                "the connection to {url} was lost ({why}): run the same command again to "
                "carry on where the copy stopped",
                url=place,
                why=_first_line(exc),
            ) from None
        except psycopg.Error as exc:
            raise CopyRefused(
                "PostgreSQL refused a row of {table}: {why}",
                table=copy.current,
                why=_first_line(exc),
            ) from None
    from rich.cells import cell_len

    width = max(cell_len(t.label) for t in tallies)
    for tally in tallies:
        print(tally.line(width))
    if all(t.same for t in tallies):
        print(
            tr(
                'Copied: every table has its rows. Set [store] url = "{url}" on every machine '
                "(README: Moving a shop to PostgreSQL)."
            ).format(url=_without_password(url))
        )
        return EXIT_OK
    print(
        "omnitui: "
        + tr("the counts differ: run the same command again to carry on where the copy stopped"),
        file=sys.stderr,
    )
    return EXIT_ERROR


def _without_password(url: str) -> str:
    """`url` as it goes in config.toml: the password comes from password_env instead."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = quote(parts.username or "", safe="")
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


class _Source:
    """The SQLite store, read-only, at the current schema.

    A store written by an older OmniTUI is not upgraded in place (the file
    stays as it is): a snapshot of it is, in a temporary folder.
    """

    def __init__(self, conn: sqlite3.Connection, stack: ExitStack) -> None:
        self.conn = conn
        self._stack = stack

    @classmethod
    def open(cls, path: Path) -> _Source:
        stack = ExitStack()
        try:
            return cls(cls._connect(path, stack), stack)
        except BaseException:
            stack.close()
            raise

    @staticmethod
    def _connect(path: Path, stack: ExitStack) -> sqlite3.Connection:
        from omnitui.store.migrate import HEAD, SchemaTooNew, ensure_current

        conn = _read_only(path)
        stack.callback(conn.close)
        revision = _revision(conn, path)
        if revision > HEAD:
            raise SchemaTooNew(
                "{path} has schema revision {revision}, newer than this OmniTUI knows ({head}); "
                "upgrade OmniTUI to open it",
                path=path,
                revision=revision,
                head=HEAD,
            )
        if revision != HEAD:
            folder = _snapshot_folder(path)
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
            snapshot = folder / "store.db"
            print(
                tr(
                    "{path} has an older schema ({revision}): copying from an upgraded "
                    "snapshot of it in {folder}"
                ).format(path=path, revision=revision, folder=folder),
                flush=True,
            )
            made = sqlite3.connect(snapshot)
            try:
                conn.backup(made)
            finally:
                made.close()
            ensure_current(snapshot)
            conn = _read_only(snapshot)
            stack.callback(conn.close)
        # One read transaction for the whole copy: every table as of one moment.
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self._stack.close()


def _snapshot_folder(store: Path) -> Path:
    """A private, empty temporary folder for the snapshot of `store`.

    Its name is the store's, so the snapshot a killed copy left behind is
    removed by the next run (the channel lock keeps two copies of one store
    from running at once).
    """
    digest = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"omnitui-copy-{os.getuid()}-{digest}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    return folder


def _read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, isolation_level=None
    )
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def _revision(conn: sqlite3.Connection, path: Path) -> str:
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone() if found else None
    except sqlite3.DatabaseError as exc:
        raise CopyRefused("{path} cannot be read: {why}", path=path, why=exc) from None
    if row is None:
        raise CopyRefused("{path} is not an OmniTUI store", path=path)
    return str(row[0])


class StoreCopy:
    """Copies the store on `source` (SQLite, in a read transaction) into `target`
    (an autocommit connection: each batch commits by itself)."""

    def __init__(
        self,
        source: sqlite3.Connection,
        target: psycopg.Connection[Any],
        *,
        batch: int = BATCH,
        source_name: str = "",
        target_name: str = "",
    ) -> None:
        self.source = source
        self.target = target
        self.batch = batch
        self._source_name = source_name
        self._target_name = target_name
        self.tables = _tables(target)
        self._counts: dict[str, int] = {}
        self.current = ""  # the table being copied, for messages

    # What is there before the copy.

    def source_count(self, table: str) -> int:
        if table not in self._counts:
            if table == SEARCH:
                sql = f"SELECT count(*) FROM {SEARCH} s JOIN message m ON m.id = s.rowid"
            else:
                sql = f'SELECT count(*) FROM "{table}"'
            self._counts[table] = int(self.source.execute(sql).fetchone()[0])
        return self._counts[table]

    def check_target(self) -> None:
        """Refuse a database that holds anything but an earlier part of this copy."""
        for table in self.tables:
            self.current = table.name
            if table.by_id:
                self._check_prefix(table)
            else:
                self._check_keyed(table)

    def _check_prefix(self, table: Table) -> None:
        first, last, count = self._pg_one(
            _sql("SELECT min(id), max(id), count(*) FROM {}", table.name)
        )
        if not count:
            return
        below = self.source.execute(
            f'SELECT count(*) FROM "{table.name}" WHERE id <= ?', (last,)
        ).fetchone()[0]
        if below != count:
            self._refuse(table, f"{count} rows up to id {last}, the store {below}")
        for row_id in {first, last}:
            self._same_row(table, ("id",), (row_id,))

    def _check_keyed(self, table: Table) -> None:
        count = self._pg_one(_sql("SELECT count(*) FROM {}", table.name))[0]
        if not count:
            return
        if count > self.source_count(table.name):
            self._refuse(table, f"{count} rows, the store {self.source_count(table.name)}")
        order = _sql_list(table.key)
        for direction in ("ASC", "DESC"):
            key = self._pg_one(
                _sql(
                    "SELECT {keys} FROM {} ORDER BY {order} " + direction + " LIMIT 1",
                    table.name,
                    keys=order,
                    order=order,
                )
            )
            self._same_row(table, table.key, tuple(key))

    def _same_row(self, table: Table, key: Sequence[str], values: Sequence[Any]) -> None:
        from psycopg import sql

        columns = _sql_list(table.columns)
        where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in key)
        there = self._pg_one(
            sql.SQL("SELECT {} FROM {} WHERE {}").format(
                columns, sql.Identifier(table.name), where
            ),
            values,
        )
        names = ", ".join(f'"{c}"' for c in table.columns)
        condition = " AND ".join(f'"{k}" = ?' for k in key)
        here = self.source.execute(
            f'SELECT {names} FROM "{table.name}" WHERE {condition}', tuple(values)
        ).fetchone()
        if here is None or [_clean(v) for v in here] != [_plain(v) for v in there]:
            shown = ", ".join(f"{k} {v}" for k, v in zip(key, values, strict=True))
            self._refuse(table, f"the row with {shown} differs")

    def _refuse(self, table: Table, detail: str) -> None:
        raise CopyRefused(
            "the database at {url} holds other data ({table}: {detail}): another shop's "
            "store, or this store has changed since an earlier copy began. Copy into a new, "
            "empty database",
            url=self._target_name,
            table=table.name,
            detail=detail,
        )

    # The copy.

    def run(self, progress: Progress) -> None:
        """Copy every table (carrying on where an earlier run stopped), then set
        each id sequence past the highest id."""
        for table in self.tables:
            self.current = table.name
            if table.by_id:
                self._copy_by_id(table, progress)
            else:
                self._copy_keyed(table, progress)
            if table.name == "message":
                self.current = SEARCH
                self._index(progress)
        self._set_sequences()

    def _copy_by_id(self, table: Table, progress: Progress) -> None:
        last, there = self._pg_one(
            _sql("SELECT coalesce(max(id), 0), count(*) FROM {}", table.name)
        )
        progress.begin(_label(table.name), there, self.source_count(table.name))
        names = ", ".join(f'"{c}"' for c in table.columns)
        rows = self.source.execute(
            f'SELECT {names} FROM "{table.name}" WHERE id > ? ORDER BY id', (last,)
        )
        self._copy_rows(
            table.name, table.columns, ([_clean(v) for v in row] for row in rows), progress
        )

    def _index(self, progress: Progress) -> None:
        """The search index on PostgreSQL, made from the messages the store indexes."""
        from omnitui.domain.search import pg_terms

        last, there = self._pg_one(
            _sql("SELECT coalesce(max(message_id), 0), count(*) FROM {}", SEARCH)
        )
        progress.begin(_label(SEARCH), there, self.source_count(SEARCH))
        rows = self.source.execute(
            f"SELECT m.id, m.subject, m.text FROM {SEARCH} s JOIN message m ON m.id = s.rowid "
            "WHERE s.rowid > ? ORDER BY s.rowid",
            (last,),
        )
        terms = ((row[0], pg_terms(f"{row[1]}\n{row[2]}")) for row in rows)
        self._copy_rows(SEARCH, ("message_id", "terms"), terms, progress)

    def _copy_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        progress: Progress,
    ) -> None:
        """COPY `rows` in, a batch per transaction, until there are no more."""
        from psycopg import sql

        from omnitui.store.postgres.base import WRITE_LOCK

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), _sql_list(columns)
        )
        pending = iter(rows)
        while True:
            written = size = 0
            with self.target.transaction():
                # As the store's own writes do: one writer at a time.
                self.target.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                with self.target.cursor().copy(statement) as copy:
                    for row in pending:
                        copy.write_row(row)
                        written += 1
                        size += _size(row)
                        if written >= self.batch or size >= BATCH_BYTES:
                            break
            progress.advance(written)
            if written < self.batch and size < BATCH_BYTES:
                return

    def _copy_keyed(self, table: Table, progress: Progress) -> None:
        """A table without ids: every row, those already there left as they are."""
        from psycopg import sql

        from omnitui.store.postgres.base import WRITE_LOCK

        there = self._pg_one(_sql("SELECT count(*) FROM {}", table.name))[0]
        total = self.source_count(table.name)
        progress.begin(_label(table.name), 0 if there < total else there, total)
        if there >= total:
            return
        names = ", ".join(f'"{c}"' for c in table.columns)
        order = ", ".join(f'"{c}"' for c in table.key)
        rows = self.source.execute(f'SELECT {names} FROM "{table.name}" ORDER BY {order}')
        if not there:  # nothing to step around: as fast as the tables with ids
            cleaned = ([_clean(v) for v in row] for row in rows)
            self._copy_rows(table.name, table.columns, cleaned, progress)
            return
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
            sql.Identifier(table.name),
            _sql_list(table.columns),
            sql.SQL(", ").join(sql.Placeholder() * len(table.columns)),
        )
        while chunk := rows.fetchmany(self.batch):
            with self.target.transaction():
                self.target.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                with self.target.cursor() as cursor:
                    cursor.executemany(insert, [[_clean(v) for v in row] for row in chunk])
            progress.advance(len(chunk))

    def _set_sequences(self) -> None:
        """Each table's next id follows its highest, as SQLite's would."""
        from psycopg import sql

        with self.target.transaction():
            for table in self.tables:
                if not table.by_id:
                    continue
                self.target.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                        "coalesce(max(id), 1), max(id) IS NOT NULL) FROM {}"
                    ).format(sql.Identifier(table.name)),
                    (sql.Identifier(table.name).as_string(self.target),),
                )

    # After it.

    def tally(self) -> list[Tally]:
        """Each table's rows on both sides (the search index after the messages)."""
        names = [t.name for t in self.tables]
        if "message" in names:
            names.insert(names.index("message") + 1, SEARCH)
        tallies = []
        for name in names:
            there = self._pg_one(_sql("SELECT count(*) FROM {}", name))[0]
            tallies.append(Tally(_label(name), self.source_count(name), int(there)))
        return tallies

    def _pg_one(self, statement: Any, params: Sequence[Any] = ()) -> Sequence[Any]:
        row = self.target.execute(statement, params).fetchone()
        assert row is not None
        return tuple(row)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _label(table: str) -> str:
    return tr(LABELS[table]) if table in LABELS else table


def _tables(conn: psycopg.Connection[Any]) -> list[Table]:
    """The store's tables in the database at the URL, in foreign-key order
    (a table after those it refers to), the search index left out."""
    names = [
        str(row[0])
        for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
        if row[0] not in NOT_COPIED
    ]
    tables: dict[str, Table] = {}
    for name in names:
        columns = tuple(
            str(row[0])
            for row in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                (_quoted(name),),
            )
        )
        key = tuple(
            str(row[0])
            for row in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary "
                "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                (_quoted(name),),
            )
        )
        tables[name] = Table(name, columns, key or columns)
    refers: dict[str, set[str]] = {name: set() for name in tables}
    for child, parent in conn.execute(
        "SELECT c.relname, p.relname FROM pg_constraint f "
        "JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class p ON p.oid = f.confrelid "
        "WHERE f.contype = 'f'"
    ):
        if child in refers and parent in tables and parent != child:
            refers[child].add(parent)
    return [tables[name] for name in _in_order(refers)]


def _in_order(refers: dict[str, set[str]]) -> Iterator[str]:
    """Each table after those it refers to; otherwise in `LABELS` order, then by name."""
    rank = {name: i for i, name in enumerate(LABELS)}
    done: set[str] = set()
    left = sorted(refers, key=lambda n: (rank.get(n, len(rank)), n))
    while left:
        ready = next((n for n in left if refers[n] <= done), left[0])  # a cycle: as listed
        left.remove(ready)
        done.add(ready)
        yield ready


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql(template: str, table: str, **parts: Any) -> Any:
    """`template` with its `{}` the quoted table name (and named parts as given)."""
    from psycopg import sql

    return sql.SQL(template).format(sql.Identifier(table), **parts)


def _sql_list(names: Sequence[str]) -> Any:
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _clean(value: Any) -> Any:
    """A value as PostgreSQL can hold it (its text cannot hold NUL)."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", REPLACEMENT)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _size(row: Sequence[Any]) -> int:
    return sum(len(v) for v in row if isinstance(v, str | bytes))


__all__ = ["CopyRefused", "StoreCopy", "Tally", "cmd_store_copy"]
