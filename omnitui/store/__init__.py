"""The local store: OmniTUI's single source of truth (today on one SQLite file)."""

from omnitui.store.errors import StoreBusy, StoreError
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

Store = SqliteStore

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
    "StoreUnusable",
    "ThreadCursor",
    "WithdrawnReply",
]
