"""Automation rules in the real `omnitui serve` process, on real channels.

A shop runs `omnitui serve` under its service manager with its rules in
config.toml. The server is killed (kill -9, a power cut) in the middle of a
rush; the owner edits the rules and sends SIGHUP; a mailbox full of old mail
is connected; agents open consoles beside serve. Whatever happens, each rule
fires once per customer message: never twice, never skipped, never on
history, and never once per console.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import shlex
import signal
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
from omnitui.store import Store
from tests.conftest import tmux_command
from tests.peers.dovecot import Dovecot, free_port
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.serve import ServeCommand
from tests.test_email import (
    PASSWORD_ENV,
    Recorder,
    _authenticate,
    customer_mail,
    dovecot_binary,
    email_section,
    fill,
    imap,
)
from tests.test_serve_console import notice
from tests.test_tmux import Terminal
from tests.waiting import wait_until

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
LONG = 120.0  # seconds: generous, a busy shop server can be slow
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")

THANKS_JA = "お問い合わせありがとうございます。順番にご返信いたします。"
THANKS_EN = "Thank you for your message; we will answer in turn."
CANNED = [
    ("thanks", "Thanks", THANKS_JA, "ja"),
    ("thanks", "Thanks", THANKS_EN, ""),
]

TAG_RETURNS = """
[[rule]]
name = "Returns"
on = "message"
[rule.if]
text = ["返品", "return"]
[rule.then]
tag = ["support"]
"""
THANK_EVERYONE = """
[[rule]]
name = "Thanks"
on = "message"
[rule.then]
reply = "thanks"
"""
MANY_REPLIES = "\n[automation]\nmax_auto_replies_per_day = 100\n"

MISAKI = Customer(4_500_001, "美咲", last_name="田中", username="misaki_t", language_code="ja")
EMMA = Customer(4_500_002, "Emma", username="emma_flowers", language_code="en")
OLIVIA = Customer(4_500_003, "Olivia", username="olivia_garden", language_code="en")


# -- reading the store as another process does ---------------------------------


def rows(db: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """Rows of the store file read-only, the way a second console reads it ([] before it exists)."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return []
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # the store is still being created
        return []
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class Held:
    """What the store holds of a rush: customer messages, events the rules have
    not run on yet, firings, and the automatic replies by delivery state."""

    stored: int
    waiting: int
    firings: int
    replies: dict[str, int]

    def replies_in_flight(self) -> int:
        return self.replies.get("queued", 0) + self.replies.get("sending", 0)


def held(db: Path) -> Held:
    stored = rows(db, "SELECT count(*) FROM message WHERE direction = 'in'")
    waiting = rows(db, "SELECT count(*) FROM automation_event")
    firings = rows(db, "SELECT count(*) FROM rule_firing")
    replies = rows(
        db,
        "SELECT status, count(*) FROM message WHERE direction = 'out' "
        "AND json_extract(meta, '$.automatic') GROUP BY status",
    )
    return Held(
        stored=int(stored[0][0]) if stored else 0,
        waiting=int(waiting[0][0]) if waiting else 0,
        firings=int(firings[0][0]) if firings else 0,
        replies={str(status): int(n) for status, n in replies},
    )


def inbound(db: Path) -> dict[int, tuple[str, str]]:
    """Customer messages: store id -> (provider id, text)."""
    found = rows(db, "SELECT id, provider_id, text FROM message WHERE direction = 'in'")
    return {int(i): (str(p), str(t)) for i, p, t in found}


def firings(db: Path) -> Counter[tuple[int, str]]:
    """How often each rule fired for each customer message: (message id, rule) -> times."""
    return Counter(
        (int(m), str(r)) for m, r in rows(db, "SELECT message_id, rule FROM rule_firing")
    )


def automatic_replies(db: Path) -> dict[str, Counter[str]]:
    """Telegram user id -> their automatic replies counted by delivery state."""
    found = rows(
        db,
        "SELECT i.address, m.status FROM message m "
        "JOIN identity i ON i.contact_id = m.contact_id AND i.kind = 'telegram' "
        "WHERE m.direction = 'out' AND json_extract(m.meta, '$.automatic')",
    )
    out: dict[str, Counter[str]] = {}
    for address, status in found:
        out.setdefault(str(address), Counter())[str(status)] += 1
    return out


