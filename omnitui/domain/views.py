"""The contact list's views: who is waiting, whose is it, which channel."""

from __future__ import annotations

from dataclasses import dataclass
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
    LINE = "LINE"


VIEWS: tuple[View, ...] = tuple(View)


@dataclass(frozen=True, slots=True)
class TagView:
    """The contacts with one tag (a view per tag the shop uses)."""

    tag: str

    def __str__(self) -> str:
        return f"#{self.tag}"


AnyView = View | TagView
