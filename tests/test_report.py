"""`omnitui report`: a scripted day of a flower shop in Tokyo, counted by hand.

The shop is open weekdays 09:00-18:00 (Asia/Tokyo). On Thursday 2026-01-15:

- 09:00 Hanako (email) writes, writes again at 09:05; Ken answers 09:10;
  resolved 10:00.                  first 600 s (600 wall-clock), resolved 3600 (3600)
- 07:00 Taro (Telegram) writes before opening; a rule answers at once
  (not a first response); Aiko answers 09:30; resolved 12:00.
                                   first 1800 (9000), resolved 10800 (18000)
- 17:30 Yuki (email) writes; Ken answers Friday 09:15; resolved Friday 10:00.
                                   first 2700 (56700), resolved 5400 (59400)
- 12:00 Jiro (Telegram) writes; Aiko answers 12:05; still open.
                                   first 300 (300)
- 20:00 Mei (email) writes; nobody has answered: she is waiting.

First response, business seconds: 300, 600, 1800, 2700: median 1200, p90 2700.
Wall-clock: 300, 600, 9000, 56700: median 4800, p90 56700.
Resolution, business: 3600, 5400, 10800: median 5400, p90 10800.
Wall-clock: 3600, 18000, 59400: median 18000, p90 59400.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnitui.domain.hours import BusinessHours, business_hours
from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
from omnitui.domain.report import build_report, parse_when
from omnitui.store.records import (
    AutomationPlan,
    ConversationRecord,
    PlannedFiring,
    PlannedReply,
)
from tests.conftest import StoreOpener

pytestmark = pytest.mark.backends

TOKYO = ZoneInfo("Asia/Tokyo")
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
WEEKDAYS = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
HOURS_TOML = (
    '[hours]\ntimezone = "Asia/Tokyo"\n'
    + "".join(f'{d} = ["09:00-18:00"]\n' for d in WEEKDAYS)
    + "\n"
)
THURSDAY = date(2026, 1, 15)
SINCE = datetime(2026, 1, 15, tzinfo=TOKYO).timestamp()
UNTIL = datetime(2026, 1, 17, tzinfo=TOKYO).timestamp()  # Thursday and Friday
NOW = datetime(2026, 1, 16, 11, 0, tzinfo=TOKYO).timestamp()  # Friday 11:00


def at(hour: int, minute: int = 0, day: int = 15) -> float:
    return datetime(2026, 1, day, hour, minute, tzinfo=TOKYO).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = at(6)

    def __call__(self) -> float:
        return self.now


def shop_hours() -> BusinessHours:
    return business_hours("Asia/Tokyo", dict(WEEKDAYS))


async def scripted_day(open_store: StoreOpener, name: str) -> dict[str, int]:
    """The day in the module's docstring, through the store's own API, in store
    `name`; the customers' contact ids by name."""
    clock = Clock()
    store = await open_store(name, clock=clock)
    ids: dict[str, int] = {}
    n = 0

    async def writes(name: str, channel: Channel, address: str, when: float) -> int:
        nonlocal n
        n += 1
        clock.now = when
        inbound = Inbound(channel, f"p{n}", address, name, f"question {n}", when)
        contact_id = (await store.ingest([inbound]))[0].contact_id
        ids[name] = contact_id
        return contact_id

    async def answers(name: str, channel: Channel, agent: str, when: float) -> None:
        clock.now = when
        await store.enqueue_reply(ids[name], channel, f"answer from {agent}", author=agent)

    async def resolves(name: str, when: float) -> None:
        clock.now = when
        await store.set_status(ids[name], ThreadStatus.RESOLVED)

    try:
        taro = await writes("Taro", BOT, "7001", at(7))
        clock.now = at(7) + 5
        await store.apply_automation(
            AutomationPlan(
                event="message",
                contact_id=taro,
                firings=(PlannedFiring("After hours", {"reply": "closed"}, reply=0),),
                replies=(PlannedReply("After hours", BOT, "We open at 9:00", ""),),
            )
        )
        await store.update_contact(taro, tags=["order"])
        hanako = await writes("Hanako", MAIL, "hanako@example.jp", at(9))
        await store.update_contact(hanako, tags=["order", "vip"])
        await writes("Hanako", MAIL, "hanako@example.jp", at(9, 5))
        await answers("Hanako", MAIL, "Ken", at(9, 10))
        await answers("Taro", BOT, "Aiko", at(9, 30))
        await resolves("Hanako", at(10))
        await writes("Jiro", BOT, "7002", at(12))
        await resolves("Taro", at(12))
        await answers("Jiro", BOT, "Aiko", at(12, 5))
        await writes("Yuki", MAIL, "yuki@example.jp", at(17, 30))
        await writes("Mei", MAIL, "mei@example.jp", at(20))
        await answers("Yuki", MAIL, "Ken", at(9, 15, day=16))
        await resolves("Yuki", at(10, day=16))
    finally:
        await store.close()
    return ids


