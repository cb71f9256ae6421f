"""Broadcasts in the console: the look before sending, `y` writes it, the 📣 line
in every console on the store while it goes out, cancel, and the list of how
each went.

The console only writes the broadcast; whoever runs the channels sends it. Here
the sending is done through the store exactly as the hub's drain does it
(`claim_broadcast`, then `mark_sent` or `mark_failed`), so that each step the
agent would see can be looked at; `tests/test_broadcast.py` sends through real
peers.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omnitui.app import OmniApp
from omnitui.domain.broadcast import plan_broadcast
from omnitui.domain.line import QUOTA_CURSOR, LineQuota
from omnitui.domain.views import TagView
from omnitui.screens.broadcast import (
    BroadcastScreen,
    BroadcastsScreen,
    CancelBroadcastScreen,
    audience_key,
)
from omnitui.screens.inbox import InboxScreen
from omnitui.store import Store
from tests.conftest import StoreOpener
from tests.test_broadcast import BOT, LINE, MAIL, SMS, a_shop
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

CHANNELS = [MAIL, SMS, LINE, BOT]
HANAKO_GETS = "山田 花子様、母の日の花束のご予約を承ります。"


def console(store: Store, language: str = "en") -> OmniApp:
    return OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=CHANNELS,
        poll_changes=0.05,
        language=language,
    )


def screen_text(app: OmniApp) -> str:
    """What the terminal shows (the app's compositor, as drawn)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def toasts(app: OmniApp) -> list[str]:
    """The toasts up, each on one line."""
    return [" ".join(n.message.split()) for n in app._notifications]


async def shows(pilot: Pilot[None], app: OmniApp, text: str) -> None:
    try:
        await wait_until(lambda: text in screen_text(app), what=repr(text), pilot=pilot)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen:\n{screen_text(app)}") from None


async def inbox_ready(pilot: Pilot[None], app: OmniApp) -> InboxScreen:
    await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
    return app.inbox


async def look_at(pilot: Pilot[None], app: OmniApp, canned: str = "sale") -> BroadcastScreen:
    """From the inbox on a tag's view: `B`, pick the canned reply, see the preview."""
    await pilot.press("B")
    await wait_until(lambda: isinstance(app.screen, BroadcastScreen), pilot=pilot)
    screen = app.screen
    assert isinstance(screen, BroadcastScreen)
    await shows(pilot, app, "pick a canned reply")
    await pilot.press(*canned, "enter")
    await wait_until(lambda: screen.stage == "preview", pilot=pilot)
    return screen


async def send_next(store: Store, account: str, *, fail: str = "") -> None:
    """What the hub's broadcast drain does with the account's next message."""
    [job] = await store.claim_broadcast(account, limit=1)
    if fail:
        await store.mark_failed(job.message_id, fail, retry_at=None)
    else:
        await store.mark_sent(job.message_id, f"p-{job.message_id}")


async def test_the_preview_counts_each_channel_says_who_is_skipped_and_y_writes_it(
    store: Store, tmp_path: Path
) -> None:
    ids = await a_shop(store)
    app = console(store)
    async with app.run_test(size=(100, 32)) as pilot:
        inbox = await inbox_ready(pilot, app)
        await inbox.set_view(TagView("vip"))
        await look_at(pilot, app)
        shown = screen_text(app)
        # Hanako on LINE, Ken by email (he gave consent); the rest skipped, each said why.
        assert "2 customers get it:" in shown
        assert "LINE: 1" in shown and "email: 1" in shown
        assert "SMS:" not in shown and "Telegram:" not in shown
        assert "Skipped 3:" in shown
        assert "1 · opted out of every channel that could reach them" in shown
        assert "1 · no consent to marketing email recorded" in shown
        assert "1 · asked for no more broadcasts" in shown
        # The first customer's message, personalised, as it will read.
        assert "What 山田 花子 gets (LINE):" in shown
        assert HANAKO_GETS in shown
        assert "y send it to 2 customers" in shown
        svg = app.export_screenshot()
        (tmp_path / "broadcast_preview.svg").write_text(svg, encoding="utf-8")  # to look at
        # Nothing is written before `y`.
        assert await store.broadcasts() == []
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        [written] = await store.broadcasts()
        assert written.canned == "sale" and written.author == "Aiko"
        assert written.total("queued") == 2 and written.skipped_total == 3
        assert dict(written.audience)["tags"] == ["vip"]
        # The message is in the customer's thread like any reply, and the line is up.
        thread = await store.thread_page(ids["hanako"])
        assert thread[-1].text == HANAKO_GETS
        await shows(pilot, app, "📣 ")
        await shows(pilot, app, "0/2 sent")


async def test_a_view_that_is_not_a_tag_asks_for_one_and_esc_backs_out_step_by_step(
    store: Store,
) -> None:
    await a_shop(store)
    app = console(store)
    async with app.run_test(size=(100, 32)) as pilot:
        await inbox_ready(pilot, app)
        await pilot.press("B")
        await wait_until(lambda: isinstance(app.screen, BroadcastScreen), pilot=pilot)
        await shows(pilot, app, "Broadcasts go to the customers with a tag: pick a tag")
        await shows(pilot, app, "#vip  5 customers")
        await pilot.press(*"vi", "enter")
        await shows(pilot, app, "Broadcast to #vip (5 customers): pick a canned reply")
        await pilot.press(*"sale", "enter")
        await shows(pilot, app, "2 customers get it:")
        # esc: back to the replies, back to the tags, then out, nothing written.
        await pilot.press("escape")
        await shows(pilot, app, "pick a canned reply")
        await pilot.press("escape")
        await shows(pilot, app, "pick a tag")
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
    assert await store.broadcasts() == []


async def test_the_same_broadcast_under_way_is_refused_in_words(store: Store) -> None:
    await a_shop(store)
    app = console(store)
    async with app.run_test(size=(100, 32)) as pilot:
        inbox = await inbox_ready(pilot, app)
        await inbox.set_view(TagView("vip"))
        await look_at(pilot, app)
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await look_at(pilot, app)
        await pilot.press("y")
        await shows(pilot, app, "this broadcast is already under way (broadcast 1)")
        assert isinstance(app.screen, BroadcastScreen)
    assert len(await store.broadcasts()) == 1


async def test_every_console_on_the_store_shows_the_progress_until_it_is_done(
    store: Store, open_store: StoreOpener
) -> None:
    """Aiko starts the broadcast in her console; Ken's console, on its own
    connection to the same store file, shows its progress and then nothing."""
    await a_shop(store)
    other = await open_store()
    aiko, ken = console(store), console(other)
    try:
        async with aiko.run_test(size=(100, 32)) as pilot, ken.run_test(size=(100, 32)) as theirs:
            await inbox_ready(theirs, ken)
            inbox = await inbox_ready(pilot, aiko)
            assert "📣" not in screen_text(ken)
            await inbox.set_view(TagView("vip"))
            await look_at(pilot, aiko)
            await pilot.press("y")
            await shows(theirs, ken, "0/2 sent")
            await send_next(store, "shop-mail", fail="the mail server said 550 no such user")
            await shows(theirs, ken, "0/2 sent · 1 failed")
            await send_next(store, "shop-line")
            # Nothing left to go: the line goes away in both consoles.
            await wait_until(lambda: "📣" not in screen_text(ken), pilot=theirs)
            await wait_until(lambda: "📣" not in screen_text(aiko), pilot=pilot)
    finally:
        await other.close()


async def test_cancel_from_the_console_takes_back_what_has_not_gone(
    store: Store, open_store: StoreOpener
) -> None:
    ids = await a_shop(store)
    other = await open_store()
    aiko, ken = console(store), console(other, language="ja")
    try:
        async with aiko.run_test(size=(100, 32)) as pilot, ken.run_test(size=(100, 32)) as theirs:
            inbox = await inbox_ready(pilot, aiko)
            await inbox_ready(theirs, ken)
            await inbox.set_view(TagView("vip"))
            await look_at(pilot, aiko)
            await pilot.press("y")
            await shows(pilot, aiko, "0/2 sent")
            await send_next(store, "shop-line")
            await shows(theirs, ken, "1/2 件送信")
            # Ken cancels from his console (in Japanese): the palette, then y.
            await theirs.press("ctrl+p")
            await theirs.press(*"一斉送信を取り消す")
            await shows(theirs, ken, "送信中の一斉送信のうち")
            await theirs.press("enter")
            await wait_until(lambda: isinstance(ken.screen, CancelBroadcastScreen), pilot=theirs)
            await shows(theirs, ken, "まだ送っていない 1")
            await theirs.press("y")
            await wait_until(
                lambda: "一斉送信を取り消しました: 1 件は送っていません" in toasts(ken),
                pilot=theirs,
            )
            await wait_until(lambda: "📣" not in screen_text(aiko), pilot=pilot)
            await wait_until(lambda: "📣" not in screen_text(ken), pilot=theirs)
    finally:
        await other.close()
    [cancelled] = await store.broadcasts()
    assert cancelled.cancelled_at is not None and not cancelled.active
    assert cancelled.total("sent") == 1 and cancelled.total("queued", "sending") == 0
    # Ken (email) never gets it; Hanako's LINE message had gone and stays in her thread.
    assert [m.text for m in await store.thread_page(ids["ken"])] == ["hello"]
    assert (await store.thread_page(ids["hanako"]))[-1].text == HANAKO_GETS


async def test_n_keeps_the_broadcast_going(store: Store) -> None:
    await a_shop(store)
    app = console(store)
    async with app.run_test(size=(100, 32)) as pilot:
        inbox = await inbox_ready(pilot, app)
        await inbox.set_view(TagView("vip"))
        await look_at(pilot, app)
        await pilot.press("y")
        await shows(pilot, app, "0/2 sent")
        await inbox.action_cancel_broadcast()
        await wait_until(lambda: isinstance(app.screen, CancelBroadcastScreen), pilot=pilot)
        await pilot.press("n")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        assert "0/2 sent" in screen_text(app)
    [going] = await store.broadcasts()
    assert going.active and going.total("queued") == 2


async def test_the_broadcasts_list_shows_each_channel_s_results(store: Store) -> None:
    await a_shop(store)
    app = console(store)
    async with app.run_test(size=(110, 32)) as pilot:
        inbox = await inbox_ready(pilot, app)
        await inbox.set_view(TagView("vip"))
        await look_at(pilot, app)
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await send_next(store, "shop-line")
        await send_next(store, "shop-mail", fail="the mail server said 550 no such user")
        await pilot.press("ctrl+p")
        await pilot.press(*"Broadcasts")
        await shows(pilot, app, "sent, delivered, failed and skipped per channel")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, BroadcastsScreen), pilot=pilot)
        await shows(pilot, app, "1 · Mother's Day")
        drawn = screen_text(app).replace("│", " ").replace("┃", " ")
        rows = [" ".join(line.split()) for line in drawn.splitlines()]
        # channel, sent, delivered, failed, not yet sent (skipped on the first row)
        assert any("LINE 1 0 0 0" in row for row in rows), rows
        assert any("email 0 0 1 0" in row for row in rows), rows
        assert any("1 · opted out of every" in row for row in rows), rows
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)


