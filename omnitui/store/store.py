"""The store facade: every read and write OmniTUI makes, returning domain objects.

Reads go through an aiosqlite connection. Each write is one transaction run
as a single function on a dedicated writer thread, so two coroutines can never
interleave their statements inside one transaction. Every write also appends
to the `change` table, which every OmniTUI process on the same file polls
(`changes_since`) to stay live.

A write that must be done in a given time (a webhook that owes its provider
an answer) does not queue behind the others on that thread: it runs on a
connection of its own, waits for SQLite's write lock no longer than it was
given, and raises `StoreBusy` having written nothing if the lock did not come.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

from omnitui.domain.identity import InvalidAddress, normalize
from omnitui.domain.mail import parse_addresses
from omnitui.domain.merge import (
    FieldHistory,
    MergePlan,
    ProfileSnapshot,
    field_label,
    undo_profile,
)
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    Attachment,
    CannedReply,
    Channel,
    ChannelKind,
    Contact,
    ContactSummary,
    Delivery,
    DeliveryUpdate,
    Direction,
    Draft,
    Identity,
    IdentityKind,
    Inbound,
    Message,
    Outbound,
    OutboundFile,
    SearchHit,
    ThreadStatus,
)
from omnitui.domain.safe_text import one_line
from omnitui.domain.search import fts_query, index_terms
from omnitui.domain.views import VIEW_SQL, VIEWS, AnyView, TagView, View, view_condition
from omnitui.store.files import PRIVATE, Access, StoreUnusable, explain, prepare
from omnitui.store.migrate import ensure_current

if TYPE_CHECKING:
    from omnitui.contacts_file import ContactRecord
    from omnitui.domain.duplicates import Suggestion

T = TypeVar("T")
Clock = Callable[[], float]

# Delivery states a provider's later word may move a message between; a late
# "sent" never overwrites "delivered".
_DELIVERY_RANK = {
    Delivery.QUEUED: 0,
    Delivery.SENDING: 1,
    Delivery.UNKNOWN: 2,
    Delivery.SENT: 3,
    Delivery.DELIVERED: 4,
    Delivery.FAILED: 4,
}


class StoreError(Exception):
    """A store operation that cannot be done, with a reason for the user."""


class StoreBusy(StoreError):
    """A bounded write did not get the store in time (another writer held it); nothing
    was written."""


# Bounded writes run side by side, each on its own connection, each waiting for
# SQLite's lock by itself: one that waits long never holds up the next.
BOUNDED_WRITERS = 4


@dataclass(frozen=True, slots=True)
class IngestResult:
    message_id: int
    contact_id: int
    created: bool  # False when the message was already stored (a resend)


@dataclass(frozen=True, slots=True)
class RecordedOutbound:
    """A reply already sent, to be kept in the thread as it was."""

    channel: Channel
    address: str  # normalised identity address it went to
    text: str
    sent_at: float
    provider_id: str
    subject: str = ""
    status: Delivery = Delivery.DELIVERED
    author: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawnReply:
    """A reply taken back before it was sent, to put in the composer again."""

    contact_id: int
    channel: Channel
    subject: str
    text: str
    files: tuple[OutboundFile, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LastMail:
    """The customer's newest mail on an account: what a reply to it starts from."""

    subject: str
    sender: str  # the address it came from (Reply-To when it had one)
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileFields:
    first_name: str = ""
    language: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    last_id: int
    contact_ids: frozenset[int]
    kinds: frozenset[str]
    noted: frozenset[int] = frozenset()  # contacts with a new internal note


@dataclass(frozen=True, slots=True)
class ThreadCursor:
    """Where a thread page ends, to fetch the page before it."""

    sent_at: float
    message_id: int


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


