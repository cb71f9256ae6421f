"""A channel added as an installed plugin: the example web form (docs/plugins/webform).

The shop's website posts its contact form to the web form channel; the
customer's message lands in the merged thread of the contact who has that
email address, and the agent answers by the shop's email, since a web form
cannot carry an answer. Tested as the built-in channels are: the console
(pilot) and `omnitui serve` (a subprocess) run a `[[plugin]]` web form
channel built from config.toml, a real HTTP client posts the form, a kill -9
never loses or doubles a post that got its answer, and bad posts are refused
clearly. A broken plugin is named with its `[[plugin]]` table while the other
channels run, and a plugin that crashes is restarted without taking the
console down. Real peers: Dovecot and aiosmtpd for the shop's email.

The plugin is a package of its own: `pip install ./docs/plugins/webform`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from omnitui import config
from omnitui.adapters import plugins
from omnitui.adapters.api import local_api
from omnitui.adapters.runner import configured_channels
from omnitui.app import OmniApp
from omnitui.automation import Automation, AutomationSetup
from omnitui.cli import build_adapters
from omnitui.domain import models
from omnitui.domain.models import Channel, ChannelKind, Delivery, Inbound
from omnitui.hub import Hub
from omnitui.i18n import tr_reason, use_language
from omnitui.screens.reports import ReportsScreen, volume_bars
from omnitui.store import Store
from omnitui.widgets.contact_list import contact_prompt
from omnitui.widgets.format import channel_legend, channel_mark
from tests import test_api, test_email
from tests.conftest import IN_CI
from tests.peers.dovecot import Dovecot, free_port
from tests.pilot_steps import open_customer
from tests.serve import ServeCommand
from tests.test_email import FAST, Recorder, account
from tests.test_reports_screen import at_reports
from tests.waiting import wait_until

dovecot = test_email.dovecot
smtp = test_email.smtp
mail_password = test_email.mail_password

SECRET_ENV = "OMNITUI_TEST_WEBFORM_SECRET"
SECRET = "form-secret-7f3a"
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
LONG = 30.0


@pytest.fixture(autouse=True)
def webform_installed() -> None:
    """The example plugin, installed as a package; without it the tests say how."""
    found = plugins.find("webform")
    if found is None or found.plugin is None:
        why = "the example web form plugin is not installed: pip install ./docs/plugins/webform"
        if found is not None and found.problem is not None:
            why += f" ({found.problem})"
        if IN_CI:
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(autouse=True)
def forget_plugin_kinds() -> Iterator[None]:
    """Plugins' kinds made known in a test are forgotten after it (the other test
    files in this process draw the built-in channels only)."""
    kinds = dict(models._PLUGIN_KINDS)
    loaded = dict(plugins._loaded)
    yield
    models._PLUGIN_KINDS.clear()
    models._PLUGIN_KINDS.update(kinds)
    plugins._loaded.clear()
    plugins._loaded.update(loaded)


@pytest.fixture(autouse=True)
def form_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


def webform_section(port: int, *, name: str = "web-form", extra: str = "") -> str:
    return (
        f'[[plugin]]\nadapter = "webform"\nname = "{name}"\nlisten = "127.0.0.1:{port}"\n'
        f'secret_env = "{SECRET_ENV}"\n{extra}'
    )


def mail_section(dovecot: Dovecot, smtp_port: int) -> str:
    """The shop's mailbox (Dovecot) and mail server (aiosmtpd), as config.toml has them."""
    mail = account(dovecot, smtp_port)
    return textwrap.dedent(f"""
        [[email]]
        name = "{mail.name}"
        imap_host = "127.0.0.1"
        imap_port = {dovecot.port}
        imap_tls = "none"
        username = "{mail.username}"
        password_env = "{mail.password_env}"
        smtp_host = "127.0.0.1"
        smtp_port = {smtp_port}
        smtp_tls = "none"
        from = "Sakura Flowers <shop@example.com>"
    """)


async def post(
    client: aiohttp.ClientSession,
    port: int,
    form: dict[str, str] | None = None,
    *,
    headers: dict[str, str] | None = None,
    data: Any = None,
) -> tuple[int, dict[str, Any]]:
    """The website's server posting the form, with the shared secret unless told."""
    sent_headers = {"X-Webform-Secret": SECRET} if headers is None else headers
    async with client.post(
        f"http://127.0.0.1:{port}/form", data=form if data is None else data, headers=sent_headers
    ) as answer:
        return answer.status, await answer.json()


