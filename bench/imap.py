"""IMAP figures against a throwaway Dovecot, each beside a floor measured in the same run.

    python bench/imap.py                    # 10,000 messages, about 80 s
    python bench/imap.py --quick            # 1,000 messages, about 20 s
    python bench/imap.py --messages 5000 --runs 3

1. First sync: a mailbox of N mails (~1.3 KB, a third Japanese, some HTML, a
   few attachments) is synced into a fresh store by the real `Hub` and
   `EmailAdapter`, timed from `hub.start()` until every message is in the
   store. Floor: a bare imapclient `UID FETCH BODY.PEEK[]` in batches of 500
   plus `email.message_from_bytes(raw, policy=default)` of every message, in
   one thread, on the same mailbox. Floor and sync take turns (`--runs`, 2);
   the best of each is compared. The pieces of a sync are also timed alone:
   the fetch, OmniTUI's parse (`to_inbound`) and `Store.ingest` in batches.
2. Arrival: with the hub synced and in IDLE, one APPEND at a time, timed until
   the message is in the store. Floor: Dovecot's own notification delay, seen
   by a bare imapclient IDLE session on the same folder for the same APPEND.

Needs Dovecot (`apt-get install dovecot-core dovecot-imapd`); run from the
repository root. Targets are DESIGN.md's, "Performance".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import imapclient
from imapclient import IMAPClient
from run import Row, ms, quantile, table

from omnitui.adapters.email import EmailAdapter, to_inbound
from omnitui.config import EmailConfig, parse
from omnitui.domain.models import Channel, ChannelKind, Inbound
from omnitui.hub import Hub
from omnitui.store import Store

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests.peers` lives in the repository, not in the venv
    sys.path.insert(1, str(ROOT))

from tests.peers.dovecot import Dovecot  # noqa: E402

DOVECOT = "/usr/sbin/dovecot"
FOLDER = "INBOX"
ACCOUNT = "bench-mail"
PASSWORD_ENV = "OMNITUI_BENCH_MAIL_PASSWORD"
APPEND_BATCH = 500  # MULTIAPPEND batch to fill the mailbox
FLOOR_BATCH = 500  # UID FETCH batch of the floor
INGEST_BATCH = 250  # Store.ingest batch of the breakdown (the adapter's FETCH_BATCH)
SEED = 20240601
SYNC_LIMIT = 900.0  # seconds before a first sync counts as stuck
ARRIVAL_LIMIT = 10.0


# -- the mailbox ------------------------------------------------------------------

EN = [
    "Hello, I would like to order a bouquet of white roses for my mother's birthday.",
    "Could you deliver it on Saturday morning, between 9 and 11 if possible?",
    "My order number is #{order} and I paid {amount} yen by card yesterday.",
    "The flowers arrived today and they are beautiful, thank you so much.",
    "Is it possible to add a small card with a message? Something like 'Happy birthday, Mum'.",
    "I am afraid the delivery address was wrong; it should be the second floor, not the third.",
    "Do you have sunflowers this week, or only the seasonal mix shown on the website?",
    "Please cancel the arrangement for Friday; we will pick it up at the shop instead.",
    "We are planning a wedding in June and need table flowers for twelve tables.",
    "Could you send me an invoice for the company? The name is Kobayashi Trading.",
    "The tulips were a little dry when they came; could you replace them?",
    "Thanks for the quick reply. Tuesday afternoon works for us.",
    "What time do you close on Sundays? I would like to come by after work.",
]
JA = [
    "いつもお世話になっております。",
    "母の誕生日に白いバラの花束を注文したいです。",
    "土曜日の午前中に配達していただくことは可能でしょうか。",
    "注文番号は#{order}で、昨日{amount}円をカードで支払いました。",
    "本日お花が届きました。とても綺麗で、ありがとうございました。",
    "メッセージカードを付けていただけますか。",
    "配達先の住所を間違えてしまいました。三階ではなく二階です。",
    "今週はひまわりはありますか。",
    "金曜日のご予約をキャンセルさせてください。店頭で受け取ります。",
    "六月の結婚式で、テーブル用のお花を十二卓分お願いしたいです。",
    "会社宛の請求書を送っていただけますでしょうか。",
    "お忙しいところ恐れ入りますが、ご確認のほどよろしくお願いいたします。",
]
EN_NAMES = ["Emma Clark", "Liam Wood", "Olivia Hart", "Noah Reed", "Ava Price", "Jack Moss"]
JA_NAMES = ["田中 美咲", "佐藤 健", "鈴木 花子", "高橋 翔", "渡辺 優子", "伊藤 大輔", "山本 彩"]
SIGN_EN = "\n\nBest regards,\n{name}\n"
SIGN_JA = "\n\nよろしくお願いいたします。\n{name}\n"


@dataclass
class Mix:
    """What the generated mailbox holds, for the notes."""

    count: int = 0
    size: int = 0
    jis: int = 0
    utf8_ja: int = 0
    html: int = 0
    attachments: int = 0
    replies: int = 0
    senders: set[str] = field(default_factory=set)

    def describe(self) -> str:
        n = max(1, self.count)
        return (
            f"{self.count:,} mails, {self.size / n:,.0f} bytes on average; "
            f"Japanese ISO-2022-JP {self.jis / n:.0%}, Japanese UTF-8 {self.utf8_ja / n:.0%}, "
            f"with HTML {self.html / n:.0%}, with an attachment {self.attachments / n:.1%}, "
            f"replies {self.replies / n:.0%}; {len(self.senders):,} senders"
        )


def _fill(rnd: random.Random, fragments: Sequence[str], target: int) -> str:
    out: list[str] = []
    while sum(len(s) for s in out) < target:
        out.append(
            rnd.choice(fragments).format(
                order=rnd.randint(1000, 9999), amount=f"{rnd.randint(3, 60) * 500:,}"
            )
        )
    return " ".join(out) if fragments is EN else "".join(out)


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>\n" for line in text.split("\n") if line)
    return (
        '<html><head><meta charset="utf-8"></head>\n<body style="font-family: sans-serif">\n'
        f"{paragraphs}</body></html>\n"
    )


def make_mails(count: int, seed: int = SEED) -> tuple[list[bytes], Mix]:
    """`count` customer mails in time order, deterministic for a seed."""
    rnd = random.Random(seed)
    mix = Mix()
    now = dt.datetime.now(dt.UTC).astimezone()
    span = dt.timedelta(days=300)
    customers = max(10, count // 7)
    mails: list[bytes] = []
    for n in range(count):
        who = int(customers * rnd.random() ** 2)  # a few regulars write most
        kind = rnd.random()
        japanese = kind < 1 / 3
        names = JA_NAMES if japanese else EN_NAMES
        name = names[who % len(names)]
        address = f"customer{who}@example.{'jp' if japanese else 'com'}"
        sent = now - span + span * (n + rnd.random()) / count
        reply = rnd.random() < 0.25
        first = rnd.choice(JA if japanese else EN).format(order=n, amount="")
        subject_text = first[:20] if japanese else textwrap.shorten(first, 40, placeholder="")
        subject = ("Re: " if reply else "") + subject_text.rstrip(" 、。,.")
        if japanese:
            text = _fill(rnd, JA, rnd.randint(90, 200))
            lines = [text[i : i + 36] for i in range(0, len(text), 36)]
            body = "\n".join(lines) + SIGN_JA.format(name=name)
        else:
            body = textwrap.fill(_fill(rnd, EN, rnd.randint(350, 800)), 72)
            body += SIGN_EN.format(name=name)
        if reply:
            quoted = _fill(rnd, JA if japanese else EN, 120)
            quoted = textwrap.fill(quoted, 36 if japanese else 70)
            body += f"\nOn {format_datetime(sent - dt.timedelta(days=1))}, Sakura Flowers wrote:\n"
            body += "".join(f"> {line}\n" for line in quoted.split("\n"))
        message_id = f"<c{n}.{seed}@mail.example.jp>"
        raw: bytes
        if japanese and kind < 1 / 6:
            # The way older Japanese mailers write: ISO-2022-JP, 7bit, encoded words.
            jis = MIMEText(body, "plain", "iso-2022-jp")
            jis["Subject"] = Header(subject, "iso-2022-jp").encode()
            jis["From"] = f"{Header(name, 'iso-2022-jp').encode()} <{address}>"
            jis["To"] = "Sakura Flowers <shop@example.com>"
            jis["Date"] = format_datetime(sent)
            jis["Message-ID"] = message_id
            if reply:
                jis["In-Reply-To"] = f"<reply{n}@shop.example.com>"
                jis["References"] = f"<reply{n}@shop.example.com>"
            raw = jis.as_bytes()
            mix.jis += 1
        else:
            mail = EmailMessage()
            mail["From"] = formataddr((name, address))
            mail["To"] = "Sakura Flowers <shop@example.com>"
            mail["Subject"] = subject
            mail["Date"] = format_datetime(sent)
            mail["Message-ID"] = message_id
            if reply:
                mail["In-Reply-To"] = f"<reply{n}@shop.example.com>"
                mail["References"] = f"<reply{n}@shop.example.com>"
            mail.set_content(body, charset="utf-8")
            if rnd.random() < 0.2:
                mail.add_alternative(_html(body), subtype="html", charset="utf-8")
                mix.html += 1
            if rnd.random() < 0.04:
                photo = rnd.randbytes(rnd.randint(300, 900))
                mail.add_attachment(photo, maintype="image", subtype="jpeg", filename="photo.jpg")
                mix.attachments += 1
            raw = mail.as_bytes()
            mix.utf8_ja += japanese
        mix.replies += reply
        mix.senders.add(address)
        mix.count += 1
        mix.size += len(raw)
        mails.append(raw)
    return mails, mix


def now() -> float:
    """CLOCK_MONOTONIC: the same clock in every process of this machine."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def connect(server: Dovecot) -> Any:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=60)
    client.login(server.user, server.password)
    return client


