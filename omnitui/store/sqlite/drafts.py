"""Replies being written, in SQLite: an agent's draft and who is composing."""

from __future__ import annotations

import sqlite3

from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import Draft
from omnitui.store.sqlite.base import SqliteBase


class SqliteDrafts(SqliteBase):
    """Replies being written: kept drafts and who is composing to whom."""

    async def draft(self, contact_id: int, agent: str) -> Draft | None:
        """The agent's unsent reply to this customer, if they started one."""
        rows = await self._rows(
            "SELECT text, account, subject FROM draft WHERE contact_id = ? AND agent = ?",
            (contact_id, agent),
        )
        if not rows:
            return None
        return Draft(rows[0]["text"], rows[0]["account"], rows[0]["subject"])

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
                    self._change(conn, ChangeKind.DRAFT, contact_id)
                return
            conn.execute(
                "INSERT INTO draft(contact_id, agent, text, account, subject, at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(contact_id, agent) DO UPDATE SET "
                "text = excluded.text, account = excluded.account, "
                "subject = excluded.subject, at = excluded.at",
                (contact_id, agent, draft.text, draft.account, draft.subject, self._clock()),
            )
            if not existed:
                self._change(conn, ChangeKind.DRAFT, contact_id)

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
            self._change(conn, ChangeKind.COMPOSING, contact_id)

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
        return [str(r["agent"]) for r in rows]
