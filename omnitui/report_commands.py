"""`omnitui report`: the shop's figures for a period, as text, CSV or JSON.

Text is a summary for a person (a cron job or a systemd timer can mail it),
CSV one row per channel, agent, tag or day for a spreadsheet, JSON one object
for scripts (DESIGN.md's keys). The figures are `omnitui.domain.report`'s.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from omnitui.cli import EXIT_OK, UsageError
from omnitui.domain.report import (
    BroadcastFigures,
    BroadcastTally,
    Figures,
    Group,
    Report,
    Stat,
    build_report,
    default_period,
)
from omnitui.domain.report import parse_when as _parse_when
from omnitui.i18n import tr

if TYPE_CHECKING:
    from omnitui.config import Settings
    from omnitui.domain.hours import BusinessHours
    from omnitui.store import Store

FORMATS = ("text", "csv", "json")
CSV_COLUMNS = (
    "conversations",
    "resolved",
    "unanswered",
    "messages_in",
    "messages_out",
    "automatic_out",
    "first_response_median_s",
    "first_response_p90_s",
    "resolution_median_s",
    "resolution_p90_s",
    "csat_responses",
    "csat_average",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
)
WAITING_SHOWN = 20  # customers listed in the text summary


def period(
    since: str | None, until: str | None, *, now: float, zone: tzinfo
) -> tuple[float, float]:
    """[since, until) from the command line; UsageError (exit 2) for a value
    that is no date, time or span, or a period that ends before it starts."""
    default_since, default_until = default_period(now, zone)
    start = _when("--since", since, now, zone, end=False) if since else default_since
    end = _when("--until", until, now, zone, end=True) if until else default_until
    if end <= start:
        raise UsageError(
            "the period is empty: --until ({until}) is not after --since ({since})",
            since=since or _local(start, zone),
            until=until or _local(end, zone),
        )
    return start, end


def _when(option: str, text: str, now: float, zone: tzinfo, *, end: bool) -> float:
    try:
        return _parse_when(text, now=now, zone=zone, end=end)
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            "{option} {value} is not a date (2026-12-01), a time (2026-12-01 09:00) "
            "or a span back from now (7d, 12h, today, yesterday)",
            option=option,
            value=repr(text),
        ) from None


async def read_report(
    store: Store,
    since: float,
    until: float,
    *,
    now: float,
    business: BusinessHours | None,
    calendar: bool = False,
    timezone: str = "UTC",
) -> Report:
    """The report for [since, until), read from the store."""
    conversations = await store.conversations_between(since, until)
    hours = await store.message_hours(since, until)
    waiting = await store.waiting_now()
    broadcasts = await store.broadcasts_between(since, until)
    return build_report(
        conversations,
        hours,
        waiting,
        since=since,
        until=until,
        now=now,
        business=business,
        calendar=calendar,
        timezone=timezone,
        broadcasts=broadcasts,
    )


async def cmd_report(
    settings: Settings,
    since: str | None,
    until: str | None,
    fmt: str,
    by: Group | None,
    calendar: bool,
) -> int:
    from zoneinfo import ZoneInfo

    from omnitui.config import local_timezone

    business = settings.business_hours()
    timezone = business.timezone if business is not None else local_timezone()
    zone: tzinfo = ZoneInfo(timezone)
    now = time.time()
    start, end = period(since, until, now=now, zone=zone)
    if not settings.store_exists():
        raise UsageError("no store at {path} yet: nothing to report", path=settings.store_path())
    store = await settings.open_store()
    try:
        report = await read_report(
            store, start, end, now=now, business=business, calendar=calendar, timezone=timezone
        )
    finally:
        await store.close()
    if fmt == "json":
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        sys.stdout.write(render_csv(report, by or "day"))
    else:
        sys.stdout.write(render_text(report, by))
    return EXIT_OK


# CSV ---------------------------------------------------------------------------


def render_csv(report: Report, by: Group) -> str:
    """One row per channel, agent, tag or day, with a header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((by, *CSV_COLUMNS))
    for key, figures in report.groups(by).items():
        writer.writerow((key, *_csv_values(figures)))
    return out.getvalue()