def fill_mailbox(server: Dovecot, mails: Sequence[bytes]) -> float:
    started = time.perf_counter()
    client = connect(server)
    try:
        for batch in chunks(mails, APPEND_BATCH):
            client.multiappend(FOLDER, list(batch))
    finally:
        client.logout()
    return time.perf_counter() - started


# -- 1. first sync ------------------------------------------------------------------


def machine_cpu() -> float:
    """Core-seconds every process of this machine has used (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuUse:
    """CPU used while something ran: by the whole machine, and by this process."""

    wall: float
    machine: float
    mine: float

    def describe(self) -> str:
        return (
            f"machine {self.machine / self.wall:.1f} of {os.cpu_count()} cores busy, "
            f"this process {self.mine / self.wall:.1f}"
        )


class CpuMeter:
    def __init__(self) -> None:
        self.wall, self.machine, self.mine = now(), machine_cpu(), time.process_time()

    def stop(self) -> CpuUse:
        return CpuUse(
            now() - self.wall, machine_cpu() - self.machine, time.process_time() - self.mine
        )


@dataclass
class FloorSync:
    wall: float
    fetch: float
    parse: float
    raws: list[bytes]
    cpu: CpuUse


def floor_sync(server: Dovecot) -> FloorSync:
    """Bare imapclient: UID FETCH BODY.PEEK[] in batches, stdlib parse (policy=default)."""
    meter = CpuMeter()
    started = time.perf_counter()
    client = connect(server)
    fetch = parse_time = 0.0
    raws: list[bytes] = []
    try:
        client.select_folder(FOLDER, readonly=True)
        uids = sorted(client.search(["ALL"]))
        for batch in chunks(uids, FLOOR_BATCH):
            t0 = time.perf_counter()
            data = client.fetch(list(batch), ["BODY.PEEK[]"])
            t1 = time.perf_counter()
            got = [bytes(data[uid][b"BODY[]"]) for uid in sorted(data)]
            for raw in got:
                email.message_from_bytes(raw, policy=email.policy.default)
            t2 = time.perf_counter()
            fetch += t1 - t0
            parse_time += t2 - t1
            raws.extend(got)
    finally:
        client.logout()
    return FloorSync(time.perf_counter() - started, fetch, parse_time, raws, meter.stop())


def email_config(server: Dovecot) -> EmailConfig:
    text = f"""
