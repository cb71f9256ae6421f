"""Automation rule evaluation per message with 100 rules (DESIGN.md / issue 15: < 2 ms).

100 rules of the kinds a shop writes (keyword lists, exact menu answers,
regexes with groups, channel, language and tag conditions), none with `stop`,
evaluated for 2,000 messages of Japanese and English text. Prints the median
and p95 per message, and the floor: the same messages only NFKC-folded.

    python bench/rules.py [--rules 100] [--messages 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omnitui.domain.rules import Event, Rule, evaluate, fold, make_rule

WORDS = [
    "返品",
    "交換",
    "問題",
    "キャンセル",
    "配送",
    "領収書",
    "refund",
    "broken",
    "stop",
    "agent",
]
FRAGMENTS = [
    "注文番号 1234567 の件で",
    "商品が届きません。",
    "ｷｬﾝｾﾙをお願いします",
    "Where is my order #7654321?",
    "サイズを交換したいです",
    "Thank you for the quick reply!",
    "領収書を発行してください。",
    "担当者と話したい",
]


def rules(count: int, rng: random.Random) -> list[Rule]:
    made: list[Rule] = []
    for n in range(count):
        kind = n % 5
        if kind == 0:
            made.append(
                make_rule(name=f"k{n}", on="message", text=rng.sample(WORDS, 3), tag="support")
            )
        elif kind == 1:
            made.append(make_rule(name=f"e{n}", on="message", exact=[str(n % 9 + 1)], reply="m"))
        elif kind == 2:
            made.append(
                make_rule(
                    name=f"r{n}",
                    on="message",
                    regex=r"(注文番号|order)\s*#?(\d{6,})",
                    set_={"order_id": "$2"},
                )
            )
        elif kind == 3:
            made.append(
                make_rule(
                    name=f"c{n}",
                    on="message",
                    channel="telegram",
                    language="ja",
                    text=rng.sample(WORDS, 2),
                    assign=["Ken", "Aiko"],
                )
            )
        else:
            made.append(make_rule(name=f"t{n}", on="message", tags=["vip"], notify=True))
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(15)
    ruleset = rules(args.rules, rng)
    events = [
        Event(
            kind="message",
            text=" ".join(rng.sample(FRAGMENTS, rng.randint(1, 4))),
            subject=rng.choice(["", "ご注文について", "Re: order"]),
            channel_kind=rng.choice(["email", "telegram", "sms"]),
            language=rng.choice(["ja", "en"]),
            tags=frozenset(rng.sample(["vip", "jp", "wholesale"], rng.randint(0, 2))),
        )
        for _ in range(args.messages)
    ]
    times: list[float] = []
    floor: list[float] = []
    fired = 0
    for event in events:
        start = time.perf_counter()
        fired += len(evaluate(ruleset, event))
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        fold(event.text)
        fold(event.subject)
        floor.append(time.perf_counter() - start)
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(
        f"rules: {args.rules} rules, {args.messages} messages, {fired / len(events):.1f} firings each"
    )
    print(
        f"per message: median {statistics.median(times) * 1000:.3f} ms, p95 {p95 * 1000:.3f} ms"
        f" (target < 2 ms); floor (folding only) {statistics.median(floor) * 1000:.3f} ms"
    )


if __name__ == "__main__":
    main()
