"""Headers as the console shows them: encoded words and raw 8-bit bytes decoded
in one charset per message, addresses read from the header's structure, dates."""

from __future__ import annotations

import binascii
import contextlib
import re
from collections.abc import Sequence
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, mktime_tz, parsedate_tz

from omnitui.adapters import pictograms
from omnitui.adapters.mailparse.charsets import (
    _ESC_SEQ,
    _JIS,
    _PLAIN,
    _codec,
    _decode,
    _decode_as,
    _fix_stray_jis,
    _guess,
    _Reading,
    _sniff,
)
from omnitui.domain.mail import format_address

_MAX_DEPTH = 30  # MIME parts nested deeper than this are skipped, with a problem named


class _RawPolicy(Compat32):
    """compat32 that hands back header values as parsed (8-bit bytes kept as
    surrogates) instead of wrapping them in `Header` objects we would have to undo."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawPolicy()

_CTYPE = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+)")


def _content_type(part: Message) -> str:
    value = part.get("content-type")
    if value is None:
        return part.get_default_type()
    found = _CTYPE.match(str(value))
    return found.group(1).lower() if found else "text/plain"


_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\x85\u2028\u2029]+")


_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([^\"';\s]+)", re.IGNORECASE)


def _own_parts(msg: Message, depth: int = 0) -> list[Message]:
    """The message and its MIME parts, not those of a forwarded message inside it."""
    parts = [msg]
    if depth < _MAX_DEPTH and msg.is_multipart() and not _content_type(msg).startswith("message/"):
        for child in msg.get_payload():
            if isinstance(child, Message):
                parts += _own_parts(child, depth + 1)
    return parts


def _reading(msg: Message) -> _Reading:
    """One decision for a whole message: the charset of raw 8-bit bytes in any of its
    headers (from the bytes of all of them together, and the charsets its body parts and
    encoded words declare, see `_sniff`), and the carrier its From address belongs to."""
    declared: list[str] = []
    raw: list[bytes] = []
    for part in _own_parts(msg):
        label = _CHARSET_PARAM.search(str(part.get("content-type", "")))
        if label:
            declared.append(_codec(label.group(1)) or "")
        for value in part.values():
            text = str(value)
            if "=?" in text:
                declared += (_codec(m.group(1)) or "" for m in _WORD.finditer(text))
            if "\x1b" in text and _ESC_SEQ.search(text.encode("ascii", "replace")):
                declared.append(_JIS)
            if not text.isascii():
                with contextlib.suppress(UnicodeEncodeError):  # not from bytes: no evidence
                    raw.append(text.encode("ascii", "surrogateescape"))
    found = tuple(c for c in dict.fromkeys(declared) if c and c != "ascii")
    sender = str(msg.get("from", "") or "")
    domains = re.findall(r"@([A-Za-z0-9.-]+)", sender)
    carrier = pictograms.carrier_of("@" + domains[-1]) if domains else None
    return _Reading(_sniff(raw, found) if raw else "", carrier, found)


def _raw_text(value: str, reading: _Reading = _PLAIN) -> str:
    """Header text as parsed: 8-bit bytes come back as surrogates; decode them in the
    message's charset for its headers (or, where they are not valid in it, alone)."""
    if value.isascii():
        return _fix_stray_jis(value, reading.carrier)
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    if reading.header_codec:
        try:
            text = _decode_as(raw, reading.header_codec, reading.carrier)
            return _fix_stray_jis(text, reading.carrier)
        except (UnicodeDecodeError, LookupError):
            pass
    return _guess(raw, reading.carrier, reading.declared)[0]


