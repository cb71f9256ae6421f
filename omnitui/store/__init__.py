"""The local SQLite store: OmniTUI's single source of truth."""

from omnitui.store.store import Store, StoreBusy, StoreError

__all__ = ["Store", "StoreBusy", "StoreError"]
