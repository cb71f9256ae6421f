"""Moving a shop from SQLite to PostgreSQL: `omnitui store copy --to postgresql://…`.

Every test runs the real command against the throwaway PostgreSQL cluster and
then reads the copy with OmniTUI's own PostgreSQL store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from omnitui.demo import DEMO_CHANNELS, build_demo_store
from omnitui.domain.broadcast import plan_broadcast
from omnitui.domain.models import Draft, Inbound, InboundAttachment
from omnitui.domain.report import build_report
from omnitui.hub import ChannelLock
from omnitui.store import Store
from omnitui.store.migrate import upgrade
from omnitui.store.postgres import PostgresStore
from omnitui.store.postgres.base import WRITE_LOCK
from omnitui.store.postgres.lock import PgChannelLock
from omnitui.store_commands import COPY_NAME
from tests.peers.postgres import PASSWORD, PgCluster

NOW = 1_796_000_000.0  # 2026-11-30: the demo shop's history ends here
MAIL, BOT, SMS = DEMO_CHANNELS
PASSWORD_ENV = "OMNITUI_TEST_STORE_PASSWORD"
# What the copy of the shop must hold when it is done (see `a_shop`).
TABLES = ("contact", "identity", "message", "message_search", "change", "merge_record")


async def a_shop(path: Path, *, seed: int = 7, customers: int = 60) -> None:
    """The demo shop's history, then what a shop's months leave in a store:
    merges (one undone), notes, canned replies, a broadcast, channel cursors,
    a draft, an attachment and a Japanese message with a subject."""
    store = await Store.open(path, clock=lambda: NOW)
    try:
        await build_demo_store(
            store, now=NOW, seed=seed, messages=customers * 25, customers=customers
        )
        contacts = await store.all_contacts()
        first, second, third, fourth = (c.id for c in contacts[:4])
        await store.merge(second, first, agent="Aiko")
        undone = await store.merge(fourth, third, agent="Ken")
        await store.undo_merge(undone)
        await store.add_note(first, "予約の変更は電話で受けました (phone call)", author="Aiko")
        await store.add_canned_replies(
            [("sale", "Spring sale", "{first_name|Hello}, the spring sale starts today!", "")]
        )
        for contact in contacts[4:14]:
            await store.update_contact(contact.id, tags=["vip"])
        plan = plan_broadcast(
            await store.broadcast_audience(["vip"]),
            await store.canned_replies(),
            "sale",
            list(DEMO_CHANNELS),
        )
        await store.create_broadcast("sale", {"tags": ["vip"]}, plan, author="Aiko")
        await store.ingest(
            [
                Inbound(
                    MAIL,
                    "<return-1@example.com>",
                    "mori@example.com",
                    "森 ゆう",
                    "届いた花瓶が割れていました。返品できますか？",
                    NOW - 30,
                    subject="返品について",
                    attachments=(
                        InboundAttachment("vase.jpg", "image/jpeg", b"\xff\xd8\xff\x00jpeg", 8),
                    ),
                )
            ],
            cursors={(MAIL.account, "uidvalidity"): "1700", (MAIL.account, "uid"): "4242"},
        )
        await store.ingest(
            [Inbound(BOT, "update-9", "9001", "Bot user", "hello", NOW - 20)],
            cursors={(BOT.account, "offset"): "9002"},
        )
        await store.save_draft(first, "Aiko", Draft("お花の件、明日お届けします"))
    finally:
        await store.close()


@pytest.fixture(scope="module")
def shop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop's SQLite store, built once (the copy only ever reads it)."""
    path = tmp_path_factory.mktemp("shop") / "omnitui.db"
    asyncio.run(a_shop(path))
    return path


@pytest.fixture
def shop(shop_file: Path, tmp_path: Path) -> Path:
    """The shop's store for this test, as a file of its own."""
    path = tmp_path / "shop" / "omnitui.db"
    path.parent.mkdir(mode=0o700)
    with sqlite3.connect(shop_file) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    copy.close()
    source.close()
    return path


def config_for(tmp_path: Path, store: Path) -> Path:
    config = tmp_path / f"config-{store.stem}.toml"
    config.write_text(f'[store]\npath = "{store}"\n', encoding="utf-8")
    return config


def copy_command(config: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "omnitui.cli", "--config", str(config),
        "store", "copy", "--to", url, "--password-env", PASSWORD_ENV, *extra,
    ]  # fmt: skip


def environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        PASSWORD_ENV: PASSWORD,
    }


