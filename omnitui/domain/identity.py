"""Normalising customer addresses so one customer is one identity."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from omnitui.domain.models import IdentityKind
from omnitui.errors import OmniError


class InvalidAddress(OmniError, ValueError):
    """An address that cannot be an identity of its kind."""


def normalize_email(raw: str) -> str:
    """Lower-case, trimmed address; a display part like `Name <a@b>` is dropped."""
    text = raw.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1]
    text = text.strip().lower()
    local, sep, domain = text.partition("@")
    if not sep or not local or not domain or " " in text:
        raise InvalidAddress("not an email address: {address}", address=repr(raw))
    return text


def normalize_phone(raw: str, region: str | None = None) -> str:
    """The number in E.164 (`+815012345678`); `region` reads local formats."""
    import phonenumbers  # its metadata costs start-up time; load it on first use

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(
            "not a phone number: {address} ({reason})", address=repr(raw), reason=exc
        ) from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidAddress("not a possible phone number: {address}", address=repr(raw))
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_telegram(raw: str | int) -> str:
    """A Telegram user id, as decimal text."""
    text = str(raw).strip()
    if not text.lstrip("-").isdigit():
        raise InvalidAddress("not a Telegram user id: {address}", address=repr(raw))
    return str(int(text))


_LINE_ID = re.compile(r"U[0-9a-f]{32}")


def normalize_line(raw: str) -> str:
    """A LINE user id as the bot sees it: `U` and 32 lower-case hex digits."""
    text = raw.strip()
    if not _LINE_ID.fullmatch(text):
        raise InvalidAddress("not a LINE user id: {address}", address=repr(raw))
    return text


def normalize(kind: IdentityKind, raw: str, region: str | None = None) -> str:
    """Normalise `raw` as an address of `kind`."""
    if kind is IdentityKind.EMAIL:
        return normalize_email(raw)
    if kind is IdentityKind.PHONE:
        return normalize_phone(raw, region)
    if kind is IdentityKind.LINE:
        return normalize_line(raw)
    if kind is IdentityKind.TELEGRAM:
        return normalize_telegram(raw)
    # A plugin's own kind of address: kept as the plugin gave it, trimmed.
    text = raw.strip()
    if not text:
        raise InvalidAddress("not an address: {address}", address=repr(raw))
    return text


@dataclass(frozen=True, slots=True)
class TypedAddress:
    """An address an agent typed to write to someone new, normalised."""

    kind: IdentityKind
    address: str
    name: str = ""  # the name part of `Hanako Yamada <hanako@example.jp>`


class NotAnAddress(StrEnum):
    """Why typed text is not an address OmniTUI can start a conversation with."""

    TEXT = "text"  # a name or a word: something to look for among the contacts
    TELEGRAM = "telegram"  # `@handle`, `t.me/…`: a bot cannot write first
    NEEDS_COUNTRY = "needs_country"  # a local phone number and no region to read it with


_PHONE_CHARS = frozenset("0123456789+-() .")
# Dashes a Japanese keyboard may put in a phone number (ー from the IME, −, ‐…).
_DASHES = str.maketrans(dict.fromkeys("ー‐‑‒–—―−ｰ", "-"))


def read_typed_address(text: str, region: str | None = None) -> TypedAddress | NotAnAddress:
    """What an agent typed in "write to…": an email address (`Name <a@b.c>`
    too), a phone number (E.164, or local read with `region`), or why not."""
    typed = unicodedata.normalize("NFKC", text).strip()
    if typed.startswith("@") or typed.lower().startswith(("t.me/", "https://t.me/")):
        return NotAnAddress.TELEGRAM
    if "@" in typed:
        try:
            address = normalize_email(typed)
        except InvalidAddress:
            return NotAnAddress.TEXT
        if "." not in address.partition("@")[2]:
            return NotAnAddress.TEXT
        name = typed[: typed.rindex("<")].strip().strip('"').strip() if "<" in typed else ""
        return TypedAddress(IdentityKind.EMAIL, address, name)
    typed = typed.translate(_DASHES)
    digits = sum(ch.isdigit() for ch in typed)
    if digits < 6 or not set(typed) <= _PHONE_CHARS:
        return NotAnAddress.TEXT
    if not typed.startswith("+") and not region:
        return NotAnAddress.NEEDS_COUNTRY
    try:
        return TypedAddress(IdentityKind.PHONE, normalize_phone(typed, region))
    except InvalidAddress:
        return NotAnAddress.TEXT
