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
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import email
import functools
import hashlib
import mimetypes
import quopri
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, mktime_tz, parsedate_tz

from omnitui.adapters import pictograms
from omnitui.domain.mail import format_address
from omnitui.domain.models import InboundAttachment

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
# Quote folding runs regexes over the text; a megabyte of bug-tracker mail
# needs no folding beyond its head.
_REPLY_SCAN_CHARS = 30_000
_MAX_DEPTH = 30
FORWARD_LINE = "---------- Forwarded message ----------"


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


class _RawPolicy(Compat32):
    """compat32 that hands back header values as parsed (8-bit bytes kept as
    surrogates) instead of wrapping them in `Header` objects we would have to undo."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawPolicy()

# --- charsets -------------------------------------------------------------------------

_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "s-jis": "cp932", "ms_kanji": "cp932", "csshiftjis": "cp932", "windows-31j": "cp932",
    "ms932": "cp932", "x-ms-cp932": "cp932", "cp932": "cp932",
    "euc-jp": "euc_jp", "x-euc-jp": "euc_jp", "eucjp": "euc_jp", "cp51932": "euc_jp",
    "us-ascii": "ascii", "ascii": "ascii", "ansi_x3.4-1968": "ascii", "us": "ascii",
    # As in browsers: latin-1 labels really mean windows-1252, and the Chinese /
    # Korean labels mean their Microsoft supersets.
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252",
    "gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
}  # fmt: skip
_JIS = "iso-2022-jp"
_SHOWN = {"cp932": "Shift_JIS (cp932)", "euc_jp": "EUC-JP", _JIS: "ISO-2022-JP", "utf-8": "UTF-8"}
_ESC_SEQ = re.compile(rb"\x1b(\(B|\(J|\(I|\$@|\$B|\$\(D|\$\([OPQ]|&@|\$[GEFOPQ])")
# Python's iso2022_jp gives the JIS X 0208 mapping; cp932 differs on these, so the
# fallback maps them back to keep one character for one JIS code in every mail.
_CP932_TO_JIS = str.maketrans("～∥－￠￡￢", "〜‖−¢£¬")
# A JIS X 0208 run with a pair in rows 0x75-0x78: au's pictograms, which nothing else uses.
_AU_JIS = re.compile(rb"\x1b\$[@B](?:[\x21-\x7e]{2})*?[\x75-\x78][\x21-\x7e]")
_SOFTBANK_ESCAPES = frozenset((b"$G", b"$E", b"$F", b"$O", b"$P", b"$Q"))
_WEB_CODES = re.compile(rb"[\x21-\x7a]*")  # ends at SI (0x0F), or at a space or line end


@dataclass(frozen=True, slots=True)
class _Reading:
    """What one message says about its own text, decided once and used for all of it,
    so that its Subject, From, To and file names agree (see `_reading`)."""

    header_codec: str = ""  # the charset of its raw 8-bit header bytes ("" when none)
    carrier: str | None = None  # the phone carrier whose pictogram codes it carries
    declared: tuple[str, ...] = ()  # the codecs its parts and encoded words declare


_PLAIN = _Reading()


def _codec(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, `_JIS`, "" for none, None if unknown."""
    if not label:
        return ""
    name = label.strip().strip("\"'").lower()
    if "=" in name:  # 'charset="charset=us-ascii"' seen in the wild
        name = name.rsplit("=", 1)[1].strip("\"' ")
    name = name.split("*", 1)[0]
    if not name:
        return ""
    if name.startswith(("iso-2022-jp", "iso2022jp", "csiso2022jp")):
        return _JIS
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    # 'base64', 'zlib', 'rot13' are codecs too, but not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


