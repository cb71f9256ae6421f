"""QR codes at the counter: `omnitui qr`, its posters, the console's QR screen,
and the customer who arrives through a code tagged with where it hung.

Every code is read back by a real decoder (`zbarimg`, Debian's zbar-tools):
the poster's PNG, the code the command prints (drawn back to pixels from the
characters it printed), and the QR screen as the terminal shows it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from rich.cells import cell_len
from rich.color import Color
from rich.style import Style
from textual.strip import Strip

from omnitui.adapters.telegram import TelegramAdapter
from omnitui.app import OmniApp
from omnitui.config import parse
from omnitui.domain.models import Channel, ChannelKind
from omnitui.domain.qr import (
    QrChannel,
    line_link,
    mailto_link,
    sms_is_one_way,
    telegram_link,
    terminal_code,
)
from omnitui.hub import Hub, RetryPolicy
from omnitui.qr import QrError, font_file
from omnitui.report_commands import read_report
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.qr import QrScreen
from omnitui.store import Store
from tests.conftest import IN_CI, require_tool, wait_for
from tests.peers.dovecot import free_port
from tests.peers.line_api import LinePeer
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.test_automation_console import screen_text
from tests.waiting import wait_until

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
BOT_USERNAME = "sakura_flowers_bot"  # what the Bot API peer's getMe answers
MISAKI = Customer(4_200_001, "美咲", last_name="田中", username="misaki_t", language_code="ja")
SHOP = "さくら花店"
# Half blocks as the command prints them: (top module dark, bottom module dark).
CELLS = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}


@pytest.fixture(autouse=True)
def bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def require_japanese_font() -> None:
    """The PNG poster draws Japanese: skip (fail under CI=true) without a font for it."""
    try:
        font_file([SHOP])
    except QrError as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def zbarimg() -> str:
    return require_tool("zbarimg", "apt-get install zbar-tools (the tests' QR decoder)")


def decode(image: Path) -> list[str]:
    """Every QR code a real decoder finds in `image`, as text."""
    done = subprocess.run(
        [zbarimg(), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode in (0, 4), done.stderr  # 4: no code found
    return sorted(line for line in done.stdout.splitlines() if line)


def draw_screen(strips: Sequence[Strip], path: Path, scale: int = 4) -> Path:
    """The terminal's cells drawn to pixels as a terminal draws them: each cell
    one module wide and two tall, its background, and a half block's half in
    its foreground colour. What the console shows is what gets decoded."""
    image = Image.new("RGB", (max(s.cell_length for s in strips) * scale, len(strips) * 2 * scale))
    draw = ImageDraw.Draw(image)
    for y, strip in enumerate(strips):
        x = 0
        for segment in strip:
            style = segment.style or Style()
            fg = _rgb(style.color, (255, 255, 255))
            bg = _rgb(style.bgcolor, (0, 0, 0))
            if style.reverse:
                fg, bg = bg, fg
            for ch in segment.text:
                top, bottom = CELLS.get(ch, (False, False))
                width = cell_len(ch)
                for half, lit in enumerate((top, bottom)):
                    y0 = (2 * y + half) * scale
                    draw.rectangle(
                        (x * scale, y0, (x + width) * scale - 1, y0 + scale - 1),
                        fill=fg if lit else bg,
                    )
                x += width
    image.save(path)
    return path


def _rgb(color: Color | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if color is None or color.is_default:
        return default
    triplet = color.get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


def draw_printed(lines: Sequence[str], path: Path, scale: int = 6) -> Path:
    """The printed code's characters drawn to pixels, as a screen shows them:
    each character one module wide and two tall, a glyph's half dark."""
    width = max(len(line) for line in lines)
    image = Image.new("L", (width * scale, len(lines) * 2 * scale), 255)
    draw = ImageDraw.Draw(image)
    for y, line in enumerate(lines):
        for x, ch in enumerate(line):
            assert ch in CELLS, f"not a half block: {ch!r}"
            for half, dark in enumerate(CELLS[ch]):
                if dark:
                    top = (2 * y + half) * scale
                    draw.rectangle((x * scale, top, (x + 1) * scale - 1, top + scale - 1), fill=0)
    image.save(path)
    return path


