"""Email against a real Dovecot (IMAP) and a real aiosmtpd (SMTP) on loopback."""

from __future__ import annotations

import asyncio
import email
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import partial
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from imapclient import IMAPClient

from omnitui.adapters import email as email_adapter
from omnitui.adapters.email import EmailAdapter
from omnitui.config import EmailConfig, parse
from omnitui.domain.models import Channel, ChannelKind, Delivery
from omnitui.hub import Hub, RetryPolicy
from omnitui.store import Store
from tests.conftest import IN_CI, fixture_dir, tmux_command
from tests.peers.dovecot import Dovecot, free_port
from tests.serve import Proc, ServeCommand, descendants
from tests.test_tmux import Terminal
from tests.waiting import wait_until, wait_until_sync

pytestmark = pytest.mark.backends

PASSWORD_ENV = "OMNITUI_TEST_MAIL_PASSWORD"
FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.3, max_attempts=4)


def dovecot_binary() -> str:
    for path in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if Path(path).exists():
            return path
    message = "Dovecot is not installed: apt-get install dovecot-core dovecot-imapd"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    server = Dovecot.create(tmp_path_factory.mktemp("dovecot"), dovecot_binary())
    try:
        yield server
    finally:
        server.stop()


class Recorder:
    """What the SMTP server received, and what it should answer."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.answers: list[str] = []  # replies to DATA, used up one per attempt

    async def handle_RCPT(
        self,
        server: object,
        session: object,
        envelope: object,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.endswith("@nowhere.invalid"):
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.answers:
            return self.answers.pop(0)
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)  # type: ignore[attr-defined]
        )
        return "250 Message accepted for delivery"


def _authenticate(
    server: object, session: object, envelope: object, mechanism: str, auth_data: object
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"counter-pass"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
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
        yield recorder, port
    finally:
        controller.stop()


def account(
    dovecot: Dovecot, smtp_port: int, *, folders: str = '["INBOX"]', extra: str = ""
) -> EmailConfig:
    text = f"""
