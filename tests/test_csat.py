"""Satisfaction surveys (CSAT) on real channels: the Bot API peer, Dovecot and aiosmtpd, Twilio.

A shop with `[csat] enabled = true` asks a customer to rate their conversation
when it is resolved, on the channel they wrote on and in their language; a
rating is recorded without reopening the conversation, any other message
reopens it, and a low rating can notify the owner through an `on = "csat"` rule.
"""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from email.policy import default
from functools import partial
from pathlib import Path

import pytest
from textual.widgets import Static

from omnitui.adapters.base import Adapter
from omnitui.adapters.email import EmailAdapter
from omnitui.adapters.sms import SmsAdapter
from omnitui.adapters.telegram import TelegramAdapter
from omnitui.automation import Automation, AutomationSetup
from omnitui.config import parse
from omnitui.domain.csat import rating_of
from omnitui.domain.models import Channel, ChannelKind, Direction, Message, ThreadStatus
from omnitui.hub import Hub
from omnitui.store import Store
from tests import test_email, test_sms, test_telegram
from tests.peers.dovecot import Dovecot, free_port
from tests.peers.telegram_api import BotApiPeer, Customer, Sent
from tests.peers.twilio_api import TwilioPeer, TwilioSpec
from tests.test_automatic_channels import bot_config, mail, mail_config, rules_done
from tests.test_email import FAST, Recorder, imap
from tests.waiting import wait_until

# The peers' fixtures, as the channels' own tests run them.
dovecot = test_email.dovecot
smtp = test_email.smtp
mail_password = test_email.mail_password
bot_token = test_telegram.bot_token
peer = test_telegram.peer
twilio_spec = test_sms.twilio_spec
twilio_token = test_sms.twilio_token


@pytest.fixture
async def twilio(twilio_spec: TwilioSpec) -> AsyncIterator[TwilioPeer]:
    server = TwilioPeer(twilio_spec, test_sms.ACCOUNT, test_sms.TOKEN, test_sms.SHOP)
    await server.start()
    yield server
    await server.stop()
    if server.violations:
        pytest.fail("left Twilio's spec:\n" + "\n".join(server.violations))


pytestmark = pytest.mark.backends

BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
SHOP_MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
SMS = Channel(ChannelKind.SMS, "shop-sms")
MISAKI = Customer(4_400_001, "美咲", last_name="田中", language_code="ja")
EMMA = Customer(4_400_002, "Emma", language_code="en")
KENTA = Customer(4_400_003, "健太", language_code="ja")

ASK_JA = "ご利用ありがとうございました。今回の対応を1〜5でお知らせください（5が最高です）。"
ASK_EN = "Thank you! How did we do? Answer 1 to 5 (5 is best)."
HELLO = "お問い合わせありがとうございます。担当者から折り返しご連絡します。"
CANNED = [
    ("csat", "Survey", ASK_JA, "ja"),
    ("csat", "Survey", ASK_EN, ""),
    ("hello", "Hello", HELLO, ""),
]
CSAT = '\n[csat]\nenabled = true\nask = "csat"\n'
UNHAPPY = """
[[rule]]
name = "Unhappy customer"
on = "csat"
[rule.if]
rating = [1, 2]
[rule.then]
notify = true
tag = ["unhappy"]
"""
GREETING = """
[[rule]]
name = "Greeting"
on = "new_conversation"
[rule.then]
reply = "hello"
"""

Shop = Callable[[str], Awaitable[Hub]]


@pytest.fixture
async def shop(store: Store) -> AsyncIterator[Shop]:
    """Start the shop's channel process with this config.toml (its channels and rules)."""
    hubs: list[Hub] = []
    await store.add_canned_replies(CANNED)

    async def start(config: str) -> Hub:
        settings = parse(config, Path("config.toml"))
        adapters: list[Adapter] = [EmailAdapter(s) for s in settings.email]
        adapters += [TelegramAdapter(s, poll_timeout=2) for s in settings.telegram]
        adapters += [SmsAdapter(s, consent=store) for s in settings.sms]
        channels = {a.channel.account: a.channel for a in adapters}
        automation = Automation(store, AutomationSetup.from_settings(settings), channels)
        hub = Hub(store, adapters, retry=FAST, poll_outbox=0.05, automation=automation)
        await hub.start()
        hubs.append(hub)
        return hub

    try:
        yield start
    finally:
        for hub in hubs:
            await hub.stop()


