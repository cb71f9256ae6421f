"""A shop's figures for a period: `omnitui report` and the reports screen.

Pure: the caller reads the store (conversations, messages per hour, who waits
now) and passes the records, the period, the clock's `now` and the shop's
business hours; `build_report` computes everything from them.

Definitions (the README says the same to shop owners):

- A conversation runs from a customer's message on a new or resolved thread
  until it is resolved. It counts in the period it started in, and belongs to
  its assignee, else to the person who answered first.
- First response: from the customer's first message of a conversation to a
  person's first reply (automatic replies and CSAT questions do not count),
  for the conversations started in the period and answered.
- Resolution: from the customer's first message to resolved, for the
  conversations resolved in the period.
- Both are measured in business seconds (the shop's open time in between)
  when business hours are given, else in wall-clock seconds.
- Median: the middle value (the mean of the two middle values for an even
  count). p90: the nearest rank, the smallest value with at least 90% of the
  values at or below it.
- Days are the shop's days (its time zone; the machine's without business hours).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from omnitui.domain.hours import BusinessHours, OpenTime

GROUPS = ("channel", "agent", "tag", "day")
Group = Literal["channel", "agent", "tag", "day"]
RATINGS = ("1", "2", "3", "4", "5")
DAY_SECONDS = 86_400.0

_SPAN = re.compile(r"^(\d+)\s*([mhdw])$")
_SPAN_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


class ConversationLike(Protocol):
    """A conversation as the store keeps it (`ConversationRecord`)."""

    @property
    def kind(self) -> str: ...
    @property
    def started_at(self) -> float: ...
    @property
    def first_response_at(self) -> float | None: ...
    @property
    def first_response_by(self) -> str | None: ...
    @property
    def resolved_at(self) -> float | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def messages_in(self) -> int: ...
    @property
    def messages_out(self) -> int: ...
    @property
    def automatic_out(self) -> int: ...
    @property
    def csat_rating(self) -> int | None: ...
    @property
    def csat_at(self) -> float | None: ...
    @property
    def tags(self) -> Sequence[str]: ...


class HourLike(Protocol):
    """Messages in one UTC epoch hour (`HourCount`)."""

    @property
    def hour(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def direction(self) -> str: ...  # in | out | auto
    @property
    def agent(self) -> str: ...
    @property
    def count(self) -> int: ...


class WaitingLike(Protocol):
    """A customer waiting now (`WaitingCustomer`)."""

    @property
    def contact_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def since(self) -> float: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def composing(self) -> Sequence[str]: ...


class BroadcastLike(Protocol):
    """A broadcast and where it stands (`BroadcastProgress`)."""

    @property
    def id(self) -> int: ...
    @property
    def canned(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def send_at(self) -> float: ...
    @property
    def cancelled_at(self) -> float | None: ...
    @property
    def counts(self) -> Mapping[tuple[str, str], int]: ...  # (kind, state) -> messages
    @property
    def skipped(self) -> Mapping[str, int]: ...  # reason -> customers


@dataclass(frozen=True, slots=True)
class Stat:
    """Median and p90 of some durations (None when there are none), in seconds."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, values: Iterable[float]) -> Stat:
        ordered = sorted(values)
        n = len(ordered)
        if not n:
            return cls()
        middle = n // 2
        median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        p90 = ordered[max(0, math.ceil(0.9 * n) - 1)]
        return cls(n, median, p90)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"median": _seconds(self.median), "p90": _seconds(self.p90), "count": self.count}


@dataclass(frozen=True, slots=True)
class Csat:
    """Satisfaction answers: how many, their average, how many of each rating."""

    responses: int = 0
    average: float | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))

    @classmethod
    def of(cls, ratings: Iterable[int]) -> Csat:
        counts = dict.fromkeys(RATINGS, 0)
        kept = [r for r in ratings if str(r) in counts]
        for rating in kept:
            counts[str(rating)] += 1
        average = round(sum(kept) / len(kept), 2) if kept else None
        return cls(len(kept), average, counts)

    def as_dict(self) -> dict[str, object]:
        return {"responses": self.responses, "average": self.average, "counts": dict(self.counts)}


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of the whole shop, or of one channel, agent, tag or day."""

    conversations: int = 0
    resolved: int = 0
    unanswered: int = 0  # started in the period, no person's reply yet
    messages_in: int = 0
    messages_out: int = 0  # by people
    automatic_out: int = 0  # by rules
    first_response_s: Stat = Stat()
    resolution_s: Stat = Stat()
    csat: Csat = field(default_factory=Csat)

    def as_dict(self) -> dict[str, object]:
        return {
            "conversations": self.conversations,
            "resolved": self.resolved,
            "unanswered": self.unanswered,
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "automatic_out": self.automatic_out,
            "first_response_s": self.first_response_s.as_dict(),
            "resolution_s": self.resolution_s.as_dict(),
            "csat": self.csat.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Waiting:
    """A customer waiting for a person's answer now."""

    contact_id: int
    contact: str  # their name
    since: float
    waiting_s: float  # business seconds when business hours count
    assignee: str | None
    channel: str
    composing: tuple[str, ...]

    def as_dict(self, zone: tzinfo) -> dict[str, object]:
        return {
            "contact": self.contact,
            "contact_id": self.contact_id,
            "waiting_s": _seconds(self.waiting_s),
            "since": _iso(self.since, zone),
            "assignee": self.assignee,
            "channel": self.channel,
            "composing": list(self.composing),
        }