def printed_codes(output: str) -> dict[str, tuple[str, list[str]]]:
    """`omnitui qr`'s output: channel title -> (its link, the code's lines)."""
    found: dict[str, tuple[str, list[str]]] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(" ") and ": " in line and "no code" not in line:
            title, link = line.split(": ", 1)
            code = []
            for row in lines[i + 1 :]:
                if row == "":
                    break
                code.append(row)
            found[title] = (link, code)
    return found


def write_config(tmp_path: Path, peer_url: str, *, sms: str = "+14155550100") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[shop]
name = "{SHOP}"

[store]
path = "{tmp_path / "shop.db"}"

[[email]]
name = "shop-mail"
imap_host = "127.0.0.1"
username = "shop@example.com"
password_env = "OMNITUI_TEST_UNUSED"
smtp_host = "127.0.0.1"
from = "Sakura Flowers <shop@example.com>"

[[telegram]]
name = "shop-bot"
token_env = "{TOKEN_ENV}"
api_base = "{peer_url}"

[[sms]]
name = "shop-sms"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token_env = "OMNITUI_TEST_UNUSED"
from = "{sms}"
""",
        encoding="utf-8",
    )
    return path


async def omnitui(*args: str) -> tuple[int, str, str]:
    """`omnitui ARGS` as a user runs it; the peer keeps serving meanwhile."""
    env = {**os.environ, "NO_COLOR": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omnitui.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# -- the links ----------------------------------------------------------------


def test_the_console_reads_the_names_where_the_channels_write_them() -> None:
    from omnitui.adapters import line, telegram
    from omnitui.qr import LINE_BASIC_ID_KEY, TELEGRAM_USERNAME_KEY

    assert telegram.USERNAME_KEY == TELEGRAM_USERNAME_KEY == "telegram:username"
    assert line.BASIC_ID_KEY == LINE_BASIC_ID_KEY == "line:basic_id"


def test_each_channel_has_the_link_that_starts_a_chat() -> None:
    assert telegram_link("sakura_bot") == "https://t.me/sakura_bot"
    assert telegram_link("@sakura_bot", "counter") == "https://t.me/sakura_bot?start=counter"
    assert line_link("@123abcde") == "https://line.me/R/ti/p/%40123abcde"
    assert mailto_link("shop@example.com", "さくら 花店") == (
        "mailto:shop@example.com?subject=%E3%81%95%E3%81%8F%E3%82%89%20%E8%8A%B1%E5%BA%97"
    )
    assert sms_is_one_way("+815012345678") and not sms_is_one_way("+14155550100")


def test_a_printed_code_has_its_quiet_zone_and_decodes(tmp_path: Path) -> None:
    link = "https://t.me/sakura_flowers_bot?start=counter"
    lines = terminal_code(link)
    assert lines[0].strip() == "" and lines[1].strip() == ""  # four light modules above
    assert all(line.startswith("    ") and line.endswith("    ") for line in lines)
    assert decode(draw_printed(lines, tmp_path / "code.png")) == [link]
    coloured = terminal_code(link, color=True)
    assert all(line.startswith("\x1b[30;107m") for line in coloured)  # black on white


# -- the command ----------------------------------------------------------------


async def test_omnitui_qr_prints_every_channels_code_and_a_poster_that_scans(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    require_japanese_font()
    config = write_config(tmp_path, telegram_peer.url)
    png, svg = tmp_path / "poster.png", tmp_path / "poster.svg"
    code, out, err = await omnitui(
        "qr", "--source", "counter", "--png", str(png), "--config", str(config), "--svg", str(svg)
    )
    assert code == 0, err
    assert "Traceback" not in err
    bot = f"https://t.me/{BOT_USERNAME}?start=counter"
    mail = mailto_link("shop@example.com", SHOP)
    printed = printed_codes(out)
    assert {title: link for title, (link, _) in printed.items()} == {
        "Email shop-mail": mail,
        "Telegram shop-bot": bot,
        "SMS shop-sms": "sms:+14155550100",
    }
    for title, (link, lines) in printed.items():
        drawn = draw_printed(lines, tmp_path / f"{title.replace(' ', '-')}.png")
        assert decode(drawn) == [link], title
    assert sorted(decode(png)) == sorted([bot, mail, "sms:+14155550100"])
    poster = svg.read_text(encoding="utf-8")
    assert f">{SHOP}</text>" in poster and ">Telegram shop-bot</text>" in poster
    assert f">mailto:shop@example.com?subject={SHOP}</text>" in poster  # readable under the code
    assert [c.method for c in telegram_peer.calls if c.method == "getMe"]


async def test_a_japanese_sms_number_gets_no_code_and_says_why(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    require_japanese_font()
    config = write_config(tmp_path, telegram_peer.url, sms="+815012345678")
    png = tmp_path / "poster.png"
    code, out, _ = await omnitui("--config", str(config), "qr", "--png", str(png))
    assert code == 0
    assert "SMS shop-sms: no code — SMS is one-way in Japan" in out
    assert "sms:+81" not in out
    assert not any(link.startswith("sms:") for link in decode(png))


async def test_a_bot_that_cannot_be_reached_is_said_and_the_others_still_print(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    config = write_config(tmp_path, telegram_peer.url)
    await telegram_peer.stop()
    code, out, err = await omnitui("qr", "--config", str(config))
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("Telegram shop-bot"))
    assert "no code — " in line and "127.0.0.1" in line
    assert "Email shop-mail: mailto:" in out and "SMS shop-sms: sms:" in out


async def test_no_code_at_all_exits_1_and_a_bad_source_exits_2(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[telegram]]\nname = "shop-bot"\ntoken_env = "OMNITUI_TEST_NO_SUCH_TOKEN"\n'
        f'api_base = "{telegram_peer.url}"\n',
        encoding="utf-8",
    )
    code, out, err = await omnitui("qr", "--config", str(config))
    assert code == 1 and "OMNITUI_TEST_NO_SUCH_TOKEN" in out and not err
    code, out, err = await omnitui("qr", "--source", "the counter!", "--config", str(config))
    assert code == 2 and "Traceback" not in err
    assert "--source 'the counter!': use up to 64 letters, digits, _ and -" in err
    code, _, err = await omnitui("qr", "--source", "x" * 65, "--config", str(config))
    assert code == 2


# -- a customer who came through the counter's code -----------------------------


@pytest.fixture
async def running(store: Store, telegram_peer: BotApiPeer) -> AsyncIterator[TelegramAdapter]:
    text = f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\n'
    text += f'api_base = "{telegram_peer.url}"\n'
    adapter = TelegramAdapter(parse(text, Path("test.toml")).telegram[0], poll_timeout=2)
    policy = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.3, max_attempts=4)
    hub = Hub(store, [adapter], retry=policy, poll_outbox=0.05)
    await hub.start()
    try:
        yield adapter
    finally:
        await hub.stop()


@pytest.mark.backends
async def test_a_customer_from_the_counter_code_is_tagged_and_the_report_counts_them(
    store: Store, telegram_peer: BotApiPeer, running: TelegramAdapter
) -> None:
    started = time.time()
    telegram_peer.message(
        MISAKI,
        text="/start counter",
        entities=[{"type": "bot_command", "offset": 0, "length": 6}],
    )
    telegram_peer.text(MISAKI, "バラの花束はありますか?")

    async def arrived() -> bool:
        return len(await store.list_contacts()) == 1 and bool(
            (c := (await store.list_contacts())[0]) and len(await store.thread_page(c.id)) == 2
        )

    await wait_for(arrived)
    contact = (await store.list_contacts())[0]
    assert list((await store.get_contact(contact.id)).tags) == ["source:counter"]
    first, second = await store.thread_page(contact.id)
    assert first.started_from == "counter" and "/start" not in first.text
    assert first.text == "started the chat (from the counter QR code)"
    assert second.started_from is None
    assert await store.load_cursor("shop-bot", "telegram:username") == BOT_USERNAME
    report = await read_report(
        store, started - 60, time.time() + 60, now=time.time(), business=None
    )
    assert report.tags["source:counter"].conversations == 1


async def test_the_start_message_reads_as_words_in_the_thread(
    store: Store, telegram_peer: BotApiPeer, running: TelegramAdapter
) -> None:
    telegram_peer.text(MISAKI, "/start counter")
    await wait_for(lambda: _contacts(store))
    contact = (await store.list_contacts())[0]
    assert contact.name == "美咲 田中"
    await thread_shows(store, "en", "▶ started the chat (from the counter QR code)")
    await thread_shows(store, "ja", "▶ counter の QR コードからチャットを始めました")


async def thread_shows(store: Store, language: str, words: str) -> None:
    app = OmniApp(store, agent_name="Aiko", channels=[_BOT], language=language)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await pilot.press("enter")
        await wait_until(lambda: words in screen_text(app), pilot=pilot)
        assert "/start" not in screen_text(app)


_BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")


async def _contacts(store: Store) -> bool:
    return bool(await store.list_contacts())


# -- the console's QR screen ------------------------------------------------------


async def test_the_qr_screen_shows_the_codes_from_the_store_and_asks_no_one(
    tmp_path: Path, store: Store
) -> None:
    await store.ingest([], cursors={("shop-bot", "telegram:username"): BOT_USERNAME})
    channels = [
        QrChannel("email", "shop-mail", "shop@example.com"),
        QrChannel("telegram", "shop-bot"),
        QrChannel("sms", "shop-sms", "+815012345678"),
        QrChannel("line", "shop-line"),
    ]
    app = OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": SHOP},
        channels=[_BOT],
        language="en",
        qr_channels=channels,
    )
    async with app.run_test(size=(100, 120)) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await pilot.press("Q")
        await wait_until(lambda: isinstance(app.screen, QrScreen), pilot=pilot)
        await wait_until(lambda: f"https://t.me/{BOT_USERNAME}" in screen_text(app), pilot=pilot)
        text = screen_text(app)
        assert "LINE shop-line" in text
        assert "not known yet — the channel has not connected" in text
        assert "SMS is one-way in Japan" in text
        svg = app.export_screenshot()
        strips = list(app.screen._compositor.render_strips())
    (tmp_path / "qr_screen.svg").write_text(svg, encoding="utf-8")  # to look at
    assert decode(draw_screen(strips, tmp_path / "screen.png")) == sorted(
        [f"https://t.me/{BOT_USERNAME}", mailto_link("shop@example.com", SHOP)]
    )


async def test_the_palette_opens_the_qr_screen(store: Store) -> None:
    app = OmniApp(store, agent_name="Aiko", channels=[_BOT], language="ja")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), pilot=pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"QR")
        await wait_until(lambda: "QR コード" in screen_text(app), pilot=pilot)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, QrScreen), pilot=pilot)


# -- LINE ---------------------------------------------------------------------------

LINE_TOKEN_ENV, LINE_SECRET_ENV = "OMNITUI_TEST_LINE_TOKEN", "OMNITUI_TEST_LINE_SECRET"


def line_config(tmp_path: Path, peer: LinePeer) -> Path:
    path = tmp_path / "line.toml"
    path.write_text(
        f"""
