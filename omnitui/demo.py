"""A generated flower shop, so the console can be tried with no account.

`build_demo_store` fills an empty store with about 200 customers and 5,000
messages over three simulated channels (email, Telegram, SMS), in Japanese
and English, some customers on two channels. `DemoShop.customers` is
deterministic for a seed, so the live demo channel can write as the same
customers when a kept demo store (`omnitui demo --store PATH`) is reopened.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    Channel,
    ChannelKind,
    Inbound,
    ThreadStatus,
)
from omnitui.domain.rules import Rule, make_rule
from omnitui.store import ProfileFields, RecordedOutbound, Store

DEMO_CHANNELS = (
    Channel(ChannelKind.EMAIL, "demo-mail"),
    Channel(ChannelKind.TELEGRAM, "demo-telegram"),
    Channel(ChannelKind.SMS, "demo-sms"),
)
DEMO_KINDS = [c.kind for c in DEMO_CHANNELS]
# The demo mailbox's own address and signature (the agent, Aiko, signs after it).
DEMO_ADDRESS = "shop@sakura-flowers.example"
DEMO_SIGNATURE = "Sakura Flowers · 03-1234-5678"

JA_FAMILY = [
    "田中",
    "佐藤",
    "鈴木",
    "高橋",
    "渡辺",
    "伊藤",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "松本",
    "井上",
    "木村",
    "林",
    "清水",
    "山口",
    "森",
    "池田",
]
JA_GIVEN = [
    "美咲",
    "健太",
    "陽菜",
    "翔",
    "さくら",
    "大輔",
    "結衣",
    "拓海",
    "愛",
    "悠斗",
    "真由美",
    "浩二",
    "由美子",
    "蓮",
    "七海",
]
JA_ROMAJI = {
    "田中": "tanaka",
    "佐藤": "sato",
    "鈴木": "suzuki",
    "高橋": "takahashi",
    "渡辺": "watanabe",
    "伊藤": "ito",
    "山本": "yamamoto",
    "中村": "nakamura",
    "小林": "kobayashi",
    "加藤": "kato",
    "吉田": "yoshida",
    "山田": "yamada",
    "松本": "matsumoto",
    "井上": "inoue",
    "木村": "kimura",
    "林": "hayashi",
    "清水": "shimizu",
    "山口": "yamaguchi",
    "森": "mori",
    "池田": "ikeda",
}
EN_GIVEN = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "James",
    "Sophia",
    "Lucas",
    "Mia",
    "Ethan",
    "Grace",
    "Daniel",
    "Chloe",
    "Ryan",
    "Hannah",
]
EN_FAMILY = [
    "Wilson",
    "Brown",
    "Taylor",
    "Clarke",
    "Walker",
    "Hughes",
    "Evans",
    "Scott",
    "Baker",
    "Carter",
    "Morgan",
    "Price",
]

_JA_ASK = [
    "明日の午後に花束を受け取れますか？",
    "ご予約の確認をお願いします。",
    "配達は何時頃になりますか？",
    "母の日のアレンジメントを予約したいです。予算は5,000円くらいです。",
    "注文した花がまだ届いていません。確認していただけますか？",
    "ラッピングを変更できますか？ピンク系でお願いします。",
    "お店は何時まで開いていますか？",
    "結婚式用のブーケについて相談したいです。",
    "領収書を発行していただけますか？㈱さくら商事宛でお願いします。",
    "ありがとうございました！とても綺麗でした🌸",
]
_EN_ASK = [
    "Hi, can I pick up the bouquet tomorrow afternoon?",
    "Do you deliver to Shibuya on Sundays?",
    "What's the price of the spring arrangement in your window?",
    "My order hasn't arrived yet, could you check please?",
    "Could you add a card saying 'Happy birthday, Mum'?",
    "Thanks, the flowers were lovely!",
    "Is it possible to change the delivery address?",
    "Do you have white roses this week?",
    "I'd like to book a weekly office arrangement.",
]
_JA_REPLY = [
    "お問い合わせありがとうございます。明日15時以降にご用意しております。",
    "ご予約を承りました。当日お待ちしております。",
    "配達は午前中を予定しております。",
    "確認いたしますので、少々お待ちください。",
]
_EN_REPLY = [
    "Thanks for your message! It will be ready after 3pm.",
    "Yes, we deliver there — the fee is ¥800.",
    "Let me check and get back to you shortly.",
    "Your booking is confirmed, see you then!",
]
_SUBJECTS_JA = ["ご予約について", "配達の件", "お問い合わせ", "注文について"]
_SUBJECTS_EN = ["Booking", "Delivery question", "Order", "Hello"]

# One customer writes text that would restyle a careless terminal or Rich markup.
_HOSTILE = "[bold red]FREE FLOWERS[/] \x1b[2J\x1b[31mclick here\x1b[0m \x07 done?"

STARTER_CANNED = [
    (
        "thanks",
        "Thank you",
        "Thank you for your message, {first_name|there}! — {agent}, {shop}",
        "en",
    ),
    ("thanks", "お礼", "{name|お客様}様、ご連絡ありがとうございます。{shop}の{agent}です。", "ja"),
    (
        "hours",
        "Opening hours",
        "We are open 10:00–19:00 every day except Wednesday. — {shop}",
        "en",
    ),
    ("hours", "営業時間", "営業時間は10時〜19時です（水曜定休）。{shop}", "ja"),
    (
        "ready",
        "Order ready",
        "Hi {first_name|there}, your order {order_id} is ready for pickup.",
        "en",
    ),
    ("ready", "ご注文の準備完了", "{name|お客様}様、ご注文{order_id}のご用意ができました。", "ja"),
    ("delivery", "Delivery time", "Your delivery is planned for {delivery_time}. — {agent}", "en"),
]


def demo_rules() -> list[Rule]:
    """The demo shop's automation rules: what a florist writes first (see the
    README's "Automation rules"); they fire on the demo's arriving messages."""
    return [
        make_rule(
            name="Late orders",
            on="message",
            text=["届いていません", "hasn't arrived"],
            tag="delivery",
            assign="Aiko",
        ),
        make_rule(name="Bookings", on="message", text=["予約", "book"], tag="booking"),
        make_rule(
            name="Opening hours",
            on="message",
            text=["何時まで", "開いて"],
            once_per="12h",
            reply="hours",
        ),
    ]


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    name: str
    first_name: str
    language: str
    addresses: dict[ChannelKind, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoShop:
    customers: tuple[DemoCustomer, ...]

    def on(self, kind: ChannelKind) -> list[DemoCustomer]:
        return [c for c in self.customers if kind in c.addresses]


def make_shop(seed: int = 7, customers: int = 200) -> DemoShop:
    """The demo shop's customers: deterministic for a seed."""
    rng = random.Random(seed)
    people: list[DemoCustomer] = []
    for n in range(customers):
        japanese = rng.random() < 0.6
        if japanese:
            family, given = rng.choice(JA_FAMILY), rng.choice(JA_GIVEN)
            name, first, lang = f"{family} {given}", given, "ja"
            local = f"{JA_ROMAJI[family]}{n}"
        else:
            given, family = rng.choice(EN_GIVEN), rng.choice(EN_FAMILY)
            name, first, lang = f"{given} {family}", given, "en"
            local = f"{given.lower()}.{family.lower()}{n}"
        kinds = rng.sample(DEMO_KINDS, k=2 if rng.random() < 0.25 else 1)
        addresses: dict[ChannelKind, str] = {}
        for kind in kinds:
            if kind is ChannelKind.EMAIL:
                addresses[kind] = f"{local}@example.com"
            elif kind is ChannelKind.SMS:
                addresses[kind] = f"+8190{20000000 + n * 7919 % 70000000:08d}"
            else:
                addresses[kind] = str(500000000 + n * 104729)
        fields: dict[str, str] = {}
        if rng.random() < 0.5:
            fields["order_id"] = f"#{rng.randint(1000, 9999)}"
        if rng.random() < 0.2:
            fields["company"] = "㈱さくら商事" if japanese else "Acme Ltd"
        people.append(DemoCustomer(name, first, lang, addresses, fields))
    # Two fixed customers: one to show untrusted text stays text, one whose SMS fails.
    people[0] = DemoCustomer(
        "Mallory [red]Hacker[/]", "Mallory", "en", {ChannelKind.EMAIL: "mallory@example.com"}
    )
    people[1] = DemoCustomer("Ken Unreachable", "Ken", "en", {ChannelKind.SMS: "+819000000000"})
    return DemoShop(tuple(people))