[[email]]
name = "shop-mail"
imap_host = "127.0.0.1"
imap_port = {dovecot.port}
imap_tls = "none"
username = "{dovecot.user}"
password_env = "{PASSWORD_ENV}"
folders = {folders}
backfill_days = 3650
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_tls = "none"
from = "Sakura Flowers <shop@example.com>"
{extra}
"""
    return parse(text, Path("test.toml")).email[0]


@pytest.fixture(autouse=True)
def mail_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "counter-pass")


def imap(dovecot: Dovecot) -> IMAPClient:
    client = IMAPClient(dovecot.host, dovecot.port, ssl=False)
    client.login(dovecot.user, dovecot.password)
    return client


def customer_mail(
    n: int,
    *,
    sender: str = "",
    subject: str = "",
    body: str = "",
    refs: str = "",
    at: datetime | None = None,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender or f"Customer {n} <customer{n}@example.jp>"
    mail["To"] = "shop@example.com"
    mail["Subject"] = subject or f"Question {n}"
    mail["Date"] = format_datetime(at or datetime.now().astimezone())
    mail["Message-ID"] = make_msgid(f"c{n}", "example.jp")
    if refs:
        mail["References"] = refs
    mail.set_content(body or f"Hello, this is message {n}.", charset="utf-8")
    return mail.as_bytes()


async def stored_count(store: Store) -> int:
    rows = await store._rows("SELECT count(*) FROM message WHERE direction = 'in'")
    return int(rows[0][0])


async def distinct_count(store: Store) -> int:
    rows = await store._rows(
        "SELECT count(DISTINCT provider_id) FROM message WHERE direction = 'in'"
    )
    return int(rows[0][0])


@pytest.fixture
async def running(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> AsyncIterator[tuple[Hub, EmailAdapter]]:
    adapter = EmailAdapter(account(dovecot, smtp[1]))
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:
        yield hub, adapter
    finally:
        await hub.stop()


JAPANESE = [
    "jpmobile/docomo-jis.eml",
    "jpmobile/pc-mail-single.eml",
    "milter-manager-test-mails/decomail__emobile-shift_jis.eml",
    "mikel-mail/multi_charset__japanese_iso_2022.eml",
    "jpmobile/au-kigou.eml",
]


async def test_every_fixture_mail_is_taken_and_japanese_shows_decoded(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    folder = fixture_dir("email")
    files = sorted(folder.rglob("*.eml"))
    client = imap(dovecot)
    client.multiappend("INBOX", [p.read_bytes() for p in files])
    client.logout()
    adapter = EmailAdapter(account(dovecot, smtp[1]))
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def all_in() -> bool:
            return await stored_count(store) == len(files)

        await wait_until(all_in, 60)
    finally:
        await hub.stop()
    rows = await store._rows("SELECT subject, text, parse_error, raw FROM message")
    assert all(r[3] for r in rows), "the raw source of every mail is kept"
    for name in JAPANESE:
        raw = _lf((folder / name).read_bytes())  # the server stores CRLF line ends
        match = [r for r in rows if _lf(r[3]) == raw]
        assert match, name
        subject, text = match[0][0], match[0][1]
        shown = subject + text
        assert "\x1b" not in shown, f"{name} left ISO-2022-JP escapes"
        assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in shown), name


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


async def test_new_mail_arrives_through_idle(
    store: Store, dovecot: Dovecot, running: tuple[Hub, EmailAdapter]
) -> None:
    await wait_until(lambda: _status(running[1], "up to date"))
    client = imap(dovecot)
    client.append(
        "INBOX",
        customer_mail(
            1,
            sender="田中 美咲 <misaki@example.jp>",
            subject="ご予約について",
            body="明日の15時に伺います。",
        ),
    )
    client.logout()

    async def arrived() -> bool:
        return await stored_count(store) == 1

    await wait_until(arrived, 5)
    contact = (await store.list_contacts())[0]
    assert contact.name == "田中 美咲"
    message = (await store.thread_page(contact.id))[0]
    assert (message.subject, message.text.strip()) == ("ご予約について", "明日の15時に伺います。")


async def _status(adapter: EmailAdapter, text: str) -> bool:
    return adapter.status.get("INBOX") == text


async def test_a_restart_takes_only_new_mail(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    client = imap(dovecot)
    client.multiappend("INBOX", [customer_mail(n) for n in range(30)])
    for _ in range(2):
        adapter = EmailAdapter(account(dovecot, smtp[1]))
        hub = Hub(store, [adapter], retry=FAST)
        await hub.start()
        await wait_until(partial(_status, adapter, "up to date"))
        await hub.stop()
    assert await stored_count(store) == 30
    client.append("INBOX", customer_mail(99))
    client.logout()
    adapter = EmailAdapter(account(dovecot, smtp[1]))
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def thirty_one() -> bool:
            return await stored_count(store) == 31

        await wait_until(thirty_one)
        await asyncio.sleep(0.3)
        assert await stored_count(store) == 31 == await distinct_count(store)
    finally:
        await hub.stop()


async def test_a_recreated_folder_resyncs_without_duplicates(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    mails = [customer_mail(n) for n in range(10)]
    client = imap(dovecot)
    client.create_folder("Orders")
    client.multiappend("Orders", mails)
    cfg = account(dovecot, smtp[1], folders='["Orders"]')
    adapter = EmailAdapter(cfg)
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    await wait_until(lambda: _folder_status(adapter, "Orders"))
    await hub.stop()
    before = await store.load_cursor("shop-mail", "imap:Orders")
    # The folder is deleted and restored: new UIDVALIDITY, same mail, plus one new.
    client.delete_folder("Orders")
    await asyncio.sleep(1.1)  # UIDVALIDITY is a timestamp in Dovecot
    client.create_folder("Orders")
    client.multiappend("Orders", [*mails, customer_mail(10)])
    client.logout()
    adapter = EmailAdapter(cfg)
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def eleven() -> bool:
            return await stored_count(store) == 11

        await wait_until(eleven)
        await wait_until(lambda: _folder_status(adapter, "Orders"))
        assert await store.load_cursor("shop-mail", "imap:Orders") != before
        assert await stored_count(store) == 11 == await distinct_count(store)
    finally:
        await hub.stop()


async def _folder_status(adapter: EmailAdapter, folder: str) -> bool:
    return adapter.status.get(folder) == "up to date"


async def test_a_server_restart_mid_idle_reconnects(
    store: Store, dovecot: Dovecot, running: tuple[Hub, EmailAdapter]
) -> None:
    await wait_until(lambda: _status(running[1], "up to date"))
    dovecot.stop()
    await wait_until(lambda: _status_starts(running[1], "disconnected"))

    async def console_warned() -> bool:  # every console reads this from the store
        return "INBOX: disconnected" in (await store.channel_problems()).get("shop-mail", "")

    await wait_until(console_warned)
    dovecot.start()
    client = imap(dovecot)
    client.append("INBOX", customer_mail(7))
    client.logout()

    async def arrived() -> bool:
        return await stored_count(store) == 1

    await wait_until(arrived, 15)

    async def warning_gone() -> bool:
        return await store.channel_problems() == {}

    await wait_until(warning_gone)


async def _status_starts(adapter: EmailAdapter, text: str) -> bool:
    return adapter.status.get("INBOX", "").startswith(text)


async def test_wrong_credentials_are_reported_not_hidden(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    cfg = account(dovecot, smtp[1])
    hub = Hub(store, [EmailAdapter(cfg)], retry=FAST)
    await hub.start()
    try:

        async def reported() -> bool:
            return "login refused" in hub.errors.get("shop-mail", "")

        await wait_until(reported)

        async def console_warned() -> bool:
            problems = await store.channel_problems()
            return "login refused" in problems.get("shop-mail", "")

        await wait_until(console_warned)
        assert "wrong" not in (await store.channel_problems())["shop-mail"].replace(
            "wrong username", ""
        )  # no secret in the store either
    finally:
        await hub.stop()
    assert await store.channel_problems() == {}  # nobody runs the channel to say so now
    lines = await email_adapter.check(cfg)
    assert [good for good, _ in lines] == [False, False]
    assert "wrong username or password" in lines[0][1]
    assert "wrong username or password" in lines[1][1]
    assert "wrong" not in hub.errors["shop-mail"].replace(
        "wrong username", ""
    )  # no secret in the error


async def test_doctor_says_what_works_and_what_does_not(
    dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    good = await email_adapter.check(account(dovecot, smtp[1]))
    assert [ok for ok, _ in good] == [True, True]
    assert "INBOX has 0 messages" in good[0][1]
    closed = free_port()
    bad = await email_adapter.check(
        parse(
            f'[[email]]\nname = "m"\nimap_host = "127.0.0.1"\nimap_port = {closed}\nimap_tls = "none"\n'
            f'username = "u"\npassword_env = "{PASSWORD_ENV}"\nsmtp_host = "127.0.0.1"\n'
            f'smtp_port = {dovecot.port}\nsmtp_tls = "ssl"\nfrom = "s@example.com"\n',
            Path("t.toml"),
        ).email[0]
    )
    assert "refused the connection" in bad[0][1]
    assert "TLS mismatch" in bad[1][1] or "did not answer" in bad[1][1]


async def test_a_reply_is_threaded_for_the_customers_mail_app(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], running: tuple[Hub, EmailAdapter]
) -> None:
    recorder, _ = smtp
    first = customer_mail(1, sender="Emma <Emma@Example.com>", subject="Re: Order 12")
    parent_id = email.message_from_bytes(first)["Message-ID"]
    client = imap(dovecot)
    client.append("INBOX", first)
    client.logout()

    async def arrived() -> bool:
        return await stored_count(store) == 1

    await wait_until(arrived)
    contact = (await store.list_contacts())[0]
    from omnitui.domain.mail import reply_subject

    subject = reply_subject(await store.reply_subject(contact.id, "shop-mail"))
    await store.enqueue_reply(
        contact.id,
        Channel(ChannelKind.EMAIL, "shop-mail"),
        "ありがとうございます。3時にどうぞ。",
        subject=subject,
    )
    running[0].outbox_changed()

    async def received() -> bool:
        return len(recorder.messages) == 1

    await wait_until(received)
    _, recipients, raw = recorder.messages[0]
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert recipients == ["emma@example.com"]
    assert sent["Subject"] == "Re: Order 12"
    assert sent["In-Reply-To"] == parent_id
    assert parent_id in sent["References"]
    assert sent["From"] == "Sakura Flowers <shop@example.com>"
    body = sent.get_body()
    assert body is not None
    assert body.get_content().strip() == "ありがとうございます。3時にどうぞ。"

    async def sent_state() -> bool:
        return (await store.thread_page(contact.id))[-1].status is Delivery.SENT

    await wait_until(sent_state)
    assert (await store.thread_page(contact.id))[-1].status is Delivery.SENT


async def test_smtp_refusals_show_why_and_temporary_ones_are_retried(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], running: tuple[Hub, EmailAdapter]
) -> None:
    recorder, _ = smtp
    client = imap(dovecot)
    client.append("INBOX", customer_mail(1, sender="ghost@nowhere.invalid"))
    client.append("INBOX", customer_mail(2, sender="real@example.jp"))
    client.logout()

    async def arrived() -> bool:
        return await stored_count(store) == 2

    await wait_until(arrived)
    contacts = {c.name: c.id for c in await store.list_contacts()}
    mail = Channel(ChannelKind.EMAIL, "shop-mail")
    recorder.answers = ["451 4.3.0 Try again later"]
    await store.enqueue_reply(contacts["real@example.jp"], mail, "hello", subject="Re: x")
    await store.enqueue_reply(contacts["ghost@nowhere.invalid"], mail, "hello", subject="Re: x")
    running[0].outbox_changed()

    async def settled() -> bool:
        a = (await store.thread_page(contacts["real@example.jp"]))[-1]
        b = (await store.thread_page(contacts["ghost@nowhere.invalid"]))[-1]
        return a.status is Delivery.SENT and b.status is Delivery.FAILED

    await wait_until(settled)
    failed = (await store.thread_page(contacts["ghost@nowhere.invalid"]))[-1]
    assert "550 5.1.1" in failed.status_reason and "User unknown" in failed.status_reason
    assert len(recorder.messages) == 1  # the retried one went out once


def email_section(dovecot: Dovecot, smtp_port: int) -> str:
    """The shop's `[[email]]` section for a config file: Dovecot's INBOX, ten years back."""
    return f"""[[email]]
