"""The body: MIME parts walked, decoded and rendered as text, attachments kept
(or named when too large), forwarded messages shown inline, broken structure recovered."""

from __future__ import annotations

import binascii
import email
import mimetypes
import quopri
import re
from dataclasses import dataclass
from email.message import Message

from omnitui.adapters import mailparse
from omnitui.adapters.mailparse.charsets import _PLAIN, _decode, _guess, _Reading
from omnitui.adapters.mailparse.headers import (
    _MAX_DEPTH,
    _POLICY,
    _content_type,
    _one_line,
    _reading,
    decode_header,
)
from omnitui.adapters.mailparse.replies import FORWARD_LINE
from omnitui.domain.models import InboundAttachment

_Chunk = tuple[str, str]  # ("text" | "html", content)
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_BOUNDARY_LINE = re.compile(rb"^--([^\s\"]{1,200}?)(?:--)?[ \t]*\r?$", re.MULTILINE)
_UU_BLOCK = re.compile(r"^begin [0-7]{3,4} ([^\n]+)\n(.*?)^end[ \t]*$", re.MULTILINE | re.DOTALL)
_DEFECTS = {
    "CloseBoundaryNotFoundDefect": "final MIME boundary missing: the last part may be cut short",
    "MissingHeaderBodySeparatorDefect": "no blank line after the headers: the rest is shown as body",
}
_EXTENSIONS = {"message/delivery-status": ".txt", "text/rfc822-headers": ".txt"}


@dataclass(slots=True)
class _Acc:
    problems: list[str]
    attachments: list[InboundAttachment]
    htmls: list[str]
    reading: _Reading = _PLAIN


def _to_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    text = str(payload)
    try:
        return text.encode("ascii", "surrogateescape")  # what the bytes parser made of 8-bit
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _param(part: Message, name: str, header: str, acc: _Acc) -> str | None:
    """A parameter decoded: RFC 2231 (charset'lang'%XX), RFC 2047 inside quotes, raw 8-bit."""
    try:
        value = part.get_param(name, None, header)
        if isinstance(value, tuple):
            charset, _lang, text = value
            raw = str(text).encode("latin-1", "surrogateescape")  # %XX came back as latin-1
            label = str(charset or "") or None
            return _decode(raw, label, f"{name} parameter", acc.problems, acc.reading)
        return None if value is None else decode_header(str(value), acc.problems, acc.reading)
    except (UnicodeError, ValueError, TypeError):
        acc.problems.append(f"a {name} parameter could not be read")
        return None


def _raw_payload(part: Message) -> bytes:
    """The part's body bytes as received (compat32's get_payload() without decode
    would already have decoded 8-bit text with 'replace')."""
    if _cte(part) in _ENCODINGS:
        return _to_bytes(part.get_payload())  # base64/qp/uu text is ASCII
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _cte(part: Message) -> str:
    return str(part.get("content-transfer-encoding", "")).strip().lower()


_ENCODINGS = ("base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue")


def _transfer_decode(part: Message, data: bytes) -> tuple[bytes, bool]:
    """Undo the Content-Transfer-Encoding; the flag says the data was damaged."""
    cte = _cte(part)
    if cte == "base64":
        try:
            return binascii.a2b_base64(data), bool(re.search(rb"[^A-Za-z0-9+/=\s]", data))
        except binascii.Error:
            clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
            clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
            return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4)), True
    if cte == "quoted-printable":
        return quopri.decodestring(data), False
    if cte in _ENCODINGS:
        return _uudecode(data)
    return data, False


