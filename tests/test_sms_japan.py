"""SMS in Japan is one-way: Twilio's numbers receive no SMS from Japanese mobiles.

`omnitui doctor` says so for an account that texts Japan, and the composer
marks an SMS to a Japanese mobile as one-way and names the customer's other
channels, with the key that switches to them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omnitui.app import OmniApp
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.store import Store
from omnitui.widgets.format import channel_mark
from tests.conftest import fixture_dir
from tests.peers.twilio_api import TwilioPeer, TwilioSpec
from tests.pilot_steps import open_customer
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

ACCOUNT = "AC" + "7a1e" * 8
TOKEN = "tw-japan-token-7a1e"
TOKEN_ENV = "OMNITUI_TEST_TWILIO_TOKEN"
SHOP_JP = "+815012345678"
SHOP_US = "+14155550100"

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
SMS = Channel(ChannelKind.SMS, "shop-sms")
LINE = Channel(ChannelKind.LINE, "shop-line")
HANA_LINE = "U" + "4f" * 16
SMS_MARK = f"{channel_mark(ChannelKind.SMS)} SMS"
ONE_WAY = "Japanese mobiles cannot answer SMS"


# -- doctor ------------------------------------------------------------------------


@pytest.fixture
async def peer() -> AsyncIterator[TwilioPeer]:
    twilio = TwilioPeer(TwilioSpec.load(fixture_dir("twilio")), ACCOUNT, TOKEN, SHOP_JP)
    twilio.numbers = [SHOP_JP, SHOP_US]
    await twilio.start()
    yield twilio
    await twilio.stop()
    if twilio.violations:
        pytest.fail("left Twilio's spec:\n" + "\n".join(twilio.violations))


def sms_account(peer: TwilioPeer, name: str, number: str, region: str | None) -> str:
    return f"""
[[sms]]
name = "{name}"
account_sid = "{ACCOUNT}"
auth_token_env = "{TOKEN_ENV}"
from = "{number}"
api_base = "{peer.base_url}"
inbound = "poll"
""" + (f'default_region = "{region}"\n' if region else "")


async def test_doctor_says_japanese_mobiles_cannot_reply_by_sms(
    peer: TwilioPeer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "shop.db"}"\n'
        + sms_account(peer, "jp-sms", SHOP_JP, None)  # a Japanese number
        + sms_account(peer, "us-sms", SHOP_US, None)  # texts the US: two-way
        + sms_account(peer, "to-jp", SHOP_US, "JP"),  # numbers are read as Japanese
        encoding="utf-8",
    )
    env = {**os.environ, TOKEN_ENV: TOKEN, "HOME": str(tmp_path)}
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        "doctor",
        "--config",
        str(config),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(done.communicate(), 60)
    lines = out.decode().splitlines()
    # A note, not a failure: the accounts work, and doctor says all is well.
    assert done.returncode == 0, (out.decode(), err.decode())
    assert not [line for line in lines if line.startswith("FAIL")]
    notes = {line.split()[1]: line for line in lines if "cannot reply by SMS" in line}
    assert sorted(notes) == ["jp-sms", "to-jp"]
    for line in notes.values():
        assert line.startswith("--    ")  # one line, marked as a note
        assert "Japanese mobiles cannot reply by SMS" in line and "one-way" in line
        assert "LINE" in line
    # Each account still has its own checks, each on its line.
    assert any(line.startswith("ok    us-sms   number ok") for line in lines)


# -- the composer ------------------------------------------------------------------


async def customers(store: Store) -> dict[str, int]:
    """Hana writes by LINE and email, then by SMS from a Japanese mobile; Kenji
    only by SMS from a Japanese mobile; Amy by SMS from the US."""
    now = time.time()
    line = await store.ingest(
        [Inbound(LINE, "l1", HANA_LINE, "Hana", "お花の予約をしたいです", now - 3600)]
    )
    mail = await store.ingest(
        [Inbound(MAIL, "m1", "hana@example.jp", "Hana", "予約の件", now - 1800, subject="予約")]
    )
    sms = await store.ingest(
        [Inbound(SMS, "s1", "+819011112222", "Hana", "5時に行きます", now - 300)]
    )
    await store.merge(line[0].contact_id, sms[0].contact_id, agent="Aiko")
    await store.merge(mail[0].contact_id, sms[0].contact_id, agent="Aiko")
    kenji = await store.ingest(
        [Inbound(SMS, "s2", "+818033334444", "Kenji", "在庫ありますか", now - 200)]
    )
    amy = await store.ingest([Inbound(SMS, "s3", "+14155550123", "Amy", "Is it ready?", now - 100)])
    return {
        "Hana": sms[0].contact_id,
        "Kenji": kenji[0].contact_id,
        "Amy": amy[0].contact_id,
    }


def console(store: Store, language: str = "en") -> OmniApp:
    return OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=[MAIL, SMS, LINE],
        poll_changes=0.05,
        language=language,
    )


def status_of(app: OmniApp) -> str:
    return str(app.screen.query_one("#composer-status").render())


def notice_of(app: OmniApp) -> str:
    """The line below the composer's status, when it is shown."""
    notice = app.screen.query_one("#composer-notice")
    return str(notice.render()) if notice.display else ""


