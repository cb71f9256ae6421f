"""Automation rules: what a customer's message (or another event) would set off.

Pure: no store, no clock, no network. `evaluate` is given the rules and one
event and says, in the rules' order, which fire and what each would do; doing
it (sending a reply, assigning, round robin) is the hub's.

Matching:
- `text`: any of several words, found anywhere in the message's text or subject
  (Japanese has no spaces, so substrings, not words). Both sides are NFKC-folded
  and case-folded: half-width ｷｬﾝｾﾙ matches キャンセル, ＳＴＯＰ matches stop.
- `exact`: the whole message, folded the same way and trimmed, is one of these
  ("１" matches "1": numbered menus).
- `regex`: searched (case-insensitively) in the NFKC-normalised text, then the
  subject; its groups fill `set` values ("$1".."$9").
- `hours`: "open" or "closed", against the event's `open`. When the shop has no
  `[hours]` (`open` is None) it counts as always open: "open" holds, "closed"
  does not.
- `tags`: the customer has all of them; `language`, `channel`, `rating`: one of these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

EVENTS = ("message", "new_conversation", "resolved", "no_reply", "csat")
STATUSES = ("open", "pending", "resolved")

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_GROUP = re.compile(r"\$(\d)")


def fold(text: str) -> str:
    """`text` as rules compare it: NFKC-normalised, then case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def duration(text: str) -> float | None:
    """Seconds in "45s", "30m", "12h", "2d" or "1h30m"; None when it is not one."""
    compact = text.strip().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        return None
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(compact))
    return float(seconds) if seconds > 0 else None


def groups_used(values: Mapping[str, str]) -> int:
    """The highest regex group ("$N") that `values` use; 0 when none."""
    return max((int(n) for v in values.values() for n in _GROUP.findall(v)), default=0)


@dataclass(frozen=True, slots=True)
class Condition:
    """Everything a rule's `[rule.if]` asks; a condition not given always holds."""

    text: tuple[str, ...] = ()  # folded
    exact: tuple[str, ...] = ()  # folded and trimmed
    regex: re.Pattern[str] | None = None
    channel: tuple[str, ...] = ()  # a channel kind or a channel's name
    hours: str | None = None  # "open" | "closed"
    tags: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    rating: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """What a rule's `[rule.then]` does."""

    tag: tuple[str, ...] = ()
    assign: tuple[str, ...] = ()  # one agent, or several: round robin over them
    reply: str | None = None  # a canned reply's shortcut
    status: str | None = None
    notify: bool = False
    set: tuple[tuple[str, str], ...] = ()  # profile field, value with "$N"
    handoff: bool = False
    stop: bool = False

    def does_something(self) -> bool:
        return bool(
            self.tag
            or self.assign
            or self.reply
            or self.status
            or self.notify
            or self.set
            or self.handoff
            or self.stop
        )


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    on: str  # one of EVENTS
    when: Condition = field(default_factory=Condition)
    then: Action = field(default_factory=Action)
    after: float | None = None  # seconds, with on = "no_reply"
    once_per: float | None = None  # seconds