Shop = tuple[StoreOpener, dict[str, int]]


@pytest.fixture
async def shop(open_store: StoreOpener) -> Shop:
    return open_store, await scripted_day(open_store, "shop.db")


async def read(open_store: StoreOpener, *, calendar: bool) -> dict[str, object]:
    store = await open_store("shop.db", clock=lambda: NOW)
    try:
        report = build_report(
            await store.conversations_between(SINCE, UNTIL),
            await store.message_hours(SINCE, UNTIL),
            await store.waiting_now(),
            since=SINCE,
            until=UNTIL,
            now=NOW,
            business=shop_hours(),
            calendar=calendar,
        )
    finally:
        await store.close()
    return report.as_dict()


def times(figures: object) -> tuple[object, object, object, object]:
    assert isinstance(figures, dict)
    first, resolution = figures["first_response_s"], figures["resolution_s"]
    return first["median"], first["p90"], resolution["median"], resolution["p90"]


async def test_first_response_and_resolution_in_business_hours(
    shop: Shop,
) -> None:
    opener, ids = shop
    report = await read(opener, calendar=False)
    assert report["business_hours"] is True
    assert times(report) == (1200, 2700, 5400, 10800)
    assert report["conversations"] == 5
    assert (report["messages_in"], report["messages_out"], report["automatic_out"]) == (6, 4, 1)
    channels = report["channels"]
    assert isinstance(channels, dict)
    assert list(channels) == ["email", "telegram"]
    assert channels["email"]["conversations"] == 3
    assert times(channels["email"]) == (1650, 2700, 4500, 5400)  # Hanako, Yuki
    assert times(channels["telegram"]) == (1050, 1800, 10800, 10800)  # Taro, Jiro
    agents = report["agents"]
    assert isinstance(agents, dict)
    assert times(agents["Ken"]) == (1650, 2700, 4500, 5400)
    assert (agents["Aiko"]["conversations"], agents["Aiko"]["messages_out"]) == (2, 2)
    assert agents[""]["conversations"] == 1  # Mei: nobody's yet
    tags = report["tags"]
    assert isinstance(tags, dict)
    assert tags["order"]["conversations"] == 2 and tags["vip"]["conversations"] == 1
    assert times(tags["vip"]) == (600, 600, 3600, 3600)
    days = report["days"]
    assert isinstance(days, dict)
    assert list(days) == ["2026-01-15", "2026-01-16"]
    assert days["2026-01-15"]["conversations"] == 5
    assert days["2026-01-16"]["resolution_s"]["median"] == 5400  # Yuki, resolved Friday
    assert days["2026-01-16"]["messages_out"] == 1
    # Mei wrote at 20:00 Thursday: closed until Friday 09:00, then two open hours.
    waiting = report["waiting"]
    assert isinstance(waiting, list)
    assert [(w["contact"], w["contact_id"], w["waiting_s"]) for w in waiting] == [
        ("Mei", ids["Mei"], 7200)
    ]


