"""A broadcast to 10,000 customers: queued at once, memory flat, the provider's pace
kept, and the console answering keys while it goes (issue 18).

    python bench/broadcast.py                       # 10,000 recipients, 20 s of sending
    python bench/broadcast.py --recipients 2000 --seconds 10 --per-second 25 --sms-per-second 1

1. A fresh store with `--recipients` customers tagged `vip`: 60% Telegram,
   20% SMS, 20% email (with consent on their profile), made through the
   store's own API (`ingest`, `update_contact`).
2. Queued: `broadcast_audience` + `plan_broadcast` + `create_broadcast`
   (one transaction) timed, as `omnitui broadcast --yes` does them (target:
   under 2 s). The process's RSS before and after.
3. Sending: the real `Hub` with the Telegram adapter against the tests'
   loopback Bot API peer (`tests/peers/telegram_api.py`, checked against
   `../shared/fixtures/telegram/api.json`, on its own thread and event loop
   as Telegram is another machine) at `[broadcast] telegram_per_second`, for
   `--seconds`. The peer stamps each sendMessage as it arrives; the highest
   count in any 1 s window (every window that starts at an arrival) must not
   exceed the configured rate. The same for SMS: the Twilio adapter against
   the tests' Twilio peer (checked against Twilio's OpenAPI spec, its own
   thread), at `sms_segments_per_second` (default 1, a long code's limit),
   stamped as each create arrives. The email messages stay queued: no
   adapter for them runs here.
4. Meanwhile a headless console (`OmniApp.run_test`) on the same store, in
   the same process as the hub (as a console that holds the channels), gets
   `j`/`k` every 50 ms; a press counts from the key event to the highlight
   having moved and the screen having refreshed (target under 100 ms). The
   floor is the same presses before the broadcast starts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # `tests.peers` lives in the repository, not in the venv
    sys.path.insert(1, str(ROOT))

from burst import presses  # noqa: E402
from telegram_arrival import SPEC, TOKEN_ENV, PeerThread  # noqa: E402

from omnitui.cli import build_adapters  # noqa: E402
from omnitui.config import parse  # noqa: E402
from omnitui.domain.broadcast import plan_broadcast  # noqa: E402
from omnitui.domain.models import Channel, ChannelKind, Inbound  # noqa: E402
from omnitui.domain.pace import Pace  # noqa: E402
from omnitui.hub import Hub  # noqa: E402
from omnitui.store import Store  # noqa: E402
from tests.peers.telegram_api import TOKEN  # noqa: E402
from tests.peers.twilio_api import TwilioPeer, TwilioSpec  # noqa: E402

BOT = Channel(ChannelKind.TELEGRAM, "bench-bot")
SMS = Channel(ChannelKind.SMS, "bench-sms")
MAIL = Channel(ChannelKind.EMAIL, "bench-mail")
QUEUE_TARGET = 2.0
KEY_TARGET = 0.1
FIRST_CHAT = 5_000_000
TWILIO_SPEC = ROOT.parent / "shared" / "fixtures" / "twilio"
TWILIO_ACCOUNT = "AC" + "b0ad" * 8
TWILIO_TOKEN = "bench-twilio-token"
TWILIO_TOKEN_ENV = "OMNITUI_BENCH_TWILIO_TOKEN"
SHOP_NUMBER = "+14155550000"


class StampedTwilio(TwilioPeer):
    """The Twilio peer, stamping each message create as it arrives (time.monotonic)."""

    arrivals: list[float]

    async def _create_message(self, request: web.Request) -> web.Response:
        self.arrivals.append(time.monotonic())
        return await super()._create_message(request)


class TwilioThread:
    """The Twilio peer on its own thread and event loop, as Twilio is another machine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.peer = StampedTwilio(
            TwilioSpec.load(TWILIO_SPEC), TWILIO_ACCOUNT, TWILIO_TOKEN, SHOP_NUMBER
        )
        self.peer.arrivals = []

    def __enter__(self) -> TwilioThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.peer.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.peer.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if self.peer.violations:
            raise SystemExit("the Twilio peer left the spec:\n" + "\n".join(self.peer.violations))


