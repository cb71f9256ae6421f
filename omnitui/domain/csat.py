"""Satisfaction surveys (CSAT): what counts as a customer's rating, and who can answer one.

After a conversation is resolved the customer is asked to rate it from 1 to 5.
Their answer is a short message holding exactly one digit 1 to 5, written any
way a phone writes it: "5", full-width "５", "5です", "評価は4", "4 thanks!",
"5/5". A digit that is part of a bigger number ("15", "2025年"), a second
number in the message ("3か4"), a quantity ("3時", "2本") or a question
("5本ありますか？") makes it an ordinary message.
"""

from __future__ import annotations

import re
import unicodedata

# An SMS rule, kept with the others; the survey asks it here too.
from omnitui.domain.sms import cannot_answer_sms as cannot_answer_sms

MAX_ANSWER = 30  # characters: a longer message is something to read, not a rating
MAX_READ = 2000  # characters with a mail's signature and quote line: longer is no answer
ANSWER_WINDOW = 7 * 86_400.0  # seconds after the question in which an answer counts
BUTTON_PREFIX = "csat:"  # a Telegram button's callback data: "csat:5"

_OUT_OF_FIVE = re.compile(r"(?<=[1-5])\s*(?:/|／|out of|of)\s*5(?!\d)", re.IGNORECASE)
_NUMBERS = re.compile(r"\d+")
# What follows a number that counts something rather than rating: hours, yen, pieces...
_COUNTED = re.compile(
    r"\s*(?:時|分|秒|円|個|本|日|月|年|件|名|人|枚|回|階|号|番|歳|才|週|箱|束|%|:|\.\d"
    r"|pm\b|am\b|pcs?\b|days?\b|hours?\b|weeks?\b|items?\b|people\b)",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^--\s*$", re.MULTILINE)


def rating_of(text: str) -> int | None:
    """The rating 1 to 5 that `text` gives, or None when it is not one. A
    mail's signature (below a "-- " line) and the line introducing a quote
    ("… wrote:") are not part of the answer."""
    if len(text) > MAX_READ:  # never normalise a long mail to find out
        return None
    own = unicodedata.normalize("NFKC", _SIGNATURE.split(text, maxsplit=1)[0])
    # A mail reply's "On 5 Dec, Shop wrote:" line above the quoted question is not hers.
    plain = "\n".join(x for x in own.splitlines() if not x.rstrip().endswith(":")).strip()
    if not plain or len(plain) > MAX_ANSWER:
        return None
    if "?" in plain:  # "3時に行けますか?" asks something
        return None
    plain = _OUT_OF_FIVE.sub("", plain)
    numbers = list(_NUMBERS.finditer(plain))
    if len(numbers) != 1 or len(numbers[0].group()) != 1:
        return None
    if _COUNTED.match(plain, numbers[0].end()):  # "3時", "5本", "2人": a quantity
        return None
    value = int(numbers[0].group())
    return value if 1 <= value <= 5 else None


def button_rating(data: str | None) -> int | None:
    """The rating a survey button's callback data carries ("csat:4" gives 4)."""
    if not data or not data.startswith(BUTTON_PREFIX):
        return None
    value = data.removeprefix(BUTTON_PREFIX)
    return int(value) if value in ("1", "2", "3", "4", "5") else None
