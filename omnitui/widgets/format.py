"""Small formatting shared by the widgets: channel marks, ages, times."""

from __future__ import annotations

import time
from datetime import datetime

from omnitui.domain.models import ChannelKind, ThreadStatus
from omnitui.domain.views import AnyView, TagView, View
from omnitui.i18n import tr

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


def channel_name(kind: ChannelKind) -> str:
    """The channel's name in the console's language."""
    names = {
        ChannelKind.EMAIL: tr("email"),
        ChannelKind.TELEGRAM: "Telegram",
        ChannelKind.SMS: "SMS",
    }
    return names.get(kind, CHANNEL_NAME[kind])


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
    }
    return labels.get(view) or tr(str(view))


def weekday(at: datetime) -> str:
    """The short name of the day of the week, in the console's language."""
    names = (tr("Mon"), tr("Tue"), tr("Wed"), tr("Thu"), tr("Fri"), tr("Sat"), tr("Sun"))
    return names[at.weekday()]


def age(at: float, now: float | None = None) -> str:
    """How long ago, in a few cells: now, 5m, 3h, 2d, 11/3 (今, 5分, 3時間, 2日 in Japanese)."""
    seconds = (time.time() if now is None else now) - at
    if seconds < 60:
        return tr("now")
    if seconds < 3600:
        return tr("{n}m").format(n=int(seconds // 60))
    if seconds < 86400:
        return tr("{n}h").format(n=int(seconds // 3600))
    if seconds < 7 * 86400:
        return tr("{n}d").format(n=int(seconds // 86400))
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
