"""Consoles on several machines, live through PostgreSQL, and a server that misbehaves.

Two machines are two processes with their own home and config dirs, each
configured with `[store] url` to the same database: a change made on one (a
status, a customer's message stored by the channel runner, a reply) shows in
the other's console in under a second, told by NOTIFY: an idle console sends
the server nothing. A server that cannot be reached at start, refuses the
login or has no tables yet is said in one line; one that restarts mid-session
is said in a line in the console, which keeps running and recovers by itself,
with nothing lost and a reply that could not be sent kept in the composer.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from omnitui.app import OmniApp
from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
from omnitui.hub import Hub
from omnitui.store.postgres import PostgresStore
from tests.peers.dovecot import free_port
from tests.peers.postgres import PASSWORD, ROLE, PgCluster, bindir, postgres_user_exists
from tests.peers.telegram_api import TOKEN, BotApiPeer, Customer
from tests.pilot_steps import open_customer
from tests.test_hub import FAST, FlakyProvider
from tests.waiting import wait_until

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
EMMA = Customer(4_900_001, "Emma", username="emma_flowers")
TOKEN_ENV = "OMNITUI_TEST_TELEGRAM_TOKEN"
PASSWORD_ENV = "OMNITUI_TEST_DB_PASSWORD"
OMNITUI = Path(sys.executable).with_name("omnitui")
LIVE = 1.0  # seconds: a change on one machine shows on the others within this

# The other machine: its own HOME and config ([store] url, password_env). It
# reads commands, one a line, runs each through the store the config names and
# prints the wall-clock time right after the commit.
OTHER = """
import asyncio, sys, time
from pathlib import Path
from omnitui.config import load
from omnitui.domain.models import Channel, ChannelKind, Inbound, ThreadStatus
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
async def main():
    store = await load(Path(sys.argv[1])).open_store()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        what, contact, text = line.rstrip("\\n").split(" ", 2)
        if what == "status":
            await store.set_status(int(contact), ThreadStatus(text))
        elif what == "inbound":
            await store.ingest([Inbound(MAIL, text, contact, text, text, time.time())])
        elif what.startswith("reply:"):  # reply:<the channel's account>
            channel = Channel(ChannelKind.EMAIL, what.removeprefix("reply:"))
            await store.enqueue_reply(int(contact), channel, text, author="Ken")
        print(time.time(), flush=True)
    await store.close()
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    """A cluster of this module's own: its tests stop and start the server."""
    where = bindir()
    if where is None or (os.geteuid() == 0 and not postgres_user_exists()):
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql")
    made = PgCluster.create(where)
    yield made
    made.destroy()


@pytest.fixture
def url(cluster: PgCluster) -> str:
    return cluster.url(cluster.new_database())


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open_url(url, password=PASSWORD)
    yield opened
    await opened.close()


