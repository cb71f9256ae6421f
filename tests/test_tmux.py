"""The real `omnitui demo` binary in a real terminal (tmux): what an agent sees."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import tmux_command
from tests.waiting import wait_until_sync

pytestmark = pytest.mark.tmux


class Terminal:
    def __init__(self, tmux: list[str], name: str) -> None:
        self.tmux, self.name = tmux, name  # the tmux command line (with its server), the session

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, "-l", text], check=True)

    def screen(self) -> str:
        out = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def reply(self) -> None:
        """`r`, then wait as a person does until the composer has the focus."""
        self.keys("r")
        self.wait_for("^s Send")
        time.sleep(0.3)

    def open_first_and_reply(self) -> None:
        """The first customer's thread, and the composer under it."""
        self.wait_for("Customers")
        self.keys("Enter")
        self.wait_for("Reply via")
        self.reply()

    def quit(self, done: Path) -> None:
        """`q`; the console must exit with status 0."""
        self.keys("q")
        wait_until_sync(done.exists, 10, self.screen)
        assert done.read_text().strip() == "0", self.screen()

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The screen once `text` shows on it."""
        screen = [""]

        def shows() -> bool:
            screen[0] = self.screen()
            return text in screen[0]

        wait_until_sync(
            shows, timeout, lambda: f"{text!r} never showed; the screen was:\n{screen[0]}"
        )
        return screen[0]


@contextlib.contextmanager
def demo_in_tmux(
    tmp_path: Path,
    *args: str,
    size: tuple[int, int] = (100, 30),
    binary: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[Terminal, Path]]:
    """The real `omnitui demo ARGS` in a tmux session of `size`, in an English
    locale; yields the terminal and the file its exit code is written to.
    `binary` is the installed `omnitui` to run (default: this environment's)."""
    tmux = tmux_command()
    binary = binary or Path(sys.executable).parent / "omnitui"
    name = f"omnitui-test-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "exit-code"
    demo = " ".join([f"'{binary}'", "demo", *args, "--store", f"'{tmp_path / 'demo.db'}'"])
    command = f"{demo}; echo $? > '{done}'; sleep 30"
    width, height = size
    session_env = {"LANG": "C.UTF-8", "HOME": str(tmp_path), **(env or {})}
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height)]
        + [f"-e{key}={value}" for key, value in session_env.items()]
        + [command],
        check=True,
        env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    try:
        yield Terminal(tmux, name), done
    finally:
        subprocess.run([*tmux, "kill-session", "-t", name], check=False, capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    with demo_in_tmux(tmp_path, "--interval", "2") as opened:
        yield opened


def test_the_demo_answers_a_customer_end_to_end(terminal: tuple[Terminal, Path]) -> None:
    term, done = terminal
    screen = term.wait_for("Customers")
    assert "Canned replies" in screen and "Reply" in screen
    term.keys("Enter")
    term.wait_for("Reply via")
    term.keys("r")
    term.wait_for("^s Send")  # a person looks up before typing: the composer has the focus
    time.sleep(0.3)
    term.type("Hello from the counter")
    term.wait_for("Hello from the counter")
    term.keys("C-s")
    screen = term.wait_for("delivered ✓✓", timeout=15)
    assert "Hello from the counter" in screen
    assert "you: Hello from" in screen  # the contact list preview

    # A customer's escape sequences and markup are shown as text, and the screen survives.
    # Each escape on its own: ESC followed at once by a key reads as alt+key.
    term.keys("Escape")
    time.sleep(0.3)
    term.keys("Escape")
    time.sleep(0.3)
    term.keys("/")
    term.wait_for("Search messages and contacts")
    time.sleep(0.3)
    term.type("FREE FLOWERS")
    term.wait_for(" ms · ")  # the results are in
    term.keys("Enter")
    screen = term.wait_for("[bold red]FREE FLOWERS[/]")
    assert "␛[2J" in screen and "␛[31mclick here" in screen
    assert "Customers" in screen  # not cleared by the ESC[2J the customer sent

    term.keys("Escape")
    time.sleep(0.3)
    term.quit(done)


def far_down_the_list(db: Path) -> tuple[str, str]:
    """A demo customer with a name no one else has, far below the first page
    of the list: (name, one of their addresses)."""
    import asyncio

    from omnitui.demo import build_demo_store
    from omnitui.store import Store

    async def build() -> tuple[str, str]:
        store = await Store.open(db)
        try:
            await build_demo_store(store, now=time.time())
            listed = await store.list_contacts(limit=1000)
            names = [c.name for c in listed]
            for summary in listed[150:]:
                if names.count(summary.name) == 1:
                    contact = await store.get_contact(summary.id)
                    return summary.name, contact.identities[0].address
        finally:
            await store.close()
        raise AssertionError("the demo has no customer with a name of their own")

    return asyncio.run(build())


def test_jumping_to_a_customer_not_loaded_yet_shows_them(tmp_path: Path) -> None:
    name, address = far_down_the_list(tmp_path / "demo.db")
    with demo_in_tmux(tmp_path, "--interval", "30", size=(120, 40)) as (term, done):
        term.wait_for("Customers")
        term.keys("/")
        term.wait_for("Search messages and contacts")
        time.sleep(0.3)
        term.type(name)
        term.wait_for(" ms · ")  # the results are in
        term.keys("Enter")
        screen = term.wait_for(address)  # the thread header of the customer found
        assert "Traceback" not in screen

        # `n` from a view that does not hold the longest-waiting customer.
        term.keys("Escape")  # back to the list, where `v` changes the view
        time.sleep(0.3)
        term.keys("v")
        term.wait_for("Mine")
        term.keys("v")
        term.wait_for("Unassigned")
        term.keys("n")
        screen = term.wait_for("Waiting")  # the view that holds them, said in the title
        assert "Traceback" not in screen
        term.quit(done)


def test_an_unexpected_error_exits_1_cleanly_with_the_traceback_in_the_log(
    tmp_path: Path,
) -> None:
    db = tmp_path / "demo.db"
    with demo_in_tmux(tmp_path, "--interval", "1", size=(120, 40)) as (term, done):
        term.wait_for("Customers")
        time.sleep(1)
        size = db.stat().st_size
        with db.open("r+b") as file:  # the disk goes bad under the running console
            file.seek(4096)
            file.write(b"\0" * (size - 4096))

        def stopped() -> bool:
            term.keys("j")  # the agent keeps working; the console must notice the damage
            return done.exists()

        wait_until_sync(stopped, 30, term.screen, every=0.2)
        assert done.read_text().strip() == "1"
        screen = term.screen()
        log = tmp_path / ".local" / "state" / "omnitui" / "log" / "omnitui.log"
        said = " ".join(screen.split())  # the line wraps at the terminal's width
        assert f"OmniTUI stopped on an unexpected error; what happened is in {log}" in said
        assert "Customers" not in screen and "Traceback" not in screen  # the terminal is back
        written = log.read_text(encoding="utf-8")
        assert "the console stopped on an unexpected error" in written
        assert "Traceback" in written and "malformed" in written


def test_capital_and_modifier_keys_work_in_a_real_terminal(tmp_path: Path) -> None:
    """A terminal sends `R`, not shift+r: every such binding, pressed for real."""
    with demo_in_tmux(tmp_path, "--interval", "30", size=(120, 40)) as (term, done):
        term.wait_for("Customers")
        term.keys("C-p")
        term.wait_for("Search for commands")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("V")
        term.wait_for("Unassigned")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("D")
        term.wait_for("Possible duplicates")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("A")
        term.wait_for("Assigned to Aiko")

        # Ken's phone is unreachable: his reply fails, and R queues it again.
        term.keys("/")
        term.wait_for("Search messages and contacts")
        time.sleep(0.3)
        term.type("Ken Unreachable")
        term.wait_for(" ms · ")  # the results are in
        term.keys("Enter")
        term.wait_for("+819000000000")
        term.reply()
        term.keys("C-t")  # ctrl+t: Ken has one channel, so it stays SMS
        term.type("Are you there?")
        term.wait_for("Are you there?")
        term.keys("C-s")
        term.wait_for("unreachable")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("R")
        term.wait_for("Queued again")
        term.reply()
        term.keys("C-r")
        term.wait_for("Canned")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("C-o")
        term.wait_for("Attach")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("Escape")
        time.sleep(0.3)
        term.quit(done)


def test_the_contact_list_keeps_its_rows_after_an_empty_view(tmp_path: Path) -> None:
    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 30)) as (term, _done):
        term.wait_for("Customers · All")
        term.keys("v")
        term.wait_for("Customers · Mine 0")  # nobody is assigned to Aiko yet
        term.keys("v")
        screen = term.wait_for("Customers · Unassigned")
        time.sleep(0.5)
        rows = [line.split("│")[1] for line in term.screen().splitlines()[1:9]]
        # Each customer is two rows: marks, name and age; then the preview, indented.
        for top, preview in zip(rows[0::2], rows[1::2], strict=True):
            assert top[:1] != " " and len(top.split()) >= 3, screen  # marks, name…, age
            assert preview.startswith("    ") and preview.strip(), screen


