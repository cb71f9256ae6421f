"""`omnitui serve` as a real process on a temp store, its bot on the loopback Bot API."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.peers.telegram_api import TOKEN


class ServeCommand:
    """A shop whose one channel is a Telegram bot; `start()` runs `omnitui serve` for it."""

    def __init__(self, tmp_path: Path, api_base: str, token_env: str) -> None:
        self.db = tmp_path / "shop.db"
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            f'[store]\npath = "{self.db}"\n\n[[telegram]]\nname = "shop-bot"\n'
            f'token_env = "{token_env}"\napi_base = "{api_base}"\n',
            encoding="utf-8",
        )
        self.log_file = tmp_path / "serve.log"  # both runs append: what serve said, in order
        self.env = {**os.environ, token_env: TOKEN, "HOME": str(tmp_path)}
        self.env.pop("XDG_STATE_HOME", None)

    async def start(self) -> asyncio.subprocess.Process:
        command = [sys.executable, "-m", "omnitui.cli", "--config", str(self.config), "serve"]
        with self.log_file.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                *command, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=log
            )