# Shift_JIS read one character at a time: ordinary characters in runs, and a pair
# whose lead can start a carrier pictogram (EB-FC) on its own, so that a pictogram
# is replaced whole and never garbles the characters after it.
_SJIS_RUNS = re.compile(
    rb"((?:[\x00-\x80\xa0-\xdf\xfd-\xff]|[\x81-\x9f\xe0-\xea][\x40-\x7e\x80-\xfc]"
    rb"|[\x81-\x9f\xe0-\xfc](?![\x40-\x7e\x80-\xfc]))*)([\xeb-\xfc][\x40-\x7e\x80-\xfc])?"
)


def _sjis(data: bytes, carrier: str | None, errors: str = "strict") -> str:
    """Shift_JIS (cp932) with the carriers' pictograms as emoji or `pictograms.MARKER`."""
    runs = [m.groups() for m in _SJIS_RUNS.finditer(data) if m.group()]
    pairs = [int.from_bytes(pair, "big") for _, pair in runs if pair]
    if not pairs:
        return data.decode("cp932", errors)
    if carrier is None:  # codes only one carrier uses tell whose phone wrote this
        found = {_only_user(code) for code in pairs} - {None}
        carrier = found.pop() if len(found) == 1 else None
    out: list[str] = []
    for text, pair in runs:
        out.append(text.decode("cp932", errors))
        if pair:
            code = int.from_bytes(pair, "big")
            if pair[0] in (0xEB, 0xEC) or (pair[0] in (0xED, 0xEE) and carrier == pictograms.AU):
                shown = pictograms.pictogram(_au_code(code), pictograms.AU)
            else:
                shown = pictograms.pictogram(code, carrier)
            out.append(pair.decode("cp932", errors) if shown is None else shown)
    return "".join(out)


def _only_user(code: int) -> str | None:
    """The carrier a Shift_JIS code is surely a pictogram of, if only one uses it."""
    if code >> 8 in (0xEB, 0xEC):  # undefined in cp932: au's rows 0x75-0x78
        return pictograms.AU
    return pictograms.owners(code, None) or None


def _au_code(code: int) -> int:
    """au's mail Shift_JIS code (the plain JIS arithmetic of its rows 0x75-0x7C) as the
    Shift_JIS code its phones and the pictogram table use; other codes unchanged."""
    lead = pictograms.AU_MAIL_LEAD.get(code >> 8)
    return (lead << 8) | (code & 0xFF) if lead else code


def _softbank_escape(group: bytes, seg: bytes) -> str:
    """A SoftBank web escape's characters (`ESC $ G ... SI`) as pictograms."""
    base = pictograms.SOFTBANK_ESCAPE_BASE[group.decode("ascii")]
    out: list[str] = []
    for byte in seg:
        trail = (base & 0xFF) + byte - 0x21
        trail += trail >= 0x7F  # Shift_JIS trail bytes skip 0x7F
        code = (base & 0xFF00) | trail
        out.append(pictograms.pictogram(code, pictograms.SOFTBANK) or pictograms.MARKER)
    return "".join(out)


def _jis_to_sjis(seg: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(seg) - 1, 2):
        j1, j2 = seg[i], seg[i + 1]
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            out += b"?"
            continue
        s1 = ((j1 - 0x21) >> 1) + 0x81
        if s1 > 0x9F:
            s1 += 0x40
        s2 = (j2 + 0x1F + (j2 >= 0x60)) if j1 & 1 else j2 + 0x7E
        out += bytes((s1, s2))
    return bytes(out)


def _decode_jis(data: bytes, carrier: str | None = None) -> str:
    """ISO-2022-JP, including CP50220's NEC/IBM rows, half-width kana, au's pictogram
    rows and SoftBank's pictogram escapes."""
    for codec in ("iso2022_jp", "iso2022_jp_2"):  # -2 adds JIS X 0212, Latin-1, Korean
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    if carrier is None and _AU_JIS.search(data):
        carrier = pictograms.AU  # then rows 0x79-0x7B are its pictograms, not IBM kanji
    parts: list[str] = []
    mode, before, pos = b"(B", b"(B", 0
    for m in [*_ESC_SEQ.finditer(data), None]:
        end = m.start() if m else len(data)
        seg = data[pos:end]
        if mode in _SOFTBANK_ESCAPES:  # pictograms up to SI, then the mode before
            codes = _WEB_CODES.match(seg)
            parts.append(_softbank_escape(mode[1:], codes.group() if codes else b""))
            seg = seg[codes.end() if codes else 0 :].removeprefix(b"\x0f")
            mode = before
        parts.append(_jis_segment(mode, seg, carrier))
        if m:
            if m.group(1) in _SOFTBANK_ESCAPES:
                before = mode
            mode, pos = m.group(1), m.end()
    return "".join(parts).replace("\x1b", "").replace("\x0f", "")  # unknown escapes: dropped