def rss_mib() -> float:
    """The process's resident memory now (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def busiest_second(arrivals: Sequence[float]) -> int:
    """The most arrivals in any window [t, t + 1 s) that starts at an arrival."""
    ordered = sorted(arrivals)
    best, end = 0, 0
    for start, at in enumerate(ordered):
        while end < len(ordered) and ordered[end] < at + 1.0:
            end += 1
        best = max(best, end - start)
    return best


async def a_shop(store: Store, recipients: int) -> None:
    """`recipients` customers tagged vip: 60% Telegram, 20% SMS, 20% email with consent."""
    now = time.time()
    items: list[Inbound] = []
    for n in range(recipients):
        share = n % 10
        if share < 6:
            chat = str(FIRST_CHAT + n)
            items.append(Inbound(BOT, f"{chat}:900", chat, f"Guest {n}", "hi", now - 3600))
        elif share < 8:
            number = f"+1415{n:07d}"
            items.append(Inbound(SMS, f"SMin{n}", number, f"Guest {n}", "hi", now - 3600))
        else:
            address = f"guest{n}@example.jp"
            items.append(
                Inbound(MAIL, f"<in{n}@example.jp>", address, f"Guest {n}", "hi", now - 3600)
            )
    got = []
    for start in range(0, len(items), 500):
        got.extend(await store.ingest(items[start : start + 500]))
    for g in got:
        await store.update_contact(g.contact_id, tags=["vip"], profile={"email_consent": "yes"})
    await store.add_canned_replies(
        [
            ("sale", "Sale", "{first_name|Hello}, spring bouquets are 10% off this week.", "en"),
            ("sale", "セール", "{name}様、今週は春の花束が1割引です。", "ja"),
        ]
    )


async def queue(store: Store) -> tuple[int, dict[str, float]]:
    """As `omnitui broadcast sale --tag vip --yes`: audience, plan, one transaction."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    audience = await store.broadcast_audience(["vip"])
    timings["audience read"] = time.perf_counter() - started
    mark = time.perf_counter()
    plan = plan_broadcast(audience, await store.canned_replies(), "sale", [BOT, SMS, MAIL])
    timings["plan"] = time.perf_counter() - mark
    mark = time.perf_counter()
    number = await store.create_broadcast("sale", {"tags": ["vip"]}, plan, author="Aiko")
    timings["create_broadcast (one transaction)"] = time.perf_counter() - mark
    timings["queued, in all"] = time.perf_counter() - started
    return number, timings


