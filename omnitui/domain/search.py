"""Search terms that find Japanese substrings with SQLite FTS5.

FTS5's `unicode61` tokenizer reads a run of kanji and kana as one token, so a
search for `予約` would miss `ご予約ありがとう`. Before indexing, each run of
CJK characters is written as overlapping bigrams (`ご予 予約 約あ ...`) plus its
last character alone; a query is turned into the same bigrams as a phrase, so
any substring of two or more characters is a phrase match, and a single
character is a prefix match. Latin text stays word-based (prefix on the last
word typed).
"""

from __future__ import annotations

import re
import unicodedata

_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uff66-\uff9f"  # half-width katakana
    "\u3005\u3006\u30fc"  # 々 〆 ー
    "\uac00-\ud7af"  # hangul syllables
)
_RUN = re.compile(f"([{_CJK}]+)|([^\\W_]+)")


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    grams.append(run[-1])
    return grams


def index_terms(text: str) -> str:
    """The text FTS5 indexes for `text`: words, and CJK runs as bigrams."""
    out: list[str] = []
    for match in _RUN.finditer(text.lower()):
        cjk, word = match.groups()
        if cjk:
            out.extend(_bigrams(cjk))
        elif word:
            out.append(word)
    return " ".join(out)


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression for what the user typed, or None if it has no terms.

    Every term must match (AND). A CJK run matches as a substring; the last
    Latin word matches as a prefix, so results come while typing.
    """
    parts: list[str] = []
    matches = list(_RUN.finditer(query.lower()))
    for i, match in enumerate(matches):
        cjk, word = match.groups()
        if cjk:
            if len(cjk) == 1:
                parts.append(_quote(cjk) + " *")
            else:
                grams = [cjk[j : j + 2] for j in range(len(cjk) - 1)]
                parts.append(_quote(" ".join(grams)))
        elif word:
            last = i == len(matches) - 1
            parts.append(_quote(word) + (" *" if last else ""))
    return " AND ".join(parts) if parts else None


def _fold(word: str) -> str:
    """A Latin word without its accents, as FTS5's `remove_diacritics` reads it."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    )


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def pg_terms(text: str) -> str:
    """The same terms as `index_terms`, as a PostgreSQL tsvector literal.

    The terms are lexemes as they are (no parser, no stemming), so the index
    on PostgreSQL holds exactly what the SQLite index holds.
    """
    seen: dict[str, None] = {}
    for match in _RUN.finditer(text.lower()):
        cjk, word = match.groups()
        if cjk:
            seen.update(dict.fromkeys(_bigrams(cjk)))
        elif word:
            seen[_fold(word)] = None
    return " ".join(_lexeme(term) for term in seen)


def pg_query(query: str) -> tuple[str, list[str]] | None:
    """A PostgreSQL tsquery for what the user typed, and the CJK runs each
    matching message must hold as they are, or None if it has no terms.

    The same matches as `fts_query`: every term must match; a CJK run's
    bigrams all match and the run itself is in the text (FTS5's phrase); a
    single CJK character and the last Latin word match as prefixes.
    """
    parts: list[str] = []
    runs: list[str] = []
    matches = list(_RUN.finditer(query.lower()))
    for i, match in enumerate(matches):
        cjk, word = match.groups()
        if cjk:
            if len(cjk) == 1:
                parts.append(_lexeme(cjk) + ":*")
            else:
                parts.extend(_lexeme(cjk[j : j + 2]) for j in range(len(cjk) - 1))
                if len(cjk) > 2:
                    runs.append(cjk)
        elif word:
            last = i == len(matches) - 1
            parts.append(_lexeme(_fold(word)) + (":*" if last else ""))
    return (" & ".join(parts), runs) if parts else None


def highlight_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where the query's terms occur in `text` (case-insensitive), for highlighting."""
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    for match in _RUN.finditer(query.lower()):
        term = match.group(0)
        start = lowered.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = lowered.find(term, start + len(term))
    spans.sort()
    return spans