async def telegram_shop(shop: Shop, peer: BotApiPeer, rules: str = "") -> Hub:
    hub = await shop(bot_config(peer) + CSAT + rules)
    # The bot's first poll is done: what customers write from now on is live.
    await wait_until(lambda: any(c.method == "getUpdates" for c in peer.calls))
    return hub


async def contact_named(store: Store, name: str) -> int:
    async def known() -> bool:
        return any(c.name == name for c in await store.list_contacts())

    await wait_until(known, what=f"{name} stored")
    return next(c.id for c in await store.list_contacts() if c.name == name)


async def inbound(store: Store) -> int:
    rows = await store._rows("SELECT count(*) FROM message WHERE direction = 'in'")
    return int(rows[0][0])


async def all_sent(store: Store) -> bool:
    rows = await store._rows(
        "SELECT count(*) FROM message WHERE direction = 'out' AND status IN ('queued', 'sending')"
    )
    return not rows[0][0] and not await store.pending_automation()


def sent_to(peer: BotApiPeer, customer: Customer) -> list[Sent]:
    return [s for s in peer.sent if s.chat_id == customer.id]


def markups(peer: BotApiPeer) -> list[object]:
    """The reply_markup of every sendMessage, as the Bot API received it (None without one)."""
    out: list[object] = []
    for call in peer.calls:
        if call.method == "sendMessage":
            markup = call.params.get("reply_markup")
            out.append(json.loads(markup) if isinstance(markup, str) else markup)
    return out


async def answered_and_resolved(
    store: Store, contact_id: int, channel: Channel, count: Callable[[], int]
) -> None:
    """A person answers the customer (the reply goes out), then resolves them."""
    before = count()
    await store.enqueue_reply(
        contact_id, channel, "確認いたしました。本日発送します。", author="Ken"
    )
    await wait_until(lambda: count() > before, what="the agent's reply sent")
    await store.set_status(contact_id, ThreadStatus.RESOLVED)


async def a_conversation(store: Store, peer: BotApiPeer, customer: Customer, text: str) -> int:
    """`customer` writes, an agent answers and resolves: their contact id."""
    messages = await inbound(store)
    peer.text(customer, text)
    name = " ".join(filter(None, [customer.first_name, customer.last_name]))
    contact_id = await contact_named(store, name)
    await rules_done(store, messages + 1)
    await answered_and_resolved(store, contact_id, BOT, lambda: len(peer.sent))
    return contact_id


async def rating(store: Store, contact_id: int) -> int | None:
    rows = await store._rows(
        "SELECT csat_rating FROM conversation WHERE contact_id = ? "
        "ORDER BY started_at DESC, id DESC LIMIT 1",
        (contact_id,),
    )
    return rows[0][0] if rows else None


async def thread(store: Store, contact_id: int) -> list[Message]:
    return await store.thread_page(contact_id, limit=200)


async def said(store: Store, contact_id: int, text: str) -> Message:
    """The customer's message `text` in their thread (Telegram's times are whole
    seconds, so it may sort before the question it answers)."""
    found = [
        m for m in await thread(store, contact_id) if m.direction is Direction.IN and m.text == text
    ]
    assert len(found) == 1, [m.text for m in await thread(store, contact_id)]
    return found[0]


async def test_resolve_asks_on_telegram_with_buttons_and_full_width_5_does_not_reopen(
    store: Store, peer: BotApiPeer, shop: Shop
) -> None:
    await telegram_shop(shop, peer)
    misaki = await a_conversation(store, peer, MISAKI, "注文した花はいつ届きますか？")
    await wait_until(lambda: len(sent_to(peer, MISAKI)) == 2, what="the survey")
    survey = sent_to(peer, MISAKI)[1]
    assert survey.text == ASK_JA  # her Telegram speaks Japanese
    assert markups(peer)[-1] == {
        "inline_keyboard": [[{"text": str(n), "callback_data": f"csat:{n}"} for n in range(1, 6)]]
    }
    question = (await thread(store, misaki))[-1]
    assert (question.direction, question.author, question.text) == (
        Direction.OUT,
        "⚙ CSAT",
        ASK_JA,
    )

    peer.text(MISAKI, "５")
    await rules_done(store, 2)
    assert await rating(store, misaki) == 5
    summary = await store.contact_summary(misaki)
    assert summary is not None
    assert (summary.status, summary.unread) == (ThreadStatus.RESOLVED, 0)
    assert (await said(store, misaki, "５")).csat == 5
    assert [n.rule for n in await store.notices_after(0)] == []  # nobody is told of a 5
    csat = await store.csat_summary(misaki)
    assert csat is not None and (csat.last, csat.count) == (5, 1)

    # A question after the answer is a new conversation: it reopens, unread.
    peer.text(MISAKI, "もう一つ質問です。配送先を変えられますか？")
    await rules_done(store, 3)
    summary = await store.contact_summary(misaki)
    assert summary is not None
    assert (summary.status, summary.unread) == (ThreadStatus.OPEN, 1)
    assert (await said(store, misaki, "もう一つ質問です。配送先を変えられますか？")).csat is None


