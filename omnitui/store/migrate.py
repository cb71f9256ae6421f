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
HEAD = "0013"
_KNOWN = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
)


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
    _check_known(path, revision)
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(path)


# Two processes opening a new PostgreSQL store at once migrate it one after
# the other: the second finds it current.
MIGRATE_LOCK = 0x4F4D4E4D  # "OMNM"


def sqlalchemy_url(url: str, password: str | None) -> object:
    """`url` (postgresql://...) as SQLAlchemy's URL for psycopg, with the password."""
    from sqlalchemy.engine import make_url

    made = make_url(url).set(drivername="postgresql+psycopg")
    return made.set(password=password) if password is not None else made


def ensure_current_url(url: str, password: str | None) -> None:
    """Create or upgrade the store in the PostgreSQL database at `url`."""
    import psycopg

    with psycopg.connect(url, password=password, autocommit=True, connect_timeout=10) as conn:
        revision = _pg_revision(conn)
        if revision == HEAD:
            return
        _check_known(url, revision)
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        try:
            if _pg_revision(conn) != HEAD:
                _upgrade_url(url, password)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))


def _pg_revision(conn: object) -> str | None:
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    found = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _check_known(where: object, revision: str | None) -> None:
    if revision is not None and revision != HEAD and revision not in _KNOWN:
        raise SchemaTooNew(
            "{path} has schema revision {revision}, newer than this OmniTUI knows ({head}); "
            "upgrade OmniTUI to open it",
            path=where,
            revision=revision,
            head=HEAD,
        )


def upgrade_url(url: str, password: str | None, revision: str = "head") -> None:
    """Run the migrations on the PostgreSQL store at `url` up to `revision`."""
    _upgrade_url(url, password, revision)


def _upgrade_url(url: str, password: str | None, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, pool

    config = alembic_config(Path("unused"))
    assert isinstance(config, Config)
    engine = create_engine(sqlalchemy_url(url, password), poolclass=pool.NullPool)  # type: ignore[call-overload]
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
