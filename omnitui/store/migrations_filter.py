"""What Alembic's autogenerate compares: not the FTS5 tables, which migrations make by hand."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any


def include_name(
    name: str | None, type_: Any, parent_names: MutableMapping[Any, str | None]
) -> bool:
    return not (type_ == "table" and name is not None and name.startswith("message_search"))
