"""The change log and channel health in SQLite: what every console follows."""

from __future__ import annotations

import asyncio
import sqlite3

from omnitui.domain.changes import ChangeKind
from omnitui.store.records import ChangeBatch
from omnitui.store.sqlite.base import SqliteBase


class SqliteChangeLog(SqliteBase):
    """The change log every console follows, and each channel's health."""

    async def set_channel_problem(self, account: str, problem: str | None) -> None:
        """Say what is wrong with a channel (None: it works), for every console to show."""

        def run(conn: sqlite3.Connection) -> None:
            if problem is None:
                cur = conn.execute("DELETE FROM channel_status WHERE account = ?", (account,))
            else:
                cur = conn.execute(
                    "INSERT INTO channel_status(account, problem, at) VALUES (?, ?, ?) "
                    "ON CONFLICT(account) DO UPDATE SET problem = excluded.problem, at = excluded.at "
                    "WHERE channel_status.problem != excluded.problem",
                    (account, problem, self._clock()),
                )
            if cur.rowcount:
                self._change(conn, ChangeKind.CHANNEL, None)

        await self._write(run)

    async def channel_problems(self) -> dict[str, str]:
        """The channels that are not working, by account, with the reason in words."""
        rows = await self._rows("SELECT account, problem FROM channel_status ORDER BY account")
        return {str(r["account"]): str(r["problem"]) for r in rows}

    async def last_change_id(self) -> int:
        return int(await self._value("SELECT coalesce(max(id), 0) FROM change"))

    async def changes_since(self, change_id: int) -> ChangeBatch:
        """What changed after `change_id`, from this process or any other."""
        rows = await self._rows(
            "SELECT id, kind, contact_id FROM change WHERE id > ? ORDER BY id LIMIT 5000",
            (change_id,),
        )
        if not rows:
            return ChangeBatch(change_id, frozenset(), frozenset())
        # Up to 5,000 rows: named by unpacking, once each.
        changes = [(kind, contact_id) for _id, kind, contact_id in rows]
        return ChangeBatch(
            rows[-1]["id"],
            frozenset(contact for _, contact in changes if contact is not None),
            frozenset(kind for kind, _ in changes),
            frozenset(
                contact
                for kind, contact in changes
                if kind == ChangeKind.NOTE and contact is not None
            ),
        )

    async def wait_for_change(self, after: int, *, poll: float = 0.25) -> None:
        """Return once the change log has a change after `after`. SQLite tells
        no other process of a write: the log's newest id is looked at every
        `poll` seconds (one indexed read)."""
        # Another process's write wakes nothing here: looking is all there is.
        while await self.last_change_id() <= after:  # noqa: ASYNC110
            await asyncio.sleep(poll)

    async def prune_changes(self, older_than: float = 3600.0) -> None:
        cutoff = self._clock() - older_than

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM change WHERE at < ?", (cutoff,))

        await self._write(run)