def _jis_segment(mode: bytes, seg: bytes, carrier: str | None) -> str:
    """The bytes between two ISO-2022-JP escapes, in the mode the first one set."""
    parts: list[str] = []
    if mode in (b"$@", b"$B", b"&@", b"(I"):
        # Line breaks inside a shifted mode are an encoder bug; pass them through.
        for run in re.split(rb"([\x00-\x20]+)", seg):
            if run and run[0] < 0x21:
                parts.append(run.decode("ascii"))
            elif run and mode == b"(I":  # JIS X 0201 kana are cp932's single bytes
                parts.append(bytes(b | 0x80 for b in run).decode("cp932", "replace"))
            elif run:
                parts.append(
                    _sjis(_jis_to_sjis(run), carrier, "replace").translate(_CP932_TO_JIS)
                    + ("\ufffd" if len(run) % 2 else "")
                )
    elif mode == b"$(D":
        pairs = bytes(b | 0x80 for b in seg)
        text = b"".join(b"\x8f" + pairs[i : i + 2] for i in range(0, len(pairs), 2))
        parts.append(text.decode("euc_jp", "replace"))
    elif mode.startswith(b"$("):
        parts.append((b"\x1b" + mode + seg + b"\x1b(B").decode("iso2022_jp_2004", "replace"))
    else:
        parts.append(_guess(seg, carrier)[0] if not seg.isascii() else seg.decode("ascii"))
    return "".join(parts)


def _decode_as(data: bytes, codec: str, carrier: str | None, errors: str = "strict") -> str:
    """`data.decode(codec)`, with the carriers' pictograms in Shift_JIS and ISO-2022-JP."""
    if codec == "cp932":
        return _sjis(data, carrier, errors)
    if codec == _JIS:
        return _decode_jis(data, carrier)
    if codec == "cp1252" and errors == "strict":
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")  # the five bytes cp1252 leaves out
    return data.decode(codec, errors)


# --- which charset unlabelled bytes are in ---------------------------------------------

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# What the bytes of another script look like read as cp1252; a Japanese reading that
# gives these is judged as Latin text would be.
_CP1252_CHARS = frozenset(bytes(range(0x80, 0x100)).decode("cp1252", "ignore"))
_LATIN_PUNCT = frozenset("«»“”‘’–—…•€£¥°©®™¿¡·×÷½§¢ªº\u00a0")
_LATIN_LETTERS = frozenset(
    c for c in map(chr, range(0xC0, 0x250)) if c.isalpha() and c not in "×÷"
) | frozenset("ŠšŒœŽžŸƒß")
_SAMPLE_CHARS = 1000


@functools.cache
def _script(c: str) -> str:
    return unicodedata.name(c, "?").split(" ", 1)[0]


# How `_weight` judges a character: by itself, or by its neighbours as one of these.
_HALF_KANA, _LATIN, _LETTER = "half-width kana", "latin", "letter"


