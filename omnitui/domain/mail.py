"""Small rules of email conversations."""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """`Re: <original>` without piling up `Re: Re:` (also AW:, SV:, Fwd:)."""
    core = _PREFIX.sub("", subject).strip()
    return f"Re: {core}" if core else "Re:"
