"""Automation: the shop's rules run on each event, in the process that runs the channels.

The store queues an event with what caused it (a customer's live message, a
resolve). `Automation.run` takes each one, asks the rules (`domain.rules`),
decides what may really happen, and hands the store one plan that it writes in
one transaction together with taking the event out of the queue: a rule fires
once per event, never twice and never skipped after a crash.

What an automatic reply never does (each is said on the rule's ⚙ line instead):
- answer a message a machine wrote (an auto-reply, a bulk mail, a no-reply
  sender, a bot), so two auto-responders cannot talk to each other for ever;
- answer a customer a person is answering: assigned and answered in the last
  `agent_active` seconds, or an agent writing to them now;
- answer after a hand-off, until the conversation is resolved;
- go past `max_auto_replies_per_day` for one customer, all rules together.

History never fires rules: adapters mark a first sync or a backfill, and a
message sent more than a day before it arrived counts as history too.

`no_reply` rules run on clocks kept in the store: one per customer and rule,
started by a customer's message and stopped by a person's reply or a resolve.
The loop sleeps until the next clock is due (one indexed read), so thousands of
open conversations cost nothing per tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import unicodedata
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from omnitui.domain.mail import reply_subject
from omnitui.domain.models import CannedReply, Channel, ChannelKind, ThreadStatus, reply_channel
from omnitui.domain.rules import Event, Firing, Rule, evaluate
from omnitui.domain.templates import pick_canned, render
from omnitui.store.errors import StoreUnreachable
from omnitui.store.records import (
    AutomationEvent,
    AutomationFacts,
    AutomationPlan,
    PlannedFiring,
    PlannedReply,
    RuleTimer,
)

if TYPE_CHECKING:
    from omnitui.config import Settings
    from omnitui.domain.hours import BusinessHours
    from omnitui.store.protocol import StoreProtocol

log = logging.getLogger("omnitui.automation")

STALE_AFTER = 86_400.0  # a message older than this when it arrived is history
# Seconds: look at the queue at least this often. An event another process
# queued (a console resolving a conversation, on any machine) is found when the
# store says it changed (`wait_for_change`; on SQLite it looks every
# `CHANGE_LOOK` seconds); this look is only in case the clocks disagree.
IDLE_WAKE = 30.0
CHANGE_LOOK = 1.0
GIVE_UP_AFTER = 5  # an event that fails this many times is dropped (and logged)

# Why an automatic reply was not sent (the ⚙ line says it in words).
SKIP_AUTOMATIC = "automatic"
SKIP_HANDOFF = "handoff"
SKIP_AGENT = "agent"
SKIP_LIMIT = "limit"
SKIP_NO_CHANNEL = "no_channel"
SKIP_NO_CANNED = "no_canned"
SKIP_PLACEHOLDERS = "placeholders"
CSAT_AUTHOR = "CSAT"  # the satisfaction question is written by "⚙ CSAT"


@dataclass(frozen=True, slots=True)
class AutomationSetup:
    """The rules and what they need, from config.toml (reloaded on SIGHUP)."""

    rules: tuple[Rule, ...] = ()
    hours: BusinessHours | None = None
    max_auto_replies_per_day: int = 3
    agent_active: float = 1800.0  # seconds since a person's reply that count as answering
    shop_values: Mapping[str, str] = field(default_factory=dict)
    csat_ask: str = ""  # the canned reply asking for a rating after a resolve; "": no survey
    csat_every: float = 7 * 86_400.0  # seconds: a customer is asked at most once in this

    @classmethod
    def from_settings(cls, settings: Settings) -> AutomationSetup:
        from omnitui.domain.rules import duration

        return cls(
            rules=tuple(settings.rules()),
            hours=settings.business_hours(),
            max_auto_replies_per_day=settings.automation.max_auto_replies_per_day,
            agent_active=duration(settings.automation.agent_active) or 0.0,
            shop_values=settings.shop_values(),
            csat_ask=settings.csat.ask if settings.csat.enabled else "",
            csat_every=settings.csat.every_days * 86_400.0,
        )


def guess_language(text: str) -> str:
    """ "ja" when `text` has kana or kanji, else "" (a customer whose language is unknown)."""
    for char in text:
        name = unicodedata.name(char, "")
        if name.startswith(("HIRAGANA", "KATAKANA", "CJK UNIFIED")):
            return "ja"
    return ""


class Automation:
    """Runs the rules on the store's queued events and due no_reply clocks."""

    def __init__(
        self,
        store: StoreProtocol,
        setup: AutomationSetup,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self.setup = setup
        self.channels = dict(channels)  # account -> channel, for replies
        self._clock = clock or store.now
        self._wake = asyncio.Event()
        self._failures: dict[int, int] = {}
        self._checked: AutomationSetup | None = None  # rules whose canned replies were looked up

    def reload(self, setup: AutomationSetup) -> None:
        """Use new rules from the next event on (SIGHUP)."""
        self.setup = setup
        self._wake.set()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        """Take events and clocks until cancelled."""
        while True:
            self._wake.clear()
            seen = -1  # unknown: the next look comes soon
            try:
                seen = await self.store.last_change_id()
                busy = await self.step()
            except asyncio.CancelledError:
                raise
            except StoreUnreachable as exc:  # said once a second until it is back
                log.warning("automation: the store cannot be reached (%s); trying again", exc)
                busy = 0
                await asyncio.sleep(1.0)
            except Exception:  # a busy store: the queue waits, nothing is lost
                log.exception("automation: the queue could not be read; trying again")
                busy = 0
                await asyncio.sleep(1.0)
            if busy:
                continue
            wait = IDLE_WAKE if seen >= 0 else 1.0
            with contextlib.suppress(Exception):
                due = await self.store.next_timer_due()
                if due is not None:
                    wait = max(0.05, min(wait, due - self._clock()))
            await self._until_change(seen, wait)

    async def _until_change(self, seen: int, seconds: float) -> None:
        """Wait until the store logs a change after `seen` (an event queued by
        any process), `wake()` is called, or `seconds` pass."""
        waits: list[asyncio.Task[object]] = [
            asyncio.create_task(self.store.wait_for_change(seen, poll=CHANGE_LOOK)),
            asyncio.create_task(self._wake.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            # Their outcomes (a store that failed is said by the next read) are
            # dropped; a cancel of this task while they wind down is not.
            await asyncio.gather(*waits, return_exceptions=True)

    async def step(self) -> int:
        """One pass: queued events, then due clocks. Returns how many were taken."""
        if self._checked is not self.setup:
            self._checked = self.setup
            await self._say_missing_canned()
        events = await self.store.pending_automation()
        replies: list[CannedReply] | None = None
        idle: list[int] = []  # events that set off nothing: dropped together
        for event in events:
            if replies is None and (self.setup.rules or self.setup.csat_ask):
                replies = await self.store.canned_replies()
            if await self._guarded(event.id, self._event(event, replies or [])):
                idle.append(event.id)
        await self.store.drop_automation_events(idle)
        timers = await self.store.due_timers(self._clock())
        for timer in timers:
            if replies is None:
                replies = await self.store.canned_replies()
            await self._timer(timer, replies)
        return len(events) + len(timers)

    async def _say_missing_canned(self) -> None:
        """Log each rule whose reply names no canned reply, and a `[csat] ask`
        that names none, once per config (at the start and after SIGHUP): its
        replies would be skipped."""
        wanted = [(r.name, r.then.reply) for r in self.setup.rules if r.then.reply]
        ask = self.setup.csat_ask
        if not wanted and not ask:
            return
        shortcuts = {c.shortcut for c in await self.store.canned_replies()}
        for name, shortcut in wanted:
            if shortcut not in shortcuts:
                log.warning("rule %r replies with /%s, which is no canned reply", name, shortcut)
        if ask and ask not in shortcuts:
            log.warning("[csat] asks with /%s, which is no canned reply: nobody is asked", ask)

    async def _guarded(self, event_id: int, work: Coroutine[object, object, bool]) -> bool:
        """Run one event's work; a failure leaves it queued, and drops it after
        `GIVE_UP_AFTER` tries (logged). True: it set off nothing."""
        try:
            nothing = await work
            self._failures.pop(event_id, None)
            return nothing
        except (asyncio.CancelledError, StoreUnreachable):
            raise  # the store is away: the event stays queued, and is not counted against
        except Exception:
            count = self._failures.get(event_id, 0) + 1
            self._failures[event_id] = count
            if count < GIVE_UP_AFTER:
                log.exception("automation: event %d failed; it stays queued", event_id)
                await asyncio.sleep(min(5.0, 0.2 * 2**count))
                return False
            log.exception("automation: event %d failed %d times; dropped", event_id, count)
            self._failures.pop(event_id, None)
            return True

    async def _event(self, event: AutomationEvent, replies: Sequence[CannedReply]) -> bool:
        """Run the rules on one event; True when it set off nothing (nothing written)."""
        asks = event.kind == "resolved" and bool(self.setup.csat_ask)
        if not self.setup.rules and not asks:  # without rules there is nothing to look at
            return True
        facts = await self.store.automation_facts(event.contact_id, event.message_id)
        if facts is None:
            return True
        contact_id = facts.contact.id
        if event.kind == "message":
            kinds = ["new_conversation", "message"] if event.new_conversation else ["message"]
            stale = facts.sent_at is not None and event.at - facts.sent_at > STALE_AFTER
            if stale:
                kinds = []
        else:
            kinds = [event.kind]
        plan = await self._plan(
            kinds,
            facts,
            replies,
            contact_id=contact_id,
            message_id=event.message_id,
            reply_on=facts.account if event.kind == "message" else facts.contact.last_account,
            rating=event.rating,
        )
        if asks:
            plan = await self._with_csat(plan, facts, replies)
        if event.kind == "message" and kinds and not self._automatic(facts):
            now = self._clock()
            timers = tuple(
                (rule.name, now + rule.after)
                for rule in self.setup.rules
                if rule.on == "no_reply" and rule.after
            )
            plan = replace(plan, timers=timers)
        if not plan.firings and not plan.timers and plan.csat is None:
            return True
        done = await self.store.apply_automation(plan, event_id=event.id)
        self._log(plan, done)
        return False

    async def _timer(self, timer: RuleTimer, replies: Sequence[CannedReply]) -> None:
        rule = next((r for r in self.setup.rules if r.name == timer.rule), None)
        facts = await self.store.automation_facts(timer.contact_id)
        if (
            rule is None
            or rule.on != "no_reply"
            or facts is None
            or facts.contact.id != timer.contact_id
            or facts.contact.status is not ThreadStatus.OPEN
        ):
            await self.store.drop_timer(timer.contact_id, timer.rule)
            return
        plan = await self._plan(
            ["no_reply"],
            facts,
            replies,
            contact_id=timer.contact_id,
            message_id=None,
            reply_on=facts.contact.last_account,
            only=rule,
        )
        done = await self.store.apply_automation(plan, timer=(timer.contact_id, timer.rule))
        self._log(plan, done)

    def _log(self, plan: AutomationPlan, done: bool) -> None:
        for firing in plan.firings if done else ():
            log.info("rule %r fired (%s) for contact %d", firing.rule, plan.event, plan.contact_id)

    def _automatic(self, facts: AutomationFacts) -> str:
        """Why the message the rules look at was written by a machine, or "".

        The adapter said so when it stored the message (`omnitui.domain.automatic`:
        the headers, and the address a reply would go to)."""
        return facts.automatic

    def _language(self, facts: AutomationFacts) -> str:
        given = facts.contact.language or facts.sender_language
        if given:
            return given.split("-")[0].lower()
        return guess_language(f"{facts.subject}\n{facts.text}")

    async def _plan(
        self,
        kinds: Sequence[str],
        facts: AutomationFacts,
        replies: Sequence[CannedReply],
        *,
        contact_id: int,
        message_id: int | None,
        reply_on: str | None,
        only: Rule | None = None,
        rating: int | None = None,
    ) -> AutomationPlan:
        setup = self.setup
        now = self._clock()
        language = self._language(facts)
        opened = (
            None if setup.hours is None else setup.hours.is_open(datetime.fromtimestamp(now, UTC))
        )
        # A message on a channel that cannot carry a reply (a plugin's web form) is
        # answered on one that reaches the same address (the shop's email).
        channel = reply_channel(self.channels.get(reply_on or ""), self.channels.values())
        firings: list[PlannedFiring] = []
        planned: list[PlannedReply] = []
        tags: list[str] = []
        profile: dict[str, str] = {}
        assignee: str | None = None
        status: ThreadStatus | None = None
        round_robin: list[tuple[str, str]] = []
        handed = False
        by_name = {r.name: r for r in setup.rules}
        rules = (only,) if only is not None else setup.rules
        matched: list[list[Firing]] = []
        for kind in kinds:
            event = Event(
                kind=kind,
                text=facts.text,
                subject=facts.subject,
                channel_kind=str(facts.kind or ""),
                channel_name=facts.account or "",
                tags=frozenset(facts.contact.tags),
                language=language,
                open=opened,
                rating=rating,
            )
            fired = evaluate(rules, event)
            matched.append(fired)
            if fired and fired[-1].stop:
                break
        if not any(matched):
            return AutomationPlan(event="+".join(kinds) or "message", contact_id=contact_id)
        facts = await self.store.automation_history(facts)
        handoff = facts.handoff
        left = setup.max_auto_replies_per_day - facts.replies_today
        for fired in matched:
            for firing in fired:
                rule = by_name.get(firing.rule, only)
                last = facts.last_fired.get(firing.rule)
                if rule is not None and rule.once_per and last and now - last < rule.once_per:
                    continue
                actions: dict[str, object] = {}
                if firing.tag:
                    tags.extend(t for t in firing.tag if t not in tags)
                    actions["tag"] = list(firing.tag)
                if firing.assign:
                    agent = firing.assign[0]
                    current = assignee or facts.contact.assignee
                    if len(firing.assign) > 1 and current in firing.assign:
                        agent = current  # round robin shares out customers, not messages
                    elif len(firing.assign) > 1:
                        agent = await self._next_agent(firing.rule, firing.assign, round_robin)
                        round_robin.append((firing.rule, agent))
                    assignee = agent
                    actions["assign"] = agent
                reply_index: int | None = None
                if firing.reply:
                    reply, skipped = await self._reply(
                        firing, facts, handoff, left, channel, language, replies
                    )
                    actions.update(skipped)
                    if reply is not None:
                        reply_index = len(planned)
                        planned.append(reply)
                        left -= 1
                    actions["reply"] = firing.reply
                if firing.status:
                    status = ThreadStatus(firing.status)
                    actions["status"] = firing.status
                if firing.notify:
                    actions["notify"] = True
                if firing.set:
                    profile.update(dict(firing.set))
                    actions["set"] = dict(firing.set)
                if firing.handoff:
                    handoff = handed = True
                    actions["handoff"] = True
                if firing.stop:  # `evaluate` ended the list here
                    actions["stop"] = True
                firings.append(PlannedFiring(firing.rule, actions, reply_index, firing.notify))
        return AutomationPlan(
            event="+".join(kinds) if kinds else "message",
            contact_id=contact_id,
            message_id=message_id,
            firings=tuple(firings),
            tags=tuple(tags),
            assignee=assignee,
            status=status,
            profile=tuple(profile.items()),
            handoff=handed,
            replies=tuple(planned),
            round_robin=tuple(round_robin),
        )

    async def _reply(
        self,
        firing: Firing,
        facts: AutomationFacts,
        handoff: bool,
        left: int,
        channel: Channel | None,
        language: str,
        replies: Sequence[CannedReply],
    ) -> tuple[PlannedReply | None, dict[str, object]]:
        """A firing's automatic reply, or why it does not go (for its ⚙ line)."""
        assert firing.reply is not None
        skipped, why = self._reply_blocked(facts, handoff, left, channel, self._clock())
        if not skipped:
            canned = pick_canned(replies, firing.reply, language)
            if canned is None:
                skipped = SKIP_NO_CANNED
            else:
                rendered = render(canned.body, self._values(facts))
                if rendered.unresolved:
                    skipped, why = SKIP_PLACEHOLDERS, ", ".join(rendered.unresolved)
        if skipped or channel is None:
            words: dict[str, object] = {"reply_skipped": skipped}
            if why:
                words["reply_skipped_why"] = why
            return None, words
        subject = ""
        if channel.kind is ChannelKind.EMAIL:
            last = await self.store.reply_subject(facts.contact.id, channel.account)
            subject = reply_subject(last)
        return PlannedReply(firing.rule, channel, rendered.text, subject), {}

    async def _with_csat(
        self, plan: AutomationPlan, facts: AutomationFacts, replies: Sequence[CannedReply]
    ) -> AutomationPlan:
        """`plan` with the satisfaction question after a resolve, when the
        customer can and may be asked: a person answered in the conversation
        (not only automation), it was not asked yet, the customer was not asked
        within `csat_every`, their last message was not a machine's, they did
        not opt out of the channel, and it is not an SMS to a Japanese number
        (Twilio numbers there receive no answer)."""
        from omnitui.domain.csat import cannot_answer_sms

        state = await self.store.csat_state(facts.contact.id, self.setup.csat_every)
        if (
            state is None
            or state.asked
            or not state.person_replied
            or state.asked_recently
            or state.opted_out
            or not state.address
            or self._automatic(facts)
        ):
            return plan
        channel = self.channels.get(state.account)
        if channel is None:
            return plan
        if channel.kind is ChannelKind.SMS and cannot_answer_sms(state.address):
            return plan
        canned = pick_canned(replies, self.setup.csat_ask, self._language(facts))
        if canned is None:  # said in the log at the start and on each reload
            return plan
        rendered = render(canned.body, self._values(facts))
        if rendered.unresolved:
            return plan  # a question with a hole in it is not sent
        subject = ""
        if channel.kind is ChannelKind.EMAIL:
            subject = reply_subject(
                await self.store.reply_subject(facts.contact.id, channel.account)
            )
        question = PlannedReply(CSAT_AUTHOR, channel, rendered.text, subject)
        return replace(plan, csat=question, csat_conversation=state.conversation_id)

    def _values(self, facts: AutomationFacts) -> dict[str, str]:
        """A canned reply's values: the shop's, then the customer's profile; a
        first name not on the profile is guessed from their name, as the
        composer offers it."""
        from omnitui.domain.names import given_name_guess

        values = {**self.setup.shop_values, **facts.contact.placeholder_values()}
        if "first_name" not in values:
            guess = given_name_guess(facts.contact.name)
            if guess:
                values["first_name"] = guess
        return values

    def _reply_blocked(
        self,
        facts: AutomationFacts,
        handoff: bool,
        left: int,
        channel: Channel | None,
        now: float,
    ) -> tuple[str, str]:
        """Why an automatic reply may not go now ("" when it may), and a detail."""
        automatic = self._automatic(facts)
        if automatic:
            return SKIP_AUTOMATIC, automatic
        if handoff:
            return SKIP_HANDOFF, ""
        if facts.composing:
            return SKIP_AGENT, facts.composing[0]
        answered = facts.last_agent_reply
        if (
            facts.contact.assignee
            and answered is not None
            and now - answered < self.setup.agent_active
        ):
            return SKIP_AGENT, facts.contact.assignee
        if left <= 0:
            return SKIP_LIMIT, str(self.setup.max_auto_replies_per_day)
        if channel is None:
            return SKIP_NO_CHANNEL, ""
        return "", ""

    async def _next_agent(
        self, rule: str, agents: Sequence[str], planned: Sequence[tuple[str, str]]
    ) -> str:
        """The agent after the one this rule picked last (round robin)."""
        last = next((a for r, a in reversed(planned) if r == rule), None)
        if last is None:
            last = await self.store.round_robin_last(rule)
        if last in agents:
            return agents[(agents.index(last) + 1) % len(agents)]
        return agents[0]