def _csv_values(f: Figures) -> list[object]:
    def cell(value: float | None) -> object:
        return "" if value is None else value

    return [
        f.conversations,
        f.resolved,
        f.unanswered,
        f.messages_in,
        f.messages_out,
        f.automatic_out,
        cell(_round(f.first_response_s.median)),
        cell(_round(f.first_response_s.p90)),
        cell(_round(f.resolution_s.median)),
        cell(_round(f.resolution_s.p90)),
        f.csat.responses,
        cell(f.csat.average),
        *(f.csat.counts[r] for r in ("1", "2", "3", "4", "5")),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# Text --------------------------------------------------------------------------


def render_text(report: Report, by: Group | None = None) -> str:
    """A summary for a person, in the console's language."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(report.timezone) if report.timezone != "UTC" else UTC
    lines = [
        tr("OmniTUI report: {since} – {until} ({timezone})").format(
            since=_local(report.since, zone),
            until=_local(report.until, zone),
            timezone=report.timezone,
        ),
        tr("Times are business hours (--calendar for wall-clock).")
        if report.business_hours
        else tr("Times are wall-clock."),
        "",
    ]
    total = report.total
    rows = [
        (
            tr("Conversations"),
            tr("{n} ({resolved} resolved, {unanswered} not answered yet)").format(
                n=total.conversations, resolved=total.resolved, unanswered=total.unanswered
            ),
        ),
        (tr("Customer messages"), str(total.messages_in)),
        (
            tr("Replies by people"),
            tr("{n} (automatic replies: {auto})").format(
                n=total.messages_out, auto=total.automatic_out
            ),
        ),
        (tr("First response"), _stat(total.first_response_s, business=report.business_hours)),
        (tr("Resolution"), _stat(total.resolution_s, business=report.business_hours)),
        (tr("Satisfaction (CSAT)"), _csat(total)),
    ]
    lines += _aligned(rows)
    sections: list[tuple[Group, str]] = [
        ("channel", tr("Per channel")),
        ("agent", tr("Per agent")),
    ]
    if by in ("tag", "day"):
        sections.append((by, tr("Per tag") if by == "tag" else tr("Per day")))
    elif len(report.days) > 1:
        sections.append(("day", tr("Per day")))
    for group, title in sections:
        figures = report.groups(group)
        if not figures:
            continue
        lines += ["", title]
        lines += list(_table(group, figures, business=report.business_hours))
    lines += ["", tr("Waiting now, longest first")]
    if not report.waiting:
        lines.append("  " + tr("nobody"))
    shown = [
        (
            w.contact,
            _duration(w.waiting_s, days=not report.business_hours),
            w.channel,
            w.assignee or tr("(unassigned)"),
            tr("({agents} writing)").format(agents=", ".join(w.composing)) if w.composing else "",
        )
        for w in report.waiting[:WAITING_SHOWN]
    ]
    if shown:
        widths = [min(24, max(_cells(row[i]) for row in shown)) for i in range(4)]
        for row in shown:
            cells = [_pad(cell, widths[i], right=i == 1) for i, cell in enumerate(row[:4])]
            lines.append(("  " + "  ".join([*cells, row[4]])).rstrip())
    if len(report.waiting) > WAITING_SHOWN:
        lines.append("  " + tr("… and {n} more").format(n=len(report.waiting) - WAITING_SHOWN))
    if report.broadcasts:
        lines += ["", tr("Broadcasts")]
        lines += _broadcasts(report.broadcasts, zone)
    return "\n".join(lines) + "\n"


def _broadcasts(broadcasts: Sequence[BroadcastFigures], zone: tzinfo) -> list[str]:
    """Per broadcast a heading, then per channel: sent, delivered, failed, unknown
    (and what still waits), then who was skipped and why."""
    from omnitui.domain.models import ChannelKind
    from omnitui.domain.safe_text import one_line
    from omnitui.widgets.format import channel_name

    header = (tr("channel"), tr("sent"), tr("delivered"), tr("failed"), tr("unknown"))
    lines: list[str] = []
    for b in broadcasts:
        heading = tr("#{number} {canned}, {when}").format(
            number=b.id, canned=one_line(b.canned, 40), when=_local(b.created_at, zone)
        )
        if b.cancelled_at is not None:
            heading += " " + tr("(cancelled)")
        elif b.total.waiting:
            heading += " " + tr("({count} still to send)").format(count=b.total.waiting)
        lines.append("  " + heading)
        rows: list[tuple[str, ...]] = [header]
        for kind, tally in b.channels.items():
            try:
                name = channel_name(ChannelKind(kind))
            except ValueError:
                name = kind or "?"
            rows.append((name, *(str(n) for n in _tally(tally))))
        if len(b.channels) > 1:
            rows.append((tr("total"), *(str(n) for n in _tally(b.total))))
        widths = [max(_cells(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            cells = [_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)]
            lines.append(("    " + "  ".join(cells)).rstrip())
        if b.skipped:
            reasons = ", ".join(f"{n} {tr(reason)}" for reason, n in b.skipped.items())
            lines.append(
                "    "
                + tr("skipped {count}: {reasons}").format(count=b.skipped_total, reasons=reasons)
            )
    return lines


def _tally(t: BroadcastTally) -> tuple[int, int, int, int]:
    return (t.sent, t.delivered, t.failed, t.unknown)


def _table(group: Group, figures: dict[str, Figures], *, business: bool) -> Iterator[str]:
    names = {"channel": tr("channel"), "agent": tr("agent"), "tag": tr("tag"), "day": tr("day")}
    header = (
        names[group],
        tr("conv."),
        tr("in"),
        tr("out"),
        tr("1st resp."),
        tr("resolution"),
        tr("CSAT"),
    )
    rows = [header]
    for key, f in figures.items():
        label = key or tr("(unassigned)")
        rows.append(
            (
                label,
                str(f.conversations),
                str(f.messages_in),
                str(f.messages_out),
                _duration(f.first_response_s.median, days=not business),
                _duration(f.resolution_s.median, days=not business),
                f"{f.csat.average:.1f}" if f.csat.average is not None else "-",
            )
        )
    widths = [max(_cells(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        cells = [_pad(row[0], widths[0])]
        cells += [_pad(cell, widths[i], right=i < 4) for i, cell in enumerate(row) if i]
        yield ("  " + "  ".join(cells)).rstrip()


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    width = max(_cells(label) for label, _ in rows)
    return [f"{_pad(label, width)}  {value}" for label, value in rows]


def _stat(stat: Stat, *, business: bool) -> str:
    if stat.median is None:
        return tr("none yet")
    return tr("median {median}, p90 {p90} ({n} conversations)").format(
        median=_duration(stat.median, days=not business),
        p90=_duration(stat.p90, days=not business),
        n=stat.count,
    )


def _csat(f: Figures) -> str:
    if not f.csat.responses:
        return tr("no answers yet")
    spread = " · ".join(f"{r}★ {f.csat.counts[r]}" for r in ("5", "4", "3", "2", "1"))
    return tr("{average:.2f} from {n} answers ({spread})").format(
        average=f.csat.average or 0.0, n=f.csat.responses, spread=spread
    )


def _duration(seconds: float | None, *, days: bool = True) -> str:
    """`45s`, `12m`, `3h 05m`, `2d 4h` (in the console's language); `-` for none.
    Without `days` (business hours: a day is not 24 of them) hours go on: `30h 00m`."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return tr("{n}s").format(n=s)
    if s < 3600:
        return tr("{n}m").format(n=s // 60)
    if s < 86_400 or not days:
        return tr("{h}h {m:02d}m").format(h=s // 3600, m=s % 3600 // 60)
    return tr("{d}d {h}h").format(d=s // 86_400, h=s % 86_400 // 3600)


def _local(at: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M")


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * max(0, width - _cells(text))
    return gap + text if right else text + gap