def machine(home: Path, url: str) -> tuple[Path, dict[str, str]]:
    """A machine's config (the store at `url`) and environment (its own HOME)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text(
        f'[agent]\nname = "Ken"\n\n[store]\nurl = "{url}"\npassword_env = "{PASSWORD_ENV}"\n',
        encoding="utf-8",
    )
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    env[PASSWORD_ENV] = PASSWORD
    return config, env


class OtherMachine:
    """Another agent's machine writing through the same store."""

    def __init__(self, home: Path, url: str) -> None:
        config, env = machine(home, url)
        self.process = subprocess.Popen(
            [sys.executable, "-c", OTHER, str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    async def do(self, what: str, contact: int | str, text: str) -> float:
        """Run one command there; the time it was committed."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{what} {contact} {text}\n")
        self.process.stdin.flush()
        return float(await asyncio.to_thread(self.process.stdout.readline))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def customers(store: PostgresStore) -> dict[str, int]:
    now = time.time()
    ids = {}
    for n, (address, name) in enumerate(
        [("misaki@example.jp", "田中 美咲"), ("emma@example.com", "Emma")]
    ):
        got = await store.ingest(
            [Inbound(MAIL, f"m{n}", address, name, f"hello from {name}", now - 100 + n)]
        )
        ids[name] = got[0].contact_id
    return ids


def console(store: PostgresStore) -> OmniApp:
    return OmniApp(store, agent_name="Aiko", channels=[MAIL], language="en")


def banner(app: OmniApp) -> str:
    """The store's line above the panes, while it shows."""
    line = app.inbox.query_one("#store-problem", Static)
    return str(line.render()) if line.display else ""


def transactions(cluster: PgCluster, url: str) -> int:
    """Transactions the server has counted in the store's database."""
    database = url.rsplit("/", 1)[-1]
    out = cluster.psql(
        f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{database}'"
    )
    return int(out.strip())


async def test_a_change_on_another_machine_shows_in_the_console_within_a_second(
    store: PostgresStore, url: str, tmp_path: Path
) -> None:
    ids = await customers(store)
    other = OtherMachine(tmp_path / "ken", url)
    app = console(store)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.inbox
            await wait_until(lambda: len(screen.contacts.contacts) == 2, pilot=pilot)

            def status(contact_id: int) -> ThreadStatus | None:
                found = [c for c in screen.contacts.contacts if c.id == contact_id]
                return found[0].status if found else None

            delays = []
            for new in (ThreadStatus.RESOLVED, ThreadStatus.OPEN):
                committed = await other.do("status", ids["Emma"], new.value)
                await wait_until(lambda s=new: status(ids["Emma"]) is s, pilot=pilot)  # type: ignore[misc]
                delays.append(time.time() - committed)
            # A customer's message the channel runner stores there.
            committed = await other.do("inbound", "olivia@example.com", "olivia-1")
            await wait_until(
                lambda: any(c.name == "olivia-1" for c in screen.contacts.contacts), pilot=pilot
            )
            delays.append(time.time() - committed)
            # Another agent's reply, in the thread open here.
            await open_customer(pilot, ids["田中 美咲"])
            committed = await other.do("reply:shop-mail", ids["田中 美咲"], "Ken's answer")
            await wait_until(
                lambda: "Ken's answer" in "\n".join(screen.thread.lines_text()), pilot=pilot
            )
            delays.append(time.time() - committed)
            assert max(delays) < LIVE, delays
    finally:
        other.close()


async def test_an_idle_console_sends_the_server_nothing(
    store: PostgresStore, url: str, cluster: PgCluster
) -> None:
    await customers(store)
    app = console(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(lambda: len(app.inbox.contacts.contacts) == 2, pilot=pilot)
        await pilot.pause(1.5)  # what start-up read is counted
        before = transactions(cluster, url)
        await asyncio.sleep(3.0)
        # Polling every 0.25 s would be a dozen reads; the console only listens.
        assert transactions(cluster, url) - before <= 1


async def test_the_console_says_the_store_is_unreachable_and_recovers_by_itself(
    store: PostgresStore, url: str, cluster: PgCluster, tmp_path: Path
) -> None:
    ids = await customers(store)
    app = console(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.inbox
        await open_customer(pilot, ids["Emma"])
        await pilot.press("r", *"See you at three")
        await asyncio.to_thread(cluster.stop, "fast")
        try:
            await wait_until(
                lambda: "store unreachable" in banner(app), limit=10, what="the line", pilot=pilot
            )
            # A reply sent meanwhile is refused in words and stays in the composer.
            await pilot.press("ctrl+s")
            await wait_until(
                lambda: any("Not sent" in n.message for n in app._notifications), pilot=pilot
            )
            assert screen.composer.text == "See you at three"
        finally:
            await asyncio.to_thread(cluster.start)
        await wait_until(lambda: banner(app) == "", limit=15, what="the line gone", pilot=pilot)
        # A change on another machine, the first after the restart, shows.
        other = OtherMachine(tmp_path / "ken", url)
        try:
            await other.do("status", ids["田中 美咲"], ThreadStatus.RESOLVED.value)
        finally:
            other.close()
        await wait_until(
            lambda: any(
                c.id == ids["田中 美咲"] and c.status is ThreadStatus.RESOLVED
                for c in screen.contacts.contacts
            ),
            pilot=pilot,
        )
        # The reply goes out now, from the composer it stayed in.
        await pilot.press("ctrl+s")
        await wait_until(lambda: screen.composer.text == "", pilot=pilot)
        page = await store.thread_page(ids["Emma"])
        assert page[-1].text == "See you at three"
        assert app.is_running and app.return_code is None


async def test_a_change_asked_for_while_the_server_is_away_is_refused_in_words(
    store: PostgresStore, cluster: PgCluster
) -> None:
    ids = await customers(store)
    app = console(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.inbox
        await wait_until(lambda: screen.contacts.current_contact_id == ids["Emma"], pilot=pilot)
        await asyncio.to_thread(cluster.stop, "fast")
        try:
            await pilot.press("e")  # resolve
            await wait_until(
                lambda: any("Not done" in n.message for n in app._notifications), pilot=pilot
            )
            await wait_until(lambda: "store unreachable" in banner(app), pilot=pilot)
            assert app.is_running and app.return_code is None
        finally:
            await asyncio.to_thread(cluster.start)
        await wait_until(lambda: banner(app) == "", limit=15, what="the line gone", pilot=pilot)
        assert (await store.get_contact(ids["Emma"])).status is ThreadStatus.OPEN
        await pilot.press("e")  # done now

        async def resolved() -> bool:
            return (await store.get_contact(ids["Emma"])).status is ThreadStatus.RESOLVED

        await wait_until(resolved, pilot=pilot)


async def test_changes_made_while_a_console_lost_the_server_are_all_shown(
    store: PostgresStore, url: str, cluster: PgCluster
) -> None:
    """The listening connection is lost (the server restarted) while another
    machine writes as soon as it is back: the console reads from its last
    change on, so nothing made meanwhile is missed."""
    ids = await customers(store)
    other = await PostgresStore.open_url(url, password=PASSWORD)
    app = console(store)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.inbox
            await wait_until(lambda: len(screen.contacts.contacts) == 2, pilot=pilot)
            await asyncio.to_thread(cluster.stop, "immediate")  # as if it crashed
            await asyncio.to_thread(cluster.start)
            # Written at once, before the console's listener is back.
            for contact_id in ids.values():
                await other.set_status(contact_id, ThreadStatus.RESOLVED)
            await wait_until(
                lambda: all(c.status is ThreadStatus.RESOLVED for c in screen.contacts.contacts),
                limit=15,
                pilot=pilot,
            )
    finally:
        await other.close()


async def test_the_channel_runner_sends_a_reply_queued_on_another_machine_at_once(
    store: PostgresStore, url: str, tmp_path: Path
) -> None:
    """The outbox waits for the store's word, not for a clock: a reply queued
    on another machine goes out within a second; one the provider refused
    goes again when its retry falls due, with nothing looking in between."""
    provider = FlakyProvider(refusals=1)
    hub = Hub(store, [provider], retry=FAST)
    await hub.start()
    other = OtherMachine(tmp_path / "ken", url)
    try:
        await wait_until(store.list_contacts)
        contact = (await store.list_contacts())[0]
        committed = await other.do(f"reply:{provider.channel.account}", contact.id, "open at 9")
        await wait_until(lambda: provider.calls == 1, what="the first try")
        assert time.time() - committed < LIVE
        await wait_until(lambda: provider.accepted == ["open at 9"], what="the retry")
        await asyncio.sleep(0.3)
        assert provider.calls == 2  # sent once
    finally:
        other.close()
        await hub.stop()


async def test_serve_on_one_machine_and_a_console_on_another_answer_a_customer_live(
    store: PostgresStore,
    url: str,
    cluster: PgCluster,
    tmp_path: Path,
    telegram_peer: BotApiPeer,
) -> None:
    """`omnitui serve` runs the bot on one machine; an agent's console on
    another shows the customer's message and its reply goes out through
    serve, each within a second. The database server restarts: the console
    carries on by itself, and so does serve."""
    config, env = machine(tmp_path / "server", url)
    with config.open("a", encoding="utf-8") as more:
        more.write(
            f'\n[[telegram]]\nname = "{BOT.account}"\ntoken_env = "{TOKEN_ENV}"\n'
            f'api_base = "{telegram_peer.url}"\n'
        )
    env[TOKEN_ENV] = TOKEN

    async def start() -> asyncio.subprocess.Process:
        with (tmp_path / "serve.log").open("ab") as log:
            return await asyncio.create_subprocess_exec(
                str(OMNITUI), "--config", str(config), "serve",
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip

    serve = await start()
    app = OmniApp(store, agent_name="Aiko", channels=[BOT], language="en")
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.inbox
            await wait_until(
                lambda: any(c.method == "getUpdates" for c in telegram_peer.calls),
                limit=60,
                what="serve polling the bot",
            )
            asked = time.monotonic()
            telegram_peer.text(EMMA, "Are you open today?")
            await wait_until(
                lambda: any(c.name == "Emma" for c in screen.contacts.contacts),
                what="Emma's message in the console",
                pilot=pilot,
            )
            assert time.monotonic() - asked < LIVE
            emma = next(c.id for c in screen.contacts.contacts if c.name == "Emma")
            await open_customer(pilot, emma)
            await pilot.press("r", *"Open till 7")
            await pilot.press("ctrl+s")
            answered = time.monotonic()
            await wait_until(
                lambda: any(s.text == "Open till 7" for s in telegram_peer.sent),
                what="the reply sent by serve",
                pilot=pilot,
            )
            assert time.monotonic() - answered < LIVE
            # The server restarts. Serve loses the channel lock with it, stops
            # its channels (said in a line) and runs them again once it has the
            # lock back; the console carries on by itself.
            await asyncio.to_thread(cluster.stop, "fast")
            await asyncio.to_thread(cluster.start)
            log_file = tmp_path / "serve.log"
            await wait_until(
                lambda: log_file.read_text(encoding="utf-8").count("serving 1 channel(s)") >= 2,
                limit=60,
                what="serve running the channels again",
                pilot=pilot,
            )
            said = log_file.read_text(encoding="utf-8")
            assert "lost the channel lock (the store's server went away)" in said
            assert "Traceback" not in said
            assert serve.returncode is None
            telegram_peer.text(EMMA, "And tomorrow?")
            await wait_until(
                lambda: "And tomorrow?" in "\n".join(screen.thread.lines_text()),
                limit=60,
                what="the message after the restart",
                pilot=pilot,
            )
    finally:
        if serve.returncode is None:
            serve.terminate()
            await serve.wait()


# -- at start: one clear line, exit code 1 ------------------------------------


def run(args: list[str], home: Path, url: str, password: str = PASSWORD) -> tuple[int, str]:
    config, env = machine(home, url)
    env[PASSWORD_ENV] = password
    done = subprocess.run(
        [str(OMNITUI), "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("command", [[], ["serve"]], ids=["console", "serve"])
def test_an_unreachable_server_at_start_is_one_line_naming_it(
    command: list[str], tmp_path: Path
) -> None:
    url = f"postgresql://{ROLE}:not-shown@127.0.0.1:{free_port()}/shop"
    code, said = run(command, tmp_path, url)
    assert code == 1
    assert said.strip().splitlines() == [
        f"omnitui: the store at postgresql://{ROLE}:***@127.0.0.1:{url.split(':')[3]} "
        "cannot be used: the server cannot be reached (Connection refused)"
    ]
    assert "not-shown" not in said and "Traceback" not in said


@pytest.mark.parametrize("command", [[], ["serve"]], ids=["console", "serve"])
def test_a_wrong_password_is_said_as_a_refused_login(
    command: list[str], cluster: PgCluster, url: str, tmp_path: Path
) -> None:
    code, said = run(command, tmp_path, url, password="wrong-pass")
    assert code == 1
    lines = said.strip().splitlines()
    assert len(lines) == 1, said
    assert lines[0].startswith(
        f"omnitui: the store at {url} cannot be used: the server refused the login ("
    )
    assert "password authentication failed" in lines[0]
    assert "wrong-pass" not in said


def test_doctor_says_what_is_wrong_with_the_server(
    cluster: PgCluster, url: str, tmp_path: Path
) -> None:
    code, said = run(["doctor"], tmp_path / "a", url, password="wrong-pass")
    assert code == 1
    assert (
        f"FAIL  store    the store at {url} cannot be used: the server refused the login (" in said
    )
    gone = f"postgresql://{ROLE}@127.0.0.1:{free_port()}/shop"
    code, said = run(["doctor"], tmp_path / "b", gone)
    assert code == 1
    assert (
        f"FAIL  store    the store at {gone} cannot be used: "
        "the server cannot be reached (Connection refused)"
    ) in said


async def test_a_database_without_the_tables_gets_them_on_first_start(
    cluster: PgCluster, tmp_path: Path
) -> None:
    name = f"omnitui_empty_{os.getpid()}"
    cluster.psql(f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE template0")
    url = cluster.url(name)
    code, said = run(["doctor"], tmp_path, url)
    assert "no OmniTUI tables yet: created on first start" in said
    config, _env = machine(tmp_path, url)
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        from omnitui.config import load

        opened = await load(config).open_store()
    finally:
        del os.environ[PASSWORD_ENV]
    assert isinstance(opened, PostgresStore)
    try:
        await customers(opened)
    finally:
        await opened.close()
    code, said = run(["doctor"], tmp_path, url)
    assert code == 0, said
    assert f"ok    store    {url} (2 contacts, schema " in said
