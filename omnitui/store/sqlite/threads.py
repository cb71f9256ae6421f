"""A customer's thread read from SQLite: pages of messages, sources, attachments."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping
from typing import Any

from omnitui.domain.models import Attachment, ChannelKind, Delivery, Direction, Message
from omnitui.store.records import LastMail, ThreadCursor
from omnitui.store.sqlite.base import SqliteBase
from omnitui.store.sqlite.rows import json_strings

# A thread's columns, in the order `_message` names them.
_MESSAGE_COLUMNS = (
    "m.id, m.contact_id, m.kind, m.account, m.direction, m.subject, m.text, "
    "m.sent_at, m.status, m.status_reason, m.author, "
    "coalesce(i.display, i.address, '') AS sender, m.edited, m.parse_error, "
    "json_extract(m.meta, '$.reply') AS folded, m.raw IS NOT NULL AS has_source, "
    "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.to') END AS mail_to, "
    "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.cc') END AS mail_cc, "
    "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.bcc') END AS mail_bcc, "
    "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.signature') END AS signature, "
    "CASE WHEN m.direction = 'in' THEN json_extract(m.meta, '$.csat') END AS csat, "
    "CASE WHEN m.kind = 'telegram' AND m.direction = 'in' "
    "THEN json_extract(m.meta, '$.start') END AS started"
)


def _message(row: sqlite3.Row, attachments: Mapping[int, list[Attachment]]) -> Message:
    # Named by unpacking, in _MESSAGE_COLUMNS' order: a page is read on every
    # key press, and a lookup by name costs ten times one by place.
    (
        message_id,
        contact_id,
        kind,
        account,
        direction,
        subject,
        text,
        sent_at,
        status,
        status_reason,
        author,
        sender,
        edited,
        parse_error,
        folded,
        has_source,
        mail_to,
        mail_cc,
        mail_bcc,
        signature,
        csat,
        started,
    ) = row
    return Message(
        id=message_id,
        contact_id=contact_id,
        kind=ChannelKind(kind) if kind else None,
        account=account,
        direction=Direction(direction),
        subject=subject,
        text=text,
        sent_at=sent_at,
        status=Delivery(status),
        status_reason=status_reason,
        author=author,
        sender=sender,
        edited=bool(edited),
        parse_error=parse_error,
        attachments=tuple(attachments.get(message_id, ())),
        folded=folded if isinstance(folded, str) else "",
        has_source=bool(has_source),
        to=json_strings(mail_to),
        cc=json_strings(mail_cc),
        bcc=json_strings(mail_bcc),
        signature=signature if isinstance(signature, str) else "",
        csat=_rating(csat),
        started_from=started if isinstance(started, str) else None,
    )


def _rating(value: object) -> int | None:
    """A CSAT answer 1-5 from the message's meta (a number, or its digits as text)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= 5 else None


