"""Alembic environment for OmniTUI's store (run from `omnitui.store.migrate`)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Boolean, engine_from_config, pool
from sqlalchemy.ext.compiler import compiles
from sqlmodel import SQLModel

import omnitui.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from omnitui.store.migrations_filter import include_name


@compiles(Boolean, "postgresql")
def _flag(type_: Any, compiler: Any, **kw: Any) -> str:
    """Flags are 0/1 integers on PostgreSQL too, as on SQLite, so the store's
    queries (`opted_out = 0`) read the same on both."""
    return "SMALLINT"


config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = engine_from_config(
            config.get_section(config.config_ini_section) or {},
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
