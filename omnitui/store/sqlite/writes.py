"""The writes several parts of the SQLite store make, each spelled out once.

Every function runs inside the caller's write transaction, on its connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from omnitui.domain.models import ChannelKind, Direction, IdentityKind
from omnitui.domain.safe_text import one_line
from omnitui.domain.search import index_terms, pg_terms


def insert_contact(
    conn: sqlite3.Connection,
    name: str,
    now: float,
    *,
    first_name: str = "",
    language: str = "",
    profile: Mapping[str, str] | None = None,
    tags: Sequence[str] = (),
) -> int:
    """A new open contact with no messages yet; returns its id."""
    cur = conn.execute(
        "INSERT INTO contact(name, first_name, language, profile, status, tags, unread, "
        "last_activity, last_preview, channels, created_at) "
        "VALUES (?, ?, ?, ?, 'open', ?, 0, 0, '', '', ?)",
        (
            name,
            first_name,
            language,
            json.dumps(dict(profile or {}), ensure_ascii=False),
            json.dumps(list(tags), ensure_ascii=False),
            now,
        ),
    )
    return int(cur.lastrowid or 0)


def insert_identity(
    conn: sqlite3.Connection,
    contact_id: int,
    kind: IdentityKind,
    address: str,
    display: str,
    now: float,
    *,
    if_new: bool = False,
) -> int:
    """Give a contact an address; returns the identity's id. With `if_new`, an
    address some contact already has is left where it is (and 0 returned)."""
    verb = "INSERT OR IGNORE" if if_new else "INSERT"
    cur = conn.execute(
        f"{verb} INTO identity(contact_id, kind, address, display, data, opted_out, "
        "created_at) VALUES (?, ?, ?, ?, '{}', 0, ?)",
        (contact_id, str(kind), address, display, now),
    )
    return int(cur.lastrowid or 0) if cur.rowcount else 0


def address_owner(conn: sqlite3.Connection, kind: IdentityKind, address: str) -> int | None:
    """The contact a normalised address belongs to, if any."""
    row = conn.execute(
        "SELECT contact_id FROM identity WHERE kind = ? AND address = ?", (str(kind), address)
    ).fetchone()
    return None if row is None else int(row["contact_id"])


def identity_for(
    conn: sqlite3.Connection, kind: IdentityKind, address: str, display: str, now: float
) -> tuple[int, int]:
    """The (identity id, contact id) of an address, made with a contact of its
    own when nobody has it yet."""
    row = conn.execute(
        "SELECT id, contact_id FROM identity WHERE kind = ? AND address = ?",
        (str(kind), address),
    ).fetchone()
    if row is not None:
        return int(row["id"]), int(row["contact_id"])
    contact_id = insert_contact(conn, display.strip() or address, now)
    return insert_identity(conn, contact_id, kind, address, display, now), contact_id


def insert_message(
    conn: sqlite3.Connection,
    *,
    contact_id: int,
    identity_id: int | None,
    account: str,
    kind: str,
    direction: Direction,
    text: str,
    sent_at: float,
    created_at: float,
    status: str,
    subject: str = "",
    meta: str = "{}",
    provider_id: str | None = None,
    html: str | None = None,
    raw: bytes | None = None,
    author: str | None = None,
    attempts: int = 0,
    next_attempt_at: float | None = None,
    edited: bool = False,
    parse_error: str = "",
    if_new: bool = False,
) -> int:
    """A message in a thread (from a customer, to one, or an internal note);
    returns its id. With `if_new`, one already stored under the same provider
    id is left as it is, and 0 returned."""
    verb = "INSERT OR IGNORE" if if_new else "INSERT"
    cur = conn.execute(
        f"{verb} INTO message(contact_id, identity_id, account, kind, direction, provider_id, "
        "subject, text, html, raw, meta, sent_at, created_at, status, status_reason, author, "
        "attempts, next_attempt_at, edited, parse_error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?)",
        (
            contact_id,
            identity_id,
            account,
            kind,
            str(direction),
            provider_id,
            subject,
            text,
            html,
            raw,
            meta,
            sent_at,
            created_at,
            status,
            author,
            attempts,
            next_attempt_at,
            int(edited),
            parse_error,
        ),
    )
    return int(cur.lastrowid or 0) if cur.rowcount else 0


def index_message(conn: sqlite3.Connection, message_id: int, text: str) -> None:
    """Put a message (its subject and text, or a note's text) in the search index."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        conn.execute(
            "INSERT INTO message_search(message_id, terms) VALUES (?, CAST(? AS tsvector)) "
            "ON CONFLICT (message_id) DO UPDATE SET terms = excluded.terms",
            (message_id, pg_terms(text)),
        )
        return
    conn.execute(
        "INSERT INTO message_search(rowid, terms) VALUES (?, ?)", (message_id, index_terms(text))
    )


def unindex_message(conn: sqlite3.Connection, message_id: int) -> None:
    key = "message_id" if getattr(conn, "dialect", "sqlite") == "postgresql" else "rowid"
    conn.execute(f"DELETE FROM message_search WHERE {key} = ?", (message_id,))


def insert_attachment(
    conn: sqlite3.Connection,
    message_id: int,
    filename: str,
    content_type: str,
    size: int,
    data: bytes | None,
    note: str = "",
) -> None:
    conn.execute(
        "INSERT INTO attachment(message_id, filename, content_type, size, data, note) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (message_id, filename, content_type, size, data, note),
    )