@functools.cache
def _kind(c: str) -> float | str:
    """A non-ASCII character's weight where it needs no context, else its kind."""
    o = ord(c)
    if o < 0xA0 or c == "\ufffd":
        return -1.0
    if 0xE000 <= o <= 0xF8FF:
        return 0.5  # cp932's user-defined area: carrier pictograms, company characters
    if 0x3000 <= o <= 0x30FF or 0xFF01 <= o <= 0xFF5E:
        return 1.0  # kana, Japanese punctuation, full-width letters and digits
    if 0xFF61 <= o <= 0xFF9F:
        return _HALF_KANA
    if c not in _CP1252_CHARS:
        try:
            code = int.from_bytes(c.encode("cp932"), "big")
        except UnicodeEncodeError:
            code = 0
        if 0x8140 <= code <= 0x83D6 or 0x8740 <= code <= 0x879C or 0x889F <= code <= 0x9872:
            return 1.0  # JIS symbols, kana, Greek, NEC symbols (①, ㈱), first-level kanji
        if code >= 0x9873 or (unicodedata.category(c) == "Lo" and _script(c) == "CJK"):
            return 0.4  # second-level and extension kanji, rarely written
    if c in _LATIN_LETTERS:
        return _LATIN
    if c.isalpha() and c not in "ªºµ":
        return _LETTER
    if c in _LATIN_PUNCT:
        return 0.5
    return 0.0 if c in _CP1252_CHARS else 0.5  # ‡ ‰ ¤ ¦ ¨ ...: what mojibake is made of


def _weight(text: str, i: int) -> float:
    """How typical `text[i]` (not ASCII) is of real writing, from -1 (a control character,
    U+FFFD) through 0 (a symbol only mojibake gives) to 1 (kana, common kanji, an accented
    letter inside a Latin word)."""
    kind = _kind(text[i])
    if isinstance(kind, float):
        return kind
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    in_ascii_word = (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())
    if kind == _HALF_KANA:  # in a run of kana, not inside a Latin word
        if in_ascii_word:
            return 0.3
        return 0.8 if ord(before) >= 0x3000 or ord(after) >= 0x3000 else 0.5
    if kind == _LATIN:  # inside a word of plain letters, not in a run of its own kind
        return 1.0 if in_ascii_word else 0.5
    # Cyrillic, Greek, Hangul...: inside a word of its own script
    script = _script(text[i])
    same = any(n.isalpha() and _script(n) == script for n in (before, after))
    return 1.0 if same else 0.5


def _plausibility(pieces: Sequence[bytes], codec: str) -> float | None:
    """The mean `_weight` of the non-ASCII characters `pieces` give in `codec`; None when
    the codec cannot read them (UTF-8, being self-checking, scores 1 when it can)."""
    if codec == "utf-8":
        for piece in pieces:
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not _cut_utf8(piece, exc):
                    return None
        return 1.0
    total, count = 0.0, 0
    for piece in pieces:
        try:
            text = piece.decode(codec, "replace")
        except (LookupError, ValueError, TypeError):
            return None
        for m in _NON_ASCII.finditer(text):
            total += _weight(text, m.start())
            count += 1
            if count >= _SAMPLE_CHARS:
                return total / count
    return total / count if count else None


def _cut_utf8(data: bytes, error: UnicodeDecodeError) -> bool:
    """UTF-8 cut off mid-character (Yahoo's long names): valid up to an incomplete last
    character, after at least two non-ASCII ones (one could be chance)."""
    if error.reason != "unexpected end of data":
        return False
    return len(_NON_ASCII.findall(data[: error.start].decode("utf-8"))) >= 2


@functools.cache
def _ascii_compatible(codec: str) -> bool:
    """Whether raw bytes could be in `codec` at all (not UTF-16, not a 7-bit escape code)."""
    try:
        return b"\n @<>=?abc".decode(codec) == "\n @<>=?abc" and codec not in ("ascii", "utf-7")
    except (LookupError, ValueError, TypeError, UnicodeError):
        return False


