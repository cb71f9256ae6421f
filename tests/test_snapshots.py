"""What the console looks like, pinned as pictures (SVG snapshots).

Each screen an agent works in — the inbox, a merged thread, the composer, the
merge preview, a profile and help — at the smallest supported terminal
(80x24) and a roomy one (120x40), in English and in Japanese. The shop is
built here with a fixed clock in a fixed time zone, so ages ("5m", "3時間")
and times read the same on every run and every machine.

A changed picture fails the test and writes `snapshot_report.html` showing
both. After a deliberate change of the layout (or of Textual's version),
look at the report, then accept with `pytest tests/test_snapshots.py
--snapshot-update` and commit the new SVGs with the change.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from omnitui.app import OmniApp
from omnitui.demo import STARTER_CANNED
from omnitui.domain.models import IDENTITY_FOR_CHANNEL, Channel, ChannelKind, Inbound
from omnitui.store import ProfileFields, RecordedOutbound, Store
from tests.waiting import wait_until

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Awaitable[None]]

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
TELEGRAM = Channel(ChannelKind.TELEGRAM, "shop-telegram")
SMS = Channel(ChannelKind.SMS, "shop-sms")

# Thursday 12 March 2026, 15:30 in Tokyo: the console's "now" in every picture.
JST = timezone(timedelta(hours=9))
NOW = datetime(2026, 3, 12, 15, 30, tzinfo=JST).timestamp()
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
LANGUAGES = ("en", "ja")
CUSTOMERS = 7  # contacts in the list once the merge below is done
LOOKS = 25  # the same picture this many looks in a row (about 0.5 s) is a settled screen


@pytest.fixture(autouse=True)
def same_everywhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In colour, and in Tokyo's time zone (times are drawn in the local one;
    "JST-9" needs no tz database), whatever the machine running the tests."""
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


async def build_shop(store: Store) -> None:
    """Sakura Flowers' inbox at NOW.

    Emma wrote last (an SMS, 2 minutes ago). Misaki wrote by email three days
    ago, then by Telegram and SMS: her three contacts were merged into one, so
    her thread mixes the three channels. Others wrote an hour, yesterday, days
    and weeks ago; Emma also has a second contact by email, with a different
    language, for the merge preview.
    """
    await store.add_canned_replies(STARTER_CANNED)
    misaki_mail = await store.create_contact(
        "田中 美咲",
        [(IDENTITY_FOR_CHANNEL[ChannelKind.EMAIL], "misaki@example.jp")],
        ProfileFields("美咲", "ja", {"order_id": "#1203"}),
    )
    await store.ingest(
        [
            Inbound(
                MAIL,
                "m1",
                "misaki@example.jp",
                "田中 美咲",
                "来週の土曜日に、バラの花束を5000円くらいで予約できますか？",
                NOW - 3 * DAY,
                subject="花束の予約について",
            )
        ]
    )
    await store.record_outbound(
        [
            RecordedOutbound(
                MAIL,
                "misaki@example.jp",
                "田中様、ご予約ありがとうございます。土曜日の11時以降にお渡しできます。",
                NOW - 3 * DAY + 40 * MINUTE,
                "m1-reply",
                subject="Re: 花束の予約について",
                author="Aiko",
            )
        ]
    )
    telegram = await store.ingest(
        [
            Inbound(
                TELEGRAM,
                "t1",
                "500000001",
                "Misaki T",
                "メールの件です。ピンクを多めにしてください🌸",
                NOW - 3 * HOUR,
            )
        ]
    )
    sms = await store.ingest(
        [Inbound(SMS, "s1", "+819012340001", "田中", "土曜の11時に伺います。", NOW - 5 * MINUTE)]
    )
    await store.merge(telegram[0].contact_id, misaki_mail, agent="Aiko")
    await store.merge(sms[0].contact_id, misaki_mail, agent="Aiko")

    others = [
        Inbound(MAIL, "m2", "sophie@example.com", "Sophie Martin", "Thank you, the tulips were lovely!", NOW - 20 * DAY, subject="Tulips"),
        Inbound(MAIL, "m3", "hina.suzuki@example.jp", "鈴木 陽菜", "配達の時間を変更できますか？", NOW - 3 * DAY - 2 * HOUR, subject="配達について"),
        Inbound(MAIL, "m4", "oliver@example.com", "Oliver Brown", "Do you deliver to Yokohama on Sunday?", NOW - DAY - 4 * HOUR, subject="Delivery to Yokohama"),
        Inbound(TELEGRAM, "t2", "500000002", "佐藤 健太", "胡蝶蘭の鉢はまだありますか？", NOW - HOUR - 10 * MINUTE),
        Inbound(MAIL, "m5", "emma.w@example.com", "Emma Wilson", "Could you add a card to order #2231?", NOW - 2 * DAY, subject="Card for #2231"),
        Inbound(SMS, "s2", "+819012340002", "Emma", "Is my order ready? I can come at 5.", NOW - 2 * MINUTE),
    ]  # fmt: skip
    ids = {item.provider_id: (await store.ingest([item]))[0].contact_id for item in others}
    await store.set_profiles(
        {
            ids["s2"]: ProfileFields("Emma", "en", {}),
            ids["m5"]: ProfileFields("Emma", "ja", {"order_id": "#2231"}),
        }
    )
    for read in ("m2", "m3", "m4"):
        await store.mark_read(ids[read])


