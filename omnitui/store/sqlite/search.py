"""Search in SQLite: contacts by name or address, messages through the FTS5 index."""

from __future__ import annotations

import sqlite3

from omnitui.domain.models import ChannelKind, Direction, SearchHit
from omnitui.domain.search import fts_query, pg_query
from omnitui.store.sqlite.base import SqliteBase

# A contact whose name or one of whose addresses holds the (LIKE) pattern, twice.
_CONTACT_MATCHES = (
    "merged_into IS NULL AND (name LIKE ? ESCAPE '\\' "
    "OR id IN (SELECT contact_id FROM identity WHERE address LIKE ? ESCAPE '\\'))"
)
# The same for a pattern with letters beyond A-Z, whose case SQLite's LIKE
# does not fold: both sides lowered (the pattern by `_like`).
_CONTACT_MATCHES_LOWER = (
    "merged_into IS NULL AND (lower(name) LIKE ? ESCAPE '\\' "
    "OR id IN (SELECT contact_id FROM identity WHERE lower(address) LIKE ? ESCAPE '\\'))"
)


def _cased_beyond_ascii(text: str) -> bool:
    """Whether `text` has a letter with a case beyond A-Z (é, Ä, Ω; not 予約)."""
    return any(not c.isascii() and c.lower() != c.upper() for c in text)


def _like(text: str) -> str:
    """A LIKE pattern for `text` anywhere, its own % and _ taken literally
    (lowered when it has letters beyond A-Z: see `_contact_matches`)."""
    if _cased_beyond_ascii(text):
        text = text.lower()
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contact_matches(text: str) -> str:
    """The condition for contacts matching `text` (by `_like(text)`, twice):
    Émilie for émilie too, on both databases. Only such a query lowers every
    name (SQLite calls Python for it); Japanese and ASCII ones need not."""
    return _CONTACT_MATCHES_LOWER if _cased_beyond_ascii(text) else _CONTACT_MATCHES


def _snippet(text: str, query: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    first = query.split()[0].lower() if query.split() else ""
    at = flat.lower().find(first) if first else -1
    start = max(0, at - width // 3) if at > 0 else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece


def _pg_match(text: str) -> tuple[str, tuple[str, ...]] | None:
    """PostgreSQL: the FROM-clause tail and parameters that find `text` in
    `message_search s`: its terms, then each CJK run as it is (FTS5's phrase).

    With `ORDER BY s.message_id DESC LIMIT n` the planner, from the terms'
    frequencies, walks the newest messages first for a common query (as FTS5
    walks its index) and reads the GIN index for a rare one.
    """
    query = pg_query(text)
    if query is None:
        return None
    tsquery, runs = query
    held = " AND strpos(lower(coalesce(m.subject, '') || chr(10) || m.text), ?) > 0"
    join = "JOIN message m ON m.id = s.message_id " if runs else ""
    where = f"{join}WHERE s.terms @@ CAST(? AS tsquery)" + held * len(runs)
    return where, (tsquery, *runs)


class SqliteSearch(SqliteBase):
    """Finding contacts and messages by what they say."""

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
            f"SELECT id, name FROM contact WHERE {_contact_matches(text)} "
            "ORDER BY last_activity DESC LIMIT 10",
            (like, like),
        ):
            hits.append(SearchHit(r["id"], r["name"], None, None, None, ""))
        found = await self._matching_ids(text, limit)
        if found is None:
            return hits
        ids = found
        if not ids:
            return hits
        rows = await self._rows(
            "SELECT m.id, m.contact_id, c.name AS contact_name, m.kind, m.sent_at, m.subject, "
            "m.text, m.direction FROM message m JOIN contact c ON c.id = m.contact_id "
            f"WHERE m.id IN ({','.join('?' * len(ids))}) ORDER BY m.id DESC",
            ids,
        )
        for message_id, contact_id, contact_name, kind, sent_at, subject, said, direction in rows:
            body = (
                said
                if text.lower() in (said or "").lower() or not subject
                else f"{subject} — {said}"
            )
            hits.append(
                SearchHit(
                    contact_id=contact_id,
                    contact_name=contact_name,
                    message_id=message_id,
                    kind=ChannelKind(kind) if kind else None,
                    sent_at=sent_at,
                    snippet=_snippet(body, text),
                    note=direction == Direction.NOTE,
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
        contacts = int(
            await self._value(
                f"SELECT count(*) FROM contact WHERE {_contact_matches(text)}", (like, like)
            )
        )
        if self.dialect == "postgresql":
            pg = _pg_match(text)
            if pg is None:
                return contacts, 0
            where, params = pg
            messages = await self._value(
                f"SELECT count(*) FROM (SELECT 1 FROM message_search s {where} LIMIT ?) AS hits",
                (*params, cap + 1),
            )
            return contacts, int(messages)
        match = fts_query(text)
        if match is None:
            return contacts, 0
        try:
            messages = await self._value(
                "SELECT count(*) FROM (SELECT 1 FROM message_search "
                "WHERE message_search MATCH ? LIMIT ?)",
                (match, cap + 1),
            )
        except sqlite3.OperationalError:
            return contacts, 0
        return contacts, int(messages)

    async def _matching_ids(self, text: str, limit: int) -> list[int] | None:
        """The newest `limit` messages that hold `text`, newest first (None: no terms)."""
        if self.dialect == "postgresql":
            pg = _pg_match(text)
            if pg is None:
                return None
            where, params = pg
            rows = await self._rows(
                f"SELECT s.message_id FROM message_search s {where} "
                "ORDER BY s.message_id DESC LIMIT ?",
                (*params, limit),
            )
            return [int(r[0]) for r in rows]
        match = fts_query(text)
        if match is None:
            return None
        try:
            rows = await self._rows(
                "SELECT rowid FROM message_search WHERE message_search MATCH ? "
                "ORDER BY rowid DESC LIMIT ?",
                (match, limit),
            )
        except sqlite3.OperationalError:
            return []
        return [int(r[0]) for r in rows]
