"""Mail and messages a machine wrote, and numbered menus: the pure checks.

An automatic reply must never answer an out-of-office reply, a bounce, bulk
mail, a no-reply sender or another bot: each is marked with the reason, here
checked on hand-written headers and on real mail from ../shared/fixtures.
"""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import compat32

import pytest

from omnitui.adapters.email_messages import build_reply, to_inbound
from omnitui.adapters.mailparse import parse_mail
from omnitui.adapters.telegram_messages import BOT_SENDER, menu_rows, raw_inbound
from omnitui.domain.automatic import (
    address_reason,
    automatic_address,
    automatic_mail,
    menu_options,
)
from omnitui.domain.models import Channel, ChannelKind, Outbound
from tests.conftest import fixture_dir

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
CUSTOMER = "misaki@example.jp"


# -- headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"auto-submitted": "Auto-Generated (failure)"}, "Auto-Submitted: auto-generated"),
        (
            {"AUTO-SUBMITTED": "auto-notified; owner-email=x@example.jp"},
            "Auto-Submitted: auto-notified",
        ),
        ({"Auto-Submitted": ""}, "Auto-Submitted"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"precedence": "JUNK"}, "Precedence: junk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"X-Autoreply": "yes"}, "X-Autoreply header"),
        ({"X-Autorespond": "Out of office"}, "X-Autorespond header"),
        ({"X-Auto-Response-Suppress": "All"}, "X-Auto-Response-Suppress: all"),
        ({"X-Auto-Response-Suppress": "DR, OOF"}, "X-Auto-Response-Suppress: oof"),
        ({"Return-Path": "<>"}, "bounce (empty Return-Path)"),
        ({"Return-Path": "< >"}, "bounce (empty Return-Path)"),
        (
            {"Content-Type": 'multipart/report; report-type="disposition-notification"'},
            "delivery or read report",
        ),
        ({"X-Apple-Action": "VACATION"}, "vacation reply (X-Apple-Action)"),
    ],
)
def test_headers_that_say_a_machine_wrote_the_mail_give_the_reason(
    headers: dict[str, str], reason: str
) -> None:
    assert automatic_mail(headers, CUSTOMER) == reason


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Auto-Submitted": "no"},
        {"Auto-Submitted": "No (a person wrote this)"},
        {"Precedence": "first-class"},
        {"Return-Path": "<misaki@example.jp>"},
        {"X-Auto-Response-Suppress": "DR, RN"},  # only receipts suppressed
        {"Content-Type": "multipart/mixed; boundary=x"},
        {"Subject": "自動返信ではありません", "From": "Misaki <misaki@example.jp>"},
    ],
)
def test_a_persons_mail_is_not_automatic(headers: dict[str, str]) -> None:
    assert automatic_mail(headers, CUSTOMER) is None


def test_a_parsed_message_is_read_like_a_mapping() -> None:
    mail = EmailMessage()
    mail["From"] = "Shop system <no-reply@shop-system.example>"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content("Your order has shipped")
    assert automatic_mail(mail, "no-reply@shop-system.example") == "Auto-Submitted: auto-generated"
    legacy = email.message_from_bytes(mail.as_bytes(), policy=compat32)
    assert automatic_mail(legacy, CUSTOMER) == "Auto-Submitted: auto-generated"
    del mail["Auto-Submitted"]
    assert automatic_mail(mail, "no-reply@shop-system.example") == "no-reply sender"


# -- addresses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("noreply@amazon.co.jp", "no-reply sender"),
        ("no-reply@accounts.google.com", "no-reply sender"),
        ("No_Reply@example.jp", "no-reply sender"),
        ("no.reply@example.jp", "no-reply sender"),
        ("DoNotReply@bank.example", "no-reply sender"),
        ("do-not-reply@rakuten.example", "no-reply sender"),
        ("do_not_reply@example.jp", "no-reply sender"),
        ("mail-noreply@google.com", "no-reply sender"),
        ("jp-no-reply@amazon.example", "no-reply sender"),
        ("noreply2@example.jp", "no-reply sender"),
        ("Shop <noreply+orders@shop.example>", "no-reply sender"),
        ("MAILER-DAEMON@mx.example.jp", "mail system sender"),
        ("MAILER-DAEMON", "mail system sender"),
        ("Postmaster@ezweb.ne.jp", "mail system sender"),
        ("bounces+1234-abcd-misaki=example.jp@em.sendgrid.example", "mail system sender"),
        ("bounce-mc.us5_123.456-misaki=example.jp@mail.mcsv.example", "mail system sender"),
        ("msprvs1=18123=bounces-1234@bounce.example", "mail system sender"),
    ],
)
def test_no_reply_and_mail_system_addresses_are_machines(address: str, reason: str) -> None:
    assert automatic_address(address)
    assert address_reason(address) == reason
    assert automatic_mail({}, address) == reason


@pytest.mark.parametrize(
    "address",
    [
        "misaki@example.jp",
        "juno.replying@example.jp",  # "no" and "reply" from different words
        "noriko@example.jp",
        "reply@example.jp",
        "bouncy.castle@example.jp",
        "tanaka.post@example.jp",
        "+819012345678",  # an SMS sender
        "4200001",  # a Telegram user id
        "",
    ],
)
def test_a_persons_address_is_not_a_machine(address: str) -> None:
    assert not automatic_address(address)