def console(language: str, tmp_path: Path) -> tuple[OmniApp, Store]:
    """Aiko's console on a freshly built shop whose clock stands at NOW."""

    async def opened() -> Store:
        store = await Store.open(tmp_path / f"shop-{language}.db", clock=lambda: NOW)
        await build_shop(store)
        return store

    store = asyncio.run(opened())
    app = OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=[MAIL, TELEGRAM, SMS],
        language=language,
    )
    return app, store


def snapshot(
    snap_compare: SnapCompare,
    tmp_path: Path,
    language: str,
    size: str,
    run_before: RunBefore,
) -> None:
    """The picture after `run_before`, once the screen has stopped changing."""
    app, store = console(language, tmp_path)

    async def then_settle(pilot: Pilot[None]) -> None:
        await inbox_ready(pilot)
        await run_before(pilot)
        await settled(pilot)

    try:
        assert snap_compare(app, terminal_size=SIZES[size], run_before=then_settle)
    finally:
        asyncio.run(store.close())


async def inbox_ready(pilot: Pilot[None]) -> None:
    """Every customer is listed and the one at the top has their thread open."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    await wait_until(lambda: isinstance(app.screen, type(app.inbox)), what="the inbox is up")
    screen = app.inbox
    await wait_until(
        lambda: (
            len(screen.contacts.contacts) == CUSTOMERS
            and screen.contact is not None
            and screen.contact.id == screen.contacts.contacts[0].id
            and bool(screen.thread.messages)
        ),
        what="the inbox lists every customer with the first thread open",
        pilot=pilot,
    )


async def settled(pilot: Pilot[None]) -> None:
    """No blinking cursor, and the same picture for a few looks in a row: every
    loader, poll and refresh that the keys started has drawn what it drew."""
    app = pilot.app
    for editor in app.screen.query("Input, TextArea"):
        assert isinstance(editor, Input | TextArea)
        editor.cursor_blink = False  # a blink would make two runs differ
        if isinstance(editor, TextArea):
            # Textual keys a TextArea's cached lines without the cursor once blinking
            # stops: a line drawn in the blink's dark half would stay dark. Draw anew.
            editor.notify_style_update()
            editor.refresh()
    seen: list[str] = []

    def still() -> bool:
        seen.append(app.export_screenshot())
        return len(seen) >= LOOKS and len(set(seen[-LOOKS:])) == 1

    await wait_until(still, what="the screen stops changing", pilot=pilot)


# -- how an agent gets to each screen ------------------------------------------------


async def at_inbox(pilot: Pilot[None]) -> None:
    """Start-up: the list, Emma's thread beside it (nothing pressed)."""