async def main_async(
    recipients: int, seconds: float, per_second: float, sms_per_second: float
) -> int:
    from omnitui.app import OmniApp
    from omnitui.screens.inbox import InboxScreen

    os.environ[TOKEN_ENV] = TOKEN
    os.environ[TWILIO_TOKEN_ENV] = TWILIO_TOKEN
    with (
        PeerThread() as peers,
        TwilioThread() as twilio,
        tempfile.TemporaryDirectory(prefix="omnitui-bench-bc-") as folder,
    ):
        path = Path(folder) / "bench.db"
        store = await Store.open(path)
        built = time.perf_counter()
        await a_shop(store, recipients)
        built_s = time.perf_counter() - built
        settings = parse(
            f'[store]\npath = "{path}"\n\n[broadcast]\ntelegram_per_second = {per_second}\n'
            f"sms_segments_per_second = {sms_per_second}\n\n"
            f'[[telegram]]\nname = "{BOT.account}"\ntoken_env = "{TOKEN_ENV}"\n'
            f'api_base = "{peers.peer.url}"\n\n'
            f'[[sms]]\nname = "{SMS.account}"\nprovider = "twilio"\n'
            f'account_sid = "{TWILIO_ACCOUNT}"\nauth_token_env = "{TWILIO_TOKEN_ENV}"\n'
            f'from = "{SHOP_NUMBER}"\napi_base = "{twilio.peer.base_url}"\n'
            f'inbound = "poll"\npoll_seconds = 5\ndefault_region = "US"\n',
            Path("bench.toml"),
        )
        pace: Pace = settings.broadcast.pace()
        adapters, _ = build_adapters(settings, store)
        hub = Hub(store, adapters, pace=pace)
        await hub.start()
        app = OmniApp(store, agent_name="Aiko", channels=[BOT, SMS, MAIL])
        async with app.run_test(size=(120, 40)) as pilot:
            while not isinstance(app.screen, InboxScreen) or app.screen.contact is None:
                await pilot.pause()
            screen = app.screen
            await app.workers.wait_for_complete()
            quiet = await presses(app, screen, 20)
            rss_before = rss_mib()
            number, timings = await queue(store)
            rss_queued = rss_mib()
            sending_from = time.monotonic()
            busy: list[float] = []
            while time.monotonic() - sending_from < seconds:
                busy.extend(await presses(app, screen, 2))
            sending_s = time.monotonic() - sending_from
            await hub.stop()
            rss_after = rss_mib()
        progress = await store.broadcast_progress(number)
        await store.close()
    arrivals = [s.at for s in peers.peer.sent if s.method == "sendMessage"]
    busiest = busiest_second(arrivals)
    texts = list(twilio.peer.arrivals)
    busiest_sms = busiest_second(texts)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{stamp}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{recipients} customers built in {built_s:.1f} s"
    )
    per_kind: dict[str, int] = {}
    per_state: dict[str, int] = {}
    for (kind, state), n in progress.counts.items():
        per_kind[kind] = per_kind.get(kind, 0) + n
        per_state[state] = per_state.get(state, 0) + n
    print(
        f"broadcast {number}: {sum(per_kind.values())} messages {per_kind}, "
        f"{progress.skipped_total} skipped; now {per_state}"
    )
    print()
    print("| what | figure | target |")
    print("|---|---|---|")
    for label, value in timings.items():
        target = f"< {QUEUE_TARGET:.0f} s" if label == "queued, in all" else ""
        print(f"| {label} | {value * 1000:.0f} ms | {target} |")
    print(
        f"| RSS before / queued / after {sending_s:.0f} s of sending | {rss_before:.0f} / "
        f"{rss_queued:.0f} / {rss_after:.0f} MiB | flat |"
    )
    print(
        f"| Telegram: sent in {sending_s:.1f} s | {len(arrivals)} "
        f"({len(arrivals) / sending_s:.1f}/s) | {per_second:g}/s |"
    )
    print(f"| Telegram: most in any 1 s at the peer | {busiest} | ≤ {per_second:g} |")
    print(
        f"| Twilio: texts (1 segment each) in {sending_s:.1f} s | {len(texts)} "
        f"({len(texts) / sending_s:.2f}/s) | {sms_per_second:g}/s |"
    )
    print(f"| Twilio: most in any 1 s at the peer | {busiest_sms} | ≤ {sms_per_second:g} |")
    if len(texts) > 1:
        gaps = [b - a for a, b in itertools.pairwise(sorted(texts))]
        print(f"| Twilio: shortest gap between two texts | {min(gaps) * 1000:.0f} ms | |")
    for label, values in (("key press, quiet (floor)", quiet), ("key press, sending", busy)):
        print(
            f"| {label}: median / p95 / max of {len(values)} | "
            f"{statistics.median(values) * 1000:.1f} / {p95(values) * 1000:.1f} / "
            f"{max(values) * 1000:.1f} ms | < {KEY_TARGET * 1000:.0f} ms |"
        )
    ok = (
        timings["queued, in all"] < QUEUE_TARGET
        and busiest <= per_second
        and busiest_sms <= sms_per_second
        and max(busy) < KEY_TARGET
    )
    print()
    print("all targets met" if ok else "a target was missed")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="of sending (default 20)")
    parser.add_argument(
        "--per-second", type=float, default=25.0, help="[broadcast] telegram_per_second"
    )
    parser.add_argument(
        "--sms-per-second", type=float, default=1.0, help="[broadcast] sms_segments_per_second"
    )
    args = parser.parse_args(argv)
    if not SPEC.exists():
        print(f"{SPEC} is missing: the bench needs the shared fixtures", file=sys.stderr)
        return 1
    if not TWILIO_SPEC.exists():
        print(f"{TWILIO_SPEC} is missing: the bench needs the shared fixtures", file=sys.stderr)
        return 1
    return asyncio.run(
        main_async(args.recipients, args.seconds, args.per_second, args.sms_per_second)
    )


if __name__ == "__main__":
    raise SystemExit(main())
