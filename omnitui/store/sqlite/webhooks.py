"""Webhooks out in the store: the webhooks the channel runner serves, and their queue.

An event (a message received or sent, a conversation resolved, a contact
updated, a rating recorded) is queued in the same transaction as the change
that makes it, so it is never lost and never queued for a change that did not
happen. It is queued only when an active webhook wants it: a store without
webhooks pays one read of a tiny table, and never loads pydantic. The body is
frozen then (the customer as they are after the change), with an event id
made once (`evt_…`) and shared by every webhook that receives it; the sender
POSTs exactly those bytes on every attempt.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import Attachment
from omnitui.domain.safe_text import shown_url
from omnitui.store.records import WebhookDelivery, WebhookState
from omnitui.store.sqlite.base import SqliteBase
from omnitui.store.sqlite.rows import contact_of, identity_of
from omnitui.store.sqlite.threads import _MESSAGE_COLUMNS as MESSAGE_COLUMNS
from omnitui.store.sqlite.threads import _message as message_of

if TYPE_CHECKING:
    from omnitui.domain.models import Contact, Message
    from omnitui.domain.wire import CsatOut

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

# The head of each customer's queue on a webhook: their oldest pending event.
# A later one waits until it is delivered or given up, even when it is due.
_HEAD = (
    "d.webhook_id = ? AND d.state = 'pending' AND NOT EXISTS ("
    "SELECT 1 FROM webhook_delivery e WHERE e.webhook_id = d.webhook_id "
    "AND e.state = 'pending' AND e.contact_id = d.contact_id AND e.id < d.id)"
)


def webhook_account(url: str) -> str:
    """The name a webhook's problems carry in the consoles' channel line."""
    return f"webhook {shown_url(url)}"


def new_event_id() -> str:
    """An event's id: made once, the same on every webhook and every attempt."""
    return "evt_" + secrets.token_hex(12)


