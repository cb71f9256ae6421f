"""The console driven as an agent would: keys in, screen out (Textual's pilot)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from omnitui.app import OmniApp
from omnitui.demo import DEMO_CHANNELS, STARTER_CANNED, DemoShop
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Delivery,
    Inbound,
    Message,
    SearchHit,
    ThreadStatus,
)
from omnitui.screens.help import HelpScreen
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.pickers import SearchScreen
from omnitui.store import ProfileFields, Store, ThreadCursor
from tests.conftest import StoreOpener
from tests.waiting import wait_for_value, wait_until

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
SMS = Channel(ChannelKind.SMS, "shop-sms")
HOSTILE = "[bold red]FREE[/] \x1b[2J\x1b[31mclick\x1b[0m \x07"


async def shop(store: Store) -> dict[str, int]:
    """Three customers; Emma wrote last, so she is at the top of the list."""
    now = time.time()
    await store.add_canned_replies(STARTER_CANNED)
    ids = {}
    got = await store.ingest(
        [
            Inbound(
                MAIL,
                "m1",
                "misaki@example.jp",
                "田中 美咲",
                "ご予約の確認をお願いします。",
                now - 300,
                subject="ご予約について",
            )
        ]
    )
    ids["misaki"] = got[0].contact_id
    got = await store.ingest(
        [Inbound(MAIL, "m2", "mallory@example.com", "Mallory [red]x[/]", HOSTILE, now - 200)]
    )
    ids["mallory"] = got[0].contact_id
    got = await store.ingest(
        [Inbound(SMS, "s1", "+819012345678", "Emma", "Is my order ready?", now - 100)]
    )
    ids["emma"] = got[0].contact_id
    await store.set_profiles(
        {
            ids["misaki"]: ProfileFields("美咲", "ja", {"order_id": "#1203"}),
            ids["emma"]: ProfileFields("Emma", "en", {}),
        }
    )
    return ids


def make_app(store: Store, language: str | None = "en") -> OmniApp:
    """The console as Aiko of Sakura Flowers sees it (English unless asked;
    None follows the locale)."""
    return OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=[MAIL, SMS],
        poll_changes=0.05,
        language=language,
    )


async def pick_to_merge(pilot: Pilot[None], query: str) -> None:
    """`m`, type `query`, enter on the one contact found: the merge preview opens."""
    app = pilot.app
    await pilot.pause()
    await pilot.press("m")
    await pilot.pause()
    app.screen.query_one(Input).value = query
    await wait_until(lambda: len(getattr(app.screen, "found", [])) == 1, pilot=pilot)
    await pilot.press("enter")


def inbox(app: OmniApp) -> InboxScreen:
    return app.inbox


async def open_contact(pilot: Pilot[None], name: str) -> None:
    screen = inbox(pilot.app)  # type: ignore[arg-type]
    for _ in range(len(screen.contacts.contacts)):
        if screen.contacts.contacts[screen.contacts.highlighted or 0].name == name:
            break
        await pilot.press("j")
    await pilot.press("enter")
    await pilot.pause()
    await wait_until(
        lambda: screen.contact is not None and screen.contact.name == name, pilot=pilot
    )


@pytest.mark.backends
async def test_enter_opens_the_merged_thread_newest_at_the_bottom(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "田中 美咲")
        screen = inbox(app)
        await wait_until(lambda: screen.focused is screen.thread, pilot=pilot)
        text = "\n".join(screen.thread.lines_text())
        assert "ご予約の確認をお願いします。" in text and "ご予約について" in text
        # Opening marks the thread read.
        await wait_for_value(lambda: _unread(store, ids["misaki"]), 0, pilot=pilot)


async def _last_text(store: Store, contact_id: int) -> str:
    return (await store.thread_page(contact_id))[-1].text


async def _count(store: Store, contact_id: int) -> int:
    return len(await store.thread_page(contact_id))


async def _unread(store: Store, contact_id: int) -> int:
    return (await store.get_contact(contact_id)).unread


async def test_customer_text_with_escapes_and_markup_is_shown_literally(store: Store) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Mallory [red]x[/]")
        lines = inbox(app).thread.lines_text()
        shown = "\n".join(lines)
        assert "[bold red]FREE[/]" in shown
        assert "␛[2J" in shown and "␛[31mclick" in shown
        assert "Mallory [red]x[/]" in shown
        # Nothing that reaches the terminal carries a raw control character.
        for strip in inbox(app).thread._lines:
            for segment in strip:
                assert not any(ord(ch) < 32 for ch in segment.text)
        # The contact list shows the name literally too.
        names = [c.name for c in inbox(app).contacts.contacts]
        assert "Mallory [red]x[/]" in names


async def test_reply_goes_out_on_the_last_channel(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        await pilot.press("r")
        assert inbox(app).composer.channel == SMS
        await pilot.press(*"Yes, ready at 3pm")
        await pilot.press("ctrl+s")
        await wait_for_value(lambda: _count(store, ids["emma"]), 2, pilot=pilot)
        page = await store.thread_page(ids["emma"])
        assert (page[-1].text, page[-1].kind, page[-1].status) == (
            "Yes, ready at 3pm",
            ChannelKind.SMS,
            Delivery.QUEUED,
        )
        assert inbox(app).composer.text == ""
        await wait_until(lambda: "queued" in "\n".join(inbox(app).thread.lines_text()), pilot=pilot)


async def test_composer_counts_sms_segments_and_warns_of_ucs2(store: Store) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        await pilot.press("r")
        await pilot.press(*"Thanks")
        status = str(app.screen.query_one("#composer-status").render())
        assert "1 SMS · GSM-7 6/160" in status
        inbox(app).composer.text_area.insert("🌸")
        await pilot.pause()
        status = str(app.screen.query_one("#composer-status").render())
        assert "UCS-2" in status and "makes it UCS-2" in status


@pytest.mark.backends
async def test_canned_reply_is_personalised_from_the_profile(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "田中 美咲")
        await pilot.press("c")
        await pilot.pause()
        await pilot.press(*"ready")
        await pilot.pause(0.1)
        await pilot.press("enter")
        await pilot.pause()
        text = inbox(app).composer.text
        # The contact's language (ja) variant comes first, with her name and order id.
        assert text == "田中 美咲様、ご注文#1203のご用意ができました。"
        await pilot.press("ctrl+s")
        await wait_for_value(lambda: _last_text(store, ids["misaki"]), text, pilot=pilot)


async def test_sending_is_refused_while_a_placeholder_is_unresolved(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        await pilot.press("r")
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press(*"ready")
        await pilot.pause(0.1)
        await pilot.press("enter")
        await pilot.pause()
        from omnitui.screens.fill import FillScreen

        assert isinstance(app.screen, FillScreen)  # the profile has no order_id: asked for
        await pilot.press("escape")  # the agent leaves it for later
        await pilot.pause()
        assert inbox(app).composer.text == "Hi Emma, your order {order_id} is ready for pickup."
        await pilot.press("ctrl+s")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("Not sent: fill in {order_id}" in m for m in messages)
        assert len(await store.thread_page(ids["emma"])) == 1  # nothing queued
        # Typing the value over the placeholder lets it go.
        area = inbox(app).composer.text_area
        area.load_text(area.text.replace("{order_id}", "#77"))
        await pilot.press("ctrl+s")
        await wait_for_value(
            lambda: _last_text(store, ids["emma"]),
            "Hi Emma, your order #77 is ready for pickup.",
            pilot=pilot,
        )


async def test_a_value_asked_for_is_guessed_where_it_can_be_and_kept_on_the_profile(
    store: Store,
) -> None:
    from omnitui.screens.fill import FillScreen

    await store.add_canned_replies(
        [("ask", "Order", "{first_name}様、ご注文{order_id}の件です。", "")]
    )
    got = await store.ingest([Inbound(SMS, "h1", "+819055556666", "山田 花子", "注文の件", 1.0)])
    hanako = got[0].contact_id
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "山田 花子")
        await pilot.press("r", "ctrl+r")
        await pilot.pause()
        await pilot.press(*"ask")
        await pilot.pause(0.1)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, FillScreen), pilot=pilot)
        fill = app.screen
        # Family name first: the given name is filled in for the agent to check.
        assert fill.query_one("#fill-first_name", Input).value == "花子"
        assert fill.query_one("#fill-order_id", Input).value == ""
        await pilot.press("enter", *"#88", "enter")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await wait_until(lambda: "#88" in inbox(app).composer.text, pilot=pilot)
        assert inbox(app).composer.text == "花子様、ご注文#88の件です。"
        kept = await store.get_contact(hanako)
        assert kept.first_name == "花子" and kept.profile["order_id"] == "#88"
        inbox(app).composer.text_area.load_text("")
        await pilot.press("ctrl+r")  # next time nothing is asked
        await pilot.pause()
        await pilot.press(*"ask")
        await pilot.pause(0.1)
        await pilot.press("enter")
        await wait_until(lambda: "#88" in inbox(app).composer.text, pilot=pilot)
        assert not isinstance(app.screen, FillScreen)


@pytest.mark.backends
async def test_search_jumps_to_the_message(store: Store) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(Input).value = "予約"
        await wait_until(lambda: len(getattr(app.screen, "hits", [])) > 0, pilot=pilot)
        await pilot.press("enter")
        screen = inbox(app)
        await wait_until(
            lambda: screen.contact is not None and screen.contact.name == "田中 美咲", pilot=pilot
        )
        selected = screen.thread.selected_message
        assert selected is not None and "予約" in selected.text


async def test_a_search_closed_while_it_runs_does_not_crash_the_console(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Escape while the store is still searching: the answer arrives when the
    search is already going away, and the console must simply drop it."""
    await shop(store)
    real_search = store.search
    asked: list[str] = []

    async def search_answering_late(query: str, *, limit: int = 50) -> list[SearchHit]:
        asked.append(query)
        hits = await real_search(query, limit=limit)
        # The answer comes only once the search's list has left the screen.
        # Looked at every turn of the event loop (a timed poll could miss the
        # short moment between the list leaving and the search itself going).
        while searching.query("#picker-options"):  # noqa: ASYNC110
            await asyncio.sleep(0)
        return hits

    monkeypatch.setattr(store, "search", search_answering_late)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash")
        await wait_until(lambda: isinstance(app.screen, SearchScreen), pilot=pilot)
        searching = app.screen
        searching.query_one(Input).value = "予約"
        await wait_until(lambda: asked, what="the search asked the store", pilot=pilot)
        await pilot.press("escape")
        await wait_until(lambda: not searching.is_attached, what="the search closed", pilot=pilot)
        await pilot.pause()
        assert app.screen is inbox(app)
        assert app.return_code is None and app.is_running
    assert app.return_code in (0, None)


