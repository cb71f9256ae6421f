"""Loop protection on the real channels: Dovecot and aiosmtpd, and the Bot API peer.

What a machine wrote arrives in the store marked `automatic` (so no rule ever
answers it); what a rule sends says it is automatic (mail headers), and a
rule's numbered menu reaches a Telegram customer as buttons.
"""

from __future__ import annotations

import email
import json
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

from omnitui.adapters.email import EmailAdapter
from omnitui.adapters.mailparse import parse_mail
from omnitui.adapters.telegram import TelegramAdapter
from omnitui.automation import Automation, AutomationSetup
from omnitui.config import parse
from omnitui.domain.models import Channel, ChannelKind, Outbound
from omnitui.hub import Hub
from omnitui.store import Store
from tests import test_email, test_telegram
from tests.conftest import fixture_dir
from tests.peers.dovecot import Dovecot
from tests.peers.telegram_api import BotApiPeer, Customer
from tests.test_email import FAST, Recorder, account, imap
from tests.test_telegram import BOT, adapter_for, wait_stored
from tests.waiting import wait_until

# The peers' fixtures, as the email and Telegram tests run them.
dovecot = test_email.dovecot
smtp = test_email.smtp
mail_password = test_email.mail_password
bot_token = test_telegram.bot_token
peer = test_telegram.peer
running_bot = test_telegram.running

SHOP_MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
MISAKI = Customer(4_200_301, "美咲", last_name="田中", language_code="ja")
MENU = (
    "お問い合わせありがとうございます。ご用件の番号を送ってください。\n"
    "1. 営業時間\n2. 返品・交換\n3. 配送状況\n4. 注文の変更\n5. 担当者と話す"
)


def mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Sakura Flowers <shop@example.com>"
    message["Subject"] = subject
    message["Date"] = format_datetime(email.utils.localtime())
    message["Message-ID"] = make_msgid("m", "example.jp")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, charset="utf-8")
    return message.as_bytes()


async def automatic_by_subject(store: Store) -> dict[str, object]:
    rows = await store._rows("SELECT subject, meta FROM message WHERE direction = 'in'")
    return {row[0]: json.loads(row[1]).get("automatic") for row in rows}


