"""A throwaway Dovecot IMAP server on loopback, for tests and the bench.

Written per PEERS.md: our own config under a temp dir (the package's service
is not used), plain-text login on 127.0.0.1, Maildir owned by `nobody` when
run as root (Dovecot refuses uid 0 for mail).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

USER = "shop@example.com"
PASSWORD = "counter-pass"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
imap_idle_notify_interval = 2 mins
shutdown_clients = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command name) is the parent pid.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class Dovecot:
    """One running Dovecot; `stop()` / `start()` restart it on the same port."""

    binary: str
    root: Path
    port: int
    user: str = USER
    password: str = PASSWORD
    host: str = "127.0.0.1"

    @classmethod
    def create(cls, root: Path, binary: str, extra: str = "") -> Dovecot:
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        as_root = os.geteuid() == 0
        uid, gid = ("nobody", "nogroup") if as_root else (str(os.getuid()), str(os.getgid()))
        login_user = "dovenull" if _user_exists("dovenull") else pwd.getpwuid(os.getuid()).pw_name
        internal_user = "dovecot" if _user_exists("dovecot") else pwd.getpwuid(os.getuid()).pw_name
        (root / "dovecot.conf").write_text(
            CONFIG.format(
                root=root,
                port=port,
                uid=uid,
                gid=gid,
                login_user=login_user,
                internal_user=internal_user,
            )
            + extra
        )
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        mail = root / "mail"
        mail.mkdir(exist_ok=True)
        if as_root:
            shutil.chown(mail, "nobody", "nogroup")
            # The mail processes run as nobody and must reach the Maildir.
            for parent in [root, *root.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        server = cls(binary, root, port)
        server.start()
        return server

    def start(self) -> None:
        subprocess.run([self.binary, "-c", str(self.root / "dovecot.conf")], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen; log:\n{self.log()}")

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text().strip())
        # Its client processes go too, as in a real restart: connections drop.
        for proc in [pid, *_children(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""
