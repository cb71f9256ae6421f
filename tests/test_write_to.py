"""`w`: writing first — to a customer from the imported list who never wrote,
or to an address typed in — on a channel that reaches them.

Email goes out through the real SMTP path (aiosmtpd on loopback, Dovecot for
the mailbox) with a subject the agent can change; a typed address becomes one
customer, however it was typed; Telegram is refused in words, because a bot
may only answer people who wrote to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from omnitui.adapters.base import Sink
from omnitui.adapters.email import EmailAdapter
from omnitui.app import OmniApp
from omnitui.contacts_file import read_csv
from omnitui.domain.identity import NotAnAddress, TypedAddress, read_typed_address
from omnitui.domain.models import Channel, ChannelKind, Delivery, IdentityKind, Outbound
from omnitui.hub import Hub, RetryPolicy
from omnitui.screens.write_to import WriteToScreen
from omnitui.store import Store
from tests.peers.dovecot import Dovecot, free_port
from tests.test_console import MAIL, SMS, inbox, shop
from tests.test_email import PASSWORD_ENV, Recorder, _authenticate, account, dovecot_binary
from tests.test_tmux import demo_in_tmux, status_above
from tests.waiting import wait_until, wait_until_sync

pytestmark = pytest.mark.backends

FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.3, max_attempts=4)
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
CUSTOMERS = """name,first_name,language,email,phone,telegram,tags
山田 花子,花子,ja,Hanako.Yamada@example.jp,,,vip
Tomoko Bot,,ja,,,4200999,
"""


@pytest.fixture
def mailserver(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Dovecot, Recorder, int]]:
    monkeypatch.setenv(PASSWORD_ENV, "counter-pass")
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


class RecordingSms:
    """An SMS provider that takes every message and keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    @property
    def channel(self) -> Channel:
        return SMS

    async def run(self, sink: Sink) -> None:
        await sink.load_cursor("none")
        await asyncio.Event().wait()

    async def send(self, message: Outbound) -> str:
        self.sent.append(message)
        return f"SM{len(self.sent):032d}"

    async def close(self) -> None:
        pass


def console(store: Store, channels: list[Channel], hub: Hub | None = None) -> OmniApp:
    return OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "Sakura Flowers"},
        channels=channels,
        poll_changes=0.05,
        phone_region="JP",
        on_outbox=hub.outbox_changed if hub is not None else None,
        language="en",
    )


async def write_to(pilot: Pilot[None], typed: str) -> WriteToScreen:
    """`w` and what the agent types, in the dialog it opens."""
    app = pilot.app
    await pilot.press("w")
    await wait_until(lambda: isinstance(app.screen, WriteToScreen), pilot=pilot)
    screen = app.screen
    assert isinstance(screen, WriteToScreen)
    await pilot.press(*typed)
    return screen


def focused(app: OmniApp) -> Widget | None:
    return app.focused


def option_texts(screen: WriteToScreen) -> list[str]:
    options = screen.options
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def hint(screen: WriteToScreen) -> str:
    return str(screen.query_one("#picker-hint", Static).render())


async def test_writing_first_to_an_imported_customer_sends_a_mail_with_the_subject_typed(
    store: Store, mailserver: tuple[Dovecot, Recorder, int]
) -> None:
    dovecot, recorder, port = mailserver
    parsed = read_csv(CUSTOMERS, region="JP")  # what `omnitui contacts import` reads
    await store.import_contacts(parsed.records)
    hub = Hub(store, [EmailAdapter(account(dovecot, port))], retry=FAST, poll_outbox=0.05)
    await hub.start()
    app = console(store, [MAIL], hub)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await write_to(pilot, "山田")
            await wait_until(
                lambda: option_texts(screen) == ["    山田 花子  no messages yet"], pilot=pilot
            )
            await pilot.press("enter")
            box = inbox(app)
            composer = box.composer
            await wait_until(lambda: app.focused is composer.text_area, pilot=pilot)
            assert box.contact is not None and box.contact.name == "山田 花子"
            assert composer.channel == MAIL
            # A first mail needs a subject: one in her language, there to change.
            assert composer.subject_input.display
            assert composer.subject_input.value == "Sakura Flowersよりご連絡"
            await pilot.press("shift+tab")
            assert focused(app) is composer.subject_input
            await pilot.press("ctrl+a", "ctrl+k", *"Your order", "enter")
            assert focused(app) is composer.text_area
            await pilot.press(*"Your peonies have arrived.", "ctrl+s")
            await wait_until(lambda: len(recorder.messages) == 1, limit=15, pilot=pilot)
            await wait_until(lambda: "sent ✓" in "\n".join(box.thread.lines_text()), pilot=pilot)
            # At the top of the list now, answered by the shop: nobody waits.
            row = box.contacts.contacts[0]
            assert (row.name, row.last_preview) == ("山田 花子", "Your peonies have arrived.")
    finally:
        await hub.stop()
    _sender, recipients, raw = recorder.messages[0]
    mail = message_from_bytes(raw, policy=policy.default)
    assert recipients == ["hanako.yamada@example.jp"]
    assert mail["Subject"] == "Your order"
    assert "Your peonies have arrived." in mail.get_body().get_content()  # type: ignore[union-attr]
    assert mail["In-Reply-To"] is None  # a new conversation, not a reply to anything
    contact = await store.get_contact(row.id)
    assert contact.last_account == "shop-mail"  # the next reply goes the same way


