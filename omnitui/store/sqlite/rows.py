"""Reading what SQLite rows hold: JSON columns and the like."""

from __future__ import annotations

import json
import sqlite3

from omnitui.domain.models import Contact, Identity, IdentityKind, ThreadStatus


def json_strings(value: object) -> tuple[str, ...]:
    """A JSON list of strings read from a message's meta (anything else: empty)."""
    if not isinstance(value, str):
        return ()
    try:
        items = json.loads(value)
    except ValueError:
        return ()
    return tuple(str(i) for i in items if isinstance(i, str)) if isinstance(items, list) else ()


def identity_of(i: sqlite3.Row) -> Identity:
    """An identity from a row with the identity table's columns."""
    return Identity(
        id=i["id"],
        contact_id=i["contact_id"],
        kind=IdentityKind(i["kind"]),
        address=i["address"],
        display=i["display"],
        last_used=i["last_used"],
        opted_out=bool(i["opted_out"]),
    )


def contact_of(r: sqlite3.Row, identities: tuple[Identity, ...] = ()) -> Contact:
    """A contact from a row with the contact table's columns (name, profile, tags…)."""
    return Contact(
        id=r["id"],
        name=r["name"],
        first_name=r["first_name"],
        language=r["language"],
        profile=json.loads(r["profile"] or "{}"),
        status=ThreadStatus(r["status"]),
        snoozed_until=r["snoozed_until"],
        assignee=r["assignee"],
        tags=tuple(json.loads(r["tags"] or "[]")),
        unread=r["unread"],
        last_activity=r["last_activity"],
        last_account=r["last_account"],
        identities=identities,
    )
