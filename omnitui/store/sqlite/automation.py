"""Automation in SQLite: the events rules run on, what they did, no-reply clocks.

An event (a customer's live message, a resolve) is written in the same
transaction as what caused it. The process that runs the channels reads it,
asks the rules, and hands back a plan; `apply_automation` takes the event out
of the queue in the transaction that does the plan, so an event is done once:
never twice (a second taker finds it gone and does nothing), never skipped (a
crash before the commit leaves it queued).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace

from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    ChannelKind,
    Delivery,
    Direction,
    ThreadStatus,
)
from omnitui.store.errors import StoreError
from omnitui.store.records import (
    AutomationEvent,
    AutomationFacts,
    AutomationPlan,
    CsatState,
    CsatSummary,
    Notice,
    PlannedReply,
    RuleStat,
    RuleTimer,
)
from omnitui.store.sqlite.outbox import SqliteOutbox
from omnitui.store.sqlite.rows import contact_of
from omnitui.store.sqlite.writes import insert_message, resolved

DAY = 86_400.0
COMPOSING_FRESH = 90.0  # seconds: an agent seen typing this recently is writing
_ROUND_ROBIN = "automation"  # the cursor table's account for round-robin turns


class SqliteAutomation(SqliteOutbox):
    """The automation queue, firings, no-reply clocks and hand-offs."""

    async def pending_automation(self, *, limit: int = 50) -> list[AutomationEvent]:
        """Events waiting for the rules, oldest first."""
        rows = await self._rows(
            "SELECT id, kind, contact_id, message_id, new_conversation, at, rating "
            "FROM automation_event ORDER BY id LIMIT ?",
            (limit,),
        )
        return [
            AutomationEvent(
                id=r["id"],
                kind=r["kind"],
                contact_id=r["contact_id"],
                message_id=r["message_id"],
                new_conversation=bool(r["new_conversation"]),
                at=r["at"],
                rating=r["rating"],
            )
            for r in rows
        ]

    async def automation_facts(
        self, contact_id: int, message_id: int | None = None
    ) -> AutomationFacts | None:
        """What the rules look at for a customer (None when they are gone): the
        contact and the message, in one read. What only a firing rule needs is
        read by `automation_history`.

        The message is the event's, or else the customer's last one. A contact
        merged into another is followed to the one that holds them now."""
        for _ in range(8):  # a merge chain is short; never loop for ever
            rows = await self._rows(
                "SELECT c.id, c.name, c.first_name, c.language, c.profile, c.status, "
                "c.snoozed_until, c.assignee, c.tags, c.unread, c.last_activity, "
                "c.last_account, c.handoff, c.merged_into, m.text, m.subject, m.account, m.kind, "
                "m.sent_at, json_extract(m.meta, '$.automatic') AS automatic, i.address, "
                "json_extract(i.data, '$.language_code') AS language_code "
                "FROM contact c LEFT JOIN message m ON m.id = coalesce(?, ("
                " SELECT id FROM message WHERE contact_id = c.id AND direction = 'in' "
                " ORDER BY sent_at DESC, id DESC LIMIT 1)) "
                "LEFT JOIN identity i ON i.id = m.identity_id WHERE c.id = ?",
                (message_id, contact_id),
            )
            if not rows:
                return None
            r = rows[0]
            if r["merged_into"] is None:
                break
            contact_id = int(r["merged_into"])
        else:
            return None
        contact = contact_of(r)
        automatic = r["automatic"]
        return AutomationFacts(
            contact=contact,
            handoff=bool(r["handoff"]),
            text=r["text"] or "",
            subject=r["subject"] or "",
            account=r["account"] or None,
            kind=ChannelKind(r["kind"]) if r["kind"] else None,
            sent_at=r["sent_at"],
            automatic=str(automatic) if automatic not in (None, "", 0) else "",
            sender=r["address"] or "",
            sender_language=str(r["language_code"] or ""),
        )

    async def automation_history(self, facts: AutomationFacts) -> AutomationFacts:
        """`facts` with what a firing rule needs: a person's last reply, who is
        writing to the customer now, today's automatic replies, each rule's last
        firing for them."""
        contact_id = facts.contact.id
        now = self._clock()
        head = await self._rows(
            "SELECT "
            "(SELECT max(sent_at) FROM message WHERE contact_id = ? AND direction = 'out' "
            " AND author IS NOT NULL AND json_extract(meta, '$.automatic') IS NULL) AS agent, "
            "(SELECT count(*) FROM rule_firing WHERE contact_id = ? AND replied = 1 "
            " AND at >= ?) AS replies, "
            "(SELECT group_concat(agent, '\n') FROM composing "
            " WHERE contact_id = ? AND at >= ?) AS composing",
            (contact_id, contact_id, now - DAY, contact_id, now - COMPOSING_FRESH),
        )
        fired = await self._rows(
            "SELECT rule, max(at) AS at FROM rule_firing WHERE contact_id = ? GROUP BY rule",
            (contact_id,),
        )
        row = head[0]
        return replace(
            facts,
            last_agent_reply=row["agent"],
            replies_today=int(row["replies"] or 0),
            composing=tuple(sorted(filter(None, str(row["composing"] or "").split("\n")))),
            last_fired={str(r["rule"]): float(r["at"]) for r in fired},
        )

    async def drop_automation_events(self, event_ids: Sequence[int]) -> None:
        """Take events that set off nothing out of the queue, in one transaction."""
        ids = list(event_ids)
        if not ids:
            return

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM automation_event WHERE id = ?", [(i,) for i in ids])

        await self._write(run)

    async def due_timers(self, now: float, *, limit: int = 50) -> list[RuleTimer]:
        """no_reply clocks that have run out (an index range, not a scan)."""
        rows = await self._rows(
            "SELECT contact_id, rule, since, due_at FROM rule_timer "
            "WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?",
            (now, limit),
        )
        return [RuleTimer(r["contact_id"], r["rule"], r["since"], r["due_at"]) for r in rows]

    async def next_timer_due(self) -> float | None:
        """When the next no_reply clock runs out, if one runs."""
        value = await self._value("SELECT min(due_at) FROM rule_timer WHERE due_at IS NOT NULL")
        return None if value is None else float(value)

    async def drop_timer(self, contact_id: int, rule: str) -> None:
        """Stop a no_reply clock that has nothing to do (the conversation is not open)."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM rule_timer WHERE contact_id = ? AND rule = ?", (contact_id, rule)
            )

        await self._write(run)

    async def round_robin_last(self, rule: str) -> str | None:
        """The agent a round-robin rule gave its last customer to."""
        value = await self._value(
            "SELECT value FROM cursor WHERE account = ? AND key = ?",
            (_ROUND_ROBIN, f"round-robin:{rule}"),
        )
        return None if value is None else str(value)

    async def apply_automation(
        self,
        plan: AutomationPlan,
        *,
        event_id: int | None = None,
        timer: tuple[int, str] | None = None,
    ) -> bool:
        """Do what the rules said for one event, in one transaction.

        The event (`event_id`) leaves the queue, or the no_reply clock (`timer`:
        contact, rule) is marked fired, in the same transaction; when it is
        already gone (another taker did it) nothing is done and False returned.
        A reply that cannot go (the customer opted out of that channel) is
        said on the rule's line; the rest of the plan still happens."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> bool:
            if (
                event_id is not None
                and not conn.execute(
                    "DELETE FROM automation_event WHERE id = ?", (event_id,)
                ).rowcount
            ):
                return False
            if (
                timer is not None
                and not conn.execute(
                    "UPDATE rule_timer SET due_at = NULL "
                    "WHERE contact_id = ? AND rule = ? AND due_at IS NOT NULL",
                    timer,
                ).rowcount
            ):
                return False
            row = conn.execute(
                "SELECT tags, profile, status, merged_into FROM contact WHERE id = ?",
                (plan.contact_id,),
            ).fetchone()
            if row is None or row["merged_into"] is not None:
                return True  # the customer is gone: the event is done with
            self._do_plan(conn, plan, row, now)
            return True

        return await self._write(run)

    def _do_plan(
        self,
        conn: sqlite3.Connection,
        plan: AutomationPlan,
        row: sqlite3.Row,
        now: float,
    ) -> None:
        contact_id = plan.contact_id
        updated = False
        if plan.tags:
            tags = json.loads(row["tags"] or "[]")
            added = [t for t in plan.tags if t not in tags]
            if added:
                conn.execute(
                    "UPDATE contact SET tags = ? WHERE id = ?",
                    (json.dumps([*tags, *added], ensure_ascii=False), contact_id),
                )
                self._change(conn, ChangeKind.CONTACT, contact_id)
                updated = True
        if plan.profile:
            profile = json.loads(row["profile"] or "{}")
            profile.update(dict(plan.profile))
            conn.execute(
                "UPDATE contact SET profile = ? WHERE id = ?",
                (json.dumps(profile, ensure_ascii=False), contact_id),
            )
            self._change(conn, ChangeKind.CONTACT, contact_id)
            updated = True
        if updated:
            self._queue_webhook(conn, "contact.updated", contact_id)
        if plan.assignee is not None:
            conn.execute(
                "UPDATE contact SET assignee = ? WHERE id = ?", (plan.assignee, contact_id)
            )
            conn.execute(
                "UPDATE conversation SET assignee = ? WHERE contact_id = ? AND resolved_at IS NULL",
                (plan.assignee, contact_id),
            )
            self._change(conn, ChangeKind.ASSIGN, contact_id)
        if plan.handoff:
            conn.execute("UPDATE contact SET handoff = 1 WHERE id = ?", (contact_id,))
        if plan.status is not None:
            conn.execute(
                "UPDATE contact SET status = ?, snoozed_until = NULL WHERE id = ?",
                (str(plan.status), contact_id),
            )
            if plan.status is ThreadStatus.RESOLVED and row["status"] != "resolved":
                resolved(conn, contact_id, now)
                self._queue_webhook(conn, "conversation.resolved", contact_id)
            self._change(conn, ChangeKind.STATUS, contact_id)
        failed: dict[int, str] = {}
        for index, reply in enumerate(plan.replies):
            try:
                self._enqueue(
                    conn,
                    contact_id,
                    reply.channel,
                    reply.text,
                    reply.subject,
                    f"⚙ {reply.rule}",
                    (),
                    0.0,
                    {"automatic": True, "rule": reply.rule},
                    automatic=True,
                )
            except StoreError as exc:
                failed[index] = str(exc)
        for firing in plan.firings:
            actions = dict(firing.actions)
            replied = firing.reply is not None and firing.reply not in failed
            if firing.reply is not None and firing.reply in failed:
                actions.pop("reply", None)
                actions["reply_failed"] = failed[firing.reply]
            words = json.dumps(actions, ensure_ascii=False)
            conn.execute(
                "INSERT INTO rule_firing(rule, event, contact_id, message_id, at, replied, "
                "notify, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    firing.rule,
                    plan.event,
                    contact_id,
                    plan.message_id,
                    now,
                    int(replied),
                    int(firing.notify),
                    words,
                ),
            )
            insert_message(
                conn,
                contact_id=contact_id,
                identity_id=None,
                account="",
                kind="",
                direction=Direction.AUTO,
                text=words,
                # The contact it fired on, so undoing a merge takes it back there.
                meta=json.dumps({"contact": contact_id, "event": plan.event}),
                sent_at=now,
                created_at=now,
                status=Delivery.RECEIVED,
                author=firing.rule,
            )
        for rule, due in plan.timers:
            conn.execute(
                "INSERT OR IGNORE INTO rule_timer(contact_id, rule, since, due_at) "
                "VALUES (?, ?, ?, ?)",
                (contact_id, rule, now, due),
            )
        for rule, agent in plan.round_robin:
            conn.execute(
                "INSERT INTO cursor(account, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT(account, key) DO UPDATE SET value = excluded.value",
                (_ROUND_ROBIN, f"round-robin:{rule}", agent),
            )
        if plan.csat is not None and plan.csat_conversation is not None:
            self._ask_csat(conn, contact_id, plan.csat, plan.csat_conversation, now)
        if plan.firings:
            self._change(conn, ChangeKind.AUTOMATION, contact_id)

    def _ask_csat(
        self,
        conn: sqlite3.Connection,
        contact_id: int,
        reply: PlannedReply,
        conversation_id: int,
        now: float,
    ) -> None:
        """Queue the satisfaction question and mark its conversation asked, together:
        a conversation is asked once, and only when the question can go."""
        asked = conn.execute(
            "UPDATE conversation SET csat_asked_at = ? WHERE id = ? AND csat_asked_at IS NULL",
            (now, conversation_id),
        ).rowcount
        if not asked:
            return
        try:
            self._enqueue(
                conn,
                contact_id,
                reply.channel,
                reply.text,
                reply.subject,
                f"⚙ {reply.rule}",
                (),
                0.0,
                {"automatic": True, "csat_ask": True},
                automatic=True,
            )
        except StoreError:  # the customer opted out meanwhile: not asked
            conn.execute(
                "UPDATE conversation SET csat_asked_at = NULL WHERE id = ?", (conversation_id,)
            )

    async def csat_state(self, contact_id: int, every: float) -> CsatState | None:
        """The customer's last conversation as the satisfaction question sees it:
        None when it is not resolved (or they never wrote)."""
        rows = await self._rows(
            "SELECT v.id, v.account, v.kind, v.csat_asked_at, v.messages_out, v.resolved_at, "
            "(SELECT max(csat_asked_at) FROM conversation WHERE contact_id = v.contact_id) "
            "AS last_asked FROM conversation v WHERE v.contact_id = ? "
            "ORDER BY v.started_at DESC, v.id DESC LIMIT 1",
            (contact_id,),
        )
        if not rows or rows[0]["resolved_at"] is None:
            return None
        row = rows[0]
        address, opted_out = "", False
        try:
            kind = IDENTITY_FOR_CHANNEL[ChannelKind(row["kind"])]
        except ValueError:
            kind = None
        if kind is not None:
            found = await self._rows(
                "SELECT address, opted_out FROM identity WHERE contact_id = ? AND kind = ? "
                "ORDER BY last_used DESC NULLS LAST, id LIMIT 1",
                (contact_id, str(kind)),
            )
            if found:
                address, opted_out = str(found[0]["address"]), bool(found[0]["opted_out"])
        last = row["last_asked"]
        return CsatState(
            conversation_id=int(row["id"]),
            account=str(row["account"] or ""),
            asked=row["csat_asked_at"] is not None,
            person_replied=int(row["messages_out"] or 0) > 0,
            asked_recently=last is not None and self._clock() - float(last) < every,
            address=address,
            opted_out=opted_out,
        )

    async def csat_summary(self, contact_id: int) -> CsatSummary | None:
        """The customer's satisfaction answers: how many, their average, the last one."""
        rows = await self._rows(
            "SELECT count(*) AS n, avg(CAST(csat_rating AS REAL)) AS average, "
            "(SELECT csat_rating FROM conversation WHERE contact_id = ? "
            " AND csat_rating IS NOT NULL ORDER BY csat_at DESC, id DESC LIMIT 1) AS last, "
            "max(csat_at) AS last_at FROM conversation "
            "WHERE contact_id = ? AND csat_rating IS NOT NULL",
            (contact_id, contact_id),
        )
        row = rows[0]
        if not row["n"]:
            return None
        return CsatSummary(
            count=int(row["n"]),
            average=float(row["average"]),
            last=int(row["last"]),
            last_at=float(row["last_at"]),
        )

    async def rule_stats(self, since: float) -> dict[str, RuleStat]:
        """Each rule that ever fired: its hits since `since`, and when it last fired."""
        rows = await self._rows(
            "SELECT rule, sum(CASE WHEN at >= ? THEN 1 ELSE 0 END) AS hits, max(at) AS last "
            "FROM rule_firing GROUP BY rule",
            (since,),
        )
        return {
            str(r["rule"]): RuleStat(str(r["rule"]), int(r["hits"] or 0), r["last"]) for r in rows
        }

    async def notices_after(self, after: int, *, limit: int = 20) -> list[Notice]:
        """Rules' notifications (`notify = true`) newer than `after`, oldest first."""
        rows = await self._rows(
            "SELECT f.id, f.rule, f.contact_id, c.name, f.summary, f.at FROM rule_firing f "
            "JOIN contact c ON c.id = f.contact_id WHERE f.id > ? AND f.notify = 1 "
            "ORDER BY f.id LIMIT ?",
            (after, limit),
        )
        return [
            Notice(
                id=r["id"],
                rule=r["rule"],
                contact_id=r["contact_id"],
                contact_name=r["name"],
                actions=_actions(r["summary"]),
                at=r["at"],
            )
            for r in rows
        ]

    async def last_firing_id(self) -> int:
        """The newest firing's id (0 without one): where a console starts to listen."""
        return int(await self._value("SELECT coalesce(max(id), 0) FROM rule_firing"))


def _actions(summary: str) -> Mapping[str, object]:
    try:
        value = json.loads(summary or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
