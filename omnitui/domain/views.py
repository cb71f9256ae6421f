"""The contact list's views: who is waiting, whose is it, which channel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class View(StrEnum):
    ALL = "All"
    MINE = "Mine"
    UNASSIGNED = "Unassigned"
    WAITING = "Waiting"
    SNOOZED = "Snoozed"
    RESOLVED = "Resolved"
    EMAIL = "Email"
    TELEGRAM = "Telegram"
    SMS = "SMS"


VIEWS: tuple[View, ...] = tuple(View)

# SQL conditions on the contact table; `:agent` is the agent's name. Fixed
# text chosen from this table, never built from input.
VIEW_SQL: dict[View, str] = {
    View.ALL: "1",
    View.MINE: "assignee = :agent AND status != 'resolved'",
    View.UNASSIGNED: "assignee IS NULL AND status IN ('open', 'pending')",
    View.WAITING: "status = 'open' AND last_direction = 'in'",
    View.SNOOZED: "status = 'snoozed'",
    View.RESOLVED: "status = 'resolved'",
    View.EMAIL: "(',' || channels || ',') LIKE '%,email,%'",
    View.TELEGRAM: "(',' || channels || ',') LIKE '%,telegram,%'",
    View.SMS: "(',' || channels || ',') LIKE '%,sms,%'",
}


@dataclass(frozen=True, slots=True)
class TagView:
    """The contacts with one tag (a view per tag the shop uses)."""

    tag: str

    def __str__(self) -> str:
        return f"#{self.tag}"


AnyView = View | TagView

_TAG_SQL = "EXISTS (SELECT 1 FROM json_each(contact.tags) WHERE json_each.value = :tag)"


def view_condition(view: AnyView) -> tuple[str, dict[str, Any]]:
    """The SQL condition on the contact table for a view, and its parameters.

    The condition is fixed text; a tag only ever travels as a parameter.
    """
    if isinstance(view, TagView):
        return _TAG_SQL, {"tag": view.tag}
    return VIEW_SQL[view], {}