async def test_a_rating_with_words_counts_and_a_low_one_notifies_the_owner(
    store: Store, peer: BotApiPeer, shop: Shop
) -> None:
    await telegram_shop(shop, peer, UNHAPPY)
    misaki = await a_conversation(store, peer, MISAKI, "ラッピングはできますか？")
    kenta = await a_conversation(store, peer, KENTA, "配達時間の指定はできますか？")
    await wait_until(lambda: len(peer.sent) == 4, what="both surveys")
    peer.text(MISAKI, "5です")
    peer.text(KENTA, "評価は2")
    await rules_done(store, 4)
    assert (await rating(store, misaki), await rating(store, kenta)) == (5, 2)
    notices = await store.notices_after(0)
    assert [(n.rule, n.contact_id) for n in notices] == [("Unhappy customer", kenta)]
    assert (await store.get_contact(kenta)).tags == ("unhappy",)
    for contact_id in (misaki, kenta):
        summary = await store.contact_summary(contact_id)
        assert summary is not None and summary.status is ThreadStatus.RESOLVED


async def test_a_button_tap_counts_and_the_callback_is_answered(
    store: Store, peer: BotApiPeer, shop: Shop
) -> None:
    await telegram_shop(shop, peer)
    emma = await a_conversation(store, peer, EMMA, "Can I change the delivery address?")
    await wait_until(lambda: len(sent_to(peer, EMMA)) == 2, what="the survey")
    survey = sent_to(peer, EMMA)[1]
    assert survey.text == ASK_EN  # her Telegram speaks English
    tap = peer.tap(EMMA, survey, "csat:4")
    await wait_until(lambda: len(peer.answered) == 1, what="the tap answered")
    assert peer.answered == [(tap["callback_query"]["id"], "★★★★")]
    assert await rating(store, emma) == 4
    assert (await said(store, emma, "4")).csat == 4
    # A second tap changes nothing and reopens nothing; it is answered too.
    peer.tap(EMMA, survey, "csat:1")
    await wait_until(lambda: len(peer.answered) == 2, what="the second tap answered")
    await rules_done(store, 3)
    assert await rating(store, emma) == 4
    summary = await store.contact_summary(emma)
    assert summary is not None
    assert (summary.status, summary.unread) == (ThreadStatus.RESOLVED, 0)
    assert not peer.violations


async def test_no_survey_twice_in_a_week_nor_after_only_automation_answered(
    store: Store, peer: BotApiPeer, shop: Shop
) -> None:
    await telegram_shop(shop, peer, GREETING)
    peer.text(MISAKI, "こんにちは")
    misaki = await contact_named(store, "美咲 田中")
    await wait_until(lambda: len(peer.sent) == 1, what="the greeting")
    await rules_done(store, 1)
    # Only automation answered her: resolving asks nothing.
    await store.set_status(misaki, ThreadStatus.RESOLVED)
    await wait_until(lambda: all_sent(store), what="the resolve through the rules")
    assert [s.text for s in sent_to(peer, MISAKI)] == [HELLO]

    # Now a person answers: she is asked, once.
    peer.text(MISAKI, "やはり担当の方と話したいです")
    await rules_done(store, 2)
    await answered_and_resolved(store, misaki, BOT, lambda: len(peer.sent))
    await wait_until(lambda: len(sent_to(peer, MISAKI)) == 4, what="the survey")
    assert sent_to(peer, MISAKI)[-1].text == ASK_JA
    peer.text(MISAKI, "4")
    await rules_done(store, 3)
    assert await rating(store, misaki) == 4

    # Her next conversation, within the week: answered and resolved, not asked again.
    peer.text(MISAKI, "追加で注文したいです")
    await rules_done(store, 4)
    await answered_and_resolved(store, misaki, BOT, lambda: len(peer.sent))
    await wait_until(lambda: all_sent(store), what="the resolve through the rules")
    texts = [s.text for s in sent_to(peer, MISAKI)]
    assert texts.count(ASK_JA) == 1
    assert texts[-1] != ASK_JA
    asked = await store._rows(
        "SELECT count(*) FROM conversation WHERE contact_id = ? AND csat_asked_at IS NOT NULL",
        (misaki,),
    )
    assert asked[0][0] == 1


