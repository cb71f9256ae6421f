"""Reading what SQLite rows hold: JSON columns and the like."""

from __future__ import annotations

import json


def json_strings(value: object) -> tuple[str, ...]:
    """A JSON list of strings read from a message's meta (anything else: empty)."""
    if not isinstance(value, str):
        return ()
    try:
        items = json.loads(value)
    except ValueError:
        return ()
    return tuple(str(i) for i in items if isinstance(i, str)) if isinstance(items, list) else ()