def test_text_typed_for_one_customer_is_never_sent_to_the_next(tmp_path: Path) -> None:
    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 40)) as (term, done):
        term.open_first_and_reply()
        term.type("Thank you for your message, dear first customer!")
        term.wait_for("dear first customer!")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("j")
        time.sleep(0.5)
        screen = term.screen()
        assert "dear first customer" not in screen  # the next customer's composer is theirs
        assert "✎" in screen  # the first customer's row shows the draft waiting
        term.keys("r")
        term.wait_for("^s Send")
        term.keys("C-s")
        term.wait_for("Nothing to send")
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("k")
        term.wait_for("dear first customer!")  # back with its customer
        term.keys("Escape")
        time.sleep(0.3)
        term.quit(done)


def test_ctrl_e_writes_the_reply_in_the_agents_editor(tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf '\\nWith love from the editor' >> \"$1\"\n")
    editor.chmod(0o755)
    with demo_in_tmux(
        tmp_path, "--interval", "60", size=(120, 40), env={"EDITOR": str(editor)}
    ) as (term, _done):
        term.open_first_and_reply()
        term.type("Dear customer,")
        term.wait_for("Dear customer,")
        term.keys("C-e")
        screen = term.wait_for("With love from the editor")
        assert "Dear customer," in screen and "Customers" in screen  # back in the console
        term.keys("C-s")
        screen = term.wait_for("delivered ✓✓", timeout=15)
        assert "With love from the editor" in screen


