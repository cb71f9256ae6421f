"""Opening the console stays quick: what the first screen does not need is not loaded.

Each of these libraries costs start-up time and memory that a shop owner waits
for every time the console opens; they load when they are needed (a store to
migrate, a mail to parse, a channel that is configured). And the console draws
at the frame rate it sets, so a contact switch does not wait for Textual's
default 60 Hz clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from omnitui.cli import FRAME_RATE
from omnitui.store import Store

# Runs `omnitui --config CONFIG` headless in a fresh interpreter and writes what
# was loaded once the console has drawn its screen and started its channels.
CONSOLE = textwrap.dedent(
    """\
    import json, sys
    from omnitui import cli

    config, out = sys.argv[1], sys.argv[2]
    console = cli._console

    async def look(pilot):
        for _ in range(3):
            await pilot.pause()
        import textual.constants

        with open(out, "w") as file:
            json.dump({"modules": sorted(sys.modules), "fps": textual.constants.MAX_FPS}, file)
        pilot.app.exit()

    async def headless_console(*args, **kwargs):
        from omnitui.app import OmniApp

        run_async = OmniApp.run_async

        async def headless(app, **_):
            await run_async(app, headless=True, size=(120, 40), auto_pilot=look)

        OmniApp.run_async = headless
        return await console(*args, **kwargs)

    cli._console = headless_console
    sys.exit(cli.main(["--config", config]))
    """
)

NOT_AT_START = (
    # the store's schema is current: no migration, so no ORM
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    # no mail has arrived yet: no parser
    "omnitui.adapters.mailparse",
    "inscriptis",
    "lxml",
    "mailparser_reply",
    # channels that are not configured
    "omnitui.adapters.telegram",
    "omnitui.adapters.sms",
    "telegram",
    "twilio",
)


def test_the_console_opens_without_the_orm_the_mail_parser_or_other_channels_at_full_frame_rate(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"

    async def create() -> None:
        store = await Store.open(db)
        await store.close()

    asyncio.run(create())
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "Aiko"\n\n[store]\npath = "{db}"\n\n'
        '[[email]]\nname = "shop-mail"\nimap_host = "127.0.0.1"\nimap_port = 1\n'
        'imap_tls = "none"\nusername = "shop@example.com"\npassword_env = "OMNITUI_TEST_PW"\n'
        'smtp_host = "127.0.0.1"\nsmtp_port = 1\nsmtp_tls = "none"\n'
        'from = "Sakura Flowers <shop@example.com>"\n'
    )
    out = tmp_path / "modules.json"
    home = tmp_path / "home"
    env = {
        **{k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"},
        "OMNITUI_TEST_PW": "secret",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    result = subprocess.run(
        [sys.executable, "-c", CONSOLE, str(config), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(out.read_text())
    loaded = set(seen["modules"])
    # The path under test did run: the store, the console and the email channel.
    assert {"omnitui.store", "omnitui.app", "omnitui.adapters.email"} <= loaded
    assert [name for name in NOT_AT_START if name in loaded] == []
    # A contact switch does not wait for Textual's default 60 Hz frame clock.
    assert seen["fps"] == FRAME_RATE