[[email]]
name = "{ACCOUNT}"
imap_host = "{server.host}"
imap_port = {server.port}
imap_tls = "none"
username = "{server.user}"
password_env = "{PASSWORD_ENV}"
folders = ["{FOLDER}"]
backfill_days = 3650
smtp_host = "127.0.0.1"
smtp_port = 1
smtp_tls = "none"
from = "Sakura Flowers <shop@example.com>"
"""
    os.environ[PASSWORD_ENV] = server.password
    return parse(text, Path("bench-imap.toml")).email[0]


class Counter:
    """`SELECT count(*) FROM message` on a connection of its own, off the event loop."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def _count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM message").fetchone()[0])

    async def count(self) -> int:
        return await asyncio.to_thread(self._count)

    async def wait_for(
        self, want: int, limit: float, every: float, errors: Mapping[str, str] | None = None
    ) -> float:
        """The monotonic time the store was first seen holding `want` messages."""
        deadline = now() + limit
        while now() < deadline:
            if await self.count() >= want:
                return now()
            if errors:  # the hub's errors: an adapter that failed is restarted with backoff
                raise RuntimeError(f"the email adapter failed: {dict(errors)}")
            await asyncio.sleep(every)
        raise TimeoutError(f"the store did not reach {want} messages in {limit:.0f} s")

    def close(self) -> None:
        self._conn.close()


