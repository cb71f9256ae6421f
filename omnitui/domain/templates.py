"""Canned replies: `{placeholder}` rendering with `{key|fallback}`.

`{{` and `}}` stand for literal braces. A placeholder with no value and no
fallback stays in the text as written and is reported, so the composer can
refuse to send until the agent fills it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from omnitui.domain.models import CannedReply

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][\w.-]*)(?:\|([^{}]*))?\}")


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    unresolved: tuple[str, ...]

    def markers(self) -> tuple[str, ...]:
        """The literal `{name}` markers left in the text."""
        return tuple("{" + name + "}" for name in self.unresolved)


def render(body: str, values: Mapping[str, str]) -> Rendered:
    """Fill `body`'s placeholders from `values` (keys compared case-insensitively)."""
    lookup = {k.lower(): v for k, v in values.items() if v}
    unresolved: list[str] = []

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name, fallback = match.group(1), match.group(2)
        value = lookup.get(name.lower())
        if value is not None:
            return value
        if fallback is not None:
            return fallback
        if name not in unresolved:
            unresolved.append(name)
        return "{" + name + "}"

    return Rendered(PLACEHOLDER.sub(fill, body), tuple(unresolved))


def placeholders(body: str) -> tuple[str, ...]:
    """Names of the placeholders in `body`, in order, without repeats."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(body):
        name = match.group(1)
        if name and name not in names:
            names.append(name)
    return tuple(names)


def still_unresolved(text: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """Which of `names` still stand as `{name}` in `text` (the agent may have typed over them)."""
    return tuple(n for n in names if "{" + n + "}" in text)


def pick_canned(replies: Sequence[CannedReply], shortcut: str, language: str) -> CannedReply | None:
    """The canned reply `shortcut` in `language`, else its version without a
    language, else any version."""
    found = [r for r in replies if r.shortcut == shortcut]
    return (
        next((r for r in found if language and r.language == language), None)
        or next((r for r in found if not r.language), None)
        or (found[0] if found else None)
    )
