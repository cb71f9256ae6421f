"""What the console shows of automation: the ⚙ line in a thread, a rule's
notice in every console, and the rules screen with each rule's hits.

Rules fire for real where the channel matters (a Telegram customer through the
Bot API peer, the rules in the hub's process); where it does not, a plan is
applied through the store as the hub would apply it. The console always reads
through its own store connection, as a console beside `omnitui serve` does.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omnitui.app import OmniApp
from omnitui.config import parse
from omnitui.domain.models import Channel, ChannelKind, Direction, Inbound
from omnitui.domain.rule_words import did_text
from omnitui.domain.rules import Rule
from omnitui.i18n import use_language
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.rules import RulesScreen
from omnitui.store import Store
from omnitui.store.records import AutomationPlan, PlannedFiring
from tests import test_snapshots as snaps
from tests.conftest import StoreOpener
from tests.peers.telegram_api import BotApiPeer
from tests.test_automation import MISAKI, Shop, bot_token, contact_of, settled, shop
from tests.waiting import wait_until

__all__ = ["bot_token", "shop"]  # the Bot API shop's fixtures, used here too

SMS = Channel(ChannelKind.SMS, "shop-sms")
# Thursday 12 March 2026, 15:30 on the machine's clock: "today" on the rules screen.
NOW = datetime(2026, 3, 12, 15, 30).timestamp()
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
SnapCompare = Callable[..., bool]

RULES = """
[[rule]]
name = "Returns go to support"
on = "message"
[rule.if]
text = ["返品", "交換"]
[rule.then]
tag = ["support"]
assign = "Ken"