def _sniff(pieces: Sequence[bytes], declared: Sequence[str] = ()) -> str:
    """The charset of raw 8-bit bytes, chosen from evidence: each reading (the charsets
    the message declares elsewhere, UTF-8, Shift_JIS, EUC-JP, cp1252) is scored by how
    plausible its characters are (`_plausibility`); a charset the message declares
    scores a quarter more, and other Japanese charsets a tenth more when it declares
    ISO-2022-JP. The best wins; on a tie, the one earlier in that list."""
    candidates = [c for c in dict.fromkeys(declared) if c and c != _JIS and _ascii_compatible(c)]
    candidates += [c for c in ("utf-8", "cp932", "euc_jp", "cp1252") if c not in candidates]
    best, best_score = "cp1252", float("-inf")
    for codec in candidates:
        score = _plausibility(pieces, codec)
        if score is None:
            continue
        if codec in declared:
            score += 0.25
        elif _JIS in declared and codec in ("cp932", "euc_jp"):
            score += 0.1
        if score > best_score:
            best, best_score = codec, score
    return best


def _guess(
    data: bytes, carrier: str | None = None, declared: Sequence[str] = ()
) -> tuple[str, str]:
    """Decode unlabelled bytes: UTF-8, then ISO-2022-JP if it has escapes, then the most
    plausible of the charsets the message declares, Shift_JIS, EUC-JP and cp1252."""
    if data.isascii():
        if b"\x1b" in data and _ESC_SEQ.search(data):
            return _decode_jis(data, carrier), _JIS
        return data.decode("ascii"), "ascii"
    try:
        return _fix_stray_jis(data.decode("utf-8"), carrier), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _ESC_SEQ.search(data):
        return _decode_jis(data, carrier), _JIS
    if _cut_utf8(data, utf8_error):
        return data.decode("utf-8", "replace"), "utf-8"
    codec = _sniff([data], declared)
    try:
        return _decode_as(data, codec, carrier), codec
    except (UnicodeDecodeError, LookupError):
        return _decode_as(data, codec, carrier, "replace"), codec


def _decode(
    data: bytes, label: str | None, what: str, problems: list[str], reading: _Reading = _PLAIN
) -> str:
    """Bytes to text trusting the label as far as the bytes allow; notes what it could not."""
    carrier, declared = reading.carrier, reading.declared
    codec = _codec(label)
    if codec == _JIS:
        if not data.isascii() and not _ESC_SEQ.search(data):
            # EUC-JP or UTF-8 wearing an ISO-2022-JP label
            text, used = _guess(data, carrier, declared)
            if used not in ("utf-8", "ascii"):
                problems.append(f"{what} labelled {label} but looks like {_SHOWN.get(used, used)}")
            return text
        text = _decode_jis(data, carrier)
    elif not codec:
        text, used = _guess(data, carrier, declared)
        if codec is None:
            problems.append(f"{what} charset {label} not known: shown as {_SHOWN.get(used, used)}")
    else:
        try:
            text = _decode_as(data, codec, carrier)
        except UnicodeDecodeError:
            text = _mislabelled(data, codec, str(label), what, problems, reading)
        except Exception:  # a codec that exists but cannot decode at all
            text, used = _guess(data, carrier, declared)
            problems.append(f"{what} charset {label} not usable: shown as {_SHOWN.get(used, used)}")
    return _fix_stray_jis(text, carrier)


def _mislabelled(
    data: bytes, codec: str, label: str, what: str, problems: list[str], reading: _Reading
) -> str:
    """Bytes that are not valid in their declared charset."""
    try:
        return data.decode("utf-8")  # UTF-8 under a legacy or us-ascii label
    except UnicodeDecodeError:
        pass
    as_labelled = _decode_as(data, codec, reading.carrier, "replace")
    lost = as_labelled.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    if lost > max(2, len(as_labelled) // 100):  # mostly wrong: the label lies, not a few bytes
        text, used = _guess(data, reading.carrier, reading.declared)
        if used != "cp1252" or codec == "ascii":
            problems.append(f"{what} labelled {label} but looks like {_SHOWN.get(used, used)}")
            return text
    problems.append(f"{what} is not valid {label}: {lost} undecodable bytes shown as \ufffd")
    return as_labelled


def _fix_stray_jis(text: str, carrier: str | None = None) -> str:
    """Decode ISO-2022-JP runs a mislabelled part or raw header left in decoded text."""
    if "\x1b" not in text:
        return text
    return _ESC_RUN.sub(lambda m: _decode_jis(m.group().encode("ascii"), carrier), text)


# A designation and the 7-bit bytes after it, up to the next escape.
_ESC_RUN = re.compile(r"\x1b(?:\$[@BGEFOPQ]|&@|\([BJI]|\$\([DOPQ])[\x00-\x1a\x1c-\x7f]*")


# --- headers --------------------------------------------------------------------------

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


# --- body -----------------------------------------------------------------------------

_Chunk = tuple[str, str]  # ("text" | "html", content)
_CTYPE = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+)")
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


