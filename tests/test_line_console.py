"""A Japanese shop answers a LINE customer from the real console, in a real terminal.

The console itself runs the LINE channel (no `omnitui serve`): it listens for
LINE's signed webhooks, shows what arrives, and sends the agent's answer by
the free reply token. The LINE side is the spec-checked loopback peer.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import tmux_command
from tests.peers.dovecot import free_port
from tests.peers.line_api import LinePeer
from tests.test_tmux import Terminal
from tests.waiting import wait_until

pytestmark = pytest.mark.tmux

TOKEN_ENV = "OMNITUI_TEST_LINE_TOKEN"
SECRET_ENV = "OMNITUI_TEST_LINE_SECRET"
LONG = 60.0


async def shows(term: Terminal, text: str) -> str:
    return await asyncio.to_thread(term.wait_for, text, LONG)


async def test_a_line_customer_is_answered_from_the_console_that_runs_the_channel(
    tmp_path: Path, line_peer: LinePeer
) -> None:
    tmux = tmux_command()
    port = free_port()
    db = tmp_path / "shop.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[shop]\nname = "さくら花店"\n\n[store]\npath = "{db}"\n\n'
        f'[[line]]\nname = "shop-line"\ntoken_env = "{TOKEN_ENV}"\nsecret_env = "{SECRET_ENV}"\n'
        f'api_base = "{line_peer.url}"\ndata_api_base = "{line_peer.url}"\n'
        f'webhook_listen = "127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    state = tmp_path / "state"
    name = f"omnitui-test-{uuid.uuid4().hex[:8]}"
    binary = Path(sys.executable).parent / "omnitui"
    done = tmp_path / "exit-code"
    console = shlex.join([str(binary), "--config", str(config), "--language", "ja"])
    opened = await asyncio.create_subprocess_exec(
        *[*tmux, "new-session", "-d", "-s", name, "-x", "110", "-y", "32"],
        *["-e", f"{TOKEN_ENV}={line_peer.token}", "-e", f"{SECRET_ENV}={line_peer.secret}"],
        *["-e", f"HOME={tmp_path}", "-e", f"XDG_STATE_HOME={state}", "-e", "LANG=C.UTF-8"],
        f"{console}; echo $? > {shlex.quote(str(done))}; sleep 30",
        env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    assert await opened.wait() == 0
    term = Terminal(tmux, name)
    url = f"http://127.0.0.1:{port}/line"
    try:
        await shows(term, "お客様")

        async def listening() -> bool:  # LINE's "Verify": the console's listener answers
            try:
                return (await line_peer.verify(url)).status == 200
            except OSError:  # not listening yet
                return False

        await wait_until(listening, LONG)

        # A customer scans the counter's QR code, adds the shop, and writes.
        hanako = line_peer.add_user("山田 花子", friend=False)
        assert (await line_peer.send(url, line_peer.follow(hanako))).status == 200
        posted = await line_peer.send(url, line_peer.text(hanako, "母の日の花束、予約できますか？"))
        assert posted.status == 200
        screen = await shows(term, "母の日の花束")
        assert "山田 花子" in screen and "Ⓛ" in screen

        # The agent opens her thread and answers within the minute: a free reply.
        await asyncio.to_thread(term.keys, "Enter")
        screen = await shows(term, "返信先 Ⓛ LINE")
        await asyncio.to_thread(term.keys, "r")
        await asyncio.sleep(0.5)
        await asyncio.to_thread(term.type, "はい、承ります。")
        await asyncio.to_thread(term.keys, "C-s")

        async def answered() -> bool:
            return bool(line_peer.delivered[hanako.user_id])

        try:
            await wait_until(answered, LONG)
        except AssertionError:
            raise AssertionError("no reply reached LINE; the screen:\n" + term.screen()) from None
        [delivery] = line_peer.delivered[hanako.user_id]
        assert delivery.kind == "reply"
        assert [m["text"] for m in delivery.messages] == ["はい、承ります。"]
        await shows(term, "はい、承ります。")

        await asyncio.to_thread(term.keys, "Escape")
        await asyncio.sleep(0.5)
        await asyncio.to_thread(term.keys, "q")

        async def exited() -> bool:
            return done.exists() and done.read_text().strip() != ""

        try:
            await wait_until(exited, LONG)
        except AssertionError:
            raise AssertionError(
                "the console did not quit; the screen:\n" + term.screen()
            ) from None
        assert done.read_text().strip() == "0"
        logged = (state / "omnitui" / "log" / "omnitui.log").read_text(errors="replace")
        assert "Traceback" not in logged and " ERROR " not in logged
        assert line_peer.token not in logged and line_peer.secret not in logged
        assert "母の日" not in logged
    finally:
        closed = await asyncio.create_subprocess_exec(
            *tmux, "kill-session", "-t", name, stderr=asyncio.subprocess.DEVNULL
        )
        await closed.wait()
        os.environ.pop(TOKEN_ENV, None)