class SqliteWebhooks(SqliteBase):
    """The webhooks the runner serves, the events queued for them, and how they went."""

    def _queue_webhook(
        self,
        conn: sqlite3.Connection,
        event: str,
        contact_id: int,
        *,
        message_id: int | None = None,
        conversation_id: int | None = None,
    ) -> None:
        """Queue `event` for every active webhook that wants it, in the caller's
        transaction, its body frozen now. The one place all five events are made."""
        webhooks = [
            int(row["id"])
            for row in conn.execute("SELECT id, events FROM webhook WHERE active = 1")
            if event in json.loads(row["events"] or "[]")
        ]
        if not webhooks:
            return
        from omnitui.domain.wire import WebhookBody, contact_out, message_out, when

        now = self._clock()
        contact = self._contact_now(conn, contact_id)
        if contact is None:
            return
        message = None if message_id is None else self._message_now(conn, message_id)
        event_id = new_event_id()
        at = when(now)
        assert at is not None
        body = WebhookBody.model_validate(
            {
                "id": event_id,
                "event": event,
                "at": at,
                "contact": contact_out(contact),
                "message": None if message is None else message_out(message),
                "csat": None if conversation_id is None else self._csat_now(conn, conversation_id),
            }
        ).model_dump_json()
        conn.executemany(
            "INSERT INTO webhook_delivery(webhook_id, event_id, event, contact_id, body, state, "
            "attempts, next_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, '', ?)",
            [(w, event_id, event, contact.id, body, now, now) for w in webhooks],
        )

    def _contact_now(self, conn: sqlite3.Connection, contact_id: int) -> Contact | None:
        row = conn.execute(
            "SELECT id, name, first_name, language, profile, status, snoozed_until, assignee, "
            "tags, unread, last_activity, last_account, merged_into FROM contact WHERE id = ?",
            (contact_id,),
        ).fetchone()
        if row is None:
            return None
        if row["merged_into"] is not None:  # an event of a merged customer is their new one's
            return self._contact_now(conn, int(row["merged_into"]))
        identities = tuple(
            identity_of(i)
            for i in conn.execute(
                "SELECT id, contact_id, kind, address, display, last_used, opted_out "
                "FROM identity WHERE contact_id = ? ORDER BY last_used DESC NULLS LAST, id",
                (contact_id,),
            )
        )
        return contact_of(row, identities)

    def _message_now(self, conn: sqlite3.Connection, message_id: int) -> Message | None:
        row = conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM message m "
            "LEFT JOIN identity i ON i.id = m.identity_id WHERE m.id = ?",
            (message_id,),
        ).fetchone()
        if row is None:
            return None
        attachments = [
            Attachment(
                id=a["id"],
                message_id=message_id,
                filename=a["filename"],
                content_type=a["content_type"],
                size=a["size"],
                note=a["note"] or "",
            )
            for a in conn.execute(
                "SELECT id, filename, content_type, size, note FROM attachment "
                "WHERE message_id = ? ORDER BY id",
                (message_id,),
            )
        ]
        return message_of(row, {message_id: attachments})

    def _csat_now(self, conn: sqlite3.Connection, conversation_id: int) -> CsatOut | None:
        from omnitui.domain.wire import CsatOut, when

        row = conn.execute(
            "SELECT started_at, resolved_at, csat_asked_at, csat_rating, assignee "
            "FROM conversation WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        if row is None or row["csat_rating"] is None:
            return None
        return CsatOut.model_validate(
            {
                "rating": int(row["csat_rating"]),
                "conversation_id": conversation_id,
                "conversation_started": when(row["started_at"]),
                "resolved_at": when(row["resolved_at"]),
                "asked_at": when(row["csat_asked_at"]),
                "resolved_by": row["assignee"],
            }
        )

    async def set_webhooks(self, webhooks: Sequence[tuple[str, Sequence[str]]]) -> dict[str, int]:
        """Make `webhooks` (url, events) the ones events are queued for, by every
        process writing to this store; others are kept inactive, with their
        history. Returns each url's webhook id."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> dict[str, int]:
            ids: dict[str, int] = {}
            for url, events in webhooks:
                conn.execute(
                    "INSERT INTO webhook(url, events, active, failures_in_row, last_error, "
                    "updated_at) VALUES (?, ?, 1, 0, '', ?) ON CONFLICT(url) DO UPDATE SET "
                    "events = excluded.events, active = 1, updated_at = excluded.updated_at",
                    (url, json.dumps(list(events)), now),
                )
                row = conn.execute("SELECT id FROM webhook WHERE url = ?", (url,)).fetchone()
                ids[url] = int(row["id"])
            keep = list(ids.values()) or [0]
            marks = ",".join("?" * len(keep))
            gone = [
                str(row["url"])
                for row in conn.execute(
                    f"SELECT url FROM webhook WHERE active = 1 AND id NOT IN ({marks})", keep
                )
            ]
            for url in gone:  # taken out of the config: no longer shown as failing
                conn.execute(
                    "UPDATE webhook SET active = 0, updated_at = ? WHERE url = ?", (now, url)
                )
                if conn.execute(
                    "DELETE FROM channel_status WHERE account = ?", (webhook_account(url),)
                ).rowcount:
                    self._change(conn, ChangeKind.CHANNEL, None)
            return ids

        return await self._write(run)

    async def due_webhook_deliveries(
        self, webhook_id: int, *, busy: Collection[int] = (), limit: int = 8
    ) -> list[WebhookDelivery]:
        """The next event of each customer whose turn it is on this webhook, oldest
        first, leaving out the customers in `busy` (one of theirs is on its way)."""
        skip = list(busy)
        rows = await self._rows(
            "SELECT d.id, d.webhook_id, d.event_id, d.event, d.contact_id, d.body, d.attempts, "
            f"d.created_at FROM webhook_delivery d WHERE {_HEAD} AND d.next_at <= ? "
            + (f"AND d.contact_id NOT IN ({','.join('?' * len(skip))}) " if skip else "")
            + "ORDER BY d.id LIMIT ?",
            (webhook_id, self._clock(), *skip, limit),
        )
        return [
            WebhookDelivery(
                id=int(r["id"]),
                webhook_id=int(r["webhook_id"]),
                event_id=str(r["event_id"]),
                event=str(r["event"]),
                contact_id=int(r["contact_id"]),
                body=str(r["body"]),
                attempts=int(r["attempts"]),
                created_at=float(r["created_at"]),
            )
            for r in rows
        ]

    async def next_webhook_due(
        self, webhook_id: int, *, busy: Collection[int] = ()
    ) -> float | None:
        """When the next event of a customer not in `busy` is due on this webhook
        (None: nothing waits)."""
        skip = list(busy)
        value = await self._value(
            f"SELECT min(d.next_at) FROM webhook_delivery d WHERE {_HEAD}"
            + (f" AND d.contact_id NOT IN ({','.join('?' * len(skip))})" if skip else ""),
            (webhook_id, *skip),
        )
        return None if value is None else float(value)

    async def webhook_delivered(self, delivery_id: int, status: int) -> None:
        """The receiver took the event (a 2xx)."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE webhook_delivery SET state = 'delivered', attempts = attempts + 1, "
                "last_status = ?, attempted_at = ?, done_at = ? WHERE id = ?",
                (status, now, now, delivery_id),
            )
            conn.execute(
                "UPDATE webhook SET failures_in_row = 0 WHERE failures_in_row != 0 AND id = "
                "(SELECT webhook_id FROM webhook_delivery WHERE id = ?)",
                (delivery_id,),
            )

        await self._write(run)

    async def webhook_attempt_failed(
        self, delivery_id: int, error: str, status: int | None, *, retry_at: float | None
    ) -> int:
        """An attempt that failed: tried again at `retry_at`, or given up (failed,
        kept for a replay). Returns the webhook's failures in a row."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            conn.execute(
                "UPDATE webhook_delivery SET state = ?, attempts = attempts + 1, last_error = ?, "
                "last_status = ?, attempted_at = ?, next_at = ?, done_at = ? WHERE id = ?",
                (
                    PENDING if retry_at is not None else FAILED,
                    error,
                    status,
                    now,
                    retry_at if retry_at is not None else now,
                    None if retry_at is not None else now,
                    delivery_id,
                ),
            )
            row = conn.execute(
                "SELECT webhook_id FROM webhook_delivery WHERE id = ?", (delivery_id,)
            ).fetchone()
            if row is None:
                return 0
            conn.execute(
                "UPDATE webhook SET failures_in_row = failures_in_row + 1, last_error = ?, "
                "last_error_at = ? WHERE id = ?",
                (error, now, row["webhook_id"]),
            )
            found = conn.execute(
                "SELECT failures_in_row FROM webhook WHERE id = ?", (row["webhook_id"],)
            ).fetchone()
            return int(found["failures_in_row"]) if found else 0

        return await self._write(run)

    async def webhook_states(self, webhook_id: int | None = None) -> list[WebhookState]:
        """Every webhook the store knows (or the one), active first, with its queue's counts."""
        only = "" if webhook_id is None else " WHERE id = ?"
        hooks = await self._rows(
            "SELECT id, url, events, active, failures_in_row, last_error, last_error_at "
            f"FROM webhook{only} ORDER BY active DESC, id",
            () if webhook_id is None else (webhook_id,),
        )
        counts: dict[tuple[int, str], int] = {}
        for h in hooks:
            for r in await self._rows(
                "SELECT state, count(*) AS n FROM webhook_delivery WHERE webhook_id = ? "
                "GROUP BY state",
                (h["id"],),
            ):
                counts[int(h["id"]), str(r["state"])] = int(r["n"])
        return [
            WebhookState(
                id=int(h["id"]),
                url=str(h["url"]),
                events=tuple(json.loads(h["events"] or "[]")),
                active=bool(h["active"]),
                pending=counts.get((int(h["id"]), PENDING), 0),
                failed=counts.get((int(h["id"]), FAILED), 0),
                delivered=counts.get((int(h["id"]), DELIVERED), 0),
                failures_in_row=int(h["failures_in_row"]),
                last_error=str(h["last_error"]),
                last_error_at=None if h["last_error_at"] is None else float(h["last_error_at"]),
            )
            for h in hooks
        ]

    async def prune_webhook_deliveries(self, older_than: float) -> int:
        """Forget delivered events older than `older_than` seconds (failed ones are
        kept for a replay, pending ones are still to go). Returns how many."""
        cutoff = self._clock() - older_than

        def run(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM webhook_delivery WHERE state = 'delivered' AND done_at < ?",
                (cutoff,),
            )
            return int(cur.rowcount)

        return await self._write(run)

    async def replay_webhooks(self, *, url: str | None = None, event_id: str | None = None) -> int:
        """Send failed events again, with their same ids (all of them, or one
        webhook's, or one event's). Returns how many were put back in the queue."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            where = ["state = 'failed'"]
            params: list[object] = [now]
            if url is not None:
                where.append("webhook_id IN (SELECT id FROM webhook WHERE url = ?)")
                params.append(url)
            if event_id is not None:
                where.append("event_id = ?")
                params.append(event_id)
            cur = conn.execute(
                "UPDATE webhook_delivery SET state = 'pending', attempts = 0, next_at = ?, "
                f"done_at = NULL WHERE {' AND '.join(where)}",
                params,
            )
            if cur.rowcount:
                # The sender measures its retry window from now on, and wakes.
                conn.execute(
                    "UPDATE webhook SET failures_in_row = 0"
                    + (" WHERE url = ?" if url is not None else ""),
                    (url,) if url is not None else (),
                )
                self._change(conn, ChangeKind.CHANNEL, None)
            return int(cur.rowcount)

        return await self._write(run)
