"""Internal notes: written with `N`, seen by every agent, never by the customer.

A note is kept in the customer's thread, framed and labelled with its author
so it never reads as a message; it never enters the outbox, so no channel
ever sends it; it leaves the conversation as it was (not answered, not
waiting, not moved up the list); `@name` tells that agent in their own
console, whichever process wrote it; search finds it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from omnitui.app import OmniApp
from omnitui.domain.models import Direction
from omnitui.domain.notes import mention_spans, mentions
from omnitui.domain.views import View
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store
from tests.conftest import PG_PASSWORD_ENV, StoreOpener
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.test_console import MAIL, SMS, inbox, make_app, open_contact, shop
from tests.test_telegram import BOT, TOKEN_ENV, adapter_for, wait_stored
from tests.test_tmux import demo_in_tmux
from tests.waiting import wait_until, wait_until_sync

pytestmark = pytest.mark.backends

MISAKI = Customer(4_200_301, "美咲", last_name="田中", language_code="ja")
NOTE = "Allergic to lilies: never put them in her bouquets. @Ken please check the order"


def thread_text(app: OmniApp) -> str:
    return "\n".join(inbox(app).thread.lines_text())


def toasts(app: OmniApp) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications]


class CountingBell(OmniApp):
    """The console, counting the times it rang the terminal bell."""

    bells = 0

    def bell(self) -> None:
        self.bells += 1
        super().bell()


async def write_note(pilot: object, text: str) -> None:
    from textual.pilot import Pilot

    from omnitui.screens.note import NoteScreen

    assert isinstance(pilot, Pilot)
    await pilot.press("N")
    await wait_until(lambda: isinstance(pilot.app.screen, NoteScreen), pilot=pilot)
    await pilot.press(*text)
    await pilot.press("ctrl+s")
    await wait_until(lambda: not isinstance(pilot.app.screen, NoteScreen), pilot=pilot)


# -- what a note is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "agent", "called"),
    [
        ("@Ken please call her", "Ken", True),
        ("please call her @ken", "Ken", True),
        ("＠Ｋｅｎ お願いします", "Ken", True),  # full-width, as typed with a Japanese IME
        ("@Kenji will do it", "Ken", False),
        ("her mail is ken@example.com", "Ken", False),
        ("@Aiko Tanaka: the order is late", "Aiko Tanaka", True),
        ("@Aiko: the order is late", "Aiko Tanaka", False),
        ("@愛子さん 在庫を確認してください", "愛子", True),
        ("愛子さんに聞いてください", "愛子", False),  # no @: not a call
        ("@Ken", "", False),
    ],
)
def test_who_a_note_calls_on(text: str, agent: str, called: bool) -> None:
    assert mentions(text, agent) is called


def test_mentions_are_marked_where_they_stand() -> None:
    text = "ask @Ken, then ＠愛子 (not ken@example.com)"
    assert [text[a:b] for a, b in mention_spans(text)] == ["@Ken", "＠愛子"]


async def test_a_note_is_never_claimed_by_the_outbox(store: Store) -> None:
    ids = await shop(store)
    before = await store.contact_summary(ids["emma"])
    await store.add_note(ids["emma"], "Prefers SMS after 6pm", author="Aiko")
    assert await store.contact_summary(ids["emma"]) == before  # unread, preview, order: as was
    assert await store.claim_due(["shop-mail", "shop-sms", ""]) == []
    assert await store.next_due_at(["shop-mail", "shop-sms", ""]) is None
    (note,) = [m for m in await store.thread_page(ids["emma"]) if m.is_note]
    assert (note.direction, note.kind, note.author) == (Direction.NOTE, None, "Aiko")


async def test_notes_move_with_a_merge_and_back_with_its_undo(store: Store) -> None:
    ids = await shop(store)
    await store.add_note(ids["misaki"], "Misaki's note", author="Aiko")
    await store.add_note(ids["emma"], "Emma's note", author="Ken")
    record = await store.merge(ids["misaki"], ids["emma"])
    notes = [m.text for m in await store.thread_page(ids["emma"]) if m.is_note]
    assert sorted(notes) == ["Emma's note", "Misaki's note"]
    await store.add_note(ids["emma"], "Written after the merge", author="Aiko")
    await store.undo_merge(record)
    back = [m.text for m in await store.thread_page(ids["misaki"]) if m.is_note]
    kept = [m.text for m in await store.thread_page(ids["emma"]) if m.is_note]
    assert back == ["Misaki's note"]
    assert sorted(kept) == ["Emma's note", "Written after the merge"]


# -- in the console --------------------------------------------------------------------


async def test_a_note_is_shown_as_a_note_and_a_running_channel_never_sends_it(
    store: Store, telegram_peer: BotApiPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    hub = Hub(
        store,
        [adapter_for(telegram_peer)],
        retry=RetryPolicy(first_delay=0.05, max_delay=0.3),
        poll_outbox=0.05,
    )
    await hub.start()
    app = OmniApp(
        store, agent_name="Aiko", channels=[BOT], poll_changes=0.05, on_outbox=hub.outbox_changed
    )
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            telegram_peer.text(MISAKI, "花束を予約したいです")
            await wait_stored(store, 1)
            screen = inbox(app)
            await wait_until(lambda: bool(screen.contacts.contacts), pilot=pilot)
            await pilot.press("enter")
            await wait_until(lambda: "花束を予約したいです" in thread_text(app), pilot=pilot)

            await write_note(pilot, NOTE)
            await wait_until(lambda: "Internal note · Aiko" in thread_text(app), pilot=pilot)
            lines = screen.thread.lines_text()
            at = next(i for i, line in enumerate(lines) if "Internal note · Aiko" in line)
            # Framed, labelled with its author and what it is, unlike any message.
            end = next(i for i in range(at, len(lines)) if not lines[i].strip())
            block = lines[at:end]  # a blank line ends each message
            shown = " ".join(line.strip(" ▌┃") for line in block)
            assert shown.startswith("✎ Internal note · Aiko")
            assert "only agents see this, never sent" in shown
            assert "Allergic to lilies" in shown and "@Ken please check the order" in shown
            assert all(line.lstrip(" ▌").startswith("┃") for line in block)
            assert not any(word in shown for word in ("→", "queued", "sent ✓", "delivered"))
            assert any("only agents see it" in message for _, message in toasts(app))
            # The customer's row still shows what she wrote, not the note.
            row = screen.contacts.contacts[0]
            assert row.last_preview == "花束を予約したいです"
            assert row.last_direction is Direction.IN

            # A reply after it goes out; the note never does.
            await pilot.press("r", *"Thank you!", "ctrl+s")
            await wait_until(lambda: len(telegram_peer.sent) == 1, pilot=pilot)
            await wait_until(lambda: "sent ✓" in thread_text(app), pilot=pilot)
            await asyncio.sleep(0.5)  # the outbox polls every 0.05 s: ten more rounds
            assert [s.text for s in telegram_peer.sent] == ["Thank you!"]
            assert not any("lilies" in str(call.params) for call in telegram_peer.calls)
    finally:
        await hub.stop()


async def test_a_note_does_not_answer_a_customer_nor_make_one_wait(store: Store) -> None:
    ids = await shop(store)
    # Misaki has her answer; Emma and Mallory wait.
    await store.enqueue_reply(ids["misaki"], MAIL, "Confirmed for Friday", author="Aiko")
    before = {c.id: c for c in await store.list_contacts()}
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = inbox(app)
        await open_contact(pilot, "Emma")
        await write_note(pilot, "Called her: she comes at 3")
        await pilot.press("escape")  # from the thread back to the list
        await open_contact(pilot, "田中 美咲")
        await write_note(pilot, "Her mother's birthday is on the 12th")
        await wait_until(lambda: "birthday is on the 12th" in thread_text(app), pilot=pilot)

        for _ in range(3):  # All → Mine → Unassigned → Waiting
            await pilot.press("escape", "v")
        await wait_until(lambda: screen.view == View.WAITING, pilot=pilot)
        await wait_until(
            lambda: str(screen.contacts.border_title).endswith("Waiting 2"), pilot=pilot
        )
        assert {c.name for c in screen.contacts.contacts} == {"Emma", "Mallory [red]x[/]"}
        await pilot.press("n")  # the longest wait is still Mallory's, not moved by a note
        await wait_until(
            lambda: screen.contact is not None and screen.contact.id == ids["mallory"], pilot=pilot
        )
    after = {c.id: c for c in await store.list_contacts()}
    for contact_id, was in before.items():
        now = after[contact_id]
        assert (now.last_activity, now.last_preview, now.last_direction) == (
            was.last_activity,
            was.last_preview,
            was.last_direction,
        )


async def test_a_mention_shows_a_toast_and_rings_in_the_other_agents_console(
    store: Store, open_store: StoreOpener
) -> None:
    ids = await shop(store)
    ken_store = await open_store()  # Ken's console: its own connections to the store
    ken = CountingBell(ken_store, agent_name="Ken", channels=[MAIL, SMS], poll_changes=0.05)
    aiko = make_app(store)
    try:
        async with (
            ken.run_test(size=(120, 36)) as ken_pilot,
            aiko.run_test(size=(120, 36)) as pilot,
        ):
            await ken_pilot.pause()
            await open_contact(pilot, "Emma")
            await write_note(pilot, "@Ken can you call her? She asked for you")
            await wait_until(
                lambda: (
                    (
                        "Aiko mentioned you in a note",
                        "Emma: @Ken can you call her? She asked for you",
                    )
                    in toasts(ken)
                ),
                pilot=pilot,
            )
            assert ken.bells == 1
            # The writer is not told about her own note, and a note for nobody rings nobody.
            assert not any("mentioned you" in title for title, _ in toasts(aiko))
            await write_note(pilot, "Paid by bank transfer")
            await wait_until(lambda: "bank transfer" in thread_text(aiko), pilot=pilot)
            await asyncio.sleep(0.3)
            assert ken.bells == 1
            assert len([t for t, _ in toasts(ken) if "mentioned you" in t]) == 1
    finally:
        await ken_store.close()
    assert [m.author for m in await store.thread_page(ids["emma"]) if m.is_note] == [
        "Aiko",
        "Aiko",
    ]


async def test_a_note_from_another_process_calling_on_me_is_announced(
    store: Store, open_store: StoreOpener, backend: str
) -> None:
    """Ken writes from his own OS process; Aiko's console says so at once."""
    ids = await shop(store)
    other = (
        "import asyncio, os, sys\n"
        "from omnitui.store import Store\n"
        "from omnitui.store.postgres import PostgresStore\n"
        "async def main():\n"
        "    where = sys.argv[1]\n"
        "    s = await (PostgresStore.open_url(where, password=os.environ[sys.argv[3]])\n"
        "               if where.startswith('postgresql:') else Store.open(where))\n"
        "    await s.add_note(int(sys.argv[2]), '@Aiko 在庫を確認してください', author='Ken')\n"
        "    await s.close()\n"
        "asyncio.run(main())\n"
    )
    app = make_app(store)
    app._poll_every = 0.25  # the console's real pace
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            other,
            open_store.url() if backend == "postgresql" else str(store.path),
            str(ids["misaki"]),
            PG_PASSWORD_ENV,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        await wait_until(
            lambda: (
                ("Ken mentioned you in a note", "田中 美咲: @Aiko 在庫を確認してください")
                in toasts(app)
            ),
            pilot=pilot,
        )