def _content_type(part: Message) -> str:
    value = part.get("content-type")
    if value is None:
        return part.get_default_type()
    found = _CTYPE.match(str(value))
    return found.group(1).lower() if found else "text/plain"


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
    if len(data) > MAX_ATTACHMENT_BYTES:
        keep = None
        note = f"larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB: not kept"
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


# --- reply folding and the entry points -----------------------------------------------


def fold_reply(text: str) -> str:
    """The new part of a message body: quoted history, quote headers ("On … wrote:",
    "2022年1月1日(金) 9:00 田中太郎 <…>:", Outlook "From:/Sent:") and signatures folded
    away. Returns `text` unchanged when there is nothing to fold."""
    if not text.strip():
        return text
    from mailparser_reply import EmailMessage  # loaded with the first mail, not at start-up

    try:
        found = EmailMessage(
            text=text[:_REPLY_SCAN_CHARS], languages=["ja", "en"], keep_hyphen_lists=True
        ).read()
        first = found.replies[0] if found.replies else None
        folded = first is not None and (len(found.replies) > 1 or first.headers or first.signatures)
        reply = _original_lines(text, str(first.body).strip()) if first and folded else text
        if len(found.replies) > 1:
            reply = "\n\n".join(filter(None, (reply, _answer_below(text, found.replies[1].body))))
    except Exception:  # a heuristic must never cost us the message
        return text
    reply = _trim_quotes(reply)
    if reply.endswith(FORWARD_LINE):  # a forward with no comment of its own
        reply = reply[: -len(FORWARD_LINE)].rstrip()
    if not reply.strip() or (not folded and reply.strip() == text.strip()):
        return text
    return reply


def _answer_below(text: str, fragment: str) -> str:
    """Text written below a '>' quote (bottom-posting, inline answers), which the
    reply parser would fold away with the quote."""
    lines = str(fragment).strip().split("\n")
    if not lines[0].startswith(">"):
        return ""  # an Outlook-style quote: its body is not marked, so all of it is history
    rest = _trim_quotes("\n".join(lines))
    return "" if rest.startswith(">") else _original_lines(text, rest)


def _trim_quotes(text: str) -> str:
    """Drop '>' quoted blocks above (Thunderbird top-quote) and below the new text;
    quotes in the middle are kept as context of an inline answer."""
    lines = text.split("\n")

    def quoted(line: str) -> bool:
        return not line.strip() or line.lstrip().startswith(">")

    start, end = 0, len(lines)
    while start < end and quoted(lines[start]):
        start += 1
    while end > start and quoted(lines[end - 1]):
        end -= 1
    return "\n".join(lines[start:end]) if start < end else text


def _original_lines(text: str, reply: str) -> str:
    """The reply parser strips every line (losing a leading full-width space, say);
    when the reply is a run of the text's lines, give those lines back as written."""
    wanted = reply.split("\n")
    lines = text.split("\n")
    stripped = [line.strip() for line in lines]
    for start, line in enumerate(stripped):
        if line == wanted[0] and stripped[start : start + len(wanted)] == wanted:
            return "\n".join(lines[start : start + len(wanted)]).rstrip()
    return reply


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
    )