def tags_of(db: Path) -> dict[str, list[str]]:
    """Telegram user id -> the customer's tags."""
    found = rows(
        db,
        "SELECT i.address, c.tags FROM contact c JOIN identity i ON i.contact_id = c.id "
        "WHERE c.merged_into IS NULL AND i.kind = 'telegram'",
    )
    return {str(a): list(json.loads(t or "[]")) for a, t in found}


def sent_to(peer: BotApiPeer, customer: Customer) -> list[str]:
    return [s.text or "" for s in peer.sent if s.chat_id == customer.id]


def logged(shop: ServeCommand) -> str:
    return shop.log_file.read_text(encoding="utf-8", errors="replace")


async def add_canned(db: Path) -> None:
    """The shop's canned replies, in the store before serve starts."""
    store = await Store.open(db)
    try:
        await store.add_canned_replies(CANNED)
    finally:
        await store.close()


def telegram_shop(tmp_path: Path, peer: BotApiPeer, rules: str) -> ServeCommand:
    shop = ServeCommand(tmp_path, peer.url, TOKEN_ENV)
    shop.config.write_text(shop.config.read_text(encoding="utf-8") + rules, encoding="utf-8")
    return shop


async def start_serving(shop: ServeCommand, peer: BotApiPeer) -> asyncio.subprocess.Process:
    """Start serve and return once it runs (its signal handlers in place) and polls the bot."""
    started = logged(shop).count("serving 1 channel(s)") if shop.log_file.exists() else 0
    polls = sum(1 for c in peer.calls if c.method == "getUpdates")
    server = await shop.start()

    async def ready() -> bool:
        return (
            logged(shop).count("serving 1 channel(s)") > started
            and sum(1 for c in peer.calls if c.method == "getUpdates") > polls
        )

    try:
        await wait_until(ready, LONG, "serve polling the bot")
    except BaseException:
        await kill(server)
        raise
    return server


async def quiet(db: Path, stored: int) -> Held:
    """`stored` customer messages are in, every event has been through the
    rules, and no automatic reply is still on its way."""
    last = [held(db)]

    async def done() -> bool:
        last[0] = held(db)
        return last[0].stored >= stored and not last[0].waiting and not last[0].replies_in_flight()

    try:
        await wait_until(done, LONG)
    except AssertionError:
        raise AssertionError(f"the store never settled: {last[0]}") from None
    return last[0]


async def stop(server: asyncio.subprocess.Process) -> None:
    """SIGTERM, as the service manager stops serve; it must exit cleanly."""
    if server.returncode is None:
        server.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(server.wait(), LONG) == 0


async def kill(server: asyncio.subprocess.Process) -> None:
    if server.returncode is None:
        server.kill()
    await server.wait()


# -- 1. kill -9 between storing and evaluating ---------------------------------

CUSTOMERS = 10
ROUNDS = 4
RUSH = CUSTOMERS * ROUNDS


def rush_customer(n: int) -> Customer:
    if n % 2:
        return Customer(4_510_000 + n, f"Customer{n:02d}", username=f"c{n:02d}", language_code="en")
    return Customer(4_510_000 + n, f"お客様{n:02d}", language_code="ja")


def rush_text(n: int, round_: int) -> str:
    returns = round_ % 2 == 1
    if n % 2:
        return f"Order {n}-{round_}: " + (
            "I want to return it" if returns else "does it arrive tomorrow?"
        )
    return f"注文 {n}-{round_}: " + ("返品したいです" if returns else "明日届きますか？")


def rules_for(text: str) -> set[str]:
    """The rules that must fire, once each, for a customer message of the rush."""
    return {"Thanks", "Returns"} if ("返品" in text or "return" in text) else {"Thanks"}


