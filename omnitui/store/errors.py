"""What the store says when it cannot do what was asked."""

from __future__ import annotations

from omnitui.errors import OmniError


class StoreError(OmniError):
    """A store operation that cannot be done, with a reason for the user."""


class StoreUnreachable(StoreError):
    """The store's server cannot be reached now (it restarted, the network went);
    nothing was done. The console says so and tries again by itself."""


class StoreBusy(StoreError):
    """A bounded write did not get the store in time (another writer held it); nothing
    was written."""


class DuplicateRow(StoreError):
    """A write broke a unique constraint on PostgreSQL (SQLite raises IntegrityError)."""
