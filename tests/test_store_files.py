"""The store's files on a shared shop server: private, shareable, and checked.

Every command is the real binary. A broken store is one line and a non-zero
exit from `doctor` and from every command that opens it, never "ok" and never
a traceback; customer data is created readable by its user alone whatever
the umask, or by the shop's group when `[store] group` says so.
"""

from __future__ import annotations

import asyncio
import grp
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnitui.demo import build_demo_store
from omnitui.store import Store
from tests.waiting import wait_until_sync

BINARY = Path(sys.executable).parent / "omnitui"
NOBODY = 65534


def config_for(tmp_path: Path, store: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{store}"\n{extra}', encoding="utf-8")
    return config


def omnitui(
    *args: str, home: Path, as_user: int | None = None, groups: str = "", umask: int = 0o022
) -> subprocess.CompletedProcess[str]:
    command = [str(BINARY), *args]
    if as_user is not None:  # another Unix user on the shop server
        command = [
            "setpriv",
            f"--reuid={as_user}",
            f"--regid={as_user}",
            f"--groups={groups}" if groups else "--clear-groups",
            *command,
        ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"},
        preexec_fn=lambda: os.umask(umask),
    )


def one_line_failure(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for word in words:
        assert word in lines[0]


async def demo_store(path: Path) -> None:
    store = await Store.open(path)
    await build_demo_store(store, now=time.time(), messages=3000, customers=200)
    await store.close()


def test_a_file_that_is_not_a_store_fails_doctor_and_every_command(tmp_path: Path) -> None:
    junk = tmp_path / "omnitui.db"
    junk.write_bytes(os.urandom(64 * 1024))
    config = config_for(tmp_path, junk)
    doctor = omnitui("doctor", "--config", str(config), home=tmp_path)
    assert doctor.returncode == 1
    assert "FAIL  store" in doctor.stdout and "not a SQLite database" in doctor.stdout
    for command in (["serve"], ["contacts", "export", "-"], ["canned", "export", "-"]):
        out = omnitui(*command, "--config", str(config), home=tmp_path)
        one_line_failure(out, str(junk), "not a SQLite database")


def test_a_truncated_store_is_found_before_it_is_used(tmp_path: Path) -> None:
    db = tmp_path / "omnitui.db"
    asyncio.run(demo_store(db))
    assert not Path(f"{db}-wal").exists()  # closed cleanly: everything is in the file
    with db.open("r+b") as file:
        file.truncate(db.stat().st_size // 2)
    config = config_for(tmp_path, db)
    doctor = omnitui("doctor", "--config", str(config), home=tmp_path)
    assert doctor.returncode == 1
    assert "FAIL  store" in doctor.stdout and "damaged" in doctor.stdout
    for command in (["serve"], ["contacts", "export", "-"]):
        out = omnitui(*command, "--config", str(config), home=tmp_path)
        one_line_failure(out, "damaged", "backup")


@pytest.fixture
def shared_tmp(tmp_path: Path) -> Iterator[Path]:
    """A folder other Unix users can reach (pytest's own is private to root)."""
    if os.geteuid() != 0:
        pytest.skip("switching to another Unix user needs root")
    folder = Path(f"/tmp/omnitui-test-{os.getpid()}-{tmp_path.name}")
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_a_store_in_a_folder_the_user_cannot_write(shared_tmp: Path) -> None:
    home = shared_tmp / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o755)
    os.chmod(locked, 0o755)  # root's folder: other users may read, not write
    for store in (locked / "omnitui.db", locked / "new" / "omnitui.db"):
        config = config_for(shared_tmp, store)
        os.chmod(config, 0o644)
        doctor = omnitui("doctor", "--config", str(config), home=home, as_user=NOBODY)
        assert doctor.returncode == 1, doctor.stdout
        assert "FAIL  store" in doctor.stdout
        out = omnitui("serve", "--config", str(config), home=home, as_user=NOBODY)
        one_line_failure(out, str(store))
    # An existing store the user may read but not write.
    db = locked / "omnitui.db"
    asyncio.run(demo_store(db))
    os.chmod(db, 0o644)
    config = config_for(shared_tmp, db)
    doctor = omnitui("doctor", "--config", str(config), home=home, as_user=NOBODY)
    assert doctor.returncode == 1 and "read-only" in doctor.stdout, doctor.stdout
    out = omnitui("contacts", "export", "-", "--config", str(config), home=home, as_user=NOBODY)
    one_line_failure(out, str(db))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_serve_until_stored(config: Path, db: Path, home: Path, umask: int) -> dict[str, int]:
    """`omnitui serve` (no channels) until its store and WAL exist, then SIGTERM;
    the modes of the files beside the store while it ran."""
    process = subprocess.Popen(
        [str(BINARY), "serve", "--config", str(config)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"},
        preexec_fn=lambda: os.umask(umask),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_sync(Path(f"{db}-wal").exists, 30, "the store's WAL file", every=0.05)
        time.sleep(0.5)
        assert Path(f"{db}-shm").exists()
        modes = {p.name: mode(p) for p in db.parent.iterdir()}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    return modes


def test_customer_data_is_private_whatever_the_umask(tmp_path: Path) -> None:
    db = tmp_path / "data" / "shop" / "omnitui.db"
    config = config_for(tmp_path, db)
    assert run_serve_until_stored(config, db, tmp_path, umask=0o000) == {
        "omnitui.db": 0o600,
        "omnitui.db-wal": 0o600,
        "omnitui.db-shm": 0o600,
        "omnitui.db.channels.lock": 0o600,
    }
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    log = tmp_path / ".local" / "state" / "omnitui" / "log" / "omnitui.log"
    assert log.exists() and mode(log) == 0o600
    assert mode(log.parent) == 0o700


def test_a_store_left_world_readable_by_an_older_version_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "omnitui.db"
    asyncio.run(demo_store(db))
    os.chmod(db, 0o644)
    out = omnitui(
        "contacts", "export", "-", "--config", str(config_for(tmp_path, db)), home=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert mode(db) == 0o600


def test_agents_as_separate_users_share_a_store_through_its_group(shared_tmp: Path) -> None:
    group = grp.getgrnam("users")
    db = shared_tmp / "shop" / "omnitui.db"
    config = shared_tmp / "config.toml"
    config.write_text(f'[store]\npath = "{db}"\ngroup = "users"\n', encoding="utf-8")
    os.chmod(config, 0o644)
    assert run_serve_until_stored(config, db, shared_tmp, umask=0o077) == {
        "omnitui.db": 0o660,
        "omnitui.db-wal": 0o660,
        "omnitui.db-shm": 0o660,
        "omnitui.db.channels.lock": 0o660,
    }
    assert mode(db.parent) == 0o2770
    assert all(p.stat().st_gid == group.gr_gid for p in [db.parent, *db.parent.iterdir()])

    # Ken logs in as another user in the group: he imports a customer, Aiko sees it.
    home = shared_tmp / "ken"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    customers = home / "customers.csv"
    customers.write_text("name,email\nKen's customer,ken.customer@example.com\n", encoding="utf-8")
    os.chmod(customers, 0o644)
    out = omnitui(
        "contacts",
        "import",
        str(customers),
        "--config",
        str(config),
        home=home,
        as_user=NOBODY,
        groups=str(group.gr_gid),
    )
    assert out.returncode == 0, out.stderr
    export = omnitui("contacts", "export", "-", "--config", str(config), home=shared_tmp)
    assert "ken.customer@example.com" in export.stdout
    # Someone outside the group reads nothing.
    outsider = omnitui(
        "contacts", "export", "-", "--config", str(config), home=home, as_user=NOBODY
    )
    assert outsider.returncode == 1 and "ken.customer" not in outsider.stdout


def test_an_unknown_group_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[store]\npath = "x.db"\ngroup = "no-such-group-here"\n', encoding="utf-8")
    out = omnitui("doctor", "--config", str(config), home=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"omnitui: {config}, line 3: store.group: no such group 'no-such-group-here' on this machine"
    )
