"""The outbox in SQLite: replies queued, claimed by a sender, sent, failed or withdrawn."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence

from omnitui.domain.changes import ChangeKind
from omnitui.domain.mail import parse_addresses
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryUpdate,
    Direction,
    Outbound,
    OutboundFile,
)
from omnitui.domain.safe_text import one_line
from omnitui.store.errors import StoreError
from omnitui.store.records import WithdrawnReply
from omnitui.store.sqlite.rows import json_strings
from omnitui.store.sqlite.webhooks import SqliteWebhooks
from omnitui.store.sqlite.writes import (
    conversation_out,
    count_hour,
    index_message,
    insert_attachment,
    insert_message,
    recount,
    touch_contact,
    unindex_message,
)

# Delivery states a provider's later word may move a message between; a late
# "sent" never overwrites "delivered".
_DELIVERY_RANK = {
    Delivery.QUEUED: 0,
    Delivery.SENDING: 1,
    Delivery.UNKNOWN: 2,
    Delivery.SENT: 3,
    Delivery.DELIVERED: 4,
    Delivery.FAILED: 4,
}


def _add_to_meta(conn: sqlite3.Connection, message_id: int, values: Mapping[str, object]) -> None:
    """Join `values` to a message's meta (a value of None takes its key away), in
    the caller's write transaction: read, merged here, written back."""
    row = conn.execute("SELECT meta FROM message WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return
    meta = json.loads(row[0] or "{}")
    if not isinstance(meta, dict):
        meta = {}
    for key, value in values.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    conn.execute(
        "UPDATE message SET meta = ? WHERE id = ?",
        (json.dumps(meta, ensure_ascii=False), message_id),
    )


def _mail_extras(
    channel: Channel, cc: Sequence[str], bcc: Sequence[str], signature: str
) -> dict[str, object]:
    """What an email reply keeps in its meta besides threading: Cc, Bcc and
    signature, each address checked again here (a draft or a script may hold
    anything)."""
    if channel.kind is not ChannelKind.EMAIL:
        if cc or bcc:
            raise StoreError("Cc and Bcc are for email, not {channel}", channel=channel.kind)
        return {}
    extra: dict[str, object] = {}
    for key, entries in (("cc", cc), ("bcc", bcc)):
        good, bad = parse_addresses(", ".join(entries))
        if bad:
            raise StoreError(
                "{field}: not an email address: {addresses}",
                field=key.capitalize(),
                addresses=", ".join(bad),
            )
        if good:
            extra[key] = good
    if signature.strip():
        extra["signature"] = signature
    return extra


def _files(
    conn: sqlite3.Connection, message_id: int, *, kept_only: bool
) -> tuple[OutboundFile, ...]:
    """The files a queued reply carries (`kept_only`: those whose bytes are kept)."""
    kept = " AND data IS NOT NULL" if kept_only else ""
    return tuple(
        OutboundFile(r["filename"], r["content_type"], bytes(r["data"]))
        for r in conn.execute(
            "SELECT filename, content_type, data FROM attachment "
            f"WHERE message_id = ?{kept} ORDER BY id",
            (message_id,),
        )
    )


class SqliteOutbox(SqliteWebhooks):
    """The outbox: replies queued, claimed by a sender, delivered, failed or withdrawn."""

    async def enqueue_reply(
        self,
        contact_id: int,
        channel: Channel,
        text: str,
        *,
        subject: str = "",
        author: str | None = None,
        files: Sequence[OutboundFile] = (),
        hold: float = 0.0,
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        signature: str = "",
    ) -> int:
        """Put a reply (text, files or both) in the outbox; the hub sends it
        once `hold` seconds have passed (the agent may withdraw it until then).

        An email may go to `cc` and `bcc` too (each checked: one that is not an
        address refuses the whole reply) and carry `signature` below its text;
        they are kept in the message's meta, as sent. Returns the message id."""
        if not text.strip() and not files:
            raise StoreError("the reply is empty")
        extra = _mail_extras(channel, cc, bcc, signature)

        def run(conn: sqlite3.Connection) -> int:
            message_id = self._enqueue(
                conn, contact_id, channel, text, subject, author, files, hold, extra
            )
            # A person answered: the customer's no_reply clocks stop.
            conn.execute("DELETE FROM rule_timer WHERE contact_id = ?", (contact_id,))
            return message_id

        return await self._write(run)

    def _enqueue(
        self,
        conn: sqlite3.Connection,
        contact_id: int,
        channel: Channel,
        text: str,
        subject: str,
        author: str | None,
        files: Sequence[OutboundFile],
        hold: float,
        extra: dict[str, object],
        *,
        automatic: bool = False,
    ) -> int:
        """Queue a reply inside a write transaction (an agent's, or a rule's); its id.

        A rule's reply (`automatic`) leaves the conversation as it was: still
        unread and waiting for a person, its last message still the customer's."""
        identity_kind = IDENTITY_FOR_CHANNEL[channel.kind]
        now = self._clock()
        row = conn.execute(
            "SELECT id, opted_out FROM identity WHERE contact_id = ? AND kind = ? "
            "ORDER BY last_used DESC NULLS LAST, id LIMIT 1",
            (contact_id, str(identity_kind)),
        ).fetchone()
        if row is None:
            raise StoreError(
                "this customer has no {channel} address to reply to", channel=channel.kind
            )
        if row["opted_out"] and channel.kind is ChannelKind.LINE:
            # LINE's own words: the customer blocked the account (unfollow).
            raise StoreError("this customer blocked the shop's LINE account")
        if row["opted_out"]:
            raise StoreError("this customer opted out of {channel}", channel=channel.kind)
        meta = {**self._threading(conn, contact_id, channel), **extra}
        message_id = insert_message(
            conn,
            contact_id=contact_id,
            identity_id=row["id"],
            account=channel.account,
            kind=str(channel.kind),
            direction=Direction.OUT,
            subject=subject,
            text=text,
            meta=json.dumps(meta, ensure_ascii=False),
            sent_at=now,
            created_at=now,
            status=Delivery.QUEUED,
            author=author,
            next_attempt_at=now + hold,
        )
        index_message(conn, message_id, f"{subject}\n{text}")
        for f in files:
            insert_attachment(conn, message_id, f.filename, f.content_type, len(f.data), f.data)
        if automatic:  # a rule's reply is nobody's work: counted apart, under no agent
            count_hour(conn, now, str(channel.kind), "auto", "")
        else:
            count_hour(conn, now, str(channel.kind), "out", author or "")
        conversation_out(conn, contact_id, now, author, automatic=automatic)
        if automatic:
            self._change(conn, ChangeKind.OUTBOX, contact_id)
            return message_id
        touch_contact(
            conn,
            contact_id,
            now,
            one_line(text or ", ".join(f.filename for f in files), 120),
            Direction.OUT,
            channel.account,
            channel.kind,
            unread=0,
        )
        conn.execute("UPDATE contact SET unread = 0 WHERE id = ?", (contact_id,))
        self._change(conn, ChangeKind.OUTBOX, contact_id)
        return message_id

    def _threading(
        self, conn: sqlite3.Connection, contact_id: int, channel: Channel
    ) -> dict[str, object]:
        """In-Reply-To and References for an email reply, from the customer's last mail;
        for LINE, the reply token of their last message and where it came from."""
        if channel.kind is ChannelKind.LINE:
            return self._line_reply(conn, contact_id, channel)
        if channel.kind is not ChannelKind.EMAIL:
            return {}
        row = conn.execute(
            "SELECT meta FROM message WHERE contact_id = ? AND account = ? AND direction = 'in' "
            "ORDER BY sent_at DESC, id DESC LIMIT 1",
            (contact_id, channel.account),
        ).fetchone()
        meta = json.loads(row["meta"] or "{}") if row else {}
        parent = meta.get("message_id")
        if not isinstance(parent, str) or not parent:
            return {}
        refs = [r for r in meta.get("references") or [] if isinstance(r, str)]
        return {"in_reply_to": parent, "references": [*refs[-19:], parent]}

    def _line_reply(
        self, conn: sqlite3.Connection, contact_id: int, channel: Channel
    ) -> dict[str, object]:
        """The reply token of the customer's last LINE message, unless something was sent
        to them on LINE since (a token answers once), and its group or room."""
        row = conn.execute(
            "SELECT meta, sent_at FROM message WHERE contact_id = ? AND account = ? "
            "AND direction = 'in' ORDER BY sent_at DESC, id DESC LIMIT 1",
            (contact_id, channel.account),
        ).fetchone()
        if row is None:
            return {}
        meta = json.loads(row["meta"] or "{}")
        found: dict[str, object] = {}
        to = meta.get("group_id") or meta.get("room_id")
        if isinstance(to, str) and to:
            found["line_to"] = to
        token = meta.get("reply_token")
        answered = conn.execute(
            "SELECT 1 FROM message WHERE contact_id = ? AND account = ? AND direction = 'out' "
            "AND sent_at >= ? LIMIT 1",
            (contact_id, channel.account, row["sent_at"]),
        ).fetchone()
        if isinstance(token, str) and token and answered is None:
            found["reply_token"] = token
            found["reply_token_at"] = row["sent_at"]
        return found

    async def claim_due(self, accounts: Collection[str], *, limit: int = 20) -> list[Outbound]:
        """Move due queued replies for `accounts` to `sending` and return them
        (not a broadcast's messages: the hub paces those on their own)."""
        if not accounts:
            return []
        marks = ",".join("?" * len(accounts))
        return await self._claim(
            f"m.broadcast_id IS NULL AND m.account IN ({marks})", tuple(accounts), limit
        )

    async def _claim(
        self, condition: str, params: tuple[object, ...], limit: int
    ) -> list[Outbound]:
        """Move due queued messages meeting `condition` (fixed SQL on `m`, values in
        `params`) to `sending` and return them, oldest due first."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> list[Outbound]:
            rows = conn.execute(
                "SELECT m.id, m.account, m.kind, i.address, m.text, m.subject, m.meta, m.attempts, "
                "m.contact_id, (SELECT r.unsubscribe_token FROM broadcast_recipient r "
                "WHERE r.message_id = m.id) AS unsubscribe "
                "FROM message m JOIN identity i ON i.id = m.identity_id "
                "WHERE m.status = 'queued' AND m.direction = 'out' AND m.next_attempt_at <= ? "
                f"AND {condition} "
                "ORDER BY m.next_attempt_at, m.id LIMIT ?",
                (now, *params, limit),
            ).fetchall()
            jobs = []
            for r in rows:
                conn.execute(
                    "UPDATE message SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                    (r["id"],),
                )
                self._change(conn, ChangeKind.DELIVERY, r["contact_id"])
                meta = json.loads(r["meta"] or "{}")
                if r["unsubscribe"]:  # a broadcast email's one-click unsubscribe link
                    meta["unsubscribe"] = r["unsubscribe"]
                jobs.append(
                    Outbound(
                        message_id=r["id"],
                        channel=Channel(ChannelKind(r["kind"]), r["account"]),
                        address=r["address"],
                        text=r["text"],
                        subject=r["subject"],
                        meta=meta,
                        attempt=r["attempts"] + 1,
                        files=_files(conn, r["id"], kept_only=True),
                    )
                )
            return jobs

        return await self._write(run)

    async def withdraw_reply(self, message_id: int) -> WithdrawnReply | None:
        """Take back a reply the hub has not started to send (undo send): it
        leaves the thread and the outbox in one step, and what it held is
        returned for the composer. None when it is already on its way."""

        def run(conn: sqlite3.Connection) -> WithdrawnReply | None:
            row = conn.execute(
                "SELECT contact_id, account, kind, subject, text, sent_at, author, "
                "json_extract(meta, '$.automatic') AS automatic, "
                "json_extract(meta, '$.cc') AS cc, json_extract(meta, '$.bcc') AS bcc FROM message "
                "WHERE id = ? AND direction = 'out' AND status = 'queued' AND attempts = 0",
                (message_id,),
            ).fetchone()
            if row is None:
                return None
            automatic = row["automatic"] is not None
            count_hour(
                conn,
                row["sent_at"],
                row["kind"],
                "auto" if automatic else "out",
                "" if automatic else row["author"] or "",
                delta=-1,
            )
            conversation_out(conn, row["contact_id"], 0.0, None, automatic=automatic, delta=-1)
            # It was no response after all: the conversation's first one, if it was.
            conn.execute(
                "UPDATE conversation SET first_response_at = NULL, first_response_by = NULL "
                "WHERE contact_id = ? AND resolved_at IS NULL AND first_response_at = ?",
                (row["contact_id"], row["sent_at"]),
            )
            files = _files(conn, message_id, kept_only=False)
            conn.execute("DELETE FROM attachment WHERE message_id = ?", (message_id,))
            unindex_message(conn, message_id)
            conn.execute("DELETE FROM message WHERE id = ?", (message_id,))
            contact_id = row["contact_id"]
            recount(conn, contact_id)
            self._change(conn, ChangeKind.OUTBOX, contact_id)
            return WithdrawnReply(
                contact_id=contact_id,
                channel=Channel(ChannelKind(row["kind"]), row["account"]),
                subject=row["subject"],
                text=row["text"],
                files=files,
                cc=json_strings(row["cc"]),
                bcc=json_strings(row["bcc"]),
            )

        return await self._write(run)

    async def next_due_at(self, accounts: Collection[str]) -> float | None:
        """When the next queued reply for `accounts` is due."""
        if not accounts:
            return None
        due = await self._value(
            "SELECT min(next_attempt_at) FROM message WHERE status = 'queued' "
            f"AND account IN ({','.join('?' * len(accounts))})",
            list(accounts),
        )
        return None if due is None else float(due)

    async def mark_sent(self, message_id: int, provider_id: str, *, note: str = "") -> None:
        """The provider took the reply; `note` is what it said besides (shown on it)."""

        def run(conn: sqlite3.Connection) -> None:
            # An id the account already gave another message (a provider that reuses
            # ids) must not keep this one from being recorded as sent: that would
            # hold up everything behind it. It is kept without the id.
            taken = conn.execute(
                "SELECT 1 FROM message WHERE provider_id = ? AND id != ? AND account = "
                "(SELECT account FROM message WHERE id = ?)",
                (provider_id, message_id, message_id),
            ).fetchone()
            sent = conn.execute(
                "UPDATE message SET status = 'sent', provider_id = ?, status_reason = ?, "
                "sent_at = ? WHERE id = ? AND status = 'sending'",
                (None if taken else provider_id, note, self._clock(), message_id),
            )
            self._change_for_message(conn, ChangeKind.DELIVERY, message_id)
            if sent.rowcount:
                row = conn.execute(
                    "SELECT contact_id FROM message WHERE id = ?", (message_id,)
                ).fetchone()
                if row is not None:
                    self._queue_webhook(
                        conn, "message.sent", int(row["contact_id"]), message_id=message_id
                    )

        await self._write(run)

    async def note_progress(self, message_id: int, progress: Mapping[str, object]) -> None:
        """Keep in the message's meta what of it already went out (a photo before its
        text), so that a retry, even after a crash, sends only the rest."""

        def run(conn: sqlite3.Connection) -> None:
            _add_to_meta(conn, message_id, progress)

        await self._write(run)

    async def mark_failed(
        self,
        message_id: int,
        reason: str,
        *,
        retry_at: float | None,
        progress: Mapping[str, object] | None = None,
    ) -> None:
        """Record a failed attempt: back to the queue at `retry_at`, or failed for good.

        `progress` (what of the message already went out) joins its meta, so
        that the next attempt sends only the rest."""

        def run(conn: sqlite3.Connection) -> None:
            if progress:
                _add_to_meta(conn, message_id, progress)
            if retry_at is None:
                conn.execute(
                    "UPDATE message SET status = 'failed', status_reason = ? WHERE id = ?",
                    (reason, message_id),
                )
            else:
                conn.execute(
                    "UPDATE message SET status = 'queued', status_reason = ?, next_attempt_at = ? "
                    "WHERE id = ?",
                    (f"retrying: {reason}", retry_at, message_id),
                )
            self._change_for_message(conn, ChangeKind.DELIVERY, message_id)

        await self._write(run)

    async def recover_interrupted(self, accounts: Collection[str]) -> int:
        """Replies left `sending` by a process that stopped mid-send become `unknown`.

        They are not sent again on their own: the provider may have them. The
        agent sees why and can retry.
        """
        if not accounts:
            return 0
        marks = ",".join("?" * len(accounts))

        def run(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                f"SELECT id FROM message WHERE status = 'sending' AND account IN ({marks})",
                tuple(accounts),
            ).fetchall()
            for message_id in (r["id"] for r in rows):
                conn.execute(
                    "UPDATE message SET status = 'unknown', status_reason = ? WHERE id = ?",
                    ("interrupted while sending: it may or may not have gone out", message_id),
                )
                self._change_for_message(conn, ChangeKind.DELIVERY, message_id)
            return len(rows)

        return await self._write(run)

    async def retry(self, message_id: int) -> None:
        """Queue a failed or unknown reply again, at the agent's word."""

        def run(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE message SET status = 'queued', status_reason = '', next_attempt_at = ? "
                "WHERE id = ? AND direction = 'out' AND status IN ('failed', 'unknown')",
                (self._clock(), message_id),
            )
            if not cur.rowcount:
                raise StoreError("only a failed or unknown reply can be retried")
            self._change_for_message(conn, ChangeKind.OUTBOX, message_id)

        await self._write(run)

    async def apply_delivery(self, update: DeliveryUpdate, *, within: float | None = None) -> bool:
        """Apply a provider's delivery receipt; False if no such message.

        With `within`, it is applied within that many seconds or `StoreBusy` is raised.
        """

        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT id, status FROM message WHERE account = ? AND provider_id = ? "
                "AND direction = 'out'",
                (update.channel.account, update.provider_id),
            ).fetchone()
            if row is None:
                return False
            current = Delivery(row["status"])
            if _DELIVERY_RANK.get(update.status, 0) < _DELIVERY_RANK.get(current, 0):
                return True
            conn.execute(
                "UPDATE message SET status = ?, status_reason = ? WHERE id = ?",
                (str(update.status), update.reason, row["id"]),
            )
            self._change_for_message(conn, ChangeKind.DELIVERY, row["id"])
            return True

        if within is not None:
            return await self._write_within(run, within)
        return await self._write(run)