async def test_resolve_asks_by_email_and_the_answer_mail_counts(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], shop: Shop
) -> None:
    recorder, port = smtp
    await shop(mail_config(dovecot, port) + CSAT)
    await rules_done(store, 0)
    client = imap(dovecot)
    try:
        client.append(
            "INBOX",
            mail("田中美咲 <misaki@example.jp>", "返品について", "届いた花が傷んでいました。"),
        )
        misaki = await contact_named(store, "田中美咲")
        await rules_done(store, 1)
        await answered_and_resolved(store, misaki, SHOP_MAIL, lambda: len(recorder.messages))
        await wait_until(lambda: len(recorder.messages) == 2, what="the survey mail")
        survey = email.message_from_bytes(recorder.messages[1][2], policy=default)
        assert recorder.messages[1][1] == ["misaki@example.jp"]
        assert survey["Subject"] == "Re: 返品について"
        assert survey["Auto-Submitted"] == "auto-replied"
        body = survey.get_body(("plain",))
        assert body is not None and body.get_content().strip() == ASK_JA

        # Her answer quotes the question (its digits too) under her "5".
        quoted = "\n".join(f"> {line}" for line in ASK_JA.splitlines())
        client.append(
            "INBOX",
            mail(
                "田中美咲 <misaki@example.jp>",
                "Re: 返品について",
                f"5\n\n2026年12月5日(土) 10:15 Sakura Flowers <shop@example.com>:\n{quoted}\n",
                In_Reply_To=str(survey["Message-ID"]),
            ),
        )
        await rules_done(store, 2)
    finally:
        client.logout()
    assert await rating(store, misaki) == 5
    summary = await store.contact_summary(misaki)
    assert summary is not None and summary.status is ThreadStatus.RESOLVED


async def test_no_survey_by_sms_to_a_japanese_number_or_an_opted_out_customer(
    store: Store, twilio: TwilioPeer, shop: Shop
) -> None:
    port = free_port()
    hub = await shop(test_sms.sms_toml(twilio, port=port) + CSAT)
    adapter = hub.adapters[SMS.account]
    assert isinstance(adapter, SmsAdapter)
    url = f"http://127.0.0.1:{port}/sms"
    japan, america, stopped = "+819012345678", "+14155550123", "+14155550188"

    def listening() -> bool:
        return adapter.status.get("inbound", "").startswith("listening") and (
            adapter.status.get("catch_up", "").startswith("caught up")
        )

    await wait_until(listening, what="the SMS webhook listening")
    for number in (japan, america, stopped):
        await twilio.text_in(url, number, "明日受け取りに行けますか？")
    await rules_done(store, 3)
    contacts = {
        number: contact.id
        for number in (japan, america, stopped)
        if (contact := await test_sms.contact_of(store, number)) is not None
    }
    assert len(contacts) == 3
    for number, contact_id in contacts.items():
        await store.enqueue_reply(contact_id, SMS, "はい、お待ちしております。", author="Ken")
        await wait_until(partial(twilio.sent_to, number), what=f"the reply to {number}")
    await twilio.text_in(url, stopped, "STOP")
    await rules_done(store, 4)
    for contact_id in contacts.values():
        await store.set_status(contact_id, ThreadStatus.RESOLVED)
    await wait_until(lambda: len(twilio.sent_to(america)) == 2, what="the survey to the US number")
    await wait_until(lambda: all_sent(store), what="the resolves through the rules")
    assert twilio.sent_to(america)[-1]["body"] == ASK_JA  # she wrote in Japanese
    assert len(twilio.sent_to(japan)) == 1  # Twilio numbers in Japan get no SMS answers
    assert len(twilio.sent_to(stopped)) == 1  # opted out


def rating_cases() -> Sequence[tuple[str, int | None]]:
    return [
        ("5", 5),
        ("５", 5),
        ("5です", 5),
        ("評価は4", 4),
        ("4 thanks!", 4),
        ("5/5", 5),
        ("３点", 3),
        ("5\n-- \n田中美咲 090-1234-5678", 5),
        ("10", None),
        ("0", None),
        ("6", None),
        ("3か4", None),
        ("2025年に買った花", None),
        ("明日の午後3時に受け取りに行ってもよろしいでしょうか？", None),
        ("ありがとう", None),
        ("3時に行きます", None),
        ("バラを2本", None),
        ("5 stars", 5),
        ("4\n\nOn Sat, 5 Dec 2026 at 10:15, Sakura Flowers wrote:", 4),
        ("4です！", 4),
    ]