async def test_a_broadcast_beyond_line_s_monthly_quota_is_not_sent(store: Store) -> None:
    """LINE said 1,000 pushes a month and 1,000 are used: Hanako's push would not
    go, so the console says so and `y` writes nothing."""
    await a_shop(store)
    quota = LineQuota(limit=1000, used=1000, at=time.time())
    await store.ingest([], cursors={(LINE.account, QUOTA_CURSOR): quota.dump()})
    app = console(store)
    async with app.run_test(size=(100, 32)) as pilot:
        inbox = await inbox_ready(pilot, app)
        await inbox.set_view(TagView("vip"))
        await look_at(pilot, app)
        await shows(pilot, app, "shop-line: this broadcast needs 1 LINE pushes and 0 are left")
        assert "y send it" not in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, BroadcastScreen)
    assert await store.broadcasts() == []


async def test_a_console_opened_while_a_broadcast_goes_out_shows_it(store: Store) -> None:
    """A broadcast started by `omnitui broadcast` (the same plan, written the same way)."""
    await a_shop(store)
    plan = plan_broadcast(
        await store.broadcast_audience(["vip"]), await store.canned_replies(), "sale", CHANNELS
    )
    await store.create_broadcast("sale", audience_key("vip"), plan, author="Ken")
    app = console(store)
    async with app.run_test(size=(100, 32)) as pilot:
        await inbox_ready(pilot, app)
        await shows(pilot, app, "📣 ")
        await shows(pilot, app, "0/2 sent")
        # The same broadcast from this console is the one under way: refused.
        await app.inbox.set_view(TagView("vip"))
        await look_at(pilot, app)
        await pilot.press("y")
        await shows(pilot, app, "this broadcast is already under way (broadcast 1)")


async def test_a_shop_that_needs_no_email_consent_sees_it_in_the_console_s_preview(
    store: Store,
) -> None:
    await a_shop(store)
    app = console(store)
    app.broadcast_email_consent = False  # [broadcast] email_requires_consent = false
    async with app.run_test(size=(100, 32)) as pilot:
        inbox = await inbox_ready(pilot, app)
        await inbox.set_view(TagView("vip"))
        await look_at(pilot, app)
        shown = screen_text(app)
        assert "3 customers get it:" in shown and "email: 2" in shown
        assert "no consent to marketing email recorded" not in shown
