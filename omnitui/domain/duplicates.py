"""Possible duplicate contacts, on evidence too weak to merge by itself.

Strong evidence (the same address) links contacts automatically; this module
only *suggests*: names that read alike (田中 美咲 / 田中美咲, Emma Wilson /
emma wilson), and a phone number written in a message of one contact that is
another contact's SMS number (a signature). The agent accepts or dismisses
each suggestion.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from omnitui.domain.identity import InvalidAddress, normalize_phone
from omnitui.i18n import N_

NAME_SCORE = 92  # rapidfuzz ratio (0-100) from which two names read alike
_PHONE = re.compile(r"(?:\+|0)[\d\-\s().]{8,18}\d")


@dataclass(frozen=True, slots=True)
class Candidate:
    contact_id: int
    name: str


NAMES_ALIKE = N_("names read alike: {a} / {b}")
PHONE_WRITTEN = N_("wrote {number}, the other's phone number")


@dataclass(frozen=True, slots=True)
class Suggestion:
    a: int
    b: int
    reason: str  # an English template: NAMES_ALIKE, PHONE_WRITTEN
    values: Mapping[str, str]
    score: int

    @property
    def evidence(self) -> str:
        """The evidence in English, as merge records keep it."""
        return self.reason.format(**self.values)

    @property
    def pair(self) -> tuple[int, int]:
        return (min(self.a, self.b), max(self.a, self.b))


def name_key(name: str) -> str:
    """A name folded for comparison: width, case, spaces and dots don't matter."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s.\-・_]+", "", folded)


def similar_names(candidates: Sequence[Candidate], *, score: int = NAME_SCORE) -> list[Suggestion]:
    from rapidfuzz import fuzz, process

    keys = [name_key(c.name) for c in candidates]
    usable = [i for i, k in enumerate(keys) if len(k) >= 2]
    if len(usable) < 2:
        return []
    found: list[Suggestion] = []
    for x, i in enumerate(usable):
        later = [keys[j] for j in usable[x + 1 :]]
        for _, value, y in process.extract(
            keys[i], later, scorer=fuzz.ratio, score_cutoff=score, limit=None
        ):
            a, b = candidates[i], candidates[usable[x + 1 + y]]
            found.append(
                Suggestion(
                    a.contact_id,
                    b.contact_id,
                    NAMES_ALIKE,
                    {"a": a.name, "b": b.name},
                    int(value),
                )
            )
    return found


def phones_in_text(text: str, region: str | None) -> set[str]:
    """E.164 numbers written in `text` (a signature, a message)."""
    numbers: set[str] = set()
    for match in _PHONE.finditer(unicodedata.normalize("NFKC", text)):
        try:
            numbers.add(normalize_phone(match.group(0), region))
        except InvalidAddress:
            continue
    return numbers


def phone_mentions(
    texts: Iterable[tuple[int, str]], phone_owners: Mapping[str, int], region: str | None
) -> list[Suggestion]:
    """A number written by one contact that is another contact's phone."""
    found: dict[tuple[int, int], Suggestion] = {}
    for contact_id, text in texts:
        for number in phones_in_text(text, region):
            owner = phone_owners.get(number)
            if owner is not None and owner != contact_id:
                s = Suggestion(contact_id, owner, PHONE_WRITTEN, {"number": number}, 100)
                found.setdefault(s.pair, s)
    return list(found.values())


def rank(suggestions: Iterable[Suggestion], dismissed: set[tuple[int, int]]) -> list[Suggestion]:
    """Best evidence first, one per pair, dismissed pairs left out."""
    best: dict[tuple[int, int], Suggestion] = {}
    for s in suggestions:
        if s.pair in dismissed:
            continue
        if s.pair not in best or s.score > best[s.pair].score:
            best[s.pair] = s
    return sorted(best.values(), key=lambda s: -s.score)