@pytest.mark.backends
async def test_resolve_reopen_and_snooze_from_the_contact_list(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert inbox(app).contacts.current_contact_id == ids["emma"]
        await pilot.press("e")
        await pilot.pause()
        assert (await store.get_contact(ids["emma"])).status is ThreadStatus.RESOLVED
        await pilot.press("o")
        await pilot.pause()
        assert (await store.get_contact(ids["emma"])).status is ThreadStatus.OPEN
        await pilot.press("z")
        await pilot.pause()
        await pilot.press("down", "enter")  # 3 hours
        await pilot.pause()
        contact = await store.get_contact(ids["emma"])
        assert contact.status is ThreadStatus.SNOOZED
        assert (
            contact.snoozed_until is not None
            and 2.9 * 3600 < contact.snoozed_until - time.time() < 3.1 * 3600
        )


@pytest.mark.backends
async def test_merge_picks_confirms_and_can_be_undone(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pick_to_merge(pilot, "田中")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        thread = await store.thread_page(ids["emma"])
        assert {m.kind for m in thread} == {ChannelKind.SMS, ChannelKind.EMAIL}
        assert await store.count_contacts() == 2
        await wait_until(
            lambda: (
                inbox(app).composer.channels == [SMS, MAIL]
                or len(inbox(app).composer.channels) == 2
            ),
            pilot=pilot,
        )
        await pilot.press("u")
        await pilot.pause()
        assert await store.count_contacts() == 3
        assert [m.kind for m in await store.thread_page(ids["emma"])] == [ChannelKind.SMS]


@pytest.mark.backends
async def test_merge_shows_what_moves_and_the_agent_picks_which_name_wins(store: Store) -> None:
    from omnitui.screens.merge import MergeScreen

    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("m")  # on Emma (SMS), merge Misaki's email contact into her
        await pilot.pause()
        app.screen.query_one(Input).value = "田中"
        await wait_until(lambda: len(getattr(app.screen, "found", [])) == 1, pilot=pilot)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, MergeScreen), pilot=pilot)
        preview = app.screen
        assert isinstance(preview, MergeScreen)
        moves = str(preview.query_one("#moves").render())
        assert "misaki@example.jp" in moves and "1 message" in moves
        assert [c.label for c in preview.conflicts] == ["name", "first_name", "language"]
        assert "order_id" in str(preview.query_one("#kept").render())
        await pilot.press("enter")  # the name row: Misaki's name wins
        await pilot.press("down", "down", "space")  # language: hers (ja) wins too
        await pilot.pause()
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await wait_until(lambda: inbox(app).contact is not None, pilot=pilot)
        merged = await store.get_contact(ids["emma"])
        assert (merged.name, merged.first_name, merged.language) == ("田中 美咲", "Emma", "ja")
        assert merged.profile["order_id"] == "#1203"
        lost = {(h.field, h.value) for h in await store.field_history(ids["emma"])}
        assert lost == {("name", "Emma"), ("first_name", "美咲"), ("language", "en")}
        await wait_until(
            lambda: getattr(inbox(app).contact, "name", None) == "田中 美咲", pilot=pilot
        )
        await pilot.press("p")  # the profile lists the values that lost
        await pilot.pause()
        await wait_until(
            lambda: "Emma" in str(app.screen.query_one("#history").render()), pilot=pilot
        )
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("u")
        await pilot.pause()
        back = await store.get_contact(ids["emma"])
        assert (back.name, back.first_name, back.language) == ("Emma", "Emma", "en")
        assert "order_id" not in back.profile


