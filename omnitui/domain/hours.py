"""A shop's business hours: when it is open, and when that next changes.

`[hours]` in config.toml gives a time zone, each weekday's periods
("10:00-13:00"; "22:00-02:00" runs past midnight), optionally a country whose
public holidays are closed, and one-off closures. Automation asks `is_open`
("we are closed" replies) and the console shows "open" or "closed until …".

A period belongs to the day it starts on: Monday's "22:00-02:00" is open on
Tuesday at 01:00 even when Tuesday is a holiday or a closure, and is closed
entirely when Monday is. Times are the shop's wall-clock times; a period whose
start or end falls in a daylight-saving gap starts or ends at the same instant
as the hour before the change would have.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 366  # next_change looks this far ahead

_PERIOD = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")

Period = tuple[int, int]  # minutes after midnight: start, end (end <= start: past midnight)


def parse_period(text: str) -> Period:
    """`"HH:MM-HH:MM"` as minutes after midnight; ValueError says what is wrong."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise ValueError(f'period {text!r} is not "HH:MM-HH:MM"')
    sh, sm, eh, em = (int(g) for g in match.groups())
    if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em):
        raise ValueError(f"period {text!r} has a time that does not exist")
    start, end = sh * 60 + sm, eh * 60 + em
    if end == 24 * 60:
        end = 0 if start else 24 * 60
    if start == end:
        raise ValueError(f"period {text!r} starts when it ends")
    return start, end


def parse_closure(text: str) -> tuple[date, date]:
    """`"YYYY-MM-DD"` or an inclusive range `"YYYY-MM-DD/YYYY-MM-DD"`."""
    first, _, last = text.partition("/")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
    except ValueError:
        raise ValueError(
            f'closure {text!r} is not "YYYY-MM-DD" or "YYYY-MM-DD/YYYY-MM-DD"'
        ) from None
    if end < start:
        raise ValueError(f"closure {text!r} ends before it starts")
    return start, end