@dataclass
class Arrival:
    ours: float
    floor: float


# A bare IDLE session in a process of its own, so that it never waits for our GIL.
WATCHER = """
import sys, time
from imapclient import IMAPClient
host, port, user, password, folder = sys.argv[1:6]
client = IMAPClient(host, int(port), ssl=False, timeout=60)
client.login(user, password)
client.select_folder(folder, readonly=True)
client.idle()
print("ready", flush=True)
while True:
    for r in client.idle_check(timeout=1.0):
        if len(r) > 1 and r[1] == b"EXISTS":
            print(int(r[0]), time.clock_gettime(time.CLOCK_MONOTONIC), flush=True)
"""


class ExistsWatcher:
    """When did Dovecot announce each EXISTS to a bare imapclient IDLE session?"""

    def __init__(self, server: Dovecot) -> None:
        args = [server.host, str(server.port), server.user, server.password, FOLDER]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WATCHER, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.seen: dict[int, float] = {}
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="exists-watcher", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                if line.strip() == "ready":
                    self.seen[0] = now()
                else:
                    exists, at = line.split()
                    self.seen.setdefault(int(exists), float(at))
                self._cond.notify_all()

    def wait_for(self, exists: int, limit: float) -> float:
        """The monotonic time Dovecot's EXISTS `exists` was read (0: IDLE is on)."""
        with self._cond:
            if not self._cond.wait_for(lambda: exists in self.seen, limit):
                raise TimeoutError(f"no EXISTS {exists} from Dovecot in {limit:.0f} s")
            return self.seen[exists]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(5)


@dataclass
class OursRun:
    wall: float
    up_to_date: float
    arrivals: list[Arrival]
    cpu: CpuUse


