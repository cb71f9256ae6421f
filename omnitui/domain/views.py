"""The contact list's views: who is waiting, whose is it, which channel."""

from __future__ import annotations

from enum import StrEnum


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