async def test_kill_9_between_storing_and_evaluating_loses_and_repeats_no_firing(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    peer = telegram_peer
    shop = telegram_shop(tmp_path, peer, MANY_REPLIES + TAG_RETURNS + THANK_EVERYONE)
    await add_canned(shop.db)
    people = [rush_customer(n) for n in range(CUSTOMERS)]
    peer.page_size = 10  # the rush arrives in pages: the rules run behind the arrivals

    server = await start_serving(shop, peer)
    kills: list[Held] = []
    try:
        # A rush of live messages, every customer several times, interleaved.
        for round_ in range(ROUNDS):
            for n, person in enumerate(people):
                peer.text(person, rush_text(n, round_))
        # serve is killed each time the store holds a message its rules have
        # not run on yet (stored, its event queued), and started again: during
        # the rush, then while it works through what the last kill left.
        for _ in range(3):
            last = held(shop.db)

            async def caught(last: Held = last) -> bool:
                now = held(shop.db)
                progressed = now.stored > last.stored or now.firings > last.firings
                return (progressed and now.waiting > 0) or (now.stored >= RUSH and not now.waiting)

            await wait_until(caught, LONG, "a message stored before its rules ran")
            if not held(shop.db).waiting:
                break
            await kill(server)
            kills.append(held(shop.db))
            server = await start_serving(shop, peer)
        await quiet(shop.db, RUSH)
        await stop(server)
    finally:
        await kill(server)
    assert any(k.waiting for k in kills), f"no kill landed before the rules ran: {kills}"

    # Every message stored once.
    stored = inbound(shop.db)
    assert len(stored) == RUSH
    assert len({provider for provider, _ in stored.values()}) == RUSH
    # Each message has exactly one firing of each rule that matches it, none else.
    expected = Counter({(m, r): 1 for m, (_, text) in stored.items() for r in rules_for(text)})
    assert firings(shop.db) == expected
    assert held(shop.db).waiting == 0
    # One automatic reply per message: each customer got one per message they
    # wrote, in their language, none twice. A kill between claiming a reply
    # and Telegram's answer leaves it "unknown" (it may or may not have gone
    # out); it is never sent again.
    replies = automatic_replies(shop.db)
    for n, person in enumerate(people):
        states = replies[str(person.id)]
        assert sum(states.values()) == ROUNDS, (person.first_name, states)
        assert set(states) <= {"sent", "unknown"}, (person.first_name, states)
        got = sent_to(peer, person)
        assert states["sent"] <= len(got) <= states["sent"] + states["unknown"] <= ROUNDS
        assert set(got) == {THANKS_EN if n % 2 else THANKS_JA}
    # The tag rule did its work for everyone who asked about a return.
    assert all(tags == ["support"] for tags in tags_of(shop.db).values())
    text = logged(shop)
    assert text.count("serving 1 channel(s)") == len(kills) + 1
    assert "Traceback" not in text and " ERROR " not in text


async def test_a_message_stored_while_serve_was_down_fires_once_and_not_again_on_restart(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    peer = telegram_peer
    shop = telegram_shop(tmp_path, peer, TAG_RETURNS + THANK_EVERYONE)
    await add_canned(shop.db)
    # serve stored Misaki's message and died before its rules ran: the
    # message and its queued event are in the store, nothing more.
    store = await Store.open(shop.db)
    try:
        await store.ingest(
            [
                Inbound(
                    channel=BOT,
                    provider_id=f"{MISAKI.id}:9001",
                    address=str(MISAKI.id),
                    display_name="美咲 田中",
                    text="サイズ違いなので返品したいです",
                    sent_at=time.time(),
                    meta={"chat_id": MISAKI.id, "chat_type": "private", "message_id": 9001},
                    identity_data={"chat_id": MISAKI.id, "language_code": "ja"},
                )
            ]
        )
    finally:
        await store.close()
    assert held(shop.db) == Held(stored=1, waiting=1, firings=0, replies={})
    (message_id,) = inbound(shop.db)

    # 1. serve starts: the rules run on the waiting message, once.
    server = await shop.start()
    try:
        await wait_until(lambda: sent_to(peer, MISAKI), LONG, "the automatic reply")
        await quiet(shop.db, 1)
    finally:
        await kill(server)  # kill -9 again, right after the rules ran
    assert firings(shop.db) == {(message_id, "Returns"): 1, (message_id, "Thanks"): 1}
    assert sent_to(peer, MISAKI) == [THANKS_JA]

    # 2. serve starts again: nothing fires a second time; a new message still fires.
    server = await start_serving(shop, peer)
    try:
        peer.text(EMMA, "Hello, are you open?")
        await wait_until(lambda: sent_to(peer, EMMA), LONG, "Emma's automatic reply")
        await quiet(shop.db, 2)
    finally:
        await stop(server)
    (emma_message,) = set(inbound(shop.db)) - {message_id}
    assert firings(shop.db) == {
        (message_id, "Returns"): 1,
        (message_id, "Thanks"): 1,
        (emma_message, "Thanks"): 1,
    }
    assert sent_to(peer, MISAKI) == [THANKS_JA]
    assert sent_to(peer, EMMA) == [THANKS_EN]
    assert tags_of(shop.db) == {str(MISAKI.id): ["support"], str(EMMA.id): []}


async def test_a_message_sent_while_a_new_bots_serve_restarted_is_answered(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    """A shop's first day: serve runs the bot, nobody has written yet, and the
    service manager restarts serve. A customer who writes during the restart
    writes live, after OmniTUI started running the bot: the rules answer."""
    peer = telegram_peer
    shop = telegram_shop(tmp_path, peer, THANK_EVERYONE)
    await add_canned(shop.db)
    server = await start_serving(shop, peer)
    await stop(server)
    await asyncio.sleep(1.1)  # Telegram dates are whole seconds: a second later
    peer.text(EMMA, "Hello, are you open today?")
    await asyncio.sleep(1.1)
    server = await start_serving(shop, peer)
    try:
        await wait_until(lambda: sent_to(peer, EMMA), LONG, "the automatic reply")
        await quiet(shop.db, 1)
    finally:
        await stop(server)
    assert sent_to(peer, EMMA) == [THANKS_EN]
    assert sum(firings(shop.db).values()) == 1


async def test_a_no_reply_clock_runs_across_kill_9_and_fires_once(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    """The escalation clock is in the store: serve killed while it runs fires
    it when it starts again (late, not never), and only once."""
    peer = telegram_peer
    shop = telegram_shop(
        tmp_path,
        peer,
        '\n[[rule]]\nname = "Nobody answered"\non = "no_reply"\nafter = "1s"\n'
        '[rule.then]\ntag = ["late"]\nnotify = true\n',
    )
    server = await start_serving(shop, peer)
    try:
        peer.text(EMMA, "Hello? Is anyone there?")
        await quiet(shop.db, 1)
        assert rows(shop.db, "SELECT count(*) FROM rule_timer WHERE due_at IS NOT NULL") == [(1,)]
    finally:
        await kill(server)  # before the clock runs out
    assert firings(shop.db) == {}
    await asyncio.sleep(1.5)  # the clock runs out while serve is down

    def late() -> list[tuple[Any, ...]]:
        return rows(shop.db, "SELECT rule, event, contact_id FROM rule_firing")

    server = await start_serving(shop, peer)
    try:
        await wait_until(late, LONG, "the no_reply rule after the restart")
    finally:
        await kill(server)  # kill -9 again, right after it fired
    (fired,) = late()
    assert fired[:2] == ("Nobody answered", "no_reply")
    server = await start_serving(shop, peer)
    try:
        # Another customer's message: once the rules ran on it, they have
        # looked at the due clocks too (one pass takes both).
        peer.text(OLIVIA, "Do you deliver on Sunday?")
        await quiet(shop.db, 2)
    finally:
        await stop(server)
    emma = [f for f in late() if f[2] == fired[2]]
    assert emma == [fired]
    assert tags_of(shop.db)[str(EMMA.id)] == ["late"]


RATE = "How did we do? Please answer 1 to 5."


async def test_a_resolve_in_a_console_beside_serve_fires_the_resolved_rule_at_once(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    """An agent resolves a conversation in a console while serve runs the
    channels: serve runs the `resolved` rules for it at once, not at its next
    idle look at the queue."""
    peer = telegram_peer
    shop = telegram_shop(
        tmp_path,
        peer,
        '\n[[rule]]\nname = "Ask for a rating"\non = "resolved"\n[rule.then]\nreply = "rate"\n',
    )
    store = await Store.open(shop.db)  # the console's store, beside serve
    try:
        await store.add_canned_replies([("rate", "Rate us", RATE, "")])
        server = await start_serving(shop, peer)
        try:
            peer.text(EMMA, "Thanks, the flowers arrived!")
            await quiet(shop.db, 1)
            (contact,) = [c.id for c in await store.list_contacts()]
            await store.set_status(contact, ThreadStatus.RESOLVED)
            resolved_at = time.monotonic()
            await wait_until(lambda: sent_to(peer, EMMA), LONG, "the rating question")
            waited = time.monotonic() - resolved_at
        finally:
            await stop(server)
    finally:
        await store.close()
    assert sent_to(peer, EMMA) == [RATE]
    assert waited < 5.0, f"the resolved rule fired {waited:.1f} s after the resolve"


# -- 2. SIGHUP -----------------------------------------------------------------

TAG_EVERYONE = """
[[rule]]
name = "Seen"
on = "message"
[rule.then]
tag = ["seen"]
"""


async def test_sighup_loads_new_rules_and_keeps_the_old_ones_when_the_file_is_broken(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    peer = telegram_peer
    shop = telegram_shop(tmp_path, peer, TAG_EVERYONE)
    base = shop.config.read_text(encoding="utf-8")
    await add_canned(shop.db)

    async def fired_for(count: int) -> dict[str, set[str]]:
        """Once `count` customer messages went through the rules: text -> rules fired."""
        await quiet(shop.db, count)
        texts = {m: text for m, (_, text) in inbound(shop.db).items()}
        out: dict[str, set[str]] = {text: set() for text in texts.values()}
        for message, rule in firings(shop.db):
            out[texts[message]].add(rule)
        return out

    server = await start_serving(shop, peer)
    try:
        peer.text(EMMA, "first")
        assert await fired_for(1) == {"first": {"Seen"}}

        # The owner adds a rule and tells serve to read the file again.
        shop.config.write_text(base + THANK_EVERYONE, encoding="utf-8")
        server.send_signal(signal.SIGHUP)
        await wait_until(lambda: "config reloaded: 2 rule(s)" in logged(shop), LONG)
        peer.text(EMMA, "second")
        await wait_until(lambda: sent_to(peer, EMMA), LONG, "the new rule's reply")
        assert await fired_for(2) == {"first": {"Seen"}, "second": {"Seen", "Thanks"}}

        # A typo in a new rule: serve says why and keeps the rules it had.
        broken = base + THANK_EVERYONE + '\n[[rule]]\nname = "Typo"\non = "message"\n'
        broken += '[rule.then]\ntagg = ["oops"]\n'
        shop.config.write_text(broken, encoding="utf-8")
        line = broken.splitlines().index('tagg = ["oops"]') + 1
        server.send_signal(signal.SIGHUP)
        said = f"config not reloaded, the rules stay as they were: {shop.config}, line {line}: "
        said += "rule[2].then.tagg: unknown key"
        await wait_until(lambda: said in logged(shop), LONG, "the reason in the log")
        # A time that does not exist is refused the same way.
        late = base + THANK_EVERYONE + '\n[[rule]]\nname = "Late"\non = "no_reply"\n'
        late += 'after = "25:00"\n[rule.then]\nnotify = true\n'
        shop.config.write_text(late, encoding="utf-8")
        line = late.splitlines().index('after = "25:00"') + 1
        server.send_signal(signal.SIGHUP)
        said = f"{shop.config}, line {line}: rule[2].after: '25:00' is not a duration"
        await wait_until(lambda: said in logged(shop), LONG, "the reason in the log")
        # So is business hours' "25:00-26:00".
        hours = base + THANK_EVERYONE + '\n[hours]\ntimezone = "Asia/Tokyo"\n'
        hours += 'mon = ["25:00-26:00"]\n'
        shop.config.write_text(hours, encoding="utf-8")
        line = hours.splitlines().index('mon = ["25:00-26:00"]') + 1
        server.send_signal(signal.SIGHUP)
        said = f"{shop.config}, line {line}: hours.mon: period '25:00-26:00' has a time"
        await wait_until(lambda: said in logged(shop), LONG, "the reason in the log")

        assert server.returncode is None, "serve stopped on a broken config"
        peer.text(EMMA, "third")
        await wait_until(lambda: len(sent_to(peer, EMMA)) == 2, LONG, "the reply to the third")
        assert await fired_for(3) == {
            "first": {"Seen"},
            "second": {"Seen", "Thanks"},
            "third": {"Seen", "Thanks"},
        }

        # A rule that replies with a canned reply the shop has not written:
        # the file loads, and the log says which rule will not reply.
        typo = base + THANK_EVERYONE + '\n[[rule]]\nname = "Hours"\non = "message"\n'
        typo += '[rule.if]\ntext = ["open"]\n[rule.then]\nreply = "hours"\n'
        shop.config.write_text(typo, encoding="utf-8")
        server.send_signal(signal.SIGHUP)
        said = "rule 'Hours' replies with /hours, which is no canned reply"
        await wait_until(lambda: said in logged(shop), LONG, "the unknown canned reply in the log")
        assert "config reloaded: 3 rule(s)" in logged(shop)
    finally:
        await stop(server)
    assert sent_to(peer, EMMA) == [THANKS_EN, THANKS_EN]
    text = logged(shop)
    assert text.count("config not reloaded") == 3
    assert text.count("config reloaded: 2 rule(s)") == 1
    assert text.count("which is no canned reply") == 1
    assert "Traceback" not in text


# -- 3. email: a first sync fires nothing, live mail is answered in its thread --

OLD_MAILS = 30
THANKS_RULES = """
[automation]
max_auto_replies_per_day = 5

[[rule]]
name = "Welcome"
on = "new_conversation"
[rule.then]
tag = ["new"]

[[rule]]
name = "Thanks"
on = "message"
[rule.then]
reply = "thanks"
"""


@pytest.fixture
def mailserver(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Dovecot, Recorder, int]]:
    """Dovecot (IMAP) and aiosmtpd (SMTP) on loopback: the shop's mail provider."""
    dovecot = Dovecot.create(tmp_path_factory.mktemp("dovecot"), dovecot_binary())
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield dovecot, recorder, port
    finally:
        controller.stop()
        dovecot.stop()


def japanese_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "田中 花子 <hanako@example.jp>"
    mail["To"] = "shop@example.com"
    mail["Subject"] = "注文について"
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["Message-ID"] = make_msgid("hanako", "example.jp")
    mail.set_content("昨日注文した花束はいつ届きますか？", charset="iso-2022-jp")
    return mail.as_bytes()


async def test_a_first_sync_of_old_mail_sends_nothing_and_new_mail_gets_one_threaded_reply(
    tmp_path: Path, mailserver: tuple[Dovecot, Recorder, int]
) -> None:
    dovecot, recorder, smtp_port = mailserver
    now = datetime.now().astimezone()
    fill(
        dovecot,
        [customer_mail(n, at=now - timedelta(days=1 + n % 20)) for n in range(OLD_MAILS)],
    )
    shop = ServeCommand.with_channels(
        tmp_path,
        email_section(dovecot, smtp_port) + THANKS_RULES,
        {PASSWORD_ENV: "counter-pass"},
    )
    await add_canned(shop.db)

    server = await shop.start()
    try:
        # 1. The first sync stores the mailbox and answers none of it.
        async def synced() -> bool:
            return held(shop.db).stored >= OLD_MAILS

        await wait_until(synced, LONG, "the first sync")
        assert held(shop.db) == Held(stored=OLD_MAILS, waiting=0, firings=0, replies={})

        # 2. Two customers write now: one known from the old mail, one new, in Japanese.
        known = customer_mail(3, subject="Order 3: delivery date", body="When does it arrive?")
        hanako = japanese_mail()
        client = imap(dovecot)
        client.append("INBOX", known)
        client.append("INBOX", hanako)
        client.logout()
        await wait_until(lambda: len(recorder.messages) >= 2, LONG, "two automatic replies")
        await quiet(shop.db, OLD_MAILS + 2)
    finally:
        await stop(server)
    assert len(recorder.messages) == 2, "a reply went to old mail, or one went twice"
    sent = {
        tuple(recipients): email.message_from_bytes(raw, policy=email.policy.default)
        for _, recipients, raw in recorder.messages
    }
    assert set(sent) == {("customer3@example.jp",), ("hanako@example.jp",)}
    # Threaded like an agent's reply: Re: the customer's subject, In-Reply-To their mail.
    english = sent[("customer3@example.jp",)]
    known_id = email.message_from_bytes(known)["Message-ID"]
    assert english["Subject"] == "Re: Order 3: delivery date"
    assert english["In-Reply-To"] == known_id
    assert known_id in english["References"]
    body = english.get_body()
    assert body is not None and body.get_content().strip() == THANKS_EN
    japanese = sent[("hanako@example.jp",)]
    assert japanese["Subject"] == "Re: 注文について"
    assert japanese["In-Reply-To"] == email.message_from_bytes(hanako)["Message-ID"]
    body = japanese.get_body()
    assert body is not None and body.get_content().strip() == THANKS_JA
    # The rules fired on the two live mails only; Welcome only for the new customer.
    texts = {m: text for m, (_, text) in inbound(shop.db).items()}
    fired = sorted((texts[m].strip(), rule) for (m, rule), n in firings(shop.db).items() if n == 1)
    assert sum(firings(shop.db).values()) == 3
    assert fired == [
        ("When does it arrive?", "Thanks"),
        ("昨日注文した花束はいつ届きますか？", "Thanks"),
        ("昨日注文した花束はいつ届きますか？", "Welcome"),
    ]
    assert "Traceback" not in logged(shop)


# -- 4. consoles beside serve, and a console running the channels ---------------


async def test_a_rule_fires_once_beside_two_consoles_and_once_when_a_console_takes_over(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    peer = telegram_peer
    tmux = tmux_command()
    shop = telegram_shop(tmp_path, peer, TAG_EVERYONE + THANK_EVERYONE)
    shop.config.write_text(
        '[agent]\nname = "Aiko"\n\n' + shop.config.read_text(encoding="utf-8"), encoding="utf-8"
    )
    await add_canned(shop.db)
    state = tmp_path / "state"
    shop.env["XDG_STATE_HOME"] = str(state)
    names = [f"omnitui-test-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    done = [tmp_path / f"exit-code-{n}" for n in range(2)]
    binary = Path(sys.executable).parent / "omnitui"
    console = shlex.join([str(binary), "--config", str(shop.config), "--language", "en"])

    server = await start_serving(shop, peer)
    terms: list[Terminal] = []
    try:
        # Two agents open the console on the same store while serve runs the bot.
        for name, exit_file in zip(names, done, strict=True):
            opened = await asyncio.create_subprocess_exec(
                *[*tmux, "new-session", "-d", "-s", name, "-x", "100", "-y", "30"],
                *["-e", f"{TOKEN_ENV}={TOKEN}", "-e", f"HOME={tmp_path}"],
                *["-e", f"XDG_STATE_HOME={state}", "-e", "LANG=C.UTF-8"],
                f"{console}; echo $? > {shlex.quote(str(exit_file))}; sleep 30",
                env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            )
            assert await opened.wait() == 0
            terms.append(Terminal(tmux, name))
        for term in terms:
            await notice(term, f"Channels are run by another OmniTUI process (pid {server.pid})")

        # 1. A customer writes: serve runs the rules, once, for all three processes.
        peer.text(EMMA, "Is the shop open on Sunday?")
        for term in terms:  # both consoles show the message, read from the store
            await asyncio.to_thread(term.wait_for, "Is the shop open on Sunday?", LONG)
        await wait_until(lambda: sent_to(peer, EMMA), LONG, "the automatic reply")
        await quiet(shop.db, 1)

        # 2. serve stops: a console runs the channels, and the rules with them.
        await stop(server)

        shared_log = state / "omnitui" / "log" / "omnitui.log"  # every process writes here

        async def taken_over() -> bool:
            text = shared_log.read_text(encoding="utf-8", errors="replace")
            return text.count("shop-bot: polling Telegram") == 2  # serve, then a console

        await wait_until(taken_over, LONG, "a console taking over the channels")
        peer.text(OLIVIA, "Do you deliver tulips?")
        for term in terms:  # both list her, read from the store
            await asyncio.to_thread(term.wait_for, "Olivia", LONG)
        await wait_until(lambda: sent_to(peer, OLIVIA), LONG, "the automatic reply")
        await quiet(shop.db, 2)
        # Time for a second process to fire again, if one wrongly did.
        await asyncio.sleep(1.0)
        for term, exit_file in zip(terms, done, strict=True):
            await asyncio.to_thread(term.keys, "q")

            async def exited(path: Path = exit_file) -> bool:
                return path.exists() and path.read_text().strip() != ""

            await wait_until(exited, LONG, "the console quitting")
            assert exit_file.read_text().strip() == "0"
    finally:
        for name in names:
            closed = await asyncio.create_subprocess_exec(
                *tmux, "kill-session", "-t", name, stderr=asyncio.subprocess.DEVNULL
            )
            await closed.wait()
        await kill(server)
    messages = {text: m for m, (_, text) in inbound(shop.db).items()}
    assert firings(shop.db) == {
        (messages["Is the shop open on Sunday?"], "Seen"): 1,
        (messages["Is the shop open on Sunday?"], "Thanks"): 1,
        (messages["Do you deliver tulips?"], "Seen"): 1,
        (messages["Do you deliver tulips?"], "Thanks"): 1,
    }
    assert sent_to(peer, EMMA) == [THANKS_EN]
    assert sent_to(peer, OLIVIA) == [THANKS_EN]
    assert peer.conflicts == 0


async def test_kill_9_in_the_middle_of_a_first_sync_still_answers_none_of_the_old_mail(
    tmp_path: Path, mailserver: tuple[Dovecot, Recorder, int]
) -> None:
    dovecot, recorder, smtp_port = mailserver
    total = 1500  # three batches of the first sync
    now = datetime.now().astimezone()
    # A busy shop's mailbox: today's mail, hours old (not old enough to be
    # history by its date alone).
    fill(dovecot, [customer_mail(n, at=now - timedelta(minutes=1 + n % 600)) for n in range(total)])
    shop = ServeCommand.with_channels(
        tmp_path,
        email_section(dovecot, smtp_port) + THANKS_RULES,
        {PASSWORD_ENV: "counter-pass"},
    )
    await add_canned(shop.db)

    server = await shop.start()
    try:

        async def part_stored() -> bool:
            return held(shop.db).stored >= 500

        await wait_until(part_stored, LONG, "the first batches of the first sync")
    finally:
        await kill(server)
    killed_at = held(shop.db).stored
    assert 0 < killed_at < total, "the kill should land mid-sync"

    server = await shop.start()
    try:
        await quiet(shop.db, total)
        # One live mail after the sync: the rules run on it, and only on it.
        client = imap(dovecot)
        client.append("INBOX", customer_mail(total, subject="Order today"))
        client.logout()
        await wait_until(lambda: recorder.messages, LONG, "the reply to the live mail")
        await quiet(shop.db, total + 1)
    finally:
        await stop(server)
    assert held(shop.db).stored == total + 1
    assert [recipients for _, recipients, _ in recorder.messages] == [
        [f"customer{total}@example.jp"]
    ]
    assert sum(firings(shop.db).values()) == 2  # Welcome and Thanks, for the live mail