BROADCAST_STATES = ("sent", "delivered", "failed", "unknown", "waiting")


@dataclass(frozen=True, slots=True)
class BroadcastTally:
    """A broadcast's messages by outcome: sent (the provider took it), delivered
    (the provider says it arrived), failed, unknown (interrupted mid-send: it may
    or may not have gone) and waiting (queued or being sent now)."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    unknown: int = 0
    waiting: int = 0

    def add(self, state: str, n: int) -> BroadcastTally:
        name = "waiting" if state in ("queued", "sending") else state
        if name not in BROADCAST_STATES:
            return self
        values = {k: getattr(self, k) for k in BROADCAST_STATES}
        values[name] += n
        return BroadcastTally(**values)

    @property
    def messages(self) -> int:
        return sum(getattr(self, k) for k in BROADCAST_STATES)

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in BROADCAST_STATES}


@dataclass(frozen=True, slots=True)
class BroadcastFigures:
    """One broadcast's results: messages per channel kind, and who was skipped
    and why (a skipped customer has no channel: none could reach them, or the
    broadcast was cancelled before their turn)."""

    id: int
    canned: str
    created_at: float
    send_at: float
    cancelled_at: float | None
    channels: dict[str, BroadcastTally]
    total: BroadcastTally
    skipped: dict[str, int]  # reason (English) -> customers

    @classmethod
    def of(cls, b: BroadcastLike) -> BroadcastFigures:
        channels: dict[str, BroadcastTally] = {}
        total = BroadcastTally()
        for (kind, state), n in sorted(b.counts.items()):
            channels[kind] = channels.get(kind, BroadcastTally()).add(state, n)
            total = total.add(state, n)
        return cls(
            id=b.id,
            canned=b.canned,
            created_at=b.created_at,
            send_at=b.send_at,
            cancelled_at=b.cancelled_at,
            channels=channels,
            total=total,
            skipped=dict(sorted(b.skipped.items(), key=lambda kv: (-kv[1], kv[0]))),
        )

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self, zone: tzinfo) -> dict[str, object]:
        return {
            "id": self.id,
            "canned": self.canned,
            "created_at": _iso(self.created_at, zone),
            "send_at": _iso(self.send_at, zone),
            "cancelled_at": None if self.cancelled_at is None else _iso(self.cancelled_at, zone),
            "channels": {k: v.as_dict() for k, v in self.channels.items()},
            "totals": {**self.total.as_dict(), "skipped": self.skipped_total},
            "skipped": dict(self.skipped),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """A shop's figures for [since, until)."""

    since: float
    until: float
    timezone: str
    business_hours: bool  # times are business seconds
    total: Figures
    channels: dict[str, Figures]
    agents: dict[str, Figures]  # "" is nobody's: unassigned and unanswered
    tags: dict[str, Figures]
    days: dict[str, Figures]  # every day of the period, "YYYY-MM-DD", in order
    waiting: list[Waiting]  # longest first
    volume: dict[str, dict[str, int]]  # day -> channel -> customer messages
    heatmap: list[list[int]]  # weekday (Monday first) x hour: customer messages
    broadcasts: tuple[BroadcastFigures, ...] = ()  # created in the period, oldest first

    def groups(self, by: Group) -> dict[str, Figures]:
        """The figures per channel, agent, tag or day."""
        return {"channel": self.channels, "agent": self.agents, "tag": self.tags, "day": self.days}[
            by
        ]

    def as_dict(self) -> dict[str, object]:
        """The JSON object of `omnitui report --format json` (the contract's keys)."""
        zone = ZoneInfo(self.timezone)
        return {
            "since": _iso(self.since, zone),
            "until": _iso(self.until, zone),
            "timezone": self.timezone,
            "business_hours": self.business_hours,
            **self.total.as_dict(),
            "channels": {k: v.as_dict() for k, v in self.channels.items()},
            "agents": {k: v.as_dict() for k, v in self.agents.items()},
            "tags": {k: v.as_dict() for k, v in self.tags.items()},
            "days": {k: v.as_dict() for k, v in self.days.items()},
            "waiting": [w.as_dict(zone) for w in self.waiting],
            "volume": self.volume,
            "heatmap": self.heatmap,
            "broadcasts": [b.as_dict(zone) for b in self.broadcasts],
        }


