"""LINE replies: when an answer is free, and how much of the month's quota is left.

LINE gives each customer event a reply token. While it is valid a reply costs
nothing; after that, or once it has been used, only a push message reaches the
customer, and pushes count against the account's monthly quota (200 on the
free plan). LINE does not say how long a token lives (about a minute; 30 s has
been seen), so OmniTUI counts on `LINE_REPLY_WINDOW` seconds from the event.

The LINE adapter keeps the event's `reply_token` in the message's meta, its
`sent_at` as LINE's event time, and the quota in the store's cursor table
under `QUOTA_CURSOR` as JSON: `{"limit": 200, "used": 37, "at": <epoch s>}`
(`limit` null for no limit).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from omnitui.domain.models import ChannelKind, Direction, Message

LINE_REPLY_WINDOW = 50.0  # seconds after the customer's event in which a reply is free
QUOTA_CURSOR = "line:quota"  # the cursor key of an account's monthly push quota


@dataclass(frozen=True, slots=True)
class LineQuota:
    """An account's push messages this month, as LINE last reported them."""

    limit: int | None  # None: the plan has no limit
    used: int
    at: float  # when LINE said so (epoch seconds)

    @property
    def left(self) -> int | None:
        """Pushes left this month (None: no limit)."""
        return None if self.limit is None else max(0, self.limit - self.used)

    def dump(self) -> str:
        """The cursor value the store keeps."""
        return json.dumps({"limit": self.limit, "used": self.used, "at": self.at})


def parse_quota(value: str | None) -> LineQuota | None:
    """The quota a cursor value holds; None when it is absent or unreadable
    (the quota is then not known yet)."""
    if not value:
        return None
    try:
        data = json.loads(value)
        limit, used, at = data.get("limit"), data.get("used", 0), data.get("at", 0)
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            return None
        if not isinstance(used, int) or isinstance(used, bool) or used < 0:
            return None
        at = float(at)
    except (ValueError, TypeError, AttributeError):
        return None
    if not math.isfinite(at):
        return None
    return LineQuota(limit, used, at)


def reply_window_end(messages: Sequence[Message], account: str) -> float | None:
    """Until when a reply on the LINE `account` can use the customer's reply
    token: `LINE_REPLY_WINDOW` after their last message there, unless something
    was sent to them there since (which used the token). None when there is no
    token to use; `messages` are the thread's, oldest first."""
    for message in reversed(messages):
        if message.kind is not ChannelKind.LINE or message.account != account:
            continue
        if message.direction is Direction.IN:
            return message.sent_at + LINE_REPLY_WINDOW
        if message.direction is Direction.OUT:
            return None
    return None


def reply_is_free(window_end: float | None, now: float) -> bool:
    """Whether a reply sent `now` still uses the free reply token."""
    return window_end is not None and now < window_end