# -- real mail ------------------------------------------------------------------------

# Every fixture a machine wrote, with why; the other fixtures are people's mail.
MACHINE_MAIL = {
    # Mail Delivery Subsystem <MAILER-DAEMON@...>, Auto-Submitted: auto-generated (failure)
    "cpython/msg_25.eml": "Auto-Submitted: auto-generated",
    # a bounce relayed by a Mailman list: Precedence: bulk, Return-Path: <>
    "cpython/msg_16.eml": "Precedence: bulk",
    # a Launchpad bug mail through a mailing list
    "nodemailer-mailparser/large_text.eml": "Precedence: bulk",
    # an au (KDDI) carrier bounce from Postmaster@ezweb.ne.jp, Return-Path: <>
    "sisimai-set-of-emails/bsd__lhost-ezweb-07.eml": "bounce (empty Return-Path)",
    # an iCloud vacation reply: no Auto-Submitted, only Apple's own header
    "sisimai-set-of-emails/bsd__rfc3834-03.eml": "vacation reply (X-Apple-Action)",
}


def test_real_auto_replies_bounces_and_bulk_mail_are_marked_and_no_other_mail_is() -> None:
    folder = fixture_dir("email")
    marked = {}
    for path in sorted(folder.glob("*/*.eml")):
        name = path.relative_to(folder).as_posix()
        # One file at a time: several fixtures share a Message-ID.
        inbound = to_inbound(MAIL, path.read_bytes(), None)
        if "automatic" in inbound.meta:
            marked[name] = inbound.meta["automatic"]
    assert marked == MACHINE_MAIL


def test_our_own_automatic_reply_says_so_and_is_known_when_it_comes_back() -> None:
    reply = Outbound(
        7, MAIL, CUSTOMER, "本日の営業は終了しました。", "Re: 返品", meta={"automatic": True}
    )
    mail = build_reply("Sakura Flowers <shop@example.com>", reply)
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert parse_mail(mail.as_bytes()).automatic == "Auto-Submitted: auto-replied"

    by_agent = build_reply(
        "Sakura Flowers <shop@example.com>", Outbound(8, MAIL, CUSTOMER, "はい", "")
    )
    assert by_agent["Auto-Submitted"] is None and by_agent["X-Auto-Response-Suppress"] is None
    assert parse_mail(by_agent.as_bytes()).automatic == ""


def test_a_raw_telegram_update_from_a_bot_is_marked() -> None:
    update = {
        "update_id": 5,
        "message": {
            "message_id": 3,
            "date": 1_780_000_000,
            "chat": {"id": 77, "type": "private"},
            "from": {"id": 77, "is_bot": True, "first_name": "Delivery bot"},
            "text": "Your parcel is on its way",
        },
    }
    inbound = raw_inbound(BOT, update)
    assert inbound is not None and inbound.meta["automatic"] == BOT_SENDER == "sent by a bot"
    update["message"]["from"] = {"id": 78, "is_bot": False, "first_name": "Emma"}  # type: ignore[index]
    person = raw_inbound(BOT, update)
    assert person is not None and "automatic" not in person.meta


# -- menus ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "options"),
    [
        (
            "お問い合わせありがとうございます。番号を送ってください。\n"
            "1. 営業時間\n2. 返品・交換\n3. 配送状況\n4. 担当者と話す",
            ["1", "2", "3", "4"],
        ),
        ("1) Opening hours\n2) Returns", ["1", "2"]),
        ("１．営業時間\n２．返品\n３．配送", ["1", "2", "3"]),
        ("1、営業時間\n2、返品", ["1", "2"]),
        ("1: hours\n2: returns", ["1", "2"]),
        ("（１）営業時間\n（２）返品", ["1", "2"]),
        ("①営業時間\n② 返品\n③配送", ["1", "2", "3"]),
        ("  1. 営業時間\n\n  2. 返品\n（番号でお答えください）", ["1", "2"]),
        ("\n".join(f"{n}. option {n}" for n in range(1, 11)), [str(n) for n in range(1, 11)]),
        # two lists: the last is the menu
        ("手順:\n1. 箱に入れる\n2. 送る\n\nご用件:\n1. 返品\n2. 交換\n3. その他", ["1", "2", "3"]),
    ],
)
def test_a_numbered_menu_gives_its_numbers(text: str, options: list[str]) -> None:
    assert menu_options(text) == options


@pytest.mark.parametrize(
    "text",
    [
        "",
        "本日の営業は終了しました。",
        "1. 営業時間",  # one line is not a menu
        "2. 返品\n3. 交換",  # does not start at 1
        "1. 返品\n3. 交換",  # not consecutive
        "営業時間は 1:30 から\n2:00 まで",  # times, not options
        "1.5 kg\n2.5 kg",  # quantities
        "10. x\n11. y",
    ],
)
def test_text_without_a_numbered_menu_gives_none(text: str) -> None:
    assert menu_options(text) == []


def test_menu_buttons_are_laid_out_four_to_a_row() -> None:
    assert menu_rows(["1", "2"]) == [["1", "2"]]
    assert menu_rows([str(n) for n in range(1, 10)]) == [
        ["1", "2", "3", "4"],
        ["5", "6", "7", "8"],
        ["9"],
    ]
