"""What Alembic's autogenerate compares: not the FTS5 tables, which migrations make by hand."""

from __future__ import annotations

from collections.abc import Mapping


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    if type_ == "table" and name is not None and name.startswith("message_search"):
        return False
    return True