def build_report(
    conversations: Sequence[ConversationLike],
    hours: Sequence[HourLike],
    waiting: Sequence[WaitingLike],
    *,
    since: float,
    until: float,
    now: float,
    business: BusinessHours | None = None,
    calendar: bool = False,
    timezone: str = "UTC",
    broadcasts: Sequence[BroadcastLike] = (),
) -> Report:
    """The report for [since, until) from the store's records.

    `business` gives the shop's time zone for days (else `timezone`, an IANA
    name: the machine's) and, unless `calendar`, measures times in business
    seconds. Messages in and out come from the
    hourly counts (per agent: out is their own replies), except per tag, where
    they are the messages of the conversations started in the period, and
    messages in per agent, those of their conversations. `broadcasts` are
    kept when they were created in the period.
    """
    if business is not None:
        timezone = business.timezone
    zone: tzinfo = ZoneInfo(timezone) if timezone != "UTC" else UTC
    measure = _Measure(business if not calendar else None, conversations, waiting, since, now)

    days_by_quarter: dict[int, str] = {}

    def day_of(at: float) -> str:
        # Every time zone's midnight falls on a quarter hour (UTC): one
        # conversion per quarter hour, however many conversations.
        quarter = int(at // 900)
        day = days_by_quarter.get(quarter)
        if day is None:
            day = datetime.fromtimestamp(quarter * 900, zone).date().isoformat()
            days_by_quarter[quarter] = day
        return day

    groups: dict[str, defaultdict[str, _Builder]] = {g: defaultdict(_Builder) for g in GROUPS}
    by_channel, by_agent, by_tag, by_day = (groups[g] for g in GROUPS)
    total = _Builder()
    for day in _days(since, until, zone):
        by_day[day] = _Builder()  # every day has its row, an empty day too

    def targets(c: ConversationLike, at: float) -> list[_Builder]:
        found = [total, by_channel[c.kind], by_agent[owner(c)], by_day[day_of(at)]]
        found.extend(by_tag[tag] for tag in c.tags)
        return found

    for c in conversations:
        if since <= c.started_at < until:
            first = measure.first_response(c)
            for builder in targets(c, c.started_at):
                builder.start(first)
            by_agent[owner(c)].count_conversation(c, out=False)
            for tag in c.tags:
                by_tag[tag].count_conversation(c, out=True)
        if c.resolved_at is not None and since <= c.resolved_at < until:
            took = measure.between(c.started_at, c.resolved_at)
            for builder in targets(c, c.resolved_at):
                builder.resolutions.append(took)
        if c.csat_rating is not None and c.csat_at is not None and since <= c.csat_at < until:
            for builder in targets(c, c.csat_at):
                builder.ratings.append(c.csat_rating)

    volume: dict[str, dict[str, int]] = {day: {} for day in by_day}
    heatmap = [[0] * 24 for _ in range(7)]
    local_hours: dict[int, tuple[str, int, int]] = {}  # day, weekday, hour
    for h in hours:
        at = h.hour * 3600.0
        if not (at + 3600 > since and at < until):
            continue
        local = local_hours.get(h.hour)
        if local is None:
            moment = datetime.fromtimestamp(max(at, since), zone)
            local = moment.date().isoformat(), moment.weekday(), moment.hour
            local_hours[h.hour] = local
        day, weekday, hour = local
        for target in (total, by_channel[h.kind], by_day[day]):
            target.count(h.direction, h.count)
        if h.direction == "out":
            by_agent[h.agent].messages_out += h.count
        if h.direction == "in":
            per_day = volume.setdefault(day, {})
            per_day[h.kind] = per_day.get(h.kind, 0) + h.count
            heatmap[weekday][hour] += h.count

    return Report(
        since=since,
        until=until,
        timezone=timezone,
        business_hours=measure.business,
        total=total.figures(),
        channels=_figures(by_channel),
        agents=_figures(by_agent),
        tags=_figures(by_tag),
        days={day: b.figures() for day, b in sorted(by_day.items())},
        waiting=[measure.waiting(w) for w in waiting],
        volume=dict(sorted(volume.items())),
        heatmap=heatmap,
        broadcasts=tuple(
            BroadcastFigures.of(b)
            for b in sorted(broadcasts, key=lambda b: (b.created_at, b.id))
            if since <= b.created_at < until
        ),
    )


@dataclass(slots=True)
class _Builder:
    conversations: int = 0
    unanswered: int = 0
    messages_in: int = 0
    messages_out: int = 0
    automatic_out: int = 0
    first: list[float] = field(default_factory=list)
    resolutions: list[float] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)

    def start(self, first: float | None) -> None:
        self.conversations += 1
        if first is None:
            self.unanswered += 1
        else:
            self.first.append(first)

    def count_conversation(self, c: ConversationLike, *, out: bool) -> None:
        self.messages_in += c.messages_in
        self.automatic_out += c.automatic_out
        if out:
            self.messages_out += c.messages_out

    def count(self, direction: str, n: int) -> None:
        if direction == "in":
            self.messages_in += n
        elif direction == "out":
            self.messages_out += n
        elif direction == "auto":
            self.automatic_out += n

    def figures(self) -> Figures:
        return Figures(
            conversations=self.conversations,
            resolved=len(self.resolutions),
            unanswered=self.unanswered,
            messages_in=self.messages_in,
            messages_out=self.messages_out,
            automatic_out=self.automatic_out,
            first_response_s=Stat.of(self.first),
            resolution_s=Stat.of(self.resolutions),
            csat=Csat.of(self.ratings),
        )


