"""Canned replies in SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import CannedReply
from omnitui.store.errors import StoreError
from omnitui.store.sqlite.base import DUPLICATE_ERRORS, SqliteBase


class SqliteCanned(SqliteBase):
    """The shop's canned replies."""

    async def canned_replies(self) -> list[CannedReply]:
        rows = await self._rows(
            "SELECT id, shortcut, title, body, language FROM canned_reply ORDER BY shortcut, language"
        )
        return [
            CannedReply(r["id"], r["shortcut"], r["title"], r["body"], r["language"]) for r in rows
        ]

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
            self._change(conn, ChangeKind.CANNED, None)

        await self._write(run)

    async def save_canned_reply(self, reply: CannedReply) -> int:
        """Create (id 0) or change a canned reply; returns its id."""
        if not reply.shortcut.strip() or not reply.body.strip():
            raise StoreError("a canned reply needs a shortcut and a text")

        def run(conn: sqlite3.Connection) -> int:
            shortcut = reply.shortcut.strip().lstrip("/")
            values = (shortcut, reply.title, reply.body, reply.language)
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
            except DUPLICATE_ERRORS:
                raise StoreError(
                    "/{shortcut} already exists for language {language}",
                    shortcut=shortcut,
                    language=reply.language or "(any)",
                ) from None
            self._change(conn, ChangeKind.CANNED, None)
            return reply_id

        return await self._write(run)

    async def delete_canned_reply(self, reply_id: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM canned_reply WHERE id = ?", (reply_id,))
            self._change(conn, ChangeKind.CANNED, None)

        await self._write(run)
