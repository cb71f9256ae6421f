"""The contact list's views, read from SQLite: pages, positions, counts."""

from __future__ import annotations

import sqlite3
from typing import Any

from omnitui.domain.models import ChannelKind, ContactSummary, Direction, ThreadStatus
from omnitui.domain.views import VIEWS, AnyView, TagView, View
from omnitui.store.sqlite.base import SqliteBase

# Each view's condition on the contact table; `:agent` is the agent's name. Fixed
# text chosen from this table, never built from input.
VIEW_SQL: dict[View, str] = {
    View.ALL: "1 = 1",
    View.MINE: "assignee = :agent AND status != 'resolved'",
    View.UNASSIGNED: "assignee IS NULL AND status IN ('open', 'pending')",
    View.WAITING: "status = 'open' AND last_direction = 'in'",
    View.SNOOZED: "status = 'snoozed'",
    View.RESOLVED: "status = 'resolved'",
    View.EMAIL: "(',' || channels || ',') LIKE '%,email,%'",
    View.TELEGRAM: "(',' || channels || ',') LIKE '%,telegram,%'",
    View.SMS: "(',' || channels || ',') LIKE '%,sms,%'",
    View.LINE: "(',' || channels || ',') LIKE '%,line,%'",
}


_TAG_SQL = "EXISTS (SELECT 1 FROM json_each(contact.tags) WHERE json_each.value = :tag)"


def view_condition(view: AnyView) -> tuple[str, dict[str, Any]]:
    """The SQL condition on the contact table for a view, and its parameters.

    The condition is fixed text; a tag only ever travels as a parameter.
    """
    if isinstance(view, TagView):
        return _TAG_SQL, {"tag": view.tag}
    return VIEW_SQL[view], {}


# The contact list's columns, in the order `_summary` names them; `:agent` marks
# the contacts that agent has a draft for.
_SUMMARY_COLUMNS = (
    "id, name, status, snoozed_until, unread, last_activity, last_preview, last_direction, "
    "channels, assignee, EXISTS (SELECT 1 FROM draft "
    "WHERE draft.contact_id = contact.id AND draft.agent = :agent) AS draft"
)


def _summary(row: sqlite3.Row) -> ContactSummary:
    # Named by unpacking, in _SUMMARY_COLUMNS' order: a page of 200 rows is read
    # on every key press, and a lookup by name costs ten times one by place.
    (
        contact_id,
        name,
        status,
        snoozed_until,
        unread,
        last_activity,
        last_preview,
        last_direction,
        channels,
        assignee,
        draft,
    ) = row
    return ContactSummary(
        id=contact_id,
        name=name,
        status=ThreadStatus(status),
        snoozed_until=snoozed_until,
        unread=unread,
        last_activity=last_activity,
        last_preview=last_preview,
        last_direction=Direction(last_direction) if last_direction else None,
        channels=frozenset(ChannelKind(k) for k in (channels or "").split(",") if k),
        assignee=assignee,
        draft=bool(draft),
    )


class SqliteViews(SqliteBase):
    """The contact list: its pages, a contact's place in a view, the views' counts."""

    async def list_contacts(
        self,
        *,
        limit: int = 200,
        after: tuple[float, int] | None = None,
        view: AnyView = View.ALL,
        agent: str = "",
    ) -> list[ContactSummary]:
        """Contacts in a view by last activity, newest first, one page at a time.

        `after` is the (last_activity, id) of the last row of the previous page.
        """
        condition, view_params = view_condition(view)
        where = ["merged_into IS NULL", condition]
        params: dict[str, Any] = {"agent": agent, "limit": limit, **view_params}
        if after is not None:
            where.append("(last_activity, id) < (:after_at, :after_id)")
            params.update(after_at=after[0], after_id=after[1])
        rows = await self._rows(
            f"SELECT {_SUMMARY_COLUMNS} FROM contact "
            f"WHERE {' AND '.join(where)} ORDER BY last_activity DESC, id DESC LIMIT :limit",
            params,
        )
        return [_summary(row) for row in rows]

    async def contact_position(
        self, contact_id: int, *, view: AnyView = View.ALL, agent: str = ""
    ) -> int | None:
        """How many contacts come before `contact_id` in a view's list, or None
        when the view does not hold it (to load the list as far as it)."""
        condition, view_params = view_condition(view)
        params: dict[str, Any] = {"agent": agent, "id": contact_id, **view_params}
        where = f"merged_into IS NULL AND {condition}"
        rows = await self._rows(
            f"SELECT last_activity FROM contact WHERE id = :id AND {where}", params
        )
        if not rows:
            return None
        params["at"] = rows[0]["last_activity"]
        before = await self._value(
            f"SELECT count(*) FROM contact WHERE {where} AND (last_activity, id) > (:at, :id)",
            params,
        )
        return int(before)

    async def view_counts(self, agent: str = "") -> dict[AnyView, int]:
        """How many contacts each view holds: the fixed views (one pass over the
        contacts), then one view per tag in use, by tag name."""
        # One column per view, named by its place in VIEWS (a view's name is no column name).
        columns = ", ".join(
            f"coalesce(sum(CASE WHEN {VIEW_SQL[v]} THEN 1 ELSE 0 END), 0) AS view{i}"
            for i, v in enumerate(VIEWS)
        )
        rows = await self._rows(
            f"SELECT {columns} FROM contact WHERE merged_into IS NULL", {"agent": agent}
        )
        counts: dict[AnyView, int] = {v: int(rows[0][f"view{i}"]) for i, v in enumerate(VIEWS)}
        tags = await self._rows(
            "SELECT json_each.value AS tag, count(*) AS n FROM contact, json_each(contact.tags) "
            "WHERE merged_into IS NULL AND json_each.type = 'text' "
            "GROUP BY json_each.value ORDER BY json_each.value"
        )
        counts.update({TagView(str(r["tag"])): int(r["n"]) for r in tags})
        return counts

    async def next_waiting(self) -> int | None:
        """The customer who has waited longest for an answer."""
        waiting = await self._value(
            f"SELECT id FROM contact WHERE merged_into IS NULL AND {VIEW_SQL[View.WAITING]} "
            "ORDER BY last_activity, id LIMIT 1"
        )
        return None if waiting is None else int(waiting)

    async def contact_summary(self, contact_id: int, agent: str = "") -> ContactSummary | None:
        rows = await self._rows(
            f"SELECT {_SUMMARY_COLUMNS} FROM contact WHERE id = :id",
            {"id": contact_id, "agent": agent},
        )
        return _summary(rows[0]) if rows else None