def _channel(kind: ChannelKind) -> Channel:
    return next(c for c in DEMO_CHANNELS if c.kind is kind)


def inbound_from(
    customer: DemoCustomer,
    kind: ChannelKind,
    text: str,
    at: float,
    pid: str,
    subject: str = "",
    cc: tuple[str, ...] = (),
) -> Inbound:
    email = kind is ChannelKind.EMAIL
    return Inbound(
        channel=_channel(kind),
        provider_id=pid,
        address=customer.addresses[kind],
        display_name=customer.name,
        text=text,
        sent_at=at,
        subject=subject if email else "",
        meta={"to": [DEMO_ADDRESS], **({"cc": list(cc)} if cc else {})} if email else {},
    )


def customer_line(customer: DemoCustomer, rng: random.Random) -> str:
    return rng.choice(_JA_ASK if customer.language == "ja" else _EN_ASK)


async def build_demo_store(
    store: Store, *, now: float, seed: int = 7, messages: int = 5000, customers: int = 200
) -> DemoShop:
    """Fill an empty store with the demo shop's history, ending at `now`."""
    shop = make_shop(seed, customers)
    rng = random.Random(seed + 1)
    await store.add_canned_replies(STARTER_CANNED)
    for customer in shop.customers:
        await store.create_contact(
            customer.name,
            [(IDENTITY_FOR_CHANNEL[k], a) for k, a in customer.addresses.items()],
            ProfileFields(customer.first_name, customer.language, customer.fields),
        )
    events: list[tuple[float, int, ChannelKind, bool, str, str]] = []
    per = max(1, messages // len(shop.customers))
    span = 60 * 24 * 3600.0
    for index, customer in enumerate(shop.customers):
        start = now - rng.random() * span
        at = start
        kinds = list(customer.addresses)
        for i in range(per):
            at += rng.random() * 3 * 3600
            kind = rng.choice(kinds)
            inbound = i % 2 == 0 or rng.random() < 0.3
            if index == 0 and i == 0:
                text = _HOSTILE
            elif inbound:
                text = customer_line(customer, rng)
            else:
                text = rng.choice(_JA_REPLY if customer.language == "ja" else _EN_REPLY)
            subject_pool = _SUBJECTS_JA if customer.language == "ja" else _SUBJECTS_EN
            events.append((min(at, now - 60), index, kind, inbound, text, rng.choice(subject_pool)))
    events.sort()
    history: list[Inbound | RecordedOutbound] = []
    seen: set[tuple[int, ChannelKind]] = set()
    for n, (at, index, kind, inbound, text, subject) in enumerate(events):
        customer = shop.customers[index]
        if not inbound and (index, kind) not in seen:
            inbound = True  # every conversation on a channel starts with the customer
            text = customer_line(customer, rng)
        if inbound:
            seen.add((index, kind))
            history.append(inbound_from(customer, kind, text, at, f"hist-{n}", subject))
        else:
            history.append(
                RecordedOutbound(
                    channel=_channel(kind),
                    address=customer.addresses[kind],
                    text=text,
                    sent_at=at,
                    provider_id=f"hist-out-{n}",
                    subject=f"Re: {subject}",
                    author="Aiko",
                )
            )
    await store.import_history(history)
    await _settle(store, shop, now, rng)
    return shop


async def _settle(store: Store, shop: DemoShop, now: float, rng: random.Random) -> None:
    """Older threads were answered and read, as a real shop's would be; a few
    customers wrote in the last minutes and wait for an answer."""
    rows = await store.list_contacts(limit=len(shop.customers) + 10)
    for row in rows:
        await store.mark_read(row.id)
        if row.last_activity < now - 7 * 24 * 3600:
            await store.set_status(row.id, ThreadStatus.RESOLVED)
    waiting = rng.sample(list(shop.customers[2:]), k=min(6, len(shop.customers) - 2))
    fresh = []
    copied = False
    for n, customer in enumerate(waiting):
        kind = next(iter(customer.addresses))
        at = now - (len(waiting) - n) * 97.0
        # One of them copied a colleague in: a reply-all (ctrl+g) to try.
        cc = (
            ("Ken Sato <ken.sato@example.com>",) if kind is ChannelKind.EMAIL and not copied else ()
        )
        copied = copied or bool(cc)
        fresh.append(
            inbound_from(
                customer, kind, customer_line(customer, rng), at, f"fresh-{n}", "Hello", cc
            )
        )
    await store.ingest(fresh)