name = "shop-mail"
imap_host = "127.0.0.1"
imap_port = {dovecot.port}
imap_tls = "none"
username = "{dovecot.user}"
password_env = "{PASSWORD_ENV}"
backfill_days = 3650
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_tls = "none"
from = "shop@example.com"
"""


def fill(dovecot: Dovecot, mails: Sequence[bytes]) -> None:
    """Put `mails` in INBOX the fast way (MULTIAPPEND, 500 at a time)."""
    client = imap(dovecot)
    for start in range(0, len(mails), 500):
        client.multiappend("INBOX", list(mails[start : start + 500]))
    client.logout()


def stored_in(db: Path) -> tuple[int, int]:
    """(messages, distinct provider ids) in the store file, read as another process would."""
    if not db.exists():
        return 0, 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("SELECT count(*), count(DISTINCT provider_id) FROM message").fetchone()
        return int(row[0]), int(row[1])
    except sqlite3.OperationalError:  # the store is still being created
        return 0, 0
    finally:
        conn.close()


async def test_kill_9_mid_sync_leaves_no_process_behind_and_loses_or_doubles_nothing(
    tmp_path: Path, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    total = 3000
    fill(dovecot, [customer_mail(n) for n in range(total)])
    shop = ServeCommand.with_channels(
        tmp_path, email_section(dovecot, smtp[1]), {PASSWORD_ENV: "counter-pass"}
    )
    server = await shop.start()
    tree: list[Proc] = []

    async def parsing_in_workers() -> bool:
        nonlocal tree
        tree = descendants(server.pid)
        workers = [p for p in tree if "omnitui.adapters.workers" in p.command]
        return len(workers) == email_adapter.PARSE_WORKERS and stored_in(shop.db)[0] >= 300

    await wait_until(parsing_in_workers, 60)
    server.send_signal(signal.SIGKILL)
    await server.wait()
    killed_at = stored_in(shop.db)[0]
    assert 0 < killed_at < total, "the kill should land mid-sync"

    async def none_left() -> bool:
        return not any(p.alive() for p in tree)

    try:
        await wait_until(none_left, 5)
    except AssertionError:
        left = "\n".join(f"{p.pid} {p.command}" for p in tree if p.alive())
        raise AssertionError(f"still running after serve was killed:\n{left}") from None

    server = await shop.start()
    try:

        async def all_in() -> bool:
            return stored_in(shop.db)[0] >= total

        await wait_until(all_in, 120)

        async def workers_stopped() -> bool:  # up to date: no parse workers held in memory
            return descendants(server.pid) == []

        await wait_until(workers_stopped, 10)
    finally:
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), 20) == 0
    assert stored_in(shop.db) == (total, total)


def parse_workers() -> list[Proc]:
    """The parse worker processes this test process started."""
    return [p for p in descendants(os.getpid()) if "omnitui.adapters.workers" in p.command]


async def test_a_parse_worker_killed_mid_backfill_costs_no_mail(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], caplog: pytest.LogCaptureFixture
) -> None:
    total = 3000
    fill(dovecot, [customer_mail(n) for n in range(total)])
    adapter = EmailAdapter(account(dovecot, smtp[1]))
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def parsing() -> bool:
            return len(parse_workers()) == email_adapter.PARSE_WORKERS

        await wait_until(parsing, 30)
        os.kill(parse_workers()[0].pid, signal.SIGKILL)  # say, by the kernel's OOM killer

        async def all_in() -> bool:
            return await stored_count(store) >= total

        await wait_until(all_in, 120)
        await wait_until(lambda: _status(adapter, "up to date"))
        assert await stored_count(store) == total == await distinct_count(store)
        assert "parsing here, not in worker processes" in caplog.text
        assert parse_workers() == []  # up to date: the other worker is stopped too
    finally:
        await hub.stop()


@pytest.mark.tmux
def test_a_console_on_its_own_syncs_a_600_mail_mailbox_the_first_time(
    tmp_path: Path, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    """The one-person shop: no `omnitui serve`, the console runs the channels itself.

    Its first sync is big enough to be parsed in worker processes, started
    from inside the running console (whose standard streams Textual holds).
    """
    tmux = tmux_command()
    total = 600
    first = datetime.now().astimezone() - timedelta(minutes=total)
    fill(
        dovecot,
        [
            customer_mail(
                n,
                sender=f"Customer {n:03d} <customer{n}@example.jp>",
                subject=f"Order {n:03d}: roses for Saturday?",
                at=first + timedelta(minutes=n),
            )
            for n in range(total)
        ],
    )
    db, config = tmp_path / "shop.db", tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[store]\npath = "{db}"\n\n' + email_section(dovecot, smtp[1]),
        encoding="utf-8",
    )
    state = tmp_path / "state"
    binary = Path(sys.executable).parent / "omnitui"
    console = shlex.join([str(binary), "--config", str(config), "--language", "en"])
    done = tmp_path / "exit-code"
    name = f"omnitui-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            *[*tmux, "new-session", "-d", "-s", name, "-x", "120", "-y", "30"],
            *["-e", f"{PASSWORD_ENV}=counter-pass", "-e", f"HOME={tmp_path}"],
            *["-e", f"XDG_STATE_HOME={state}", "-e", "LANG=C.UTF-8"],
            f"{console}; echo $? > {shlex.quote(str(done))}; sleep 30",
        ],
        env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=True,
    )
    term = Terminal(tmux, name)
    try:
        term.wait_for("Customers")
        shown = [""]

        def all_stored() -> bool:
            shown[0] = term.screen()
            assert "⚠" not in shown[0], f"a channel problem was shown:\n{shown[0]}"
            return stored_in(db)[0] >= total

        wait_until_sync(all_stored, 90, lambda: f"not all stored:\n{shown[0]}", every=0.2)
        assert stored_in(db) == (total, total), f"not all stored; the screen was:\n{shown[0]}"
        screen = term.wait_for("Customer 599")  # the newest mail's sender, at the top
        assert screen.index("Customer 599") < screen.index("Customer 598")
        term.keys("Enter")
        screen = term.wait_for("Order 599: roses for Saturday?")
        assert "⚠" not in screen.splitlines()[0], "a channel problem was shown"
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("q")
        wait_until_sync(lambda: done.exists() and done.read_text().strip(), 20, term.screen)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run([*tmux, "kill-session", "-t", name], check=False, capture_output=True)
    logged = (state / "omnitui" / "log" / "omnitui.log").read_text(errors="replace")
    assert "Traceback" not in logged and " WARNING " not in logged, logged


def reply_with_quote_and_attachment() -> bytes:
    mail = EmailMessage()
    mail["From"] = "佐藤 健 <ken.sato@example.jp>"
    mail["To"] = "shop@example.com"
    mail["Subject"] = "Re: ご注文の確認"
    mail["Message-ID"] = make_msgid("ken", "example.jp")
    mail.set_content(
        "はい、その内容でお願いします。\n\n"
        "2026年11月20日(金) 9:00 Sakura Flowers <shop@example.com>:\n"
        "> ご注文ありがとうございます。\n> 内容をご確認ください。\n",
        charset="utf-8",
    )
    mail.add_attachment(
        b"%PDF-1.4 fake order", maintype="application", subtype="pdf", filename="注文書.pdf"
    )
    return mail.as_bytes()


async def test_mail_arriving_by_idle_shows_in_the_console_folded_with_source_and_attachment(
    store: Store, dovecot: Dovecot, running: tuple[Hub, EmailAdapter], tmp_path: Path
) -> None:
    from omnitui.app import OmniApp
    from omnitui.screens.source import SourceScreen

    await wait_until(lambda: _status(running[1], "up to date"))
    app = OmniApp(
        store,
        channels=[Channel(ChannelKind.EMAIL, "shop-mail")],
        poll_changes=0.05,
        downloads=tmp_path / "dl",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        client = imap(dovecot)
        client.append("INBOX", reply_with_quote_and_attachment())
        client.logout()
        await wait_until(lambda: app.inbox.contacts.contacts, 5, "the mail is listed", pilot=pilot)
        assert app.inbox.contacts.contacts[0].name == "佐藤 健"
        await pilot.press("enter")
        await pilot.pause(0.2)
        shown = "\n".join(app.inbox.thread.lines_text())
        assert "はい、その内容でお願いします。" in shown
        assert "ご注文ありがとうございます" not in shown and "quoted text hidden" in shown
        assert "注文書.pdf (application/pdf" in shown
        await pilot.press("f")
        assert "ご注文ありがとうございます" in "\n".join(app.inbox.thread.lines_text())
        await pilot.press("a")
        await pilot.pause(0.1)
        assert (tmp_path / "dl" / "注文書.pdf").read_bytes() == b"%PDF-1.4 fake order"
        await pilot.press("v")
        await pilot.pause(0.1)
        assert isinstance(app.screen, SourceScreen)
        assert b"Message-ID" in app.screen.raw
        await pilot.press("escape")
        assert not isinstance(app.screen, SourceScreen)


async def test_a_copy_of_each_reply_goes_to_the_sent_folder(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    client = imap(dovecot)
    client.create_folder("Sent")
    client.append("INBOX", customer_mail(1, sender="emma@example.com"))
    adapter = EmailAdapter(account(dovecot, smtp[1], extra='sent_folder = "Sent"'))
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:

        async def arrived() -> bool:
            return await stored_count(store) == 1

        await wait_until(arrived)
        contact = (await store.list_contacts())[0]
        await store.enqueue_reply(
            contact.id,
            Channel(ChannelKind.EMAIL, "shop-mail"),
            "See you soon",
            subject="Re: Question 1",
        )

        async def sent() -> bool:
            return (await store.thread_page(contact.id))[-1].status is Delivery.SENT

        await wait_until(sent)
    finally:
        await hub.stop()
    client.select_folder("Sent", readonly=True)
    found = client.search(["SUBJECT", "Re: Question 1"])
    assert len(found) == 1
    client.logout()


async def test_a_server_without_idle_is_polled(
    store: Store, smtp: tuple[Recorder, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = Dovecot.create(
        tmp_path_factory.mktemp("no-idle"),
        dovecot_binary(),
        extra="imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS\n",
    )
    try:
        client = imap(server)
        assert b"IDLE" not in client.capabilities()
        adapter = EmailAdapter(account(server, smtp[1]), poll_seconds=0.3)
        hub = Hub(store, [adapter], retry=FAST)
        await hub.start()
        try:
            await wait_until(lambda: _status(adapter, "up to date"))
            client.append("INBOX", customer_mail(5))

            async def arrived() -> bool:
                return await stored_count(store) == 1

            await wait_until(arrived, 5)
        finally:
            await hub.stop()
            client.logout()
    finally:
        server.stop()


@pytest.mark.parametrize("mark_seen", [False, True])
async def test_reading_in_omnitui_flags_mail_seen_only_when_asked(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], mark_seen: bool
) -> None:
    client = imap(dovecot)
    client.append("INBOX", customer_mail(1))
    adapter = EmailAdapter(account(dovecot, smtp[1], extra=f"mark_seen = {str(mark_seen).lower()}"))
    hub = Hub(store, [adapter], retry=FAST)
    await hub.start()
    try:

        async def arrived() -> bool:
            return await stored_count(store) == 1

        await wait_until(arrived)
        client.select_folder("INBOX", readonly=True)
        assert client.search(["UNSEEN"]) != []  # syncing did not mark it read
        await store.mark_read((await store.list_contacts())[0].id)

        async def seen() -> bool:
            client.noop()
            return not client.search(["UNSEEN"])

        if mark_seen:
            await wait_until(seen, 5)
        else:
            await asyncio.sleep(1.5)
            assert not await seen()
    finally:
        await hub.stop()
        client.logout()


async def test_a_file_attached_in_the_composer_goes_out_with_the_reply(
    store: Store,
    dovecot: Dovecot,
    smtp: tuple[Recorder, int],
    running: tuple[Hub, EmailAdapter],
    tmp_path: Path,
) -> None:
    from omnitui.app import OmniApp

    recorder, _ = smtp
    invoice = tmp_path / "請求書.pdf"
    invoice.write_bytes(b"%PDF-1.4 invoice 1203")
    client = imap(dovecot)
    client.append("INBOX", customer_mail(1, sender="Emma <emma@example.com>", subject="Invoice?"))
    client.logout()

    async def arrived() -> bool:
        return await stored_count(store) == 1

    await wait_until(arrived)
    app = OmniApp(
        store,
        channels=[Channel(ChannelKind.EMAIL, "shop-mail")],
        on_outbox=running[0].outbox_changed,
        poll_changes=0.05,
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("enter")
        await pilot.pause(0.2)
        await pilot.press("r")
        await pilot.pause(0.1)
        await pilot.press(*"Here it is.")
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        await pilot.press(*str(invoice), "enter")
        await pilot.pause(0.2)
        assert "📎 請求書.pdf" in str(app.screen.query_one("#composer-status").render())
        await pilot.press("ctrl+s")

        async def received() -> bool:
            return len(recorder.messages) == 1

        await wait_until(received)
    sent = email.message_from_bytes(recorder.messages[0][2], policy=email.policy.default)
    parts = [(p.get_filename(), p.get_content()) for p in sent.iter_attachments()]
    assert parts == [("請求書.pdf", b"%PDF-1.4 invoice 1203")]


def mail_to_several(parent_refs: str = "") -> bytes:
    """Emma writes to the shop and to Hana, a florist friend, copying Ken."""
    mail = EmailMessage()
    mail["From"] = "Emma Brown <emma@example.com>"
    mail["To"] = "Sakura Flowers <shop@example.com>, Hana <hana@florist.example>"
    mail["Cc"] = "Ken <ken@example.jp>"
    mail["Subject"] = "Re: Order 12"
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["Message-ID"] = make_msgid("emma", "example.com")
    if parent_refs:
        mail["References"] = parent_refs
    mail.set_content("Can Hana pick up the flowers for me?", charset="utf-8")
    return mail.as_bytes()


SIGNED = 'signature = """\nSakura Flowers\n03-1234-5678\n"""'


async def test_a_reply_goes_out_with_its_signature_edited_subject_and_copies(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    """Keys in the console, out through a real SMTP server: the subject the agent
    typed, Cc in the header, Bcc in the envelope only, the account's and the
    agent's signature after "-- ", and the threading headers kept."""
    from omnitui.app import OmniApp

    recorder, _ = smtp
    earlier = "<order12@sakura.example>"
    first = mail_to_several(earlier)
    parent_id = email.message_from_bytes(first)["Message-ID"]
    client = imap(dovecot)
    client.append("INBOX", first)
    client.logout()
    cfg = account(dovecot, smtp[1], extra=SIGNED)
    adapter = EmailAdapter(cfg)
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05)
    await hub.start()
    try:

        async def arrived() -> bool:
            return await stored_count(store) == 1

        await wait_until(arrived)
        app = OmniApp(
            store,
            channels=[Channel(ChannelKind.EMAIL, cfg.name)],
            on_outbox=hub.outbox_changed,
            poll_changes=0.05,
            signatures={cfg.name: cfg.signature},
            agent_signature="Aiko",
            own_addresses=cfg.own_addresses,
        )
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("enter")
            await pilot.pause(0.2)
            await pilot.press("r", *"See you at three.")
            await pilot.press("ctrl+j")
            await pilot.pause(0.2)
            await pilot.press("ctrl+u", *"Order 12: pick-up at 15:00", "enter")
            await pilot.pause(0.1)
            await pilot.press("ctrl+g")  # reply all: Hana and Ken, never the shop itself
            await pilot.press("ctrl+l")
            await pilot.pause(0.2)
            await pilot.press("end", *", manager@venue.example", "tab", *"owner@sakura.example")
            await pilot.press("enter")
            await pilot.pause(0.1)
            await pilot.press("ctrl+s")

            async def received() -> bool:
                return len(recorder.messages) == 1

            await wait_until(received)
            contact = (await store.list_contacts())[0]

            async def sent_state() -> bool:
                return (await store.thread_page(contact.id))[-1].status is Delivery.SENT

            await wait_until(sent_state)
        _, envelope, raw = recorder.messages[0]
        sent = email.message_from_bytes(raw, policy=email.policy.default)
        assert envelope == [
            "emma@example.com",
            "hana@florist.example",
            "ken@example.jp",
            "manager@venue.example",
            "owner@sakura.example",
        ]
        assert sent["To"] == "emma@example.com"
        assert (
            sent["Cc"] == "Hana <hana@florist.example>, Ken <ken@example.jp>, manager@venue.example"
        )
        assert b"owner@sakura.example" not in raw and sent["Bcc"] is None
        assert sent["Subject"] == "Order 12: pick-up at 15:00"
        assert sent["In-Reply-To"] == parent_id
        assert sent["References"].split() == [earlier, parent_id]
        body = sent.get_body()
        assert body is not None
        assert body.get_content().replace("\r\n", "\n") == (
            "See you at three.\n\n-- \nSakura Flowers\n03-1234-5678\nAiko\n"
        )
        reply = (await store.thread_page(contact.id))[-1]
        assert reply.bcc == ("owner@sakura.example",)  # kept on the message, for the shop
    finally:
        await hub.stop()