async def test_search_finds_a_note_and_says_it_is_one(store: Store) -> None:
    ids = await shop(store)
    await store.add_note(ids["misaki"], "Allergic to lilies", author="Ken")
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"lilies")
        await wait_until(lambda: bool(getattr(app.screen, "hits", [])), pilot=pilot)
        (hit,) = app.screen.hits  # type: ignore[attr-defined]
        assert hit.note and hit.contact_id == ids["misaki"]
        from omnitui.screens.pickers import hit_prompt

        assert hit_prompt(hit, "lilies").plain.startswith("✎ note 田中 美咲")
        await pilot.press("enter")
        await wait_until(lambda: "Internal note · Ken" in thread_text(app), pilot=pilot)
        selected = inbox(app).thread.selected_message
        assert selected is not None and selected.is_note


# -- the real binary in a real terminal ----------------------------------------------


@pytest.mark.tmux
def test_n_in_the_real_console_keeps_a_note_that_no_channel_sends(tmp_path: Path) -> None:
    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 40)) as (term, done):
        term.wait_for("Customers")
        term.keys("Enter")
        term.wait_for("Reply via")
        term.keys("N")
        term.wait_for("Internal note about")
        time.sleep(0.3)
        term.type("Allergic to lilies, never in her bouquets")
        term.wait_for("never in her bouquets")
        term.keys("C-s")
        screen = term.wait_for("✎ Internal note · Aiko")
        assert "Note kept on" in screen  # the toast says only agents see it
        line = next(row for row in screen.splitlines() if "Internal note · Aiko" in row)
        assert "┃" in line and "→" not in line
        time.sleep(7)  # longer than a reply waits (undo) and the demo takes to deliver it
        screen = term.screen()
        note = next(row for row in screen.splitlines() if "Internal note · Aiko" in row)
        assert "delivered" not in note and "sent ✓" not in note, screen
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("q")
        wait_until_sync(done.exists, 10, term.screen)
        assert done.read_text().strip() == "0", term.screen()
    conn = sqlite3.connect(tmp_path / "demo.db")
    rows = conn.execute(
        "SELECT direction, status, provider_id, attempts FROM message WHERE text LIKE 'Allergic%'"
    ).fetchall()
    conn.close()
    assert rows == [("note", "received", None, 0)]  # kept, and never handed to a channel
