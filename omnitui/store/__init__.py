"""The local SQLite store: OmniTUI's single source of truth."""

from omnitui.store.store import Store, StoreError

__all__ = ["Store", "StoreError"]