class Store:
    """OmniTUI's single source of truth, on one SQLite file.

    Build it with `await Store.open(path)`; close it with `await store.close()`.
    """

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
    ) -> Store:
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
            raise StoreUnusable(explain(path, exc)) from None
        try:
            reader = await aiosqlite.connect(path, isolation_level=None)
            await reader.execute("PRAGMA busy_timeout = 10000")
            await reader.execute("PRAGMA query_only = ON")
        except (sqlite3.Error, OSError) as exc:
            writer.close()
            raise StoreUnusable(explain(path, exc)) from None
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

    # -- plumbing -----------------------------------------------------------

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
                f"the store was busy (another process was writing to it) for {seconds:g} s"
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

    def _change(self, conn: sqlite3.Connection, kind: str, contact_id: int | None) -> None:
        conn.execute(
            "INSERT INTO change(kind, contact_id, at) VALUES (?, ?, ?)",
            (kind, contact_id, self._clock()),
        )

    # -- contacts -----------------------------------------------------------

    async def list_contacts(
        self,
        *,
        limit: int = 200,
        after: tuple[float, int] | None = None,
        view: AnyView = View.ALL,
        agent: str = "",
    ) -> list[ContactSummary]:
        """Contacts in a view by last activity, newest first, one page at a time.

        `after` is the (last_activity, id) of the last row of the previous page.
        """
        condition, view_params = view_condition(view)
        where = ["merged_into IS NULL", condition]
        params: dict[str, Any] = {"agent": agent, "limit": limit, **view_params}
        if after is not None:
            where.append("(last_activity, id) < (:after_at, :after_id)")
            params.update(after_at=after[0], after_id=after[1])
        rows = await self._rows(
            f"SELECT {_SUMMARY_COLUMNS} FROM contact "
            f"WHERE {' AND '.join(where)} ORDER BY last_activity DESC, id DESC LIMIT :limit",
            params,
        )
        return [_summary(row) for row in rows]

    async def contact_position(
        self, contact_id: int, *, view: AnyView = View.ALL, agent: str = ""
    ) -> int | None:
        """How many contacts come before `contact_id` in a view's list, or None
        when the view does not hold it (to load the list as far as it)."""
        condition, view_params = view_condition(view)
        params: dict[str, Any] = {"agent": agent, "id": contact_id, **view_params}
        where = f"merged_into IS NULL AND {condition}"
        rows = await self._rows(
            f"SELECT last_activity FROM contact WHERE id = :id AND {where}", params
        )
        if not rows:
            return None
        params["at"] = rows[0][0]
        before = await self._rows(
            f"SELECT count(*) FROM contact WHERE {where} AND (last_activity, id) > (:at, :id)",
            params,
        )
        return int(before[0][0])

    async def view_counts(self, agent: str = "") -> dict[AnyView, int]:
        """How many contacts each view holds: the fixed views (one pass over the
        contacts), then one view per tag in use, by tag name."""
        columns = ", ".join(f"coalesce(sum({VIEW_SQL[v]}), 0)" for v in VIEWS)
        rows = await self._rows(
            f"SELECT {columns} FROM contact WHERE merged_into IS NULL", {"agent": agent}
        )
        counts: dict[AnyView, int] = {v: int(n) for v, n in zip(VIEWS, rows[0], strict=True)}
        tags = await self._rows(
            "SELECT json_each.value, count(*) FROM contact, json_each(contact.tags) "
            "WHERE merged_into IS NULL AND json_each.type = 'text' "
            "GROUP BY json_each.value ORDER BY json_each.value"
        )
        counts.update({TagView(str(tag)): int(n) for tag, n in tags})
        return counts

    async def next_waiting(self) -> int | None:
        """The customer who has waited longest for an answer."""
        rows = await self._rows(
            f"SELECT id FROM contact WHERE merged_into IS NULL AND {VIEW_SQL[View.WAITING]} "
            "ORDER BY last_activity, id LIMIT 1"
        )
        return int(rows[0][0]) if rows else None

    async def set_assignee(self, contact_id: int, agent: str | None) -> None:
        """Give a customer's thread to an agent (None: to nobody)."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE contact SET assignee = ? WHERE id = ?", (agent, contact_id))
            self._change(conn, "assign", contact_id)

        await self._write(run)

    async def contact_summary(self, contact_id: int, agent: str = "") -> ContactSummary | None:
        rows = await self._rows(
            f"SELECT {_SUMMARY_COLUMNS} FROM contact WHERE id = :id",
            {"id": contact_id, "agent": agent},
        )
        return _summary(rows[0]) if rows else None

    # -- drafts -------------------------------------------------------------

    async def draft(self, contact_id: int, agent: str) -> Draft | None:
        """The agent's unsent reply to this customer, if they started one."""
        rows = await self._rows(
            "SELECT text, account, subject FROM draft WHERE contact_id = ? AND agent = ?",
            (contact_id, agent),
        )
        return Draft(rows[0][0], rows[0][1], rows[0][2]) if rows else None

    async def save_draft(self, contact_id: int, agent: str, draft: Draft | None) -> None:
        """Keep (or, with None or empty text, drop) the agent's draft to a customer.

        A draft that starts or ends is a change the contact list shows (its
        marker); the text changing as the agent types is not.
        """

        def run(conn: sqlite3.Connection) -> None:
            existed = conn.execute(
                "SELECT 1 FROM draft WHERE contact_id = ? AND agent = ?", (contact_id, agent)
            ).fetchone()
            if draft is None or not draft.text.strip():
                conn.execute(
                    "DELETE FROM draft WHERE contact_id = ? AND agent = ?", (contact_id, agent)
                )
                if existed:
                    self._change(conn, "draft", contact_id)
                return
            conn.execute(
                "INSERT INTO draft(contact_id, agent, text, account, subject, at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(contact_id, agent) DO UPDATE SET "
                "text = excluded.text, account = excluded.account, "
                "subject = excluded.subject, at = excluded.at",
                (contact_id, agent, draft.text, draft.account, draft.subject, self._clock()),
            )
            if not existed:
                self._change(conn, "draft", contact_id)

        await self._write(run)

    async def count_contacts(self) -> int:
        rows = await self._rows("SELECT count(*) FROM contact WHERE merged_into IS NULL")
        return int(rows[0][0])

    async def get_contact(self, contact_id: int) -> Contact:
        rows = await self._rows(
            "SELECT id, name, first_name, language, profile, status, snoozed_until, assignee, "
            "tags, unread, last_activity, last_account FROM contact WHERE id = ?",
            (contact_id,),
        )
        if not rows:
            raise StoreError(f"no contact {contact_id}")
        r = rows[0]
        idents = await self._rows(
            "SELECT id, contact_id, kind, address, display, last_used, opted_out FROM identity "
            "WHERE contact_id = ? ORDER BY last_used DESC NULLS LAST, id",
            (contact_id,),
        )
        return Contact(
            id=r[0],
            name=r[1],
            first_name=r[2],
            language=r[3],
            profile=json.loads(r[4] or "{}"),
            status=ThreadStatus(r[5]),
            snoozed_until=r[6],
            assignee=r[7],
            tags=tuple(json.loads(r[8] or "[]")),
            unread=r[9],
            last_activity=r[10],
            last_account=r[11],
            identities=tuple(
                Identity(i[0], i[1], IdentityKind(i[2]), i[3], i[4], i[5], bool(i[6]))
                for i in idents
            ),
        )

    async def contact_channels(self, contact_id: int) -> list[tuple[str, ChannelKind]]:
        """The channel accounts this contact has written on, most recent first."""
        rows = await self._rows(
            "SELECT account, kind, max(sent_at) AS last FROM message "
            "WHERE contact_id = ? AND direction = 'in' GROUP BY account, kind ORDER BY last DESC",
            (contact_id,),
        )
        return [(r[0], ChannelKind(r[1])) for r in rows]

    async def create_contact(
        self,
        name: str,
        identities: Sequence[tuple[IdentityKind, str]],
        profile: ProfileFields | None = None,
        *,
        region: str | None = None,
    ) -> int:
        """A new contact with known identities (an import, a customer met in the shop)."""
        now = self._clock()
        p = profile or ProfileFields()

        def run(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO contact(name, first_name, language, profile, status, tags, unread, "
                "last_activity, last_preview, channels, created_at) "
                "VALUES (?, ?, ?, ?, 'open', '[]', 0, 0, '', '', ?)",
                (
                    name,
                    p.first_name,
                    p.language,
                    json.dumps(dict(p.fields), ensure_ascii=False),
                    now,
                ),
            )
            contact_id = int(cur.lastrowid or 0)
            for kind, raw in identities:
                address = normalize(kind, raw, region)
                taken = conn.execute(
                    "SELECT contact_id FROM identity WHERE kind = ? AND address = ?",
                    (str(kind), address),
                ).fetchone()
                if taken is not None:
                    raise StoreError(f"{kind} {address} already belongs to contact {taken[0]}")
                conn.execute(
                    "INSERT INTO identity(contact_id, kind, address, display, data, opted_out, "
                    "created_at) VALUES (?, ?, ?, ?, '{}', 0, ?)",
                    (contact_id, str(kind), address, name, now),
                )
            self._change(conn, "contact", contact_id)
            return contact_id

        return await self._write(run)

    async def address_owner(self, kind: IdentityKind, address: str) -> int | None:
        """The contact a normalised address belongs to, if any."""
        rows = await self._rows(
            "SELECT contact_id FROM identity WHERE kind = ? AND address = ?", (str(kind), address)
        )
        return int(rows[0][0]) if rows else None

    async def contact_for_address(
        self, kind: IdentityKind, raw: str, *, name: str = "", region: str | None = None
    ) -> tuple[int, bool]:
        """The customer with this address, made now if nobody has it (an agent
        writing to someone new): (contact id, whether it was made).

        The address is normalised first, so `Hanako@Example.jp` finds
        hanako@example.jp and `090-1234-5678` finds +819012345678.
        """
        try:
            address = normalize(kind, raw, region)
        except InvalidAddress as exc:
            raise StoreError(str(exc)) from None
        now = self._clock()

        def run(conn: sqlite3.Connection) -> tuple[int, bool]:
            row = conn.execute(
                "SELECT contact_id FROM identity WHERE kind = ? AND address = ?",
                (str(kind), address),
            ).fetchone()
            if row is not None:
                return int(row[0]), False
            _identity_id, contact_id = self._identity_for(conn, kind, address, name, now)
            # At the top of the list while the agent writes to them.
            conn.execute("UPDATE contact SET last_activity = ? WHERE id = ?", (now, contact_id))
            self._change(conn, "contact", contact_id)
            return contact_id, True

        return await self._write(run)

    async def import_contacts(self, records: Sequence[ContactRecord]) -> tuple[int, int, list[str]]:
        """Add or update contacts from a customer list, in one transaction.

        A row whose addresses are already known updates that contact (its
        non-empty values win, fields it does not name are kept); a row whose
        addresses belong to two different contacts is reported, not merged.
        Returns (created, updated, problems).
        """
        now = self._clock()

        def run(conn: sqlite3.Connection) -> tuple[int, int, list[str]]:
            created = updated = 0
            problems: list[str] = []
            for record in records:
                owners = {
                    int(r[0])
                    for kind, address in record.identities
                    for r in conn.execute(
                        "SELECT contact_id FROM identity WHERE kind = ? AND address = ?",
                        (str(kind), address),
                    )
                }
                if len(owners) > 1:
                    problems.append(
                        f"line {record.line}: its addresses belong to different contacts "
                        f"({', '.join(map(str, sorted(owners)))}); merge them in the console"
                    )
                    continue
                if owners:
                    contact_id = owners.pop()
                    row = conn.execute(
                        "SELECT profile, tags FROM contact WHERE id = ?", (contact_id,)
                    ).fetchone()
                    profile = {**json.loads(row[0] or "{}"), **record.fields}
                    tags = list(dict.fromkeys([*json.loads(row[1] or "[]"), *record.tags]))
                    conn.execute(
                        "UPDATE contact SET name = ?, first_name = CASE WHEN ? = '' THEN "
                        "first_name ELSE ? END, language = CASE WHEN ? = '' THEN language "
                        "ELSE ? END, profile = ?, tags = ? WHERE id = ?",
                        (
                            record.name,
                            record.first_name,
                            record.first_name,
                            record.language,
                            record.language,
                            json.dumps(profile, ensure_ascii=False),
                            json.dumps(tags, ensure_ascii=False),
                            contact_id,
                        ),
                    )
                    updated += 1
                else:
                    cur = conn.execute(
                        "INSERT INTO contact(name, first_name, language, profile, status, tags, "
                        "unread, last_activity, last_preview, channels, created_at) "
                        "VALUES (?, ?, ?, ?, 'open', ?, 0, 0, '', '', ?)",
                        (
                            record.name,
                            record.first_name,
                            record.language,
                            json.dumps(record.fields, ensure_ascii=False),
                            json.dumps(list(record.tags), ensure_ascii=False),
                            now,
                        ),
                    )
                    contact_id = int(cur.lastrowid or 0)
                    created += 1
                for kind, address in record.identities:
                    conn.execute(
                        "INSERT OR IGNORE INTO identity(contact_id, kind, address, display, data, "
                        "opted_out, created_at) VALUES (?, ?, ?, ?, '{}', 0, ?)",
                        (contact_id, str(kind), address, record.name, now),
                    )
                self._change(conn, "contact", contact_id)
            return created, updated, problems

        return await self._write(run)

    async def duplicate_suggestions(
        self, *, region: str | None = None, recent: int = 2000
    ) -> list[Suggestion]:
        """Possible duplicates among the most recently active contacts."""
        from omnitui.domain import duplicates

        contacts = await self._rows(
            "SELECT id, name FROM contact WHERE merged_into IS NULL "
            "ORDER BY last_activity DESC LIMIT ?",
            (recent,),
        )
        candidates = [duplicates.Candidate(int(r[0]), str(r[1])) for r in contacts]
        owners = {
            str(r[0]): int(r[1])
            for r in await self._rows(
                "SELECT address, contact_id FROM identity WHERE kind = 'phone'"
            )
        }
        texts = [
            (int(r[0]), str(r[1]))
            for r in await self._rows(
                "SELECT contact_id, text FROM message WHERE direction = 'in' AND kind = 'email' "
                "ORDER BY id DESC LIMIT 5000"
            )
        ]
        dismissed = {
            (min(int(r[0]), int(r[1])), max(int(r[0]), int(r[1])))
            for r in await self._rows(
                "SELECT source_contact_id, target_contact_id FROM merge_record "
                "WHERE action = 'dismiss'"
            )
        }
        found = [
            *duplicates.similar_names(candidates),
            *duplicates.phone_mentions(texts, owners, region),
        ]
        return duplicates.rank(found, dismissed)

    async def dismiss_suggestion(self, a: int, b: int, *, agent: str | None = None) -> None:
        """The agent says these two are different customers: stop suggesting them."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO merge_record(action, source_contact_id, target_contact_id, "
                "identity_ids, evidence, agent, at) VALUES ('dismiss', ?, ?, '[]', '', ?, ?)",
                (a, b, agent, self._clock()),
            )

        await self._write(run)

    async def all_contacts(self) -> list[Contact]:
        """Every contact with its identities (for an export)."""
        rows = await self._rows(
            "SELECT id FROM contact WHERE merged_into IS NULL ORDER BY name, id"
        )
        return [await self.get_contact(int(r[0])) for r in rows]

    async def set_profiles(self, profiles: Mapping[int, ProfileFields]) -> None:
        """Fill several contacts' profile fields in one transaction (imports, the demo)."""

        def run(conn: sqlite3.Connection) -> None:
            for contact_id, p in profiles.items():
                conn.execute(
                    "UPDATE contact SET first_name = ?, language = ?, profile = ? WHERE id = ?",
                    (
                        p.first_name,
                        p.language,
                        json.dumps(dict(p.fields), ensure_ascii=False),
                        contact_id,
                    ),
                )
                self._change(conn, "contact", contact_id)

        await self._write(run)

    async def update_contact(
        self,
        contact_id: int,
        *,
        name: str | None = None,
        first_name: str | None = None,
        language: str | None = None,
        profile: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        """Edit a contact's profile; only the fields given change."""

        def run(conn: sqlite3.Connection) -> None:
            sets: list[str] = []
            params: list[Any] = []
            if tags is not None:
                sets.append("tags = ?")
                params.append(json.dumps(list(dict.fromkeys(tags)), ensure_ascii=False))
            for column, value in (
                ("name", name),
                ("first_name", first_name),
                ("language", language),
            ):
                if value is not None:
                    sets.append(f"{column} = ?")
                    params.append(value)
            if profile is not None:
                sets.append("profile = ?")
                params.append(json.dumps(dict(profile), ensure_ascii=False))
            if not sets:
                return
            conn.execute(
                f"UPDATE contact SET {', '.join(sets)} WHERE id = ?", (*params, contact_id)
            )
            self._change(conn, "contact", contact_id)

        await self._write(run)

    async def set_status(
        self, contact_id: int, status: ThreadStatus, snoozed_until: float | None = None
    ) -> None:
        """Resolve, reopen, mark pending or snooze a contact's thread."""
        if status is ThreadStatus.SNOOZED and snoozed_until is None:
            raise StoreError("snoozing needs a time to wake up")

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE contact SET status = ?, snoozed_until = ? WHERE id = ?",
                (
                    str(status),
                    snoozed_until if status is ThreadStatus.SNOOZED else None,
                    contact_id,
                ),
            )
            self._change(conn, "status", contact_id)

        await self._write(run)

    async def wake_snoozed(self) -> list[int]:
        """Reopen threads whose snooze has run out; returns their contact ids."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> list[int]:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM contact WHERE status = 'snoozed' AND snoozed_until <= ?", (now,)
                )
            ]
            for contact_id in ids:
                conn.execute(
                    "UPDATE contact SET status = 'open', snoozed_until = NULL WHERE id = ?",
                    (contact_id,),
                )
                self._change(conn, "status", contact_id)
            return ids

        return await self._write(run)

    async def mark_read(self, contact_id: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE contact SET unread = 0 WHERE id = ? AND unread != 0", (contact_id,)
            )
            if cur.rowcount:
                self._change(conn, "read", contact_id)

        await self._write(run)

    async def set_opted_out(
        self, kind: IdentityKind, address: str, opted_out: bool, *, region: str | None = None
    ) -> int:
        """Record that a customer opted out of a channel (an SMS STOP), or back in.

        A customer not seen before gets their identity now, so an opt-out
        recorded before their message is stored is never lost. Returns the
        contact id.
        """
        try:
            normalized = normalize(kind, address, region)
        except InvalidAddress:
            normalized = address.strip().lower()
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            identity_id, contact_id = self._identity_for(conn, kind, normalized, "", now)
            cur = conn.execute(
                "UPDATE identity SET opted_out = ? WHERE id = ? AND opted_out != ?",
                (int(opted_out), identity_id, int(opted_out)),
            )
            if cur.rowcount:
                self._change(conn, "consent", contact_id)
            return contact_id

        return await self._write(run)

    # -- threads ------------------------------------------------------------

    async def thread_page(
        self, contact_id: int, *, before: ThreadCursor | None = None, limit: int = 50
    ) -> list[Message]:
        """Up to `limit` messages of a contact's merged thread, oldest first,
        ending just before `before` (or at the newest message)."""
        params: list[Any] = [contact_id]
        where = "m.contact_id = ?"
        if before is not None:
            where += " AND (m.sent_at, m.id) < (?, ?)"
            params.extend((before.sent_at, before.message_id))
        params.append(limit)
        rows = await self._rows(
            "SELECT m.id, m.contact_id, m.kind, m.account, m.direction, m.subject, m.text, "
            "m.sent_at, m.status, m.status_reason, m.author, coalesce(i.display, i.address, ''), "
            "m.edited, m.parse_error, json_extract(m.meta, '$.reply'), m.raw IS NOT NULL, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.to') END, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.cc') END, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.bcc') END, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.signature') END "
            "FROM message m LEFT JOIN identity i ON i.id = m.identity_id "
            f"WHERE {where} ORDER BY m.sent_at DESC, m.id DESC LIMIT ?",
            params,
        )
        rows.reverse()
        attachments: dict[int, list[Attachment]] = {}
        if rows:
            ids = [r[0] for r in rows]
            for a in await self._rows(
                "SELECT id, message_id, filename, content_type, size, note FROM attachment "
                f"WHERE message_id IN ({','.join('?' * len(ids))}) ORDER BY id",
                ids,
            ):
                attachments.setdefault(a[1], []).append(Attachment(*a))
        return [
            Message(
                id=r[0],
                contact_id=r[1],
                kind=ChannelKind(r[2]) if r[2] else None,
                account=r[3],
                direction=Direction(r[4]),
                subject=r[5],
                text=r[6],
                sent_at=r[7],
                status=Delivery(r[8]),
                status_reason=r[9],
                author=r[10],
                sender=r[11],
                edited=bool(r[12]),
                parse_error=r[13],
                attachments=tuple(attachments.get(r[0], ())),
                folded=r[14] if isinstance(r[14], str) else "",
                has_source=bool(r[15]),
                to=_json_strings(r[16]),
                cc=_json_strings(r[17]),
                bcc=_json_strings(r[18]),
                signature=r[19] if isinstance(r[19], str) else "",
            )
            for r in rows
        ]

    async def thread_around(
        self, contact_id: int, message_id: int, *, limit: int = 50, newer: int = 10
    ) -> tuple[list[Message], bool]:
        """A page of a thread that holds `message_id` with some context after it;
        returns the page (oldest first) and whether older messages exist."""
        position = await self.message_position(message_id)
        if position is None or position[0] != contact_id:
            page = await self.thread_page(contact_id, limit=limit)
            return page, len(page) >= limit
        cursor = position[1]
        rows = await self._rows(
            "SELECT sent_at, id FROM message WHERE contact_id = ? AND (sent_at, id) > (?, ?) "
            "ORDER BY sent_at, id LIMIT ?",
            (contact_id, cursor.sent_at, cursor.message_id, newer),
        )
        end = ThreadCursor(rows[-1][0], rows[-1][1] + 1) if rows else None
        if end is None:
            page = await self.thread_page(contact_id, limit=limit)
        else:
            page = await self.thread_page(contact_id, before=end, limit=limit)
        return page, len(page) >= limit

    async def read_refs(
        self, contact_ids: Collection[int], accounts: Collection[str], *, limit: int = 500
    ) -> dict[str, list[dict[str, object]]]:
        """Provider references (`meta.imap`) of the newest inbound messages of
        these contacts on these accounts, by account: what the agent has read."""
        if not contact_ids or not accounts:
            return {}
        rows = await self._rows(
            "SELECT account, json_extract(meta, '$.imap') FROM message "
            f"WHERE contact_id IN ({','.join('?' * len(contact_ids))}) AND direction = 'in' "
            f"AND account IN ({','.join('?' * len(accounts))}) "
            "AND json_extract(meta, '$.imap') IS NOT NULL ORDER BY id DESC LIMIT ?",
            [*contact_ids, *accounts, limit],
        )
        out: dict[str, list[dict[str, object]]] = {}
        for account, ref in rows:
            out.setdefault(account, []).append(json.loads(ref))
        return out

    async def message_source(self, message_id: int) -> bytes | None:
        """The raw source of a message as it arrived (kept for email)."""
        rows = await self._rows("SELECT raw FROM message WHERE id = ?", (message_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    async def message_source_head(self, message_id: int, limit: int) -> tuple[bytes, int] | None:
        """The first `limit` bytes of a message's raw source and its whole size
        (a 15 MB mail is not read whole to be shown)."""
        rows = await self._rows(
            "SELECT substr(raw, 1, ?), length(raw) FROM message WHERE id = ? AND raw IS NOT NULL",
            (limit, message_id),
        )
        return (bytes(rows[0][0]), int(rows[0][1])) if rows else None

    async def attachment_data(self, attachment_id: int) -> bytes | None:
        rows = await self._rows("SELECT data FROM attachment WHERE id = ?", (attachment_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    async def message_position(self, message_id: int) -> tuple[int, ThreadCursor] | None:
        """The contact of a message and a cursor just after it (to page to it)."""
        rows = await self._rows(
            "SELECT contact_id, sent_at, id FROM message WHERE id = ?", (message_id,)
        )
        if not rows:
            return None
        return rows[0][0], ThreadCursor(rows[0][1], rows[0][2])

    # -- inbound ------------------------------------------------------------

    async def ingest(
        self,
        items: Sequence[Inbound],
        *,
        cursors: Mapping[tuple[str, str], str] | None = None,
        region: str | None = None,
        within: float | None = None,
    ) -> list[IngestResult]:
        """Store inbound messages and the adapter's cursor in one transaction.

        Idempotent on (channel account, provider id): a message already stored
        is not stored again (an edit updates it in place). With `within`, the
        store takes them within that many seconds or raises `StoreBusy`,
        having stored nothing.
        """

        def run(conn: sqlite3.Connection) -> list[IngestResult]:
            results = [self._ingest_one(conn, item, region) for item in items]
            for (account, key), value in (cursors or {}).items():
                conn.execute(
                    "INSERT INTO cursor(account, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(account, key) DO UPDATE SET value = excluded.value",
                    (account, key, value),
                )
            return results

        if within is not None:
            return await self._write_within(run, within)
        return await self._write(run)

    async def known_provider_ids(self, account: str, provider_ids: Sequence[str]) -> set[str]:
        """Which of `provider_ids` are already stored for `account`."""
        known: set[str] = set()
        ids = list(dict.fromkeys(provider_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._rows(
                f"SELECT provider_id FROM message WHERE account = ? "
                f"AND provider_id IN ({','.join('?' * len(chunk))})",
                (account, *chunk),
            )
            known.update(str(r[0]) for r in rows)
        return known

    def _ingest_one(
        self, conn: sqlite3.Connection, item: Inbound, region: str | None
    ) -> IngestResult:
        account = item.channel.account
        existing = conn.execute(
            "SELECT id, contact_id FROM message WHERE account = ? AND provider_id = ?",
            (account, item.provider_id),
        ).fetchone()
        if existing is not None:
            if item.edited:
                conn.execute(
                    "UPDATE message SET text = ?, subject = ?, edited = 1 WHERE id = ?",
                    (item.text, item.subject, existing[0]),
                )
                conn.execute("DELETE FROM message_search WHERE rowid = ?", (existing[0],))
                conn.execute(
                    "INSERT INTO message_search(rowid, terms) VALUES (?, ?)",
                    (existing[0], index_terms(f"{item.subject}\n{item.text}")),
                )
                self._change(conn, "message", existing[1])
            return IngestResult(existing[0], existing[1], False)

        now = self._clock()
        identity_kind = IDENTITY_FOR_CHANNEL[item.channel.kind]
        try:
            address = normalize(identity_kind, item.address, region)
        except InvalidAddress:
            # Never drop a message over an odd address: keep it as written.
            address = item.address.strip().lower() or f"unknown:{account}"
        identity_id, contact_id = self._identity_for(
            conn, identity_kind, address, item.display_name, now
        )
        if item.identity_data or item.linked_identities:
            self._remember_sender(conn, identity_id, contact_id, item, region, now)
        meta = json.dumps(dict(item.meta), ensure_ascii=False, default=str)
        cur = conn.execute(
            "INSERT INTO message(contact_id, identity_id, account, kind, direction, provider_id, "
            "subject, text, html, raw, meta, sent_at, created_at, status, status_reason, author, "
            "attempts, edited, parse_error) "
            "VALUES (?, ?, ?, ?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, 'received', '', NULL, 0, ?, ?)",
            (
                contact_id,
                identity_id,
                account,
                str(item.channel.kind),
                item.provider_id,
                item.subject,
                item.text,
                item.html,
                item.raw,
                meta,
                item.sent_at,
                now,
                int(item.edited),
                item.parse_error,
            ),
        )
        message_id = int(cur.lastrowid or 0)
        conn.execute(
            "INSERT INTO message_search(rowid, terms) VALUES (?, ?)",
            (message_id, index_terms(f"{item.subject}\n{item.text}")),
        )
        for att in item.attachments:
            conn.execute(
                "INSERT INTO attachment(message_id, filename, content_type, size, data, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, att.filename, att.content_type, att.size, att.data, att.note),
            )
        preview = (
            item.text or item.subject or (item.attachments[0].filename if item.attachments else "")
        )
        self._touch_contact(
            conn,
            contact_id,
            item.sent_at,
            one_line(preview, 120),
            Direction.IN,
            account,
            item.channel.kind,
            unread=1,
        )
        conn.execute(
            "UPDATE identity SET last_used = max(coalesce(last_used, 0), ?), "
            "display = CASE WHEN display = '' THEN ? ELSE display END WHERE id = ?",
            (item.sent_at, item.display_name, identity_id),
        )
        if item.opt_out is not None:
            # An SMS STOP / START: recorded with the message that says it, so a
            # crash cannot keep one without the other, and an old message
            # listed again later never overrules a newer wish.
            changed = conn.execute(
                "UPDATE identity SET opted_out = ? WHERE id = ? AND opted_out != ?",
                (int(item.opt_out), identity_id, int(item.opt_out)),
            )
            if changed.rowcount:
                self._change(conn, "consent", contact_id)
        # A new message from the customer reopens a resolved or snoozed thread.
        conn.execute(
            "UPDATE contact SET status = 'open', snoozed_until = NULL "
            "WHERE id = ? AND status IN ('resolved', 'snoozed')",
            (contact_id,),
        )
        self._change(conn, "inbound", contact_id)
        return IngestResult(message_id, contact_id, True)

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

    def _remember_sender(
        self,
        conn: sqlite3.Connection,
        identity_id: int,
        contact_id: int,
        item: Inbound,
        region: str | None,
        now: float,
    ) -> None:
        """Keep what an inbound message taught us about its sender.

        `identity_data` is merged into the identity's JSON data (a Telegram
        chat id). Each of `linked_identities` (a phone number a Telegram user
        shared as their own) becomes an identity of the same contact; when it
        already belongs to another contact, that contact is merged in — strong
        evidence, recorded with the merge so `undo_merge` can split it again.
        """
        if item.identity_data:
            row = conn.execute("SELECT data FROM identity WHERE id = ?", (identity_id,)).fetchone()
            data = json.loads(row[0] or "{}") if row else {}
            data.update(item.identity_data)
            conn.execute(
                "UPDATE identity SET data = ? WHERE id = ?",
                (json.dumps(data, ensure_ascii=False, default=str), identity_id),
            )
        for kind, raw in item.linked_identities:
            try:
                address = normalize(kind, raw, region)
            except InvalidAddress:
                continue
            owner = conn.execute(
                "SELECT contact_id FROM identity WHERE kind = ? AND address = ?",
                (str(kind), address),
            ).fetchone()
            if owner is None:
                conn.execute(
                    "INSERT INTO identity(contact_id, kind, address, display, data, "
                    "opted_out, created_at) VALUES (?, ?, ?, ?, '{}', 0, ?)",
                    (contact_id, str(kind), address, item.display_name, now),
                )
            elif owner[0] != contact_id:
                # Strong evidence (the customer proved the number is theirs):
                # link automatically, recorded with the evidence, undoable (u).
                self._merge(
                    conn,
                    int(owner[0]),
                    contact_id,
                    None,
                    f"{item.channel.kind} user shared their own {kind} {address}",
                )

    async def identity_data(self, kind: IdentityKind, address: str) -> dict[str, object]:
        """What adapters remembered about an identity (e.g. its Telegram chat id)."""
        rows = await self._rows(
            "SELECT data FROM identity WHERE kind = ? AND address = ?", (str(kind), address)
        )
        data = json.loads(rows[0][0] or "{}") if rows else {}
        return data if isinstance(data, dict) else {}

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

    async def record_outbound(self, items: Sequence[RecordedOutbound]) -> list[int]:
        """Store replies that were already sent elsewhere (history, a Sent folder)."""

        def run(conn: sqlite3.Connection) -> list[int]:
            return [i for i in (self._record_one(conn, item) for item in items) if i is not None]

        return await self._write(run)

    async def import_history(
        self, items: Sequence[Inbound | RecordedOutbound], *, region: str | None = None
    ) -> None:
        """Store a stretch of history, in time order, in one transaction."""

        def run(conn: sqlite3.Connection) -> None:
            for item in items:
                if isinstance(item, Inbound):
                    self._ingest_one(conn, item, region)
                else:
                    self._record_one(conn, item)

        await self._write(run)

    def _record_one(self, conn: sqlite3.Connection, item: RecordedOutbound) -> int | None:
        kind = IDENTITY_FOR_CHANNEL[item.channel.kind]
        row = conn.execute(
            "SELECT id, contact_id FROM identity WHERE kind = ? AND address = ?",
            (str(kind), item.address),
        ).fetchone()
        if row is None:
            raise StoreError(f"no {kind} identity {item.address!r} for a sent reply")
        cur = conn.execute(
            "INSERT OR IGNORE INTO message(contact_id, identity_id, account, kind, "
            "direction, provider_id, subject, text, meta, sent_at, created_at, status, "
            "status_reason, author, attempts, edited, parse_error) "
            "VALUES (?, ?, ?, ?, 'out', ?, ?, ?, '{}', ?, ?, ?, '', ?, 1, 0, '')",
            (
                row[1],
                row[0],
                item.channel.account,
                str(item.channel.kind),
                item.provider_id,
                item.subject,
                item.text,
                item.sent_at,
                self._clock(),
                str(item.status),
                item.author,
            ),
        )
        if not cur.rowcount:
            return None
        message_id = int(cur.lastrowid or 0)
        conn.execute(
            "INSERT INTO message_search(rowid, terms) VALUES (?, ?)",
            (message_id, index_terms(f"{item.subject}\n{item.text}")),
        )
        self._touch_contact(
            conn,
            row[1],
            item.sent_at,
            one_line(item.text, 120),
            Direction.OUT,
            item.channel.account,
            item.channel.kind,
            unread=0,
        )
        self._change(conn, "message", row[1])
        return message_id

    async def load_cursor(self, account: str, key: str) -> str | None:
        rows = await self._rows(
            "SELECT value FROM cursor WHERE account = ? AND key = ?", (account, key)
        )
        return str(rows[0][0]) if rows else None

    # -- outbox -------------------------------------------------------------

    async def enqueue_reply(
        self,
        contact_id: int,
        channel: Channel,
        text: str,
        *,
        subject: str = "",
        author: str | None = None,
        files: Sequence[OutboundFile] = (),
        hold: float = 0.0,
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        signature: str = "",
    ) -> int:
        """Put a reply (text, files or both) in the outbox; the hub sends it
        once `hold` seconds have passed (the agent may withdraw it until then).

        An email may go to `cc` and `bcc` too (each checked: one that is not an
        address refuses the whole reply) and carry `signature` below its text;
        they are kept in the message's meta, as sent. Returns the message id."""
        if not text.strip() and not files:
            raise StoreError("the reply is empty")
        extra = _mail_extras(channel, cc, bcc, signature)
        identity_kind = IDENTITY_FOR_CHANNEL[channel.kind]
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT id, opted_out FROM identity WHERE contact_id = ? AND kind = ? "
                "ORDER BY last_used DESC NULLS LAST, id LIMIT 1",
                (contact_id, str(identity_kind)),
            ).fetchone()
            if row is None:
                raise StoreError(f"this customer has no {channel.kind} address to reply to")
            if row[1]:
                raise StoreError(f"this customer opted out of {channel.kind}")
            meta = {**self._threading(conn, contact_id, channel), **extra}
            cur = conn.execute(
                "INSERT INTO message(contact_id, identity_id, account, kind, direction, "
                "subject, text, meta, sent_at, created_at, status, status_reason, author, attempts, "
                "next_attempt_at, edited, parse_error) "
                "VALUES (?, ?, ?, ?, 'out', ?, ?, ?, ?, ?, 'queued', '', ?, 0, ?, 0, '')",
                (
                    contact_id,
                    row[0],
                    channel.account,
                    str(channel.kind),
                    subject,
                    text,
                    json.dumps(meta, ensure_ascii=False),
                    now,
                    now,
                    author,
                    now + hold,
                ),
            )
            message_id = int(cur.lastrowid or 0)
            conn.execute(
                "INSERT INTO message_search(rowid, terms) VALUES (?, ?)",
                (message_id, index_terms(f"{subject}\n{text}")),
            )
            for f in files:
                conn.execute(
                    "INSERT INTO attachment(message_id, filename, content_type, size, data, note) "
                    "VALUES (?, ?, ?, ?, ?, '')",
                    (message_id, f.filename, f.content_type, len(f.data), f.data),
                )
            self._touch_contact(
                conn,
                contact_id,
                now,
                one_line(text or ", ".join(f.filename for f in files), 120),
                Direction.OUT,
                channel.account,
                channel.kind,
                unread=0,
            )
            conn.execute("UPDATE contact SET unread = 0 WHERE id = ?", (contact_id,))
            self._change(conn, "outbox", contact_id)
            return message_id

        return await self._write(run)

    def _threading(
        self, conn: sqlite3.Connection, contact_id: int, channel: Channel
    ) -> dict[str, object]:
        """In-Reply-To and References for an email reply, from the customer's last mail."""
        if channel.kind is not ChannelKind.EMAIL:
            return {}
        row = conn.execute(
            "SELECT meta FROM message WHERE contact_id = ? AND account = ? AND direction = 'in' "
            "ORDER BY sent_at DESC, id DESC LIMIT 1",
            (contact_id, channel.account),
        ).fetchone()
        meta = json.loads(row[0] or "{}") if row else {}
        parent = meta.get("message_id")
        if not isinstance(parent, str) or not parent:
            return {}
        refs = [r for r in meta.get("references") or [] if isinstance(r, str)]
        return {"in_reply_to": parent, "references": [*refs[-19:], parent]}

    async def reply_subject(self, contact_id: int, account: str) -> str:
        """The subject of the customer's last message on `account`, for a reply."""
        rows = await self._rows(
            "SELECT subject FROM message WHERE contact_id = ? AND account = ? AND direction = 'in' "
            "ORDER BY sent_at DESC, id DESC LIMIT 1",
            (contact_id, account),
        )
        return str(rows[0][0]) if rows else ""

    async def last_mail(self, contact_id: int, account: str) -> LastMail | None:
        """The customer's newest mail on `account`: its subject, sender, To and Cc."""
        rows = await self._rows(
            "SELECT m.subject, i.address, json_extract(m.meta, '$.to'), "
            "json_extract(m.meta, '$.cc') FROM message m JOIN identity i ON i.id = m.identity_id "
            "WHERE m.contact_id = ? AND m.account = ? AND m.direction = 'in' "
            "ORDER BY m.sent_at DESC, m.id DESC LIMIT 1",
            (contact_id, account),
        )
        if not rows:
            return None
        subject, sender, to, cc = rows[0]
        return LastMail(str(subject), str(sender), _json_strings(to), _json_strings(cc))

    async def claim_due(self, accounts: Collection[str], *, limit: int = 20) -> list[Outbound]:
        """Move due queued replies for `accounts` to `sending` and return them."""
        if not accounts:
            return []
        now = self._clock()
        marks = ",".join("?" * len(accounts))

        def run(conn: sqlite3.Connection) -> list[Outbound]:
            rows = conn.execute(
                "SELECT m.id, m.account, m.kind, i.address, m.text, m.subject, m.meta, m.attempts, "
                "m.contact_id FROM message m JOIN identity i ON i.id = m.identity_id "
                "WHERE m.status = 'queued' AND m.direction = 'out' AND m.next_attempt_at <= ? "
                f"AND m.account IN ({marks}) "
                "ORDER BY m.next_attempt_at, m.id LIMIT ?",
                (now, *accounts, limit),
            ).fetchall()
            jobs = []
            for r in rows:
                conn.execute(
                    "UPDATE message SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                    (r[0],),
                )
                self._change(conn, "delivery", r[8])
                jobs.append(
                    Outbound(
                        message_id=r[0],
                        channel=Channel(ChannelKind(r[2]), r[1]),
                        address=r[3],
                        text=r[4],
                        subject=r[5],
                        meta=json.loads(r[6] or "{}"),
                        attempt=r[7] + 1,
                        files=tuple(
                            OutboundFile(name, ctype, bytes(data))
                            for name, ctype, data in conn.execute(
                                "SELECT filename, content_type, data FROM attachment "
                                "WHERE message_id = ? AND data IS NOT NULL ORDER BY id",
                                (r[0],),
                            )
                        ),
                    )
                )
            return jobs

        return await self._write(run)

    async def withdraw_reply(self, message_id: int) -> WithdrawnReply | None:
        """Take back a reply the hub has not started to send (undo send): it
        leaves the thread and the outbox in one step, and what it held is
        returned for the composer. None when it is already on its way."""

        def run(conn: sqlite3.Connection) -> WithdrawnReply | None:
            row = conn.execute(
                "SELECT contact_id, account, kind, subject, text, json_extract(meta, '$.cc'), "
                "json_extract(meta, '$.bcc') FROM message "
                "WHERE id = ? AND direction = 'out' AND status = 'queued' AND attempts = 0",
                (message_id,),
            ).fetchone()
            if row is None:
                return None
            files = [
                OutboundFile(name, content_type, bytes(data))
                for name, content_type, data in conn.execute(
                    "SELECT filename, content_type, data FROM attachment WHERE message_id = ?",
                    (message_id,),
                )
            ]
            conn.execute("DELETE FROM attachment WHERE message_id = ?", (message_id,))
            conn.execute("DELETE FROM message_search WHERE rowid = ?", (message_id,))
            conn.execute("DELETE FROM message WHERE id = ?", (message_id,))
            self._recount(conn, row[0])
            self._change(conn, "outbox", row[0])
            return WithdrawnReply(
                contact_id=row[0],
                channel=Channel(ChannelKind(row[2]), row[1]),
                subject=row[3],
                text=row[4],
                files=tuple(files),
                cc=_json_strings(row[5]),
                bcc=_json_strings(row[6]),
            )

        return await self._write(run)

    async def next_due_at(self, accounts: Collection[str]) -> float | None:
        """When the next queued reply for `accounts` is due."""
        if not accounts:
            return None
        rows = await self._rows(
            "SELECT min(next_attempt_at) FROM message WHERE status = 'queued' "
            f"AND account IN ({','.join('?' * len(accounts))})",
            list(accounts),
        )
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    async def mark_sent(self, message_id: int, provider_id: str, *, note: str = "") -> None:
        """The provider took the reply; `note` is what it said besides (shown on it)."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE message SET status = 'sent', provider_id = ?, status_reason = ?, "
                "sent_at = ? WHERE id = ? AND status = 'sending'",
                (provider_id, note, self._clock(), message_id),
            )
            self._change_for_message(conn, "delivery", message_id)

        await self._write(run)

    async def mark_failed(self, message_id: int, reason: str, *, retry_at: float | None) -> None:
        """Record a failed attempt: back to the queue at `retry_at`, or failed for good."""

        def run(conn: sqlite3.Connection) -> None:
            if retry_at is None:
                conn.execute(
                    "UPDATE message SET status = 'failed', status_reason = ? WHERE id = ?",
                    (reason, message_id),
                )
            else:
                conn.execute(
                    "UPDATE message SET status = 'queued', status_reason = ?, next_attempt_at = ? "
                    "WHERE id = ?",
                    (f"retrying: {reason}", retry_at, message_id),
                )
            self._change_for_message(conn, "delivery", message_id)

        await self._write(run)

    async def recover_interrupted(self, accounts: Collection[str]) -> int:
        """Replies left `sending` by a process that stopped mid-send become `unknown`.

        They are not sent again on their own: the provider may have them. The
        agent sees why and can retry.
        """
        if not accounts:
            return 0
        marks = ",".join("?" * len(accounts))

        def run(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                f"SELECT id FROM message WHERE status = 'sending' AND account IN ({marks})",
                tuple(accounts),
            ).fetchall()
            for (message_id,) in rows:
                conn.execute(
                    "UPDATE message SET status = 'unknown', status_reason = ? WHERE id = ?",
                    ("interrupted while sending: it may or may not have gone out", message_id),
                )
                self._change_for_message(conn, "delivery", message_id)
            return len(rows)

        return await self._write(run)

    async def retry(self, message_id: int) -> None:
        """Queue a failed or unknown reply again, at the agent's word."""

        def run(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE message SET status = 'queued', status_reason = '', next_attempt_at = ? "
                "WHERE id = ? AND direction = 'out' AND status IN ('failed', 'unknown')",
                (self._clock(), message_id),
            )
            if not cur.rowcount:
                raise StoreError("only a failed or unknown reply can be retried")
            self._change_for_message(conn, "outbox", message_id)

        await self._write(run)

    async def apply_delivery(self, update: DeliveryUpdate, *, within: float | None = None) -> bool:
        """Apply a provider's delivery receipt; False if no such message.

        With `within`, it is applied within that many seconds or `StoreBusy` is raised.
        """

        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT id, status FROM message WHERE account = ? AND provider_id = ? "
                "AND direction = 'out'",
                (update.channel.account, update.provider_id),
            ).fetchone()
            if row is None:
                return False
            current = Delivery(row[1])
            if _DELIVERY_RANK.get(update.status, 0) < _DELIVERY_RANK.get(current, 0):
                return True
            conn.execute(
                "UPDATE message SET status = ?, status_reason = ? WHERE id = ?",
                (str(update.status), update.reason, row[0]),
            )
            self._change_for_message(conn, "delivery", row[0])
            return True

        if within is not None:
            return await self._write_within(run, within)
        return await self._write(run)

    def _change_for_message(self, conn: sqlite3.Connection, kind: str, message_id: int) -> None:
        row = conn.execute("SELECT contact_id FROM message WHERE id = ?", (message_id,)).fetchone()
        self._change(conn, kind, row[0] if row else None)

    # -- merge --------------------------------------------------------------

    async def merge(
        self,
        source_id: int,
        target_id: int,
        *,
        agent: str | None = None,
        evidence: str = "manual",
        incoming_wins: Collection[str] = (),
    ) -> int:
        """Move every identity and message of `source_id` into `target_id`.

        Nothing is deleted: the source contact stays, marked merged, and the
        merge record lists what moved so `undo_merge` can move it back. The
        profiles are merged by `MergePlan`: `incoming_wins` names the fields
        (merge keys) where the source's value wins; each losing value is kept
        as history on the target.
        """
        if source_id == target_id:
            raise StoreError("a contact cannot be merged into itself")

        def run(conn: sqlite3.Connection) -> int:
            return self._merge(conn, source_id, target_id, agent, evidence, incoming_wins)

        return await self._write(run)

    async def merge_plan(self, source_id: int, target_id: int) -> MergePlan:
        """What merging `source_id` into `target_id` would do to the profile."""
        return MergePlan(
            kept=_snapshot(await self.get_contact(target_id)),
            incoming=_snapshot(await self.get_contact(source_id)),
        )

    async def identity_message_counts(self, contact_id: int) -> dict[int, int]:
        """How many messages each of a contact's identities carries (what a merge moves)."""
        rows = await self._rows(
            "SELECT identity_id, count(*) FROM message WHERE contact_id = ? "
            "AND identity_id IS NOT NULL GROUP BY identity_id",
            (contact_id,),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def field_history(self, contact_id: int) -> list[FieldHistory]:
        """Profile values that lost in merges into this contact, newest first."""
        rows = await self._rows(
            "SELECT field, value, source_name, at FROM field_history WHERE contact_id = ? "
            "ORDER BY at DESC, id DESC",
            (contact_id,),
        )
        return [FieldHistory(field_label(r[0]), r[1], r[2], r[3]) for r in rows]

    def _profile(self, conn: sqlite3.Connection, contact_id: int) -> ProfileSnapshot:
        row = conn.execute(
            "SELECT name, first_name, language, profile, tags FROM contact WHERE id = ?",
            (contact_id,),
        ).fetchone()
        return ProfileSnapshot(
            row[0], row[1], row[2], json.loads(row[3] or "{}"), tuple(json.loads(row[4] or "[]"))
        )

    def _set_profile(
        self, conn: sqlite3.Connection, contact_id: int, profile: ProfileSnapshot
    ) -> None:
        conn.execute(
            "UPDATE contact SET name = ?, first_name = ?, language = ?, profile = ?, tags = ? "
            "WHERE id = ?",
            (
                profile.name,
                profile.first_name,
                profile.language,
                json.dumps(dict(profile.fields), ensure_ascii=False),
                json.dumps(list(profile.tags), ensure_ascii=False),
                contact_id,
            ),
        )

    def _merge(
        self,
        conn: sqlite3.Connection,
        source_id: int,
        target_id: int,
        agent: str | None,
        evidence: str,
        incoming_wins: Collection[str] = (),
    ) -> int:
        for cid in (source_id, target_id):
            row = conn.execute("SELECT merged_into FROM contact WHERE id = ?", (cid,)).fetchone()
            if row is None or row[0] is not None:
                raise StoreError(f"contact {cid} is not there to merge")
        before, incoming = self._profile(conn, target_id), self._profile(conn, source_id)
        merged = MergePlan(before, incoming).result(incoming_wins)
        self._set_profile(conn, target_id, merged.profile)
        identity_ids = [
            r[0] for r in conn.execute("SELECT id FROM identity WHERE contact_id = ?", (source_id,))
        ]
        conn.execute(
            "UPDATE identity SET contact_id = ? WHERE contact_id = ?", (target_id, source_id)
        )
        conn.execute(
            "UPDATE message SET contact_id = ? WHERE contact_id = ?", (target_id, source_id)
        )
        conn.execute("UPDATE contact SET merged_into = ? WHERE id = ?", (target_id, source_id))
        # An agent's draft to the merged contact goes with it, unless they have one there too.
        conn.execute(
            "UPDATE OR IGNORE draft SET contact_id = ? WHERE contact_id = ?", (target_id, source_id)
        )
        self._recount(conn, target_id)
        now = self._clock()
        cur = conn.execute(
            "INSERT INTO merge_record(action, source_contact_id, target_contact_id, "
            "identity_ids, evidence, agent, at, profile_before, profile_after) "
            "VALUES ('merge', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source_id,
                target_id,
                json.dumps(identity_ids),
                evidence,
                agent,
                now,
                before.to_json(),
                merged.profile.to_json(),
            ),
        )
        record_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO field_history(contact_id, field, value, merge_record_id, source_name, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (target_id, key, value, record_id, (incoming if theirs else before).name, now)
                for key, value, theirs in merged.history
            ],
        )
        self._change(conn, "merge", source_id)
        self._change(conn, "merge", target_id)
        return record_id

    async def undo_merge(self, record_id: int) -> None:
        """Move a merge's identities, and their messages, back to the source contact."""

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT source_contact_id, target_contact_id, identity_ids, undone_at, action, "
                "profile_before, profile_after "
                "FROM merge_record WHERE id = ? AND action IN ('merge', 'unmerge')",
                (record_id,),
            ).fetchone()
            if row is None or row[3] is not None:
                raise StoreError("that merge is not there to undo")
            before, after = ProfileSnapshot.from_json(row[5]), ProfileSnapshot.from_json(row[6])
            if before is not None and after is not None:
                current = self._profile(conn, row[1])
                self._set_profile(conn, row[1], undo_profile(current, before, after))
                conn.execute("DELETE FROM field_history WHERE merge_record_id = ?", (record_id,))
            # A merge moved identities source -> target; an unmerge moved them
            # from source into a new target. Either way they go back to source.
            source, target, identity_ids = row[0], row[1], json.loads(row[2])
            self._notes_back(conn, source, target, whole=row[4] == "unmerge")
            for identity_id in identity_ids:
                conn.execute(
                    "UPDATE identity SET contact_id = ? WHERE id = ?", (source, identity_id)
                )
                conn.execute(
                    "UPDATE message SET contact_id = ? WHERE identity_id = ? AND contact_id = ?",
                    (source, identity_id, target),
                )
            conn.execute("UPDATE contact SET merged_into = NULL WHERE id = ?", (source,))
            if row[4] == "unmerge":  # the split-off contact is empty again: fold it away
                conn.execute("UPDATE contact SET merged_into = ? WHERE id = ?", (source, target))
            conn.execute(
                "UPDATE merge_record SET undone_at = ? WHERE id = ?", (self._clock(), record_id)
            )
            self._recount(conn, source)
            self._recount(conn, target)
            self._change(conn, "merge", source)
            self._change(conn, "merge", target)

        await self._write(run)

    def _notes_back(
        self, conn: sqlite3.Connection, source: int, target: int, *, whole: bool
    ) -> None:
        """Internal notes go back with an undone merge: those written on the
        source contact, or on a contact merged into it before, return to it.
        Undoing a split (`whole`) folds the split-off contact away: every note
        on it goes back."""
        if whole:
            conn.execute(
                "UPDATE message SET contact_id = ? WHERE contact_id = ? AND direction = 'note'",
                (source, target),
            )
            return
        conn.execute(
            "UPDATE message SET contact_id = ? WHERE contact_id = ? AND direction = 'note' "
            "AND json_extract(meta, '$.contact') IN ("
            "WITH RECURSIVE sub(id) AS (SELECT ? UNION "
            "SELECT contact.id FROM contact JOIN sub ON contact.merged_into = sub.id) "
            "SELECT id FROM sub)",
            (source, target, source),
        )

    async def split_identity(self, identity_id: int, *, agent: str | None = None) -> int:
        """Unmerge: move one identity, and the messages to and from it, into a
        contact of its own. Recorded, so `undo_merge` puts it back."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT contact_id, display, address FROM identity WHERE id = ?", (identity_id,)
            ).fetchone()
            if row is None:
                raise StoreError("that identity is not there")
            source = int(row[0])
            others = conn.execute(
                "SELECT count(*) FROM identity WHERE contact_id = ? AND id != ?",
                (source, identity_id),
            ).fetchone()[0]
            if not others:
                raise StoreError("this is the contact's only identity: nothing to split off")
            cur = conn.execute(
                "INSERT INTO contact(name, first_name, language, profile, status, tags, unread, "
                "last_activity, last_preview, channels, created_at) "
                "VALUES (?, '', '', '{}', 'open', '[]', 0, 0, '', '', ?)",
                (row[1] or row[2], now),
            )
            new_id = int(cur.lastrowid or 0)
            conn.execute("UPDATE identity SET contact_id = ? WHERE id = ?", (new_id, identity_id))
            conn.execute(
                "UPDATE message SET contact_id = ? WHERE identity_id = ? AND contact_id = ?",
                (new_id, identity_id, source),
            )
            self._recount(conn, source)
            self._recount(conn, new_id)
            conn.execute(
                "INSERT INTO merge_record(action, source_contact_id, target_contact_id, "
                "identity_ids, evidence, agent, at) VALUES ('unmerge', ?, ?, ?, 'manual', ?, ?)",
                (source, new_id, json.dumps([identity_id]), agent, now),
            )
            self._change(conn, "merge", source)
            self._change(conn, "merge", new_id)
            return new_id

        return await self._write(run)

    async def last_merge_into(self, contact_id: int) -> int | None:
        """The newest merge into this contact, or split off it, not yet undone."""
        rows = await self._rows(
            "SELECT id FROM merge_record WHERE undone_at IS NULL AND ("
            "(action = 'merge' AND target_contact_id = ?) OR "
            "(action = 'unmerge' AND source_contact_id = ?)) ORDER BY id DESC LIMIT 1",
            (contact_id, contact_id),
        )
        return int(rows[0][0]) if rows else None

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

    # -- internal notes -----------------------------------------------------

    async def add_note(self, contact_id: int, text: str, *, author: str | None) -> int:
        """Keep an agent's internal note in a customer's thread; returns its id.

        Every agent sees it; it is on no channel and has no identity, so it can
        never be claimed by the outbox, and it leaves the conversation as it
        was (last activity, preview, unread count, waiting). It is indexed
        for search like a message.
        """
        if not text.strip():
            raise StoreError("the note is empty")
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT merged_into FROM contact WHERE id = ?", (contact_id,)
            ).fetchone()
            if row is None or row[0] is not None:
                raise StoreError("that customer is not there any more")
            cur = conn.execute(
                "INSERT INTO message(contact_id, identity_id, account, kind, direction, "
                "subject, text, meta, sent_at, created_at, status, status_reason, author, "
                "attempts, edited, parse_error) "
                "VALUES (?, NULL, '', '', 'note', '', ?, ?, ?, ?, 'received', '', ?, 0, 0, '')",
                (
                    contact_id,
                    text,
                    # The contact it was written on, so undoing a merge takes it back there.
                    json.dumps({"contact": contact_id}),
                    now,
                    now,
                    author,
                ),
            )
            note_id = int(cur.lastrowid or 0)
            conn.execute(
                "INSERT INTO message_search(rowid, terms) VALUES (?, ?)",
                (note_id, index_terms(text)),
            )
            self._change(conn, "note", contact_id)
            return note_id

        return await self._write(run)

    async def notes_after(self, contact_ids: Collection[int], after: int) -> list[Message]:
        """The internal notes on these contacts with an id above `after`, oldest first."""
        if not contact_ids:
            return []
        ids = sorted(contact_ids)[:500]
        rows = await self._rows(
            "SELECT id, contact_id, text, sent_at, author FROM message "
            f"WHERE contact_id IN ({','.join('?' * len(ids))}) AND direction = 'note' "
            "AND id > ? ORDER BY id",
            [*ids, after],
        )
        return [
            Message(
                id=r[0],
                contact_id=r[1],
                kind=None,
                account="",
                direction=Direction.NOTE,
                subject="",
                text=r[2],
                sent_at=r[3],
                status=Delivery.RECEIVED,
                status_reason="",
                author=r[4],
                sender="",
            )
            for r in rows
        ]

    async def last_message_id(self) -> int:
        """The highest message id so far (notes written later have higher ones)."""
        rows = await self._rows("SELECT coalesce(max(id), 0) FROM message")
        return int(rows[0][0])

    # -- canned replies -----------------------------------------------------

    async def canned_replies(self) -> list[CannedReply]:
        rows = await self._rows(
            "SELECT id, shortcut, title, body, language FROM canned_reply ORDER BY shortcut, language"
        )
        return [CannedReply(*r) for r in rows]

    async def add_canned_replies(self, replies: Iterable[tuple[str, str, str, str]]) -> None:
        """Add (shortcut, title, body, language) replies; an existing shortcut is updated."""
        items = list(replies)

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO canned_reply(shortcut, title, body, language) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(shortcut, language) DO UPDATE SET title = excluded.title, "
                "body = excluded.body",
                items,
            )
            self._change(conn, "canned", None)

        await self._write(run)

    async def save_canned_reply(self, reply: CannedReply) -> int:
        """Create (id 0) or change a canned reply; returns its id."""
        if not reply.shortcut.strip() or not reply.body.strip():
            raise StoreError("a canned reply needs a shortcut and a text")

        def run(conn: sqlite3.Connection) -> int:
            values = (reply.shortcut.strip().lstrip("/"), reply.title, reply.body, reply.language)
            try:
                if reply.id:
                    conn.execute(
                        "UPDATE canned_reply SET shortcut = ?, title = ?, body = ?, language = ? "
                        "WHERE id = ?",
                        (*values, reply.id),
                    )
                    reply_id = reply.id
                else:
                    cur = conn.execute(
                        "INSERT INTO canned_reply(shortcut, title, body, language) "
                        "VALUES (?, ?, ?, ?)",
                        values,
                    )
                    reply_id = int(cur.lastrowid or 0)
            except sqlite3.IntegrityError:
                raise StoreError(
                    f"/{values[0]} already exists for language {values[3] or '(any)'}"
                ) from None
            self._change(conn, "canned", None)
            return reply_id

        return await self._write(run)

    async def delete_canned_reply(self, reply_id: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM canned_reply WHERE id = ?", (reply_id,))
            self._change(conn, "canned", None)

        await self._write(run)

    async def set_composing(self, contact_id: int, agent: str, active: bool) -> None:
        """Say (or stop saying) that `agent` is writing to this contact."""

        def run(conn: sqlite3.Connection) -> None:
            if active:
                conn.execute(
                    "INSERT INTO composing(contact_id, agent, at) VALUES (?, ?, ?) "
                    "ON CONFLICT(contact_id, agent) DO UPDATE SET at = excluded.at",
                    (contact_id, agent, self._clock()),
                )
            else:
                conn.execute(
                    "DELETE FROM composing WHERE contact_id = ? AND agent = ?", (contact_id, agent)
                )
            self._change(conn, "composing", contact_id)

        await self._write(run)

    async def others_composing(
        self, contact_id: int, agent: str, *, fresh: float = 90.0
    ) -> list[str]:
        """Other agents writing to this contact now (seen in the last `fresh` seconds)."""
        rows = await self._rows(
            "SELECT agent FROM composing WHERE contact_id = ? AND agent != ? AND at >= ? "
            "ORDER BY agent",
            (contact_id, agent, self._clock() - fresh),
        )
        return [str(r[0]) for r in rows]

    # -- search -------------------------------------------------------------

    async def search(self, query: str, *, limit: int = 50) -> list[SearchHit]:
        """Contacts and messages matching `query`, newest messages first.

        FTS5 walks its index by descending rowid (= message id), so the newest
        matches come without sorting every match.
        """
        hits: list[SearchHit] = []
        text = query.strip()
        if not text:
            return hits
        like = _like(text)
        for r in await self._rows(
            f"SELECT id, name FROM contact WHERE {_CONTACT_MATCHES} "
            "ORDER BY last_activity DESC LIMIT 10",
            (like, like),
        ):
            hits.append(SearchHit(r[0], r[1], None, None, None, ""))
        match = fts_query(text)
        if match is None:
            return hits
        try:
            ids = [
                r[0]
                for r in await self._rows(
                    "SELECT rowid FROM message_search WHERE message_search MATCH ? "
                    "ORDER BY rowid DESC LIMIT ?",
                    (match, limit),
                )
            ]
        except sqlite3.OperationalError:
            return hits
        if not ids:
            return hits
        rows = await self._rows(
            "SELECT m.id, m.contact_id, c.name, m.kind, m.sent_at, m.subject, m.text, "
            "m.direction FROM message m JOIN contact c ON c.id = m.contact_id "
            f"WHERE m.id IN ({','.join('?' * len(ids))}) ORDER BY m.id DESC",
            ids,
        )
        for r in rows:
            body = r[6] if text.lower() in (r[6] or "").lower() or not r[5] else r[5] + " — " + r[6]
            hits.append(
                SearchHit(
                    r[1],
                    r[2],
                    r[0],
                    ChannelKind(r[3]) if r[3] else None,
                    r[4],
                    _snippet(body, text),
                    note=r[7] == Direction.NOTE,
                )
            )
        return hits

    async def search_count(self, query: str, *, cap: int = 10_000) -> tuple[int, int]:
        """How many (contacts, messages) match `query`, counting messages up to
        `cap` (a common word in a big store is "10,000+", not a slow count)."""
        text = query.strip()
        if not text:
            return 0, 0
        like = _like(text)
        contacts = await self._rows(
            f"SELECT count(*) FROM contact WHERE {_CONTACT_MATCHES}",
            (like, like),
        )
        match = fts_query(text)
        if match is None:
            return int(contacts[0][0]), 0
        try:
            messages = await self._rows(
                "SELECT count(*) FROM (SELECT 1 FROM message_search "
                "WHERE message_search MATCH ? LIMIT ?)",
                (match, cap + 1),
            )
        except sqlite3.OperationalError:
            return int(contacts[0][0]), 0
        return int(contacts[0][0]), int(messages[0][0])

    # -- change log ---------------------------------------------------------

    async def set_channel_problem(self, account: str, problem: str | None) -> None:
        """Say what is wrong with a channel (None: it works), for every console to show."""

        def run(conn: sqlite3.Connection) -> None:
            if problem is None:
                cur = conn.execute("DELETE FROM channel_status WHERE account = ?", (account,))
            else:
                cur = conn.execute(
                    "INSERT INTO channel_status(account, problem, at) VALUES (?, ?, ?) "
                    "ON CONFLICT(account) DO UPDATE SET problem = excluded.problem, at = excluded.at "
                    "WHERE problem != excluded.problem",
                    (account, problem, self._clock()),
                )
            if cur.rowcount:
                self._change(conn, "channel", None)

        await self._write(run)

    async def channel_problems(self) -> dict[str, str]:
        """The channels that are not working, by account, with the reason in words."""
        rows = await self._rows("SELECT account, problem FROM channel_status ORDER BY account")
        return {str(r[0]): str(r[1]) for r in rows}

    async def last_change_id(self) -> int:
        rows = await self._rows("SELECT coalesce(max(id), 0) FROM change")
        return int(rows[0][0])

    async def changes_since(self, change_id: int) -> ChangeBatch:
        """What changed after `change_id`, from this process or any other."""
        rows = await self._rows(
            "SELECT id, kind, contact_id FROM change WHERE id > ? ORDER BY id LIMIT 5000",
            (change_id,),
        )
        if not rows:
            return ChangeBatch(change_id, frozenset(), frozenset())
        return ChangeBatch(
            rows[-1][0],
            frozenset(r[2] for r in rows if r[2] is not None),
            frozenset(r[1] for r in rows),
            frozenset(r[2] for r in rows if r[1] == "note" and r[2] is not None),
        )

    async def prune_changes(self, older_than: float = 3600.0) -> None:
        cutoff = self._clock() - older_than

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM change WHERE at < ?", (cutoff,))

        await self._write(run)


def _json_strings(value: object) -> tuple[str, ...]:
    """A JSON list of strings read from a message's meta (anything else: empty)."""
    if not isinstance(value, str):
        return ()
    try:
        items = json.loads(value)
    except ValueError:
        return ()
    return tuple(str(i) for i in items if isinstance(i, str)) if isinstance(items, list) else ()