@pytest.mark.backends
async def test_merge_preview_escape_merges_nothing(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pick_to_merge(pilot, "田中")
        await wait_until(lambda: type(app.screen).__name__ == "MergeScreen", pilot=pilot)
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        assert await store.count_contacts() == 3
        assert (await store.get_contact(ids["emma"])).name == "Emma"


async def test_help_lists_every_key_of_the_screen(store: Store) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = {(row[1], row[2]) for row in app.screen.rows}
        for expected in [
            ("e", "Resolve"),
            ("z", "Snooze"),
            ("m", "Merge"),
            ("/", "Search"),
            ("ctrl+s", "Send"),
            ("r", "Reply"),
            ("q", "Quit"),
        ]:
            assert expected in keys
        # Each row names the id that [keymap] in config.toml remaps.
        ids = {row[2]: row[3] for row in app.screen.rows}
        assert ids["Resolve"] == "inbox.resolve" and ids["Send"] == "composer.send"
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)


async def test_a_new_message_appears_live_in_the_open_thread(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        await store.ingest(
            [Inbound(SMS, "s2", "+819012345678", "Emma", "Also, do you have tulips?", time.time())]
        )
        await wait_until(
            lambda: "Also, do you have tulips?" in "\n".join(inbox(app).thread.lines_text()),
            pilot=pilot,
        )
        assert inbox(app).contacts.contacts[0].id == ids["emma"]


async def test_usable_at_80_by_24(store: Store) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contact(pilot, "Emma")
        screen = inbox(app)
        assert not screen.query_one("#right").display  # canned pane folds away
        assert screen.contacts.size.width >= 24 and screen.thread.size.width >= 40
        assert screen.thread.size.height >= 5
        # Each customer is two rows, whatever the width: nothing wraps into the next row.
        from rich.cells import cell_len

        room = screen.contacts.scrollable_content_region.width
        for index in range(screen.contacts.option_count):
            prompt = screen.contacts.get_option_at_index(index).prompt
            assert all(cell_len(line) <= room for line in str(prompt).split("\n"))
        await pilot.press("c")
        await pilot.pause()
        assert app.screen.query_one(Input)  # the picker still works


async def test_demo_channels_answer_replies(demo: tuple[Store, DemoShop]) -> None:
    from omnitui.adapters.demo import DemoAdapter
    from omnitui.hub import Hub

    store, shop_ = demo
    adapters = [
        DemoAdapter(c, shop_, interval=(60, 90), send_delay=0.01, deliver_delay=0.05)
        for c in DEMO_CHANNELS
    ]
    hub = Hub(store, adapters, poll_outbox=0.02)
    await hub.start()
    app = OmniApp(
        store,
        agent_name="Aiko",
        channels=DEMO_CHANNELS,
        on_outbox=hub.outbox_changed,
        poll_changes=0.05,
    )
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("r", *"Thank you!", "ctrl+s")
            screen = inbox(app)
            await wait_until(
                lambda: "delivered ✓✓" in "\n".join(screen.thread.lines_text()[-4:]), pilot=pilot
            )
    finally:
        await hub.stop()
    await asyncio.sleep(0)


@pytest.mark.backends
async def test_a_long_contact_list_loads_page_by_page(store: Store) -> None:
    now = time.time()
    await store.ingest(
        [
            Inbound(MAIL, f"p{n}", f"c{n}@example.jp", f"Customer {n:03d}", "hi", now - n)
            for n in range(150)
        ]
    )
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        contacts = inbox(app).contacts
        assert 0 < len(contacts.contacts) < 150  # not everything at once
        assert "All 150" in str(contacts.border_title)
        for _ in range(10):
            await pilot.press("end")
            await pilot.pause(0.05)
        assert len(contacts.contacts) == 150
        assert contacts.contacts[-1].name == "Customer 149"
        assert [c.name for c in contacts.contacts[:2]] == ["Customer 000", "Customer 001"]


async def test_moving_down_shows_the_next_thread_and_a_slow_one_never_freezes_the_screen(
    store: Store,
) -> None:
    from omnitui.screens.inbox import HOLD_FRAME

    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = inbox(app)
        await wait_until(lambda: screen.contact is not None, pilot=pilot)
        assert screen.contact is not None and screen.contact.id == ids["emma"]
        await pilot.press("j")
        await wait_until(
            lambda: screen.contact is not None and screen.contact.name != "Emma", pilot=pilot
        )
        assert "Is my order ready?" not in "\n".join(screen.thread.lines_text())
        assert screen.contacts.current_contact_id == screen.contact.id
        assert not app._batch_count  # the highlight and the thread are on screen

        # A thread that takes long to read (a cold disk): the highlight moves at once.
        thread_page = store.thread_page
        reading = asyncio.Event()

        async def slow_thread_page(
            contact_id: int, *, before: ThreadCursor | None = None, limit: int = 50
        ) -> list[Message]:
            reading.set()
            await asyncio.sleep(1.0)
            return await thread_page(contact_id, before=before, limit=limit)

        store.thread_page = slow_thread_page  # type: ignore[method-assign]
        await pilot.press("j")
        await reading.wait()
        await asyncio.sleep(HOLD_FRAME + 0.1)
        assert not app._batch_count  # not waiting for the thread to draw
        store.thread_page = thread_page  # type: ignore[method-assign]
        await wait_until(
            lambda: screen.contact is not None and screen.contact.name == "田中 美咲", pilot=pilot
        )
        assert not app._batch_count


async def test_the_command_palette_resolves_a_thread(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert inbox(app).contacts.current_contact_id == ids["emma"]
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Resolve")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert (await store.get_contact(ids["emma"])).status is ThreadStatus.RESOLVED


@pytest.mark.backends
async def test_typing_a_shortcut_expands_the_canned_reply_in_the_contacts_language(
    store: Store,
) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "田中 美咲")
        await pilot.press("r")
        await pilot.press(*"/thanks ")
        await pilot.pause(0.1)
        text = inbox(app).composer.text
        assert text == "田中 美咲様、ご連絡ありがとうございます。Sakura FlowersのAikoです。"
        await pilot.press(*" /nosuch ")
        await pilot.pause(0.1)
        assert inbox(app).composer.text.endswith(" /nosuch ")  # an unknown shortcut stays as typed


@pytest.mark.backends
async def test_the_profile_is_edited_from_the_keyboard(store: Store) -> None:
    from omnitui.screens.profile import ProfileScreen

    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ProfileScreen)
        await pilot.press("tab")  # first name
        await pilot.press("ctrl+a", "ctrl+k", *"Em")
        await pilot.press("tab", "tab")  # tags
        await pilot.press(*"vip, wholesale")
        await pilot.press("tab")
        await pilot.press(*"company: Acme 株式会社")
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        await pilot.press("escape")
        await pilot.pause(0.1)
        contact = await store.get_contact(ids["emma"])
        assert (contact.first_name, contact.tags) == ("Em", ("vip", "wholesale"))
        assert contact.profile == {"company": "Acme 株式会社"}