async def listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


def stored_forms(db: Path) -> Counter[str]:
    """The web form messages in the store, by text (what a second look at the file finds)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT text FROM message WHERE kind = 'webform' AND direction = 'in'"
        ).fetchall()
    except sqlite3.OperationalError:  # not made yet
        return Counter()
    finally:
        conn.close()
    return Counter(str(r[0]) for r in rows)


async def stop(server: asyncio.subprocess.Process) -> None:
    if server.returncode is None:
        server.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(server.wait(), 20)
        except TimeoutError:
            server.kill()
            await server.wait()


async def test_a_form_joins_the_customers_email_thread_and_the_agent_answers_by_email(
    tmp_path: Path, store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    recorder, smtp_port = smtp
    port = free_port()
    text = mail_section(dovecot, smtp_port) + webform_section(port)
    settings = config.parse(text, tmp_path / "config.toml")
    adapters, notes = build_adapters(settings, store)
    assert notes == []
    channels = configured_channels(settings)
    form = Channel(ChannelKind("webform"), "web-form")
    assert channels == [MAIL, form]
    # Hanako wrote by email last week.
    [earlier] = await store.ingest(
        [Inbound(MAIL, "<h1@x>", "hanako@example.jp", "山田 花子", "Roses?", time.time() - 600)]
    )
    hub = Hub(store, adapters, retry=FAST, poll_outbox=0.05)
    app = OmniApp(store, agent_name="Aiko", channels=channels, poll_changes=0.05, language="en")
    await hub.start()
    try:
        await wait_until(lambda: listening(port), LONG, "the web form listens")
        async with aiohttp.ClientSession() as client, app.run_test(size=(120, 36)) as pilot:
            status, said = await post(
                client,
                port,
                {
                    "name": "山田 花子",
                    "email": "Hanako@Example.JP",
                    "subject": "Sunday delivery",
                    "message": "Do you deliver on Sunday? [bold]Thanks[/bold]",
                    "phone": "090-1234-5678",
                },
            )
            # Answered once stored: the message is there when the website hears 200.
            assert (status, said["stored"]) == (200, True)
            page = await store.thread_page(earlier.contact_id)
            assert page[-1].kind == form.kind and page[-1].account == "web-form"
            assert page[-1].subject == "Sunday delivery"
            assert await store.count_contacts() == 1  # her email contact, not a new one

            screen = app.inbox

            def marks() -> str:
                rows = [c for c in screen.contacts.contacts if c.id == earlier.contact_id]
                return contact_prompt(rows[0], 60).plain[:2] if rows else ""

            # The contact list draws both of her channels: M (email), W (web form).
            await wait_until(lambda: marks() == "MW", what="the web form's mark", pilot=pilot)
            await open_customer(pilot, earlier.contact_id)
            lines = "\n".join(screen.thread.lines_text())
            assert "Do you deliver on Sunday? [bold]Thanks[/bold]" in lines  # text, not markup
            assert "Phone: 090-1234-5678" in lines
            # The form cannot carry the answer: the composer offers her email.
            assert screen.composer.channels == [MAIL]
            assert screen.composer.channel == MAIL
            await pilot.press("r", *"Yes, we deliver on Sundays.")
            await pilot.press("ctrl+s")
            await wait_until(lambda: recorder.messages, LONG, "the answer by email")
            assert recorder.messages[0][1] == ["hanako@example.jp"]

            # A reply put on the web form itself fails, and says why.
            forced = await store.enqueue_reply(earlier.contact_id, form, "via the form?")
            hub.outbox_changed()

            async def failed() -> bool:
                thread = await store.thread_page(earlier.contact_id)
                return any(m.id == forced and m.status is Delivery.FAILED for m in thread)

            await wait_until(failed, LONG, "the forced reply fails")
            [message] = [m for m in await store.thread_page(earlier.contact_id) if m.id == forced]
            assert message.status_reason == (
                "a web form cannot carry a reply: answer on another of the customer's channels"
            )
            use_language("ja")
            try:
                assert tr_reason(message.status_reason).startswith("web form では返信を送れません")
                # The Japanese console draws pictures: the plugin's own.
                assert channel_mark(form.kind) == "▤"
                assert channel_legend([form.kind]).endswith("▤ ウェブフォーム")
                assert "▤" not in channel_legend()  # a console without a web form channel
            finally:
                use_language("en")
            # Search finds the form's message, on its channel.
            hits = await store.search("Sunday")
            assert any(h.kind == form.kind for h in hits)
    finally:
        await hub.stop()


async def test_a_rules_automatic_answer_to_a_form_goes_by_the_shops_email(
    tmp_path: Path, store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    recorder, smtp_port = smtp
    port = free_port()
    rule = (
        '[[rule]]\nname = "Form received"\non = "message"\n[rule.if]\nchannel = ["webform"]\n'
        '[rule.then]\nreply = "got-it"\n'
    )
    settings = config.parse(
        mail_section(dovecot, smtp_port) + webform_section(port) + rule, tmp_path / "c.toml"
    )
    await store.add_canned_replies(
        [("got-it", "Got it", "Thank you {first_name|}, we will answer within a day.", "")]
    )
    adapters, _ = build_adapters(settings, store)
    channels = {c.account: c for c in configured_channels(settings)}
    automation = Automation(store, AutomationSetup.from_settings(settings), channels)
    hub = Hub(store, adapters, retry=FAST, poll_outbox=0.05, automation=automation)
    await hub.start()
    try:
        await wait_until(lambda: listening(port), LONG, "the web form listens")
        async with aiohttp.ClientSession() as client:
            form = {"name": "Ken Sato", "email": "ken@example.com", "message": "Gift wrapping?"}
            assert (await post(client, port, form))[0] == 200
        await wait_until(lambda: recorder.messages, LONG, "the automatic answer by email")
        assert recorder.messages[0][1] == ["ken@example.com"]
        assert b"we will answer within a day" in recorder.messages[0][2]
    finally:
        await hub.stop()


async def test_the_api_answers_a_form_by_email_and_refuses_the_form_itself(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(test_api.TOKEN_ENV, test_api.API_TOKEN)
    text = (
        '[[email]]\nname = "shop-mail"\nimap_host = "127.0.0.1"\nusername = "shop"\n'
        'password_env = "X"\nsmtp_host = "127.0.0.1"\nfrom = "shop@example.com"\n\n'
        f'[api]\nlisten = "127.0.0.1:{free_port()}"\ntoken_env = "{test_api.TOKEN_ENV}"\n\n'
        + webform_section(free_port())
    )
    api = local_api(config.parse(text, tmp_path / "config.toml"), store)
    assert api is not None
    form = Channel(ChannelKind("webform"), "web-form")
    assert list(api.channels) == [MAIL, form]
    [got] = await store.ingest(
        [Inbound(form, "form:1", "ken@example.com", "Ken Sato", "Gift wrapping?", time.time())]
    )
    task = asyncio.create_task(api.run())
    try:
        await wait_until(api.listening.is_set, 10, "the API listening")
        async with test_api.client_of(api) as client:
            # By default, the shop's email: a web form cannot carry the answer.
            sent = await client.call(
                "POST", f"/contacts/{got.contact_id}/messages", body={"text": "Yes, free."}
            )
            assert sent.status == 202, sent
            assert (sent.body["channel"], sent.body["account"]) == ("email", "shop-mail")
            # Named, the form is refused in words, and nothing is queued on it.
            forced = await client.call(
                "POST",
                f"/contacts/{got.contact_id}/messages",
                body={"text": "hi", "channel": "web-form"},
            )
            assert (forced.status, forced.body) == (
                422,
                {
                    "error": "a web-form cannot carry a reply: answer on another of the "
                    "customer's channels",
                    "field": "channel",
                },
            )
            # The customer's channels as a script reads them: the form among them.
            contact = await client.call("GET", f"/contacts/{got.contact_id}/messages")
            assert [m["channel"] for m in contact.body["items"]] == ["email", "webform"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_serve_takes_posts_and_a_kill_9_never_loses_or_doubles_an_answered_one(
    tmp_path: Path,
) -> None:
    port = free_port()
    shop = ServeCommand.with_channels(tmp_path, webform_section(port), {SECRET_ENV: SECRET})
    forms = [
        {"name": f"Guest {n}", "email": f"guest{n}@example.com", "message": f"Question #{n}"}
        for n in range(40)
    ]
    answered: set[int] = set()
    server = await shop.start()
    try:
        await wait_until(lambda: listening(port), LONG, "serve's web form listens")
        todo = iter(range(len(forms)))
        killed = asyncio.Event()

        async def website(client: aiohttp.ClientSession) -> None:
            # Four posts at a time, as visitors send them; serve dies among them.
            for n in todo:
                try:
                    status, _ = await post(client, port, forms[n])
                except (aiohttp.ClientError, OSError):
                    continue  # no answer: the website will post it again
                if status == 200:
                    answered.add(n)
                if len(answered) >= 12 and not killed.is_set():
                    killed.set()
                    server.send_signal(signal.SIGKILL)

        async with aiohttp.ClientSession() as client:
            await asyncio.gather(*(website(client) for _ in range(4)))
        await server.wait()
        assert killed.is_set() and 12 <= len(answered) < len(forms)
        # Every post that got its answer is in the store, once, before any restart.
        after_kill = stored_forms(shop.db)
        assert all(after_kill[forms[n]["message"]] == 1 for n in answered)
        assert max(after_kill.values()) == 1

        server = await shop.start()
        await wait_until(lambda: listening(port), LONG, "serve's web form listens again")
        async with aiohttp.ClientSession() as client:
            # The website posts again what got no answer, and (a retry after a
            # lost answer) a few that did: each is taken, none doubled.
            again = [n for n in range(len(forms)) if n not in answered] + sorted(answered)[:5]
            for n in again:
                status, said = await post(client, port, forms[n])
                assert (status, said["stored"]) == (200, True)
        stored = stored_forms(shop.db)
        assert stored == Counter(f["message"] for f in forms)
    finally:
        await stop(server)


async def test_bad_posts_are_refused_clearly_and_store_nothing(tmp_path: Path) -> None:
    port = free_port()
    shop = ServeCommand.with_channels(
        tmp_path, webform_section(port, extra="max_bytes = 4096\n"), {SECRET_ENV: SECRET}
    )
    good = {"name": "Ken Sato", "email": "ken@example.com", "message": "Is the shop open?"}
    server = await shop.start()
    try:
        await wait_until(lambda: listening(port), LONG, "serve's web form listens")
        async with aiohttp.ClientSession() as client:
            assert await post(client, port, {"name": "Ken"}) == (
                400,
                {"stored": False, "error": "missing fields: email, message"},
            )
            status, said = await post(client, port, {**good, "email": "not-an-address"})
            assert (status, said["error"]) == (400, "email is not an email address")
            status, said = await post(client, port, good, headers={"X-Webform-Secret": "guess"})
            assert (status, said["stored"]) == (403, False)
            status, _ = await post(client, port, good, headers={})
            assert status == 403
            status, said = await post(client, port, {**good, "message": "x" * 10_000})
            assert (status, said["stored"]) == (413, False)
            status, said = await post(
                client,
                port,
                data=json.dumps(["not", "an", "object"]),
                headers={"X-Webform-Secret": SECRET, "Content-Type": "application/json"},
            )
            assert (status, said["error"]) == (400, "the JSON body is not an object")
            assert stored_forms(shop.db) == Counter()

            # The website may sign the body instead of sending the secret, in JSON.
            body = json.dumps(good).encode()
            signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            signed = {"X-Webform-Signature": f"sha256={signature}"}
            status, said = await post(
                client, port, data=body, headers={**signed, "Content-Type": "application/json"}
            )
            assert (status, said["stored"]) == (200, True)
            wrong = {"X-Webform-Signature": "sha256=" + "0" * 64}
            status, _ = await post(
                client, port, data=body, headers={**wrong, "Content-Type": "application/json"}
            )
            assert status == 403
            # A double click on "send": the same form twice is one message.
            status, _ = await post(client, port, good)
            assert status == 200
        assert stored_forms(shop.db) == Counter({"Is the shop open?": 1})
        log = shop.log_file.read_text(encoding="utf-8")
        assert "refused a post from 127.0.0.1: missing fields: email, message" in log
        assert SECRET not in log and "guess" not in log
    finally:
        await stop(server)


# A throwaway package of plugins that go wrong, on sys.path as an installed
# distribution would be (a dist-info with its entry points).
BROKEN_PLUGINS = {
    "omnitui_test_plugins-0.1.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: omnitui-test-plugins\nVersion: 0.1\n"
    ),
    "omnitui_test_plugins-0.1.dist-info/entry_points.txt": (
        "[omnitui.adapters]\n"
        "missing = omnitui_no_such_module:plugin\n"
        "oldapi = omnitui_test_plugins:OLD\n"
        "kiosk = omnitui_test_plugins:KIOSK\n"
    ),
    "omnitui_test_plugins.py": '''
import asyncio
import time

from pydantic import BaseModel, ConfigDict

from omnitui.adapters.plugin import Channel, ChannelKind, IdentityKind, Inbound, cannot_reply


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Old:
    name, version, api_version, kind = "oldapi", "3.0", 99, "oldapi"
    identity, label, mark, icon, replies = IdentityKind.EMAIL, "old", "O", "", True
    options = Options

    def build(self, config, options):
        raise AssertionError("never built")


class KioskAdapter:
    """The shop's counter tablet: crashes once as badly as it can, then works."""

    runs = 0

    def __init__(self, name):
        self.channel = Channel(ChannelKind("kiosk"), name)

    async def run(self, sink):
        KioskAdapter.runs += 1
        if KioskAdapter.runs == 1:
            raise SystemExit("the tablet fell over")
        await sink.deliver(
            [Inbound(self.channel, "k1", "table-3", "Table 3", "More tea please", time.time())]
        )
        await asyncio.Event().wait()

    async def send(self, message):
        raise cannot_reply("kiosk")

    async def close(self):
        pass