def _uudecode(data: bytes) -> tuple[bytes, bool]:
    out, inside, damaged = bytearray(), False, False
    for line in data.splitlines():
        if not inside:
            inside = line.startswith(b"begin ")
            continue
        if line.strip() == b"end":
            break
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad lines oddly; cut to the length the line claims.
            try:
                out += binascii.a2b_uu(line[: (((line[0] - 32) & 63) * 4 + 5) // 3])
            except (binascii.Error, IndexError):
                damaged = True
    return bytes(out), damaged


def _attach(part: Message, ctype: str, data: bytes, damaged: bool, acc: _Acc) -> None:
    name = _param(part, "filename", "content-disposition", acc)
    name = name or _param(part, "name", "content-type", acc)
    if not name:  # a bad Content-Type may still carry 'name=' without its ';'
        found = re.search(r"name=\"?([^\";]+)", str(part.get("content-type", "")))
        name = decode_header(found.group(1), None, acc.reading) if found else ""
    # Display name only: no directories, no line breaks.
    name = re.split(r"[/\\]", _one_line(name))[-1].strip()
    if not name and not data.strip():
        return  # an empty part left by a stray boundary line, not a file
    if not name:
        ext = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype) or ".bin"
        name = f"part-{len(acc.attachments) + 1}{ext}"
    note = "transfer encoding damaged: the file may be incomplete" if damaged else ""
    if damaged:
        acc.problems.append(f"attachment {name}: transfer encoding damaged")
    keep: bytes | None = data
    limit = mailparse.MAX_ATTACHMENT_BYTES  # set once, for the whole parser, in the package
    if len(data) > limit:
        keep = None
        note = f"larger than {limit // (1024 * 1024)} MB: not kept"
    acc.attachments.append(InboundAttachment(name, ctype, keep, len(data), note))


def _leaf(part: Message, ctype: str, acc: _Acc) -> list[_Chunk]:
    data, damaged = _transfer_decode(part, _raw_payload(part))
    disposition = str(part.get("content-disposition", "")).split(";", 1)[0].strip().lower()
    if ctype not in ("text/plain", "text/html") or disposition == "attachment":
        _attach(part, ctype, data, damaged, acc)
        return []
    label = _param(part, "charset", "content-type", acc)
    if not label and ctype == "text/html":
        meta = _META_CHARSET.search(data[:4096])
        label = meta.group(1).decode("ascii") if meta else None
    text = _decode(data, label, "body", acc.problems, acc.reading).replace("\r\n", "\n")
    if damaged:
        acc.problems.append("body transfer encoding damaged: text may be incomplete")
    if ctype == "text/html":
        acc.htmls.append(text)
        return [("html", text)] if text.strip() else []
    if "begin " in text:
        text = _UU_BLOCK.sub(lambda m: _inline_uu(m, acc), text)
    return [("text", text)] if text.strip() else []


def _inline_uu(m: re.Match[str], acc: _Acc) -> str:
    data, damaged = _uudecode(m.group().encode("ascii", "replace"))
    acc.attachments.append(
        InboundAttachment(m.group(1).strip(), "application/octet-stream", data, len(data),
                          "uuencoded in the text" + (", damaged" if damaged else ""))
    )  # fmt: skip
    return ""


def _forward(part: Message, acc: _Acc, depth: int) -> list[_Chunk]:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        inner = None
    cte = _cte(part)
    if inner is None or cte in ("base64", "quoted-printable"):
        # The parser read the encoded text as a message; decode it and parse again.
        if inner is None:
            source = _to_bytes(payload)
        elif inner.keys():
            source = inner.as_bytes()
        else:
            source = _raw_payload(inner)
        inner = email.message_from_bytes(_transfer_decode(part, source)[0], policy=_POLICY)
    if not inner.keys() and not str(inner.get_payload() or "").strip():
        return []  # a forward whose content never came along
    # The forwarded message was written elsewhere: its own charsets and carrier.
    inner_acc = _Acc(acc.problems, acc.attachments, [], _reading(inner))
    lines = [FORWARD_LINE]
    for header in ("From", "Date", "Subject", "To"):
        value = _one_line(decode_header(inner.get(header), acc.problems, inner_acc.reading))
        if value:
            lines.append(f"{header}: {value}")
    body = _render(_walk(inner, inner_acc, depth + 1))
    return [("text", "\n".join(lines) + "\n\n" + body)]


def _recover(part: Message, ctype: str, acc: _Acc, depth: int) -> list[_Chunk]:
    """A multipart whose boundary is missing or wrong: find the one the body uses."""
    body = _raw_payload(part)
    if not body.strip():
        return []
    stems: dict[bytes, int] = {}
    for found in _BOUNDARY_LINE.finditer(body):
        stems[found.group(1)] = stems.get(found.group(1), 0) + 1
    if stems:
        boundary = max(stems, key=lambda k: stems[k])
        head = b"Content-Type: " + ctype.encode() + b'; boundary="' + boundary + b'"\n\n'
        rebuilt = email.message_from_bytes(head + body, policy=_POLICY)
        if rebuilt.is_multipart():
            acc.problems.append("MIME boundary missing or wrong: parts found by scanning the body")
            return _walk(rebuilt, acc, depth + 1)
    acc.problems.append("no boundary found: shown raw")
    text = _guess(body, acc.reading.carrier, acc.reading.declared)[0].replace("\r\n", "\n")
    return [("text", text)] if text.strip() else []


def _walk(part: Message, acc: _Acc, depth: int) -> list[_Chunk]:
    if depth > _MAX_DEPTH:
        acc.problems.append("parts nested too deep: inner parts skipped")
        return []
    for defect in part.defects:
        note = _DEFECTS.get(type(defect).__name__)
        if note and note not in acc.problems:
            acc.problems.append(note)
    ctype = _content_type(part)
    if ctype in ("message/rfc822", "message/global"):
        return _forward(part, acc, depth)
    if not part.is_multipart():
        if ctype.startswith("multipart/"):
            return _recover(part, ctype, acc, depth)
        try:
            return _leaf(part, ctype, acc)
        except Exception as exc:  # one bad part must not cost the rest of the message
            acc.problems.append(f"a {ctype} part could not be decoded ({type(exc).__name__})")
            return []
    children = [c for c in part.get_payload() if isinstance(c, Message)]
    if ctype.startswith("message/"):  # delivery-status: header blocks, kept as a file
        data = b"\n".join(c.as_bytes() for c in children)
        _attach(part, ctype, data, False, acc)
        return []
    if ctype == "multipart/alternative":
        results = [_walk(c, acc, depth + 1) for c in children]
        plain = [r for r in results if any(kind == "text" for kind, _ in r)]
        return plain[0] if plain else next((r for r in reversed(results) if r), [])
    chunks: list[_Chunk] = []
    root = 0
    if ctype == "multipart/related":
        start = str(part.get_param("start", "") or "")
        ids = [str(c.get("content-id", "")).strip() for c in children]
        root = ids.index(start.strip()) if start and start.strip() in ids else 0
    for index, child in enumerate(children):
        if ctype == "multipart/related" and index != root and not child.is_multipart():
            data, damaged = _transfer_decode(child, _raw_payload(child))
            _attach(child, _content_type(child), data, damaged, acc)
        else:
            chunks += _walk(child, acc, depth + 1)
    return chunks


def _html_to_text(html: str) -> str:
    from inscriptis import get_text  # lxml: loaded with the first HTML mail, not at start-up

    try:
        return str(get_text(html))
    except Exception:  # lxml rejects some documents outright; tags out is still readable
        return re.sub(r"<[^>]*>", "", html)


def _render(chunks: list[_Chunk]) -> str:
    texts = (t if kind == "text" else _html_to_text(t) for kind, t in chunks)
    # Blank lines around a part are layout; indentation of its first line is not.
    stripped = (_LEADING_BLANK.sub("", t).rstrip() for t in texts)
    return "\n\n".join(t for t in stripped if t)


_LEADING_BLANK = re.compile(r"\A(?:[ \t\r\u3000]*\n)+")