def _no_holiday(_day: date) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When a shop is open (see the module's docstring for the rules)."""

    timezone: str
    week: tuple[tuple[Period, ...], ...]  # Monday first, seven entries
    closures: tuple[tuple[date, date], ...] = ()
    is_holiday: Callable[[date], bool] = field(default=_no_holiday, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def closed_day(self, day: date) -> bool:
        """Whether `day` is a holiday or a closure (its periods do not open)."""
        return any(a <= day <= b for a, b in self.closures) or self.is_holiday(day)

    def is_open(self, at: datetime) -> bool:
        """Whether the shop is open at `at` (an aware datetime)."""
        now = at.astimezone(UTC)
        for start, _end in self._open_spans(now):
            return start <= now
        return False

    def next_change(self, at: datetime) -> datetime | None:
        """When the shop next opens or closes after `at` (in the shop's time
        zone), or None when that is not within a year."""
        now = at.astimezone(UTC)
        for start, end in self._open_spans(now):
            change = end if start <= now else start
            if change - now > timedelta(days=HORIZON_DAYS):
                return None
            return change.astimezone(self.zone)
        return None

    def summary(self, at: datetime) -> str:
        """A line for `omnitui doctor`: open or closed now, and the next change."""
        state = "open now" if self.is_open(at) else "closed now"
        change = self.next_change(at)
        if change is None:
            return f"{state} ({self.timezone}), no change within a year"
        verb = "closes" if self.is_open(at) else "opens"
        day = DAYS[change.weekday()].title()  # not %a: that follows the machine's locale
        return f"{state} ({self.timezone}), {verb} {day} {change:%Y-%m-%d %H:%M}"

    def _open_spans(self, now: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open spans (UTC, touching periods joined) that end after `now`."""
        zone = self.zone
        first = now.astimezone(zone).date() - timedelta(days=1)
        current: tuple[datetime, datetime] | None = None
        for offset in range(HORIZON_DAYS + 2):
            day = first + timedelta(days=offset)
            if self.closed_day(day):
                continue
            for start, end in self._day_periods(day, zone):
                if current is not None and start <= current[1]:
                    current = (current[0], max(current[1], end))
                    continue
                if current is not None and current[1] > now:
                    yield current
                    return
                current = (start, end)
        if current is not None and current[1] > now:
            yield current

    def _day_periods(self, day: date, zone: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
        """The periods that start on `day` (an open day), as UTC instants, in order."""
        for start_min, end_min in sorted(self.week[day.weekday()]):
            start = _instant(day, start_min, zone)
            end_day = day if end_min > start_min else day + timedelta(days=1)
            end = _instant(end_day, end_min % (24 * 60), zone)
            if end_min == 24 * 60:
                end = _instant(day + timedelta(days=1), 0, zone)
            yield start, end

    def open_time(self, start: float, end: float) -> OpenTime:
        """The open spans between two instants (epoch seconds), to measure many
        intervals inside them quickly (see `OpenTime.seconds`)."""
        zone = self.zone
        first = datetime.fromtimestamp(min(start, end), zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(max(start, end), zone).date() + timedelta(days=1)
        spans: list[tuple[float, float]] = []
        day = first
        while day <= last:
            if not self.closed_day(day):
                for a, b in self._day_periods(day, zone):
                    lo, hi = a.timestamp(), b.timestamp()
                    if spans and lo <= spans[-1][1]:
                        spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
                    elif hi > lo:
                        spans.append((lo, hi))
            day += timedelta(days=1)
        return OpenTime(tuple(spans))

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """How long the shop is open between two aware instants (0 when `end`
        is not after `start`): holidays, closures and periods past midnight
        respected."""
        a, b = start.timestamp(), end.timestamp()
        if b <= a:
            return 0.0
        return self.open_time(a, b).seconds(a, b)


@dataclass(frozen=True, slots=True)
class OpenTime:
    """A shop's open spans over a stretch of time (UTC epoch seconds, joined,
    in order), with the open seconds before each, to measure intervals in
    logarithmic time. Instants outside the stretch count as closed."""

    spans: tuple[tuple[float, float], ...]
    _before: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        before: list[float] = []
        total = 0.0
        for start, end in self.spans:
            before.append(total)
            total += end - start
        object.__setattr__(self, "_before", tuple(before))
        object.__setattr__(self, "_starts", tuple(s for s, _ in self.spans))

    def open_until(self, at: float) -> float:
        """Open seconds from the stretch's beginning until `at`."""
        index = bisect_right(self._starts, at) - 1
        if index < 0:
            return 0.0
        start, end = self.spans[index]
        return self._before[index] + min(at, end) - start

    def seconds(self, start: float, end: float) -> float:
        """Open seconds between `start` and `end` (0 when `end` is not after `start`)."""
        if end <= start:
            return 0.0
        return self.open_until(end) - self.open_until(start)


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def country_holidays(country: str) -> Callable[[date], bool]:
    """Whether a day is a public holiday in `country` (ISO code, "JP");
    ValueError for a country the `holidays` package does not know."""
    import holidays  # here: only a shop with `holidays = "…"` pays for it

    try:
        calendar = holidays.country_holidays(country)
    except NotImplementedError:
        raise ValueError(f"unknown holiday country {country!r}") from None

    def is_holiday(day: date) -> bool:
        return day in calendar

    return is_holiday


def business_hours(
    timezone: str,
    days: dict[str, list[str]],
    holidays: str | None = None,
    closed: list[str] | None = None,
) -> BusinessHours:
    """Business hours from `[hours]`'s values; ValueError says what is wrong."""
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    unknown = set(days) - set(DAYS)
    if unknown:
        raise ValueError(f"unknown day {sorted(unknown)[0]!r}")
    week = tuple(tuple(parse_period(p) for p in days.get(d, [])) for d in DAYS)
    closures = tuple(parse_closure(c) for c in closed or [])
    is_holiday = country_holidays(holidays) if holidays else _no_holiday
    return BusinessHours(timezone, week, closures, is_holiday)
