"""The store on PostgreSQL, for a shop whose agents work on several machines.

The same store as on SQLite, part for part (`omnitui.store.sqlite`): only
what the parts stand on differs (`PostgresBase`: connections, the
transaction that writes one at a time, NOTIFY on each change).
"""

from __future__ import annotations

from omnitui.store.postgres.base import PostgresBase
from omnitui.store.sqlite import SqliteStore


class PostgresStore(PostgresBase, SqliteStore):
    """OmniTUI's single source of truth, in a PostgreSQL database.

    Build it with `await PostgresStore.open_url(url, password=...)`; close it
    with `await store.close()`.
    """


__all__ = ["PostgresStore"]
