"""Bytes to text: charset names, the Japanese encodings mail really comes in
(ISO-2022-JP with CP50220 extensions, Shift_JIS, EUC-JP, carrier pictograms),
and which charset unlabelled or mislabelled bytes are in: each candidate is
weighed by how plausible the text it gives reads, the charsets the message
declares counting in its favour."""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from omnitui.adapters import pictograms

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