def store_copy(
    tmp_path: Path, store: Path, url: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`omnitui store copy --to URL` for the store at `store`, as a shop owner runs it."""
    return subprocess.run(
        copy_command(config_for(tmp_path, store), url, *extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=environment(tmp_path),
    )


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, password=PASSWORD, autocommit=True) as conn:
        return {
            table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]
            for table in TABLES
        }


def sqlite_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in TABLES
        }
    finally:
        conn.close()


def fingerprint(url: str) -> dict[str, str]:
    """Every table's rows (and every id sequence's position), summed up."""
    with psycopg.connect(url, password=PASSWORD, autocommit=True) as conn:
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        rows = "count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
        sums = {
            table: str(conn.execute(f'SELECT {rows} FROM "{table}" t').fetchone())
            for table in tables
        }
        for row in conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ):
            sums[f"sequence {row[0]}"] = str(row[1])
    return sums


def wait_for_messages(url: str, running: subprocess.Popen[str]) -> None:
    """Until the copy running in `running` has committed its first messages."""
    with psycopg.connect(url, password=PASSWORD, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while running.poll() is None and time.monotonic() < deadline:
            made = conn.execute("SELECT to_regclass('message') IS NOT NULL").fetchone()
            if made == (True,) and conn.execute("SELECT 1 FROM message LIMIT 1").fetchone():
                return
            time.sleep(0.002)
    raise AssertionError("the copy wrote no message")


def wait_for_the_lock(holder: psycopg.Connection[Any], running: subprocess.Popen[str]) -> None:
    """Until the copy waits for the store's write lock `holder` holds."""
    deadline = time.monotonic() + 60
    while running.poll() is None and time.monotonic() < deadline:
        waiting = holder.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event_type = 'Lock'",
            (COPY_NAME,),
        ).fetchone()
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the copy never waited for the write lock")


def untouched(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.fixture
def database(pg_cluster: PgCluster) -> str:
    """An empty database for the shop to move into; its URL (no password in it)."""
    return pg_cluster.url(pg_cluster.new_database(empty=True))


async def read_the_same(sqlite: Store, pg: Store) -> None:
    """What agents see: the same customers, threads, search hits, views and figures."""
    contacts = await sqlite.all_contacts()
    assert len(contacts) > 50
    assert await pg.all_contacts() == contacts
    assert await pg.list_contacts() == await sqlite.list_contacts()
    threads = 0
    for contact in contacts:
        page = await sqlite.thread_page(contact.id, limit=500)
        assert await pg.thread_page(contact.id, limit=500) == page, contact.name
        threads += bool(page)
    assert threads > 50
    for query in ("予約", "返品", "花", "bouquet", "deliver", "電話"):
        hits = await sqlite.search(query)
        assert hits, query
        assert await pg.search(query) == hits, query
        assert await pg.search_count(query) == await sqlite.search_count(query)
    for agent in ("", "Aiko"):
        assert await pg.view_counts(agent) == await sqlite.view_counts(agent)
    since, until = NOW - 90 * 86400, NOW + 60

    async def figures(store: Store) -> object:
        return build_report(
            await store.conversations_between(since, until),
            await store.message_hours(since, until),
            await store.waiting_now(),
            since=since,
            until=until,
            now=NOW,
            business=None,
            broadcasts=await store.broadcasts_between(since, until),
        )

    assert await figures(pg) == await figures(sqlite)
    assert await pg.canned_replies() == await sqlite.canned_replies()
    assert await pg.broadcast_progress(1) == await sqlite.broadcast_progress(1)
    assert await pg.load_cursor(MAIL.account, "uid") == "4242"
    assert await pg.load_cursor(BOT.account, "offset") == "9002"
    first = contacts[0].id
    assert await pg.draft(first, "Aiko") == await sqlite.draft(first, "Aiko")
    assert await pg.field_history(first) == await sqlite.field_history(first)
    assert await pg.last_merge_into(first) == await sqlite.last_merge_into(first)
    assert await pg.last_change_id() == await sqlite.last_change_id()


async def test_a_shop_copied_to_postgresql_reads_the_same_there_and_its_file_is_untouched(
    tmp_path: Path, shop: Path, database: str
) -> None:
    before = untouched(shop)

    done = store_copy(tmp_path, shop, database)

    assert done.returncode == 0, done.stdout + done.stderr
    assert untouched(shop) == before
    lines = done.stdout.splitlines()
    want = sqlite_counts(shop)
    assert f"{want['contact']:,} = {want['contact']:,} ✓" in next(
        line for line in lines if line.startswith("customers ")
    )
    assert any(line.startswith("messages ") and line.endswith("✓") for line in lines)
    assert not any("✗" in line for line in lines)
    assert "Set [store] url" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    sqlite = await Store.open(shop, clock=lambda: NOW)
    pg = await PostgresStore.open_url(database, password=PASSWORD, clock=lambda: NOW)
    try:
        await read_the_same(sqlite, pg)
        vase = next(h for h in await pg.search("割れて") if h.message_id is not None)
        assert [m for m in await pg.thread_page(vase.contact_id) if m.id == vase.message_id]
        # The shop carries on there: new customers and messages take the next ids.
        highest = max(c.id for c in await sqlite.all_contacts())
        newcomer = await pg.ingest(
            [Inbound(SMS, "SM-new", "+819012345678", "", "はじめまして", NOW)]
        )
        assert newcomer[0].contact_id == highest + 1
        assert newcomer[0].message_id == await sqlite.last_message_id() + 1
        assert (await pg.search("はじめまして"))[0].message_id == newcomer[0].message_id
    finally:
        await sqlite.close()
        await pg.close()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "ctrl+c"])
