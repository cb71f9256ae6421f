"""Small rules of email conversations: subjects, signatures, addresses, reply-all."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)

# RFC 3676: the line "-- " (dash, dash, space) starts a signature; mail apps
# grey out or drop what follows it when they quote the reply.
SIGNATURE_SEPARATOR = "-- \n"
SIGNATURE_MAX_LINES = 15
SIGNATURE_MAX_CHARS = 1000
SUBJECT_MAX_CHARS = 250


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


def clean_subject(subject: str) -> str:
    """A subject as the agent typed it, made one header line: control characters
    and line breaks become spaces, runs of spaces one, at most 250 characters."""
    flat = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in subject)
    return " ".join(flat.split())[:SUBJECT_MAX_CHARS]


# -- signatures -------------------------------------------------------------------------


def check_signature(text: str) -> str:
    """A signature from the config, tidied (no trailing spaces, no blank lines
    around it); raises ValueError saying what is wrong with it."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    tidy = "\n".join(lines)
    for ch in tidy:
        if ch != "\n" and ch != "\t" and unicodedata.category(ch) == "Cc":
            raise ValueError(f"a signature cannot hold control characters (U+{ord(ch):04X})")
    if lines and lines[0].strip() in ("--", "-- "):
        raise ValueError('leave out the "-- " line: OmniTUI puts it above the signature')
    if len(lines) > SIGNATURE_MAX_LINES:
        raise ValueError(f"at most {SIGNATURE_MAX_LINES} lines, this one has {len(lines)}")
    if len(tidy) > SIGNATURE_MAX_CHARS:
        raise ValueError(f"at most {SIGNATURE_MAX_CHARS} characters, this one has {len(tidy)}")
    return tidy


def combined_signature(account: str, agent: str) -> str:
    """The signature of a reply: the account's (the shop's block), then the
    agent's (who answered); either may be empty."""
    return "\n".join(part for part in (account.strip("\n"), agent.strip("\n")) if part)


def with_signature(text: str, signature: str) -> str:
    """The body that goes out: the reply, a blank line, "-- " and the signature."""
    if not signature:
        return text
    body = text.rstrip()
    return (
        f"{body}\n\n{SIGNATURE_SEPARATOR}{signature}" if body else SIGNATURE_SEPARATOR + signature
    )


# -- addresses --------------------------------------------------------------------------

# An addr-spec we are willing to hand to an SMTP server: ASCII, no quoting, a
# domain with at least one dot. Stricter than RFC 5322, as a person types it.
_ADDR = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_NAMED = re.compile(r"(.*?)\s*<([^<>]*)>", re.DOTALL)
_SEPARATORS = ",;、，；\n\r"
_NAME_SPECIALS = set('()<>[]:;@\\,."')


def is_address(address: str) -> bool:
    """Is `address` a plain email address (local@domain.tld)?"""
    return len(address) <= 254 and _ADDR.fullmatch(address) is not None


def _pieces(text: str) -> list[str]:
    """`text` cut at commas, semicolons (and their Japanese forms) and line breaks
    that are outside quotes and angle brackets."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = angled = False
    for ch in text:
        if ch == '"' and not angled:
            quoted = not quoted
        elif ch == "<" and not quoted:
            angled = True
        elif ch == ">" and not quoted:
            angled = False
        if ch in _SEPARATORS and not quoted and not angled:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    return [p.strip() for p in pieces if p.strip()]


def format_address(name: str, address: str) -> str:
    """`Name <address>` (quoted when the name needs it), or the bare address."""
    name = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in name).split())
    if not name:
        return address
    if _NAME_SPECIALS & set(name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        name = f'"{escaped}"'
    return f"{name} <{address}>"


def parse_addresses(text: str) -> tuple[list[str], list[str]]:
    """Addresses typed by an agent: (the good ones formatted, the ones that are not
    addresses as typed). Commas, semicolons, 、 or spaces separate them;
    `Name <address>` keeps its name; full-width letters (ｂｏｂ＠…) are read as
    ASCII; an address given twice is kept once."""
    good: list[str] = []
    bad: list[str] = []
    seen: set[str] = set()
    for piece in _pieces(text):
        named = _NAMED.fullmatch(piece)
        if named is not None:
            pairs = [(named.group(1).strip().strip('"').strip(), named.group(2), piece)]
        else:
            pairs = [("", token, token) for token in piece.split()]
        for name, raw, as_typed in pairs:
            address = unicodedata.normalize("NFKC", raw).strip()
            if not is_address(address):
                bad.append(as_typed)
                continue
            if address.lower() not in seen:
                seen.add(address.lower())
                good.append(format_address(name, address))
    return good, bad


def address_of(entry: str) -> str:
    """The bare address of `Name <address>` (or of a bare address), lower-cased."""
    named = _NAMED.fullmatch(entry.strip())
    return (named.group(2) if named is not None else entry).strip().lower()


def merge_addresses(first: Iterable[str], then: Iterable[str]) -> list[str]:
    """`first` followed by the entries of `then` whose address is not there yet."""
    out: list[str] = []
    seen: set[str] = set()
    for entry in (*first, *then):
        key = address_of(entry)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def reply_all(recipients: Iterable[str], *, own: Collection[str], customer: str) -> list[str]:
    """Who else a reply-all goes to (its Cc): the To and Cc of the customer's mail
    without the shop's own addresses, the customer, or anything that is not
    an address we could send to."""
    skip = {a.lower() for a in own} | {customer.lower()}
    return [
        entry
        for entry in merge_addresses((), recipients)
        if address_of(entry) not in skip and is_address(address_of(entry))
    ]
