"""The change log and channel health in SQLite: what every console polls."""

from __future__ import annotations

import sqlite3

from omnitui.domain.changes import ChangeKind
from omnitui.store.records import ChangeBatch
from omnitui.store.sqlite.base import SqliteBase


class SqliteChangeLog(SqliteBase):
    """The change log every console polls, and each channel's health."""

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
                self._change(conn, ChangeKind.CHANNEL, None)

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
            frozenset(r[2] for r in rows if r[1] == ChangeKind.NOTE and r[2] is not None),
        )

    async def prune_changes(self, older_than: float = 3600.0) -> None:
        cutoff = self._clock() - older_than

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM change WHERE at < ?", (cutoff,))

        await self._write(run)