def test_a_copy_stopped_half_way_is_finished_by_running_it_again(
    tmp_path: Path, shop: Path, database: str, stop: signal.Signals
) -> None:
    want = sqlite_counts(shop)
    before = untouched(shop)
    running = subprocess.Popen(
        copy_command(config_for(tmp_path, shop), database, "--batch", "5"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(tmp_path),
        # As from a shell: Ctrl+C interrupts (a pytest-xdist worker ignores SIGINT,
        # and a child would inherit that).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Another writer holds the store's write lock once the first messages are in:
    # the copy waits for its next batch, and is stopped there, half-way.
    holder = psycopg.connect(database, password=PASSWORD, autocommit=True)
    try:
        wait_for_messages(database, running)
        holder.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
        wait_for_the_lock(holder, running)
        running.send_signal(stop)
        time.sleep(0.2)
        # Ctrl+C is taken once the statement in progress returns: let it.
        holder.execute("SELECT pg_advisory_unlock_all()")
        out, err = running.communicate(timeout=30)
    finally:
        if running.poll() is None:
            running.kill()
        holder.close()  # the lock goes with the session
    assert running.returncode != 0, out
    if stop == signal.SIGINT:
        assert "run the same command again" in err, err
        assert "Traceback" not in err
    half = counts(database)
    assert 0 < half["message"] < want["message"], half
    assert half["contact"] == want["contact"]  # the tables before it are complete

    again = store_copy(tmp_path, shop, database)

    assert again.returncode == 0, again.stdout + again.stderr
    assert counts(database) == want
    assert not any("✗" in line for line in again.stdout.splitlines())
    with psycopg.connect(database, password=PASSWORD, autocommit=True) as conn:
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT account, provider_id FROM message "
            "WHERE provider_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) AS d"
        ).fetchone()
        assert twice == (0,)
    assert untouched(shop) == before


def test_a_copy_whose_connection_drops_says_so_and_carries_on_when_run_again(
    tmp_path: Path, shop: Path, database: str, pg_cluster: PgCluster
) -> None:
    want = sqlite_counts(shop)
    running = subprocess.Popen(
        copy_command(config_for(tmp_path, shop), database, "--batch", "5"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(tmp_path),
    )
    try:
        wait_for_messages(database, running)
        # The server ends the copy's session, as a restart or a network cut would.
        pg_cluster.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'omnitui store copy'"
        )
        out, err = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()

    assert running.returncode == 1, out + err
    assert "was lost" in err and "run the same command again" in err, err
    assert "Traceback" not in err
    assert counts(database)["message"] < want["message"]
    again = store_copy(tmp_path, shop, database)
    assert again.returncode == 0, again.stdout + again.stderr
    assert counts(database) == want


def test_a_table_without_ids_stopped_half_way_is_completed_by_its_key(
    tmp_path: Path, shop: Path, database: str
) -> None:
    assert store_copy(tmp_path, shop, database).returncode == 0
    whole = fingerprint(database)
    with psycopg.connect(database, password=PASSWORD, autocommit=True) as conn:
        # As if the copy had stopped in the middle of these tables.
        conn.execute(
            "DELETE FROM message_hour WHERE hour IN "
            "(SELECT hour FROM message_hour ORDER BY hour, kind, direction, agent "
            "OFFSET 1 LIMIT (SELECT count(*) / 2 FROM message_hour))"
        )
        conn.execute("DELETE FROM cursor WHERE key = 'uidvalidity'")

    again = store_copy(tmp_path, shop, database)

    assert again.returncode == 0, again.stdout + again.stderr
    assert fingerprint(database) == whole


def test_a_second_copy_onto_a_complete_database_changes_nothing(
    tmp_path: Path, shop: Path, database: str
) -> None:
    assert store_copy(tmp_path, shop, database).returncode == 0
    copied = fingerprint(database)

    again = store_copy(tmp_path, shop, database)

    assert again.returncode == 0, again.stdout + again.stderr
    assert fingerprint(database) == copied


def test_a_database_holding_another_shops_store_is_refused_and_left_as_it_was(
    tmp_path: Path, shop: Path, database: str
) -> None:
    other = tmp_path / "other" / "omnitui.db"
    other.parent.mkdir()
    asyncio.run(a_shop(other, seed=11, customers=20))
    assert store_copy(tmp_path, other, database).returncode == 0
    theirs = fingerprint(database)

    refused = store_copy(tmp_path, shop, database)

    assert refused.returncode == 1
    assert "holds other data" in refused.stderr
    assert "new, empty database" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert fingerprint(database) == theirs


def test_no_copy_while_the_channels_run_on_the_store(
    tmp_path: Path, shop: Path, database: str
) -> None:
    runner = ChannelLock(shop)  # as `omnitui serve` holds it
    assert runner.acquire()
    try:
        refused = store_copy(tmp_path, shop, database)
    finally:
        runner.release()

    assert refused.returncode == 1
    assert "omnitui serve" in refused.stderr
    assert "would be missed" in refused.stderr
    with psycopg.connect(database, password=PASSWORD, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('message')").fetchone() == (None,)


def test_no_copy_into_a_store_whose_channels_run_on_postgresql(
    tmp_path: Path, shop: Path, database: str
) -> None:
    assert store_copy(tmp_path, shop, database, "--batch", "100000").returncode == 0
    runner = PgChannelLock(database, PASSWORD)
    assert runner.acquire()
    try:
        refused = store_copy(tmp_path, shop, database)
    finally:
        runner.release()

    assert refused.returncode == 1
    assert "stop that `omnitui serve`" in refused.stderr


def test_a_wrong_password_is_one_line_without_the_password(
    tmp_path: Path, shop: Path, database: str
) -> None:
    config = config_for(tmp_path, shop)
    env = {**environment(tmp_path), PASSWORD_ENV: "not-the-password"}

    done = subprocess.run(
        copy_command(config, database), capture_output=True, text=True, env=env, check=False
    )

    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be used" in lines[0], done.stderr
    assert "not-the-password" not in done.stderr


def test_a_password_in_the_url_is_never_shown(
    tmp_path: Path, shop: Path, pg_cluster: PgCluster
) -> None:
    url = pg_cluster.url(pg_cluster.new_database(empty=True), password=True)
    config = config_for(tmp_path, shop)
    env = {k: v for k, v in environment(tmp_path).items() if k != PASSWORD_ENV}
    command = [sys.executable, "-m", "omnitui.cli", "--config", str(config)]

    done = subprocess.run(
        [*command, "store", "copy", "--to", url],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    # The line for config.toml names the URL without it (password_env holds it).
    assert url.replace(f":{PASSWORD}", "") in done.stdout


async def test_a_store_of_an_older_omnitui_is_copied_as_upgraded_and_left_as_it_was(
    tmp_path: Path, database: str
) -> None:
    old = tmp_path / "old.db"
    upgrade(old, "0011")
    with sqlite3.connect(old) as conn:
        conn.execute(
            "INSERT INTO contact(id, name, first_name, language, profile, status, tags, unread, "
            "last_activity, last_preview, channels, created_at) VALUES "
            "(5, '佐藤 花子', '花子', 'ja', '{}', 'open', '[]', 0, ?, '', 'sms', ?)",
            (NOW, NOW),
        )
    conn.close()
    before = untouched(old)

    done = store_copy(tmp_path, old, database)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "older schema (0011)" in done.stdout
    assert untouched(old) == before
    snapshot = done.stdout.split("snapshot of it in ", 1)[1].split()[0]
    assert not Path(snapshot).exists()  # removed once the copy is done
    pg = await PostgresStore.open_url(database, password=PASSWORD)
    try:
        assert [(c.id, c.name) for c in await pg.all_contacts()] == [(5, "佐藤 花子")]
    finally:
        await pg.close()


def test_a_store_of_a_newer_omnitui_is_not_copied(
    tmp_path: Path, shop: Path, database: str
) -> None:
    with sqlite3.connect(shop) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()

    done = store_copy(tmp_path, shop, database)

    assert done.returncode == 2
    assert "newer than this OmniTUI knows" in done.stderr
    with psycopg.connect(database, password=PASSWORD, autocommit=True) as pg:
        assert pg.execute("SELECT to_regclass('message')").fetchone() == (None,)


def test_store_copy_without_a_postgresql_url_is_a_usage_error(tmp_path: Path, shop: Path) -> None:
    done = store_copy(tmp_path, shop, "sqlite:///elsewhere.db")
    assert done.returncode == 2
    assert "not a PostgreSQL URL" in done.stderr
