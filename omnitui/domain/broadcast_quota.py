"""Whether a broadcast's LINE pushes fit in what is left of the month's quota.

LINE counts every push against the account's monthly quota; a broadcast that
needs more than is left would stop halfway. The command line and the console
both check before a broadcast is written, each saying it in its own words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from omnitui.domain.broadcast import BroadcastPlan
from omnitui.domain.line import QUOTA_CURSOR, parse_quota
from omnitui.domain.models import ChannelKind


@dataclass(frozen=True, slots=True)
class QuotaShort:
    """A LINE account the broadcast needs more pushes of than are left this month."""

    account: str
    count: int  # the pushes the broadcast needs
    left: int  # what LINE last said is left


def line_pushes(plan: BroadcastPlan) -> dict[str, int]:
    """How many LINE pushes the plan needs, by account."""
    needed: dict[str, int] = {}
    for m in plan.messages:
        if m.channel.kind is ChannelKind.LINE:
            needed[m.channel.account] = needed.get(m.channel.account, 0) + 1
    return needed


async def over_line_quota(
    plan: BroadcastPlan, load_cursor: Callable[[str, str], Awaitable[str | None]]
) -> QuotaShort | None:
    """The first LINE account whose quota the plan exceeds; None when all fit or the
    quota is not known yet. `load_cursor` is the store's (account, key) -> value."""
    for account, count in line_pushes(plan).items():
        quota = parse_quota(await load_cursor(account, QUOTA_CURSOR))
        left = None if quota is None else quota.left
        if left is not None and count > left:
            return QuotaShort(account, count, left)
    return None
