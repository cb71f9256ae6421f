"""One-click unsubscribe (RFC 8058) and broadcast images, over the channel runner's public listener.

A broadcast email carries its recipient's own unsubscribe link in
`List-Unsubscribe` (with `List-Unsubscribe-Post`) and in its last line. The
link opens a page naming the shop; only the POST a mail app (or the page's
button) sends stops the broadcasts, to that address alone, and the agents see
why in the customer's thread. The same listener serves a broadcast's image and
a small JPEG of it. Real peers: Dovecot and aiosmtpd for the mail, aiohttp as
the customer's mail app and browser, `omnitui serve` and the console (pilot)
as the processes that listen.
"""

from __future__ import annotations

import asyncio
import email
import io
import logging
import os
import re
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from omnitui.adapters.email import EmailAdapter
from omnitui.adapters.public import GREETING, PREVIEW_BYTES, PREVIEW_SIDE, PublicListener
from omnitui.app import OmniApp
from omnitui.config import HostPort
from omnitui.domain.broadcast import SKIP_NO_BROADCASTS
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.domain.public_links import new_token
from omnitui.hub import Hub
from omnitui.store import Store
from tests import test_email
from tests.peers.dovecot import Dovecot, free_port
from tests.pilot_steps import open_customer
from tests.test_automation_console import gear_lines
from tests.test_broadcast_optout import SALE, broadcast_to_the_end, mail_config, run_cli
from tests.test_email import FAST, Recorder, account
from tests.waiting import wait_until

dovecot = test_email.dovecot
smtp = test_email.smtp
mail_password = test_email.mail_password

pytestmark = pytest.mark.backends

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
PUBLIC_URL = "https://shop.example.com/omnitui"
SHOP = "Sakura & <Flowers>"  # escaped on every page
ONE_CLICK = {"List-Unsubscribe": "One-Click"}  # RFC 8058's body, form-encoded


async def customers(store: Store) -> dict[str, int]:
    """Three customers who wrote by email, tagged vip, who consented to marketing mail."""
    now = time.time()
    got = await store.ingest(
        [
            Inbound(MAIL, "<h@x>", "hanako@example.jp", "山田 花子", "こんにちは", now - 300),
            Inbound(MAIL, "<k@x>", "ken@example.com", "Ken Sato", "hello", now - 200),
            Inbound(MAIL, "<y@x>", "yui@example.com", "Yui Abe", "hi", now - 100),
        ]
    )
    ids = dict(zip(("hanako", "ken", "yui"), (g.contact_id for g in got), strict=True))
    for contact_id in ids.values():
        await store.update_contact(contact_id, tags=["vip"], profile={"email_consent": "yes"})
    await store.add_canned_replies(SALE)
    return ids


def received(recorder: Recorder) -> dict[str, EmailMessage]:
    """Each mail the SMTP peer took, by recipient, parsed as a mail app would."""
    out: dict[str, EmailMessage] = {}
    for _, rcpt, raw in recorder.messages:
        parsed = email.message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        out[rcpt[0]] = parsed
    return out


def one_click_link(mail: EmailMessage) -> str:
    """The https link `List-Unsubscribe` gives first, checked against RFC 8058."""
    header = str(mail["List-Unsubscribe"])
    links = re.findall(r"<([^>]+)>", header)
    assert len(links) == 2, header
    assert links[0].startswith(PUBLIC_URL + "/unsubscribe/"), header
    assert links[1] == "mailto:shop@example.com?subject=unsubscribe", header
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return str(links[0])


def local(link: str, port: int) -> str:
    """A public link as the shop's HTTPS proxy passes it to the listener."""
    return link.replace(PUBLIC_URL, f"http://127.0.0.1:{port}")


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n").rstrip()


def gears(app: OmniApp) -> list[str]:
    return gear_lines(app.inbox)


