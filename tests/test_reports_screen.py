"""The reports screen (`S`): a shop's day, counted by the store, drawn in the terminal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omnitui.app import OmniApp
from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.reports import ReportsScreen, duration
from omnitui.store import Store
from tests import test_snapshots as snaps
from tests.conftest import StoreOpener
from tests.test_automation_console import in_tokyo, screen_text
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
MINUTE, HOUR, DAY = 60.0, 3600.0, 86_400.0

__all__ = ["in_tokyo"]  # a fixture used by name


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


async def day_of_work(store: Store, clock: Clock, start: float) -> None:
    """Three customers: Hanako (email) answered by Ken in 20 min and resolved in
    an hour; Taro (Telegram) answered by Aiko in 40 min, resolved in 3 hours;
    Jiro (email) still waiting."""
    clock.at = start
    hanako = (await store.ingest([Inbound(MAIL, "m1", "hanako@example.jp", "Hanako", "1", start)]))[
        0
    ].contact_id
    await store.set_assignee(hanako, "Ken")
    clock.at = start + 20 * MINUTE
    await store.enqueue_reply(hanako, MAIL, "hello", author="Ken")
    clock.at = start + HOUR
    await store.set_status(hanako, ThreadStatus.RESOLVED)
    taro_at = start + 2 * HOUR
    clock.at = taro_at
    taro = (await store.ingest([Inbound(BOT, "t1", "700", "Taro", "2", taro_at)]))[0].contact_id
    clock.at = taro_at + 40 * MINUTE
    await store.enqueue_reply(taro, BOT, "hi", author="Aiko")
    clock.at = taro_at + 3 * HOUR
    await store.set_status(taro, ThreadStatus.RESOLVED)
    jiro_at = start + 6 * HOUR
    clock.at = jiro_at
    await store.ingest([Inbound(MAIL, "m2", "jiro@example.jp", "Jiro", "3", jiro_at)])


def test_durations_read_like_a_person_says_them() -> None:
    assert [duration(s) for s in (None, 45, 12 * MINUTE, 3 * HOUR + 5 * MINUTE, 50 * HOUR)] == [
        "–",
        "45 s",
        "12 min",
        "3 h 05",
        "2 d 2 h",
    ]


@pytest.mark.usefixtures("in_tokyo")
async def test_the_reports_screen_shows_the_days_figures_and_each_agent(
    open_store: StoreOpener,
) -> None:
    start = snaps.NOW - 8 * HOUR
    clock = Clock(start)
    store = await open_store("shop.db", clock=clock)
    await day_of_work(store, clock, start)
    clock.at = snaps.NOW
    app = OmniApp(store, agent_name="Aiko", channels=[MAIL, BOT], language="en")
    try:
        async with app.run_test(size=(120, 90)) as pilot:
            await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
            await pilot.press("S")
            await wait_until(lambda: isinstance(app.screen, ReportsScreen), pilot=pilot)
            await wait_until(lambda: "Key figures" in screen_text(app), pilot=pilot)
            text = screen_text(app)
            assert "last 7 days · wall-clock time" in text
            assert "3 (resolved 2, unanswered 1)" in text
            assert "in 3 · out 2 · automatic 0" in text
            # First responses 20 and 40 min: median 30; resolutions 1 h and 3 h: median 2 h.
            assert "median 30 min · p90 40 min" in text
            assert "median 2 h 00 · p90 3 h 00" in text
            assert "Waiting now" in text and "1 (longest 2 h 00)" in text
            ken = next(line for line in text.splitlines() if "Ken" in line and "│" in line)
            cells = [cell.strip() for cell in ken.split("│")]
            assert cells[cells.index("Ken") + 1 : cells.index("Ken") + 6] == [
                "1",
                "1",
                "20 min",
                "1 h 00",
                "–",
            ]
            heat = text[text.index("When customers write") :]
            assert "░" in heat or "█" in heat  # three messages placed on the map
            await pilot.press("1")  # today
            await wait_until(lambda: "· today ·" in screen_text(app), pilot=pilot)
            await pilot.press("escape")
            await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
    finally:
        await store.close()


async def test_the_palette_opens_the_reports(store: Store) -> None:
    app = OmniApp(store, agent_name="Aiko", channels=[MAIL], language="ja")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"レポート")
        await wait_until(lambda: "レポート" in screen_text(app), pilot=pilot)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, ReportsScreen), pilot=pilot)
        await wait_until(lambda: "主な数字" in screen_text(app), pilot=pilot)
        assert "0（解決 0・未返信 0）" in screen_text(app)


async def at_reports(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.press("S")
    await wait_until(lambda: isinstance(app.screen, ReportsScreen), pilot=pilot)
    screen = app.screen
    assert isinstance(screen, ReportsScreen)
    await wait_until(lambda: screen.report is not None, pilot=pilot)


@pytest.mark.usefixtures("in_tokyo")
@pytest.mark.parametrize(("language", "size"), [("en", "80x24"), ("ja", "120x40")])
def test_reports_picture(
    snap_compare: snaps.SnapCompare, tmp_path: Path, language: str, size: str
) -> None:
    clock = Clock(snaps.NOW)

    async def opened() -> Store:
        store = await Store.open(tmp_path / f"shop-{language}.db", clock=clock)
        await snaps.build_shop(store)
        clock.at = snaps.NOW
        return store

    store = asyncio.run(opened())
    app = OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=[snaps.MAIL, snaps.TELEGRAM, snaps.SMS],
        language=language,
    )

    async def then_settle(pilot: Pilot[None]) -> None:
        await snaps.inbox_ready(pilot)
        await at_reports(pilot)
        await snaps.settled(pilot)

    try:
        assert snap_compare(app, terminal_size=snaps.SIZES[size], run_before=then_settle)
    finally:
        asyncio.run(store.close())
