"""What reports read in SQLite: conversations, messages per hour, who waits now.

Reports never scan the messages: conversations and hourly counts are kept up
to date as messages arrive (see `writes.conversation_in`, `count_hour`), and
each read here is an index range.
"""

from __future__ import annotations

import json

from omnitui.store.records import ConversationRecord, HourCount, WaitingCustomer
from omnitui.store.sqlite.base import SqliteBase

COMPOSING_FRESH = 90.0  # seconds: an agent seen typing this recently is writing


class SqliteReports(SqliteBase):
    """Reads for `omnitui report`, the reports screen and the supervisor view."""

    async def conversations_between(self, since: float, until: float) -> list[ConversationRecord]:
        """Conversations started, or resolved, in [since, until), oldest first."""
        rows = await self._rows(
            "SELECT v.id, v.contact_id, v.kind, v.account, v.started_at, v.first_response_at, "
            "v.first_response_by, v.resolved_at, v.assignee, v.messages_in, v.messages_out, "
            "v.automatic_out, v.csat_rating, v.csat_at, c.tags FROM conversation v "
            "JOIN contact c ON c.id = v.contact_id WHERE v.id IN ("
            " SELECT id FROM conversation WHERE started_at >= ? AND started_at < ? "
            " UNION SELECT id FROM conversation WHERE resolved_at >= ? AND resolved_at < ?) "
            "ORDER BY v.started_at, v.id",
            (since, until, since, until),
        )
        return [
            ConversationRecord(
                id=r["id"],
                contact_id=r["contact_id"],
                kind=r["kind"],
                account=r["account"],
                started_at=r["started_at"],
                first_response_at=r["first_response_at"],
                first_response_by=r["first_response_by"],
                resolved_at=r["resolved_at"],
                assignee=r["assignee"],
                messages_in=r["messages_in"],
                messages_out=r["messages_out"],
                automatic_out=r["automatic_out"],
                csat_rating=r["csat_rating"],
                csat_at=r["csat_at"],
                tags=tuple(json.loads(r["tags"] or "[]")),
            )
            for r in rows
        ]

    async def message_hours(self, since: float, until: float) -> list[HourCount]:
        """Messages per hour in [since, until), by channel kind, direction and agent."""
        rows = await self._rows(
            "SELECT hour, kind, direction, agent, count FROM message_hour "
            "WHERE hour >= ? AND hour < ? AND count > 0 ORDER BY hour, kind, direction, agent",
            (int(since // 3600), int(-(-until // 3600))),
        )
        return [
            HourCount(r["hour"], r["kind"], r["direction"], r["agent"], r["count"]) for r in rows
        ]

    async def waiting_now(self, *, limit: int = 200) -> list[WaitingCustomer]:
        """Customers waiting for a person's answer, longest first: open, their
        last message unanswered, since their first message after a person's
        last reply (a rule's reply does not count as an answer, and a CSAT
        rating is no question)."""
        now = self._clock()
        rows = await self._rows(
            "SELECT c.id, c.name, c.assignee, coalesce(c.channels, '') AS channels, "
            "(SELECT kind FROM message WHERE contact_id = c.id AND direction = 'in' "
            " ORDER BY sent_at DESC, id DESC LIMIT 1) AS kind, "
            # A reply stamped the same second as the message leaves no message
            # after it: the customer's last activity is when they wait from.
            "coalesce((SELECT min(m.sent_at) FROM message m WHERE m.contact_id = c.id "
            " AND m.direction = 'in' AND json_extract(m.meta, '$.csat') IS NULL "
            " AND m.sent_at > coalesce(("
            "  SELECT max(o.sent_at) FROM message o WHERE o.contact_id = c.id "
            "  AND o.direction = 'out' AND json_extract(o.meta, '$.automatic') IS NULL), 0)), "
            " c.last_activity) AS since, "
            "(SELECT group_concat(agent, '\n') FROM composing "
            " WHERE contact_id = c.id AND at >= ?) AS composing "
            "FROM contact c WHERE c.merged_into IS NULL AND c.status = 'open' "
            "AND c.last_direction = 'in' ORDER BY since, c.id LIMIT ?",
            (now - COMPOSING_FRESH, limit),
        )
        return [
            WaitingCustomer(
                contact_id=r["id"],
                name=r["name"],
                since=r["since"] if r["since"] is not None else now,
                assignee=r["assignee"],
                kind=r["kind"] or "",
                composing=tuple(sorted(filter(None, str(r["composing"] or "").split("\n")))),
            )
            for r in rows
        ]