async def test_a_phone_number_typed_the_local_way_finds_the_customer_or_makes_one(
    store: Store,
) -> None:
    ids = await shop(store)  # Emma's phone is +819012345678
    provider = RecordingSms()
    hub = Hub(store, [provider], retry=FAST, poll_outbox=0.05)
    await hub.start()
    app = console(store, [MAIL, SMS], hub)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await write_to(pilot, "090-1234-5678")
            await wait_until(lambda: option_texts(screen) == ["S   Emma"], pilot=pilot)  # not new
            await pilot.press("escape")

            screen = await write_to(pilot, "080-5555-1234")
            await wait_until(
                lambda: option_texts(screen) == ["+ New customer  S +818055551234"], pilot=pilot
            )
            await pilot.press("enter")
            box = inbox(app)
            await wait_until(lambda: app.focused is box.composer.text_area, pilot=pilot)
            assert box.composer.channel == SMS and not box.composer.subject_input.display
            await pilot.press(*"Your bouquet is ready", "ctrl+s")
            await wait_until(lambda: len(provider.sent) == 1, pilot=pilot)
            await wait_until(lambda: "sent ✓" in "\n".join(box.thread.lines_text()), pilot=pilot)
            assert box.contact is not None
            made = box.contact.id
            await pilot.press("escape", "escape")

            screen = await write_to(pilot, "+81 80 5555 1234")  # the same number, once more
            await wait_until(lambda: option_texts(screen) == ["S   +818055551234"], pilot=pilot)
    finally:
        await hub.stop()
    assert (provider.sent[0].address, provider.sent[0].text) == (
        "+818055551234",
        "Your bouquet is ready",
    )
    contact = await store.get_contact(made)
    assert made not in ids.values()
    assert [(i.kind, i.address) for i in contact.identities] == [
        (IdentityKind.PHONE, "+818055551234")
    ]
    (message,) = await store.thread_page(made)
    assert message.status is Delivery.SENT


async def test_a_typed_address_is_one_customer_whatever_its_case(store: Store) -> None:
    await shop(store)
    app = console(store, [MAIL, SMS])
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await write_to(pilot, "Hanako Yamada <Hanako@Example.JP>")
        await wait_until(
            lambda: option_texts(screen) == ["+ New customer  M hanako@example.jp  Hanako Yamada"],
            pilot=pilot,
        )
        await pilot.press("enter")
        box = inbox(app)
        await wait_until(lambda: app.focused is box.composer.text_area, pilot=pilot)
        assert box.contact is not None and box.contact.name == "Hanako Yamada"
        assert box.composer.subject_input.value == "A message from Sakura Flowers"
        await pilot.press("escape", "escape")
        screen = await write_to(pilot, "HANAKO@example.jp")
        await wait_until(
            lambda: option_texts(screen) == ["    Hanako Yamada  no messages yet"], pilot=pilot
        )
    hanakos = [c for c in await store.list_contacts() if c.name == "Hanako Yamada"]
    assert len(hanakos) == 1


async def test_telegram_cannot_be_written_first_and_the_console_says_why(store: Store) -> None:
    await store.import_contacts(read_csv(CUSTOMERS, region="JP").records)
    app = console(store, [MAIL, BOT, SMS])
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await write_to(pilot, "@tomoko_b")
        await wait_until(lambda: "Telegram bot cannot write first" in hint(screen), pilot=pilot)
        assert not any("New customer" in t for t in option_texts(screen))
        await pilot.press(*["backspace"] * 9, *"Tomoko")
        await wait_until(
            lambda: option_texts(screen) == ["    Tomoko Bot  no messages yet"], pilot=pilot
        )
        await pilot.press("enter")
        await wait_until(
            lambda: any(
                "Tomoko Bot can only be reached on Telegram, and a Telegram bot cannot write first"
                in n.message
                for n in app._notifications
            ),
            pilot=pilot,
        )
        status = inbox(app).composer.query_one("#composer-status", Static)
        assert "No channel to reply on" in str(status.render())
        assert app.focused is not inbox(app).composer.text_area


def test_typed_text_that_is_no_address_says_why() -> None:
    """A local number without a region to read it with is explained, not guessed."""
    assert read_typed_address("090-1234-5678", None) is NotAnAddress.NEEDS_COUNTRY
    assert read_typed_address("０９０ー１２３４ー５６７８", "JP") == TypedAddress(
        IdentityKind.PHONE, "+819012345678"
    )
    assert read_typed_address("@misaki", "JP") is NotAnAddress.TELEGRAM
    assert read_typed_address("https://t.me/misaki", "JP") is NotAnAddress.TELEGRAM
    assert read_typed_address("misaki", "JP") is NotAnAddress.TEXT
    assert read_typed_address("misaki@shop", "JP") is NotAnAddress.TEXT


@pytest.mark.tmux
def test_w_in_the_real_console_writes_to_a_new_address_and_it_is_delivered(
    tmp_path: Path,
) -> None:
    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 40)) as (term, done):
        term.wait_for("Customers")
        term.keys("w")
        term.wait_for("Write to…")
        time.sleep(0.3)
        term.type("hanako.new@example.jp")
        term.wait_for("+ New customer  M hanako.new@example.jp")
        term.keys("Enter")
        term.wait_for("Reply via")
        term.wait_for("A message from Sakura Flowers")  # the subject, ready to change
        time.sleep(0.3)
        term.type("Welcome to Sakura Flowers!")
        term.wait_for("Welcome to Sakura Flowers!")
        term.keys("C-s")
        term.wait_for("u to undo")
        wait_until_sync(
            lambda: "delivered ✓✓" in status_above(term.screen(), "Welcome to Sakura Flowers!"),
            20,
            term.screen,
            every=0.2,
        )
        screen = term.screen()
        assert "hanako.new@example.jp" in screen  # the new customer, in the list and the header
        assert "you: Welcome to Sakura Flo" in screen, screen  # its row, answered
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("q")
        wait_until_sync(done.exists, 10, term.screen)
        assert done.read_text().strip() == "0", term.screen()