def test_ctrl_e_without_an_editor_says_how_to_set_one(tmp_path: Path) -> None:
    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 40)) as (term, _done):
        term.open_first_and_reply()
        term.keys("C-e")
        term.wait_for("Set $VISUAL or $EDITOR")


def test_u_takes_back_a_reply_before_it_goes_and_it_never_goes(tmp_path: Path) -> None:
    import sqlite3

    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 40)) as (term, done):
        term.open_first_and_reply()
        term.type("Oops, this was for someone else")
        term.wait_for("Oops, this was for someone else")
        term.keys("C-s")
        term.wait_for("u to undo")
        term.keys("u")
        term.wait_for("back in the composer")
        time.sleep(7)  # past the moment it would have gone
        screen = term.screen()
        assert screen.count("Oops, this was for someone else") == 1, screen  # the composer only
        term.keys("Escape")
        time.sleep(0.3)
        term.quit(done)
    conn = sqlite3.connect(tmp_path / "demo.db")
    sent = conn.execute("SELECT count(*) FROM message WHERE text LIKE 'Oops%'").fetchone()[0]
    kept = conn.execute("SELECT text FROM draft").fetchall()
    conn.close()
    assert sent == 0  # never went out, and no trace in the thread
    assert kept == [("Oops, this was for someone else",)]  # it is a draft again


