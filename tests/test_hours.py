"""Business hours: `[hours]` in config.toml, the rules, the console's header."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnitui import config
from omnitui.app import OmniApp
from omnitui.cli import main
from omnitui.domain.hours import BusinessHours, business_hours, parse_closure, parse_period
from omnitui.store import Store

TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")


def tokyo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def shop(**kwargs: object) -> BusinessHours:
    days = {
        k: v for k, v in kwargs.items() if k in {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    }
    return business_hours(
        str(kwargs.get("timezone", "Asia/Tokyo")),
        days,  # type: ignore[arg-type]
        kwargs.get("holidays"),  # type: ignore[arg-type]
        kwargs.get("closed"),  # type: ignore[arg-type]
    )


def test_periods_in_a_day() -> None:
    hours = shop(mon=["10:00-13:00", "14:00-19:00"])  # 2026-12-07 is a Monday
    assert not hours.is_open(tokyo(2026, 12, 7, 9, 59))
    assert hours.is_open(tokyo(2026, 12, 7, 10, 0))
    assert not hours.is_open(tokyo(2026, 12, 7, 13, 30))
    assert hours.next_change(tokyo(2026, 12, 7, 13, 30)) == tokyo(2026, 12, 7, 14, 0)
    assert hours.next_change(tokyo(2026, 12, 7, 11, 0)) == tokyo(2026, 12, 7, 13, 0)
    assert not hours.is_open(tokyo(2026, 12, 7, 19, 0))
    assert hours.next_change(tokyo(2026, 12, 7, 19, 0)) == tokyo(2026, 12, 14, 10, 0)
    # the same instant given in another zone
    assert hours.is_open(datetime(2026, 12, 7, 1, 30, tzinfo=UTC))


def test_a_period_past_midnight_belongs_to_the_day_it_starts() -> None:
    hours = shop(mon=["22:00-02:00"], tue=["02:00-04:00"])
    assert hours.is_open(tokyo(2026, 12, 8, 1, 0))  # Tuesday 01:00
    # touching periods are one open span
    assert hours.next_change(tokyo(2026, 12, 7, 23, 0)) == tokyo(2026, 12, 8, 4, 0)
    assert not hours.is_open(tokyo(2026, 12, 8, 4, 0))
    # a closure on Tuesday leaves Monday's tail open, and closes Tuesday's own period
    closed_tuesday = shop(mon=["22:00-02:00"], tue=["02:00-04:00"], closed=["2026-12-08"])
    assert closed_tuesday.is_open(tokyo(2026, 12, 8, 1, 0))
    assert not closed_tuesday.is_open(tokyo(2026, 12, 8, 3, 0))
    # a closure on Monday closes the whole period
    closed_monday = shop(mon=["22:00-02:00"], closed=["2026-12-07"])
    assert not closed_monday.is_open(tokyo(2026, 12, 8, 1, 0))


def test_japanese_public_holidays_are_closed() -> None:
    hours = shop(mon=["10:00-19:00"], tue=["10:00-19:00"], holidays="JP")
    assert not hours.is_open(tokyo(2026, 1, 12, 12, 0))  # 成人の日
    assert hours.next_change(tokyo(2026, 1, 12, 12, 0)) == tokyo(2026, 1, 13, 10, 0)
    assert hours.is_open(tokyo(2026, 1, 19, 12, 0))


def test_closure_ranges_are_inclusive() -> None:
    every_day = {d: ["10:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    hours = shop(**every_day, closed=["2026-12-31", "2027-01-01/2027-01-03"])
    assert hours.is_open(tokyo(2026, 12, 30, 12, 0))
    for day in (31,):
        assert not hours.is_open(tokyo(2026, 12, day, 12, 0))
    for day in (1, 2, 3):
        assert not hours.is_open(tokyo(2027, 1, day, 12, 0))
    assert hours.next_change(tokyo(2026, 12, 30, 20, 0)) == tokyo(2027, 1, 4, 10, 0)


def test_daylight_saving_time() -> None:
    every_day = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    hours = shop(timezone="Europe/Berlin", **every_day)
    # 2026-03-29: clocks go forward at 02:00; opening is still 09:00 local (07:00 UTC)
    after = hours.next_change(datetime(2026, 3, 28, 18, 0, tzinfo=BERLIN))
    assert after == datetime(2026, 3, 29, 9, 0, tzinfo=BERLIN)
    assert after is not None and after.astimezone(UTC).hour == 7
    assert hours.is_open(datetime(2026, 3, 29, 7, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 28, 7, 30, tzinfo=UTC))  # 08:30 CET
    # 2026-10-25: clocks go back; 09:00 local is 08:00 UTC
    assert not hours.is_open(datetime(2026, 10, 25, 7, 30, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 10, 25, 8, 0, tzinfo=UTC))
    night = shop(timezone="Europe/Berlin", sat=["22:00-04:00"])
    assert night.next_change(datetime(2026, 3, 28, 23, 0, tzinfo=BERLIN)) == datetime(
        2026, 3, 29, 4, 0, tzinfo=BERLIN
    )


def test_never_open_has_no_next_change() -> None:
    hours = shop()
    assert not hours.is_open(tokyo(2026, 12, 7, 12, 0))
    assert hours.next_change(tokyo(2026, 12, 7, 12, 0)) is None
    always = shop(**{d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    assert always.is_open(tokyo(2026, 12, 7, 12, 0))
    assert always.next_change(tokyo(2026, 12, 7, 12, 0)) is None
    start = tokyo(2026, 12, 7, 12, 0)
    assert start + timedelta(days=1) > start


@pytest.mark.parametrize("text", ["25:00-26:00", "10:00-10:00", "10-19", "10:60-11:00", ""])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text)


def test_periods_and_closures_parse() -> None:
    assert parse_period("22:00-02:00") == (22 * 60, 2 * 60)
    assert parse_period("00:00-24:00") == (0, 24 * 60)
    assert parse_closure("2027-01-01/2027-01-03")[1].day == 3
    for bad in ("2027-13-01", "2027-01-03/2027-01-01", "tomorrow"):
        with pytest.raises(ValueError):
            parse_closure(bad)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"timezone": "Mars/Base"}, "time zone"),
        ({"holidays": "XX"}, "holiday country"),
        ({"funday": ["10:00-11:00"]}, "unknown day"),
    ],
)
def test_bad_values(kwargs: dict[str, object], words: str) -> None:
    days = {k: v for k, v in kwargs.items() if k not in {"timezone", "holidays"}}
    with pytest.raises(ValueError, match=words):
        business_hours(
            str(kwargs.get("timezone", "Asia/Tokyo")),
            days,  # type: ignore[arg-type]
            kwargs.get("holidays"),  # type: ignore[arg-type]
        )


HOURS = """\
[agent]
name = "Aiko"