async def at_merged_thread(pilot: Pilot[None]) -> None:
    """Down to Misaki, enter: her thread, by email, Telegram and SMS, is focused."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    screen = app.inbox
    await pilot.press("j", "enter")
    await wait_until(
        lambda: (
            screen.focused is screen.thread
            and screen.contact is not None
            and screen.contact.name == "田中 美咲"
            and len(screen.thread.messages) == 4
            and screen.contacts.contacts[1].unread == 0
        ),
        what="Misaki's merged thread is open and read",
        pilot=pilot,
    )


async def at_composer(pilot: Pilot[None]) -> None:
    """Enter on Emma, r, a reply typed: the SMS composer with its count."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    screen = app.inbox
    await pilot.press("enter")
    await wait_until(lambda: screen.focused is screen.thread, pilot=pilot)
    await pilot.press("r")
    await pilot.press(*"Yes, it is ready. See you at 5!")
    await wait_until(
        lambda: (
            screen.composer.text == "Yes, it is ready. See you at 5!"
            and screen.contacts.contacts[0].draft
        ),
        what="the reply is typed and kept as a draft (✎ in the list)",
        pilot=pilot,
    )


async def at_merge_preview(pilot: Pilot[None]) -> None:
    """On Emma, m, her other address typed, enter: what would move and which value wins."""
    app = pilot.app
    await pilot.press("m")
    await wait_until(lambda: bool(app.screen.query(Input)), what="the merge picker", pilot=pilot)
    await pilot.press(*"emma.w")
    await wait_until(
        lambda: len(getattr(app.screen, "found", [])) == 1,
        what="one contact found to merge",
        pilot=pilot,
    )
    await pilot.press("enter")
    await wait_until(
        lambda: type(app.screen).__name__ == "MergeScreen", what="the merge preview", pilot=pilot
    )


async def at_profile(pilot: Pilot[None]) -> None:
    """Down to Misaki, p: her profile, three identities and what the merges kept."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    screen = app.inbox
    await pilot.press("j")
    await wait_until(
        lambda: screen.contact is not None and screen.contact.name == "田中 美咲", pilot=pilot
    )
    # Her thread drawn and scrolled to its end before the profile covers it: on a
    # busy machine the scroll could otherwise land after the picture is taken.
    await settled(pilot)
    await pilot.press("p")
    await wait_until(
        lambda: type(app.screen).__name__ == "ProfileScreen", what="the profile", pilot=pilot
    )


async def at_help(pilot: Pilot[None]) -> None:
    """?: the table of keys."""
    app = pilot.app
    await pilot.press("question_mark")
    await wait_until(lambda: type(app.screen).__name__ == "HelpScreen", what="help", pilot=pilot)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_inbox(snap_compare: SnapCompare, tmp_path: Path, language: str, size: str) -> None:
    snapshot(snap_compare, tmp_path, language, size, at_inbox)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_merged_thread(snap_compare: SnapCompare, tmp_path: Path, language: str, size: str) -> None:
    snapshot(snap_compare, tmp_path, language, size, at_merged_thread)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_composer(snap_compare: SnapCompare, tmp_path: Path, language: str, size: str) -> None:
    snapshot(snap_compare, tmp_path, language, size, at_composer)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_merge_preview(snap_compare: SnapCompare, tmp_path: Path, language: str, size: str) -> None:
    snapshot(snap_compare, tmp_path, language, size, at_merge_preview)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_profile(snap_compare: SnapCompare, tmp_path: Path, language: str, size: str) -> None:
    snapshot(snap_compare, tmp_path, language, size, at_profile)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_help(snap_compare: SnapCompare, tmp_path: Path, language: str, size: str) -> None:
    snapshot(snap_compare, tmp_path, language, size, at_help)