def test_a_reply_not_taken_back_goes_after_the_wait(tmp_path: Path) -> None:
    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 40)) as (term, _done):
        term.open_first_and_reply()
        term.type("See you at three")
        term.keys("C-s")
        screen = term.wait_for("u to undo")
        assert "delivered" not in status_above(screen, "See you at three")
        wait_until_sync(
            lambda: "delivered ✓✓" in status_above(term.screen(), "See you at three"),
            20,
            term.screen,
            every=0.2,
        )


def status_above(screen: str, text: str) -> str:
    """The header line (direction, time, delivery state) of the message `text` in the thread."""
    lines = screen.splitlines()
    at = max(i for i, line in enumerate(lines) if text in line)
    return next((line for line in reversed(lines[max(0, at - 3) : at]) if "→" in line), "")


def test_new_messages_notify_the_desktop_and_group_their_toasts(tmp_path: Path) -> None:
    """A console on its own store; another OmniTUI process stores what customers send."""
    import asyncio
    import shlex

    from omnitui.domain.models import Channel, ChannelKind, Inbound
    from omnitui.store import Store

    db, config = tmp_path / "shop.db", tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n[store]\npath = "{db}"\n'
        '[ui]\ndesktop_notifications = "osc777"\nbell = false\n',
        encoding="utf-8",
    )
    mail = Channel(ChannelKind.EMAIL, "shop-mail")

    async def arrive(*senders: str) -> None:
        store = await Store.open(db)
        try:
            for n, name in enumerate(senders):
                address = f"customer{len(name)}{n}@example.com"
                await store.ingest(
                    [Inbound(mail, f"{name}-{n}", address, name, "Hello!", time.time())]
                )
                await asyncio.sleep(0.3)
        finally:
            await store.close()

    asyncio.run(arrive("Emma"))  # the store exists before the console opens
    tmux = tmux_command()
    name = f"omnitui-test-{uuid.uuid4().hex[:8]}"
    raw = tmp_path / "raw-output"
    console = shlex.join([str(Path(sys.executable).parent / "omnitui"), "--config", str(config)])
    subprocess.run(
        [
            *[*tmux, "new-session", "-d", "-s", name, "-x", "120", "-y", "30"],
            *[f"-eHOME={tmp_path}", f"{console}; sleep 30"],
        ],
        env={
            "TERM": "xterm-256color",
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(tmp_path),
        },
        check=True,
    )
    try:
        term = Terminal(tmux, name)
        subprocess.run([*tmux, "pipe-pane", "-t", name, "-o", f"cat >> {raw}"], check=True)
        term.wait_for("Customers")
        asyncio.run(arrive("Olivia", "Lucas", "Eve\x1b]0;pwned\x07", "Noah", "Mia"))
        term.wait_for("New message")
        term.wait_for("4 new messages", timeout=15)  # the rest in one toast, not four
        written = raw.read_bytes()
        assert b"\x1b]777;notify;New message;Olivia\x07" in written
        assert b"\x1b]777;notify;4 new messages;" in written
        assert b"pwned\x07" not in written and b"\x1b]0;" not in written  # the name's escape
    finally:
        subprocess.run([*tmux, "kill-session", "-t", name], check=False, capture_output=True)


