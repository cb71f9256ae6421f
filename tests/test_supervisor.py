"""The supervisor's view (W): who waits for an answer, longest first, live.

A shop's afternoon written into the store with a clock the test moves: the
view lists the customers still waiting for a person, marked by the shop's
thresholds; another console's reply or an agent starting to write shows
without a key pressed; enter opens the customer in the inbox.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.containers import Vertical
from textual.pilot import Pilot

from omnitui.app import OmniApp
from omnitui.config import ConfigError, parse
from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
from omnitui.screens import supervisor
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.supervisor import SupervisorScreen, waited_text
from omnitui.store import Store
from tests import test_snapshots as snaps
from tests.conftest import StoreOpener
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
SMS = Channel(ChannelKind.SMS, "shop-sms")
NOW = snaps.NOW  # Thursday 12 March 2026, 15:30 in Tokyo
MINUTE, HOUR = 60.0, 3600.0
SnapCompare = Callable[..., bool]


class Clock:
    """The shop's clock, moved by the test."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


async def afternoon(store: Store, clock: Clock) -> dict[str, int]:
    """Who wrote this afternoon, and what became of it.

    Hanako wrote 3 h 05 ago by email (Ken's); Kenta 45 minutes ago on
    Telegram, then again 10 minutes ago (he waits since his first); Emma
    12 minutes ago by SMS (Aiko's); someone whose name is Rich markup 5
    minutes ago. Sophie was answered by Aiko, Oliver's thread is resolved and
    Lucy only got an automatic answer, so she still waits.
    """
    written = [
        ("sophie", Inbound(MAIL, "m0", "sophie@example.com", "Sophie Martin", "Roses?", NOW - 5 * HOUR)),
        ("lucy", Inbound(MAIL, "m9", "lucy@example.com", "Lucy Gray", "Open Sunday?", NOW - 4 * HOUR)),
        ("hanako", Inbound(MAIL, "m1", "hanako@example.jp", "山田 花子", "注文の件です", NOW - 3 * HOUR - 5 * MINUTE)),
        ("oliver", Inbound(MAIL, "m2", "oliver@example.com", "Oliver Brown", "Thanks!", NOW - 2 * HOUR)),
        ("kenta", Inbound(BOT, "t1", "500000002", "佐藤 健太", "胡蝶蘭はありますか？", NOW - 45 * MINUTE)),
        ("emma", Inbound(SMS, "s1", "+819012340002", "Emma Wilson", "Is it ready?", NOW - 12 * MINUTE)),
        ("kenta", Inbound(BOT, "t2", "500000002", "佐藤 健太", "まだですか？", NOW - 10 * MINUTE)),
        ("markup", Inbound(MAIL, "m3", "mal@example.com", "[bold red]Mallory[/]", "hi", NOW - 5 * MINUTE)),
    ]  # fmt: skip
    ids: dict[str, int] = {}
    for key, item in written:
        clock.at = item.sent_at
        ids[key] = (await store.ingest([item]))[0].contact_id
    clock.at = NOW - 4 * HOUR
    await store.enqueue_reply(ids["sophie"], MAIL, "Yes, we have them.", author="Aiko")
    from omnitui.store.records import AutomationPlan, PlannedFiring, PlannedReply

    plan = AutomationPlan(
        event="message",
        contact_id=ids["lucy"],
        firings=(PlannedFiring("Sunday", {"reply": "sunday"}, reply=0),),
        replies=(PlannedReply("Sunday", MAIL, "We open at 10 on Sundays", "Re: Open Sunday?"),),
    )
    await store.apply_automation(plan)
    await store.set_status(ids["oliver"], ThreadStatus.RESOLVED)
    await store.set_assignee(ids["hanako"], "Ken")
    await store.set_assignee(ids["emma"], "Aiko")
    clock.at = NOW
    return ids


@pytest.fixture
async def shop(open_store: StoreOpener, clock: Clock) -> tuple[Store, dict[str, int]]:
    store = await open_store("shop.db", clock=clock)
    return store, await afternoon(store, clock)


def console(store: Store, language: str = "en", *, poll: float = 0.05) -> OmniApp:
    """Aiko's console: warned at 30 minutes, alerted at 2 hours."""
    return OmniApp(
        store,
        agent_name="Aiko",
        channels=[MAIL, BOT, SMS],
        poll_changes=poll,
        notify_new=False,
        language=language,
        waiting=(30 * MINUTE, 2 * HOUR),
    )


def screen_lines(app: App[None]) -> list[str]:
    """What the terminal shows, line by line; over the inbox, only the
    supervisor's box (the inbox behind it shows names too)."""
    strips = app.screen._compositor.render_strips()
    if not isinstance(app.screen, SupervisorScreen):
        return [strip.text for strip in strips]
    box = app.screen.query_one(Vertical).region
    return [strip.crop(box.x, box.right).text for strip in strips[box.y : box.bottom]]


