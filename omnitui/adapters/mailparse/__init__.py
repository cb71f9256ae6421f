"""Turn raw RFC 5322 bytes into what the console shows: pure functions, no network.

Parsing uses `policy=compat32` (several times faster than `policy=default`, which
matters on a first sync of 10,000 messages) and decodes headers and charsets
here, because the stdlib gives up on the mail a Japanese shop really gets:
ISO-2022-JP with CP50220 extensions, Shift_JIS, EUC-JP, mislabelled or unknown
charsets and raw 8-bit headers.

Raw 8-bit header bytes (no encoded word says their charset) are read with one
charset per message, so that its Subject, From and To agree: the one its bytes,
all headers together, make most plausible, the charsets its parts declare
counting in its favour (`_reading`, `_sniff`). Carrier pictograms of Japanese
phones in Shift_JIS and ISO-2022-JP become emoji, or 〓 where none can be told
(see `pictograms`).

The sender is the message's own From (or Reply-To), never an address inside a
message it forwards or bounces, and its address is read from the header's
structure, never from a display name decoded in a guessed charset.

Forwarded `message/rfc822` parts are shown inline in `text` after a
"---------- Forwarded message ----------" line (their own attachments are
listed with the outer message's); they are not listed as attachments.

The parser's rooms: `charsets` (bytes to text, and which charset unlabelled
bytes are in), `headers` (header values, addresses, dates), `bodies` (MIME
parts, attachments, forwards, HTML to text) and `replies` (the new part of a
reply). This module puts them together: `parse_mail` and `content_hash`.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass

from omnitui.adapters.mailparse.bodies import _Acc, _render, _walk
from omnitui.adapters.mailparse.charsets import _guess
from omnitui.adapters.mailparse.headers import (
    _ANGLE,
    _POLICY,
    _address,
    _address_list,
    _clean,
    _date,
    _first_id,
    _one_line,
    _reading,
    decode_header,
)
from omnitui.adapters.mailparse.replies import FORWARD_LINE, fold_reply
from omnitui.domain.automatic import automatic_mail
from omnitui.domain.models import InboundAttachment

__all__ = [
    "FORWARD_LINE",
    "MAX_ATTACHMENT_BYTES",
    "ParsedMail",
    "content_hash",
    "fold_reply",
    "parse_mail",
]

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024  # a larger file is named, not kept


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """One message, decoded for display; see `parse_mail`."""

    message_id: str | None
    subject: str
    from_address: str
    from_name: str
    date: float | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    html: str | None
    reply: str
    attachments: tuple[InboundAttachment, ...]
    problems: tuple[str, ...]
    # Who else the message went to, `Name <address>` or the bare address (reply-all).
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    # Why a machine wrote it (an auto-reply, a bounce, bulk mail, a no-reply
    # sender), or "" for a person's mail: automatic replies never answer it.
    automatic: str = ""


def _prepare(raw: bytes) -> bytes:
    data = bytes(raw)
    if data.startswith(b"\xef\xbb\xbf"):  # a BOM makes the first header unreadable, and so all
        data = data[3:]
    # Whitespace before the first header turns every header into a continuation line.
    lead = re.match(rb"[ \t\r\n]+(?=[!-9;-~]+:)", data)
    return data[lead.end() :] if lead else data


def _body_bytes(raw: bytes) -> bytes:
    data = _prepare(raw)
    ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
    if not ends:
        return data
    end = min(ends)
    return data[end + (4 if data.startswith(b"\r\n\r\n", end) else 2) :]


def content_hash(raw: bytes) -> str:
    """sha256 (hex) of the body bytes after the header block, for dedupe.

    Line endings are normalised to LF first, so the same message fetched over IMAP
    (CRLF) and read from an mbox (LF) hash alike; a message without a header/body
    separator is hashed whole."""
    return hashlib.sha256(_body_bytes(raw).replace(b"\r\n", b"\n")).hexdigest()


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse one raw message for display. Never raises, for any bytes at all: what
    could not be decoded is shown as best we can and named in `problems`."""
    try:
        return _parse(raw)
    except Exception as exc:  # the last resort; _parse already guards each step
        problem = f"message could not be read ({type(exc).__name__})"
        return ParsedMail(None, "", "", "", None, None, (), "", None, "", (), (problem,))


def _raw_body_text(raw: bytes) -> str:
    return _guess(_body_bytes(raw))[0].replace("\r\n", "\n")


def _parse(raw: bytes) -> ParsedMail:
    problems: list[str] = []
    acc = _Acc(problems, [], [])
    subject = from_address = from_name = ""
    message_id = in_reply_to = None
    date: float | None = None
    references: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    text = ""
    automatic = ""
    try:
        msg = email.message_from_bytes(_prepare(raw), policy=_POLICY)
    except Exception as exc:
        msg = None
        problems.append(f"message could not be parsed ({type(exc).__name__}): shown raw")
        text = _raw_body_text(raw)
    if msg is not None:
        try:
            acc.reading = _reading(msg)
        except Exception as exc:
            problems.append(f"charsets could not be weighed ({type(exc).__name__})")
        reading = acc.reading
        try:
            subjects = msg.get_all("subject") or []
            subject = decode_header(subjects[0] if subjects else "", problems, reading)
            subject = _one_line(subject)
            # The sender is this message's own From (or Reply-To), never an address
            # inside a forwarded or bounced message it carries.
            from_address, from_name = _address(msg.get("from"), problems, reading)
            reply_address, reply_name = _address(msg.get("reply-to"), problems, reading)
            from_address = reply_address or from_address
            from_name = from_name or reply_name
            message_id = _first_id(msg.get("message-id"))
            in_reply_to = _first_id(msg.get("in-reply-to"))
            refs = str(msg.get("references", "") or "")
            ids = _ANGLE.findall(refs) or refs.split()
            references = tuple(filter(None, (_clean(i) for i in ids)))
            date = _date(msg.get("date"))
        except Exception as exc:
            problems.append(f"headers could not all be read ({type(exc).__name__})")
        try:
            to = _address_list(msg.get_all("to") or [], problems, reading)
            cc = _address_list(msg.get_all("cc") or [], problems, reading)
        except Exception as exc:
            problems.append(f"recipients could not be read ({type(exc).__name__})")
        try:
            # The sender that counts is the one a reply would go to (From, or Reply-To).
            automatic = automatic_mail(msg, from_address) or ""
        except Exception as exc:
            problems.append(f"automatic-mail headers could not be read ({type(exc).__name__})")
        try:
            text = _render(_walk(msg, acc, 0))
        except Exception as exc:
            problems.append(f"body could not be decoded ({type(exc).__name__}): shown raw")
            text = _raw_body_text(raw)
    return ParsedMail(
        message_id=message_id,
        subject=subject,
        from_address=from_address,
        from_name=from_name,
        date=date,
        in_reply_to=in_reply_to,
        references=references,
        text=text,
        html=acc.htmls[0] if acc.htmls else None,
        reply=fold_reply(text),
        attachments=tuple(acc.attachments),
        problems=tuple(dict.fromkeys(problems)),
        to=to,
        cc=cc,
        automatic=automatic,
    )
