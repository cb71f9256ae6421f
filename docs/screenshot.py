"""Make docs/screenshot.svg of the demo console, and docs/screenshot-ja.svg of it in Japanese.

Convert: rsvg-convert -o screenshot.png screenshot.svg (Japanese needs a CJK
font such as Debian's fonts-ipafont-gothic).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from omnitui.app import OmniApp
from omnitui.demo import DEMO_CHANNELS, build_demo_store
from omnitui.store import Store

HERE = Path(__file__).parent


async def shoot(language: str, filename: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "demo.db")
        await build_demo_store(store, now=time.time())
        app = OmniApp(
            store,
            agent_name="Aiko",
            shop_values={"shop": "Sakura Flowers"},
            channels=DEMO_CHANNELS,
            language=language,
        )
        async with app.run_test(size=(120, 34)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("j", "enter")
            await pilot.pause(0.3)
            await pilot.press("c")
            await pilot.pause(0.2)
            await pilot.press(*"thanks")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await pilot.pause(0.3)
            app.save_screenshot(filename=filename, path=str(HERE))
        await store.close()


async def main() -> None:
    await shoot("en", "screenshot.svg")
    await shoot("ja", "screenshot-ja.svg")


if __name__ == "__main__":
    asyncio.run(main())
