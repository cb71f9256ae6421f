"""The local store: OmniTUI's single source of truth (today on one SQLite file).

`Store` is the SQLite store; `StoreProtocol` (omnitui.store.protocol) is what
the rest of OmniTUI asks of any store. It is read only when asked for: the
console's start-up does not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnitui.store.errors import StoreBusy, StoreError, StoreUnreachable
from omnitui.store.files import Access, StoreUnusable
from omnitui.store.records import (
    ChangeBatch,
    IngestResult,
    LastMail,
    ProfileFields,
    RecordedOutbound,
    ThreadCursor,
    WithdrawnReply,
)
from omnitui.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from omnitui.store.protocol import StoreProtocol

    def _sqlite_store_keeps_the_protocol(store: SqliteStore) -> StoreProtocol:
        """mypy checks here that the SQLite store is a whole StoreProtocol."""
        return store


Store = SqliteStore


def __getattr__(name: str) -> object:
    if name == "StoreProtocol":
        from omnitui.store.protocol import StoreProtocol

        return StoreProtocol
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Access",
    "ChangeBatch",
    "IngestResult",
    "LastMail",
    "ProfileFields",
    "RecordedOutbound",
    "SqliteStore",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreProtocol",
    "StoreUnreachable",
    "StoreUnusable",
    "ThreadCursor",
    "WithdrawnReply",
]
