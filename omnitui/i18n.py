"""The console's language: English or Japanese, chosen per console.

The English text is the key: `tr("Reply")` is "Reply" in English and 返信 in
Japanese. Text with values uses named fields, filled after translation:
`tr("{name} is already replying").format(name=...)`. Text without a
translation is shown in English, never an error.

The language is held in a context variable: a console sets it when it starts,
and everything it runs (screens, widgets, workers) reads it, so an English and
a Japanese console can live in one process (the tests do this).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Literal, TypeGuard

from omnitui.locale_ja import JA, REASON_PATTERNS, REASON_WORDS

Language = Literal["en", "ja"]
LANGUAGES: tuple[Language, ...] = ("en", "ja")

# English needs no catalogue: its text is the key.
CATALOGUES: dict[Language, Mapping[str, str]] = {"ja": JA}

_active: ContextVar[Language] = ContextVar("omnitui_language", default="en")


def is_language(value: object) -> TypeGuard[Language]:
    return value in LANGUAGES


def locale_language(environ: Mapping[str, str] | None = None) -> Language:
    """The language the environment's locale asks for.

    The first of LC_ALL, LC_MESSAGES and LANG that is set decides, as for
    any program: a value starting with "ja" (ja_JP.UTF-8, ja) is Japanese,
    anything else English.
    """
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def resolve_language(configured: str | None, environ: Mapping[str, str] | None = None) -> Language:
    """`[ui] language` (or --language) when given, else the locale's language."""
    if is_language(configured):
        return configured
    return locale_language(environ)


def use_language(language: Language) -> None:
    """Make `language` the one `tr` answers in, here and in what this context starts."""
    _active.set(language)


def active_language() -> Language:
    return _active.get()


def tr(text: str) -> str:
    """`text` in the active language; English when there is no translation."""
    catalogue = CATALOGUES.get(_active.get())
    if catalogue is None:
        return text
    return catalogue.get(text, text)


def N_(text: str) -> str:  # the gettext name for this marker
    """Mark English text that is translated later, where it is shown.

    For text fixed at import time (class attributes, module tables): the
    marker keeps it in the catalogue check; `tr` translates it on screen.
    """
    return text


def tr_reason(reason: str) -> str:
    """Why a reply failed, or what became of a file, in the active language.

    The reason is stored in English, as OmniTUI worded it ("retrying: …",
    "Twilio refused it: invalid To number (Twilio error 21211)"); in Japanese
    its known parts are translated and what a provider said in its own words
    is kept as it said it, like a customer's text.
    """
    if _active.get() != "ja":
        return reason
    text = reason
    for english, japanese in REASON_WORDS.items():
        text = text.replace(english, japanese)
    for pattern, japanese in REASON_PATTERNS:
        text = pattern.sub(japanese, text)
    return text