[[rule]]
name = "Hand-off"
on = "message"
[rule.if]
text = ["担当者", "agent"]
[rule.then]
assign = "Ken"
notify = true
handoff = true
stop = true
"""


def rules_of(text: str) -> tuple[Rule, ...]:
    return tuple(parse(text, Path("config.toml")).rules())


class Console(OmniApp):
    """Aiko's console, counting the bells it rings (a terminal's BEL)."""

    def __init__(
        self,
        store: Store,
        *,
        rules: tuple[Rule, ...] = (),
        bell: bool = True,
        language: str = "en",
    ) -> None:
        super().__init__(
            store,
            agent_name="Aiko",
            shop_values={"shop": "Sakura Flowers"},
            channels=[SMS],
            poll_changes=0.05,
            bell=bell,
            language=language,
            rules=rules,
        )
        self.bells = 0

    def bell(self) -> None:
        self.bells += 1
        super().bell()


def screen_text(app: OmniApp) -> str:
    """What the terminal shows (the app's compositor, as drawn)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def toasts(app: OmniApp) -> list[str]:
    """The toasts up, each on one line (a toast breaks its text to fit)."""
    return [" ".join(n.message.split()) for n in app._notifications]


async def open_thread(pilot: Pilot[None], name: str) -> InboxScreen:
    """Move down the contact list to `name` and open their thread."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
    screen = app.inbox
    await wait_until(
        lambda: any(c.name == name for c in screen.contacts.contacts),
        what=f"{name} listed",
        pilot=pilot,
    )
    screen.contacts.focus()
    for _ in range(len(screen.contacts.contacts)):
        if screen.contact is not None and screen.contact.name == name:
            break
        await pilot.press("j")
        await pilot.pause()
    await pilot.press("enter")
    await wait_until(
        lambda: screen.contact is not None and screen.contact.name == name,
        what=f"{name}'s thread open",
        pilot=pilot,
    )
    return screen


def gear_lines(screen: InboxScreen) -> list[str]:
    """Each ⚙ line of the open thread, its wrapped lines joined again."""
    found: list[list[str]] = []
    inside = False
    for line in screen.thread.lines_text():
        text = line.lstrip("▌ ").strip()
        if "⚙" in text:
            found.append([text])
            inside = True
        elif inside and text:
            found[-1].append(text)
        else:
            inside = False
    return [" ".join(parts) for parts in found]


# -- the ⚙ line ------------------------------------------------------------------------


@pytest.mark.backends
async def test_a_rule_that_fires_leaves_its_line_in_the_thread_and_notifies(
    store: Store, telegram_peer: BotApiPeer, shop: Shop, open_store: StoreOpener
) -> None:
    """A Telegram customer writes 返品 then 担当者: the open thread shows what each
    rule did, apart from her messages, and the hand-off rings every console."""
    await shop(RULES)
    telegram_peer.text(MISAKI, "サイズ違いなので返品したいです")
    misaki = await contact_of(store, MISAKI)
    await settled(store, 1)
    console = await open_store()
    app = Console(console, rules=rules_of(RULES))
    try:
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            screen = await open_thread(pilot, "美咲 田中")
            await wait_until(lambda: gear_lines(screen), what="the ⚙ line", pilot=pilot)
            line = gear_lines(screen)[0]
            assert line.startswith("⚙ Returns go to support: tagged support · assigned to Ken"), (
                line
            )
            assert "←" not in line and "→" not in line  # no customer's or agent's message
            assert app.bells == 0 and not any("⚙" in t for t in toasts(app))

            telegram_peer.text(MISAKI, "担当者と話したいです")
            expected = (
                "⚙ Hand-off · 美咲 田中: assigned to Ken · handed to a person · later rules skipped"
            )
            await wait_until(
                lambda: expected in toasts(app), what="the hand-off's toast", pilot=pilot
            )
            assert app.bells == 1
            await wait_until(lambda: len(gear_lines(screen)) == 2, pilot=pilot)
            assert gear_lines(screen)[1].startswith(
                "⚙ Hand-off: assigned to Ken · notified every console · handed to a person"
            )
            # The list still previews her words, never what a rule did.
            summary = next(c for c in screen.contacts.contacts if c.id == misaki)
            assert summary.last_preview == "担当者と話したいです"
            assert summary.last_direction is Direction.IN

            # The ⚙ line is selected (newest): it has no files and no source to show.
            await pilot.press("end")
            selected = screen.thread.selected_message
            assert selected is not None and selected.is_automation
            await pilot.press("a")
            await wait_until(lambda: "This message has no attachments" in toasts(app), pilot=pilot)
            await pilot.press("v")
            await wait_until(lambda: any("no raw source" in t for t in toasts(app)), pilot=pilot)
    finally:
        await console.close()


@pytest.mark.backends
async def test_a_long_gear_line_wraps_and_shows_markup_as_text(store: Store) -> None:
    """A rule's name and a value taken from a customer's message are shown as
    written ([red] and all), and a long line wraps instead of being cut."""
    got = await store.ingest(
        [Inbound(SMS, "s1", "+819012340001", "Emma", "order 123456 [bold]now[/]", NOW)]
    )
    contact = got[0].contact_id
    actions = {
        "tag": ["support", "vip", "returns", "wedding", "[blink]x[/]"],
        "assign": "Ken",
        "reply": "closed",
        "reply_skipped": "automatic",
        "reply_skipped_why": "Auto-Submitted: auto-replied",
        "set": {"order_id": "123456 [bold]now[/]"},
    }
    plan = AutomationPlan(
        event="message", contact_id=contact, firings=(PlannedFiring("[red]Returns[/]", actions),)
    )
    assert await store.apply_automation(plan)
    app = Console(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_thread(pilot, "Emma")
        await wait_until(lambda: gear_lines(screen), pilot=pilot)
        drawn = [line for line in screen.thread.lines_text() if line.strip()]
        assert not any("⚙" in line for line in drawn[-1:])  # wrapped onto more lines
        text = gear_lines(screen)[0]
        assert text.startswith(
            "⚙ [red]Returns[/]: tagged support, vip, returns, wedding, [blink]x[/]"
        )
        assert "reply /closed not sent: the customer's message was automatic" in text
        assert "(Auto-Submitted: auto-replied)" in text
        assert "order_id = 123456 [bold]now[/]" in text


@pytest.mark.parametrize(
    ("actions", "english", "japanese"),
    [
        (
            {"tag": ["support"], "assign": "Ken", "reply": "closed"},
            "tagged support · assigned to Ken · replied /closed",
            "タグ付け: support · Ken に割り当て · /closed で返信",
        ),
        (
            {"reply": "closed", "reply_skipped": "agent", "reply_skipped_why": "Ken"},
            "reply /closed not sent: an agent (Ken) is answering",
            "/closed の返信は送っていません: 担当者(Ken)が対応中です",
        ),
        (
            {"reply": "closed", "reply_skipped": "limit", "reply_skipped_why": "3"},
            "reply /closed not sent: 3 automatic replies today already",
            "/closed の返信は送っていません: 今日の自動返信はもう 3 回送りました",
        ),
        (
            {"reply_failed": "this customer opted out of sms", "status": "pending"},
            "reply not sent: this customer opted out of sms · marked pending",
            "返信は送っていません: このお客様は sms の配信を停止しています · 状態を保留中に",
        ),
        (
            {"notify": True, "set": {"order_id": "123456"}, "handoff": True, "stop": True},
            "notified every console · order_id = 123456 · handed to a person · later rules skipped",
            "すべてのコンソールに通知 · order_id = 123456 · 担当者に引き継ぎ · 後のルールは実行せず",
        ),
    ],
)
def test_what_a_rule_did_in_words(actions: dict[str, object], english: str, japanese: str) -> None:
    use_language("en")
    assert did_text(actions) == english
    use_language("ja")
    try:
        assert did_text(actions) == japanese
    finally:
        use_language("en")


# -- notices -----------------------------------------------------------------------------


async def _customer(store: Store, name: str = "美咲 田中") -> int:
    got = await store.ingest([Inbound(SMS, f"s-{name}", "+819012340001", name, "返品です", NOW)])
    return got[0].contact_id


def _handoff(contact: int, *, notify: bool = True, rule: str = "Hand-off") -> AutomationPlan:
    actions: dict[str, object] = {"assign": "Ken", "handoff": True}
    if notify:
        actions["notify"] = True
    return AutomationPlan(
        event="message",
        contact_id=contact,
        assignee="Ken",
        handoff=True,
        firings=(PlannedFiring(rule, actions, notify=notify),),
    )


@pytest.mark.parametrize("bell", [True, False], ids=["bell", "no-bell"])
@pytest.mark.backends
async def test_a_notice_from_another_process_toasts_once_in_every_console(
    store: Store, bell: bool, open_store: StoreOpener
) -> None:
    """A notify rule fired by `omnitui serve` (another store connection): each
    open console shows the toast, and rings unless `[ui] bell = false`; what
    fired before the console opened is not announced."""
    misaki = await _customer(store)
    assert await store.apply_automation(_handoff(misaki, rule="Earlier hand-off"))
    console = await open_store()
    app = Console(console, bell=bell)
    try:
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
            await pilot.pause(0.2)
            assert await store.apply_automation(_handoff(misaki, notify=False, rule="Quiet"))
            assert await store.apply_automation(_handoff(misaki))
            expected = "⚙ Hand-off · 美咲 田中: assigned to Ken · handed to a person"
            await wait_until(lambda: expected in toasts(app), what="the toast", pilot=pilot)
            await pilot.pause(0.3)  # a few more polls: nothing is announced twice
            gear = [t for t in toasts(app) if t.startswith("⚙")]
            assert gear == [expected]  # not the earlier one, not the quiet one
            assert app.bells == (1 if bell else 0)
    finally:
        await console.close()


@pytest.mark.backends
async def test_a_notice_in_a_japanese_console_keeps_the_name_whole(
    store: Store, open_store: StoreOpener
) -> None:
    """On a narrow terminal the toast breaks its lines between the rule and the
    customer, never inside 美咲 田中, and says what happened in Japanese."""
    misaki = await _customer(store)
    console = await open_store()
    app = Console(console, language="ja")
    try:
        async with app.run_test(size=(60, 24), notifications=True) as pilot:
            await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
            await pilot.pause(0.2)
            assert await store.apply_automation(_handoff(misaki))
            await wait_until(lambda: any("⚙" in n.message for n in app._notifications), pilot=pilot)
            toast = next(n for n in app._notifications if "⚙" in n.message)
            assert toast.title == "ルールが動きました"
            assert " ".join(toast.message.split()) == (
                "⚙ Hand-off · 美咲 田中: Ken に割り当て · 担当者に引き継ぎ"
            )
            assert any("美咲 田中" in line for line in toast.message.splitlines()), toast.message
    finally:
        await console.close()


# -- the rules screen --------------------------------------------------------------------

SCREEN_RULES = """
[[rule]]
name = "Returns go to support"
on = "message"
once_per = "12h"
[rule.if]
text = ["返品", "交換"]
[rule.then]
tag = ["support"]
assign = "Ken"

[[rule]]
name = "After hours"
on = "message"
[rule.if]
hours = "closed"
[rule.then]
reply = "closed"

[[rule]]
name = "Nobody answered"
on = "no_reply"
after = "30m"
[rule.then]
notify = true
"""


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


async def fire(store: Store, clock: Clock, contact: int, rule: str, at: float) -> None:
    clock.at = at
    plan = AutomationPlan(
        event="message",
        contact_id=contact,
        tags=("support",),
        firings=(PlannedFiring(rule, {"tag": ["support"]}),),
    )
    assert await store.apply_automation(plan)


async def fired_shop(open_store: StoreOpener, name: str) -> tuple[Store, Clock, int]:
    """Returns fired 3 times this week (last today at 10:42), After hours once
    ten days ago, and a rule no longer in config.toml twice, two days ago."""
    clock = Clock(NOW)
    store = await open_store(name, clock=clock)
    emma = await _customer(store, "Emma")
    for at in (NOW - 3 * DAY, NOW - DAY, datetime(2026, 3, 12, 10, 42).timestamp()):
        await fire(store, clock, emma, "Returns go to support", at)
    await fire(store, clock, emma, "After hours", NOW - 10 * DAY)
    for _ in range(2):
        await fire(store, clock, emma, "Old welcome", NOW - 2 * DAY)
    clock.at = NOW
    return store, clock, emma


def dated(at: float) -> str:
    """An English console's date and time of a day before yesterday this year."""
    return datetime.fromtimestamp(at).strftime("%m-%d %H:%M")


def row_of(text: str, name: str) -> tuple[str, str]:
    """The rule's hits and when it last fired, as its row on the rules screen shows them."""
    line = next(line for line in text.splitlines() if name in line)
    cells = [cell.strip() for cell in line.split("│")]
    at = next(i for i, cell in enumerate(cells) if name in cell)
    return cells[at + 1], cells[at + 2]


@pytest.mark.backends
async def test_the_rules_screen_lists_each_rule_with_its_hits_and_last_firing(
    open_store: StoreOpener,
) -> None:
    store, clock, emma = await fired_shop(open_store, "shop.db")
    app = Console(store, rules=rules_of(SCREEN_RULES))
    try:
        async with app.run_test(size=(110, 40)) as pilot:
            await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
            await pilot.press("b")
            await wait_until(lambda: isinstance(app.screen, RulesScreen), pilot=pilot)
            await wait_until(lambda: "last fired" in screen_text(app), pilot=pilot)
            text = screen_text(app)
            assert row_of(text, "1. Returns go to support") == ("3", "today 10:42")
            assert "on message · text has “返品” or “交換” · once per customer in 12h" in text
            assert "→ tag: support · assign to Ken" in text
            # Ten days ago: not this week.
            assert row_of(text, "2. After hours") == ("0", dated(NOW - 10 * DAY))
            assert "on message · while closed" in text
            assert row_of(text, "3. Nobody answered") == ("0", "never")
            assert "on no reply · no answer for 30m" in text
            # Gone from config.toml, still in threads: after the rules.
            assert row_of(text, "Old welcome") == ("2", dated(NOW - 2 * DAY))
            assert text.index("Old welcome") > text.index("3. Nobody answered")
            assert "no longer in config.toml" in text

            # A rule fires while the screen is open (another process): counted again.
            other = await open_store("shop.db", clock=clock)
            try:
                await fire(other, clock, emma, "Returns go to support", NOW)
            finally:
                await other.close()
            await wait_until(
                lambda: row_of(screen_text(app), "1. Returns") == ("4", "today 15:30"),
                what="the new hit counted",
                pilot=pilot,
            )
            await pilot.press("escape")
            await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
    finally:
        await store.close()


@pytest.mark.backends
async def test_the_palette_opens_the_rules_and_without_rules_it_says_how_to_add_one(
    store: Store,
) -> None:
    app = Console(store)  # the demo's console: no [[rule]] at all
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Rules")
        await wait_until(lambda: "Rules" in screen_text(app), pilot=pilot)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, RulesScreen), pilot=pilot)
        await wait_until(lambda: "No automation rules yet" in screen_text(app), pilot=pilot)
        text = " ".join(screen_text(app).split())
        assert "[[rule]]" in text
        assert "Automation rules" in text and "README" in text
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)