@pytest.mark.parametrize(
    ("size", "language", "customers"),
    [((80, 24), "en", "Customers"), ((120, 40), "en", "Customers"), ((80, 24), "ja", "お客様")],
)
def test_a_newcomer_presses_every_key_and_nothing_crashes(
    tmp_path: Path, size: tuple[int, int], language: str, customers: str
) -> None:
    """Every key of the README's table, in a row, at a small and a big terminal."""
    with demo_in_tmux(tmp_path, "--interval", "3", "--language", language, size=size) as (
        term,
        done,
    ):
        term.wait_for(customers)

        def press(*keys: str, settle: float = 0.4) -> None:
            for key in keys:
                term.keys(key)
                time.sleep(settle)

        press("j", "j", "k", "Down", "Up", "Enter")  # the list, then a thread
        press("f", "v", "Escape", "a", "k", "j")  # fold, source, save, move in the thread
        press("r")
        term.type("Hello")
        press("C-t", "C-r", "Escape", "C-o", "Escape", "Escape")  # composer keys, back out
        press("c", "Escape", "Tab", "BTab", "Escape")  # canned picker, panes
        press("?", "Escape", "C-p", "Escape")  # help, palette
        press("/")
        term.type("予約")
        press("Enter", "Escape")  # a search hit, then back to the list
        press("v", "v", "V", "Escape", "n", "Escape")  # views, next waiting
        press("t", "Escape", "A", "A", "e", "o")  # tags, assign twice, resolve, reopen
        press("z", "Escape", "m", "Escape", "u", "p", "Escape", "D", "Escape")
        press("R", "Escape", "b", "Escape")  # retry, the automation rules
        screen = term.screen()
        # The inbox is still there (its footer: at 80 columns a long view name may
        # take the list's title), and no traceback.
        quit_key = "q 終了" if language == "ja" else "q Quit"
        assert quit_key in screen and "Traceback" not in screen, screen
        term.quit(done)


def test_the_subject_and_cc_of_an_email_reply_are_set_in_a_real_terminal(tmp_path: Path) -> None:
    """ctrl+j and ctrl+l as a terminal sends them (a line feed, a form feed)."""
    import json
    import sqlite3

    with demo_in_tmux(tmp_path, "--interval", "60", size=(120, 40)) as (term, done):
        term.wait_for("Customers")
        term.keys("/")
        term.wait_for("Search messages and contacts")
        time.sleep(0.3)
        term.type("Mallory")  # the demo's customer on email alone
        term.wait_for("contact Mallory")
        term.keys("Enter")
        term.wait_for("mallory@example.com")
        term.keys("r")
        screen = term.wait_for("^s Send")
        assert "-- Sakura Flowers · 03-1234-5678 · Aiko" in screen  # the signature to go
        time.sleep(0.3)
        term.keys("C-j")  # to the subject field above the text
        time.sleep(0.3)
        term.keys("C-u")
        term.type("Your bouquet is ready")
        term.wait_for("Your bouquet is ready")
        term.keys("Enter")  # on to the text
        time.sleep(0.3)
        term.keys("C-l")
        term.wait_for("Copies of the reply to Mallory [red]Hacker[/]")  # her name, as text
        term.type("ken@")
        term.keys("Enter")
        term.wait_for("Not an email address: ken@")
        term.keys("C-u")
        term.type("manager@example.com")
        term.keys("Enter")
        term.wait_for("Cc: manager@example.com")
        term.type("Ready at three.")
        term.wait_for("Ready at three.")
        term.keys("C-s")
        term.wait_for("u to undo")
        wait_until_sync(
            lambda: "delivered ✓✓" in status_above(term.screen(), "Ready at three."),
            20,
            term.screen,
            every=0.2,
        )
        lines = term.screen().splitlines()  # the thread's lines are whole rows here
        at = max(i for i, line in enumerate(lines) if "Ready at three." in line)
        assert (
            "Your bouquet is ready" in lines[at - 2] and "Cc: manager@example.com" in lines[at - 1]
        )
        assert "-- " in lines[at + 1] and "Sakura Flowers · 03-1234-5678" in lines[at + 2]
        term.keys("Escape")
        time.sleep(0.3)
        term.keys("q")
        wait_until_sync(done.exists, 10, term.screen)
        assert done.read_text().strip() == "0", term.screen()
    conn = sqlite3.connect(tmp_path / "demo.db")
    subject, meta = conn.execute(
        "SELECT subject, meta FROM message WHERE text = 'Ready at three.'"
    ).fetchone()
    conn.close()
    assert subject == "Your bouquet is ready"
    kept = json.loads(meta)
    assert kept["cc"] == ["manager@example.com"]
    assert kept["signature"] == "Sakura Flowers · 03-1234-5678\nAiko"