async def test_a_bad_cc_sends_nothing_and_one_the_server_refuses_is_said_on_the_reply(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int], running: tuple[Hub, EmailAdapter]
) -> None:
    from omnitui.store import StoreError

    recorder, _ = smtp
    client = imap(dovecot)
    client.append("INBOX", customer_mail(1, sender="Emma <emma@example.com>"))
    client.logout()

    async def arrived() -> bool:
        return await stored_count(store) == 1

    await wait_until(arrived)
    contact = (await store.list_contacts())[0]
    mail = Channel(ChannelKind.EMAIL, "shop-mail")
    with pytest.raises(StoreError, match="Cc: not an email address: ken@"):
        await store.enqueue_reply(contact.id, mail, "Hello", cc=["ken@example.jp", "ken@"])
    running[0].outbox_changed()
    await asyncio.sleep(0.5)
    assert recorder.messages == [] and len(await store.thread_page(contact.id)) == 1

    await store.enqueue_reply(contact.id, mail, "Hello", cc=["ghost@nowhere.invalid"])
    running[0].outbox_changed()

    async def sent_state() -> bool:
        return (await store.thread_page(contact.id))[-1].status is Delivery.SENT

    await wait_until(sent_state)
    assert recorder.messages[0][1] == ["emma@example.com"]  # the customer has it
    reply = (await store.thread_page(contact.id))[-1]
    assert "not accepted for ghost@nowhere.invalid: 550" in reply.status_reason