def test_the_help_lists_the_rules_key() -> None:
    from omnitui.screens.help import binding_rows

    rows = binding_rows([("inbox", InboxScreen.BINDINGS)], {})
    assert ("inbox", "b", "Automation rules and their hits", "inbox.rules") in rows


# -- pictures ----------------------------------------------------------------------------


@pytest.fixture
def in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In colour and in Tokyo's time zone, as tests/test_snapshots.py draws its shop."""
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
    """Sakura Flowers' inbox (tests/test_snapshots.py) with rules that fired on
    Misaki today and on others this week, after `run_before`, settled."""
    clock = Clock(snaps.NOW)

    async def opened() -> Store:
        store = await Store.open(tmp_path / f"shop-{language}.db", clock=clock)
        await snaps.build_shop(store)
        contacts = {c.name: c.id for c in await store.list_contacts()}
        misaki, emma = contacts["田中 美咲"], contacts["Emma"]
        for at in (snaps.NOW - 2 * DAY, snaps.NOW - 4 * HOUR):
            await fire(store, clock, emma, "Returns go to support", at)
        await fire(store, clock, emma, "Old welcome", snaps.NOW - 9 * DAY)
        clock.at = snaps.NOW - MINUTE
        returns = PlannedFiring("Returns go to support", {"tag": ["support"], "assign": "Ken"})
        closed = PlannedFiring(
            "After hours",
            {"reply": "closed", "reply_skipped": "agent", "reply_skipped_why": "Aiko"},
        )
        plan = AutomationPlan(
            event="message", contact_id=misaki, tags=("support",), firings=(returns, closed)
        )
        assert await store.apply_automation(plan)
        clock.at = snaps.NOW
        return store

    store = asyncio.run(opened())
    app = OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=[snaps.MAIL, snaps.TELEGRAM, snaps.SMS],
        language=language,
        rules=rules_of(SCREEN_RULES),
    )

    async def then_settle(pilot: Pilot[None]) -> None:
        await snaps.inbox_ready(pilot)
        await run_before(pilot)
        await snaps.settled(pilot)

    try:
        assert snap_compare(app, terminal_size=snaps.SIZES[size], run_before=then_settle)
    finally:
        asyncio.run(store.close())


