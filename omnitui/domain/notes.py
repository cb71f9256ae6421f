"""Internal notes: the agents a note calls on with `@name`.

An agent is known by their `[agent] name`, which may hold a space (`Aiko
Tanaka`) or be Japanese (`愛子`). A note mentions an agent when it holds `@`
and their name, compared after NFKC and case folding (so `＠ken` calls Ken).
`@Ken` does not call Kenji, an address like `ken@example.com` calls nobody,
and a Japanese name may run on into an honorific (`@愛子さん`).
"""

from __future__ import annotations

import re
import unicodedata

# Below the CJK blocks, a letter or digit continues a word: `@Ken` + `ji`.
_CJK_START = 0x2E80
_MENTION = re.compile(r"(?<![\w.%+-])[@＠][^\s@＠,;:!?、。，．！？「」『』()（）]+")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _continues_word(ch: str) -> bool:
    return bool(ch) and (ch.isalnum() or ch == "_") and ord(ch) < _CJK_START


def mentions(text: str, agent: str) -> bool:
    """Does the note `text` call on the agent named `agent`?"""
    name = " ".join(_fold(agent).split())
    if not name:
        return False
    folded = " ".join(_fold(text).split())
    needle = "@" + name
    start = 0
    while (at := folded.find(needle, start)) >= 0:
        start = at + 1
        before = folded[at - 1 : at] if at else ""
        if before and (_continues_word(before) or before in ".%+-"):
            continue  # an email address, not a mention
        after = folded[at + len(needle) : at + len(needle) + 1]
        if _continues_word(name[-1]) and _continues_word(after):
            continue  # @Ken in @Kenji
        return True
    return False


def mention_spans(text: str) -> list[tuple[int, int]]:
    """Where `@name` words stand in `text`, to show them marked."""
    return [(m.start(), m.end()) for m in _MENTION.finditer(text)]