class SqliteThreads(SqliteBase):
    """A customer's merged thread, read a page at a time, and what its messages carry."""

    async def thread_page(
        self, contact_id: int, *, before: ThreadCursor | None = None, limit: int = 50
    ) -> list[Message]:
        """Up to `limit` messages of a contact's merged thread, oldest first,
        ending just before `before` (or at the newest message)."""
        params: list[Any] = [contact_id]
        where = "m.contact_id = ?"
        if before is not None:
            where += " AND (m.sent_at, m.id) < (?, ?)"
            params.extend((before.sent_at, before.message_id))
        params.append(limit)
        rows = await self._rows(
            f"SELECT {_MESSAGE_COLUMNS} FROM message m LEFT JOIN identity i ON i.id = m.identity_id "
            f"WHERE {where} ORDER BY m.sent_at DESC, m.id DESC LIMIT ?",
            params,
        )
        rows.reverse()
        attachments: dict[int, list[Attachment]] = {}
        if rows:
            ids = [r["id"] for r in rows]
            for attachment_id, message_id, filename, content_type, size, note in await self._rows(
                "SELECT id, message_id, filename, content_type, size, note FROM attachment "
                f"WHERE message_id IN ({','.join('?' * len(ids))}) ORDER BY id",
                ids,
            ):
                attachments.setdefault(message_id, []).append(
                    Attachment(attachment_id, message_id, filename, content_type, size, note)
                )
        return [_message(row, attachments) for row in rows]

    async def thread_around(
        self, contact_id: int, message_id: int, *, limit: int = 50, newer: int = 10
    ) -> tuple[list[Message], bool]:
        """A page of a thread that holds `message_id` with some context after it;
        returns the page (oldest first) and whether older messages exist."""
        position = await self.message_position(message_id)
        if position is None or position[0] != contact_id:
            page = await self.thread_page(contact_id, limit=limit)
            return page, len(page) >= limit
        _, cursor = position
        rows = await self._rows(
            "SELECT sent_at, id FROM message WHERE contact_id = ? AND (sent_at, id) > (?, ?) "
            "ORDER BY sent_at, id LIMIT ?",
            (contact_id, cursor.sent_at, cursor.message_id, newer),
        )
        end = ThreadCursor(rows[-1]["sent_at"], rows[-1]["id"] + 1) if rows else None
        if end is None:
            page = await self.thread_page(contact_id, limit=limit)
        else:
            page = await self.thread_page(contact_id, before=end, limit=limit)
        return page, len(page) >= limit

    async def read_refs(
        self, contact_ids: Collection[int], accounts: Collection[str], *, limit: int = 500
    ) -> dict[str, list[dict[str, object]]]:
        """Provider references (`meta.imap`) of the newest inbound messages of
        these contacts on these accounts, by account: what the agent has read."""
        if not contact_ids or not accounts:
            return {}
        rows = await self._rows(
            "SELECT account, json_extract(meta, '$.imap') AS ref FROM message "
            f"WHERE contact_id IN ({','.join('?' * len(contact_ids))}) AND direction = 'in' "
            f"AND account IN ({','.join('?' * len(accounts))}) "
            "AND json_extract(meta, '$.imap') IS NOT NULL ORDER BY id DESC LIMIT ?",
            [*contact_ids, *accounts, limit],
        )
        out: dict[str, list[dict[str, object]]] = {}
        for r in rows:
            out.setdefault(r["account"], []).append(json.loads(r["ref"]))
        return out

    async def message_source(self, message_id: int) -> bytes | None:
        """The raw source of a message as it arrived (kept for email)."""
        raw = await self._value("SELECT raw FROM message WHERE id = ?", (message_id,))
        return None if raw is None else bytes(raw)

    async def message_source_head(self, message_id: int, limit: int) -> tuple[bytes, int] | None:
        """The first `limit` bytes of a message's raw source and its whole size
        (a 15 MB mail is not read whole to be shown)."""
        rows = await self._rows(
            "SELECT substr(raw, 1, ?) AS head, length(raw) AS size FROM message "
            "WHERE id = ? AND raw IS NOT NULL",
            (limit, message_id),
        )
        return (bytes(rows[0]["head"]), int(rows[0]["size"])) if rows else None

    async def attachment_data(self, attachment_id: int) -> bytes | None:
        # A broadcast's image is kept once, on the broadcast, not on each message.
        data = await self._value(
            "SELECT coalesce(a.data, (SELECT b.image FROM message m "
            "JOIN broadcast b ON b.id = m.broadcast_id WHERE m.id = a.message_id "
            "AND b.image_name = a.filename)) FROM attachment a WHERE a.id = ?",
            (attachment_id,),
        )
        return None if data is None else bytes(data)

    async def message_position(self, message_id: int) -> tuple[int, ThreadCursor] | None:
        """The contact of a message and a cursor just after it (to page to it)."""
        rows = await self._rows(
            "SELECT contact_id, sent_at, id FROM message WHERE id = ?", (message_id,)
        )
        if not rows:
            return None
        r = rows[0]
        return r["contact_id"], ThreadCursor(r["sent_at"], r["id"])

    async def reply_subject(self, contact_id: int, account: str) -> str:
        """The subject of the customer's last message on `account`, for a reply."""
        subject = await self._value(
            "SELECT subject FROM message WHERE contact_id = ? AND account = ? AND direction = 'in' "
            "ORDER BY sent_at DESC, id DESC LIMIT 1",
            (contact_id, account),
        )
        return "" if subject is None else str(subject)

    async def last_mail(self, contact_id: int, account: str) -> LastMail | None:
        """The customer's newest mail on `account`: its subject, sender, To and Cc."""
        rows = await self._rows(
            "SELECT m.subject, i.address AS sender, json_extract(m.meta, '$.to') AS mail_to, "
            "json_extract(m.meta, '$.cc') AS mail_cc "
            "FROM message m JOIN identity i ON i.id = m.identity_id "
            "WHERE m.contact_id = ? AND m.account = ? AND m.direction = 'in' "
            "ORDER BY m.sent_at DESC, m.id DESC LIMIT 1",
            (contact_id, account),
        )
        if not rows:
            return None
        r = rows[0]
        return LastMail(
            str(r["subject"]),
            str(r["sender"]),
            json_strings(r["mail_to"]),
            json_strings(r["mail_cc"]),
        )