async def at_rules(pilot: Pilot[None]) -> None:
    """b: the rules, their hits this week and when each last fired."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    await pilot.press("b")
    await wait_until(lambda: isinstance(app.screen, RulesScreen), what="the rules", pilot=pilot)
    await wait_until(lambda: "Returns" in screen_text(app), pilot=pilot)


async def at_misaki_with_gear_lines(pilot: Pilot[None]) -> None:
    """Down to Misaki, enter: her thread ends with what two rules did a minute ago."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    screen = app.inbox
    await pilot.press("j", "enter")
    await wait_until(
        lambda: len(gear_lines(screen)) == 2 and screen.focused is screen.thread,
        what="Misaki's thread with two ⚙ lines",
        pilot=pilot,
    )


@pytest.mark.usefixtures("in_tokyo")
@pytest.mark.parametrize(("language", "size"), [("en", "80x24"), ("ja", "120x40")])
def test_rules_screen_picture(
    snap_compare: SnapCompare, tmp_path: Path, language: str, size: str
) -> None:
    picture(snap_compare, tmp_path, language, size, at_rules)


@pytest.mark.usefixtures("in_tokyo")
@pytest.mark.parametrize(("language", "size"), [("en", "120x40"), ("ja", "80x24")])
def test_thread_with_gear_lines_picture(
    snap_compare: SnapCompare, tmp_path: Path, language: str, size: str
) -> None:
    picture(snap_compare, tmp_path, language, size, at_misaki_with_gear_lines)