[shop]
name = "{SHOP}"

[[line]]
name = "shop-line"
token_env = "{LINE_TOKEN_ENV}"
secret_env = "{LINE_SECRET_ENV}"
api_base = "{peer.url}"
data_api_base = "{peer.url}"
webhook_listen = "127.0.0.1:{free_port()}"
""",
        encoding="utf-8",
    )
    return path


async def test_a_line_account_gets_its_add_friend_code(
    tmp_path: Path, line_peer: LinePeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LINE_TOKEN_ENV, line_peer.token)
    monkeypatch.setenv(LINE_SECRET_ENV, line_peer.secret)
    png = tmp_path / "poster.png"
    config = line_config(tmp_path, line_peer)
    code, out, err = await omnitui("qr", "--config", str(config), "--png", str(png))
    assert code == 0, err
    link = f"https://line.me/R/ti/p/%40{line_peer.basic_id.lstrip('@')}"
    assert line_link(line_peer.basic_id) == link
    (title, (printed, lines)), *_ = printed_codes(out).items()
    assert (title, printed) == ("LINE shop-line", link)
    assert decode(draw_printed(lines, tmp_path / "line.png")) == [link]
    require_japanese_font()
    assert decode(png) == [link]


async def test_a_refused_line_token_is_said_and_nothing_prints(
    tmp_path: Path, line_peer: LinePeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LINE_TOKEN_ENV, "not-the-token")
    monkeypatch.setenv(LINE_SECRET_ENV, line_peer.secret)
    code, out, err = await omnitui("qr", "--config", str(line_config(tmp_path, line_peer)))
    assert code == 1, err
    assert "LINE shop-line: no code — LINE refused the channel access token of shop-line" in out
    assert "not-the-token" not in out + err
