"""QR codes that bring a customer at the counter into a chat with the shop.

Each channel has a link that starts a conversation: a Telegram bot's
`https://t.me/<bot>?start=<source>`, a LINE Official Account's add-friend
link, a `mailto:` with the shop's name as subject, an `sms:` link. This module
makes those links and draws their codes, as terminal text (two modules per
character cell, with half blocks) and as a printable SVG poster. No I/O here:
where the bot's name comes from is the caller's business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, unquote

# Telegram's start parameter: up to 64 of A-Z, a-z, 0-9, _ and -.
_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The quiet zone the QR specification asks for around a code, in modules.
QUIET_ZONE = 4
# Cells of a terminal code: (top module dark, bottom module dark) -> character.
_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
# Dark on light, whatever the terminal's own colours: black text on white.
_ANSI_ON, _ANSI_OFF = "\x1b[30;107m", "\x1b[0m"


def valid_source(source: str) -> bool:
    """Whether `source` can be a Telegram start parameter (and so a tag's name)."""
    return _SOURCE.match(source) is not None


def source_tag(source: str) -> str:
    """The tag a customer who came through `source`'s code gets: `source:counter`."""
    return f"source:{source}"


def telegram_link(username: str, source: str | None = None) -> str:
    """The link that opens a chat with the bot `username`; `source` rides along
    as the start parameter, which the bot receives as `/start <source>`."""
    link = f"https://t.me/{username.lstrip('@')}"
    return f"{link}?start={source}" if source else link


def readable_link(link: str) -> str:
    """`link` as a person reads it under its code: percent-escapes decoded."""
    return unquote(link)


def line_link(basic_id: str) -> str:
    """LINE's add-friend link for an Official Account's basic id (`@123abcde`)."""
    basic_id = basic_id if basic_id.startswith("@") else f"@{basic_id}"
    return f"https://line.me/R/ti/p/{quote(basic_id, safe='')}"


def mailto_link(address: str, subject: str = "") -> str:
    """A `mailto:` link to `address` with `subject` filled in."""
    link = f"mailto:{address}"
    return f"{link}?subject={quote(subject, safe='')}" if subject else link


def sms_link(number: str) -> str:
    return f"sms:{number}"


def sms_is_one_way(number: str) -> bool:
    """Japanese mobiles cannot send an SMS to a Twilio number: a Japanese number
    (+81) only sends, so a code that asks customers to write to it would fail them."""
    from omnitui.domain.sms import cannot_answer_sms

    return cannot_answer_sms(number)


@dataclass(frozen=True, slots=True)
class QrChannel:
    """A configured channel, as far as its code needs it."""

    kind: str  # email | telegram | sms | line
    name: str  # the channel's name in config.toml
    address: str = ""  # email: the `from` address; sms: the number; else ""


@dataclass(frozen=True, slots=True)
class ChannelCode:
    """One channel's way in: its link, or why there is none."""

    kind: str  # email | telegram | sms | line
    name: str  # the channel's name in config.toml
    link: str | None
    why_not: str = ""  # in words, when link is None


def _matrix(link: str) -> list[list[bool]]:
    import segno  # loaded when a code is drawn, not with the console

    code = segno.make(link, error="m", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(border=QUIET_ZONE)]


def terminal_code(link: str, *, color: bool = False) -> list[str]:
    """The QR code of `link` as lines of text, two modules per character.

    A glyph is a dark module, a blank a light one, with the quiet zone all
    around. With `color`, each line is black on white, so the code reads dark on
    light whatever the terminal's colours are; without, the terminal's own text
    colour draws the dark modules.
    """
    rows = _matrix(link)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        line = "".join(_HALF_BLOCKS[t, b] for t, b in zip(top, bottom, strict=True))
        lines.append(f"{_ANSI_ON}{line}{_ANSI_OFF}" if color else line)
    return lines


def _svg_path(rows: list[list[bool]]) -> str:
    parts = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class PosterLayout:
    """Where things go on an A4 poster (in millimetres, portrait)."""

    width: float = 210.0
    height: float = 297.0
    margin: float = 15.0
    title_size: float = 14.0
    label_size: float = 6.0
    link_size: float = 3.6


A4 = PosterLayout()


def poster_svg(shop: str, codes: Sequence[ChannelCode], layout: PosterLayout = A4) -> str:
    """A printable A4 poster: the shop's name, then one code per channel with the
    channel's name and its link under it. Codes come out at least 40 mm wide
    (more when there are few), which a phone reads from an arm's length."""
    shown = [c for c in codes if c.link]
    lay = layout
    columns, top, cell_w, cell_h, size = poster_cells(len(shown), lay)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width}mm" height="{lay.height}mm" '
        f'viewBox="0 0 {lay.width} {lay.height}">',
        f'<rect width="{lay.width}" height="{lay.height}" fill="#fff"/>',
        f'<text x="{lay.width / 2}" y="{lay.margin + lay.title_size}" font-size="{lay.title_size}" '
        'text-anchor="middle" font-family="sans-serif" font-weight="bold" fill="#000">'
        f"{escape(shop)}</text>",
    ]
    for i, code in enumerate(shown):
        assert code.link is not None
        col, row = i % columns, i // columns
        cx = lay.margin + cell_w * (col + 0.5)
        y = top + cell_h * row
        matrix = _matrix(code.link)
        scale = size / len(matrix)
        out.append(
            f'<g transform="translate({cx - size / 2:.2f} {y:.2f}) scale({scale:.4f})">'
            f'<rect width="{len(matrix)}" height="{len(matrix)}" fill="#fff"/>'
            f'<path d="{_svg_path(matrix)}" fill="#000" shape-rendering="crispEdges"/></g>'
        )
        label_y = y + size + lay.label_size * 1.2
        out.append(
            f'<text x="{cx:.2f}" y="{label_y:.2f}" font-size="{lay.label_size}" '
            'text-anchor="middle" font-family="sans-serif" font-weight="bold" fill="#000">'
            f"{escape(code.name)}</text>"
        )
        shown_link = readable_link(code.link)
        link_size = link_font_size(shown_link, cell_w, lay)
        out.append(
            f'<text x="{cx:.2f}" y="{label_y + lay.link_size * 1.6:.2f}" '
            f'font-size="{link_size:.2f}" text-anchor="middle" font-family="monospace" '
            f'fill="#000">{escape(shown_link)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def poster_cells(count: int, layout: PosterLayout = A4) -> tuple[int, float, float, float, float]:
    """(columns, top, cell width, cell height, code size) of the poster's grid."""
    lay = layout
    columns = 1 if count <= 1 else 2
    rows_n = max(1, -(-count // columns))
    top = lay.margin + lay.title_size * 2
    cell_w = (lay.width - 2 * lay.margin) / columns
    cell_h = (lay.height - top - lay.margin) / rows_n
    text_h = lay.label_size * 1.6 + lay.link_size * 2.6
    size = max(40.0, min(cell_w - 10, cell_h - text_h - 6, 120.0))
    return columns, top, cell_w, cell_h, size


def link_font_size(link: str, width: float, layout: PosterLayout = A4) -> float:
    """The link's font size, so that it fits `width` in a monospace font
    (whose characters are about 0.6 of the size wide)."""
    wide = sum(2 if ord(ch) > 0x2FF else 1 for ch in link)  # a kanji takes two columns
    return min(layout.link_size, width * 0.95 / (max(1, wide) * 0.6))


def modules(link: str) -> list[list[bool]]:
    """The code's modules, quiet zone included (True is dark), for drawing it."""
    return _matrix(link)