async def ours(
    server: Dovecot, store_path: Path, total: int, arrivals: int, rnd: random.Random
) -> OursRun:
    """The real Hub + EmailAdapter into a fresh store; then `arrivals` APPENDs, one at a time."""
    store = await Store.open(store_path)
    counter = Counter(store_path)
    adapter = EmailAdapter(email_config(server))
    hub = Hub(store, [adapter])
    try:
        meter = CpuMeter()
        started = now()
        await hub.start()
        done = await counter.wait_for(total, SYNC_LIMIT, 0.02, hub.errors)
        cpu = meter.stop()
        wall = done - started
        deadline = now() + 30
        while adapter.status.get(FOLDER) != "up to date":
            if now() > deadline:
                raise TimeoutError(f"the adapter never said 'up to date': {adapter.status}")
            await asyncio.sleep(0.01)
        up_to_date = now() - started
        results = await measure_arrivals(server, counter, total, arrivals, rnd) if arrivals else []
    finally:
        await hub.stop()
        counter.close()
        await store.close()
    return OursRun(wall, up_to_date, results, cpu)


async def measure_arrivals(
    server: Dovecot, counter: Counter, have: int, times: int, rnd: random.Random
) -> list[Arrival]:
    watcher = ExistsWatcher(server)
    appender = connect(server)
    out: list[Arrival] = []
    try:
        await asyncio.to_thread(watcher.wait_for, 0, 30)
        extra, _ = make_mails(times, seed=SEED + 1)
        for n, raw in enumerate(extra, start=1):
            # Out of step with Dovecot's 0.5 s notification batching, and IDLE settled again.
            await asyncio.sleep(0.6 + rnd.random() * 0.5)
            started = now()
            await asyncio.to_thread(appender.append, FOLDER, raw)
            stored = await counter.wait_for(have + n, ARRIVAL_LIMIT, 0.005)
            announced = await asyncio.to_thread(watcher.wait_for, have + n, ARRIVAL_LIMIT)
            out.append(Arrival(stored - started, announced - started))
    finally:
        watcher.stop()
        with contextlib.suppress(Exception):
            appender.logout()
    return out


# -- the pieces of a sync, alone ----------------------------------------------------


def parse_alone(raws: Sequence[bytes]) -> tuple[float, list[Inbound]]:
    channel = Channel(ChannelKind.EMAIL, ACCOUNT)
    started = time.perf_counter()
    items = [to_inbound(channel, raw, None) for raw in raws]
    return time.perf_counter() - started, items


async def ingest_alone(store_path: Path, items: Sequence[Inbound]) -> float:
    store = await Store.open(store_path)
    try:
        started = time.perf_counter()
        for n, batch in enumerate(chunks(items, INGEST_BATCH)):
            await store.ingest(batch, cursors={(ACCOUNT, "imap:bench"): str(n)})
        return time.perf_counter() - started
    finally:
        await store.close()


# -- report -----------------------------------------------------------------------


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} msg/s"


