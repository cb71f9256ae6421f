"""How many SMS segments a text costs, and in which encoding."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
MAX_BODY = 1600


@dataclass(frozen=True, slots=True)
class SmsSegments:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    per_segment: int
    non_gsm: str  # the characters that forced UCS-2, in order of appearance

    @property
    def too_long(self) -> bool:
        return self.units > MAX_BODY


def count_segments(text: str) -> SmsSegments:
    """Segments of `text`: 160/153 GSM-7 septets, or 70/67 UTF-16 units."""
    non_gsm: list[str] = []
    septets = 0
    for ch in text:
        if ch in GSM_BASIC:
            septets += 1
        elif ch in GSM_EXTENDED:
            septets += 2
        elif ch not in non_gsm:
            non_gsm.append(ch)
    if not non_gsm:
        single, multi, units, encoding = 160, 153, septets, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = -(-units // multi)
    per = single if segments <= 1 else multi
    return SmsSegments(encoding, segments, units, per, "".join(non_gsm))


def cannot_answer_sms(number: str) -> bool:
    """Whether a customer at `number` cannot answer an SMS: Twilio's numbers do
    not receive SMS from Japanese mobiles (Twilio lists two-way SMS in Japan as
    not supported), so an SMS to a Japanese number is one-way."""
    import phonenumbers  # its metadata costs start-up time; load it on first use

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number.replace(" ", "").startswith("+81")
    return parsed.country_code == 81


def one_way_in_japan(sender: str, default_region: str | None) -> bool:
    """Whether an SMS account sends to Japan, where customers cannot answer:
    its number is Japanese, or numbers without a country code are read as
    Japanese (`default_region = "JP"`)."""
    return (default_region or "").upper() == "JP" or cannot_answer_sms(sender)
