"""Shared fixtures: a store on a temp file, and the demo shop built into one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from omnitui.demo import DemoShop, build_demo_store
from omnitui.store import Store
from tests.peers.line_api import LinePeer, LineSpec
from tests.peers.postgres import PASSWORD as PG_PASSWORD
from tests.peers.postgres import PgCluster, postgres_user_exists
from tests.peers.postgres import bindir as postgres_bindir
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


# The store's tests run on both backends: a test module that sets
# `pytestmark = pytest.mark.backends` gets its `store` and `open_store`
# fixtures once on SQLite and once on PostgreSQL.
BACKENDS = ("sqlite", "postgresql")
PG_PASSWORD_ENV = "OMNITUI_TEST_STORE_PASSWORD"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends: run the test on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("backends") is not None
        metafunc.parametrize("backend", BACKENDS if both else BACKENDS[:1], scope="function")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL cluster for the session (skip, or fail under CI, without one)."""
    where = postgres_bindir()
    if where is None or (os.geteuid() == 0 and not postgres_user_exists()):
        message = "PostgreSQL is not installed: apt-get install postgresql"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    cluster = PgCluster.create(where)
    # Where the commands a test runs find the store's password (`StoreOpener.toml`).
    os.environ[PG_PASSWORD_ENV] = PG_PASSWORD
    try:
        # Migrated once: each test's database is a copy of a current, empty store.
        cluster.migrate_template()
    except BaseException:
        cluster.destroy()
        raise
    yield cluster
    cluster.destroy()


class StoreOpener:
    """Opens stores on the test's backend: `await open_store("s.db")`; the same
    name is the same store (two processes on one store)."""

    def __init__(self, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        self._tmp = tmp_path
        self._request = request
        self._databases: dict[str, str] = {}
        self.opened: list[Store] = []

    def url(self, name: str = "omnitui.db", *, empty: bool = False) -> str:
        """The PostgreSQL URL of store `name`: on first use a database holding an
        empty, current store (`empty`: a database without OmniTUI's tables)."""
        cluster: PgCluster = self._request.getfixturevalue("pg_cluster")
        if name not in self._databases:
            self._databases[name] = cluster.new_database(empty=empty)
        return cluster.url(self._databases[name])

    def toml(self, name: str = "omnitui.db") -> str:
        """The `[store]` table of a config.toml naming store `name`, for the
        commands a test runs (the password comes from the environment)."""
        if self.backend == "postgresql":
            return f'[store]\nurl = "{self.url(name)}"\npassword_env = "{PG_PASSWORD_ENV}"\n'
        return f'[store]\npath = "{self._tmp / name}"\n'

    async def __call__(
        self, name: str = "omnitui.db", *, clock: Callable[[], float] = time.time
    ) -> Store:
        if self.backend == "postgresql":
            from omnitui.store.postgres import PostgresStore

            store: Store = await PostgresStore.open_url(
                self.url(name), password=PG_PASSWORD, clock=clock
            )
        else:
            store = await Store.open(self._tmp / name, clock=clock)
        self.opened.append(store)
        return store


def _database_errors() -> tuple[type[Exception], ...]:
    import sqlite3

    import psycopg

    return (sqlite3.Error, psycopg.Error)


# What a store raises when its database refuses a statement, on either backend.
DATABASE_ERRORS = _database_errors()


class WriteLockHolder:
    """Another process holding the store's write lock, until `release()`."""

    def __init__(self, opener: StoreOpener) -> None:
        if opener.backend == "postgresql":
            import psycopg

            from omnitui.store.postgres.base import WRITE_LOCK

            self._pg = psycopg.connect(opener.url(), password=PG_PASSWORD, autocommit=True)
            self._pg.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
        else:
            import sqlite3

            self._sqlite = sqlite3.connect(opener.opened[0].path, isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")
        self._backend = opener.backend
        self._held = True

    def release(self) -> None:
        if self._held:
            if self._backend == "postgresql":
                self._pg.execute("SELECT pg_advisory_unlock_all()")
            else:
                self._sqlite.execute("ROLLBACK")
            self._held = False

    def close(self) -> None:
        self.release()
        if self._backend == "postgresql":
            self._pg.close()
        else:
            self._sqlite.close()


def hold_write_lock(opener: StoreOpener) -> WriteLockHolder:
    """Hold the write lock of `opener`'s first store, as another process would."""
    return WriteLockHolder(opener)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StoreOpener]:
    opener = StoreOpener(backend, tmp_path, request)
    yield opener
    for store in opener.opened:
        with contextlib.suppress(Exception):
            await store.close()


@pytest.fixture
async def store(open_store: StoreOpener) -> Store:
    return await open_store()


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
