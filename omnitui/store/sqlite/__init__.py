"""The store on one SQLite file, one module per concern, composed here."""

from __future__ import annotations

from omnitui.store.sqlite.automation import SqliteAutomation
from omnitui.store.sqlite.broadcasts import SqliteBroadcasts
from omnitui.store.sqlite.canned import SqliteCanned
from omnitui.store.sqlite.changes import SqliteChangeLog
from omnitui.store.sqlite.drafts import SqliteDrafts
from omnitui.store.sqlite.ingest import SqliteIngest
from omnitui.store.sqlite.notes import SqliteNotes
from omnitui.store.sqlite.reports import SqliteReports
from omnitui.store.sqlite.search import SqliteSearch
from omnitui.store.sqlite.threads import SqliteThreads
from omnitui.store.sqlite.views import SqliteViews
from omnitui.store.sqlite.webhooks import SqliteWebhooks


class SqliteStore(
    SqliteIngest,
    SqliteAutomation,
    SqliteBroadcasts,
    SqliteThreads,
    SqliteViews,
    SqliteDrafts,
    SqliteNotes,
    SqliteCanned,
    SqliteSearch,
    SqliteChangeLog,
    SqliteReports,
    SqliteWebhooks,
):
    """OmniTUI's single source of truth, on one SQLite file.

    Build it with `await SqliteStore.open(path)`; close it with `await store.close()`.

    Reads go through an aiosqlite connection. Each write is one transaction run
    as a single function on a dedicated writer thread, so two coroutines can
    never interleave their statements inside one transaction. Every write also
    appends to the `change` table, which every OmniTUI process on the same file
    polls (`changes_since`) to stay live.

    A write that must be done in a given time (a webhook that owes its provider
    an answer) does not queue behind the others on that thread: it runs on a
    connection of its own, waits for SQLite's write lock no longer than it was
    given, and raises `StoreBusy` having written nothing if the lock did not come.
    """


__all__ = ["SqliteStore"]
