"""`omnitui qr`: the shop's "start a chat" links, their QR codes and a poster.

For each configured channel: the link a customer at the counter scans, its QR
code in the terminal, and with `--png` / `--svg` an A4 poster with the shop's
name and one code per channel. The command line asks Telegram for the bot's
username (getMe) and LINE for the account's basic id; the console's QR screen
asks nobody, and reads what the channels stored when they connected
(`store_names`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.domain.qr import (
    A4,
    ChannelCode,
    PosterLayout,
    QrChannel,
    line_link,
    link_font_size,
    mailto_link,
    modules,
    poster_cells,
    poster_svg,
    readable_link,
    sms_is_one_way,
    sms_link,
    telegram_link,
    terminal_code,
    valid_source,
)
from omnitui.errors import OmniError
from omnitui.i18n import N_, tr

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont, ImageFont

    from omnitui.config import Settings
    from omnitui.store.protocol import IngestStore

# What the console and the command line call each kind of channel.
KIND_NAMES = {"email": N_("Email"), "telegram": "Telegram", "sms": "SMS", "line": "LINE"}
# The store's cursor keys where the channels leave their public names.
TELEGRAM_USERNAME_KEY = "telegram:username"
LINE_BASIC_ID_KEY = "line:basic_id"
POSTER_DPI = 200


class QrError(OmniError):
    """A QR code or poster could not be made (in words)."""


class SourceError(OmniError):
    """`--source` is not a name a Telegram link can carry."""


def check_source(source: str | None) -> str | None:
    """`source` when it can ride in a Telegram start link, else `SourceError`."""
    if source is not None and not valid_source(source):
        raise SourceError(
            "--source {source!r}: use up to 64 letters, digits, _ and - "
            "(Telegram allows no other characters in a start link)",
            source=source,
        )
    return source


# A lookup of a bot's or account's public name, by the channel's name.
NameLookup = Callable[[str], Awaitable[str]]


def qr_channels(settings: Settings) -> tuple[QrChannel, ...]:
    """The configured channels, in config order by kind, as their codes need them."""
    return (
        *(
            QrChannel(
                "email", m.name, parseaddr(m.from_)[1] or (m.username if "@" in m.username else "")
            )
            for m in settings.email
        ),
        *(QrChannel("telegram", t.name) for t in settings.telegram),
        *(QrChannel("sms", s.name, s.from_) for s in settings.sms),
        *(QrChannel("line", line.name) for line in settings.line),
    )


async def channel_codes(
    channels: Sequence[QrChannel],
    shop: str,
    source: str | None,
    *,
    telegram_username: NameLookup,
    line_basic_id: NameLookup,
) -> list[ChannelCode]:
    """Every channel's way in. A lookup that raises gives that channel no link
    and its error's words; the others are not held up."""
    codes: list[ChannelCode] = []
    for channel in channels:
        kind, name = channel.kind, channel.name
        if kind == "email":
            if channel.address:
                codes.append(ChannelCode(kind, name, mailto_link(channel.address, shop)))
            else:
                codes.append(ChannelCode(kind, name, None, tr("its `from` has no address")))
        elif kind == "sms":
            if sms_is_one_way(channel.address):
                why = tr(
                    "SMS is one-way in Japan: Japanese mobiles cannot send an SMS to {number} "
                    "(customers can answer on another channel)"
                ).format(number=channel.address)
                codes.append(ChannelCode(kind, name, None, why))
            else:
                codes.append(ChannelCode(kind, name, sms_link(channel.address)))
        elif kind in ("telegram", "line"):
            lookup = telegram_username if kind == "telegram" else line_basic_id
            try:
                found = await lookup(name)
            except Exception as exc:
                codes.append(ChannelCode(kind, name, None, _words(exc)))
                continue
            link = telegram_link(found, source) if kind == "telegram" else line_link(found)
            codes.append(ChannelCode(kind, name, link))
    return codes


def _words(exc: BaseException) -> str:
    from omnitui.errors import message

    return message(exc)


# -- where the names come from ------------------------------------------------


def network_names(settings: Settings) -> tuple[NameLookup, NameLookup]:
    """Lookups that ask Telegram (getMe) and LINE (bot info), for the command line."""
    bots = {t.name: t for t in settings.telegram}
    lines = {line.name: line for line in settings.line}

    async def telegram(name: str) -> str:
        from omnitui.adapters.telegram import bot_username

        return await bot_username(bots[name])

    async def line(name: str) -> str:
        from omnitui.adapters.line import LineAdapter, bot_info

        config = lines[name]
        try:
            return (await bot_info(config)).basic_id
        except OmniError:
            raise
        except Exception as exc:  # LINE's own errors, worded as doctor words them
            raise QrError("{reason}", reason=LineAdapter(config).explain(exc)) from None

    return telegram, line


def store_names(store: IngestStore) -> tuple[NameLookup, NameLookup]:
    """Lookups that read what each channel stored when it last connected, and
    ask no network service (for the console)."""

    def known(key: str) -> NameLookup:
        async def lookup(name: str) -> str:
            value = await store.load_cursor(name, key)
            if not value:
                raise QrError("not known yet — the channel has not connected")
            return value

        return lookup

    return known(TELEGRAM_USERNAME_KEY), known(LINE_BASIC_ID_KEY)


# -- the command ----------------------------------------------------------------


def channel_title(code: ChannelCode) -> str:
    """ "Telegram shop-bot": the kind of channel and its name in config.toml."""
    return f"{tr(KIND_NAMES.get(code.kind, code.kind))} {code.name}"


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


