"""Small formatting shared by the widgets: channel marks, ages, times."""

from __future__ import annotations

import time
from datetime import datetime

from omnitui.domain.models import ChannelKind

CHANNEL_MARK = {ChannelKind.EMAIL: "M", ChannelKind.TELEGRAM: "T", ChannelKind.SMS: "S"}
CHANNEL_STYLE = {
    ChannelKind.EMAIL: "bold #5fafff",
    ChannelKind.TELEGRAM: "bold #00d7d7",
    ChannelKind.SMS: "bold #87d75f",
}
CHANNEL_NAME = {
    ChannelKind.EMAIL: "email",
    ChannelKind.TELEGRAM: "Telegram",
    ChannelKind.SMS: "SMS",
}


def channel_mark(kind: ChannelKind) -> str:
    """One letter per channel (M mail, T Telegram, S SMS): narrow in every terminal."""
    return CHANNEL_MARK[kind]


def age(at: float, now: float | None = None) -> str:
    """How long ago, in at most four cells: now, 5m, 3h, 2d, 11/3."""
    seconds = (time.time() if now is None else now) - at
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d"
    stamp = datetime.fromtimestamp(at)
    return f"{stamp.month}/{stamp.day}"


def clock_time(at: float, now: float | None = None) -> str:
    """A message's time: `14:02` today, `11-20 14:02` this year, else with the year."""
    stamp = datetime.fromtimestamp(at)
    today = datetime.fromtimestamp(time.time() if now is None else now)
    if stamp.date() == today.date():
        return stamp.strftime("%H:%M")
    if stamp.year == today.year:
        return stamp.strftime("%m-%d %H:%M")
    return stamp.strftime("%Y-%m-%d %H:%M")
