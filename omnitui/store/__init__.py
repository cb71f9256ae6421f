"""The local SQLite store: OmniTUI's single source of truth."""

from omnitui.store.files import Access, StoreUnusable
from omnitui.store.store import Store, StoreBusy, StoreError

__all__ = ["Access", "Store", "StoreBusy", "StoreError", "StoreUnusable"]
