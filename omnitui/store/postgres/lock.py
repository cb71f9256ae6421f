"""Exactly one channel runner across machines: a PostgreSQL advisory lock.

The file lock beside an SQLite store only works on one machine. On
PostgreSQL the runner holds a session-level advisory lock on a connection of
its own; the server drops it the moment that session ends, whether the
process exited, was killed (kill -9 closes its socket) or its machine lost
the network, so a standby takes over within seconds.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

RUNNER_LOCK = 0x4F4D4E52  # "OMNR": the channel runner's lock, one per database


class PgChannelLock:
    """`acquire()` without waiting, `held()` to watch it, `holder()` for messages."""

    def __init__(self, url: str, password: str | None) -> None:
        self._url = url
        self._password = password
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False
        self.problem: str | None = None  # why the last try could not ask the server
        self.name = f"pid {os.getpid()} on {socket.gethostname()}"

    def acquire(self) -> bool:
        """Take the lock if no other process holds it (False: one does, or no server).

        The connection stays open while it waits its turn, so a standby asks
        again on it rather than logging in every time.
        """
        import psycopg

        if self._held and self.held():
            return True
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self._url,
                    password=self._password,
                    autocommit=True,
                    connect_timeout=10,
                    application_name=f"omnitui channels, {self.name}"[:63],
                )
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (RUNNER_LOCK,)).fetchone()
        except psycopg.Error as exc:
            self._drop()
            self.problem = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            return False
        self.problem = None
        self._held = bool(row and row[0])
        return self._held

    def held(self) -> bool:
        """Whether this process still holds the lock (its session is alive)."""
        import psycopg

        if not self._held or self._conn is None or self._conn.closed:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._held = False

    def holder(self) -> str:
        """Who holds the lock ("pid 123 on shop-server"), for messages; "?" if unknown."""
        import psycopg

        try:
            with psycopg.connect(
                self._url, password=self._password, autocommit=True, connect_timeout=10
            ) as conn:
                row = conn.execute(
                    "SELECT a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid::bigint = %s "
                    "AND l.granted LIMIT 1",
                    (RUNNER_LOCK,),
                ).fetchone()
        except psycopg.Error:
            return "?"
        if not row or not row[0]:
            return "?"
        return str(row[0]).removeprefix("omnitui channels, ").removeprefix("pid ")

    def release(self) -> None:
        self._drop()  # the session ends: the server drops the lock