async def test_an_sms_reply_cannot_carry_a_file(store: Store, tmp_path: Path) -> None:
    ids = await shop(store)
    photo = tmp_path / "bouquet.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg")
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        await pilot.press("r")
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        await pilot.press(*str(photo), "enter")
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert any("cannot carry files" in n.message for n in app._notifications)
        assert len(await store.thread_page(ids["emma"])) == 1


@pytest.mark.backends
async def test_possible_duplicates_are_shown_with_evidence_and_accepted_or_dismissed(
    store: Store,
) -> None:
    from omnitui.screens.duplicates import DuplicatesScreen

    now = time.time()
    await store.ingest(
        [
            Inbound(MAIL, "d1", "misaki@example.jp", "田中 美咲", "予約の件です", now - 50),
            Inbound(SMS, "d2", "+819011112222", "田中美咲", "明日行きます", now - 40),
            Inbound(
                MAIL, "d3", "ken@example.jp", "Ken", "Regards,\nKen\nTel 080-3333-4444", now - 30
            ),
            Inbound(SMS, "d4", "+818033334444", "", "on my way", now - 20),
        ]
    )
    app = make_app(store)
    app.phone_region = "JP"  # the shop's country reads 080-… numbers
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("D")
        await wait_until(
            lambda: isinstance(app.screen, DuplicatesScreen) and len(app.screen.suggestions) == 2,
            pilot=pilot,
        )
        screen = app.screen
        assert isinstance(screen, DuplicatesScreen)
        evidence = sorted(s.evidence for s in screen.suggestions)
        assert evidence[0].startswith("names read alike: 田中")
        assert "080" not in evidence[1] and "+818033334444" in evidence[1]
        first = screen.suggestions[0]
        await pilot.press("a")  # merge the first pair
        await wait_until(lambda: len(screen.suggestions) == 1, pilot=pilot)
        await pilot.press("d")  # the other is dismissed
        await wait_until(lambda: len(screen.suggestions) == 0, pilot=pilot)
        await pilot.press("escape")
    assert await store.count_contacts() == 3
    assert first.a in {c.id for c in await store.list_contacts()}
    assert await store.duplicate_suggestions() == []


