"""Internal notes in SQLite: an agent's words beside a customer's thread."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection

from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import Delivery, Direction, Message
from omnitui.store.errors import StoreError
from omnitui.store.sqlite.base import SqliteBase
from omnitui.store.sqlite.writes import index_message, insert_message


class SqliteNotes(SqliteBase):
    """Internal notes on a customer's thread."""

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
            if row is None or row["merged_into"] is not None:
                raise StoreError("that customer is not there any more")
            note_id = insert_message(
                conn,
                contact_id=contact_id,
                identity_id=None,
                account="",
                kind="",
                direction=Direction.NOTE,
                text=text,
                # The contact it was written on, so undoing a merge takes it back there.
                meta=json.dumps({"contact": contact_id}),
                sent_at=now,
                created_at=now,
                status=Delivery.RECEIVED,
                author=author,
            )
            index_message(conn, note_id, text)
            self._change(conn, ChangeKind.NOTE, contact_id)
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
                id=r["id"],
                contact_id=r["contact_id"],
                kind=None,
                account="",
                direction=Direction.NOTE,
                subject="",
                text=r["text"],
                sent_at=r["sent_at"],
                status=Delivery.RECEIVED,
                status_reason="",
                author=r["author"],
                sender="",
            )
            for r in rows
        ]

    async def last_message_id(self) -> int:
        """The highest message id so far (notes written later have higher ones)."""
        return int(await self._value("SELECT coalesce(max(id), 0) FROM message"))
