"""The store's files on disk: private to their user, or shared through a group.

A shop server has other users, and the store holds every customer's messages,
so the store, its WAL and lock files are created 0600 in 0700 folders,
whatever the umask. Agents who log in as separate Unix users share a store
through a group the shop chooses (`[store] group`): files 0660 and folders
2770 (set-group-id, so new files join the group).

SQLite creates the -wal and -shm files with the mode and owner of the
database file, so setting the database file's mode at open covers them.
"""

from __future__ import annotations

import contextlib
import grp
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from omnitui.errors import OmniError
from omnitui.store.migrate import HEAD, current_revision


class StoreUnusable(OmniError):
    """The store file cannot be opened or used; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Access:
    """Who may read the store's files: its user alone, or also `group`."""

    group: str | None = None

    @property
    def file_mode(self) -> int:
        return 0o660 if self.group else 0o600

    @property
    def dir_mode(self) -> int:
        return 0o2770 if self.group else 0o700

    def gid(self) -> int:
        """The group's id; -1 (leave as is) without a group."""
        if not self.group:
            return -1
        try:
            return grp.getgrnam(self.group).gr_gid
        except KeyError:
            raise StoreUnusable(
                "[store] group {group} does not exist", group=repr(self.group)
            ) from None


PRIVATE = Access()


def make_folder(folder: Path, access: Access = PRIVATE) -> None:
    """Create `folder` and missing parents with the access's mode (not the umask's)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            created.mkdir()
        _own(created, access.dir_mode, access.gid())
    if access.group and folder.exists():
        _own(folder, access.dir_mode, access.gid())  # a folder made private before sharing


def secure_file(path: Path, access: Access = PRIVATE) -> None:
    """Give an existing file of ours the access's mode and group."""
    if path.exists():
        _own(path, access.file_mode, access.gid())


def create_file(path: Path, access: Access = PRIVATE) -> None:
    """Create `path` empty if missing, then give it the access's mode."""
    make_folder(path.parent, access)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, access.file_mode)
    os.close(fd)
    secure_file(path, access)


def prepare(path: Path, access: Access = PRIVATE) -> None:
    """Before SQLite opens `path`: its folder and file exist with the right modes,
    and the WAL and shared-memory files left from an earlier run are fixed too."""
    try:
        create_file(path, access)
        for suffix in ("-wal", "-shm"):
            secure_file(Path(f"{path}{suffix}"), access)
        damage = header_damage(path)
    except PermissionError as exc:
        raise StoreUnusable(
            "{path}: cannot create or open it: {reason}", path=path, reason=exc.strerror
        ) from None
    if damage:
        raise unusable(path, sqlite3.DatabaseError(damage))


def header_damage(path: Path) -> str | None:
    """What SQLite's 100-byte header says is wrong with the file, without reading it all.

    SQLite opens a truncated file and fails only on the first read of a
    missing page, deep inside a running console; the header's page count
    finds it at once. With a WAL of its own the file may be mid-checkpoint,
    so only a file without one is judged by its length.
    """
    size = path.stat().st_size
    if size == 0:
        return None  # new: SQLite makes it a database
    with path.open("rb") as file:
        head = file.read(100)
    if len(head) < 100 or not head.startswith(b"SQLite format 3\0"):
        return "file is not a database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None
    in_header = head[24:28] == head[92:96]  # the page count is valid for this change
    if size % page_size or (in_header and size < pages * page_size):
        return "database disk image is malformed (the file is shorter than it should be)"
    return None


def _own(path: Path, mode: int, gid: int) -> None:
    """Set mode and group on a file or folder this user owns; others' are left alone."""
    info = path.stat()
    if info.st_uid != os.geteuid():
        return
    if gid != -1 and info.st_gid != gid:
        os.chown(path, -1, gid)
    if (info.st_mode & 0o7777) != mode:
        os.chmod(path, mode)


def unusable(path: Path, exc: BaseException) -> StoreUnusable:
    """Why the store at `path` cannot be used, in one line for the user."""
    text = str(exc)
    if "file is not a database" in text:
        return StoreUnusable(
            "{path}: not an OmniTUI store: the file is not a SQLite database", path=path
        )
    if "malformed" in text or "database corrupt" in text:
        return StoreUnusable(
            "{path}: the store file is damaged ({reason}); restore it from a backup",
            path=path,
            reason=text,
        )
    if "readonly" in text or "read-only" in text:
        return StoreUnusable(
            "{path}: the store is read-only for this user "
            "(check the file's and the folder's permissions)",
            path=path,
        )
    if "unable to open" in text:
        return StoreUnusable(
            "{path}: cannot open it (does the folder exist, and may this user write there?)",
            path=path,
        )
    if isinstance(exc, OSError) and exc.strerror:
        return StoreUnusable("{path}: cannot use it: {reason}", path=path, reason=exc.strerror)
    return StoreUnusable("{path}: {reason}", path=path, reason=text)


def explain(path: Path, exc: BaseException) -> str:
    """One line for the user on why the store at `path` cannot be used."""
    return str(unusable(path, exc))


def check(path: Path) -> tuple[bool, str]:
    """Whether the store at `path` can be used, and a line saying what was found.

    Opens the file read-only and runs SQLite's quick check, so a damaged or
    foreign file is found before `serve` runs on it; a missing store is fine
    when its folder can be written (it is created on first start).
    """
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), None)
        if folder is None or not os.access(folder, os.W_OK | os.X_OK):
            return False, f"{path}: does not exist, and {folder} cannot be written"
        return True, f"{path} (new: created on first start)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            (verdict,) = conn.execute("PRAGMA quick_check(1)").fetchone()
            if verdict != "ok":
                return False, explain(path, sqlite3.DatabaseError(f"malformed: {verdict}"))
            revision = current_revision(path)
            contacts = conn.execute("SELECT count(*) FROM contact").fetchone()[0] if revision else 0
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return False, explain(path, exc)
    if revision is not None and revision > HEAD:
        return False, f"{path}: written by a newer OmniTUI (schema {revision}); upgrade OmniTUI"
    if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        return False, explain(
            path, sqlite3.OperationalError("attempt to write a readonly database")
        )
    return True, f"{path} ({contacts} contacts, schema {revision or 'empty'})"