@pytest.mark.backends
async def test_views_count_and_filter_and_next_waiting_jumps_to_the_longest_wait(
    store: Store,
) -> None:
    from omnitui.domain.views import View

    ids = await shop(store)
    await store.enqueue_reply(ids["mallory"], MAIL, "We got your message")  # answered: not waiting
    await store.set_status(ids["misaki"], ThreadStatus.SNOOZED, time.time() + 3600)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = inbox(app)
        assert screen.counts[View.ALL] == 3 and screen.counts[View.WAITING] == 1
        assert screen.counts[View.SNOOZED] == 1 and screen.counts[View.SMS] == 1
        top = screen.contacts.contacts[0]  # Mallory: the reply made hers the newest thread
        await pilot.press("A")  # ...and now she is mine
        await pilot.pause()
        assert screen.counts[View.MINE] == 1 and screen.counts[View.UNASSIGNED] == 1
        await pilot.press("v")  # All -> Mine
        await pilot.pause()
        assert screen.view is View.MINE and [c.id for c in screen.contacts.contacts] == [top.id]
        assert "Mine 1" in str(screen.contacts.border_title)
        await pilot.press("V")
        await pilot.pause(0.1)
        await pilot.press("down", "down", "enter")  # Waiting
        await pilot.pause(0.1)
        assert str(screen.view) == "Waiting"
        await store.ingest(
            [Inbound(SMS, "s9", "+819012345678", "Emma", "hello?", time.time() - 1000)]
        )
        await pilot.press("n")
        await pilot.pause(0.1)
        assert screen.contact is not None and screen.contact.id == ids["emma"]


@pytest.mark.backends
async def test_tags_typed_with_t_make_a_view_with_its_count(store: Store) -> None:
    from omnitui.domain.views import TagView
    from omnitui.screens.tags import TagsScreen
    from omnitui.screens.views import ViewPicker

    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = inbox(app)
        assert screen.contacts.contacts[0].id == ids["emma"]
        await pilot.press("t")
        await wait_until(lambda: isinstance(app.screen, TagsScreen), pilot=pilot)
        await pilot.press(*"vip, 花束", "enter")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await wait_until(lambda: screen.counts.get(TagView("vip")) == 1, pilot=pilot)
        assert (await store.get_contact(ids["emma"])).tags == ("vip", "花束")
        assert screen.counts[TagView("花束")] == 1
        await pilot.press("j", "t")  # Mallory gets one of the same tags
        await wait_until(lambda: isinstance(app.screen, TagsScreen), pilot=pilot)
        await pilot.press(*"#vip", "enter")
        await wait_until(lambda: screen.counts.get(TagView("vip")) == 2, pilot=pilot)
        await pilot.press("V")
        await wait_until(lambda: isinstance(app.screen, ViewPicker), pilot=pilot)
        picker = app.screen
        assert isinstance(picker, ViewPicker)
        assert picker.views[-2:] == [TagView("vip"), TagView("花束")]
        await pilot.press("end", "up", "enter")  # #vip
        await wait_until(lambda: screen.view == TagView("vip"), pilot=pilot)
        await wait_until(lambda: len(screen.contacts.contacts) == 2, pilot=pilot)
        assert {c.id for c in screen.contacts.contacts} == {ids["emma"], ids["mallory"]}
        assert "#vip 2" in str(screen.contacts.border_title)
        await pilot.press("v")  # the next view is the next tag
        await wait_until(lambda: screen.view == TagView("花束"), pilot=pilot)
        assert [c.id for c in screen.contacts.contacts] == [ids["emma"]]
        await pilot.press("v")  # ...and after the last tag, All again
        await wait_until(lambda: str(screen.view) == "All", pilot=pilot)


async def test_a_channel_that_stopped_working_is_named_above_the_panes_until_it_works(
    store: Store,
) -> None:
    await shop(store)
    await store.set_channel_problem("shop-mail", "IMAP login refused for shop@example.com")
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        banner = inbox(app).query_one("#channel-problems")
        assert banner.display
        assert "⚠ shop-mail: IMAP login refused" in str(banner.render())
        # Whichever OmniTUI process runs the channels says when it works again.
        await store.set_channel_problem("shop-mail", None)
        await wait_until(lambda: not banner.display, pilot=pilot)
        await store.set_channel_problem("shop-sms", "Twilio did not answer [red]x[/]; retrying")
        await wait_until(lambda: banner.display, pilot=pilot)
        assert "[red]x[/]" in str(banner.render())  # shown as written, never as markup


