"""LINE arrival: from LINE posting a signed webhook to the answer 200 (the message
stored) and to the console showing it (DESIGN.md: under 0.5 s); then a burst of
1,000 events from 200 customers, posted twice, with key presses timed meanwhile.

    python bench/line_arrival.py                     # 20 events timed after 3, a burst of 1,000
    python bench/line_arrival.py --events 50 --burst 2000 --in-flight 40

LINE is the tests' loopback peer (`tests/peers/line_api.py`, checked against
`../shared/fixtures/line/`). It runs in its own thread and event loop, as LINE
would be another machine; every body is built and checked against LINE's
webhook spec before its clock starts, then signed and posted by the peer.

1. Webhook to screen. Each event is a text from a new customer (a friend of
   the account, so the adapter reads their profile from the peer), posted
   after a random pause of 0-0.3 s so arrivals fall anywhere in the
   console's 0.25 s change poll. Timed from the moment the peer starts the
   POST until (a) the answer 200 is back at the peer (the adapter answers
   only once the store has the message), (b) the contact list of a headless
   console (`OmniApp.run_test`, the real `Hub` and `LineAdapter` on a fresh
   store) shows it and the screen has refreshed. Floor: the same signed POST
   to a bare aiohttp handler that checks the signature with line-bot-sdk's
   `SignatureValidator` and answers 200.
2. Burst. 1,000 text events from 200 new customers (five each), five events
   to a body from five different customers, so each customer's messages come
   in five different bodies; the bodies posted concurrently with at most
   `--in-flight` (20) unanswered at once. Measured: the time until every
   answer is back and until the store has the last message; then the store is
   read directly (sqlite3): each of the 1,000 LINE message ids must be there
   exactly once, filed under one contact per customer that has their LINE
   display name (the five bodies of a new customer race for it). The whole burst is posted a second time as LINE redelivers
   it (`deliveryContext.isRedelivery`, same ids): still 1,000. Any answer but
   200 (or none within 10 s) is counted. Meanwhile `j`/`k` go to the contact
   list every 50 ms, each timed from the key event until another contact is
   highlighted and the screen has refreshed; the floor is the same presses
   with no burst.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from run import Row, ms, quantile, table

from omnitui.adapters.line import LineAdapter
from omnitui.config import parse
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.hub import Hub
from omnitui.store import Store

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from omnitui.app import OmniApp
    from omnitui.screens.inbox import InboxScreen

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests.peers` lives in the repository, not in the venv
    sys.path.insert(1, str(ROOT))

from tests.peers.line_api import WEBHOOK_WAITS, LinePeer, LineSpec  # noqa: E402

SPEC = ROOT.parent / "shared" / "fixtures" / "line"
TOKEN_ENV = "OMNITUI_BENCH_LINE_TOKEN"
SECRET_ENV = "OMNITUI_BENCH_LINE_SECRET"
LINE = Channel(ChannelKind.LINE, "bench-line")
WARMUP = 3
TARGET = 0.5  # webhook to screen (DESIGN.md's Telegram target)
KEY_TARGET = 0.1
EVENTS_PER_BODY = 5
MESSAGES_PER_CUSTOMER = 5
QUIET_PRESSES = 20
T = TypeVar("T")


# -- LINE on its own thread ---------------------------------------------------------


@dataclass(slots=True)
class Sent:
    """One POST as the peer saw it: started, answered (time.monotonic), and the answer."""

    started: float
    answered: float
    status: int  # 0: no answer in time, or the connection failed
    why: str = ""


@dataclass(slots=True)
class BurstResult:
    started: float
    sent: list[Sent] = field(default_factory=list)

    @property
    def answered(self) -> float:
        return max(s.answered for s in self.sent)

    def refused(self) -> Counter[str]:
        return Counter(f"{s.status} {s.why}".strip() for s in self.sent if s.status != 200)


class PeerThread:
    """The LINE peer on its own thread and event loop, posting from there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.peer = LinePeer(LineSpec.load(SPEC))
        self.session: ClientSession | None = None

    def __enter__(self) -> PeerThread:
        self.thread.start()
        self.block(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.block(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if self.peer.violations:
            raise SystemExit(
                "the LINE peer saw spec violations:\n" + "\n".join(self.peer.violations)
            )

    async def _start(self) -> None:
        from aiohttp import ClientSession, ClientTimeout

        await self.peer.start()
        self.session = ClientSession(timeout=ClientTimeout(total=WEBHOOK_WAITS))

    async def _stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.peer.stop()

    def block(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the peer's loop and wait, blocking (only while nothing else runs)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(120)

    async def on_peer(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the peer's loop; the caller's loop stays free (it serves the webhook)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    # Coroutines below run on the peer's loop.

    def _raw(self, body: dict[str, Any]) -> bytes:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    async def _post(self, url: str, raw: bytes) -> Sent:
        assert self.session is not None
        started = time.monotonic()
        try:
            posted = await self.peer.post(url, raw, session=self.session)
        except Exception as exc:  # LINE counts it a failed delivery
            return Sent(started, time.monotonic(), 0, type(exc).__name__)
        return Sent(
            started,
            time.monotonic(),
            posted.status,
            "" if posted.status == 200 else posted.text[:60],
        )

    async def text_from_new_customer(self, url: str, name: str, text: str) -> tuple[Sent, str]:
        """A friend writes for the first time; returns the POST and the LINE message id."""
        user = self.peer.add_user(name, language="ja")
        event = self.peer.text(user, text)
        raw = self._raw(self.peer.callback(event))  # checked against the spec, not timed
        return await self._post(url, raw), str(event["message"]["id"])

    async def new_friend(self, name: str) -> str:
        return self.peer.add_user(name, language="ja").user_id

    async def burst_bodies(
        self, customers: int, per_customer: int
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """The burst's bodies (five events from five customers each) and its message ids."""
        users = [self.peer.add_user(f"バースト {n:03d}", language="ja") for n in range(customers)]
        events = [
            self.peer.text(user, f"burst {round_}/{n}: 明日の配達は何時ですか？")
            for round_ in range(per_customer)
            for n, user in enumerate(users)
        ]
        bodies = [
            self.peer.callback(*events[i : i + EVENTS_PER_BODY])
            for i in range(0, len(events), EVENTS_PER_BODY)
        ]
        return bodies, [str(e["message"]["id"]) for e in events]

    async def redelivered(self, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        again = [self.peer.redelivered(b) for b in bodies]
        for body in again:
            problems = self.peer.spec.check_callback(body)
            self.peer.violations.extend(problems)
        return again

    async def burst(
        self, url: str, bodies: Sequence[dict[str, Any]], in_flight: int
    ) -> BurstResult:
        """Post every body, at most `in_flight` unanswered at once."""
        raws = [self._raw(b) for b in bodies]
        gate = asyncio.Semaphore(in_flight)

        async def one(raw: bytes) -> Sent:
            async with gate:
                return await self._post(url, raw)

        result = BurstResult(time.monotonic())
        result.sent = list(await asyncio.gather(*(one(raw) for raw in raws)))
        return result


# -- helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def until(check: Callable[[], bool], limit: float = 30.0, step: float = 0.001) -> float:
    """Wait until `check()`; returns when (time.monotonic) it was first seen true."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        await asyncio.sleep(step)
    raise TimeoutError("condition not met in time")


@dataclass(slots=True)
class StoreRead:
    """The account's inbound messages as the store holds them, read apart from OmniTUI."""

    provider_ids: Counter[str] = field(default_factory=Counter)
    contact_of: dict[str, int] = field(default_factory=dict)  # provider id -> contact id
    name_of: dict[int, str] = field(default_factory=dict)  # contact id -> its name


def read_store(db: Path, account: str) -> StoreRead:
    out = StoreRead()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT m.provider_id, m.contact_id, c.name FROM message AS m"
            " JOIN contact AS c ON c.id = m.contact_id"
            " WHERE m.account = ? AND m.direction = 'in'",
            (account,),
        ).fetchall()
    for provider_id, contact_id, name in rows:
        out.provider_ids[str(provider_id)] += 1
        out.contact_of[str(provider_id)] = int(contact_id)
        out.name_of[int(contact_id)] = str(name)
    return out


# -- the floor ----------------------------------------------------------------------


async def floor(peers: PeerThread, count: int, rng: random.Random) -> list[float]:
    """Start of the POST -> 200 from a bare handler that checks the signature."""
    from aiohttp import web
    from linebot.v3.webhook import SignatureValidator

    validator = SignatureValidator(peers.peer.secret)

    async def handle(request: web.Request) -> web.Response:
        body = await request.text()
        if not validator.validate(body, request.headers.get("x-line-signature", "")):
            return web.Response(status=403)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/line", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    out: list[float] = []
    try:
        for n in range(count + WARMUP):
            await asyncio.sleep(rng.uniform(0, 0.3))
            sent, _ = await peers.on_peer(
                peers.text_from_new_customer(
                    f"http://127.0.0.1:{port}/line", f"Floor {n}", f"floor message {n}"
                )
            )
            if sent.status != 200:
                raise SystemExit(f"the bare handler answered {sent.status} {sent.why}")
            if n >= WARMUP:
                out.append(sent.answered - sent.started)
    finally:
        await runner.cleanup()
    return out


async def profile_floor(peers: PeerThread, count: int) -> list[float]:
    """A bare line-bot-sdk `get_profile` of a new friend on the same peer: the read the
    adapter makes before it stores a new customer's first message."""
    from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

    config = Configuration(host=peers.peer.url, access_token=peers.peer.token)
    out: list[float] = []
    async with AsyncApiClient(config) as client:
        api = AsyncMessagingApi(client)
        for n in range(count + WARMUP):
            user_id = await peers.on_peer(peers.new_friend(f"Profile {n}"))
            started = time.monotonic()
            await api.get_profile(user_id)
            if n >= WARMUP:
                out.append(time.monotonic() - started)
    return out


# -- OmniTUI ------------------------------------------------------------------------


async def presses(app: OmniApp, screen: InboxScreen, count: int) -> list[float]:
    """`j`/`k` in turn; each timed until another contact is highlighted and the screen
    refreshed. The contact list keeps its highlighted contact when it reloads, so a
    reload alone never counts as a move."""
    from textual import events

    contacts = screen.contacts
    timings: list[float] = []
    for n in range(count):
        index = contacts.highlighted or 0
        last = len(contacts.contacts) - 1
        key = "j" if (n % 2 == 0 and index < last) or index == 0 else "k"
        before = contacts.current_contact_id
        started = time.perf_counter()
        app.post_message(events.Key(key, key))
        while contacts.current_contact_id == before:
            if time.perf_counter() - started > 10:
                raise TimeoutError("a key press was never answered")
            await asyncio.sleep(0.0005)
        await screen.wait_for_refresh()
        timings.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    return timings


@dataclass(slots=True)
class Figures:
    answered: list[float] = field(default_factory=list)
    drawn: list[float] = field(default_factory=list)
    quiet_keys: list[float] = field(default_factory=list)
    busy_keys: list[float] = field(default_factory=list)
    burst: BurstResult | None = None
    burst_stored_after: float = 0.0
    burst_ids: int = 0
    stored_first: StoreRead = field(default_factory=StoreRead)
    again: BurstResult | None = None
    stored_again: StoreRead = field(default_factory=StoreRead)
    burst_ids_set: set[str] = field(default_factory=set)
    ingests: Counter[str] = field(default_factory=Counter)  # phase -> calls, rows created


async def omnitui(
    peers: PeerThread, count: int, burst_size: int, in_flight: int, rng: random.Random
) -> Figures:
    from omnitui.app import OmniApp
    from omnitui.screens.inbox import InboxScreen

    port = free_port()
    cfg = parse(
        f'[[line]]\nname = "{LINE.account}"\ntoken_env = "{TOKEN_ENV}"\n'
        f'secret_env = "{SECRET_ENV}"\napi_base = "{peers.peer.url}"\n'
        f'data_api_base = "{peers.peer.url}"\nwebhook_listen = "127.0.0.1:{port}"\n',
        Path("bench.toml"),
    ).line[0]
    url = f"http://127.0.0.1:{port}/line"
    figures = Figures()
    stored_at: dict[str, float] = {}
    phase = ["one by one"]
    customers = max(1, burst_size // MESSAGES_PER_CUSTOMER)
    bodies, burst_ids = await peers.on_peer(peers.burst_bodies(customers, MESSAGES_PER_CUSTOMER))
    again_bodies = await peers.on_peer(peers.redelivered(bodies))
    figures.burst_ids = len(burst_ids)
    figures.burst_ids_set = set(burst_ids)
    with tempfile.TemporaryDirectory(prefix="omnitui-bench-line-") as folder:
        db = Path(folder) / "bench.db"
        store = await Store.open(db)
        ingest = store.ingest

        async def timed_ingest(items: Sequence[Inbound], **kwargs: Any) -> Any:
            result = await ingest(items, **kwargs)
            now = time.monotonic()
            figures.ingests[f"{phase[0]} calls"] += 1
            figures.ingests[f"{phase[0]} created"] += sum(1 for r in result if r.created)
            for item in items:
                stored_at.setdefault(item.provider_id, now)
            return result

        store.ingest = timed_ingest  # type: ignore[method-assign]
        adapter = LineAdapter(cfg, book=store)
        hub = Hub(store, [adapter])
        await hub.start()
        try:
            await until(lambda: "webhook" in adapter.status and "bot" in adapter.status, 60)
            app = OmniApp(store, channels=[LINE], language="en")
            async with app.run_test(size=(120, 40)) as pilot:
                # 1. one new customer at a time
                for n in range(count + WARMUP):
                    await asyncio.sleep(rng.uniform(0, 0.3))
                    text = f"bench message {n}"
                    sent, message_id = await peers.on_peer(
                        peers.text_from_new_customer(url, f"お客様 {n:03d}", text)
                    )
                    if sent.status != 200:
                        raise SystemExit(f"the adapter answered {sent.status} {sent.why}")
                    if message_id not in stored_at:
                        raise SystemExit("the adapter answered 200 before the store had it")
                    listed = app.inbox.contacts

                    def shown(t: str = text, shown_in: Any = listed) -> bool:
                        return bool(shown_in.contacts) and shown_in.contacts[0].last_preview == t

                    await until(shown)
                    await app.inbox.wait_for_refresh()
                    on_screen = time.monotonic()
                    if n >= WARMUP:
                        figures.answered.append(sent.answered - sent.started)
                        figures.drawn.append(on_screen - sent.started)
                # 2. key presses, quiet, then during the burst
                while not isinstance(app.screen, InboxScreen) or app.screen.contact is None:
                    await pilot.pause()
                screen = app.screen
                await app.workers.wait_for_complete()
                figures.quiet_keys = await presses(app, screen, QUIET_PRESSES)
                phase[0] = "first delivery"
                task = asyncio.ensure_future(peers.on_peer(peers.burst(url, bodies, in_flight)))
                while not task.done():
                    figures.busy_keys.extend(await presses(app, screen, 2))
                figures.burst = await task
                stored = [stored_at.get(i) for i in burst_ids]
                if all(t is not None for t in stored):
                    figures.burst_stored_after = max(t for t in stored if t is not None)
                figures.stored_first = read_store(db, LINE.account)
                # 3. the whole burst again, as LINE redelivers it
                phase[0] = "redelivered"
                figures.again = await peers.on_peer(peers.burst(url, again_bodies, in_flight))
                figures.stored_again = read_store(db, LINE.account)
        finally:
            await hub.stop()
            await store.close()
    return figures


# -- the report ---------------------------------------------------------------------


def summary(values: Sequence[float]) -> tuple[float, float]:
    return quantile(values, 0.5), quantile(values, 0.95)


def exactly_once(read: StoreRead, wanted: set[str]) -> str:
    """The burst's messages in the store: rows, distinct ids, missing, doubled; the
    customers they were filed under, and how many of those lack their LINE name."""
    found = read.provider_ids
    rows = sum(n for key, n in found.items() if key in wanted)
    distinct = sum(1 for key in found if key in wanted)
    doubled = sum(1 for key, n in found.items() if key in wanted and n > 1)
    contacts = {read.contact_of[key] for key in found if key in wanted}
    unnamed = sum(1 for c in contacts if not read.name_of[c].startswith("バースト"))
    return (
        f"{rows} rows for the burst's {len(wanted)} message ids ({distinct} distinct, "
        f"{len(wanted) - distinct} missing, {doubled} stored more than once) under "
        f"{len(contacts)} contacts ({unnamed} without the customer's LINE name)"
    )


def report(count: int, bare: list[float], profile: list[float], f: Figures, in_flight: int) -> None:
    assert f.burst is not None and f.again is not None
    bare_med, bare_p95 = summary(bare)
    ans_med, ans_p95 = summary(f.answered)
    drawn_med, drawn_p95 = summary(f.drawn)
    floor_note = "(bare handler)"
    rows = [
        Row(
            f"LINE: POST -> 200 (stored), median of {count}",
            ms(ans_med),
            f"{ms(bare_med)} {floor_note}",
            f"{ans_med / bare_med:.1f}x" if bare_med else "",
        ),
        Row(
            f"LINE: POST -> 200 (stored), p95 of {count}",
            ms(ans_p95),
            f"{ms(bare_p95)} {floor_note}",
            f"{ans_p95 / bare_p95:.1f}x" if bare_p95 else "",
            f"< {TARGET * 1000:.0f} ms",
            ans_p95 < TARGET,
        ),
        Row(
            f"(floor) a new friend's bare get_profile, median of {count}",
            ms(quantile(profile, 0.5)),
        ),
        Row(f"LINE: POST -> drawn, median of {count}", ms(drawn_med), "", "", ""),
        Row(
            f"LINE: POST -> drawn, p95 of {count}",
            ms(drawn_p95),
            "",
            "",
            f"< {TARGET * 1000:.0f} ms",
            drawn_p95 < TARGET,
        ),
    ]
    quiet_med, quiet_p95 = summary(f.quiet_keys)
    busy_med, busy_p95 = summary(f.busy_keys)
    rows += [
        Row(
            f"key press during the burst, median of {len(f.busy_keys)}",
            ms(busy_med),
            f"{ms(quiet_med)} (no burst)",
            f"{busy_med / quiet_med:.1f}x" if quiet_med else "",
        ),
        Row(
            "key press during the burst, p95",
            ms(busy_p95),
            f"{ms(quiet_p95)} (no burst)",
            f"{busy_p95 / quiet_p95:.1f}x" if quiet_p95 else "",
            f"< {KEY_TARGET * 1000:.0f} ms",
            busy_p95 < KEY_TARGET,
        ),
        Row(
            "key press during the burst, max",
            ms(max(f.busy_keys)),
            f"{ms(max(f.quiet_keys))} (no burst)",
            "",
            f"< {KEY_TARGET * 1000:.0f} ms",
            max(f.busy_keys) < KEY_TARGET,
        ),
    ]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{stamp}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{count} events timed after {WARMUP} not counted; a burst of {f.burst_ids} events "
        f"in {len(f.burst.sent)} bodies, at most {in_flight} in flight"
    )
    print(table(rows))
    print()
    answered = f.burst.answered - f.burst.started
    print(
        f"- burst: every answer back {answered:.2f} s after the first POST "
        f"({f.burst_ids / answered:.0f} events/s); the last message stored after "
        + (
            f"{f.burst_stored_after - f.burst.started:.2f} s"
            if f.burst_stored_after
            else "(never: some were not stored)"
        )
    )
    for label, result, found in (
        ("first delivery", f.burst, f.stored_first),
        ("redelivered", f.again, f.stored_again),
    ):
        refused = result.refused()
        took = result.answered - result.started
        print(
            f"- {label}: {len(result.sent)} POSTs in {took:.2f} s, "
            f"{sum(1 for s in result.sent if s.status == 200)} answered 200"
            + (f", others: {dict(refused)}" if refused else "")
            + f"; the store then held {exactly_once(found, f.burst_ids_set)}; the adapter handed the store {f.ingests[label + ' calls']} batches, "
            f"{f.ingests[label + ' created']} messages new"
        )
    print("- POST -> 200, each (ms): " + ", ".join(f"{v * 1000:.0f}" for v in f.answered))
    print("- POST -> drawn, each (ms): " + ", ".join(f"{v * 1000:.0f}" for v in f.drawn))
    print("- bare get_profile, each (ms): " + ", ".join(f"{v * 1000:.1f}" for v in profile))
    print("- floor, each (ms): " + ", ".join(f"{v * 1000:.1f}" for v in bare))
    print(
        "- key presses during the burst (ms): " + ", ".join(f"{v * 1000:.0f}" for v in f.busy_keys)
    )


async def main_async(count: int, burst_size: int, in_flight: int) -> None:
    rng = random.Random(20261205)
    with PeerThread() as peers:
        os.environ[TOKEN_ENV] = peers.peer.token
        os.environ[SECRET_ENV] = peers.peer.secret
        bare = await floor(peers, count, rng)
        profile = await profile_floor(peers, count)
        figures = await omnitui(peers, count, burst_size, in_flight, rng)
    report(count, bare, profile, figures, in_flight)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20, help="events timed (default 20)")
    parser.add_argument("--burst", type=int, default=1000, help="events in the burst (1000)")
    parser.add_argument(
        "--in-flight", type=int, default=20, help="burst POSTs unanswered at once (20)"
    )
    args = parser.parse_args(argv)
    if not SPEC.is_dir():
        print(f"{SPEC} is missing: the bench needs the shared fixtures", file=sys.stderr)
        return 1
    asyncio.run(main_async(args.events, args.burst, args.in_flight))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