async def test_auto_replies_bulk_mail_and_bounces_arrive_marked_and_a_customers_mail_does_not(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    bounce = fixture_dir("email") / "sisimai-set-of-emails" / "bsd__lhost-ezweb-07.eml"
    client = imap(dovecot)
    client.append(
        "INBOX",
        mail(
            "Emma <emma@example.com>",
            "Automatic reply: 返品について",
            "I am out of the office until Monday.",
            Auto_Submitted="auto-replied",
        ),
    )
    client.append(
        "INBOX",
        mail("Flower Market <news@market.example>", "今月のセール", "20% off", Precedence="bulk"),
    )
    client.append(
        "INBOX",
        mail(
            "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.jp>",
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mx.example.jp.",
        ),
    )
    client.append(
        "INBOX", mail("Shop system <noreply@cart.example>", "新しい注文 #1042", "注文が入りました")
    )
    client.append("INBOX", bounce.read_bytes())
    client.append(
        "INBOX", mail("田中美咲 <misaki@example.jp>", "返品したいです", "花が傷んでいました。")
    )
    client.logout()
    adapter = EmailAdapter(account(dovecot, smtp[1]))
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def all_six() -> bool:
            return len(await automatic_by_subject(store)) == 6

        await wait_until(all_six)
    finally:
        await hub.stop()
    carrier_bounce = parse_mail(bounce.read_bytes()).subject  # au's Japanese notice
    assert await automatic_by_subject(store) == {
        "Automatic reply: 返品について": "Auto-Submitted: auto-replied",
        "今月のセール": "Precedence: bulk",
        "Undelivered Mail Returned to Sender": "mail system sender",
        "新しい注文 #1042": "no-reply sender",
        carrier_bounce: "bounce (empty Return-Path)",
        "返品したいです": None,  # a customer: rules may answer her
    }


async def test_a_rules_reply_goes_out_marked_automatic_and_an_agents_does_not(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    recorder, port = smtp
    adapter = EmailAdapter(account(dovecot, port))
    try:
        await adapter.send(
            Outbound(
                41,
                SHOP_MAIL,
                "misaki@example.jp",
                "本日の営業は終了しました。明日10時から順にお返事します。",
                "Re: 返品したいです",
                meta={"automatic": True, "in_reply_to": "<q1@example.jp>"},
            )
        )
        await adapter.send(
            Outbound(42, SHOP_MAIL, "misaki@example.jp", "お待たせしました。", "Re: 返品したいです")
        )
    finally:
        await adapter.close()
    automatic, by_agent = (
        email.message_from_bytes(raw, policy=default) for _, _, raw in recorder.messages
    )
    assert automatic["Auto-Submitted"] == "auto-replied"
    assert automatic["X-Auto-Response-Suppress"] == "All"
    assert automatic["In-Reply-To"] == "<q1@example.jp>"
    assert by_agent["Auto-Submitted"] is None
    assert by_agent["X-Auto-Response-Suppress"] is None

    # The automatic reply bounced back into the shop's own inbox is never answered.
    client = imap(dovecot)
    for _, _, raw in recorder.messages:
        client.append("INBOX", raw)
    client.logout()
    hub = Hub(store, [EmailAdapter(account(dovecot, port))], retry=FAST)
    await hub.start()
    try:

        async def both() -> bool:
            rows = await store._rows("SELECT count(*) FROM message WHERE direction = 'in'")
            return int(rows[0][0]) == 2

        await wait_until(both)
    finally:
        await hub.stop()
    rows = await store._rows("SELECT text, meta FROM message WHERE direction = 'in' ORDER BY id")
    marks = {row[0].strip(): json.loads(row[1]).get("automatic") for row in rows}
    assert marks == {
        "本日の営業は終了しました。明日10時から順にお返事します。": "Auto-Submitted: auto-replied",
        "お待たせしました。": None,
    }


# -- Telegram ---------------------------------------------------------------------------


def keyboards(peer: BotApiPeer) -> list[object]:
    """The reply_markup of every sendMessage, as the Bot API received it (None without one)."""
    out: list[object] = []
    for call in peer.calls:
        if call.method == "sendMessage":
            markup = call.params.get("reply_markup")
            out.append(json.loads(markup) if isinstance(markup, str) else markup)
    return out


async def test_a_rules_menu_reaches_telegram_as_number_buttons(peer: BotApiPeer) -> None:
    adapter = adapter_for(peer)
    try:
        await adapter.send(Outbound(1, BOT, str(MISAKI.id), MENU, "", meta={"automatic": True}))
    finally:
        await adapter.close()
    assert [s.text for s in peer.sent] == [MENU]
    assert keyboards(peer) == [
        {
            "keyboard": [
                [{"text": "1"}, {"text": "2"}, {"text": "3"}, {"text": "4"}],
                [{"text": "5"}],
            ],
            "one_time_keyboard": True,
            "resize_keyboard": True,
        }
    ]


async def test_an_agents_menu_and_a_rules_plain_reply_carry_no_buttons(peer: BotApiPeer) -> None:
    adapter = adapter_for(peer)
    try:
        await adapter.send(Outbound(1, BOT, str(MISAKI.id), MENU, ""))  # typed by an agent
        await adapter.send(
            Outbound(
                2,
                BOT,
                str(MISAKI.id),
                "本日の営業は終了しました。",
                "",
                meta={"automatic": True},
            )
        )
    finally:
        await adapter.close()
    assert [s.text for s in peer.sent] == [MENU, "本日の営業は終了しました。"]
    assert keyboards(peer) == [None, None]


async def test_a_long_menu_carries_its_buttons_on_its_last_part(peer: BotApiPeer) -> None:
    preface = "\n".join(f"注意事項 {n}: " + "あ" * 60 for n in range(80))  # over 4,096
    adapter = adapter_for(peer)
    try:
        await adapter.send(
            Outbound(1, BOT, str(MISAKI.id), f"{preface}\n\n{MENU}", "", meta={"automatic": True})
        )
    finally:
        await adapter.close()
    marks = keyboards(peer)
    assert len(marks) == 2 and marks[0] is None
    assert isinstance(marks[1], dict) and marks[1]["one_time_keyboard"] is True
    assert MENU.splitlines()[-1] in (peer.sent[-1].text or "")


async def test_the_customers_tap_arrives_as_the_number_and_a_bots_message_is_marked(
    store: Store, peer: BotApiPeer, running_bot: tuple[Hub, TelegramAdapter]
) -> None:
    peer.text(MISAKI, "1")  # what tapping the button "1" sends
    peer.push(
        {
            "message": peer.new_message(
                {"id": 4_200_399, "type": "private", "first_name": "Delivery"},
                {
                    "id": 4_200_399,
                    "is_bot": True,
                    "first_name": "Delivery",
                    "username": "deliv_bot",
                },
                text="Your parcel is on its way",
            )
        }
    )
    await wait_stored(store, 2)
    rows = await store._rows(
        "SELECT text, json_extract(meta, '$.automatic') FROM message WHERE direction = 'in'"
    )
    assert sorted(map(tuple, rows), key=str) == sorted(
        [("1", None), ("Your parcel is on its way", "sent by a bot")], key=str
    )


# -- with the rules running ----------------------------------------------------------

CLOSED = "ただいま営業時間外です。明日10時よりご返信いたします。"
HOURS = "営業時間は10時から19時です。"
ALWAYS_CLOSED = '[hours]\ntimezone = "Asia/Tokyo"\n'  # no day has a period
AFTER_HOURS = """
[[rule]]
name = "After hours"
on = "message"
[rule.if]
hours = "closed"
[rule.then]
reply = "closed"
"""
MENU_RULES = """
[[rule]]
name = "Menu"
on = "new_conversation"
[rule.then]
reply = "menu"

[[rule]]
name = "Menu 1"
on = "message"
[rule.if]
exact = ["1"]
[rule.then]
reply = "hours"
"""


def mail_config(dovecot: Dovecot, smtp_port: int) -> str:
    return f"""
[[email]]
name = "shop-mail"
imap_host = "127.0.0.1"
imap_port = {dovecot.port}
imap_tls = "none"
username = "{dovecot.user}"
password_env = "{test_email.PASSWORD_ENV}"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_tls = "none"
from = "Sakura Flowers <shop@example.com>"
"""


def bot_config(peer: BotApiPeer) -> str:
    return f"""
[[telegram]]
name = "shop-bot"
token_env = "{test_telegram.TOKEN_ENV}"
api_base = "{peer.url}"
"""


async def start_shop(store: Store, config: str, channel: Channel) -> Hub:
    """The channel process of a shop with this config.toml: its channel and its rules."""
    await store.add_canned_replies(
        [
            ("closed", "Closed", CLOSED, ""),
            ("menu", "Menu", MENU, ""),
            ("hours", "Hours", HOURS, ""),
        ]
    )
    settings = parse(config, Path("config.toml"))
    adapter: EmailAdapter | TelegramAdapter
    if settings.email:
        adapter = EmailAdapter(settings.email[0])
    else:
        adapter = TelegramAdapter(settings.telegram[0], poll_timeout=2)
    automation = Automation(
        store, AutomationSetup.from_settings(settings), {channel.account: channel}
    )
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05, automation=automation)
    await hub.start()
    return hub


async def rules_done(store: Store, messages: int) -> None:
    async def done() -> bool:
        rows = await store._rows("SELECT count(*) FROM message WHERE direction = 'in'")
        return rows[0][0] >= messages and not await store.pending_automation()

    await wait_until(done, what=f"{messages} messages stored and the rules run")


async def skipped_replies(store: Store) -> dict[str, object]:
    """Each automation line's reply skip reason, by the sender the line is about."""
    rows = await store._rows(
        "SELECT i.address, m.text FROM message m JOIN contact c ON c.id = m.contact_id "
        "JOIN identity i ON i.contact_id = c.id WHERE m.direction = 'auto' ORDER BY m.id"
    )
    return {row[0]: json.loads(row[1]).get("reply_skipped") for row in rows}


async def test_an_after_hours_rule_answers_the_customer_and_no_machine_and_not_itself(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    recorder, port = smtp
    config = mail_config(dovecot, port) + ALWAYS_CLOSED + AFTER_HOURS
    client = imap(dovecot)
    client.append("INBOX", mail("Old <old@example.jp>", "先月の質問", "history"))
    hub = await start_shop(store, config, SHOP_MAIL)
    try:
        await rules_done(store, 1)  # the first sync: history, never answered
        for raw in (
            mail(
                "Emma <emma@example.com>",
                "Out of office",
                "Back Monday",
                Auto_Submitted="auto-replied",
            ),
            mail("Market <news@market.example>", "セール", "20% off", Precedence="bulk"),
            mail("MAILER-DAEMON@mx.example.jp", "Undelivered Mail", "bounced"),
            mail("田中美咲 <misaki@example.jp>", "返品したいです", "花が傷んでいました。"),
        ):
            client.append("INBOX", raw)
        await rules_done(store, 5)
        await wait_until(lambda: len(recorder.messages) >= 1, what="the after-hours reply")
        # Our own reply comes back (a customer's server returns it): never answered.
        client.append("INBOX", recorder.messages[0][2])
        await rules_done(store, 6)
    finally:
        await hub.stop()
        client.logout()
    assert [rcpt for _, rcpt, _ in recorder.messages] == [["misaki@example.jp"]]
    reply = email.message_from_bytes(recorder.messages[0][2], policy=default)
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply.get_content().strip() == CLOSED
    assert await skipped_replies(store) == {
        "emma@example.com": "automatic",
        "news@market.example": "automatic",
        "mailer-daemon@mx.example.jp": "automatic",
        "misaki@example.jp": None,
        "shop@example.com": "automatic",
    }


async def test_a_rules_menu_on_telegram_has_buttons_and_a_tap_gets_the_answer(
    store: Store, peer: BotApiPeer
) -> None:
    config = bot_config(peer) + MENU_RULES
    hub = await start_shop(store, config, BOT)
    try:
        await wait_until(lambda: any(c.method == "getUpdates" for c in peer.calls))
        peer.text(MISAKI, "こんにちは")
        await wait_until(lambda: len(peer.sent) == 1, what="the menu")
        peer.text(MISAKI, "1")  # her tap on the button "1"
        await wait_until(lambda: len(peer.sent) == 2, what="the answer to 1")
        robot = {"id": 4_200_398, "is_bot": True, "first_name": "Parcel", "username": "parcel_bot"}
        chat = {"id": robot["id"], "type": "private", "first_name": "Parcel"}
        peer.push({"message": peer.new_message(chat, robot, text="1")})
        await rules_done(store, 3)
    finally:
        await hub.stop()
    assert [(s.chat_id, s.text) for s in peer.sent] == [(MISAKI.id, MENU), (MISAKI.id, HOURS)]
    menu, answer = keyboards(peer)
    assert isinstance(menu, dict) and menu["keyboard"][0][0] == {"text": "1"}
    assert answer is None  # not a menu: no buttons
    assert (await skipped_replies(store))[str(robot["id"])] == "automatic"
