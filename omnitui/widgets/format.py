"""Small formatting shared by the widgets: channel marks, ages, times, names."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from rich.cells import cell_len

from omnitui import errors
from omnitui.domain.models import ChannelKind, ThreadStatus, kind_info
from omnitui.domain.safe_text import one_line, visible
from omnitui.domain.views import AnyView, TagView, View
from omnitui.errors import OmniError
from omnitui.i18n import active_language, tr, tr_reason

if TYPE_CHECKING:
    from omnitui.domain.hours import BusinessHours


class _KindTable(dict[ChannelKind, str]):
    """A built-in kind's entry, or what a plugin's kind falls back on (`fallback`)."""

    def __init__(self, entries: dict[ChannelKind, str], fallback: Callable[[ChannelKind], str]):
        super().__init__(entries)
        self._fallback = fallback

    def __missing__(self, kind: ChannelKind) -> str:
        return self._fallback(kind)


def _one_cell(text: str) -> bool:
    return cell_len(text) == 1 and text.isprintable() and text not in "[]"


def _plugin_mark(kind: ChannelKind) -> str:
    info = kind_info(kind)
    if info is not None and _one_cell(info.mark):
        return info.mark
    return kind.value[:1].upper()


def _plugin_icon(kind: ChannelKind) -> str:
    info = kind_info(kind)
    return info.icon if info is not None and _one_cell(info.icon) else _plugin_mark(kind)


def _plugin_label(kind: ChannelKind) -> str:
    info = kind_info(kind)
    given = "" if info is None else (info.label_ja if active_language() == "ja" else "")
    label = one_line(given or info.label, 24) if info is not None else ""
    # Shown in toasts, which read markup: a plugin's label never carries any.
    return label.replace("[", "(").replace("]", ")") or kind.value


# One cell per channel in every language, so the contact list keeps its columns.
# English reads letters (M mail, T Telegram, S SMS); Japanese reads pictures
# (an envelope, Telegram's paper plane, a telephone), with a legend under `?`.
# A plugin's channel shows the mark, picture and label it gives, else its
# kind's first letter and name, in one colour for all plugins.
CHANNEL_MARK = _KindTable(
    {
        ChannelKind.EMAIL: "M",
        ChannelKind.TELEGRAM: "T",
        ChannelKind.SMS: "S",
        ChannelKind.LINE: "L",
    },
    _plugin_mark,
)
CHANNEL_ICON = _KindTable(
    {
        ChannelKind.EMAIL: "✉",
        ChannelKind.TELEGRAM: "✈",
        ChannelKind.SMS: "☏",
        ChannelKind.LINE: "Ⓛ",
    },
    _plugin_icon,
)
CHANNEL_STYLE = _KindTable(
    {
        ChannelKind.EMAIL: "bold #5fafff",
        ChannelKind.TELEGRAM: "bold #00d7d7",
        ChannelKind.SMS: "bold #87d75f",
        ChannelKind.LINE: "bold #00d700",
    },
    lambda _kind: "bold #d7afff",
)
CHANNEL_NAME = _KindTable(
    {
        ChannelKind.EMAIL: "email",
        ChannelKind.TELEGRAM: "Telegram",
        ChannelKind.SMS: "SMS",
        ChannelKind.LINE: "LINE",
    },
    _plugin_label,
)
CHANNEL_ORDER = (ChannelKind.EMAIL, ChannelKind.TELEGRAM, ChannelKind.SMS, ChannelKind.LINE)

# Where the console reads "now" for ages and times: the store's clock, so a
# console on a store with a fixed clock (a test) draws the same screen every time.
_clock: ContextVar[Callable[[], float]] = ContextVar("omnitui_clock", default=time.time)


def use_clock(clock: Callable[[], float]) -> None:
    """Read "now" from `clock` here and in what this context starts."""
    _clock.set(clock)


def channel_mark(kind: ChannelKind) -> str:
    """One cell per channel: M, T, S in English; ✉, ✈, ☏ in Japanese."""
    marks = CHANNEL_ICON if active_language() == "ja" else CHANNEL_MARK
    return marks[kind]


def channel_name(kind: ChannelKind) -> str:
    """The channel's name in the console's language."""
    names = {
        ChannelKind.EMAIL: tr("email"),
        ChannelKind.TELEGRAM: "Telegram",
        ChannelKind.SMS: "SMS",
        ChannelKind.LINE: "LINE",
    }
    return names.get(kind, CHANNEL_NAME[kind])


def channel_legend(kinds: Iterable[ChannelKind] = ()) -> str:
    """What each mark means: `✉ メール · ✈ Telegram · ☏ SMS` (the help screen's key),
    with the plugin kinds among `kinds` (the console's channels) after the built-in ones."""
    plugins = [
        k for k in dict.fromkeys(kinds) if k not in CHANNEL_ORDER and kind_info(k) is not None
    ]
    return " · ".join(f"{channel_mark(k)} {channel_name(k)}" for k in (*CHANNEL_ORDER, *plugins))


def status_label(status: ThreadStatus) -> str:
    """A thread's status as the agent reads it (the store keeps the English value)."""
    labels = {
        ThreadStatus.OPEN: tr("open"),
        ThreadStatus.PENDING: tr("pending"),
        ThreadStatus.SNOOZED: tr("snoozed"),
        ThreadStatus.RESOLVED: tr("resolved"),
    }
    return labels.get(status, str(status))


def view_label(view: AnyView) -> str:
    """A contact-list view's name as the agent reads it (`View` values stay English)."""
    if isinstance(view, TagView):
        return str(view)  # the shop's own tag, as written
    labels = {
        View.ALL: tr("All"),
        View.MINE: tr("Mine"),
        View.UNASSIGNED: tr("Unassigned"),
        View.WAITING: tr("Waiting"),
        View.SNOOZED: tr("Snoozed"),
        View.RESOLVED: tr("Resolved"),
        View.EMAIL: tr("Email"),
        View.TELEGRAM: "Telegram",
        View.SMS: "SMS",
        View.LINE: "LINE",
    }
    return labels.get(view) or tr(str(view))


def reason_label(reason: str) -> str:
    """Why a reply failed (or a file was not kept), in the console's language, as text."""
    return visible(tr_reason(reason))


def file_kind(content_type: str) -> str:
    """An attachment's type: as sent (image/png) in English, in words in Japanese (画像)."""
    if active_language() != "ja":
        return visible(content_type)
    main, _, sub = content_type.lower().partition("/")
    if sub == "pdf":
        return "PDF"
    kinds = {"image": "画像", "video": "動画", "audio": "音声", "text": "テキスト"}
    return kinds.get(main, "ファイル")


def weekday(at: datetime) -> str:
    """The short name of the day of the week, in the console's language."""
    names = (tr("Mon"), tr("Tue"), tr("Wed"), tr("Thu"), tr("Fri"), tr("Sat"), tr("Sun"))
    return names[at.weekday()]


def age(at: float, now: float | None = None) -> str:
    """How long ago, in a few cells.

    English: now, 5m, 3h, 2d, 11/3. Japanese: 今, 5分, 3時間, 昨日, 3日前,
    12/2 (and 2023/12/2 in another year): the words of a phone's chat list.
    """
    current = _clock.get()() if now is None else now
    seconds = current - at
    if seconds < 60:
        return tr("now")
    if seconds < 3600:
        return tr("{n}m").format(n=int(seconds // 60))
    if seconds < 86400:
        return tr("{n}h").format(n=int(seconds // 3600))
    stamp = datetime.fromtimestamp(at)
    if active_language() == "ja":
        today = datetime.fromtimestamp(current).date()
        days = (today - stamp.date()).days
        if days <= 1:
            return "昨日"
        if days < 7:
            return f"{days}日前"
        if stamp.year == today.year:
            return f"{stamp.month}/{stamp.day}"
        return f"{stamp.year}/{stamp.month}/{stamp.day}"
    if seconds < 7 * 86400:
        return tr("{n}d").format(n=int(seconds // 86400))
    return f"{stamp.month}/{stamp.day}"


def clock_time(at: float, now: float | None = None) -> str:
    """A message's time: `14:02` today, else with the date.

    English: `11-20 14:02` this year, `2023-11-20 14:02` before. Japanese:
    `12月2日(水) 15:04`, and `2023年12月2日(水) 15:04` in another year.
    """
    stamp = datetime.fromtimestamp(at)
    today = datetime.fromtimestamp(_clock.get()() if now is None else now)
    if active_language() == "ja":
        clock = f"{stamp.hour}:{stamp.minute:02d}"
        if stamp.date() == today.date():
            return clock
        day = f"{stamp.month}月{stamp.day}日({weekday(stamp)}) {clock}"
        return day if stamp.year == today.year else f"{stamp.year}年{day}"
    if stamp.date() == today.date():
        return stamp.strftime("%H:%M")
    if stamp.year == today.year:
        return stamp.strftime("%m-%d %H:%M")
    return stamp.strftime("%Y-%m-%d %H:%M")


def now() -> float:
    """The console's "now" (a fixed clock in tests), in seconds."""
    return _clock.get()()


def hours_state(hours: BusinessHours, at: float | None = None) -> tuple[str, float | None]:
    """The shop's state for the header ("open now", "closed until Thu 10:00", in
    the shop's time) and, when it changes within a year, the moment it does."""
    instant = datetime.fromtimestamp(now() if at is None else at, hours.zone)
    change = hours.next_change(instant)
    if hours.is_open(instant):
        label = tr("open now")
    elif change is None:
        label = tr("closed")
    else:
        clock = (
            f"{change.hour}:{change.minute:02d}" if active_language() == "ja" else f"{change:%H:%M}"
        )
        if change - instant < timedelta(days=6):
            when = f"{weekday(change)} {clock}"
        elif active_language() == "ja":
            when = f"{change.month}月{change.day}日({weekday(change)}) {clock}"
        else:
            when = f"{weekday(change)} {change:%m-%d} {clock}"
        label = tr("closed until {when}").format(when=when)
    return label, None if change is None else change.timestamp()


def when_at(at: datetime) -> str:
    """A time to come (a snooze's end): `Tue 12-03 09:00`; Japanese `12月3日(火) 9:00`."""
    if active_language() == "ja":
        return clock_time(at.timestamp())
    return f"{weekday(at)} {at:%m-%d %H:%M}"


# -- names ----------------------------------------------------------------------


def _wide(ch: str) -> bool:
    """A character of a script written without spaces (kanji, kana, hangul)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def fit_name(name: str, width: int) -> str:
    """A customer's name on one line in at most `width` cells, never cut at a space.

    A name that fits is shown whole. One that does not is cut at its end with
    `…`, and the cut always falls inside a word: `山田 花…`, never `山田 …`,
    so a family name is never shown as if it were the whole name. A Japanese
    name (山田 花子) may drop its space before being cut, as it is often
    written (山田花子, 山田花…). Whitespace inside the name becomes single
    spaces and control characters visible symbols.
    """
    text = one_line(name, 200)
    width = max(1, width)
    if cell_len(text) <= width:
        return text
    words = text.split(" ")
    joinable = len(words) > 1 and all(
        a and b and _wide(a[-1]) and _wide(b[0]) for a, b in pairwise(words)
    )
    base = "".join(words) if joinable else text
    if cell_len(base) <= width:
        return base
    # Where each word ends in `base`: the cut must not land there.
    ends: set[int] = set()
    position = 0
    for word in words:
        position += len(word)
        ends.add(position)
        if not joinable:
            position += 1  # the space
    room = width - 1  # the ellipsis takes one cell
    cut = 0
    used = 0
    for index, ch in enumerate(base):
        size = cell_len(ch)
        if used + size > room:
            break
        used += size
        cut = index + 1
    while cut > 0 and (base[cut - 1] == " " or cut in ends):
        cut -= 1  # back inside a word, and never end on the space
    return base[:cut] + "…"


def name_lines(parts: Sequence[str], width: int, separator: str = ", ") -> str:
    """Names (or other units that must not break) laid out in lines of at most
    `width` cells, a line break only ever between two of them.

    For text a widget would wrap itself (a toast): it wraps at spaces, which
    would put 山田 at the end of one line and 花子 at the start of the next.
    Each unit wider than a line is cut at its end with `fit_name`.
    """
    mark = separator.rstrip()  # stays at the end of a line: `山田 花子、`
    gap = separator[len(mark) :]
    lines: list[str] = []
    line = ""
    for n, part in enumerate(parts):
        tail = mark if n < len(parts) - 1 else ""
        unit = fit_name(part, width - cell_len(tail)) + tail
        joined = f"{line}{gap}{unit}" if line else unit
        if line and cell_len(joined) > width:
            lines.append(line)
            line = unit
        else:
            line = joined
    if line:
        lines.append(line)
    return "\n".join(lines)


def toast_room(screen_width: int) -> int:
    """How many cells a line of a toast holds on a screen this wide: Textual's
    toast is 60 wide, at most half the screen (less a cell), less its edge and
    padding."""
    return max(10, min(60, (screen_width - 2) // 2) - 3)


def toast_text(parts: Sequence[str], separator: str, screen_width: int, tail: str = "") -> str:
    """Names and words for a toast, broken into lines only between them (the
    toast itself would wrap at any space: 山田 on one line, 花子 on the next);
    `tail` follows the last one after a space, or on a line of its own."""
    room = toast_room(screen_width)
    text = name_lines(parts, room, separator)
    if tail:
        last = text.rsplit("\n", 1)[-1]
        text += ("\n" if cell_len(f"{last} {tail}") > room else " ") + tail
    return text


def error_label(exc: BaseException) -> str:
    """Why something could not be done, in the console's language, as text: an
    OmniTUI error in its own words, any other in its (English) reason."""
    if isinstance(exc, OmniError):
        return visible(errors.message(exc))
    return reason_label(errors.message(exc))


def duration_words(seconds: float) -> str:
    """A duration as a person says it: "45 s", "12 min", "3 h 05", "2 d 4 h"
    (Japanese 45 秒, 12 分, 3 時間 05 分, 2 日 4 時間)."""
    if seconds < 60:
        return tr("{n} s").format(n=max(0, int(seconds)))
    minutes = int(seconds // 60)
    if minutes < 60:
        return tr("{n} min").format(n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return tr("{h} h {m:02d}").format(h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return tr("{d} d {h} h").format(d=days, h=hours)