def _mail_extras(
    channel: Channel, cc: Sequence[str], bcc: Sequence[str], signature: str
) -> dict[str, object]:
    """What an email reply keeps in its meta besides threading: Cc, Bcc and
    signature, each address checked again here (a draft or a script may hold
    anything)."""
    if channel.kind is not ChannelKind.EMAIL:
        if cc or bcc:
            raise StoreError(f"Cc and Bcc are for email, not {channel.kind}")
        return {}
    extra: dict[str, object] = {}
    for key, entries in (("cc", cc), ("bcc", bcc)):
        good, bad = parse_addresses(", ".join(entries))
        if bad:
            raise StoreError(f"{key.capitalize()}: not an email address: {', '.join(bad)}")
        if good:
            extra[key] = good
    if signature.strip():
        extra["signature"] = signature
    return extra


def _snapshot(contact: Contact) -> ProfileSnapshot:
    return ProfileSnapshot(
        contact.name, contact.first_name, contact.language, dict(contact.profile), contact.tags
    )


# The contact list's columns; `:agent` marks the contacts that agent has a draft for.
_SUMMARY_COLUMNS = (
    "id, name, status, snoozed_until, unread, last_activity, last_preview, last_direction, "
    "channels, assignee, EXISTS (SELECT 1 FROM draft "
    "WHERE draft.contact_id = contact.id AND draft.agent = :agent)"
)


def _summary(row: sqlite3.Row | tuple[Any, ...]) -> ContactSummary:
    return ContactSummary(
        id=row[0],
        name=row[1],
        status=ThreadStatus(row[2]),
        snoozed_until=row[3],
        unread=row[4],
        last_activity=row[5],
        last_preview=row[6],
        last_direction=Direction(row[7]) if row[7] else None,
        channels=frozenset(ChannelKind(k) for k in (row[8] or "").split(",") if k),
        assignee=row[9],
        draft=bool(row[10]),
    )


# A contact whose name or one of whose addresses holds the (LIKE) pattern, twice.
_CONTACT_MATCHES = (
    "merged_into IS NULL AND (name LIKE ? ESCAPE '\\' "
    "OR id IN (SELECT contact_id FROM identity WHERE address LIKE ? ESCAPE '\\'))"
)


def _like(text: str) -> str:
    """A LIKE pattern for `text` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _snippet(text: str, query: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    first = query.split()[0].lower() if query.split() else ""
    at = flat.lower().find(first) if first else -1
    start = max(0, at - width // 3) if at > 0 else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece
