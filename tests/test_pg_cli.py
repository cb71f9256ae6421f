"""The installed commands with `[store] url`: doctor, a refused login, an
unreachable server, a config mistake, and an old PostgreSQL store migrated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from omnitui.domain.models import IdentityKind
from omnitui.store.migrate import HEAD, upgrade_url
from omnitui.store.postgres import PostgresStore
from tests.peers.dovecot import free_port
from tests.peers.postgres import PASSWORD, PgCluster

PASSWORD_ENV = "OMNITUI_TEST_STORE_PASSWORD"


def run(config: Path, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnitui.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, PASSWORD_ENV: password, "HOME": str(config.parent)},
        check=False,
    )


def shop(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[store]\nurl = "{url}"\npassword_env = "{PASSWORD_ENV}"\n',
        encoding="utf-8",
    )
    return config


def test_doctor_reads_the_store_on_the_server_and_says_what_is_wrong_without_the_password(
    tmp_path: Path, pg_cluster: PgCluster
) -> None:
    url = pg_cluster.url(pg_cluster.new_database())
    config = shop(tmp_path, url)
    fresh = run(config, "doctor")
    assert "ok    store    " in fresh.stdout and "created on first start" in fresh.stdout
    assert run(config, "contacts", "export", str(tmp_path / "none.csv")).returncode == 0
    used = run(config, "doctor")
    assert f"(0 contacts, schema {HEAD})" in used.stdout

    refused = run(config, "doctor", password="wrong-pass")
    assert "FAIL  store    " in refused.stdout
    assert "password authentication failed" in refused.stdout
    assert "wrong-pass" not in refused.stdout + refused.stderr

    away = shop(tmp_path, f"postgresql://omnitui@127.0.0.1:{free_port()}/nowhere")
    gone = run(away, "doctor")
    assert "FAIL  store    " in gone.stdout and "nowhere" in gone.stdout
    assert "Traceback" not in gone.stdout + gone.stderr


def test_a_command_on_an_unreachable_store_says_so_in_one_line_and_exits_1(
    tmp_path: Path,
) -> None:
    config = shop(tmp_path, f"postgresql://omnitui:in-url-secret@127.0.0.1:{free_port()}/shop")
    result = run(config, "report", "--format", "json")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be used" in lines[0], lines
    assert "postgresql://omnitui:***@127.0.0.1" in lines[0]
    assert "in-url-secret" not in result.stderr + result.stdout


def test_a_store_url_that_is_not_postgresql_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[store]\nurl = "mysql://shop@db/omnitui"\n', encoding="utf-8")
    result = run(config, "doctor")
    assert result.returncode == 2
    assert "url must be a postgresql:// URL" in result.stderr


async def test_an_old_postgresql_store_is_migrated_when_opened_and_keeps_its_data(
    pg_cluster: PgCluster,
) -> None:
    url = pg_cluster.url(pg_cluster.new_database())
    upgrade_url(url, PASSWORD, "0010")
    with psycopg.connect(url, password=PASSWORD) as conn:
        conn.execute(
            "INSERT INTO contact(name, first_name, language, profile, status, tags, unread, "
            "last_activity, last_preview, channels, created_at) "
            "VALUES ('古い お客様', '', '', '{}', 'open', '[\"vip\"]', 0, 1, '', 'email', 1)"
        )
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0010",)
    store = await PostgresStore.open_url(url, password=PASSWORD)
    try:
        [old] = await store.list_contacts()
        assert old.name == "古い お客様"
        # The JSON functions came with the upgrade: the tag view reads the old row.
        counts = await store.view_counts()
        assert [n for view, n in counts.items() if str(view) == "#vip"] == [1]
        made = await store.create_contact("New", [(IdentityKind.EMAIL, "new@example.com")])
        assert made > old.id
    finally:
        await store.close()
    with psycopg.connect(url, password=PASSWORD) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