async def test_first_response_and_resolution_on_the_calendar(
    shop: Shop,
) -> None:
    opener, _ = shop
    report = await read(opener, calendar=True)
    assert report["business_hours"] is False
    assert times(report) == (4800, 56700, 18000, 59400)
    waiting = report["waiting"]
    assert isinstance(waiting, list)
    assert waiting[0]["waiting_s"] == 15 * 3600  # Thursday 20:00 to Friday 11:00


async def test_volume_per_day_and_when_customers_write(shop: Shop) -> None:
    opener, _ = shop
    report = await read(opener, calendar=False)
    assert report["volume"] == {"2026-01-15": {"email": 4, "telegram": 2}, "2026-01-16": {}}
    heatmap = report["heatmap"]
    assert isinstance(heatmap, list)
    thursday = heatmap[THURSDAY.weekday()]
    assert {hour: n for hour, n in enumerate(thursday) if n} == {7: 1, 9: 2, 12: 1, 17: 1, 20: 1}
    assert sum(map(sum, heatmap)) == 6


def test_satisfaction_average_and_counts() -> None:
    def rated(n: int, rating: int | None) -> ConversationRecord:
        start = at(9 + n)
        return ConversationRecord(
            id=n,
            contact_id=n,
            kind="email",
            account="shop-mail",
            started_at=start,
            first_response_at=start + 60,
            first_response_by="Ken",
            resolved_at=start + 600,
            assignee="Ken",
            messages_in=1,
            messages_out=1,
            automatic_out=0,
            csat_rating=rating,
            csat_at=None if rating is None else start + 700,
        )

    records = [rated(0, 5), rated(1, 4), rated(2, 5), rated(3, 1), rated(4, None)]
    report = build_report(records, [], [], since=SINCE, until=UNTIL, now=NOW).as_dict()
    assert report["csat"] == {
        "responses": 4,
        "average": 3.75,
        "counts": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 2},
    }
    assert report["timezone"] == "UTC" and report["business_hours"] is False


def test_business_seconds_between_two_instants() -> None:
    hours = business_hours(
        "Asia/Tokyo",
        {**WEEKDAYS, "sat": ["22:00-02:00"]},
        closed=["2027-01-13"],  # a Wednesday off
    )

    def seconds(a: datetime, b: datetime) -> float:
        return hours.business_seconds(a, b)

    def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2027, 1, day, hour, minute, tzinfo=TOKYO)

    assert seconds(tokyo(14, 9), tokyo(14, 10)) == 3600
    assert seconds(tokyo(14, 10), tokyo(14, 9)) == 0  # backwards: nothing
    assert seconds(tokyo(14, 7), tokyo(14, 8)) == 0  # before opening
    assert seconds(tokyo(14, 17), tokyo(15, 10)) == 2 * 3600  # overnight
    assert seconds(tokyo(12, 17), tokyo(14, 10)) == 2 * 3600  # Wednesday closed
    # Friday 17:00 to Monday 10:00: Friday's last hour, Saturday 22:00-02:00, Monday 09-10.
    assert seconds(tokyo(15, 17), tokyo(18, 10)) == 3600 + 4 * 3600 + 3600
    # Sunday 01:00 is still Saturday's late period.
    assert seconds(tokyo(17, 1), tokyo(17, 12)) == 3600
    # The same instants in another zone measure the same.
    assert seconds(tokyo(14, 9).astimezone(UTC), tokyo(14, 10).astimezone(UTC)) == 3600


