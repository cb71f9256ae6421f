"""Bringing a store file to the current schema with Alembic.

Opening the console must be fast, so the current revision is read with plain
sqlite3 first; Alembic (and the ORM it needs) is imported only when there is
something to migrate.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from omnitui.errors import OmniError

# The newest revision in migrations/versions; a test checks it against Alembic.
HEAD = "0011"
_KNOWN = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010")


class SchemaTooNew(OmniError):
    """The store was written by a newer OmniTUI."""


def current_revision(path: Path) -> str | None:
    """The store's Alembic revision, or None for a new or empty file."""
    if not path.exists():
        return None
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if row is None:
            return None
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(version[0]) if version else None
    finally:
        conn.close()


def alembic_config(path: Path) -> object:
    from alembic.config import Config

    here = Path(__file__).parent
    config = Config()
    config.set_main_option("script_location", str(here / "migrations"))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    return config


def upgrade(path: Path, revision: str = "head") -> None:
    """Run the migrations on the store at `path` up to `revision`."""
    from alembic import command
    from alembic.config import Config

    config = alembic_config(path)
    assert isinstance(config, Config)
    command.upgrade(config, revision)


def ensure_current(path: Path) -> None:
    """Create or upgrade the store at `path` so it has the current schema."""
    revision = current_revision(path)
    if revision == HEAD:
        return
    if revision is not None and revision not in _KNOWN:
        raise SchemaTooNew(
            "{path} has schema revision {revision}, newer than this OmniTUI knows ({head}); "
            "upgrade OmniTUI to open it",
            path=path,
            revision=revision,
            head=HEAD,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(path)