async def test_a_new_message_for_nobody_rings_and_shows_a_toast(store: Store) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await store.ingest(
            [Inbound(SMS, "s3", "+819055556666", "Kenji", "Are you open?", time.time())]
        )
        await wait_until(
            lambda: any(n.title == "New message" for n in app._notifications), pilot=pilot
        )
        assert any("Kenji" in n.message for n in app._notifications)


async def test_keys_can_be_remapped_by_id(store: Store) -> None:
    ids = await shop(store)
    app = OmniApp(store, channels=[MAIL, SMS], keymap={"inbox.resolve": "x"}, poll_changes=0.05)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert (await store.get_contact(ids["emma"])).status is ThreadStatus.OPEN
        await pilot.press("x")
        await pilot.pause()
        assert (await store.get_contact(ids["emma"])).status is ThreadStatus.RESOLVED


async def test_a_value_the_profile_lacks_is_asked_for_at_insert_time(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        await pilot.press("r")
        await pilot.press(*"/ready ")
        await pilot.pause(0.2)
        await pilot.press(*"#4242", "enter")
        await pilot.pause(0.2)
        assert inbox(app).composer.text == "Hi Emma, your order #4242 is ready for pickup."
        await pilot.press("ctrl+s")
        await wait_for_value(
            lambda: _last_text(store, ids["emma"]),
            "Hi Emma, your order #4242 is ready for pickup.",
            pilot=pilot,
        )


@pytest.mark.backends
async def test_canned_replies_are_written_edited_and_deleted_in_the_console(store: Store) -> None:
    from omnitui.screens.canned_editor import CannedEditor

    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#canned").focus()
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause(0.1)
        assert isinstance(app.screen, CannedEditor)
        await pilot.press(*"parking", "tab", *"en", "tab", *"Parking", "tab")
        await pilot.press(*"Park behind the shop, {first_name|there}.")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        made = [r for r in await store.canned_replies() if r.shortcut == "parking"]
        assert [(r.language, r.title, r.body) for r in made] == [
            ("en", "Parking", "Park behind the shop, {first_name|there}.")
        ]
        canned = inbox(app).query_one("#canned")
        from omnitui.widgets.canned import CannedList

        assert isinstance(canned, CannedList)
        canned.highlighted = next(
            i for i, r in enumerate(canned.replies) if r.shortcut == "parking"
        )
        await pilot.press("x")
        await pilot.pause()
        assert [r for r in await store.canned_replies() if r.shortcut == "parking"]  # armed only
        await pilot.press("x")
        await pilot.pause(0.1)
        assert not [r for r in await store.canned_replies() if r.shortcut == "parking"]


async def test_a_reply_and_resolve_from_another_process_show_up_live(store: Store) -> None:
    """A second agent's process (a real OS process on the same store file)
    replies and resolves; this console shows both without a key press."""
    import sys

    ids = await shop(store)
    app = make_app(store)
    app._poll_every = 0.25  # the console's real pace
    other = (
        "import asyncio, sys\n"
        "from omnitui.store import Store\n"
        "from omnitui.domain.models import Channel, ChannelKind, ThreadStatus\n"
        "async def main():\n"
        "    s = await Store.open(sys.argv[1])\n"
        "    cid = int(sys.argv[2])\n"
        "    await s.enqueue_reply(cid, Channel(ChannelKind.SMS, 'shop-sms'), 'Ready at 3, Ken here', author='Ken')\n"
        "    await s.set_status(cid, ThreadStatus.RESOLVED)\n"
        "    await s.close()\n"
        "asyncio.run(main())\n"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await open_contact(pilot, "Emma")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            other,
            str(store.path),
            str(ids["emma"]),
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        # bench/cross_process.py measures how fast; here: it shows up on its own.
        await wait_until(
            lambda: "Ready at 3, Ken here" in "\n".join(inbox(app).thread.lines_text()), pilot=pilot
        )
        await wait_until(
            lambda: inbox(app).contacts.contacts[0].status is ThreadStatus.RESOLVED, pilot=pilot
        )
        assert "→ Ken" in "\n".join(inbox(app).thread.lines_text())


@pytest.mark.backends
async def test_an_agent_is_warned_when_another_is_already_replying(
    store: Store, open_store: StoreOpener
) -> None:
    ids = await shop(store)
    ken = await open_store()  # another agent's console on the same store
    try:
        app = make_app(store)
        async with app.run_test(size=(120, 36)) as pilot:
            await open_contact(pilot, "Emma")
            await ken.set_composing(ids["emma"], "Ken", True)
            status = app.screen.query_one("#composer-status")
            await wait_until(lambda: "Ken is replying too" in str(status.render()), pilot=pilot)
            await pilot.press("r", *"On it")
            await pilot.pause(0.2)
            assert any("Ken is already replying" in n.message for n in app._notifications)
            assert await ken.others_composing(ids["emma"], "Ken") == ["Aiko"]
            await pilot.press("ctrl+s")
            await wait_for_value(lambda: ken.others_composing(ids["emma"], "Ken"), [], pilot=pilot)
    finally:
        await ken.close()


@pytest.mark.backends
async def test_search_says_how_many_matched_not_how_many_are_listed(store: Store) -> None:
    now = time.time()
    await store.ingest(
        [
            Inbound(
                MAIL, f"r{n}", f"guest{n}@example.jp", f"Guest {n}", "ご予約の確認です", now - n
            )
            for n in range(120)
        ]
    )
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(Input).value = "予約"
        await wait_until(lambda: len(getattr(app.screen, "hits", [])) > 0, pilot=pilot)
        hint = app.screen.query_one("#picker-hint", Static)
        await wait_until(lambda: "listed" in str(hint.render()), pilot=pilot)
        assert "120 messages (the newest 50 listed)" in str(hint.render())


@pytest.mark.backends
async def test_who_has_a_customer_and_until_when_they_sleep_is_on_screen(store: Store) -> None:
    ids = await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = inbox(app)
        await open_contact(pilot, "Emma")
        await pilot.press("escape")  # back to the list, where A and z are
        await pilot.press("A")
        await wait_for_value(lambda: _assignee(store, ids["emma"]), "Aiko", pilot=pilot)
        header = screen.query_one("#thread-header", Static)
        await wait_until(lambda: "@Aiko" in str(header.render()), pilot=pilot)
        await wait_until(
            lambda: any(
                "@Aiko" in str(screen.contacts.get_option_at_index(i).prompt)
                for i in range(screen.contacts.option_count)
            ),
            pilot=pilot,
        )
        await pilot.press("z")
        await pilot.pause()
        await pilot.press("down", "enter")  # 3 hours
        until = time.strftime("%H:%M", time.localtime(time.time() + 3 * 3600))
        await wait_until(lambda: "until" in str(header.render()), pilot=pilot)
        shown = str(header.render())
        assert "snoozed" in shown and until[:2] in shown.split("until")[1]


async def _assignee(store: Store, contact_id: int) -> str | None:
    return (await store.get_contact(contact_id)).assignee


async def test_the_layout_follows_each_resize_at_once(store: Store) -> None:
    await shop(store)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = inbox(app)
        assert not screen.has_class("-narrow")
        await pilot.resize_terminal(90, 30)  # below 100 columns the canned pane folds away
        await pilot.pause()
        assert screen.has_class("-narrow")
        await pilot.resize_terminal(130, 36)
        await pilot.pause()
        assert not screen.has_class("-narrow")  # not one resize behind


# -- an email reply's headers and signature -------------------------------------------

SHOP_ADDRESS = "shop@sakura.example"
SIGNATURE = "Sakura Flowers\n03-1234-5678"


def mail_app(store: Store, undo_send: float = 0.0) -> OmniApp:
    """Aiko's console with the shop's mailbox signature and her own."""
    return OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=[MAIL, SMS],
        poll_changes=0.05,
        language="en",
        signatures={"shop-mail": SIGNATURE},
        agent_signature="Aiko",
        own_addresses={SHOP_ADDRESS},
        undo_send=undo_send,
    )


async def mail_with_copies(store: Store) -> int:
    """田中 美咲 wrote to the shop and a florist friend, copying her husband."""
    got = await store.ingest(
        [
            Inbound(
                MAIL,
                "m-cc",
                "misaki@example.jp",
                "田中 美咲",
                "結婚式のブーケについてご相談です。",
                time.time() - 60,
                subject="ブーケのご相談",
                meta={
                    "to": [f"Sakura Flowers <{SHOP_ADDRESS}>", "Hana <hana@florist.example>"],
                    "cc": ["田中 健 <ken@example.jp>", "misaki@example.jp"],
                },
            )
        ]
    )
    return got[0].contact_id


def composer_text(app: OmniApp) -> str:
    """The composer as the agent sees it: status, headers, text and signature lines."""
    return "\n".join(
        str(app.screen.query_one(f"#composer-{part}").render())
        for part in ("status", "headers", "signature")
    )


async def test_an_email_reply_gets_its_subject_copies_and_signature_from_the_composer(
    store: Store,
) -> None:
    await shop(store)
    misaki = await mail_with_copies(store)  # her newest mail: she is at the top
    app = mail_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_contact(pilot, "田中 美咲")
        screen = inbox(app)
        await pilot.press("r")
        subject = screen.composer.subject_input
        await wait_until(lambda: subject.value == "Re: ブーケのご相談", pilot=pilot)
        assert subject.display  # the field above the text, for email
        shown = composer_text(app)
        assert "-- Sakura Flowers · 03-1234-5678 · Aiko" in shown  # what goes out below
        assert "^G reply all (+2)" in shown  # Hana and Ken; never the shop or Misaki

        # ctrl+j: to the subject field, holding the one computed.
        assert screen.composer.text_area.has_focus
        await pilot.press("ctrl+j")
        await wait_until(lambda: app.focused is subject, pilot=pilot)
        await pilot.press("ctrl+u", *"Your wedding bouquet", "enter")
        await wait_until(lambda: screen.composer.subject == "Your wedding bouquet", pilot=pilot)
        assert screen.composer.subject_typed
        assert app.focused is screen.composer.text_area  # back to writing

        # ctrl+l: Cc and Bcc. Something that is not an address is refused, and said.
        await pilot.press("ctrl+l")
        await wait_until(lambda: app.screen.query("#cc-input"), pilot=pilot)
        await pilot.press(*"ken@", "enter")
        await wait_until(
            lambda: "Not an email address: ken@" in str(app.screen.query_one("#refusal").render()),
            pilot=pilot,
        )
        await pilot.press("ctrl+u", *"planner@venue.example", "tab", *"owner@sakura.example")
        await pilot.press("enter")
        await wait_until(lambda: "Cc: planner@venue.example" in composer_text(app), pilot=pilot)
        assert "Bcc: owner@sakura.example" in composer_text(app)

        # ctrl+g: everyone else on her mail joins the Cc; again, and they leave it.
        await pilot.press("ctrl+g")
        await wait_until(lambda: "Hana <hana@florist.example>" in composer_text(app), pilot=pilot)
        assert screen.composer.cc == [
            "planner@venue.example",
            "Hana <hana@florist.example>",
            "田中 健 <ken@example.jp>",
        ]
        assert "^G sender only" in composer_text(app)
        await pilot.press("ctrl+g")
        await wait_until(
            lambda: "Hana <hana@florist.example>" not in composer_text(app), pilot=pilot
        )
        assert screen.composer.cc == ["planner@venue.example"]
        assert "^G reply all (+2) Hana, 田中 健" in composer_text(app)  # offered again
        await pilot.press("ctrl+g")

        # The headers stay with Misaki while Aiko looks at someone else.
        await pilot.press(*"Dear Misaki, ")
        await pilot.press("escape", "escape")
        await wait_until(lambda: screen.focused is screen.contacts, pilot=pilot)
        await pilot.press("j")
        await wait_until(lambda: screen.composer.owner != misaki, pilot=pilot)
        assert "Hana" not in composer_text(app) and "planner" not in composer_text(app)
        await pilot.press("k")
        await wait_until(
            lambda: screen.composer.owner == misaki and screen.composer.loaded, pilot=pilot
        )
        assert "Hana <hana@florist.example>" in composer_text(app)
        assert subject.value == "Your wedding bouquet"  # kept with the draft

        # A canned reply goes in the text; the signature is added once, when it is sent.
        await pilot.press("r")
        await pilot.press("end", *"/thanks ")
        await wait_until(lambda: "ご連絡ありがとうございます" in screen.composer.text, pilot=pilot)
        assert "03-1234-5678" not in screen.composer.text
        await pilot.press("ctrl+s")
        await wait_for_value(lambda: _count(store, misaki), 3, pilot=pilot)
        sent = (await store.thread_page(misaki))[-1]
        assert sent.subject == "Your wedding bouquet"
        assert sent.cc == (
            "planner@venue.example",
            "Hana <hana@florist.example>",
            "田中 健 <ken@example.jp>",
        )
        assert sent.bcc == ("owner@sakura.example",)
        assert sent.signature == "Sakura Flowers\n03-1234-5678\nAiko"
        assert sent.text == (
            "Dear Misaki, 田中 美咲様、ご連絡ありがとうございます。Sakura FlowersのAikoです。"
        )
        thread = "\n".join(screen.thread.lines_text())
        assert "Bcc: owner@sakura.example" in thread
        assert "Cc: planner@venue.example, Hana <hana@florist.example>" in thread
        # The signature it carried, below its text, as the customer reads it.
        shown_lines = [line.strip(" ▌") for line in screen.thread.lines_text()]
        at = shown_lines.index("--")
        assert shown_lines[at + 1 : at + 4] == ["Sakura Flowers", "03-1234-5678", "Aiko"]
        # The next reply starts afresh: the subject computed, nobody copied.
        assert subject.value == "Re: ブーケのご相談" and not screen.composer.subject_typed
        assert "Cc:" not in composer_text(app)
        # `g` from the thread: a reply to all at once.
        await pilot.press("g")
        await wait_until(
            lambda: "Cc: Hana <hana@florist.example>" in composer_text(app), pilot=pilot
        )
        assert app.focused is screen.composer.text_area


@pytest.mark.backends
async def test_undo_gives_back_the_subject_and_copies_with_the_text(store: Store) -> None:
    await shop(store)
    misaki = await mail_with_copies(store)
    app = mail_app(store, undo_send=5)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_contact(pilot, "田中 美咲")
        screen = inbox(app)
        await pilot.press("r", *"Oops", "ctrl+g", "ctrl+j")
        await wait_until(lambda: app.focused is screen.composer.subject_input, pilot=pilot)
        await pilot.press("ctrl+u", *"Bouquet", "enter")
        await wait_until(lambda: screen.composer.subject == "Bouquet", pilot=pilot)
        await pilot.press("ctrl+s")
        await wait_for_value(lambda: _count(store, misaki), 3, pilot=pilot)
        await wait_until(lambda: screen.composer.cc == [], pilot=pilot)
        assert screen.composer.subject == "Re: ブーケのご相談"  # the next reply's
        await pilot.press("u")
        await wait_until(lambda: screen.composer.text == "Oops", pilot=pilot)
        assert screen.composer.subject == "Bouquet"
        assert screen.composer.subject_input.value == "Bouquet"
        assert screen.composer.subject_typed  # the agent's own, kept as such
        assert screen.composer.cc == ["Hana <hana@florist.example>", "田中 健 <ken@example.jp>"]
        assert "^G sender only" in composer_text(app)  # still a reply to all
        assert await _count(store, misaki) == 2  # and it never went


async def test_subject_and_copies_are_for_email_only(store: Store) -> None:
    await shop(store)
    app = mail_app(store)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await open_contact(pilot, "Emma")  # an SMS customer
        await pilot.press("r", "ctrl+l")
        await wait_until(
            lambda: any("is for email" in n.message for n in app._notifications), pilot=pilot
        )
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert app.focused is inbox(app).composer.text_area  # no subject to go to
        assert not inbox(app).composer.subject_input.display
        assert "--" not in composer_text(app)