def row_of(app: OmniApp, name: str) -> str:
    """The supervisor view's row of the customer called `name`."""
    found = [line for line in screen_lines(app) if name in line]
    assert len(found) == 1, f"{name}: {found}"
    return found[0].strip("│ ")


def names_in_order(app: OmniApp, names: list[str]) -> list[str]:
    """`names` in the order the rows show them (those shown at all)."""
    text = "\n".join(screen_lines(app))
    return sorted((n for n in names if n in text), key=text.index)


async def open_supervisor(pilot: Pilot[None]) -> SupervisorScreen:
    app = pilot.app
    assert isinstance(app, OmniApp)
    await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
    await wait_until(lambda: bool(app.inbox.contacts.contacts), pilot=pilot)
    await pilot.press("W")
    await wait_until(lambda: isinstance(app.screen, SupervisorScreen), pilot=pilot)
    screen = app.screen
    assert isinstance(screen, SupervisorScreen)
    await wait_until(lambda: screen.rows.count > 0, what="rows listed", pilot=pilot)
    return screen


NAMES = [
    "Lucy Gray",
    "山田 花子",
    "佐藤 健太",
    "Emma Wilson",
    "[bold red]Mallory[/]",
    "Sophie Martin",
    "Oliver Brown",
]


async def test_the_view_lists_who_waits_longest_first_with_the_threshold_marks(
    shop: tuple[Store, dict[str, int]], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = shop
    monkeypatch.setattr(supervisor, "TICK", 0.1)  # the clocks move without a store change
    app = console(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_supervisor(pilot)
        # Answered (Sophie) and resolved (Oliver) customers do not wait; a rule's
        # automatic answer is no answer (Lucy); Kenta waits since his first message.
        assert names_in_order(app, NAMES) == [
            "Lucy Gray",
            "山田 花子",
            "佐藤 健太",
            "Emma Wilson",
            "[bold red]Mallory[/]",
        ]
        text = "\n".join(screen_lines(app))
        assert "5 waiting · ! 3 over 30 min · !! 2 over 2 h" in text
        assert row_of(app, "Lucy Gray").split() == [
            "!!",
            "4",
            "h",
            "00",
            "M",
            "Lucy",
            "Gray",
            "unassigned",
        ]
        assert row_of(app, "山田 花子").split() == [
            "!!",
            "3",
            "h",
            "05",
            "M",
            "山田",
            "花子",
            "Ken",
        ]
        assert row_of(app, "佐藤 健太").split() == [
            "!",
            "45",
            "min",
            "T",
            "佐藤",
            "健太",
            "unassigned",
        ]
        assert row_of(app, "Emma Wilson").split() == ["12", "min", "S", "Emma", "Wilson", "Aiko"]
        # A customer's name is shown as they wrote it, never read as markup.
        assert row_of(app, "Mallory").split()[:4] == ["5", "min", "M", "[bold"]

        # Colour as well as the mark: the alert's time in red, the warning's in amber.
        screen = app.screen
        assert isinstance(screen, SupervisorScreen)

        def time_style(index: int) -> str:
            return " ".join(str(s.style) for s in screen.rows.row_text(index).spans)

        assert "#ff5f5f" in time_style(0) and "#ffaf00" in time_style(2)
        assert "#ff5f5f" not in time_style(3) and "#ffaf00" not in time_style(3)

        # Twenty minutes later, with nothing written: Emma is over 30 minutes too.
        clock.at = NOW + 20 * MINUTE
        await wait_until(
            lambda: row_of(app, "Emma Wilson").split()[:3] == ["!", "32", "min"],
            what="Emma's clock moved over the warning",
            pilot=pilot,
        )
        assert "5 waiting · ! 4 over 30 min · !! 2 over 2 h" in "\n".join(screen_lines(app))
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)


async def test_a_reply_or_a_new_message_from_another_console_shows_at_once(
    shop: tuple[Store, dict[str, int]], clock: Clock, open_store: StoreOpener
) -> None:
    store, ids = shop
    app = console(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_supervisor(pilot)
        assert "山田 花子" in "\n".join(screen_lines(app))
        other = await open_store("shop.db", clock=clock)  # Ken's console
        try:
            await other.enqueue_reply(ids["hanako"], MAIL, "お待たせしました", author="Ken")
            await wait_until(
                lambda: "山田 花子" not in "\n".join(screen_lines(app)),
                what="Hanako gone once Ken answered",
                pilot=pilot,
            )
            assert "4 waiting · ! 2 over 30 min · !! 1 over 2 h" in "\n".join(screen_lines(app))
            # Sophie writes again: she waits, at the bottom (the newest wait).
            clock.at = NOW + MINUTE
            await other.ingest(
                [
                    Inbound(
                        MAIL,
                        "m4",
                        "sophie@example.com",
                        "Sophie Martin",
                        "And tulips?",
                        NOW + MINUTE,
                    )
                ]
            )
            await wait_until(lambda: "Sophie Martin" in "\n".join(screen_lines(app)), pilot=pilot)
            assert names_in_order(app, NAMES)[-1] == "Sophie Martin"
            assert row_of(app, "Sophie Martin").split()[:2] == ["0", "min"]
            # Resolved by another agent without a word: she no longer waits.
            await other.set_status(ids["sophie"], ThreadStatus.RESOLVED)
            await wait_until(
                lambda: "Sophie Martin" not in "\n".join(screen_lines(app)), pilot=pilot
            )
            # Assigned elsewhere: the row says to whom.
            await other.set_assignee(ids["kenta"], "Ken")
            await wait_until(lambda: row_of(app, "佐藤 健太").split()[-1] == "Ken", pilot=pilot)
        finally:
            await other.close()


async def test_an_agent_writing_to_a_customer_shows_beside_them(
    shop: tuple[Store, dict[str, int]], clock: Clock, open_store: StoreOpener
) -> None:
    store, ids = shop
    app = console(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_supervisor(pilot)
        assert "✎" not in "\n".join(screen_lines(app))
        other = await open_store("shop.db", clock=clock)
        try:
            await other.set_composing(ids["kenta"], "Ken", True)
            await wait_until(
                lambda: row_of(app, "佐藤 健太").endswith("✎ Ken"),
                what="Ken writing to Kenta",
                pilot=pilot,
            )
            assert "replying now" in "\n".join(screen_lines(app))
            await other.set_composing(ids["kenta"], "Ken", False)
            await wait_until(lambda: "✎" not in "\n".join(screen_lines(app)), pilot=pilot)
        finally:
            await other.close()


async def test_enter_opens_the_customer_in_the_inbox(shop: tuple[Store, dict[str, int]]) -> None:
    store, ids = shop
    app = console(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_supervisor(pilot)
        await pilot.press("j", "j")  # Lucy, Hanako, Kenta
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        inbox = app.inbox
        await wait_until(
            lambda: (
                inbox.contact is not None
                and inbox.contact.id == ids["kenta"]
                and inbox.contacts.current_contact_id == ids["kenta"]
                and inbox.focused is inbox.thread
                and len(inbox.thread.messages) == 2
            ),
            what="Kenta's thread open and focused, highlighted in the list",
            pilot=pilot,
        )
        # esc leaves the view without moving the inbox.
        await pilot.press("W")
        await wait_until(lambda: isinstance(app.screen, SupervisorScreen), pilot=pilot)
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        assert inbox.contact is not None and inbox.contact.id == ids["kenta"]


async def test_the_palette_opens_the_view(shop: tuple[Store, dict[str, int]]) -> None:
    store, _ = shop
    app = console(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"who is waiting")
        await wait_until(
            lambda: "Supervisor: who is waiting" in "\n".join(screen_lines(app)), pilot=pilot
        )
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, SupervisorScreen), pilot=pilot)


async def test_nobody_waiting_says_so(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "quiet.db")
    try:
        app = console(store, "ja")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
            await pilot.press("W")
            await wait_until(
                lambda: "返信を待っているお客様はいません" in "\n".join(screen_lines(app)),
                pilot=pilot,
            )
    finally:
        await store.close()


async def test_a_japanese_console_at_80x24_keeps_every_column(
    shop: tuple[Store, dict[str, int]], clock: Clock
) -> None:
    store, ids = shop
    await store.set_composing(ids["kenta"], "Ken", True)
    app = console(store, "ja")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_supervisor(pilot)
        await wait_until(lambda: "✎ Ken" in "\n".join(screen_lines(app)), pilot=pilot)
        text = "\n".join(screen_lines(app))
        assert "返信待ちのお客様" in text
        assert "返信待ち 5 人 · ! 30 分超 3 人 · !! 2 時間超 2 人" in text
        assert "待ち時間" in text and "担当" in text and "返信中" in text
        # Whole names and whole columns, the widest Japanese time included.
        rows = {
            name: " ".join(row_of(app, name).split())
            for name in ("Lucy Gray", "山田 花子", "佐藤 健太", "Emma Wilson")
        }
        assert rows == {
            "Lucy Gray": "!! 4 時間 00 分 ✉ Lucy Gray 担当なし",
            "山田 花子": "!! 3 時間 05 分 ✉ 山田 花子 Ken",
            "佐藤 健太": "! 45 分 ✈ 佐藤 健太 担当なし ✎ Ken",
            "Emma Wilson": "12 分 ☏ Emma Wilson Aiko",
        }
        assert "enter 受信箱で開く · esc 戻る" in text


def test_the_count_line_says_when_more_wait_than_are_listed() -> None:
    from omnitui.screens.supervisor import count_line
    from omnitui.store.records import WaitingCustomer

    waiting = [WaitingCustomer(n, f"C{n}", NOW - 3 * HOUR, None, "email") for n in range(3)]
    line = count_line(waiting, NOW, 30 * MINUTE, 2 * HOUR, more=True).plain
    assert line == "3+ waiting · ! 3+ over 30 min · !! 3+ over 2 h"
    line = count_line(waiting[:2], NOW, 30 * MINUTE, 4 * HOUR).plain
    assert line == "2 waiting · ! 2 over 30 min · !! 0 over 4 h"


@pytest.mark.parametrize(
    ("seconds", "english", "japanese"),
    [
        (20, "0 min", "0 分"),
        (12 * MINUTE + 59, "12 min", "12 分"),
        (2 * HOUR + 5 * MINUTE, "2 h 05", "2 時間 05 分"),
        (26 * HOUR + 30 * MINUTE, "1 d 2 h", "1 日 2 時間"),
    ],
)
def test_waiting_times_read_short(seconds: float, english: str, japanese: str) -> None:
    import contextvars

    from omnitui.i18n import use_language

    assert waited_text(seconds) == english

    def in_japanese() -> str:
        use_language("ja")
        return waited_text(seconds)

    assert contextvars.copy_context().run(in_japanese) == japanese


def test_the_help_lists_the_key() -> None:
    from omnitui.screens.help import binding_rows

    rows = binding_rows([("inbox", InboxScreen.BINDINGS)], {})
    assert ("inbox", "W", "Who is waiting, longest first", "inbox.supervisor") in rows


# -- config ----------------------------------------------------------------------------


def test_the_thresholds_come_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = parse('[reports]\nwaiting_warn = "15m"\nwaiting_alert = "1h30m"\n', path)
    assert settings.reports.waiting_thresholds() == (15 * MINUTE, 90 * MINUTE)
    assert parse("", path).reports.waiting_thresholds() == (30 * MINUTE, 2 * HOUR)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '[agent]\nname = "Aiko"\n\n[reports]\nwaiting_warn = "half an hour"\n',
            "line 5: reports.waiting_warn: 'half an hour' is not a duration "
            '(like "30m", "12h", "2d")',
        ),
        (
            '[reports]\nwaiting_warn = "2h"\nwaiting_alert = "30m"\n',
            "line 3: reports.waiting_alert: waiting_alert (30m) must be longer than "
            "waiting_warn (2h)",
        ),
        (
            "[reports]\nwaiting_alert = 120\n",
            "line 2: reports.waiting_alert: Input should be a valid string",
        ),
        ('[reports]\nwaiting = "1h"\n', "line 2: reports.waiting: unknown key"),
    ],
)
def test_a_bad_threshold_names_file_line_and_key(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as raised:
        parse(text, path)
    assert str(raised.value) == f"{path}, {said}"


# -- pictures ----------------------------------------------------------------------------


@pytest.fixture
def in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In colour and in Tokyo's time zone, as tests/test_snapshots.py draws."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    before = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def picture(
    snap_compare: SnapCompare,
    tmp_path: Path,
    language: str,
    size: str,
    run_before: Callable[[Pilot[None]], Awaitable[None]],
) -> None:
    """The afternoon's shop after `run_before`, once the screen has settled."""
    clock = Clock(NOW)

    async def opened() -> Store:
        store = await Store.open(tmp_path / f"shop-{language}.db", clock=clock)
        ids = await afternoon(store, clock)
        await store.set_composing(ids["kenta"], "Ken", True)
        return store

    store = asyncio.run(opened())
    app = console(store, language, poll=0.25)

    async def then_settle(pilot: Pilot[None]) -> None:
        await run_before(pilot)
        await snaps.settled(pilot)

    try:
        assert snap_compare(app, terminal_size=snaps.SIZES[size], run_before=then_settle)
    finally:
        asyncio.run(store.close())


async def at_supervisor(pilot: Pilot[None]) -> None:
    """W: who is waiting, Ken writing to Kenta."""
    await open_supervisor(pilot)
    await wait_until(lambda: "✎ Ken" in "\n".join(screen_lines(pilot.app)), pilot=pilot)


@pytest.mark.usefixtures("in_tokyo")
@pytest.mark.parametrize(("language", "size"), [("en", "80x24"), ("ja", "80x24"), ("ja", "120x40")])
def test_supervisor_picture(
    snap_compare: SnapCompare, tmp_path: Path, language: str, size: str
) -> None:
    picture(snap_compare, tmp_path, language, size, at_supervisor)
