"""Normalising customer addresses so one customer is one identity."""

from __future__ import annotations

from omnitui.domain.models import IdentityKind


class InvalidAddress(ValueError):
    """An address that cannot be an identity of its kind."""


def normalize_email(raw: str) -> str:
    """Lower-case, trimmed address; a display part like `Name <a@b>` is dropped."""
    text = raw.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1]
    text = text.strip().lower()
    local, sep, domain = text.partition("@")
    if not sep or not local or not domain or " " in text:
        raise InvalidAddress(f"not an email address: {raw!r}")
    return text


def normalize_phone(raw: str, region: str | None = None) -> str:
    """The number in E.164 (`+815012345678`); `region` reads local formats."""
    import phonenumbers  # its metadata costs start-up time; load it on first use

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(f"not a phone number: {raw!r} ({exc})") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidAddress(f"not a possible phone number: {raw!r}")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_telegram(raw: str | int) -> str:
    """A Telegram user id, as decimal text."""
    text = str(raw).strip()
    if not text.lstrip("-").isdigit():
        raise InvalidAddress(f"not a Telegram user id: {raw!r}")
    return str(int(text))


def normalize(kind: IdentityKind, raw: str, region: str | None = None) -> str:
    """Normalise `raw` as an address of `kind`."""
    if kind is IdentityKind.EMAIL:
        return normalize_email(raw)
    if kind is IdentityKind.PHONE:
        return normalize_phone(raw, region)
    return normalize_telegram(raw)