class Kiosk:
    name, version, api_version, kind = "kiosk", "0.1", 1, "kiosk"
    identity, label, mark, icon, replies = IdentityKind("kiosk"), "kiosk", "K", "", False
    options = Options

    def build(self, config, options):
        return KioskAdapter(config.name)


OLD, KIOSK = Old(), Kiosk()
''',
}


@pytest.fixture
def broken_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    for name, content in BROKEN_PLUGINS.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(content, encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return site


async def test_a_broken_plugin_is_named_with_its_table_and_the_other_channels_run(
    tmp_path: Path, broken_plugins: Path
) -> None:
    port = free_port()
    sections = "\n".join(
        [
            '[[plugin]]\nadapter = "missing"\nname = "gone"\n',
            '[[plugin]]\nadapter = "oldapi"\nname = "old"\n',
            '[[plugin]]\nadapter = "webfrom"\nname = "typo"\n',
            webform_section(free_port(), name="web-typo", extra='lisen = "127.0.0.1:1"\n'),
            webform_section(port),
        ]
    )
    shop = ServeCommand.with_channels(tmp_path, sections, {SECRET_ENV: SECRET})
    shop.env["PYTHONPATH"] = os.pathsep.join([str(broken_plugins), *sys.path])
    doctor = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "omnitui.cli", "--config", str(shop.config), "doctor"],
        env=shop.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await doctor.communicate())[0].decode()
    assert doctor.returncode == 1, out
    lines = out.splitlines()
    config_file = shop.config

    def line_of(name: str) -> str:
        return next(line for line in lines if line.split()[1:2] == [name])

    # The installed plugins, with their versions and where they come from.
    assert any(
        "webform 0.1.0 from omnitui-webform 0.1.0: webform channels (plugin API 1)" in line
        for line in lines
    ), out
    assert line_of("gone").startswith(
        f"FAIL  gone     {config_file}, line 5: plugin[0].adapter: plugin missing "
        "(omnitui_no_such_module:plugin) failed to load: ModuleNotFoundError"
    ), out
    assert line_of("old") == (
        f"FAIL  old      {config_file}, line 9: plugin[1].adapter: plugin oldapi 3.0 was "
        "written for plugin API 99; this OmniTUI has plugin API 1: install a version of "
        "omnitui-test-plugins made for API 1"
    ), out
    assert line_of("typo") == (
        f"FAIL  typo     {config_file}, line 13: plugin[2].adapter: no installed plugin is "
        "called 'webfrom' (installed: missing, oldapi, kiosk, webform); install its package "
        "into OmniTUI's Python environment"
    ), out
    assert line_of("web-typo") == (
        f"FAIL  web-typo {config_file}, line 21: plugin[3].lisen: unknown key (plugin webform)"
    ), out
    assert line_of("web-form").startswith("ok    web-form webform: a webform channel"), out

    # serve runs the good channel all the same, and its log names the broken ones.
    server = await shop.start()
    try:
        await wait_until(lambda: listening(port), LONG, "the good web form listens")
        async with aiohttp.ClientSession() as client:
            form = {"name": "Yui", "email": "yui@example.com", "message": "Still open?"}
            assert (await post(client, port, form))[0] == 200
    finally:
        await stop(server)
    log = shop.log_file.read_text(encoding="utf-8")
    assert "plugin[1].adapter: plugin oldapi 3.0 was written for plugin API 99" in log
    assert "serving 1 channel(s)" in log
    assert stored_forms(shop.db) == Counter({"Still open?": 1})


async def test_a_plugin_that_crashes_is_restarted_and_the_console_stays_up(
    store: Store, broken_plugins: Path
) -> None:
    settings = config.parse(
        '[[plugin]]\nadapter = "kiosk"\nname = "counter"\n', Path("config.toml")
    )
    adapters, notes = build_adapters(settings, store)
    assert notes == []
    channels = configured_channels(settings)
    kiosk = Channel(ChannelKind("kiosk"), "counter")
    assert channels == [kiosk]
    hub = Hub(store, adapters, retry=FAST, poll_outbox=0.05)
    app = OmniApp(store, agent_name="Aiko", channels=channels, poll_changes=0.05, language="en")
    async with app.run_test(size=(120, 36)) as pilot:
        await hub.start()  # the plugin's first run raises SystemExit
        try:
            screen = app.inbox
            await wait_until(
                lambda: screen.contacts.contacts, LONG, "the kiosk's message", pilot=pilot
            )
            [row] = screen.contacts.contacts
            assert row.channels == frozenset({kiosk.kind}) and row.name == "Table 3"
            assert contact_prompt(row, 60).plain.startswith("K")
            contact = await store.get_contact(row.id)
            assert [(str(i.kind), i.address) for i in contact.identities] == [("kiosk", "table-3")]
            await open_customer(pilot, row.id)
            assert "More tea please" in "\n".join(screen.thread.lines_text())
            # The kiosk cannot carry an answer, and she has no other channel.
            assert screen.composer.channels == []
            # The reports count it, under its mark.
            await pilot.press("escape")
            await at_reports(pilot)
            reports = app.screen
            assert isinstance(reports, ReportsScreen) and reports.report is not None
            assert reports.report.channels["kiosk"].messages_in == 1
            bars = volume_bars(reports.report, 80).plain.splitlines()
            assert bars[-1].split() == ["█", "M", "█", "T", "█", "S", "█", "L", "█", "K"]
            assert app.is_running
        finally:
            await hub.stop()


async def test_a_forms_messages_stay_readable_once_the_plugin_is_gone(store: Store) -> None:
    form = Channel(ChannelKind("webform"), "web-form")
    models.register_kind("webform", models.KindInfo(models.IdentityKind.EMAIL, replies=False))
    [got] = await store.ingest(
        [Inbound(form, "form:1", "ken@example.com", "Ken Sato", "Gift wrapping?", time.time())]
    )
    # The shop uninstalls the plugin: this console has never loaded it.
    del models._PLUGIN_KINDS[form.kind]
    app = OmniApp(store, agent_name="Aiko", channels=[MAIL], poll_changes=0.05, language="en")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.inbox
        await open_customer(pilot, got.contact_id)
        assert "Gift wrapping?" in "\n".join(screen.thread.lines_text())
        [row] = screen.contacts.contacts
        assert contact_prompt(row, 60).plain.startswith("W")  # its kind's first letter
        # Nothing here could send on it: the reply goes by the shop's email.
        assert screen.composer.channels == [MAIL]


async def test_a_plugin_for_another_api_version_is_refused_in_so_many_words(
    broken_plugins: Path, tmp_path: Path
) -> None:
    settings = config.parse(
        '[[plugin]]\nadapter = "oldapi"\nname = "old"\n' + webform_section(free_port()),
        tmp_path / "config.toml",
    )
    adapters, notes = build_adapters(settings)
    assert [a.channel.account for a in adapters] == ["web-form"]
    assert len(notes) == 1 and "plugin API 99; this OmniTUI has plugin API 1" in notes[0]
    assert [c.account for c in configured_channels(settings)] == ["web-form"]
