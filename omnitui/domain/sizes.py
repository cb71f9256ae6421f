"""A file's size as people read it."""

from __future__ import annotations


def size_words(n: int) -> str:
    """`812 B`, `4.0 KB`, `12.3 MB`: the unit that keeps the number small."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
