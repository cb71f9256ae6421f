"""Automation in words, in the console's language: what a rule does and what it did.

A rule's ⚙ line in a thread, its toast, the rules screen and `omnitui rules
test` all say it the same way. Every name that came from config.toml or from a
customer (a tag, an agent, a field's value filled from a message) passes
through `visible` or `one_line`, so no control character reaches the
terminal; the words are plain text, for `rich.text.Text(...)` or a toast with
`markup=False`, never for Rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Protocol

from omnitui.domain.rules import Rule
from omnitui.domain.safe_text import one_line, visible
from omnitui.i18n import N_, tr, tr_reason

SEPARATOR = " · "

# Why an automatic reply was not sent (`reply_skipped` in a firing's actions):
# the words with the stored detail, and without one.
_SKIPPED = {
    "automatic": (
        N_("the customer's message was automatic ({why})"),
        N_("the customer's message was automatic"),
    ),
    "handoff": (N_("the customer was handed to a person"),) * 2,
    "agent": (N_("an agent ({why}) is answering"), N_("an agent is answering")),
    "limit": (
        N_("{why} automatic replies today already"),
        N_("the day's automatic replies were sent already"),
    ),
    "no_channel": (N_("no channel to answer on"),) * 2,
    "no_canned": (N_("no such canned reply"),) * 2,
    "placeholders": (N_("no value for {why}"), N_("a placeholder has no value")),
}


class Actions(Protocol):
    """What a rule does: a rule's `[rule.then]` or one firing of it."""

    @property
    def tag(self) -> tuple[str, ...]: ...
    @property
    def assign(self) -> tuple[str, ...]: ...
    @property
    def reply(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def notify(self) -> bool: ...
    @property
    def set(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def handoff(self) -> bool: ...
    @property
    def stop(self) -> bool: ...


def _names(values: Sequence[object]) -> str:
    return ", ".join(one_line(str(v), 60) for v in values)


def _value(value: object) -> str:
    return one_line(str(value), 80)


def describe(actions: Actions) -> list[str]:
    """What a rule would do, one line each, in the console's language."""
    lines: list[str] = []
    if actions.tag:
        lines.append(tr("tag: {tags}").format(tags=_names(actions.tag)))
    if len(actions.assign) == 1:
        lines.append(tr("assign to {agent}").format(agent=_value(actions.assign[0])))
    elif actions.assign:
        lines.append(tr("assign round robin: {agents}").format(agents=_names(actions.assign)))
    if actions.reply:
        lines.append(
            tr("reply with canned reply /{shortcut}").format(shortcut=_value(actions.reply))
        )
    if actions.status:
        lines.append(tr("set status: {status}").format(status=tr(actions.status)))
    if actions.notify:
        lines.append(tr("notify every console"))
    for key, value in actions.set:
        lines.append(
            tr("set profile field {field} = {value}").format(field=_value(key), value=_value(value))
        )
    if actions.handoff:
        lines.append(tr("hand off to a person: no more automatic replies"))
    if actions.stop:
        lines.append(tr("stop: later rules do not run"))
    return lines


def did(actions: Mapping[str, object]) -> list[str]:
    """What one firing did (its stored actions), a few words each.

    "tagged support", "assigned to Ken", "replied /closed", "reply /closed not
    sent: an agent (Ken) is answering", "handed to a person"…"""
    words: list[str] = []
    tags = actions.get("tag")
    if isinstance(tags, list | tuple) and tags:
        words.append(tr("tagged {tags}").format(tags=_names(tags)))
    agent = actions.get("assign")
    if agent:
        words.append(tr("assigned to {agent}").format(agent=_value(agent)))
    words.extend(_reply_words(actions))
    status = actions.get("status")
    if isinstance(status, str) and status:
        words.append(tr("marked {status}").format(status=tr(status)))
    if actions.get("notify"):
        words.append(tr("notified every console"))
    fields = actions.get("set")
    if isinstance(fields, Mapping):
        words.extend(f"{_value(k)} = {_value(v)}" for k, v in fields.items())
    if actions.get("handoff"):
        words.append(tr("handed to a person"))
    if actions.get("stop"):
        words.append(tr("later rules skipped"))
    if actions.get("broadcast_opt_out"):  # not a rule: the customer's unsubscribe link
        words.append(tr("asked for no more broadcasts with the unsubscribe link"))
    return words or [tr("nothing to do")]


def _reply_words(actions: Mapping[str, object]) -> list[str]:
    shortcut = actions.get("reply")
    failed = actions.get("reply_failed")
    skipped = actions.get("reply_skipped")
    if failed:
        reason = visible(tr_reason(str(failed)))
    elif skipped:
        why = _value(actions.get("reply_skipped_why") or "")
        known = _SKIPPED.get(str(skipped))
        if known is None:  # a reason a newer OmniTUI stored: as it was stored
            reason = _value(skipped)
        else:
            reason = tr(known[0]).format(why=why) if why else tr(known[1])
    elif shortcut:
        return [tr("replied /{shortcut}").format(shortcut=_value(shortcut))]
    else:
        return []
    if shortcut:
        return [
            tr("reply /{shortcut} not sent: {reason}").format(
                shortcut=_value(shortcut), reason=reason
            )
        ]
    return [tr("reply not sent: {reason}").format(reason=reason)]


def stored_actions(text: str) -> Mapping[str, object]:
    """A ⚙ line's stored text (the JSON of what the rule did) as its actions;
    {} for text that is not such an object."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def did_text(actions: Mapping[str, object]) -> str:
    """What one firing did, on one line: "tagged support · assigned to Ken"."""
    return SEPARATOR.join(did(actions))


def duration_words(seconds: float) -> str:
    """A rule's time as config.toml would say it: 45s, 30m, 12h, 2d, 1h30m."""
    total = int(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or "0s"


def conditions(rule: Rule) -> list[str]:
    """When a rule fires beyond its event, a few words each; [] when always."""
    when = rule.when
    words: list[str] = []
    if rule.after:
        words.append(tr("no answer for {time}").format(time=duration_words(rule.after)))
    if when.text:
        words.append(tr("text has {words}").format(words=_quoted(when.text)))
    if when.exact:
        words.append(tr("message is {words}").format(words=_quoted(when.exact)))
    if when.regex is not None:
        words.append(tr("matches {pattern}").format(pattern=one_line(when.regex.pattern, 60)))
    if when.channel:
        words.append(tr("on {channels}").format(channels=_names(when.channel)))
    if when.hours == "open":
        words.append(tr("while open"))
    elif when.hours == "closed":
        words.append(tr("while closed"))
    if when.tags:
        words.append(tr("customer tagged {tags}").format(tags=_names(when.tags)))
    if when.language:
        words.append(tr("language {languages}").format(languages=_names(when.language)))
    if when.rating:
        words.append(tr("rating {ratings}").format(ratings=_names(when.rating)))
    if rule.once_per:
        words.append(tr("once per customer in {time}").format(time=duration_words(rule.once_per)))
    return words


def _quoted(words: Sequence[str]) -> str:
    return tr(" or ").join(f"“{one_line(w, 40)}”" for w in words)


def event_words(event: str) -> str:
    """A rule's `on`, in the console's language."""
    names = {
        "message": N_("message"),
        "new_conversation": N_("new conversation"),
        "resolved": N_("resolved"),
        "no_reply": N_("no reply"),
        "csat": N_("satisfaction answer"),
    }
    return tr(names[event]) if event in names else visible(event)
