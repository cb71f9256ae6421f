"""A console opened beside a running `omnitui serve`, in a real terminal (tmux).

The shop runs `omnitui serve` under its service manager and an agent opens
the console over SSH. The console uses serve for the channels instead of
polling the bot too (Telegram gives a bot's messages to one receiver), shows
what serve receives as it arrives, and runs the channels itself once serve
stops. No customer message is lost or stored twice on the way.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import tmux_command
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.test_tmux import Terminal
from tests.waiting import wait_until

pytestmark = pytest.mark.tmux

TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
LONG = 60.0  # seconds: generous, a busy shop server can be slow
EMMA = Customer(4_300_001, "Emma", username="emma_flowers")
OLIVIA = Customer(4_300_002, "Olivia", username="olivia_garden")


@pytest.fixture
def peer(telegram_peer: BotApiPeer) -> BotApiPeer:
    return telegram_peer


def stored(db: Path) -> list[tuple[str, str]]:
    """(provider id, text) of every customer message, read the way another console would."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return []
    try:
        rows = conn.execute(
            "SELECT provider_id, text FROM message WHERE direction = 'in'"
        ).fetchall()
    except sqlite3.OperationalError:  # the store is still being created
        return []
    finally:
        conn.close()
    return [(str(provider_id), str(text)) for provider_id, text in rows]


def provider_id(update: dict[str, Any]) -> str:
    """How the store names a Telegram message: chat id and message id."""
    message = update["message"]
    return f"{message['chat']['id']}:{message['message_id']}"


def calls(peer: BotApiPeer, method: str) -> int:
    return sum(1 for call in peer.calls if call.method == method)


async def shows(term: Terminal, text: str) -> str:
    """The screen once it shows `text` (waited for in a thread: the Bot API keeps serving)."""
    return await asyncio.to_thread(term.wait_for, text, LONG)


def notices(screen: str) -> str:
    """The words of the notices (toasts) on the screen, their wrapped lines joined.

    A notice is drawn from its `▌` edge to the pane border beside it.
    """
    lines = [line.split("▌", 1)[1] for line in screen.splitlines() if "▌" in line]
    text = "".join(c for c in " ".join(lines) if not "\u2500" <= c <= "\u257f")
    return " ".join(text.split())


async def notice(term: Terminal, words: str) -> None:
    """Wait until a notice on the screen says `words`."""
    screen = ""

    async def said() -> bool:
        nonlocal screen
        screen = await asyncio.to_thread(term.screen)
        return words in notices(screen)

    try:
        await wait_until(said, LONG)
    except AssertionError:
        raise AssertionError(f"no notice said {words!r}; the screen was:\n{screen}") from None


async def test_a_console_beside_serve_uses_it_and_takes_over_the_channels_when_serve_stops(
    tmp_path: Path, peer: BotApiPeer
) -> None:
    tmux = tmux_command()
    db = tmp_path / "shop.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[store]\npath = "{db}"\n\n'
        f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{TOKEN_ENV}"\napi_base = "{peer.url}"\n',
        encoding="utf-8",
    )
    state = tmp_path / "state"  # both processes log to state/omnitui/log/omnitui.log
    env = {**os.environ, TOKEN_ENV: TOKEN, "HOME": str(tmp_path), "XDG_STATE_HOME": str(state)}

    # 1. serve runs the channels: it holds the bot and polls it.
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "omnitui.cli", "--config", str(config), "serve"],
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    name = f"omnitui-test-{uuid.uuid4().hex[:8]}"
    try:

        async def serving() -> bool:
            return "serving 1 channel(s)" in log_file.read_text(errors="replace") and bool(
                calls(peer, "getUpdates")
            )

        await wait_until(serving, LONG)

        # 2. The agent opens the console on the same store.
        binary = Path(sys.executable).parent / "omnitui"
        done = tmp_path / "exit-code"
        console = shlex.join([str(binary), "--config", str(config), "--language", "en"])
        opened = await asyncio.create_subprocess_exec(
            *[*tmux, "new-session", "-d", "-s", name, "-x", "100", "-y", "30"],
            *["-e", f"{TOKEN_ENV}={TOKEN}", "-e", f"HOME={tmp_path}"],
            *["-e", f"XDG_STATE_HOME={state}", "-e", "LANG=C.UTF-8"],
            f"{console}; echo $? > {shlex.quote(str(done))}; sleep 30",
            env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
        assert await opened.wait() == 0
        term = Terminal(tmux, name)
        await notice(
            term,
            f"Channels are run by another OmniTUI process (pid {server.pid}); "
            "this console uses it.",
        )

        # 3. A customer writes: serve takes it, the console shows it from the store.
        first = peer.text(EMMA, "Open on Sunday?")
        screen = await shows(term, "Open on Sunday?")
        assert "Emma" in screen
        assert stored(db) == [(provider_id(first), "Open on Sunday?")]
        assert calls(peer, "getMe") == 1, "the console talked to the bot while serve ran it"
        assert peer.conflicts == 0, "the console polled the bot beside serve"

        # 4. serve is stopped by the service manager: the console takes over the bot.
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), LONG) == 0
        await notice(term, "The other OmniTUI process stopped: this console now runs the channels.")

        second = peer.text(OLIVIA, "Tulips ready at noon?")
        screen = await shows(term, "Tulips ready at noon?")
        assert "Olivia" in screen and "Emma" in screen

        async def confirmed() -> bool:  # Telegram was told both were taken
            return not peer.updates

        await wait_until(confirmed, LONG)
        assert sorted(stored(db)) == sorted(
            [
                (provider_id(first), "Open on Sunday?"),
                (provider_id(second), "Tulips ready at noon?"),
            ]
        )
        assert peer.conflicts == 0, "the console and serve polled the bot at the same time"

        # 5. The agent quits the console.
        await asyncio.to_thread(term.keys, "q")

        async def exited() -> bool:
            return done.exists() and done.read_text().strip() != ""

        await wait_until(exited, LONG)
        assert done.read_text().strip() == "0"
        assert peer.conflicts == 0
        logged = (state / "omnitui" / "log" / "omnitui.log").read_text(errors="replace")
        assert logged.count("shop-bot: polling Telegram") == 2  # serve, then the console
        assert "Traceback" not in logged and " ERROR " not in logged and " WARNING " not in logged
    finally:
        closed = await asyncio.create_subprocess_exec(
            *tmux, "kill-session", "-t", name, stderr=asyncio.subprocess.DEVNULL
        )
        await closed.wait()
        if server.returncode is None:
            server.kill()
            await server.wait()