def _figures(builders: dict[str, _Builder]) -> dict[str, Figures]:
    """Figures per group, the busiest first (then by name)."""
    ordered = sorted(
        builders.items(), key=lambda kv: (-kv[1].conversations, -kv[1].messages_in, kv[0])
    )
    return {key: b.figures() for key, b in ordered}


class _Measure:
    """Durations in business seconds (one table of open spans for the whole
    report) or in wall-clock seconds."""

    def __init__(
        self,
        business: BusinessHours | None,
        conversations: Sequence[ConversationLike],
        waiting: Sequence[WaitingLike],
        since: float,
        now: float,
    ) -> None:
        self.business = business is not None
        self._now = now
        self._open: OpenTime | None = None
        if business is not None:
            instants = [since, now]
            for c in conversations:
                instants.append(c.started_at)
                instants.extend(t for t in (c.first_response_at, c.resolved_at) if t is not None)
            instants.extend(w.since for w in waiting)
            self._open = business.open_time(min(instants), max(instants))

    def between(self, start: float, end: float) -> float:
        if end <= start:
            return 0.0
        if self._open is None:
            return end - start
        return self._open.seconds(start, end)

    def first_response(self, c: ConversationLike) -> float | None:
        if c.first_response_at is None:
            return None
        return self.between(c.started_at, c.first_response_at)

    def waiting(self, w: WaitingLike) -> Waiting:
        return Waiting(
            contact_id=w.contact_id,
            contact=w.name,
            since=w.since,
            waiting_s=self.between(w.since, self._now),
            assignee=w.assignee,
            channel=w.kind,
            composing=tuple(w.composing),
        )


def owner(c: ConversationLike) -> str:
    """Whose a conversation is: its assignee's, else the first to answer ("": nobody's)."""
    return c.assignee or c.first_response_by or ""


def _days(since: float, until: float, zone: tzinfo) -> list[str]:
    """Every day of [since, until) in `zone`, as "YYYY-MM-DD"."""
    first = datetime.fromtimestamp(since, zone).date()
    last = datetime.fromtimestamp(max(since, until - 1e-6), zone).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _iso(at: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(at, zone).isoformat(timespec="seconds")


# Periods on the command line -------------------------------------------------


def parse_when(text: str, *, now: float, zone: tzinfo, end: bool = False) -> float:
    """An instant from `--since` / `--until` (epoch seconds); ValueError when
    `text` is none of these:

    - a date, `2026-12-01`: its beginning, or with `end` its end (the next
      midnight), so `--since 2026-12-01 --until 2026-12-07` is a whole week;
    - `today`, `yesterday`: the same for those days;
    - a date and time, `2026-12-01 09:00` or ISO 8601 with an offset: that
      instant (in the shop's time zone without an offset);
    - a span back from now, `30m`, `12h`, `7d`, `2w`; or `now`.
    """
    word = text.strip().lower()
    local_today = datetime.fromtimestamp(now, zone).date()
    day: date | None = None
    if word == "now":
        return now
    if word == "today":
        day = local_today
    elif word == "yesterday":
        day = local_today - timedelta(days=1)
    elif match := _SPAN.match(word):
        return now - int(match.group(1)) * _SPAN_SECONDS[match.group(2)]
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        day = date.fromisoformat(word)
    if day is not None:
        if end:
            day += timedelta(days=1)
        return _midnight(day, zone)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def default_period(now: float, zone: tzinfo) -> tuple[float, float]:
    """The last 7 days: from the beginning of the day 6 days ago until now."""
    today = datetime.fromtimestamp(now, zone).date()
    return _midnight(today - timedelta(days=6), zone), now


def _midnight(day: date, zone: tzinfo) -> float:
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()
