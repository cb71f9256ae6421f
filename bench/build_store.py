"""Build the benchmark store: 5,000 contacts and 1,000,000 messages.

    python bench/build_store.py                 # bench/out/bench.db
    python bench/build_store.py --quick         # bench/out/quick.db (500 / 50,000)
    python bench/build_store.py PATH --contacts N --messages M

Only the store's own API writes: `Store.import_history` in chunks of about
20,000 items, one transaction each, in time order overall (so message ids
follow time). Contacts are created by their first inbound message. A store
that already holds the asked-for counts is kept; anything else at the path is
rebuilt. The build writes to `PATH.partial` and renames at the end, so an
interrupted build is never mistaken for a finished one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from omnitui.demo import EN_FAMILY, EN_GIVEN, JA_FAMILY, JA_GIVEN, JA_ROMAJI, STARTER_CANNED
from omnitui.domain.identity import normalize
from omnitui.domain.models import IDENTITY_FOR_CHANNEL, Channel, ChannelKind, Inbound
from omnitui.store import RecordedOutbound, Store

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
FULL = (OUT / "bench.db", 5_000, 1_000_000)
QUICK = (OUT / "quick.db", 500, 50_000)
CHUNK = 20_000
SEED = 20240601

CHANNELS = {
    ChannelKind.EMAIL: Channel(ChannelKind.EMAIL, "bench-mail"),
    ChannelKind.TELEGRAM: Channel(ChannelKind.TELEGRAM, "bench-telegram"),
    ChannelKind.SMS: Channel(ChannelKind.SMS, "bench-sms"),
}

# A word that occurs about once in 40,000 messages, for the "rare word" search.
RARE_WORD = "chrysanthemum"
RARE_EVERY = 40_000

# Fragments a message is made of: 2-4 of them, in random order, with an order id.
_JA_IN = [
    "こんにちは。",
    "明日の午後に花束を受け取れますか？",
    "ご予約の確認をお願いします。",
    "配達は何時頃になりますか？",
    "母の日のアレンジメントを予約したいです。",
    "予算は{yen}円くらいです。",
    "注文した花がまだ届いていません。",
    "注文番号は{order}です。",
    "ラッピングを変更できますか？ピンク系でお願いします。",
    "お店は何時まで開いていますか？",
    "結婚式用のブーケについて相談したいです。",
    "領収書を発行していただけますか？",
    "配達先の住所を変更したいです。",
    "ありがとうございました！とても綺麗でした🌸",
    "{day}日に予約できますか？",
    "白いバラはありますか？",
    "カードに「お誕生日おめでとう」と書いてください。",
]
_JA_OUT = [
    "お問い合わせありがとうございます。",
    "ご予約を承りました。",
    "配達は午前中を予定しております。",
    "確認いたしますので、少々お待ちください。",
    "ご注文{order}の配達が完了しました。",
    "{day}日にご用意しております。",
    "いつもありがとうございます。",
    "またのご利用をお待ちしております。",
]
_EN_IN = [
    "Hi there,",
    "can I pick up the bouquet tomorrow afternoon?",
    "Do you deliver to Shibuya on Sundays?",
    "What's the price of the spring arrangement in your window?",
    "My order hasn't arrived yet, could you check please?",
    "The order number is {order}.",
    "Could you add a card saying 'Happy birthday, Mum'?",
    "Thanks, the flowers were lovely!",
    "Is it possible to change the delivery address?",
    "Do you have white roses this week?",
    "I'd like to book a weekly office arrangement.",
    "My budget is about {yen} yen.",
    "Can the delivery be on the {day}th?",
    "Please call me when the order is ready.",
    "Thank you so much!",
]
_EN_OUT = [
    "Thanks for your message!",
    "It will be ready after 3pm.",
    "Yes, we deliver there, the fee is 800 yen.",
    "Let me check and get back to you shortly.",
    "Your booking is confirmed, see you then!",
    "Order {order} is out for delivery.",
    "We have it ready for the {day}th.",
    "Thank you for ordering with us.",
]
_SUBJECTS_JA = ["ご予約について", "配達の件", "お問い合わせ", "注文について", "予約の変更"]
_SUBJECTS_EN = ["Booking", "Delivery question", "Order", "Hello", "About my order"]


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    japanese: bool
    kind: ChannelKind
    address: str  # as the provider writes it
    normalized: str  # as the store keeps it (a RecordedOutbound names this)


def make_customers(count: int, rng: random.Random) -> list[Customer]:
    """One address each, spread over the three channels."""
    people: list[Customer] = []
    kinds = [ChannelKind.EMAIL, ChannelKind.TELEGRAM, ChannelKind.SMS]
    for n in range(count):
        japanese = rng.random() < 0.6
        if japanese:
            family = rng.choice(JA_FAMILY)
            name = f"{family} {rng.choice(JA_GIVEN)}"
            local = f"{JA_ROMAJI[family]}{n}"
        else:
            given, last = rng.choice(EN_GIVEN), rng.choice(EN_FAMILY)
            name = f"{given} {last}"
            local = f"{given.lower()}.{last.lower()}{n}"
        kind = rng.choices(kinds, weights=(5, 3, 2))[0]
        if kind is ChannelKind.EMAIL:
            address = f"{local}@example.com"
        elif kind is ChannelKind.SMS:
            address = f"+8190{10000000 + n:08d}"
        else:
            address = str(700000000 + n * 7919)
        normalized = normalize(IDENTITY_FOR_CHANNEL[kind], address)
        people.append(Customer(name, japanese, kind, address, normalized))
    return people


def compose_text(japanese: bool, inbound: bool, rng: random.Random, n: int) -> str:
    pool = (_JA_IN if inbound else _JA_OUT) if japanese else (_EN_IN if inbound else _EN_OUT)
    parts = rng.sample(pool, k=rng.randint(2, 4))
    joiner = "" if japanese else " "
    order, yen, day = f"#{rng.randint(10000, 99999)}", rng.randint(3, 30) * 1000, rng.randint(1, 28)
    text = joiner.join(parts).format(order=order, yen=f"{yen:,}", day=day)
    if n % RARE_EVERY == RARE_EVERY // 2:
        text += f" ({RARE_WORD})"
    return text


def history(
    customers: list[Customer], messages: int, rng: random.Random, *, end: float
) -> Iterator[Inbound | RecordedOutbound]:
    """`messages` items over two years ending at `end`, oldest first.

    Activity per contact is skewed (a few regulars write thousands of
    messages, most write a few dozen); a contact's first message is inbound.
    """
    span = 2 * 365 * 24 * 3600.0
    weights = [1.0 / (rank + 10) ** 0.9 for rank in range(len(customers))]
    order = list(range(len(customers)))
    rng.shuffle(order)
    cum: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    # Every contact writes at least once: their first messages are spread over
    # the stretch (early enough that all fit); the rest are drawn by weight.
    room = max(1, messages - len(customers))
    firsts = sorted((rng.randrange(room), who) for who in range(len(customers)))
    next_first = 0
    step = span / messages
    at = end - span
    seen: set[int] = set()
    for n in range(messages):
        if next_first < len(firsts) and firsts[next_first][0] <= n:
            who = firsts[next_first][1]
            next_first += 1
        else:
            who = order[rng.choices(range(len(customers)), cum_weights=cum)[0]]
        at += rng.expovariate(1.0 / step)
        inbound = who not in seen or rng.random() < 0.55
        seen.add(who)
        yield _item(customers[who], inbound, rng, n, min(at, end))


def _item(
    customer: Customer, inbound: bool, rng: random.Random, n: int, at: float
) -> Inbound | RecordedOutbound:
    channel = CHANNELS[customer.kind]
    email = customer.kind is ChannelKind.EMAIL
    subjects = _SUBJECTS_JA if customer.japanese else _SUBJECTS_EN
    subject = rng.choice(subjects) if email else ""
    text = compose_text(customer.japanese, inbound, rng, n)
    if inbound:
        return Inbound(
            channel=channel,
            provider_id=f"b{n}",
            address=customer.address,
            display_name=customer.name,
            text=text,
            sent_at=at,
            subject=subject,
        )
    return RecordedOutbound(
        channel=channel,
        address=customer.normalized,
        text=text,
        sent_at=at,
        provider_id=f"b{n}",
        subject=f"Re: {subject}" if subject else "",
        author="Aiko",
    )


def store_counts(path: Path) -> tuple[int, int] | None:
    """(contacts, messages) of a finished store at `path`, or None."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            contacts = conn.execute("SELECT count(*) FROM contact").fetchone()[0]
            messages = conn.execute("SELECT count(*) FROM message").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return int(contacts), int(messages)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def build(path: Path, contacts: int, messages: int, *, seed: int = SEED) -> None:
    """Build the store at `path` (replacing whatever is there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    _remove(partial)
    store = await Store.open(partial)
    try:
        await fill(store, contacts, messages, seed=seed)
    finally:
        await store.close()
    _remove(path)
    os.replace(partial, path)


async def fill(store: Store, contacts: int, messages: int, *, seed: int = SEED) -> None:
    """Write the bench shop into an empty `store` (SQLite or PostgreSQL)."""
    rng = random.Random(seed)
    customers = make_customers(contacts, rng)
    started = time.perf_counter()
    done = 0
    await store.add_canned_replies(STARTER_CANNED)
    chunk: list[Inbound | RecordedOutbound] = []
    pending: asyncio.Task[None] | None = None
    # Make the next chunk while the writer thread stores the last one.
    for item in history(customers, messages, rng, end=time.time() - 60):
        chunk.append(item)
        if len(chunk) >= CHUNK:
            if pending is not None:
                await pending
                done += CHUNK
                _progress(done, messages, started)
            pending = asyncio.ensure_future(store.import_history(chunk))
            await asyncio.sleep(0)  # let it reach the writer thread
            chunk = []
    if pending is not None:
        await pending
        done += CHUNK
    if chunk:
        await store.import_history(chunk)
        done += len(chunk)
    _progress(done, messages, started)
    # A long-running shop has a pruned change log, not one row per message ever.
    await store.prune_changes(older_than=-1.0)


def _progress(done: int, total: int, started: float) -> None:
    spent = time.perf_counter() - started
    rate = done / spent if spent else 0.0
    print(f"  {done:>9,} / {total:,} messages  {spent:7.1f} s  {rate:8,.0f} msg/s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "path", nargs="?", type=Path, help="store file (default bench/out/bench.db)"
    )
    parser.add_argument("--quick", action="store_true", help="500 contacts / 50,000 messages")
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--messages", type=int)
    parser.add_argument("--force", action="store_true", help="rebuild even if the store is there")
    args = parser.parse_args(argv)
    default_path, contacts, messages = QUICK if args.quick else FULL
    path: Path = args.path or default_path
    contacts = args.contacts or contacts
    messages = args.messages or messages
    if messages < contacts:
        parser.error("need at least one message per contact")

    counts = store_counts(path)
    if counts == (contacts, messages) and not args.force:
        print(f"{path}: already {contacts:,} contacts / {messages:,} messages; kept")
        return 0
    if counts is not None:
        print(f"{path}: holds {counts[0]:,} contacts / {counts[1]:,} messages; rebuilding")
    print(f"building {path}: {contacts:,} contacts, {messages:,} messages")
    started = time.perf_counter()
    asyncio.run(build(path, contacts, messages))
    spent = time.perf_counter() - started
    got = store_counts(path)
    size = path.stat().st_size
    print(f"built in {spent:.1f} s ({spent / 60:.1f} min); file {size / 1e6:,.0f} MB; counts {got}")
    if got != (contacts, messages):
        print("error: the store does not hold the asked-for counts", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
