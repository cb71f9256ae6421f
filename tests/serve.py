"""`omnitui serve` as a real process on a temp store, and the processes it leaves behind."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.peers.telegram_api import TOKEN


class ServeCommand:
    """A shop on a temp store; `start()` runs `omnitui serve` for it.

    `ServeCommand(tmp_path, api_base, token_env)`: the shop's one channel is a
    Telegram bot on the loopback Bot API. `ServeCommand.with_channels(tmp_path,
    sections, secrets)`: any channel sections, their secrets in the environment.
    """

    def __init__(self, tmp_path: Path, api_base: str, token_env: str) -> None:
        self._configure(
            tmp_path,
            f'[[telegram]]\nname = "shop-bot"\ntoken_env = "{token_env}"\napi_base = "{api_base}"\n',
            {token_env: TOKEN},
        )

    @classmethod
    def with_channels(
        cls, tmp_path: Path, sections: str, secrets: Mapping[str, str]
    ) -> ServeCommand:
        shop = cls.__new__(cls)
        shop._configure(tmp_path, sections, secrets)
        return shop

    def _configure(self, tmp_path: Path, sections: str, secrets: Mapping[str, str]) -> None:
        self.db = tmp_path / "shop.db"
        self.config = tmp_path / "config.toml"
        self.config.write_text(f'[store]\npath = "{self.db}"\n\n{sections}', encoding="utf-8")
        self.log_file = tmp_path / "serve.log"  # both runs append: what serve said, in order
        self.env = {**os.environ, **secrets, "HOME": str(tmp_path)}
        self.env.pop("XDG_STATE_HOME", None)

    async def start(self) -> asyncio.subprocess.Process:
        command = [sys.executable, "-m", "omnitui.cli", "--config", str(self.config), "serve"]
        with self.log_file.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                *command, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=log
            )


@dataclass(frozen=True, slots=True)
class Proc:
    """A process as /proc shows it; `started` (clock ticks after boot) tells a reused pid apart."""

    pid: int
    started: int
    command: str

    def alive(self) -> bool:
        """Still running: the same process (not a new one with its pid), and not a zombie."""
        stat = _stat(self.pid)
        return stat is not None and stat[2] == self.started and stat[0] not in ("Z", "X")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent pid and start time of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: count fields after it.
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[19])


def descendants(pid: int) -> list[Proc]:
    """Every living child, grandchild... of `pid` (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] not in ("Z", "X"):
                parents.setdefault(stat[1], []).append(int(entry.name))
    found: list[Proc] = []
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        stat = _stat(child)
        if stat is None:
            continue
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found.append(Proc(child, stat[2], command.strip()))
        todo.extend(parents.get(child, []))
    return found
