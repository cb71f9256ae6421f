"""Customer text made safe for a terminal.

Control characters (an ESC that would start an escape sequence, a bell, a
carriage return that would overwrite a line) are replaced by visible symbols,
so what a customer wrote is always shown as text. Rich markup needs no
handling here: the UI builds `rich.text.Text` objects, which never parse
markup.
"""

from __future__ import annotations

_MAP: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}
_MAP[0x7F] = "\u2421"
for _c in range(0x80, 0xA0):
    _MAP[_c] = f"<{_c:02X}>"
del _MAP[0x0A]  # newline stays a line break
_MAP[0x09] = "    "  # tab
# Bidirectional overrides can reorder what the agent sees: show them.
for _c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069):
    _MAP[_c] = f"<U+{_c:04X}>"
_TABLE = str.maketrans(_MAP)


def visible(text: str) -> str:
    """`text` with every control character shown as a visible symbol."""
    return text.replace("\r\n", "\n").translate(_TABLE)


def one_line(text: str, limit: int = 200) -> str:
    """A single-line preview of `text`, control characters made visible."""
    flat = " ".join(text.split())
    return visible(flat[:limit])


# A file name is at most 255 bytes on Linux and macOS, however few characters
# it has (150 Japanese characters are 450 bytes in UTF-8); room is left for
# the " (12)" added when a name is taken.
NAME_BYTES = 200
_EXTENSION_CHARS = 12


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A name a customer chose, made safe to write in a folder of ours.

    No path parts, no control characters, no leading dots, not empty, and at
    most `NAME_BYTES` bytes in UTF-8, cut between characters, keeping the
    extension.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ord(ch) >= 0x20 and ch not in '<>:"|?*\x7f')
    base = base.strip().lstrip(".").strip()
    if not base:
        return fallback
    stem, dot, extension = base.rpartition(".")
    if not dot or not stem or len(extension) > _EXTENSION_CHARS or " " in extension:
        stem, extension = base, ""
    suffix = f".{extension}" if extension else ""
    room = NAME_BYTES - len(suffix.encode())
    cut = stem.encode()[:room].decode("utf-8", errors="ignore").rstrip()
    return f"{cut}{suffix}" if cut else fallback


def shown_url(url: str) -> str:
    """`url` as logs and the consoles' channel line show it: without a password
    and without its query's values, where a receiver's token often rides
    (`https://crm.example.com/hook?key=…`)."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[-1]}"
        query = "&".join(f"{k}=…" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
        if parts.query and not query:
            query = "…"
        return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=""))
    except ValueError:
        return "(a URL that cannot be read)"