def test_periods_on_the_command_line() -> None:
    now = datetime(2026, 12, 5, 7, 30, tzinfo=TOKYO).timestamp()

    def when(text: str, *, end: bool = False) -> datetime:
        return datetime.fromtimestamp(parse_when(text, now=now, zone=TOKYO, end=end), TOKYO)

    assert when("2026-12-01") == datetime(2026, 12, 1, tzinfo=TOKYO)
    assert when("2026-12-01", end=True) == datetime(2026, 12, 2, tzinfo=TOKYO)  # the whole day
    assert when("today") == datetime(2026, 12, 5, tzinfo=TOKYO)
    assert when("yesterday") == datetime(2026, 12, 4, tzinfo=TOKYO)
    assert when("yesterday", end=True) == datetime(2026, 12, 5, tzinfo=TOKYO)
    assert when("7d") == datetime(2026, 11, 28, 7, 30, tzinfo=TOKYO)
    assert when("12h") == datetime(2026, 12, 4, 19, 30, tzinfo=TOKYO)
    assert when("2026-12-01 09:00") == datetime(2026, 12, 1, 9, tzinfo=TOKYO)
    assert when("2026-12-01T09:00+00:00") == datetime(2026, 12, 1, 18, tzinfo=TOKYO)
    for bad in ("last week", "2026-13-01", "7 days", ""):
        with pytest.raises(ValueError):
            when(bad)


# The command, as a shop owner or their cron job runs it -------------------------


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnitui.cli", "--config", str(config), "report", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(shop: Shop, tmp_path: Path) -> Path:
    opener, _ = shop
    file = tmp_path / "config.toml"
    file.write_text(f"{opener.toml('shop.db')}\n{HOURS_TOML}", encoding="utf-8")
    return file


PERIOD = ("--since", "2026-01-15", "--until", "2026-01-16")  # Thursday and Friday


