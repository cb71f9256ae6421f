"""Merging two contacts' profiles: which values win, and what is kept as history.

A merge never throws a value away. Where only one contact has a value, it is
kept. Where both have different values, the agent picks the one that wins and
the other is kept as history on the merged contact. Tags are the union.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

CORE_FIELDS = ("name", "first_name", "language")
FIELD_PREFIX = (
    "field:"  # profile fields next to the core ones, so a field called "name" is no clash
)


def field_label(key: str) -> str:
    """What the agent sees for a merge key: `name`, `order_id`…"""
    return key.removeprefix(FIELD_PREFIX)


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """A contact's editable profile at one moment."""

    name: str = ""
    first_name: str = ""
    language: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def values(self) -> dict[str, str]:
        """Every value by merge key: the core fields, then `field:<key>` for profile fields."""
        values = {"name": self.name, "first_name": self.first_name, "language": self.language}
        values.update({FIELD_PREFIX + k: v for k, v in self.fields.items()})
        return values

    @classmethod
    def from_values(cls, values: Mapping[str, str], tags: tuple[str, ...]) -> ProfileSnapshot:
        return cls(
            name=values.get("name", ""),
            first_name=values.get("first_name", ""),
            language=values.get("language", ""),
            fields={
                k.removeprefix(FIELD_PREFIX): v
                for k, v in values.items()
                if k.startswith(FIELD_PREFIX)
            },
            tags=tags,
        )

    def to_json(self) -> str:
        return json.dumps(
            {"values": self.values(), "tags": list(self.tags)}, ensure_ascii=False, sort_keys=True
        )

    @classmethod
    def from_json(cls, text: str) -> ProfileSnapshot | None:
        data = json.loads(text or "{}")
        if not data:
            return None
        return cls.from_values(data.get("values", {}), tuple(data.get("tags", [])))


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field both contacts fill with different values."""

    key: str
    kept: str  # the value of the contact merged into
    incoming: str  # the value of the contact merged away

    @property
    def label(self) -> str:
        return field_label(self.key)


@dataclass(frozen=True, slots=True)
class FieldHistory:
    """A value that lost in a merge, shown on the merged contact's profile."""

    field: str  # as the agent sees it: name, order_id…
    value: str
    source_name: str  # the name of the contact the value was on before the merge
    at: float


@dataclass(frozen=True, slots=True)
class MergeResult:
    profile: ProfileSnapshot
    # (merge key, the value that lost, True when it was the incoming contact's)
    history: tuple[tuple[str, str, bool], ...]


@dataclass(frozen=True, slots=True)
class MergePlan:
    """What merging `incoming` into `kept` does to the profile."""

    kept: ProfileSnapshot
    incoming: ProfileSnapshot

    def conflicts(self) -> list[Conflict]:
        kept, incoming = self.kept.values(), self.incoming.values()
        return [
            Conflict(key, kept[key], value)
            for key, value in incoming.items()
            if value.strip() and kept.get(key, "").strip() and kept[key] != value
        ]

    def filled(self) -> dict[str, str]:
        """Values only the incoming contact has: they are taken as they are."""
        kept = self.kept.values()
        return {
            key: value
            for key, value in self.incoming.values().items()
            if value.strip() and not kept.get(key, "").strip()
        }

    def tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.kept.tags, *self.incoming.tags)))

    def result(self, incoming_wins: Collection[str] = ()) -> MergeResult:
        """The merged profile when the incoming values win for `incoming_wins` keys
        (the kept contact's win elsewhere), and the losing values as history."""
        values = self.kept.values()
        values.update(self.filled())
        history: list[tuple[str, str, bool]] = []
        for conflict in self.conflicts():
            if conflict.key in incoming_wins:
                values[conflict.key] = conflict.incoming
                history.append((conflict.key, conflict.kept, False))
            else:
                history.append((conflict.key, conflict.incoming, True))
        return MergeResult(ProfileSnapshot.from_values(values, self.tags()), tuple(history))


def undo_profile(
    current: ProfileSnapshot, before: ProfileSnapshot, after: ProfileSnapshot
) -> ProfileSnapshot:
    """The profile after undoing a merge: every value the merge set goes back to
    what it was before, unless an agent has changed it since (then it stays)."""
    now, was, set_to = current.values(), before.values(), after.values()
    values = dict(now)
    for key in set(was) | set(set_to):
        if now.get(key, "") == set_to.get(key, ""):
            if key in was:
                values[key] = was[key]
            else:
                values.pop(key, None)
    tags = before.tags if current.tags == after.tags else current.tags
    return ProfileSnapshot.from_values(values, tags)
