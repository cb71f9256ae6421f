"""Shared fixtures: a store on a temp file, and the demo shop built into one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from omnitui.demo import DemoShop, build_demo_store
from omnitui.store import Store
from tests.peers.line_api import LinePeer, LineSpec
from tests.peers.telegram_api import BotApiPeer, BotApiSpec
from tests.waiting import wait_until

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str, how: str) -> str:
    """The path of a tool a test needs; skip (fail under CI=true) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: {how}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


# The tests' own tmux server: never the user's default one (no sessions left
# there), and the same whether or not pytest itself runs inside tmux.
TMUX_SOCKET = f"omnitui-tests-{os.getpid()}"


def tmux_command() -> list[str]:
    """`tmux` on the tests' own server; skip (fail under CI=true) when tmux is missing."""
    command = [require_tool("tmux", "apt-get install tmux"), "-L", TMUX_SOCKET]
    if not _tmux_started:
        # The server stays up between tests: it would otherwise exit with each
        # test's last session, racing the next test's start.
        subprocess.run(
            [*command, "start-server", ";", "set-option", "-g", "exit-empty", "off"],
            capture_output=True,
            check=False,
            # The server's environment is every session's: nothing of ours (a
            # COLUMNS or LINES would fix the console's size), only the basics.
            env={"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "LANG": "C.UTF-8"},
        )
        _tmux_started.append(True)
    return command


_tmux_started: list[bool] = []


@pytest.fixture(scope="session", autouse=True)
def tmux_server_ends() -> Iterator[None]:
    os.environ.pop("TMUX", None)  # pytest run from inside tmux: ours is a separate server
    yield
    tmux = shutil.which("tmux")
    if tmux is not None:
        subprocess.run([tmux, "-L", TMUX_SOCKET, "kill-server"], capture_output=True, check=False)
        folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        with contextlib.suppress(OSError):  # the server's socket file, left by kill-server
            (folder / TMUX_SOCKET).unlink()


SHARED = Path(__file__).resolve().parents[2] / "shared"


def fixture_dir(name: str) -> Path:
    """A folder of third-party test data in ../shared/fixtures; skip (fail under CI) if absent."""
    folder = SHARED / "fixtures" / name
    if not folder.is_dir():
        message = f"{folder} is missing: these tests read the shared fixtures beside the repository"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return folder


# test_telegram.py imports the shared wait by this name.
wait_for = wait_until


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "omnitui.db")
    yield opened
    await opened.close()


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Store, DemoShop]]:
    opened = await Store.open(tmp_path / "demo.db")
    shop = await build_demo_store(opened, now=time.time(), messages=1200, customers=60)
    yield opened, shop
    await opened.close()


@pytest.fixture
async def telegram_peer() -> AsyncIterator[BotApiPeer]:
    """The Bot API on loopback; the test fails if any call or payload broke the spec."""
    server = BotApiPeer(BotApiSpec.load(fixture_dir("telegram") / "api.json"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert not server.violations, "\n".join(server.violations)


@pytest.fixture(scope="session")
def line_spec() -> LineSpec:
    """LINE's Messaging API and webhook specs, loaded once per session."""
    return LineSpec.load(fixture_dir("line"))


@pytest.fixture
async def line_peer(line_spec: LineSpec) -> AsyncIterator[LinePeer]:
    """The LINE Messaging API on loopback; the test fails if any call, answer or
    webhook body broke LINE's spec."""
    server = LinePeer(line_spec)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    if server.violations:
        pytest.fail("left LINE's spec:\n" + "\n".join(server.violations))
