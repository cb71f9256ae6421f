"""The local store: OmniTUI's single source of truth (today on one SQLite file)."""

from omnitui.store.errors import StoreBusy, StoreError
from omnitui.store.files import Access, StoreUnusable
from omnitui.store.protocol import StoreProtocol
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

Store = SqliteStore


def _sqlite_store_keeps_the_protocol(store: SqliteStore) -> StoreProtocol:
    """Never called: mypy checks here that the SQLite store is a whole StoreProtocol."""
    return store


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
    "StoreUnusable",
    "ThreadCursor",
    "WithdrawnReply",
]