[hours]
timezone = "Asia/Tokyo"
mon = ["10:00-13:00", "14:00-19:00"]
tue = ["22:00-02:00"]
wed = []
holidays = "JP"
closed = ["2026-12-31", "2027-01-01/2027-01-03"]
"""


def test_the_config_gives_business_hours_and_the_cache_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "config.toml"
    path.write_text(HOURS, encoding="utf-8")
    checked = config.load(path, cache=True)
    assert checked.hours is not None and checked.hours.mon == ["10:00-13:00", "14:00-19:00"]
    cached = config._cached(path, config._digest(HOURS))
    assert cached == checked
    hours = cached.business_hours() if cached else None
    assert hours is not None
    assert hours.is_open(tokyo(2026, 12, 7, 11, 0))
    assert not hours.is_open(tokyo(2026, 1, 12, 11, 0))  # 成人の日
    assert not hours.is_open(tokyo(2027, 1, 2, 1, 0))
    assert config.parse('[agent]\nname = "A"\n', path).business_hours() is None


@pytest.mark.parametrize(
    ("line", "key", "text"),
    [
        (6, "hours.mon", 'mon = ["25:00-26:00"]'),
        (6, "hours.mon", 'mon = ["10:00-10:00"]'),
        (6, "hours.mon", 'mon = ["10-19"]'),
        (6, "hours.funday", 'funday = ["10:00-19:00"]'),
        (5, "hours.timezone", 'timezone = "Mars/Base"'),
        (9, "hours.holidays", 'holidays = "XX"'),
        (10, "hours.closed", 'closed = ["2026-02-30"]'),
    ],
)
def test_bad_hours_name_the_file_line_and_key(
    tmp_path: Path, line: int, key: str, text: str
) -> None:
    name = text.split(" ", 1)[0]
    lines = HOURS.splitlines()
    for number, old in enumerate(lines):
        if old.startswith(f"{name} =") or (name == "funday" and old.startswith("mon =")):
            lines[number] = text
    path = tmp_path / "config.toml"
    with pytest.raises(config.ConfigError) as caught:
        config.parse("\n".join(lines) + "\n", path)
    assert (caught.value.path, caught.value.line, caught.value.key) == (path, line, key)
    assert str(caught.value).startswith(f"{path}, line {line}: {key}: ")


async def header_after(
    tmp_path: Path, language: str, moments: list[datetime], hours: BusinessHours | None
) -> list[str]:
    """The thread pane's title at 80x24 at each of `moments` (the console's clock
    moves there, and the header changes by itself when the hours do)."""
    clock = [moments[0].timestamp()]
    store = await Store.open(tmp_path / f"shop-{language}.db", clock=lambda: clock[0])
    app = OmniApp(store, agent_name="Aiko", language=language, hours=hours)
    seen: list[str] = []
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.inbox
            for moment in moments:
                clock[0] = moment.timestamp()
                if seen:  # the timer set for the change fires without help
                    await asyncio.sleep(0.8)
                await pilot.pause()
                seen.append(str(screen.thread.border_title))
    finally:
        await store.close()
    return seen


WEEKDAYS = {d: ["10:00-19:00"] for d in ("mon", "tue", "thu", "fri")}


async def test_the_console_header_shows_open_and_closed_until(tmp_path: Path) -> None:
    hours = shop(**WEEKDAYS)
    # Tuesday 2026-12-08 18:59:59.8 in Tokyo: open; then closed until Thursday (Wednesday is).
    open_at = tokyo(2026, 12, 8, 18, 59) + timedelta(seconds=59.8)
    shut_at = open_at + timedelta(seconds=0.3)
    seen = await header_after(tmp_path, "en", [open_at, shut_at], hours)
    assert seen == ["Thread · open now", "Thread · closed until Thu 10:00"]


async def test_the_console_header_in_japanese(tmp_path: Path) -> None:
    hours = shop(**WEEKDAYS)
    seen = await header_after(tmp_path, "ja", [tokyo(2026, 12, 8, 20, 0)], hours)
    assert seen == ["会話 · 木 10:00 まで休業"]
    seen = await header_after(tmp_path, "ja", [tokyo(2026, 12, 8, 12, 0)], hours)
    assert seen == ["会話 · 営業中"]


async def test_no_hours_no_header(tmp_path: Path) -> None:
    seen = await header_after(tmp_path, "en", [tokyo(2026, 12, 8, 20, 0)], None)
    assert seen == ["Thread"]


def test_doctor_mentions_the_hours(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hours = shop(**WEEKDAYS)
    assert hours.summary(tokyo(2026, 12, 8, 12, 0)) == (
        "open now (Asia/Tokyo), closes Tue 2026-12-08 19:00"
    )
    assert hours.summary(tokyo(2026, 12, 8, 20, 0)) == (
        "closed now (Asia/Tokyo), opens Thu 2026-12-10 10:00"
    )
    assert shop().summary(tokyo(2026, 12, 8, 20, 0)).endswith("no change within a year")
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "s.db"}"\n\n' + HOURS.split("\n\n", 1)[1])
    assert main(["--config", str(path), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok    hours    " in out and "(Asia/Tokyo), " in out