@pytest.fixture
async def listening_hub(
    store: Store, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> AsyncIterator[tuple[Hub, int]]:
    """The channels run here, as in a console that runs them: the mail account and
    the public listener; the listener's port."""
    port = free_port()
    adapter = EmailAdapter(account(dovecot, smtp[1]), public_url=PUBLIC_URL)
    public = PublicListener(HostPort("127.0.0.1", port), store, shop=SHOP)
    hub = Hub(store, [adapter], retry=FAST, poll_outbox=0.05, public=public)
    await hub.start()
    await wait_until(lambda: public.listening, what="the public listener")
    try:
        yield hub, port
    finally:
        await hub.stop()


async def test_one_click_unsubscribe_stops_broadcasts_to_that_customer_alone_and_the_console_shows_why(
    store: Store, smtp: tuple[Recorder, int], listening_hub: tuple[Hub, int]
) -> None:
    recorder, _ = smtp
    hub, port = listening_hub
    ids = await customers(store)
    await broadcast_to_the_end(store, hub, [MAIL])
    mails = received(recorder)
    assert sorted(mails) == ["hanako@example.jp", "ken@example.com", "yui@example.com"]
    links = {address: one_click_link(mail) for address, mail in mails.items()}
    assert len(set(links.values())) == 3  # each link names one recipient
    # The last lines say how to refuse, in the customer's language, with the link.
    assert body_of(mails["ken@example.com"]).endswith(
        "Reply 'unsubscribe' to receive no more of these.\n"
        f"Or unsubscribe here: {links['ken@example.com']}"
    )
    assert body_of(mails["hanako@example.jp"]).endswith(
        f"こちらからも配信を停止できます: {links['hanako@example.jp']}"
    )

    ken = local(links["ken@example.com"], port)
    app = OmniApp(store, agent_name="Aiko", channels=[MAIL], poll_changes=0.05, language="en")
    async with (
        aiohttp.ClientSession() as client,
        app.run_test(size=(120, 36)) as pilot,
    ):
        await open_customer(pilot, ids["ken"])
        assert not gears(app)

        # Opening the link (as a mail scanner does) shows the page and opts nobody out.
        async with client.get(ken) as page:
            assert page.status == 200
            assert page.headers["Content-Type"].startswith("text/html")
            text = await page.text()
        assert "Stop receiving broadcast messages from Sakura &amp; &lt;Flowers&gt;?" in text
        assert '<form method="post"' in text and "<Flowers>" not in text
        async with client.get(local(links["hanako@example.jp"], port)) as page:
            assert "配信メッセージを停止しますか" in await page.text()
        plan_before = await store.broadcast_audience(["vip"])
        assert not any(a.broadcast_opt_out for m in plan_before for a in m.addresses)

        # The mail app's one-click POST: Ken alone is opted out, and his open
        # thread says why at once.
        async with client.post(ken, data=ONE_CLICK) as done:
            assert done.status == 200
            assert "You will receive no more broadcast messages from Sakura &amp;" in (
                await done.text()
            )
        await wait_until(lambda: gears(app), what="the unsubscribe line", pilot=pilot)
        assert gears(app)[0].startswith(
            "⚙ ken@example.com: asked for no more broadcasts with the unsubscribe link"
        )
        # Asking again (the page's button after the mail app) changes nothing more.
        async with client.post(ken, data=ONE_CLICK) as again:
            assert again.status == 200
        await pilot.pause(0.3)
        assert len(gears(app)) == 1

        # A POST that is not RFC 8058's, or too big, or an unknown token: refused.
        hanako = local(links["hanako@example.jp"], port)
        async with client.post(hanako, data={"List-Unsubscribe": "yes"}) as wrong:
            assert wrong.status == 400
        async with client.post(hanako, data={"x": "y" * 10_000}) as big:
            assert big.status == 413
        unknown = f"http://127.0.0.1:{port}/unsubscribe/{new_token()}"
        async with client.get(unknown) as missing:
            assert missing.status == 404
        async with client.post(unknown, data=ONE_CLICK) as missing:
            assert missing.status == 404

    # The next broadcast skips Ken as opted out; the others get it.
    before = len(recorder.messages)
    second = await broadcast_to_the_end(store, hub, [MAIL])
    progress = await store.broadcast_progress(second)
    assert progress.skipped == {SKIP_NO_BROADCASTS: 1}
    assert sorted(rcpt[0] for _, rcpt, _ in recorder.messages[before:]) == [
        "hanako@example.jp",
        "yui@example.com",
    ]
    # Replies still reach him: only broadcasts stop.
    contact = await store.get_contact(ids["ken"])
    assert not any(i.opted_out for i in contact.identities)


# -- omnitui serve: the listener in the service's process ----------------------


def picture(width: int, height: int) -> bytes:
    """A PNG that no JPEG squeezes much: noise."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def with_image(db: Path, image: bytes, *, cancelled: bool = False) -> str:
    """A broadcast with an image, written into the store as a broadcast command
    would; its public token."""
    token = new_token()
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute(
                "INSERT INTO broadcast(canned, audience, created_at, send_at, image, image_name, "
                "image_type, public_token, cancelled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    "sale",
                    "{}",
                    time.time(),
                    time.time(),
                    image,
                    "bouquet.png",
                    "image/png",
                    token,
                    time.time() if cancelled else None,
                ),
            )
    finally:
        conn.close()
    return token


def listening_config(config: Path, port: int) -> None:
    text = config.read_text(encoding="utf-8").replace(
        "[broadcast]\n",
        f'[broadcast]\npublic_listen = "127.0.0.1:{port}"\npublic_url = "{PUBLIC_URL}"\n',
    )
    config.write_text(text.replace('name = "Sakura Flowers"', f'name = "{SHOP}"'), encoding="utf-8")


async def answers(url: str) -> str | None:
    try:
        async with aiohttp.ClientSession() as client, client.get(url) as answer:
            return await answer.text()
    except aiohttp.ClientError:
        return None


async def test_serve_listens_serves_images_and_one_click_unsubscribe_and_stops_with_it(
    tmp_path: Path, dovecot: Dovecot, smtp: tuple[Recorder, int]
) -> None:
    recorder, smtp_port = smtp
    port = free_port()
    db = tmp_path / "shop.db"
    config = mail_config(tmp_path, dovecot, smtp_port, f'[store]\npath = "{db}"\n')
    listening_config(config, port)
    store = await Store.open(db)
    ids = await customers(store)
    await store.close()
    big = picture(2400, 1600)
    token = with_image(db, big)
    withdrawn = with_image(db, picture(50, 50), cancelled=True)

    env = {**os.environ, "HOME": str(tmp_path)}
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as log:
        serve = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "omnitui.cli", "--config", str(config), "serve"],
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until(lambda: answers(base + "/"), 30, "serve's public listener")
        assert await answers(base + "/") == GREETING
        code, out, err = await run_cli(tmp_path, "--config", str(config), "doctor")
        assert f"ok    public   listening on 127.0.0.1:{port} (served at {PUBLIC_URL})" in out, err

        async with aiohttp.ClientSession() as client:
            # The image as stored, then a JPEG small enough for LINE's preview.
            async with client.get(f"{base}/media/{token}") as image:
                assert image.status == 200
                assert image.headers["Content-Type"] == "image/png"
                assert "max-age" in image.headers["Cache-Control"]
                assert await image.read() == big
                etag = image.headers["ETag"]
            async with client.get(f"{base}/media/{token}", headers={"If-None-Match": etag}) as same:
                assert same.status == 304
            async with client.get(f"{base}/media/{token}/preview") as preview:
                assert preview.status == 200
                assert preview.headers["Content-Type"] == "image/jpeg"
                small = await preview.read()
            assert len(small) <= PREVIEW_BYTES
            with Image.open(io.BytesIO(small)) as opened:
                assert opened.format == "JPEG"
                assert max(opened.size) <= PREVIEW_SIDE
                assert opened.size[0] > opened.size[1]  # the picture's shape kept
            async with client.get(f"{base}/media/{token}/preview") as again:
                assert await again.read() == small  # made once, kept
            for gone in (withdrawn, new_token()):
                for path in (f"/media/{gone}", f"/media/{gone}/preview"):
                    async with client.get(base + path) as missing:
                        assert missing.status == 404, path

            # A broadcast sent through serve: Yui's link, posted, opts her out in serve.
            code, out, err = await run_cli(
                tmp_path, "--config", str(config), "broadcast", "sale", "--tag", "vip", "--yes"
            )
            assert code == 0, err
            yui = one_click_link(received(recorder)["yui@example.com"])
            async with client.post(local(yui, port), data=ONE_CLICK) as done:
                assert done.status == 200
        store = await Store.open(db)
        try:
            audience = {m.contact_id: m for m in await store.broadcast_audience(["vip"])}
            assert [a.broadcast_opt_out for a in audience[ids["yui"]].addresses] == [True]
            assert not any(a.broadcast_opt_out for a in audience[ids["ken"]].addresses)
        finally:
            await store.close()
    finally:
        serve.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(serve.wait(), 30) == 0
    # It stopped listening with the channels; the refusals were logged, no token whole.
    assert await answers(base + "/") is None
    said = log_file.read_text(encoding="utf-8")
    assert f"/media/{withdrawn[:4]}…" in said and withdrawn not in said
    code, out, _ = await run_cli(tmp_path, "--config", str(config), "doctor")
    assert f"ok    public   127.0.0.1:{port} is free" in out


# -- config and doctor ---------------------------------------------------------


async def test_one_of_public_listen_and_public_url_alone_is_a_config_error(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    for half in ('public_listen = "127.0.0.1:8091"', f'public_url = "{PUBLIC_URL}"'):
        config.write_text(
            f'[store]\npath = "{tmp_path / "shop.db"}"\n\n[broadcast]\n{half}\n', encoding="utf-8"
        )
        code, out, err = await run_cli(tmp_path, "--config", str(config), "doctor")
        assert code == 2, out
        assert "public_listen and public_url go together" in err
        assert "Traceback" not in err


async def test_doctor_says_when_another_program_holds_the_listeners_port(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(
            f'[store]\npath = "{tmp_path / "shop.db"}"\n\n[broadcast]\n'
            f'public_listen = "127.0.0.1:{port}"\npublic_url = "{PUBLIC_URL}"\n',
            encoding="utf-8",
        )
        code, out, _ = await run_cli(tmp_path, "--config", str(config), "doctor")
    assert code == 1
    assert f"FAIL  public   127.0.0.1:{port}: the port is taken" in out


async def test_a_taken_port_stops_nothing_else_and_the_listener_comes_up_once_it_is_free(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="omnitui.hub")
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        public = PublicListener(HostPort("127.0.0.1", port), store)
        hub = Hub(store, [], retry=FAST, poll_outbox=0.05, public=public)
        await hub.start()
        said = f"the public listener cannot listen on 127.0.0.1:{port}"
        await wait_until(lambda: said in caplog.text, 10, "the hub's word on the port")
        assert not public.listening
    try:
        # The other program let go of the port: tried again, the listener answers.
        await wait_until(lambda: public.listening, 10, "the listener, once the port is free")
        assert await answers(f"http://127.0.0.1:{port}/") == GREETING
    finally:
        await hub.stop()
    assert not public.listening
    assert await answers(f"http://127.0.0.1:{port}/") is None