async def test_an_sms_to_a_japanese_mobile_is_one_way_and_offers_line_and_email(
    store: Store,
) -> None:
    ids = await customers(store)
    app = console(store)
    async with app.run_test(size=(140, 36)) as pilot:
        await open_customer(pilot, ids["Hana"])
        await pilot.press("r")
        # She wrote last by SMS: the reply goes by SMS, which she cannot answer.
        await wait_until(lambda: ONE_WAY in notice_of(app), pilot=pilot)
        status = status_of(app)
        # Marked one-way after the SMS count, which a narrow screen keeps first.
        assert SMS_MARK in status and status.index("GSM-7") < status.index("one-way")
        # ...and the channels she can answer on, with the key that moves the reply there.
        offer = notice_of(app).split(" · ^T ", 1)[1]
        assert sorted(offer.split(" / ")) == ["LINE", "email"]
        # What she costs is still counted as she types.
        await pilot.press(*"OK")
        assert "1 SMS · GSM-7 2/160" in status_of(app)
        # ctrl+t, the key the status names, moves the reply to another channel.
        await pilot.press("ctrl+t")
        await wait_until(lambda: SMS_MARK not in status_of(app), pilot=pilot)
        assert ONE_WAY not in notice_of(app) and "one-way" not in status_of(app)
        assert app.inbox.composer.text == "OK"  # the reply stays as it was


async def test_only_japanese_mobiles_are_one_way(store: Store) -> None:
    ids = await customers(store)
    app = console(store)
    async with app.run_test(size=(140, 36)) as pilot:
        # Kenji has no other channel: the SMS is one-way and nothing is offered.
        await open_customer(pilot, ids["Kenji"])
        await wait_until(lambda: ONE_WAY in notice_of(app), pilot=pilot)
        assert "one-way" in status_of(app)
        assert notice_of(app).endswith("· no other channel to offer")
        # Amy's number is American: she can answer, nothing is said.
        await open_customer(pilot, ids["Amy"])
        await wait_until(lambda: SMS_MARK in status_of(app), pilot=pilot)
        await pilot.pause(0.2)
        assert not notice_of(app) and "one-way" not in status_of(app)


async def test_the_one_way_mark_in_japanese(store: Store) -> None:
    ids = await customers(store)
    app = console(store, "ja")
    async with app.run_test(size=(140, 36)) as pilot:
        await open_customer(pilot, ids["Hana"])
        await wait_until(lambda: "一方通行" in status_of(app), pilot=pilot)
        notice = notice_of(app)
        assert notice.startswith("日本の携帯電話は SMS に返信できません · ^T ")
        assert sorted(notice.split("^T ")[1].split(" / ")) == ["LINE", "メール"]
