"""Start-up race (issue 14): launch to the newest mail on screen, OmniTUI against aerc and neomutt.

    python bench/startup_race.py                  # 50,000 messages, 5 runs per client
    python bench/startup_race.py --quick          # 2,000 messages
    python bench/startup_race.py --messages 10000 --runs 3

A throwaway Dovecot holds one mailbox (INBOX) of N mails, filled by MULTIAPPEND;
the newest mail (the last appended, the latest Date) has a unique subject. Each
client is started in a tmux session of its own tmux server (`tmux -L`, 120x40,
started with a clean environment; HOME, XDG dirs, LANG and the password are
passed with `new-session -e`). The time runs from just before `new-session`
until `capture-pane` (polled every 10 ms) shows that subject:

- hello: a hello-world Textual app (one `Static`); the floor, until its text shows;
- aerc: `aerc` with an `imap+insecure://` account on the Dovecot, default INBOX;
- neomutt: `neomutt -n -F muttrc`, `sort=reverse-date`, header cache on (in the
  temp dir, filled by the round not counted);
- omnitui: `omnitui --config X` with a real `[[email]]` account on the same
  Dovecot. Its store is synced before the race (`omnitui serve` until every
  mail is stored, then stopped), so what is timed is the console's start with
  the email channel running in the same process.

One round not counted comes first (it fills neomutt's header cache, compiles
OmniTUI's bytecode and warms the page cache); then `--runs` rounds, the
client order rotated each round. Peak RSS is VmHWM of the client process (not
its children: OmniTUI's parse workers, neomutt's none) read just before its
tmux server is killed, 1 s after the mail showed.

Needs Dovecot, tmux, aerc and neomutt; run from the repository root, with the
venv active (it runs `omnitui` from the venv).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests.peers` lives in the repository, not in the venv
    sys.path.insert(1, str(ROOT))

from tests.peers.dovecot import Dovecot  # noqa: E402

DOVECOT = "/usr/sbin/dovecot"
CLIENTS = ("hello", "aerc", "neomutt", "omnitui")
OFFLINE = "omnitui, no channel"  # --offline: the same store, a config without [[email]]
LABELS = {
    "hello": "Textual hello world",
    "neomutt": "neomutt",
    "omnitui": "OmniTUI",
    OFFLINE: "OmniTUI, no channel",
}
APPEND_BATCH = 1000
SIZE = (120, 40)
POLL = 0.010
RUN_LIMIT = 180.0  # seconds before a client counts as stuck
SYNC_LIMIT = 1800.0
RSS_SETTLE = 1.0
PASSWORD_ENV = "OMNITUI_BENCH_MAIL_PASSWORD"

FIRST = ["Aiko", "Ben", "Chloe", "Daichi", "Emma", "Fumiko", "George", "Hana", "Ivan", "Jun"]
LAST = ["Tanaka", "Smith", "Suzuki", "Brown", "Sato", "Wilson", "Ito", "Taylor", "Kato", "Lee"]
TOPICS = ["Order", "Delivery", "Bouquet", "Invoice", "Wedding flowers", "Question", "Refund"]


# -- the mailbox -------------------------------------------------------------------


def make_mails(count: int, token: str) -> list[bytes]:
    """`count` small plain-text mails, oldest first; the last one is the newest
    (latest Date, highest UID) and its subject holds `token`."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=300)
    step = dt.timedelta(days=299) / max(count, 1)
    mails = []
    for n in range(count - 1):
        first, last = FIRST[n % 10], LAST[(n // 10) % 10]
        sender = f"{first} {last} <{first.lower()}.{last.lower()}{n % 500}@example.org>"
        subject = f"{TOPICS[n % len(TOPICS)]} #{100000 + n}"
        body = (
            f"Hello,\n\nabout my order #{100000 + n}: could you tell me when it ships?\n\n{first}\n"
        )
        mails.append(_mail(sender, subject, start + step * n, f"m{n}", body))
    newest = "Newest Customer <newest.customer@example.org>"
    body = "Hello,\n\nthis is the newest mail of the mailbox.\n"
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    mails.append(_mail(newest, f"Race {token}", now, "newest", body))
    return mails


def _mail(sender: str, subject: str, when: dt.datetime, mid: str, body: str) -> bytes:
    head = (
        f"From: {sender}\r\nTo: Sakura Flowers <shop@example.com>\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(when)}\r\nMessage-ID: <{mid}.race@example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
    )
    return (head + body.replace("\n", "\r\n")).encode()


def fill(server: Dovecot, mails: Sequence[bytes]) -> float:
    started = time.perf_counter()
    client: Any = IMAPClient(server.host, server.port, ssl=False, timeout=120)
    client.login(server.user, server.password)
    try:
        for at in range(0, len(mails), APPEND_BATCH):
            client.multiappend("INBOX", list(mails[at : at + APPEND_BATCH]))
    finally:
        client.logout()
    return time.perf_counter() - started


# -- the clients' configs ------------------------------------------------------------


@dataclass
class Setup:
    root: Path
    server: Dovecot
    token: str
    home: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        for sub in ("config", "data", "cache", "state", "runtime"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        (self.home / "runtime").chmod(0o700)

    def env(self) -> dict[str, str]:
        """The environment each client gets, and nothing else (tmux adds TERM)."""
        venv_bin = str(Path(sys.executable).parent)
        return {
            "HOME": str(self.home),
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "COLORTERM": "truecolor",
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "XDG_STATE_HOME": str(self.home / "state"),
            "XDG_RUNTIME_DIR": str(self.home / "runtime"),
            PASSWORD_ENV: self.server.password,
        }

    def hello(self) -> list[str]:
        path = self.root / "hello.py"
        path.write_text(
            textwrap.dedent(
                f"""\
                from textual.app import App, ComposeResult
                from textual.widgets import Static


                class Hello(App[None]):
                    def compose(self) -> ComposeResult:
                        yield Static("Hello, world {self.token}")


                Hello().run()
                """
            )
        )
        return [sys.executable, str(path)]

    def aerc(self) -> list[str]:
        conf = self.home / "config" / "aerc"
        conf.mkdir(parents=True, exist_ok=True)
        for name in ("aerc.conf", "binds.conf"):
            shutil.copy(Path("/usr/share/aerc") / name, conf / name)
        user = self.server.user.replace("@", "%40")
        accounts = conf / "accounts.conf"
        accounts.write_text(
            "[bench]\n"
            f"source = imap+insecure://{user}:{self.server.password}"
            f"@{self.server.host}:{self.server.port}\n"
            "outgoing = /bin/true\n"
            "default = INBOX\n"
            "from = Sakura Flowers <shop@example.com>\n"
        )
        accounts.chmod(0o600)  # aerc refuses an accounts.conf others can read
        return [shutil.which("aerc") or "/usr/bin/aerc"]

    def neomutt(self) -> list[str]:
        rc = self.root / "muttrc"
        cache = self.root / "neomutt-hcache"
        cache.mkdir(exist_ok=True)
        rc.write_text(
            f'set imap_user="{self.server.user}"\n'
            f'set imap_pass="{self.server.password}"\n'
            f'set folder="imap://{self.server.host}:{self.server.port}/"\n'
            'set spoolfile="+INBOX"\n'
            "set ssl_starttls=no\nset ssl_force_tls=no\n"
            f'set header_cache="{cache}/"\n'
            "set sort=reverse-date\n"
            "set mail_check_stats=no\nset imap_check_subscribed=no\n"
            'set from="shop@example.com"\n'
        )
        return [shutil.which("neomutt") or "/usr/bin/neomutt", "-n", "-F", str(rc)]

    def omnitui_config(self, email: bool = True) -> Path:
        path = self.root / ("omnitui.toml" if email else "omnitui-offline.toml")
        head = textwrap.dedent(
            f"""\
            [ui]
            language = "en"

            [store]
            path = "{self.root / "omnitui.db"}"
            """
        )
        account = textwrap.dedent(
            f"""
            [[email]]
            name = "shop"
            imap_host = "{self.server.host}"
            imap_port = {self.server.port}
            imap_tls = "none"
            username = "{self.server.user}"
            password_env = "{PASSWORD_ENV}"
            folders = ["INBOX"]
            backfill_days = 3650
            smtp_host = "127.0.0.1"
            smtp_port = 1
            smtp_tls = "none"
            from = "Sakura Flowers <shop@example.com>"
            """
        )
        path.write_text(head + account if email else head)
        return path

    def omnitui(self, email: bool = True) -> list[str]:
        binary = Path(sys.executable).parent / "omnitui"
        return [str(binary), "--config", str(self.omnitui_config(email))]

    def omnitui_offline(self) -> list[str]:
        return self.omnitui(email=False)

    def command(self, client: str) -> list[str]:
        makers = {
            "hello": self.hello,
            "aerc": self.aerc,
            "neomutt": self.neomutt,
            "omnitui": self.omnitui,
            OFFLINE: self.omnitui_offline,
        }
        return makers[client]()

    def needle(self, client: str) -> str:
        return f"Hello, world {self.token}" if client == "hello" else f"Race {self.token}"


def sync_omnitui(setup: Setup, count: int) -> float:
    """`omnitui serve` until every mail is in the store, then SIGTERM."""
    db = setup.root / "omnitui.db"
    started = time.perf_counter()
    log = (setup.root / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "omnitui"),
            "serve",
            "--config",
            str(setup.omnitui_config()),
        ],
        env=setup.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"omnitui serve exited with {proc.returncode}; see {log.name}")
            if time.perf_counter() - started > SYNC_LIMIT:
                raise RuntimeError("omnitui serve did not store every mail in time")
            if db.exists() and stored(db) >= count:
                return time.perf_counter() - started
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def stored(db: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            return int(con.execute("SELECT count(*) FROM message").fetchone()[0])
    except sqlite3.Error:
        return 0


# -- one run in tmux ----------------------------------------------------------------


@dataclass
class Run:
    client: str
    seconds: float
    peak_rss_kb: int
    process: str = ""  # the name of the process whose RSS was read
    screen: str = ""  # the screen when the mail showed


class Tmux:
    """One tmux server of our own (`-L`), its socket under the temp dir."""

    def __init__(self, setup: Setup, name: str) -> None:
        self.setup = setup
        self.base = ["tmux", "-L", name, "-f", "/dev/null"]
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "TMUX_TMPDIR": str(setup.root)}

    def run(self, *args: str) -> str:
        out = subprocess.run(
            [*self.base, *args], env=self.env, capture_output=True, text=True, check=True
        )
        return out.stdout

    def start(self, command: Sequence[str]) -> None:
        pairs = [arg for key, value in self.setup.env().items() for arg in ("-e", f"{key}={value}")]
        width, height = SIZE
        self.run(
            "new-session", "-d", "-s", "race", "-x", str(width), "-y", str(height),
            "-c", str(self.setup.home), *pairs, *command,
        )  # fmt: skip

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "race")

    def pane_pid(self) -> int:
        pid = int(self.run("display", "-p", "-t", "race", "#{pane_pid}").strip())
        # Given argv, tmux runs the command itself; were it a shell, take its child.
        if (Path(f"/proc/{pid}/comm").read_text().strip()) in ("sh", "dash", "bash"):
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if children:
                return int(children[0])
        return pid

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], env=self.env, capture_output=True)


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def wait_gone(pid: int, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def race(setup: Setup, client: str, serial: int) -> Run:
    tmux = Tmux(setup, f"race-{os.getpid()}-{serial}")
    command, needle = setup.command(client), setup.needle(client)
    pid = 0
    try:
        started = time.perf_counter()
        tmux.start(command)
        tick = started
        while True:
            screen = tmux.screen()
            if needle in screen:
                seconds = time.perf_counter() - started
                break
            if time.perf_counter() - started > RUN_LIMIT:
                raise RuntimeError(f"{client}: {needle!r} never showed; the screen:\n{screen}")
            tick += POLL
            time.sleep(max(0.0, tick - time.perf_counter()))
        pid = tmux.pane_pid()
        time.sleep(RSS_SETTLE)
        process = Path(f"/proc/{pid}/comm").read_text().strip()
        return Run(client, seconds, peak_rss_kb(pid), process, screen)
    finally:
        if not pid:
            with contextlib.suppress(subprocess.CalledProcessError, OSError, ValueError):
                pid = tmux.pane_pid()
        tmux.kill()
        if pid:
            wait_gone(pid)


# -- the table ---------------------------------------------------------------------


def version(command: Sequence[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def describe(count: int) -> str:
    import textual

    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Textual {textual.__version__}, "
        f"Dovecot {version([DOVECOT, '--version'])}, {version(['aerc', '-v'])}, "
        f"{version(['neomutt', '-v'])}, {version(['tmux', '-V'])}; {count:,} messages in INBOX"
    )


def label(client: str) -> str:
    """A client's name in the table, as the issue's table names it."""
    if client == "aerc":
        words = version(["aerc", "-v"]).split()  # "aerc 0.14.0 +notmuch (go1.19.8 ...)"
        release = words[1].rsplit(".", 1)[0] if len(words) > 1 and words[1][:1].isdigit() else ""
        return f"aerc {release}".strip()
    return LABELS.get(client, client)


def render(runs: Sequence[Run], clients: Sequence[str]) -> str:
    """The race table (median of the runs, its ratio to the hello world's median,
    the highest peak RSS in MiB), then every run of each client."""
    medians = {
        c: statistics.median(r.seconds for r in runs if r.client == c)
        for c in clients
        if any(r.client == c for r in runs)
    }
    hello = medians.get("hello")
    head = ("client", "median", "x Textual hello", "peak RSS")
    body = []
    for client, median in medians.items():
        rss = max(r.peak_rss_kb for r in runs if r.client == client)
        ratio = f"{median / hello:.1f}x" if hello else ""
        body.append((label(client), f"{median:.2f} s", ratio, f"{rss / 1024:.0f} MiB"))
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    lines = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [line(row) for row in body]
    lines.append("")
    for client, median in medians.items():
        each = ", ".join(f"{r.seconds:.3f}" for r in runs if r.client == client)
        peaks = ", ".join(f"{r.peak_rss_kb / 1024:.0f}" for r in runs if r.client == client)
        ratio = f", {median / hello:.2f}x hello" if hello else ""
        lines.append(
            f"- {label(client)}: median {median:.3f} s{ratio}; runs (s) {each}; "
            f"peak RSS (MiB) {peaks}"
        )
    return "\n".join(lines)


def rounds(runs: int, clients: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    for n in range(runs):
        shift = n % len(clients)
        yield n, [*clients[shift:], *clients[:shift]]


# -- main ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=50_000, help="mails in INBOX (50,000)")
    parser.add_argument("--quick", action="store_true", help="2,000 mails")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (5)")
    parser.add_argument(
        "--screens", action="store_true", help="print each client's screen of the warm-up round"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help=f"add a row {OFFLINE!r}: OmniTUI on the same store with no [[email]] configured",
    )
    args = parser.parse_args(argv)
    clients = [*CLIENTS, OFFLINE] if args.offline else list(CLIENTS)
    count = 2_000 if args.quick else args.messages
    missing = [b for b in (DOVECOT, "tmux", "aerc", "neomutt") if not shutil.which(b)]
    if missing:
        print(f"startup_race: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="omnitui-race-"))
    root.chmod(0o755)
    server: Dovecot | None = None
    try:
        server = Dovecot.create(root / "dovecot", DOVECOT)
        setup = Setup(root, server, uuid.uuid4().hex[:12])
        mails = make_mails(count, setup.token)
        print(f"filled INBOX with {count:,} mails in {fill(server, mails):.1f} s", flush=True)
        del mails
        print(f"omnitui serve stored them all in {sync_omnitui(setup, count):.1f} s", flush=True)
        serial = 0
        for client in clients:  # the round not counted
            serial += 1
            run = race(setup, client, serial)
            print(f"  warm-up {client}: {run.seconds:.3f} s (pid of {run.process})", flush=True)
            if args.screens:
                print(textwrap.indent(run.screen.rstrip(), "    | "), flush=True)
        runs: list[Run] = []
        for n, order in rounds(args.runs, clients):
            for client in order:
                serial += 1
                runs.append(race(setup, client, serial))
            print(
                f"  round {n + 1}: "
                + ", ".join(f"{r.client} {r.seconds:.3f}" for r in runs[-len(order) :]),
                flush=True,
            )
        print()
        print(describe(count))
        print(render(runs, clients))
        return 0
    except KeyboardInterrupt:
        print("startup_race: interrupted", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