def describe() -> str:
    try:
        version = subprocess.run(
            [DOVECOT, "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[0]
    except (OSError, IndexError):
        version = "?"
    return (
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Dovecot {version}, "
        f"imapclient {imapclient.__version__}, SQLite {sqlite3.sqlite_version}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000, help="mailbox size (10,000)")
    parser.add_argument("--quick", action="store_true", help="1,000 messages (smoke test)")
    parser.add_argument(
        "--runs", type=int, default=2, help="first syncs, each after a floor run (2)"
    )
    parser.add_argument("--arrivals", type=int, default=10, help="timed APPENDs in IDLE (10)")
    args = parser.parse_args(argv)
    total: int = 1_000 if args.quick else args.messages
    if not Path(DOVECOT).exists():
        print(
            f"Dovecot is not installed ({DOVECOT} is missing):\n"
            "    apt-get install -y dovecot-core dovecot-imapd",
            file=sys.stderr,
        )
        return 2
    print(describe(), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="omnitui-bench-imap-"))
    server: Dovecot | None = None
    rnd = random.Random(SEED)
    started = time.perf_counter()
    try:
        server = Dovecot.create(tmp / "dovecot", DOVECOT)
        print(f"building {total:,} mails...", flush=True)
        mails, mix = make_mails(total)
        print("filling the mailbox (MULTIAPPEND)...", flush=True)
        filled = fill_mailbox(server, mails)
        floors: list[FloorSync] = []
        runs: list[OursRun] = []
        for n in range(1, args.runs + 1):
            print(f"run {n}/{args.runs}: floor (bare fetch + parse)...", flush=True)
            floors.append(floor_sync(server))
            arrivals = args.arrivals if n == args.runs else 0
            then = ", then arrivals" if arrivals else ""
            print(f"run {n}/{args.runs}: OmniTUI first sync{then}...", flush=True)
            store = tmp / f"sync{n}.db"
            runs.append(asyncio.run(ours(server, store, total, arrivals, rnd)))
            for path in tmp.glob(f"{store.name}*"):
                path.unlink()
        print("the pieces of a sync alone...", flush=True)
        parse_s, items = parse_alone(floors[0].raws)
        ingest_s = asyncio.run(ingest_alone(tmp / "ingest.db", items))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    # The fastest run of each: what each can do when the machine leaves it alone.
    best = min(floors, key=lambda f: f.wall)
    run = min(runs, key=lambda r: r.wall)
    ours_rate, floor_rate = total / run.wall, total / best.wall
    last = runs[-1]
    mine = [a.ours for a in last.arrivals]
    dove = [a.floor for a in last.arrivals]
    med, p95 = statistics.median(mine), quantile(mine, 0.95)
    fmed, fp95 = statistics.median(dove), quantile(dove, 0.95)
    serial = best.fetch + parse_s + ingest_s
    rows = [
        Row(
            f"IMAP first sync, {total:,} messages, best of {len(runs)}",
            f"{ours_rate:,.0f} msg/s ({run.wall:.1f} s)",
            f"{floor_rate:,.0f} msg/s ({best.wall:.1f} s, fetch + parse)",
            f"{ours_rate / floor_rate:.2f}x",
            ">= 1.0x",
            ours_rate >= floor_rate,
        ),
        Row(
            f"IMAP arrival, APPEND to stored, median of {len(mine)}",
            ms(med),
            f"{ms(fmed)} (Dovecot's EXISTS)",
            f"{med / fmed:.2f}x",
            "< 1 s",
            med < 1.0,
        ),
        Row(
            f"IMAP arrival, APPEND to stored, p95 of {len(mine)}",
            ms(p95),
            f"{ms(fp95)} (Dovecot's EXISTS)",
            f"{p95 / fp95:.2f}x",
            "< 1 s",
            p95 < 1.0,
        ),
        Row("sync piece: fetch, bare UID FETCH x 500", rate(total, best.fetch)),
        Row("sync piece: stdlib parse, policy=default", rate(total, best.parse)),
        Row("sync piece: OmniTUI parse, to_inbound", rate(total, parse_s)),
        Row(f"sync piece: Store.ingest x {INGEST_BATCH}", rate(total, ingest_s)),
        Row("sync pieces one after another", rate(total, serial)),
    ]
    notes = [
        f"mailbox: {mix.describe()}; filled by MULTIAPPEND x {APPEND_BATCH} in {filled:.1f} s",
        "floor runs (fetch + parse = wall): "
        + "; ".join(
            f"{f.fetch:.2f} + {f.parse:.2f} = {f.wall:.2f} s ({f.cpu.describe()})" for f in floors
        ),
        "OmniTUI first syncs (all stored; 'up to date'): "
        + "; ".join(f"{r.wall:.2f} s; {r.up_to_date:.2f} s ({r.cpu.describe()})" for r in runs),
        f"the pieces alone (s): fetch {best.fetch:.2f}, to_inbound {parse_s:.2f}, "
        f"Store.ingest {ingest_s:.2f}, sum {serial:.2f}",
        "arrivals, APPEND to stored (ms): "
        + ", ".join(f"{a.ours * 1000:.0f}" for a in last.arrivals),
        "arrivals, APPEND to Dovecot's EXISTS (ms): "
        + ", ".join(f"{a.floor * 1000:.0f}" for a in last.arrivals),
    ]
    print()
    print(table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    missed = [r.what for r in rows if r.ok is False]
    print(f"\n{len(missed)} target(s) missed; measured in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