def _many(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def make_rule(
    *,
    name: str,
    on: str,
    after: str | None = None,
    once_per: str | None = None,
    text: str | Sequence[str] | None = None,
    exact: str | Sequence[str] | None = None,
    regex: str | None = None,
    channel: str | Sequence[str] | None = None,
    hours: str | None = None,
    tags: str | Sequence[str] | None = None,
    language: str | Sequence[str] | None = None,
    rating: int | Sequence[int] | None = None,
    tag: str | Sequence[str] | None = None,
    assign: str | Sequence[str] | None = None,
    reply: str | None = None,
    status: str | None = None,
    notify: bool = False,
    set_: Mapping[str, str] | None = None,
    handoff: bool = False,
    stop: bool = False,
) -> Rule:
    """A rule from a config's plain values (already checked: see `omnitui.config_schema`)."""
    ratings = () if rating is None else (rating,) if isinstance(rating, int) else tuple(rating)
    when = Condition(
        text=tuple(fold(t) for t in _many(text) if t.strip()),
        exact=tuple(fold(t).strip() for t in _many(exact)),
        regex=re.compile(unicodedata.normalize("NFKC", regex), re.IGNORECASE) if regex else None,
        channel=tuple(c.casefold() for c in _many(channel)),
        hours=hours,
        tags=tuple(fold(t) for t in _many(tags)),
        language=tuple(fold(x) for x in _many(language)),
        rating=ratings,
    )
    then = Action(
        tag=_many(tag),
        assign=_many(assign),
        reply=reply,
        status=status,
        notify=notify,
        set=tuple((set_ or {}).items()),
        handoff=handoff,
        stop=stop,
    )
    return Rule(
        name=name,
        on=on,
        when=when,
        then=then,
        after=duration(after) if after else None,
        once_per=duration(once_per) if once_per else None,
    )


@dataclass(frozen=True, slots=True)
class Event:
    """What happened, with what the rules may look at."""

    kind: str  # one of EVENTS
    text: str = ""
    subject: str = ""
    channel_kind: str = ""  # email | telegram | sms …
    channel_name: str = ""  # the channel's name in the config
    tags: frozenset[str] = frozenset()
    language: str = ""
    open: bool | None = None  # the shop is open now; None: no [hours] configured
    rating: int | None = None


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule that fires for an event and what it would do."""

    rule: str
    tag: tuple[str, ...] = ()
    assign: tuple[str, ...] = ()  # several: round robin, picked when it fires
    reply: str | None = None
    status: str | None = None
    notify: bool = False
    set: tuple[tuple[str, str], ...] = ()  # regex groups filled in
    handoff: bool = False
    stop: bool = False


@dataclass(slots=True)
class _Seen:
    """One event's text, folded once for every rule."""

    event: Event
    _folded: tuple[str, str] | None = None
    _plain: tuple[str, str] | None = None

    @property
    def folded(self) -> tuple[str, str]:
        if self._folded is None:
            self._folded = (fold(self.event.text), fold(self.event.subject))
        return self._folded

    @property
    def plain(self) -> tuple[str, str]:
        if self._plain is None:
            normal = unicodedata.normalize
            self._plain = (normal("NFKC", self.event.text), normal("NFKC", self.event.subject))
        return self._plain


def _match(when: Condition, seen: _Seen) -> re.Match[str] | bool:
    """Whether every condition holds: the regex's match when it has one."""
    event = seen.event
    if when.channel and not (
        event.channel_kind.casefold() in when.channel
        or event.channel_name.casefold() in when.channel
    ):
        return False
    if when.hours is not None and (when.hours == "open") != (event.open is not False):
        return False
    if when.language and fold(event.language) not in when.language:
        return False
    if when.tags and not set(when.tags) <= {fold(t) for t in event.tags}:
        return False
    if when.rating and event.rating not in when.rating:
        return False
    if when.exact and seen.folded[0].strip() not in when.exact:
        return False
    if when.text:
        text, subject = seen.folded
        if not any(word in text or word in subject for word in when.text):
            return False
    if when.regex is not None:
        text, subject = seen.plain
        found = when.regex.search(text) or when.regex.search(subject)
        return found if found is not None else False
    return True


def _fill(value: str, found: re.Match[str] | bool) -> str:
    if not isinstance(found, re.Match):
        return value
    groups = found.groups()

    def group(number: re.Match[str]) -> str:
        n = int(number.group(1))
        if n == 0:
            return found.group(0)
        return (groups[n - 1] or "") if n <= len(groups) else ""

    return _GROUP.sub(group, value)


def evaluate(rules: Sequence[Rule], event: Event) -> list[Firing]:
    """The rules that fire for `event`, in order; none after one that says `stop`."""
    seen = _Seen(event)
    fired: list[Firing] = []
    for rule in rules:
        if rule.on != event.kind:
            continue
        found = _match(rule.when, seen)
        if found is False:
            continue
        then = rule.then
        fired.append(
            Firing(
                rule=rule.name,
                tag=then.tag,
                assign=then.assign,
                reply=then.reply,
                status=then.status,
                notify=then.notify,
                set=tuple((k, _fill(v, found)) for k, v in then.set),
                handoff=then.handoff,
                stop=then.stop,
            )
        )
        if then.stop:
            break
    return fired
