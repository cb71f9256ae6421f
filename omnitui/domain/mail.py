"""Small rules of email conversations."""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """`Re: <original>` without piling up `Re: Re:` (also AW:, SV:, Fwd:)."""
    core = _PREFIX.sub("", subject).strip()
    return f"Re: {core}" if core else "Re:"


def first_subject(shop: str, language: str = "") -> str:
    """The subject of a first mail to a customer, in their language (`ja` or other)."""
    shop = " ".join(shop.split())
    if language == "ja":
        return f"{shop}よりご連絡" if shop else "ご連絡"
    return f"A message from {shop}" if shop else "Hello"
