"""People's names: which part is the given name, for `{first_name}`.

Japanese (and Chinese, Korean) names are written family name first: 山田 花子
is Hanako of the Yamada family. Western names are written given name first.
The guess is only offered (prefilled where the agent is asked), never used
in a reply on its own: "Tanaka Misaki" in Latin letters could be either.
"""

from __future__ import annotations

import unicodedata

_EAST_ASIAN_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")


def written_east_asian(text: str) -> bool:
    """Does `text` use kanji, kana or hangul?"""
    for char in text:
        if ord(char) < 0x2E80:
            continue
        name = unicodedata.name(char, "")
        if name.startswith(_EAST_ASIAN_SCRIPTS):
            return True
    return False


def given_name_guess(full_name: str) -> str:
    """The likely given name in `full_name`, or "" when there is no telling.

    `山田 花子` → `花子` (family name first), `Emma Brown` → `Emma`,
    `Emma` → `Emma`; `山田花子` (no space), an address or a number → "".
    """
    name = unicodedata.normalize("NFKC", full_name).strip()
    if not name or "@" in name or name.lstrip("+").replace(" ", "").isdigit():
        return ""
    parts = name.split()
    if written_east_asian(name):
        return parts[-1] if len(parts) >= 2 else ""
    first = parts[0].strip(",.")
    return first if first.isalpha() or "-" in first or "'" in first else ""
