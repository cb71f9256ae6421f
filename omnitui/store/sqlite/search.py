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


# PostgreSQL: a query matching at least this many messages is "common", and its
# newest matches are found by walking the messages newest first (as FTS5 walks
# its index), not by collecting every match and sorting them.
COMMON = 1000


def _pg_match(text: str, *, walk: bool = False) -> tuple[str, tuple[str, ...]] | None:
    """PostgreSQL: the FROM-clause tail and parameters that find `text` in
    `message_search s`: its terms, then each CJK run as it is (FTS5's phrase).

    `walk`: the same match in a form the GIN index cannot serve (the function
    behind `@@`), so the planner walks `message_search` newest first and stops
    at the limit: right for a common query, slow for a rare one.
    """
    query = pg_query(text)
    if query is None:
        return None
    tsquery, runs = query
    held = " AND strpos(lower(coalesce(m.subject, '') || chr(10) || m.text), ?) > 0"
    join = "JOIN message m ON m.id = s.message_id " if runs else ""
    match = "ts_match_vq(s.terms, CAST(? AS tsquery))" if walk else "s.terms @@ CAST(? AS tsquery)"
    where = f"{join}WHERE {match}" + held * len(runs)
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
            f"SELECT id, name FROM contact WHERE {_CONTACT_MATCHES} "
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
                f"SELECT count(*) FROM contact WHERE {_CONTACT_MATCHES}", (like, like)
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
            # How common is it? Counted in the GIN index, up to COMMON.
            common = await self._value(
                "SELECT count(*) FROM (SELECT 1 FROM message_search s "
                "WHERE s.terms @@ CAST(? AS tsquery) LIMIT ?) AS hits",
                (params[0], COMMON),
            )
            if int(common) >= COMMON:
                walked = _pg_match(text, walk=True)
                assert walked is not None
                where, params = walked
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