def _word_bytes(kind: str, payload: str) -> bytes:
    data = payload.encode("ascii", "replace")
    if kind in "qQ":
        return binascii.a2b_qp(data.replace(b"_", b" "), header=True)
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    return binascii.a2b_base64(data[: len(data) // 4 * 4 + (4 if len(data) % 4 > 1 else 0)] + b"==")


def decode_header(
    value: str | None, problems: list[str] | None = None, reading: _Reading = _PLAIN
) -> str:
    """A header value as text: RFC 2047 words (adjacent same-charset words joined as
    bytes, so a character split across words survives) and raw 8-bit text."""
    if not value:
        return ""
    found = problems if problems is not None else []
    value = _FOLD.sub("", value)
    if "=?" not in value:
        return _raw_text(value, reading)
    out: list[str] = []
    pending: bytearray = bytearray()
    charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal charset
        if charset is not None:
            out.append(_decode(bytes(pending), charset, "header", found, reading))
            pending.clear()
            charset = None

    for m in _WORD.finditer(value):
        gap = value[pos : m.start()]
        if gap and not (charset is not None and gap.isspace()):
            flush()
            out.append(_raw_text(gap, reading))
        word_charset = m.group(1).split("*", 1)[0].lower()
        if charset is not None and word_charset != charset:
            flush()
        try:
            pending += _word_bytes(m.group(2), m.group(3))
        except (binascii.Error, ValueError):
            found.append("a header has a damaged encoded word")
        charset = word_charset
        pos = m.end()
    flush()
    out.append(_raw_text(value[pos:], reading))
    return "".join(out)


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text).strip()


def _clean(value: str | None) -> str | None:
    """Ids are ASCII in practice; never hand on surrogates the database cannot store."""
    if value is None:
        return None
    value = _one_line(value)
    return value.encode("utf-8", "replace").decode("utf-8") or None


_ANGLE = re.compile(r"<[^<>\s]+>")
# An address as a mail system reads one: a local part of atoms (letters of any script,
# as RFC 6532 allows) or a quoted string, "@", and a domain name or literal.
_ADDR = re.compile(
    r"(?:[\w!#$%&'*+/=?^`{|}~.-]+|\"[^\"\r\n]*\")@(?:[\w-]+(?:\.[\w-]+)*\.?|\[[^\[\]\s]*\])"
)
_ANGLE_ADDR = re.compile(r"<\s*(" + _ADDR.pattern + r")\s*>")
_COMMENT = re.compile(r"\([^()]*\)")


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _ANGLE.search(value)
    return _clean(found.group() if found else value)


def _address(value: str | None, problems: list[str], reading: _Reading = _PLAIN) -> tuple[str, str]:
    """The address and display name of a From-like header.

    Only a real address is taken: never bytes of a display name that a charset
    reading turned into something with an "@" in it. When the decoded header does
    not parse, the address is found in the raw header, where it is plain ASCII; a
    domainless sender such as "MAILER-DAEMON" is kept as written, so that its notices
    are its own customer and not filed with every message that has no sender."""
    if not value:
        return "", ""
    value = _FOLD.sub("", value)
    # Raw 8-bit / ISO-2022-JP names are decoded first (an ESC run contains '('
    # which the address parser would take for a comment); encoded words stay
    # encoded until the name is split off.
    text = _raw_text(value, reading) if not value.isascii() or "\x1b" in value else value
    pairs = getaddresses([text])
    for name, addr in pairs:
        if _ADDR.fullmatch(addr.strip()):
            return addr.strip().lower(), _one_line(decode_header(name, problems, reading))
    angle = _ANGLE_ADDR.search(value)
    if angle:  # the text before it is the name, however it is encoded
        name = value[: angle.start()].strip().strip('"')
        return angle.group(1).lower(), _one_line(decode_header(name, problems, reading))
    bare = _ADDR.search(value)
    if bare:
        return bare.group().lower(), ""
    outside = _COMMENT.sub("", text).strip()  # "MAILER-DAEMON (Mail Delivery Subsystem)"
    for name, addr in pairs:
        local = addr.strip()
        if re.fullmatch(r"[\w.-]+", local) and (outside == local or f"<{local}>" in outside):
            return local.lower(), _one_line(decode_header(name, problems, reading))
    return "", ""


# A mail to a crowd keeps this many of its recipients (reply-all offers them).
MAX_RECIPIENTS = 50


def _address_list(
    values: Sequence[str], problems: list[str], reading: _Reading = _PLAIN
) -> tuple[str, ...]:
    """The addresses of To- or Cc-like headers, with their names decoded. A header
    that does not parse as a list still gives the addresses written in it."""
    out: list[str] = []
    for value in values:
        value = _FOLD.sub("", str(value))
        text = _raw_text(value, reading) if not value.isascii() or "\x1b" in value else value
        pairs = [(n, a.strip()) for n, a in getaddresses([text]) if _ADDR.fullmatch(a.strip())]
        if not pairs:
            pairs = [("", a) for a in _ADDR.findall(value)]
        for name, address in pairs:
            shown = _one_line(decode_header(name, problems, reading)) if name else ""
            out.append(format_address(shown, _clean(address.lower()) or ""))
    return tuple(dict.fromkeys(out))[:MAX_RECIPIENTS]


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = parsedate_tz(_one_line(value))
        if parsed is None:
            return None
        if parsed[9] is None:  # no zone: read as UTC rather than this machine's zone
            parsed = (*parsed[:9], 0)
        return float(mktime_tz(parsed))
    except (ValueError, OverflowError, TypeError, IndexError):
        return None
