"""Saving what customers sent: any name they chose, any size, never a crash.

A file named with 150 Japanese characters is 450 bytes in UTF-8, more than a
Linux file name may hold (255 bytes); a mail can carry a 15 MB video. The
console saves both, keeps working when saving fails, and shows a huge mail's
source at once instead of freezing.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Static

from omnitui.app import OmniApp
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.domain.safe_text import NAME_BYTES, safe_filename
from omnitui.hub import Hub, RetryPolicy
from omnitui.screens.source import SHOWN, SourceScreen
from omnitui.store import Store
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.test_telegram import BOT, TOKEN_ENV, adapter_for, wait_stored
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

LONG_NAME = "ご注文の花束についての詳細な見積書と配達日時の確認" * 6 + ".pdf"  # 150 + 4
MISAKI = Customer(4_200_101, "美咲", last_name="田中", language_code="ja")


def test_a_name_is_cut_by_bytes_between_characters_keeping_the_extension() -> None:
    assert len(LONG_NAME.encode()) == 454
    name = safe_filename(LONG_NAME)
    assert name.endswith(".pdf") and len(name.encode()) <= NAME_BYTES
    assert LONG_NAME.startswith(name.removesuffix(".pdf"))  # whole characters, in order
    assert safe_filename("見積書.pdf") == "見積書.pdf"
    assert safe_filename("../../.bashrc") == "bashrc"
    assert safe_filename("a" * 300).encode() == b"a" * NAME_BYTES
    assert (
        safe_filename("報告書.これは拡張子ではない長い言葉です")
        == "報告書.これは拡張子ではない長い言葉です"
    )


async def test_a_document_with_a_450_byte_name_is_saved_and_the_console_lives_on(
    store: Store, telegram_peer: BotApiPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    hub = Hub(
        store,
        [adapter_for(telegram_peer)],
        retry=RetryPolicy(first_delay=0.05, max_delay=0.3),
        poll_outbox=0.05,
    )
    await hub.start()
    downloads = tmp_path / "dl"
    app = OmniApp(store, channels=[BOT], poll_changes=0.05, downloads=downloads)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            telegram_peer.document(
                MISAKI, b"%PDF-1.4 quote", file_name=LONG_NAME, mime_type="application/pdf"
            )
            telegram_peer.document(
                MISAKI, b"%PDF-1.4 quote v2", file_name=LONG_NAME, mime_type="application/pdf"
            )
            await wait_stored(store, 2)
            await wait_until(lambda: bool(app.inbox.contacts.contacts), pilot=pilot)
            await pilot.press("enter")
            await wait_until(lambda: len(app.inbox.thread.messages) == 2, pilot=pilot)
            await pilot.press("a")  # the newest message is selected
            await wait_until(lambda: downloads.exists() and any(downloads.iterdir()), pilot=pilot)
            await pilot.press("k", "a")
            await wait_until(lambda: len(list(downloads.iterdir())) == 2, pilot=pilot)
            saved = sorted(downloads.iterdir(), key=lambda p: len(p.name))
            assert {p.read_bytes() for p in saved} == {b"%PDF-1.4 quote", b"%PDF-1.4 quote v2"}
            assert all(p.suffix == ".pdf" and len(p.name.encode()) <= 255 for p in saved)
            assert saved[1].name == saved[0].name.removesuffix(".pdf") + " (1).pdf"

            # Saving that fails (the downloads folder is a file) says why; nothing stops.
            blocked = tmp_path / "blocked"
            blocked.write_text("not a folder")
            inbox = app.inbox
            inbox.context = replace(inbox.context, downloads_folder=blocked / "OmniTUI")
            await pilot.press("a")
            await wait_until(
                lambda: any("Not saved" in str(n.message) for n in app._notifications), pilot=pilot
            )
            assert app.is_running and app.return_code is None
            telegram_peer.text(MISAKI, "届きましたか?")
            await wait_stored(store, 3)
            await wait_until(lambda: len(app.inbox.thread.messages) == 3, pilot=pilot)
    finally:
        await hub.stop()


async def test_the_source_of_a_15_mb_mail_opens_at_once_and_saves_whole(
    store: Store, tmp_path: Path
) -> None:
    video = b"AAAA" * (15 * 1024 * 1024 // 4)
    raw = (
        b"From: Emma <emma@example.com>\r\nSubject: Our wedding video\r\n"
        b"Message-ID: <video@example.com>\r\n\r\n" + video
    )
    mail = Channel(ChannelKind.EMAIL, "shop-mail")
    await store.ingest(
        [
            Inbound(
                channel=mail,
                provider_id="video",
                address="emma@example.com",
                display_name="Emma",
                text="Here is the video",
                sent_at=time.time(),
                subject="Our wedding video",
                raw=raw,
            )
        ]
    )
    downloads = tmp_path / "dl"
    app = OmniApp(store, channels=[mail], poll_changes=0.05, downloads=downloads)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(lambda: bool(app.inbox.contacts.contacts), pilot=pilot)
        await pilot.press("enter")
        await wait_until(lambda: len(app.inbox.thread.messages) == 1, pilot=pilot)
        await pilot.press("v")
        await wait_until(lambda: isinstance(app.screen, SourceScreen), pilot=pilot)
        screen = app.screen
        assert isinstance(screen, SourceScreen)
        # The head is drawn (drawing all 15 MB froze the console for 14 s) and the
        # hint says how much there is and how to get the rest.
        assert len(screen.raw) == SHOWN and screen.total == len(raw)
        assert raw.startswith(screen.raw)
        hint = str(screen.query_one(".hint", Static).render())
        assert f"{len(raw):,} bytes" in hint and "s saves it whole" in hint
        await pilot.press("s")
        eml = downloads / f"message-{app.inbox.thread.messages[0].id}.eml"

        async def saved() -> bool:
            return eml.exists() and eml.stat().st_size == len(raw)

        await wait_until(saved)
        assert eml.read_bytes() == raw
        await pilot.press("escape")
        assert not isinstance(app.screen, SourceScreen)