@pytest.mark.parametrize(("text", "expected"), rating_cases())
def test_what_counts_as_a_rating(text: str, expected: int | None) -> None:
    assert rating_of(text) == expected


def test_doctor_names_an_ask_that_is_no_canned_reply(tmp_path: Path) -> None:
    import asyncio

    db = tmp_path / "omnitui.db"

    async def make() -> None:
        store = await Store.open(db)
        await store.add_canned_replies(CANNED)
        await store.close()

    asyncio.run(make())
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8", "HOME": str(tmp_path)}
    lines: dict[str, str] = {}
    for ask in ("csat", "survey"):
        path = tmp_path / f"{ask}.toml"
        path.write_text(
            f'[store]\npath = "{db}"\n\n[csat]\nenabled = true\nask = "{ask}"\n', encoding="utf-8"
        )
        done = subprocess.run(
            [sys.executable, "-m", "omnitui.cli", "--config", str(path), "doctor"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
            check=False,
        )
        lines[ask] = next((x for x in done.stdout.splitlines() if " csat " in x), "")
    assert lines["csat"].startswith("ok    csat     asks with /csat")
    assert lines["survey"] == "FAIL  csat     ask = /survey is no canned reply: nobody is asked"


def test_the_readme_csat_example_parses() -> None:
    import re

    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Satisfaction surveys (CSAT)") :]
    section = section[: section.index("\n### ")]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    settings = parse("\n".join(blocks), Path("config.toml"))
    assert (settings.csat.enabled, settings.csat.ask, settings.csat.every_days) == (
        True,
        "csat",
        7,
    )
    assert [(r.on, r.when.rating) for r in settings.rules()] == [("csat", (1, 2))]


async def test_the_thread_and_the_profile_show_the_rating(store: Store) -> None:
    from omnitui.app import OmniApp
    from omnitui.domain.models import Inbound

    await store.add_canned_replies(CANNED)

    def said_by_misaki(n: int, text: str) -> Inbound:
        return Inbound(
            channel=BOT,
            provider_id=f"{MISAKI.id}:{n}",
            address=str(MISAKI.id),
            display_name="田中 美咲",
            text=text,
            sent_at=store.now(),
            identity_data={"chat_id": MISAKI.id, "language_code": "ja"},
        )

    automation = Automation(store, AutomationSetup(csat_ask="csat"), {BOT.account: BOT})
    for n, (text, answer) in enumerate([("花束の予約をしたいです", "4"), ("追加の質問です", "2")]):
        [arrived] = await store.ingest([said_by_misaki(2 * n, text)])
        await store.enqueue_reply(arrived.contact_id, BOT, "承知しました。", author="Ken")
        await store.set_status(arrived.contact_id, ThreadStatus.RESOLVED)
        await automation.step()  # the resolve: the question is queued
        automation.setup = AutomationSetup(csat_ask="csat", csat_every=0.0)
        await store.ingest([said_by_misaki(2 * n + 1, answer)])
    misaki = arrived.contact_id
    app = OmniApp(store, agent_name="Aiko", channels=[BOT], poll_changes=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.inbox
        await wait_until(lambda: screen.contacts.contacts, pilot=pilot, what="the list")
        await pilot.press("enter")
        await wait_until(
            lambda: screen.contact is not None and screen.contact.id == misaki, pilot=pilot
        )
        await wait_until(
            lambda: "★ 2/5" in "\n".join(screen.thread.lines_text()),
            pilot=pilot,
            what="the rating in the thread",
        )
        lines = screen.thread.lines_text()
        assert sum("★ 4/5" in line for line in lines) == 1
        assert sum("⚙ CSAT" in line for line in lines) == 2  # each question, like a rule's reply
        await pilot.press("p")
        await wait_until(
            lambda: type(app.screen).__name__ == "ProfileScreen", pilot=pilot, what="the profile"
        )
        shown = app.screen.query_one("#csat", Static)
        await wait_until(lambda: shown.display, pilot=pilot, what="the ratings on the profile")
        assert "Satisfaction: last ★ 2/5" in str(shown.render())
        assert "average 3.0 of 2" in str(shown.render())
