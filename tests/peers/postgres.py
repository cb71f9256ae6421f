"""A throwaway PostgreSQL cluster on loopback, for tests and the bench.

Debian's `postgresql` package, our own cluster under a temp dir (`initdb` and
`pg_ctl`, never the package's service). PostgreSQL refuses to run as root, so
under root the cluster belongs to the `postgres` user the package made. Local
(unix socket) logins are trusted, for the tests' own setup; TCP logins on
127.0.0.1 need the role's password (scram-sha-256), as a shop's server would.

Each test gets its own database, copied from a template that is migrated
once, so a test starts from an empty, current store in tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.peers.dovecot import free_port

ROLE = "omnitui"
PASSWORD = "shop-db-pass"
TEMPLATE = "omnitui_template"


def bindir() -> Path | None:
    """Where Debian's PostgreSQL binaries are (the newest version), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    which = shutil.which("pg_ctl")
    return Path(which).resolve().parent if which else None


@dataclass
class PgCluster:
    """One running cluster; `stop()` / `start()` restart it on the same port."""

    bin: Path
    root: Path
    port: int
    owner: str | None  # the Unix user the server runs as (None: this one)
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def create(cls, bin_dir: Path) -> PgCluster:
        as_root = os.geteuid() == 0
        root = Path(tempfile.mkdtemp(prefix="omnitui-pg-"))
        owner = "postgres" if as_root else None
        if owner:
            shutil.chown(root, owner, owner)
        cluster = cls(bin_dir, root, free_port(), owner)
        cluster._run(
            "initdb",
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        try:
            cluster.start()
            cluster.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            cluster.psql(f"CREATE DATABASE {TEMPLATE} OWNER {ROLE}")
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    @classmethod
    def kept_at(cls, root: Path, bin_dir: Path) -> PgCluster:
        """A cluster whose data stays under `root` between runs (the bench's):
        made there the first time, started on a free port each time."""
        as_root = os.geteuid() == 0
        owner = "postgres" if as_root else None
        root.mkdir(parents=True, exist_ok=True)
        if owner:
            shutil.chown(root, owner, owner)
            for parent in root.parents:  # the server, as postgres, must reach its folder
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        cluster = cls(bin_dir, root, free_port(), owner)
        if not (root / "data" / "PG_VERSION").exists():
            cluster._run(
                "initdb", "-D", str(root / "data"), "-U", "postgres",
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8",
            )  # fmt: skip
            cluster.start()
            cluster.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        else:
            cluster.start()
        return cluster

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / tool), *args]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        return subprocess.run(
            command, check=True, capture_output=True, text=True, cwd=self.root, timeout=60
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            # A test cluster: what a power cut would need is not needed here.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate`: as if it crashed); connections drop."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` as the superuser over the unix socket; what it printed."""
        out = self._run(
            "psql", "-h", str(self.root), "-p", str(self.port), "-U", "postgres",
            "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        )  # fmt: skip
        return out.stdout

    def url(self, database: str, *, password: bool = False) -> str:
        """A store URL for `database` over TCP (`password`: with it in the URL)."""
        secret = f":{quote(PASSWORD)}" if password else ""
        return f"postgresql://{ROLE}{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database owned by the store's role; its name."""
        name = f"omnitui_t{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE {TEMPLATE}")
        return name

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""


def postgres_user_exists() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


def wait_until_gone(cluster: PgCluster, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    pid_file = cluster.root / "data" / "postmaster.pid"
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
