"""Messages arriving in SQLite: inbound messages, history and replies sent elsewhere."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from omnitui.domain.changes import ChangeKind
from omnitui.domain.csat import ANSWER_WINDOW, rating_of
from omnitui.domain.identity import InvalidAddress, normalize
from omnitui.domain.models import IDENTITY_FOR_CHANNEL, Delivery, Direction, Inbound
from omnitui.domain.safe_text import one_line
from omnitui.store.errors import StoreError
from omnitui.store.records import IngestResult, RecordedOutbound
from omnitui.store.sqlite.merge import SqliteMerges
from omnitui.store.sqlite.writes import (
    address_owner,
    conversation_in,
    conversation_out,
    count_hour,
    identity_for,
    index_message,
    insert_attachment,
    insert_identity,
    insert_message,
    touch_contact,
    unindex_message,
)


class SqliteIngest(SqliteMerges):
    """Messages coming in: from customers, from history, and replies sent elsewhere."""

    async def ingest(
        self,
        items: Sequence[Inbound],
        *,
        cursors: Mapping[tuple[str, str], str] | None = None,
        region: str | None = None,
        within: float | None = None,
    ) -> list[IngestResult]:
        """Store inbound messages and the adapter's cursor in one transaction.

        Idempotent on (channel account, provider id): a message already stored
        is not stored again (an edit updates it in place). With `within`, the
        store takes them within that many seconds or raises `StoreBusy`,
        having stored nothing.
        """

        def run(conn: sqlite3.Connection) -> list[IngestResult]:
            results = [self._ingest_one(conn, item, region) for item in items]
            for (account, key), value in (cursors or {}).items():
                conn.execute(
                    "INSERT INTO cursor(account, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(account, key) DO UPDATE SET value = excluded.value",
                    (account, key, value),
                )
            return results

        if within is not None:
            return await self._write_within(run, within)
        return await self._write(run)

    async def known_provider_ids(self, account: str, provider_ids: Sequence[str]) -> set[str]:
        """Which of `provider_ids` are already stored for `account`."""
        known: set[str] = set()
        ids = list(dict.fromkeys(provider_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._rows(
                f"SELECT provider_id FROM message WHERE account = ? "
                f"AND provider_id IN ({','.join('?' * len(chunk))})",
                (account, *chunk),
            )
            known.update(str(r["provider_id"]) for r in rows)
        return known

    def _ingest_one(
        self, conn: sqlite3.Connection, item: Inbound, region: str | None, live: bool = True
    ) -> IngestResult:
        account = item.channel.account
        existing = conn.execute(
            "SELECT id, contact_id FROM message WHERE account = ? AND provider_id = ?",
            (account, item.provider_id),
        ).fetchone()
        if existing is not None:
            message_id, contact_id = existing["id"], existing["contact_id"]
            if item.edited:
                conn.execute(
                    "UPDATE message SET text = ?, subject = ?, edited = 1 WHERE id = ?",
                    (item.text, item.subject, message_id),
                )
                unindex_message(conn, message_id)
                index_message(conn, message_id, f"{item.subject}\n{item.text}")
                self._change(conn, ChangeKind.MESSAGE, contact_id)
            return IngestResult(message_id, contact_id, False)

        now = self._clock()
        identity_kind = IDENTITY_FOR_CHANNEL[item.channel.kind]
        try:
            address = normalize(identity_kind, item.address, region)
        except InvalidAddress:
            # Never drop a message over an odd address: keep it as written.
            address = item.address.strip().lower() or f"unknown:{account}"
        identity_id, contact_id = identity_for(conn, identity_kind, address, item.display_name, now)
        if item.identity_data or item.linked_identities:
            self._remember_sender(conn, identity_id, contact_id, item, region, now)
        # A satisfaction answer: (its conversation, the rating), or None. A tap on
        # a survey button is never a new conversation, recorded or not.
        answer = self._csat_answer(conn, contact_id, item, now) if live else None
        tapped = item.meta.get("csat_source") == "button"
        fields = dict(item.meta)
        if answer is not None:
            fields["csat"] = answer[1]
        meta = json.dumps(fields, ensure_ascii=False, default=str)
        message_id = insert_message(
            conn,
            contact_id=contact_id,
            identity_id=identity_id,
            account=account,
            kind=str(item.channel.kind),
            direction=Direction.IN,
            provider_id=item.provider_id,
            subject=item.subject,
            text=item.text,
            html=item.html,
            raw=item.raw,
            meta=meta,
            sent_at=item.sent_at,
            created_at=now,
            status=Delivery.RECEIVED,
            edited=item.edited,
            parse_error=item.parse_error,
        )
        index_message(conn, message_id, f"{item.subject}\n{item.text}")
        count_hour(conn, item.sent_at, str(item.channel.kind), "in", "")
        if answer is None and not tapped:
            conversation_in(
                conn, contact_id, message_id, item.sent_at, account, str(item.channel.kind)
            )
        for att in item.attachments:
            insert_attachment(
                conn, message_id, att.filename, att.content_type, att.size, att.data, att.note
            )
        preview = (
            item.text or item.subject or (item.attachments[0].filename if item.attachments else "")
        )
        touch_contact(
            conn,
            contact_id,
            item.sent_at,
            one_line(preview, 120),
            Direction.IN,
            account,
            item.channel.kind,
            unread=0 if answer is not None or tapped else 1,
        )
        conn.execute(
            "UPDATE identity SET last_used = max(coalesce(last_used, 0), ?), "
            "display = CASE WHEN display = '' THEN ? ELSE display END WHERE id = ?",
            (item.sent_at, item.display_name, identity_id),
        )
        # A live message from a customer is an event for the webhooks (history is not).
        events = live and not item.history
        updated = bool(item.tags) and self._add_tags(conn, contact_id, item.tags)
        if item.opt_out is not None:
            # An SMS STOP / START: recorded with the message that says it, so a
            # crash cannot keep one without the other, and an old message
            # listed again later never overrules a newer wish.
            changed = conn.execute(
                "UPDATE identity SET opted_out = ? WHERE id = ? AND opted_out != ?",
                (int(item.opt_out), identity_id, int(item.opt_out)),
            )
            if changed.rowcount:
                self._change(conn, ChangeKind.CONSENT, contact_id)
                updated = True
        if updated and events:  # tags it brought, or its address opted out or in
            self._queue_webhook(conn, "contact.updated", contact_id)
        if item.broadcast_opt_out is not None:
            # 配信停止 / 配信再開: kept with the message that says it. Only the
            # address's newest message decides (last_used now includes this
            # one), so an old mail found later never overrules a newer wish.
            changed = conn.execute(
                "UPDATE identity SET broadcast_opt_out = ? "
                "WHERE id = ? AND broadcast_opt_out != ? AND coalesce(last_used, 0) <= ?",
                (
                    int(item.broadcast_opt_out),
                    identity_id,
                    int(item.broadcast_opt_out),
                    item.sent_at,
                ),
            )
            if changed.rowcount:
                self._change(conn, ChangeKind.CONSENT, contact_id)
        if answer is not None:
            self._record_rating(conn, contact_id, message_id, answer, now)
            self._queue_webhook(conn, "message.received", contact_id, message_id=message_id)
            self._queue_webhook(
                conn, "csat.received", contact_id, message_id=message_id, conversation_id=answer[0]
            )
            return IngestResult(message_id, contact_id, True)
        if tapped:  # a tap on an old question: kept, it reopens nothing
            self._change(conn, ChangeKind.INBOUND, contact_id)
            if events:
                self._queue_webhook(conn, "message.received", contact_id, message_id=message_id)
            return IngestResult(message_id, contact_id, True)
        if live and not item.history:
            self._queue_for_rules(conn, contact_id, message_id, now)
        # A new message from the customer reopens a resolved or snoozed thread.
        conn.execute(
            "UPDATE contact SET status = 'open', snoozed_until = NULL "
            "WHERE id = ? AND status IN ('resolved', 'snoozed')",
            (contact_id,),
        )
        self._change(conn, ChangeKind.INBOUND, contact_id)
        if events:
            self._queue_webhook(conn, "message.received", contact_id, message_id=message_id)
        return IngestResult(message_id, contact_id, True)

    def _add_tags(self, conn: sqlite3.Connection, contact_id: int, tags: Sequence[str]) -> bool:
        """Give the sender `tags` (those they lack), with the message that brought them.
        Whether any was new."""
        row = conn.execute("SELECT tags FROM contact WHERE id = ?", (contact_id,)).fetchone()
        have = json.loads(row["tags"] or "[]") if row is not None else []
        added = [t for t in dict.fromkeys(tags) if t not in have]
        if added:
            conn.execute(
                "UPDATE contact SET tags = ? WHERE id = ?",
                (json.dumps([*have, *added], ensure_ascii=False), contact_id),
            )
            self._change(conn, ChangeKind.CONTACT, contact_id)
        return bool(added)

    def _csat_answer(
        self, conn: sqlite3.Connection, contact_id: int, item: Inbound, now: float
    ) -> tuple[int, int] | None:
        """(conversation, rating) when `item` answers the satisfaction question:
        a live message from a resolved customer whose last conversation was asked
        within `ANSWER_WINDOW` and not rated yet, that is a rating."""
        if item.history or item.edited or item.meta.get("automatic"):
            return None
        reply = item.meta.get("reply")  # a mail's own words, without the quoted question
        rating = rating_of(reply if isinstance(reply, str) else item.text)
        if rating is None:
            return None
        row = conn.execute(
            "SELECT c.status, v.id, v.resolved_at, v.csat_asked_at, v.csat_rating "
            "FROM contact c JOIN conversation v ON v.contact_id = c.id WHERE c.id = ? "
            "ORDER BY v.started_at DESC, v.id DESC LIMIT 1",
            (contact_id,),
        ).fetchone()
        if (
            row is None
            or row["status"] != "resolved"
            or row["resolved_at"] is None
            or row["csat_asked_at"] is None
            or row["csat_rating"] is not None
            or now - float(row["csat_asked_at"]) > ANSWER_WINDOW
        ):
            return None
        return int(row["id"]), rating

    def _record_rating(
        self,
        conn: sqlite3.Connection,
        contact_id: int,
        message_id: int,
        answer: tuple[int, int],
        now: float,
    ) -> None:
        """Keep a customer's rating on its conversation, which stays resolved,
        and queue the `csat` event for the rules (a low one may notify the owner)."""
        conversation_id, rating = answer
        conn.execute(
            "UPDATE conversation SET csat_rating = ?, csat_at = ? WHERE id = ?",
            (rating, now, conversation_id),
        )
        conn.execute(
            "INSERT INTO automation_event(kind, contact_id, message_id, at, rating) "
            "VALUES ('csat', ?, ?, ?, ?)",
            (contact_id, message_id, now, rating),
        )
        self._change(conn, ChangeKind.INBOUND, contact_id)

    def _queue_for_rules(
        self, conn: sqlite3.Connection, contact_id: int, message_id: int, now: float
    ) -> None:
        """A live arrival waits for the automation rules, stored with the message.

        It opens a conversation when the customer never wrote before or their
        conversation was resolved (read before this message reopens it)."""
        row = conn.execute("SELECT status FROM contact WHERE id = ?", (contact_id,)).fetchone()
        opens = (row is not None and row["status"] == "resolved") or not conn.execute(
            "SELECT 1 FROM message WHERE contact_id = ? AND direction = 'in' AND id != ? LIMIT 1",
            (contact_id, message_id),
        ).fetchone()
        conn.execute(
            "INSERT INTO automation_event(kind, contact_id, message_id, new_conversation, at) "
            "VALUES ('message', ?, ?, ?, ?)",
            (contact_id, message_id, int(opens), now),
        )

    def _remember_sender(
        self,
        conn: sqlite3.Connection,
        identity_id: int,
        contact_id: int,
        item: Inbound,
        region: str | None,
        now: float,
    ) -> None:
        """Keep what an inbound message taught us about its sender.

        `identity_data` is merged into the identity's JSON data (a Telegram
        chat id). Each of `linked_identities` (a phone number a Telegram user
        shared as their own) becomes an identity of the same contact; when it
        already belongs to another contact, that contact is merged in — strong
        evidence, recorded with the merge so `undo_merge` can split it again.
        """
        if item.identity_data:
            row = conn.execute("SELECT data FROM identity WHERE id = ?", (identity_id,)).fetchone()
            data = json.loads(row["data"] or "{}") if row else {}
            data.update(item.identity_data)
            conn.execute(
                "UPDATE identity SET data = ? WHERE id = ?",
                (json.dumps(data, ensure_ascii=False, default=str), identity_id),
            )
        for kind, raw in item.linked_identities:
            try:
                address = normalize(kind, raw, region)
            except InvalidAddress:
                continue
            owner = address_owner(conn, kind, address)
            if owner is None:
                insert_identity(conn, contact_id, kind, address, item.display_name, now)
            elif owner != contact_id:
                # Strong evidence (the customer proved the number is theirs):
                # link automatically, recorded with the evidence, undoable (u).
                self._merge(
                    conn,
                    owner,
                    contact_id,
                    None,
                    f"{item.channel.kind} user shared their own {kind} {address}",
                )

    async def record_outbound(self, items: Sequence[RecordedOutbound]) -> list[int]:
        """Store replies that were already sent elsewhere (history, a Sent folder)."""

        def run(conn: sqlite3.Connection) -> list[int]:
            return [i for i in (self._record_one(conn, item) for item in items) if i is not None]

        return await self._write(run)

    async def import_history(
        self, items: Sequence[Inbound | RecordedOutbound], *, region: str | None = None
    ) -> None:
        """Store a stretch of history, in time order, in one transaction."""

        def run(conn: sqlite3.Connection) -> None:
            for item in items:
                if isinstance(item, Inbound):
                    self._ingest_one(conn, item, region, live=False)
                else:
                    self._record_one(conn, item)

        await self._write(run)

    def _record_one(self, conn: sqlite3.Connection, item: RecordedOutbound) -> int | None:
        kind = IDENTITY_FOR_CHANNEL[item.channel.kind]
        row = conn.execute(
            "SELECT id, contact_id FROM identity WHERE kind = ? AND address = ?",
            (str(kind), item.address),
        ).fetchone()
        if row is None:
            raise StoreError(
                "no {kind} identity {address} for a sent reply",
                kind=kind,
                address=repr(item.address),
            )
        contact_id = row["contact_id"]
        message_id = insert_message(
            conn,
            contact_id=contact_id,
            identity_id=row["id"],
            account=item.channel.account,
            kind=str(item.channel.kind),
            direction=Direction.OUT,
            provider_id=item.provider_id,
            subject=item.subject,
            text=item.text,
            sent_at=item.sent_at,
            created_at=self._clock(),
            status=item.status,
            author=item.author,
            attempts=1,
            if_new=True,
        )
        if not message_id:  # kept before, from this provider
            return None
        index_message(conn, message_id, f"{item.subject}\n{item.text}")
        count_hour(conn, item.sent_at, str(item.channel.kind), "out", item.author or "")
        conversation_out(conn, contact_id, item.sent_at, item.author)
        touch_contact(
            conn,
            contact_id,
            item.sent_at,
            one_line(item.text, 120),
            Direction.OUT,
            item.channel.account,
            item.channel.kind,
            unread=0,
        )
        self._change(conn, ChangeKind.MESSAGE, contact_id)
        return message_id

    async def load_cursor(self, account: str, key: str) -> str | None:
        value = await self._value(
            "SELECT value FROM cursor WHERE account = ? AND key = ?", (account, key)
        )
        return None if value is None else str(value)