async def cmd_qr(settings: Settings, source: str | None, png: Path | None, svg: Path | None) -> int:
    """Print each channel's link and code; write the posters asked for.
    0 when at least one code could be made, else 1."""
    source = check_source(source)
    telegram, line = network_names(settings)
    shop = settings.shop.get("name", "")
    codes = await channel_codes(
        qr_channels(settings), shop, source, telegram_username=telegram, line_basic_id=line
    )
    colour = _colour()
    out = sys.stdout
    for code in codes:
        if code.link is None:
            out.write(f"{channel_title(code)}: {tr('no code')} — {code.why_not}\n\n")
            continue
        out.write(f"{channel_title(code)}: {code.link}\n")
        out.write("\n".join(terminal_code(code.link, color=colour)) + "\n\n")
    if not codes:
        out.write(
            tr("No channels in the config: add [[email]], [[telegram]], [[sms]] or [[line]].")
            + "\n"
        )
    shown = [c for c in codes if c.link]
    if not shown:
        return 1
    if svg is not None:
        _write(svg, poster_svg(shop, _titled(shown)).encode())
        out.write(tr("Poster written to {path}").format(path=svg) + "\n")
    if png is not None:
        _write(png, poster_png(shop, _titled(shown)))
        out.write(tr("Poster written to {path}").format(path=png) + "\n")
    out.flush()
    return 0


def _titled(codes: Sequence[ChannelCode]) -> list[ChannelCode]:
    """The codes with their channel kind in front of the name, as the poster labels them."""
    return [ChannelCode(c.kind, channel_title(c), c.link, c.why_not) for c in codes]


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise QrError(
            "could not write the poster to {path}: {reason}", path=path, reason=exc.strerror
        ) from None


# -- the PNG poster ----------------------------------------------------------------

# Fonts with Japanese characters where the usual systems keep them.
_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "C:/Windows/Fonts/YuGothM.ttc",
    "C:/Windows/Fonts/msgothic.ttc",
)
_LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


def _needs_cjk(texts: Sequence[str]) -> bool:
    return any(ord(ch) > 0x2FF for text in texts for ch in text)


def font_file(texts: Sequence[str]) -> str | None:
    """A font file that can draw `texts`, or None when Pillow's own font will do."""
    return _font_for(cjk=_needs_cjk(texts))


@functools.cache
def _font_for(*, cjk: bool) -> str | None:
    found: list[str] = []
    if cjk and shutil.which("fc-list"):
        try:
            listed: str = subprocess.run(
                ["fc-list", "-f", "%{file}\n", ":lang=ja"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        # Gothic (sans-serif) faces read best on a poster.
        found = sorted(
            (f for f in listed.splitlines() if f.strip()),
            key=lambda f: (not any(w in f.lower() for w in ("gothic", "sans")), f),
        )
    for candidate in [*found, *(_CJK_FONTS if cjk else _LATIN_FONTS)]:
        if Path(candidate).is_file():
            return str(candidate)
    if cjk:
        raise QrError(
            "no font with Japanese characters was found for the PNG poster: install one "
            "(Debian: fonts-noto-cjk or fonts-ipafont-gothic), or write an SVG poster (--svg)"
        )
    return None


def _font(path: str | None, size: int) -> FreeTypeFont | ImageFont:
    from PIL import ImageFont

    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


def poster_png(shop: str, codes: Sequence[ChannelCode], layout: PosterLayout = A4) -> bytes:
    """The poster of `poster_svg` as a PNG at `POSTER_DPI`, every module whole pixels."""
    import io

    from PIL import Image, ImageDraw

    lay = layout
    px = POSTER_DPI / 25.4  # pixels per millimetre
    width, height = round(lay.width * px), round(lay.height * px)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    path = font_file([shop, *(c.name for c in codes)])
    title = _font(path, round(lay.title_size * px))
    label = _font(path, round(lay.label_size * px))
    draw.text(
        (width / 2, (lay.margin + lay.title_size) * px), shop, font=title, fill=0, anchor="ms"
    )
    columns, top, cell_w, cell_h, size = poster_cells(len(codes), lay)
    for i, code in enumerate(codes):
        assert code.link is not None
        col, row = i % columns, i // columns
        cx = (lay.margin + cell_w * (col + 0.5)) * px
        y = (top + cell_h * row) * px
        matrix = modules(code.link)
        unit = max(1, int(size * px / len(matrix)))
        left = round(cx - unit * len(matrix) / 2)
        for my, modules_row in enumerate(matrix):
            for mx, dark in enumerate(modules_row):
                if dark:
                    x0, y0 = left + mx * unit, round(y) + my * unit
                    draw.rectangle((x0, y0, x0 + unit - 1, y0 + unit - 1), fill=0)
        label_y = y + size * px + lay.label_size * 1.2 * px  # the same line under every code
        draw.text((cx, label_y), code.name, font=label, fill=0, anchor="ms")
        shown = readable_link(code.link)
        mono = _LATIN_MONO if Path(_LATIN_MONO).is_file() and not _needs_cjk([shown]) else None
        link_font = _font(
            mono or font_file([shop, shown]), round(link_font_size(shown, cell_w, lay) * px)
        )
        draw.text(
            (cx, label_y + lay.link_size * 1.6 * px), shown, font=link_font, fill=0, anchor="ms"
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(POSTER_DPI, POSTER_DPI))
    return buffer.getvalue()


_LATIN_MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
