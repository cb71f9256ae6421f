"""A broadcast's image: checked once, stored once, and sent where each channel takes one.

Telegram and email carry the image's bytes with each message. LINE and MMS
take an image only by a public web address: they get one when
`[broadcast] public_url` is set (the channel runner serves the image there),
and MMS only from a number that can send it (Twilio sends MMS from US and
Canadian numbers). Everywhere else the customer gets the text alone, and the
shop is told so before anything is sent.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from omnitui.domain.models import Channel, ChannelKind
from omnitui.errors import OmniError
from omnitui.i18n import N_, tr

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # Telegram's sendPhoto and LINE's original image limit
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
MMS_REGIONS = frozenset({"US", "CA"})  # where a Twilio number sends MMS

# Why a channel sends the text alone (each has a JA entry; shown per channel).
NEEDS_PUBLIC_URL = N_("text only — set [broadcast] public_url to send the image")
NO_MMS_FROM = N_("text only — Twilio sends MMS only from US and Canadian numbers ({number})")


class ImageProblem(OmniError):
    """A file that cannot go with a broadcast (too big, or not a JPEG or PNG)."""


class ImageWay(StrEnum):
    """How a broadcast's image reaches the customers of one channel account."""

    FILE = "file"  # its bytes go with the message (Telegram, email)
    LINK = "link"  # the provider fetches it from the shop's public address (LINE, MMS)


@dataclass(frozen=True, slots=True)
class BroadcastImage:
    """The image of a broadcast, checked; `ways` says which accounts send it, and how."""

    name: str
    content_type: str
    data: bytes
    ways: Mapping[str, ImageWay]
    public_url: str = ""

    @property
    def size_label(self) -> str:
        """Its size in the shop's words: 240 KB, 1.5 MB."""
        return size_label(len(self.data))


def size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def check_size(name: str, size: int) -> None:
    """`ImageProblem` naming the file when it is larger than a broadcast image may be."""
    if size > MAX_IMAGE_BYTES:
        raise ImageProblem(
            "{file}: {size} is more than a broadcast image may be (10 MB)",
            file=name,
            size=size_label(size),
        )


def check_image(name: str, data: bytes) -> str:
    """The content type of `data` when it is a JPEG or PNG of at most 10 MB;
    otherwise `ImageProblem` naming the file."""
    check_size(name, len(data))
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            found = picture.format or ""
            picture.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        found = ""
    content_type = IMAGE_TYPES.get(found)
    if content_type is None:
        raise ImageProblem("{file}: not a JPEG or PNG image", file=name)
    return content_type


def can_send_mms(number: str) -> bool:
    """Whether a Twilio number can send MMS (a US or Canadian number)."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.region_code_for_number(parsed) in MMS_REGIONS


@dataclass(frozen=True, slots=True)
class ImageReach:
    """Per channel account: how the image goes, or why the text goes alone."""

    ways: dict[str, ImageWay]
    text_only: dict[str, tuple[str, dict[str, str]]]  # account -> (template, values)


@dataclass(frozen=True, slots=True)
class ImageSetup:
    """What decides where a broadcast's image can go: `[broadcast] public_url`
    and each SMS account's `from` number."""

    public_url: str | None = None
    sms_numbers: Mapping[str, str] = field(default_factory=dict)

    def reach(self, channels: Sequence[Channel]) -> ImageReach:
        return image_reach(channels, self.public_url, self.sms_numbers)

    def image(self, name: str, data: bytes, channels: Sequence[Channel]) -> BroadcastImage:
        """`data` checked (`ImageProblem` when it cannot go) and ready for `channels`."""
        return BroadcastImage(
            name=name,
            content_type=check_image(name, data),
            data=data,
            ways=self.reach(channels).ways,
            public_url=self.public_url or "",
        )

    def text_only(self, channels: Sequence[Channel]) -> list[tuple[Channel, str]]:
        """Each of `channels` that sends the text alone, with why (in the console's language)."""
        said = self.reach(channels).text_only
        out = []
        for channel in channels:
            if channel.account in said:
                template, values = said[channel.account]
                out.append((channel, tr(template).format(**values)))
        return out


def image_reach(
    channels: Sequence[Channel], public_url: str | None, sms_numbers: Mapping[str, str]
) -> ImageReach:
    """Where a broadcast's image can go: `sms_numbers` is each SMS account's `from`."""
    ways: dict[str, ImageWay] = {}
    text_only: dict[str, tuple[str, dict[str, str]]] = {}
    for channel in channels:
        kind, account = channel.kind, channel.account
        if kind in (ChannelKind.TELEGRAM, ChannelKind.EMAIL):
            ways[account] = ImageWay.FILE
        elif not public_url:
            text_only[account] = (NEEDS_PUBLIC_URL, {})
        elif kind is ChannelKind.SMS and not can_send_mms(sms_numbers.get(account, "")):
            text_only[account] = (NO_MMS_FROM, {"number": sms_numbers.get(account, "")})
        else:
            ways[account] = ImageWay.LINK
    return ImageReach(ways, text_only)