def touch_contact(
    conn: sqlite3.Connection,
    contact_id: int,
    at: float,
    preview: str,
    direction: Direction,
    account: str,
    kind: ChannelKind,
    unread: int,
) -> None:
    """A contact's list columns after a message: newest activity, preview,
    who spoke last, on which account, and its channels."""
    row = conn.execute(
        "SELECT last_activity, channels FROM contact WHERE id = ?", (contact_id,)
    ).fetchone()
    channels = set(filter(None, (row["channels"] or "").split(",")))
    channels.add(str(kind))
    newest = at >= row["last_activity"]
    conn.execute(
        "UPDATE contact SET unread = unread + ?, channels = ?, "
        "last_activity = CASE WHEN ? = 1 THEN ? ELSE last_activity END, "
        "last_preview = CASE WHEN ? = 1 THEN ? ELSE last_preview END, "
        "last_direction = CASE WHEN ? = 1 THEN ? ELSE last_direction END, "
        "last_account = CASE WHEN ? = 1 OR last_account IS NULL THEN ? ELSE last_account END "
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


def recount(conn: sqlite3.Connection, contact_id: int) -> None:
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
        r["kind"]
        for r in conn.execute(
            "SELECT DISTINCT kind FROM message WHERE contact_id = ? AND direction IN ('in', 'out')",
            (contact_id,),
        )
    ]
    unread = conn.execute(
        "SELECT coalesce(sum(unread), 0) AS unread FROM contact WHERE id = ? OR merged_into = ?",
        (contact_id, contact_id),
    ).fetchone()["unread"]
    conn.execute(
        "UPDATE contact SET last_activity = ?, last_preview = ?, last_direction = ?, "
        "last_account = ?, channels = ?, unread = ? WHERE id = ?",
        (
            last["sent_at"] if last else 0.0,
            one_line(last["text"] or last["subject"], 120) if last else "",
            last["direction"] if last else None,
            last_in["account"] if last_in else None,
            ",".join(sorted(kinds)),
            unread,
            contact_id,
        ),
    )


def resolved(conn: sqlite3.Connection, contact_id: int, now: float) -> None:
    """A conversation was resolved: the `resolved` rules run, a hand-off ends
    (automatic replies may answer the customer again), and no_reply clocks stop."""
    conn.execute(
        "INSERT INTO automation_event(kind, contact_id, at) VALUES ('resolved', ?, ?)",
        (contact_id, now),
    )
    conn.execute("UPDATE contact SET handoff = 0 WHERE id = ?", (contact_id,))
    conn.execute("DELETE FROM rule_timer WHERE contact_id = ?", (contact_id,))
    conn.execute(
        "UPDATE conversation SET resolved_at = ?, "
        "assignee = coalesce((SELECT assignee FROM contact WHERE id = ?), assignee) "
        "WHERE contact_id = ? AND resolved_at IS NULL",
        (now, contact_id, contact_id),
    )


def count_hour(
    conn: sqlite3.Connection, at: float, kind: str, direction: str, agent: str, delta: int = 1
) -> None:
    """Count a message in its hour (for reports: volume per day, the weekday × hour map)."""
    conn.execute(
        "INSERT INTO message_hour(hour, kind, direction, agent, count) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(hour, kind, direction, agent) DO UPDATE SET count = message_hour.count + excluded.count",
        (int(at // 3600), kind, direction, agent, delta),
    )


def conversation_in(
    conn: sqlite3.Connection, contact_id: int, message_id: int, at: float, account: str, kind: str
) -> int:
    """A customer's message: it joins their open conversation, or opens one. Its id."""
    row = conn.execute(
        "SELECT id FROM conversation WHERE contact_id = ? AND resolved_at IS NULL "
        "ORDER BY started_at DESC, id DESC LIMIT 1",
        (contact_id,),
    ).fetchone()
    if row is not None:
        conn.execute(
            "UPDATE conversation SET messages_in = messages_in + 1 WHERE id = ?", (row["id"],)
        )
        return int(row["id"])
    cur = conn.execute(
        "INSERT INTO conversation(contact_id, account, kind, first_message_id, started_at, "
        "assignee, messages_in) VALUES (?, ?, ?, ?, ?, "
        "(SELECT assignee FROM contact WHERE id = ?), 1)",
        (contact_id, account, kind, message_id, at, contact_id),
    )
    return int(cur.lastrowid or 0)


def conversation_out(
    conn: sqlite3.Connection,
    contact_id: int,
    at: float,
    author: str | None,
    *,
    automatic: bool = False,
    delta: int = 1,
) -> None:
    """A reply in the customer's open conversation: a person's first one is its
    first response (a rule's reply never is)."""
    if automatic:
        conn.execute(
            "UPDATE conversation SET automatic_out = automatic_out + ? "
            "WHERE contact_id = ? AND resolved_at IS NULL",
            (delta, contact_id),
        )
        return
    conn.execute(
        "UPDATE conversation SET messages_out = messages_out + ?, "
        "first_response_at = CASE WHEN first_response_at IS NULL AND ? > 0 "
        "AND ? >= started_at THEN ? ELSE first_response_at END, "
        "first_response_by = CASE WHEN first_response_at IS NULL AND ? > 0 "
        "AND ? >= started_at THEN ? ELSE first_response_by END "
        "WHERE contact_id = ? AND resolved_at IS NULL",
        (delta, delta, at, at, delta, at, author, contact_id),
    )