def test_json_has_the_contract_keys(config: Path) -> None:
    done = run(config, *PERIOD, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for key in ("conversations", "messages_in", "messages_out", "channels", "agents", "waiting"):
        assert key in report
    assert times(report) == (1200, 2700, 5400, 10800)
    assert set(report["csat"]) >= {"responses", "average", "counts"}
    assert list(report["csat"]["counts"]) == ["1", "2", "3", "4", "5"]
    for figures in [*report["channels"].values(), *report["agents"].values()]:
        assert {"conversations", "messages_in", "messages_out", "first_response_s"} <= set(figures)
        assert {"resolution_s", "csat"} <= set(figures)
    # Mei still waits, since long before now (the scripted day is in the past).
    assert [w["contact"] for w in report["waiting"]] == ["Mei"]
    assert report["waiting"][0]["waiting_s"] > 7200

    calendar = json.loads(run(config, *PERIOD, "--format", "json", "--calendar").stdout)
    assert times(calendar) == (4800, 56700, 18000, 59400)


def test_csv_is_one_row_per_group(config: Path) -> None:
    done = run(config, *PERIOD, "--format", "csv", "--by", "agent")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    by_agent = {row["agent"]: row for row in rows}
    assert set(by_agent) == {"Ken", "Aiko", ""}
    assert by_agent["Ken"]["first_response_median_s"] == "1650.0"
    assert by_agent["Ken"]["resolution_p90_s"] == "5400.0"
    assert by_agent["Aiko"]["messages_out"] == "2"
    assert by_agent[""]["first_response_median_s"] == ""  # Mei: not answered

    days = list(csv.DictReader(io.StringIO(run(config, *PERIOD, "--format", "csv").stdout)))
    assert [(d["day"], d["conversations"], d["resolved"]) for d in days] == [
        ("2026-01-15", "5", "2"),
        ("2026-01-16", "0", "1"),
    ]


def test_text_summary_in_japanese(config: Path) -> None:
    done = run(config, *PERIOD, "--language", "ja")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "OmniTUI レポート: 2026-01-15 00:00 – 2026-01-17 00:00 (Asia/Tokyo)" in text
    assert "時間は営業時間で数えています" in text
    assert "中央値 20分、90 パーセンタイル 45分 (4 件の会話)" in text  # first response
    assert "中央値 1時間30分、90 パーセンタイル 3時間0分 (3 件の会話)" in text  # resolution
    assert "連絡手段ごと" in text and "担当者ごと" in text and "日ごと" in text
    lines = text.splitlines()
    waiting = lines[lines.index("いま返信を待っているお客様 (長い順)") + 1]
    assert waiting.split()[0] == "Mei" and waiting.split()[-1] == "(担当なし)"

    english = run(config, *PERIOD, "--language", "en").stdout
    assert "median 20m, p90 45m (4 conversations)" in english


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--since", "last tuesday"), "--since 'last tuesday' is not a date"),
        (("--until", "2026-02-30"), "--until '2026-02-30' is not a date"),
        (("--since", "2026-01-16", "--until", "2026-01-15"), "the period is empty"),
    ],
)
def test_a_bad_period_says_so_in_one_line(config: Path, args: tuple[str, ...], says: str) -> None:
    done = run(config, *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr


# Broadcasts --------------------------------------------------------------------


async def a_broadcast_thursday(open_store: StoreOpener, name: str) -> None:
    """Thursday 14:00: `sale` to five customers and one skipped; Saturday: another.

    Telegram: Ann and Bo sent, Cy failed (the bot was blocked). SMS: Dee
    delivered, Eve interrupted mid-send (unknown). Fay (email, no consent
    recorded) skipped.
    """
    from omnitui.domain.broadcast import plan_broadcast
    from omnitui.domain.models import Delivery, DeliveryUpdate

    sms = Channel(ChannelKind.SMS, "shop-sms")
    clock = [datetime(2026, 1, 15, 13, 0, tzinfo=TOKYO).timestamp()]
    store = await open_store(name, clock=lambda: clock[0])
    try:
        got = await store.ingest(
            [
                Inbound(BOT, "7:1", "7001", "Ann", "hi", clock[0] - 50),
                Inbound(BOT, "7:2", "7002", "Bo", "hi", clock[0] - 40),
                Inbound(BOT, "7:3", "7003", "Cy", "hi", clock[0] - 30),
                Inbound(sms, "SMa", "+14155550101", "Dee", "hi", clock[0] - 20),
                Inbound(sms, "SMb", "+14155550102", "Eve", "hi", clock[0] - 10),
                Inbound(MAIL, "<f@x>", "fay@example.com", "Fay", "hi", clock[0] - 5),
            ]
        )
        for g in got:
            await store.update_contact(g.contact_id, tags=["vip"])
        await store.add_canned_replies([("sale", "Sale", "{first_name|Hello}, spring sale!", "")])
        clock[0] = datetime(2026, 1, 15, 14, 0, tzinfo=TOKYO).timestamp()
        plan = plan_broadcast(
            await store.broadcast_audience(["vip"]),
            await store.canned_replies(),
            "sale",
            [BOT, sms, MAIL],
        )
        await store.create_broadcast("sale", {"tags": ["vip"]}, plan, author="Aiko")
        ann, bo, cy = await store.claim_broadcast("shop-bot", limit=3)
        await store.mark_sent(ann.message_id, "7001:1")
        await store.mark_sent(bo.message_id, "7002:1")
        await store.mark_failed(cy.message_id, "the customer blocked the bot", retry_at=None)
        dee, _eve = await store.claim_broadcast("shop-sms", limit=2)
        await store.mark_sent(dee.message_id, "SM-dee")
        await store.apply_delivery(DeliveryUpdate(sms, "SM-dee", Delivery.DELIVERED))
        assert await store.recover_interrupted(["shop-sms"]) == 1  # Eve: the process died
        # Saturday, after the period: a second broadcast that the report leaves out.
        clock[0] = datetime(2026, 1, 17, 10, 0, tzinfo=TOKYO).timestamp()
        await store.create_broadcast("sale", {"tags": ["vip"], "again": True}, plan)
    finally:
        await store.close()


@pytest.fixture
async def broadcast_config(open_store: StoreOpener, tmp_path: Path) -> Path:
    await a_broadcast_thursday(open_store, "broadcast.db")
    file = tmp_path / "broadcast.toml"
    file.write_text(f"{open_store.toml('broadcast.db')}\n{HOURS_TOML}", encoding="utf-8")
    return file


def test_each_broadcast_of_the_period_has_its_results_per_channel(broadcast_config: Path) -> None:
    done = run(broadcast_config, *PERIOD, "--format", "json")
    assert done.returncode == 0, done.stderr
    [sale] = json.loads(done.stdout)["broadcasts"]
    assert sale["canned"] == "sale" and sale["created_at"] == "2026-01-15T14:00:00+09:00"
    assert sale["cancelled_at"] is None
    nothing = {"sent": 0, "delivered": 0, "failed": 0, "unknown": 0, "waiting": 0}
    assert sale["channels"] == {
        "telegram": {**nothing, "sent": 2, "failed": 1},
        "sms": {**nothing, "delivered": 1, "unknown": 1},
    }
    assert sale["totals"] == {**nothing, "sent": 2, "delivered": 1, "failed": 1, "unknown": 1} | {
        "skipped": 1
    }
    assert sale["skipped"] == {"no consent to marketing email recorded": 1}

    text = run(broadcast_config, *PERIOD).stdout
    lines = text.splitlines()
    section = lines[lines.index("Broadcasts") :]
    assert section[1].startswith(f"  #{sale['id']} sale, 2026-01-15 14:00")
    assert section[2].split() == ["channel", "sent", "delivered", "failed", "unknown"]
    rows = {line.split()[0]: line.split()[1:] for line in section[3:6]}
    assert rows == {
        "Telegram": ["2", "0", "1", "0"],
        "SMS": ["0", "1", "0", "1"],
        "total": ["2", "1", "1", "1"],
    }
    assert section[6].strip() == "skipped 1: 1 no consent to marketing email recorded"

    japanese = run(broadcast_config, *PERIOD, "--language", "ja").stdout
    assert (
        "一斉送信" in japanese
        and "送らない 1 人: 1 広告メールの同意が記録されていません" in japanese
    )

    # A period without broadcasts: the key is there and empty, and no section.
    quiet = run(
        broadcast_config, "--since", "2026-01-10", "--until", "2026-01-12", "--format", "json"
    )
    assert json.loads(quiet.stdout)["broadcasts"] == []
    assert (
        "Broadcasts"
        not in run(broadcast_config, "--since", "2026-01-10", "--until", "2026-01-12").stdout
    )


# The same shop on both backends -------------------------------------------------


def without_clock(report: object) -> object:
    """A report without what depends on the moment it ran (how long someone waits now)."""
    if isinstance(report, dict):
        return {k: without_clock(v) for k, v in report.items() if k != "waiting_s"}
    if isinstance(report, list):
        return [without_clock(v) for v in report]
    return report


async def test_the_same_shop_gives_the_same_figures_on_both_backends(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    outputs: dict[str, list[str]] = {}
    for backend in ("sqlite", "postgresql"):
        opener = StoreOpener(backend, tmp_path / backend, request)
        (tmp_path / backend).mkdir()
        await scripted_day(opener, "shop.db")  # each closes the store it wrote
        await a_broadcast_thursday(opener, "broadcast.db")
        runs: list[str] = []
        for name in ("shop.db", "broadcast.db"):
            config = tmp_path / backend / f"{name}.toml"
            config.write_text(f"{opener.toml(name)}\n{HOURS_TOML}", encoding="utf-8")
            for args in (
                ("--format", "json"),
                ("--format", "json", "--calendar"),
                ("--format", "csv", "--by", "agent"),
                ("--format", "csv", "--by", "channel"),
                ("--format", "csv", "--by", "tag"),
                ("--format", "csv"),
            ):
                done = run(config, *PERIOD, *args)
                assert done.returncode == 0, done.stderr
                runs.append(done.stdout)
        outputs[backend] = runs
    sqlite, postgres = outputs["sqlite"], outputs["postgresql"]
    for on_sqlite, on_postgres in zip(sqlite, postgres, strict=True):
        if on_sqlite.startswith("{"):
            assert without_clock(json.loads(on_postgres)) == without_clock(json.loads(on_sqlite))
        else:
            assert on_postgres == on_sqlite
    assert json.loads(sqlite[0])["conversations"] == 5  # the scripted day, not an empty one
    assert json.loads(sqlite[7])["broadcasts"]
