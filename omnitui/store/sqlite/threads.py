"""A customer's thread read from SQLite: pages of messages, sources, attachments."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from omnitui.domain.models import Attachment, ChannelKind, Delivery, Direction, Message
from omnitui.store.records import LastMail, ThreadCursor
from omnitui.store.sqlite.base import SqliteBase
from omnitui.store.sqlite.rows import json_strings


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
            "SELECT m.id, m.contact_id, m.kind, m.account, m.direction, m.subject, m.text, "
            "m.sent_at, m.status, m.status_reason, m.author, coalesce(i.display, i.address, ''), "
            "m.edited, m.parse_error, json_extract(m.meta, '$.reply'), m.raw IS NOT NULL, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.to') END, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.cc') END, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.bcc') END, "
            "CASE WHEN m.kind = 'email' THEN json_extract(m.meta, '$.signature') END "
            "FROM message m LEFT JOIN identity i ON i.id = m.identity_id "
            f"WHERE {where} ORDER BY m.sent_at DESC, m.id DESC LIMIT ?",
            params,
        )
        rows.reverse()
        attachments: dict[int, list[Attachment]] = {}
        if rows:
            ids = [r[0] for r in rows]
            for a in await self._rows(
                "SELECT id, message_id, filename, content_type, size, note FROM attachment "
                f"WHERE message_id IN ({','.join('?' * len(ids))}) ORDER BY id",
                ids,
            ):
                attachments.setdefault(a[1], []).append(Attachment(*a))
        return [
            Message(
                id=r[0],
                contact_id=r[1],
                kind=ChannelKind(r[2]) if r[2] else None,
                account=r[3],
                direction=Direction(r[4]),
                subject=r[5],
                text=r[6],
                sent_at=r[7],
                status=Delivery(r[8]),
                status_reason=r[9],
                author=r[10],
                sender=r[11],
                edited=bool(r[12]),
                parse_error=r[13],
                attachments=tuple(attachments.get(r[0], ())),
                folded=r[14] if isinstance(r[14], str) else "",
                has_source=bool(r[15]),
                to=json_strings(r[16]),
                cc=json_strings(r[17]),
                bcc=json_strings(r[18]),
                signature=r[19] if isinstance(r[19], str) else "",
            )
            for r in rows
        ]

    async def thread_around(
        self, contact_id: int, message_id: int, *, limit: int = 50, newer: int = 10
    ) -> tuple[list[Message], bool]:
        """A page of a thread that holds `message_id` with some context after it;
        returns the page (oldest first) and whether older messages exist."""
        position = await self.message_position(message_id)
        if position is None or position[0] != contact_id:
            page = await self.thread_page(contact_id, limit=limit)
            return page, len(page) >= limit
        cursor = position[1]
        rows = await self._rows(
            "SELECT sent_at, id FROM message WHERE contact_id = ? AND (sent_at, id) > (?, ?) "
            "ORDER BY sent_at, id LIMIT ?",
            (contact_id, cursor.sent_at, cursor.message_id, newer),
        )
        end = ThreadCursor(rows[-1][0], rows[-1][1] + 1) if rows else None
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
            "SELECT account, json_extract(meta, '$.imap') FROM message "
            f"WHERE contact_id IN ({','.join('?' * len(contact_ids))}) AND direction = 'in' "
            f"AND account IN ({','.join('?' * len(accounts))}) "
            "AND json_extract(meta, '$.imap') IS NOT NULL ORDER BY id DESC LIMIT ?",
            [*contact_ids, *accounts, limit],
        )
        out: dict[str, list[dict[str, object]]] = {}
        for account, ref in rows:
            out.setdefault(account, []).append(json.loads(ref))
        return out

    async def message_source(self, message_id: int) -> bytes | None:
        """The raw source of a message as it arrived (kept for email)."""
        rows = await self._rows("SELECT raw FROM message WHERE id = ?", (message_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    async def message_source_head(self, message_id: int, limit: int) -> tuple[bytes, int] | None:
        """The first `limit` bytes of a message's raw source and its whole size
        (a 15 MB mail is not read whole to be shown)."""
        rows = await self._rows(
            "SELECT substr(raw, 1, ?), length(raw) FROM message WHERE id = ? AND raw IS NOT NULL",
            (limit, message_id),
        )
        return (bytes(rows[0][0]), int(rows[0][1])) if rows else None

    async def attachment_data(self, attachment_id: int) -> bytes | None:
        rows = await self._rows("SELECT data FROM attachment WHERE id = ?", (attachment_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    async def message_position(self, message_id: int) -> tuple[int, ThreadCursor] | None:
        """The contact of a message and a cursor just after it (to page to it)."""
        rows = await self._rows(
            "SELECT contact_id, sent_at, id FROM message WHERE id = ?", (message_id,)
        )
        if not rows:
            return None
        return rows[0][0], ThreadCursor(rows[0][1], rows[0][2])

    async def reply_subject(self, contact_id: int, account: str) -> str:
        """The subject of the customer's last message on `account`, for a reply."""
        rows = await self._rows(
            "SELECT subject FROM message WHERE contact_id = ? AND account = ? AND direction = 'in' "
            "ORDER BY sent_at DESC, id DESC LIMIT 1",
            (contact_id, account),
        )
        return str(rows[0][0]) if rows else ""

    async def last_mail(self, contact_id: int, account: str) -> LastMail | None:
        """The customer's newest mail on `account`: its subject, sender, To and Cc."""
        rows = await self._rows(
            "SELECT m.subject, i.address, json_extract(m.meta, '$.to'), "
            "json_extract(m.meta, '$.cc') FROM message m JOIN identity i ON i.id = m.identity_id "
            "WHERE m.contact_id = ? AND m.account = ? AND m.direction = 'in' "
            "ORDER BY m.sent_at DESC, m.id DESC LIMIT 1",
            (contact_id, account),
        )
        if not rows:
            return None
        subject, sender, to, cc = rows[0]
        return LastMail(str(subject), str(sender), json_strings(to), json_strings(cc))
