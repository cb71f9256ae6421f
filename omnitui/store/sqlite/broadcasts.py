"""Broadcasts in the store: the audience read, the plan written at once, progress, cancel.

A broadcast is written in one transaction: the `broadcast` row, one
`broadcast_recipient` row per customer (their message, or why they were
skipped) and each message in the outbox (`queued`, due at `send_at`, marked
with the broadcast). From then on the outbox's own rules hold: a message is
claimed (`sending`) before it goes and marked sent after, so a process that
dies mid-broadcast leaves the rest queued for whoever runs the channels next,
and the one message it was sending `unknown`, never sent twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace

from omnitui.domain.broadcast import (
    SKIP_CANCELLED,
    AudienceAddress,
    AudienceMember,
    BroadcastPlan,
    footer_language,
)
from omnitui.domain.broadcast_image import BroadcastImage, ImageWay
from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    Delivery,
    Direction,
    IdentityKind,
    Outbound,
    OutboundFile,
)
from omnitui.domain.public_links import media_url, new_token, preview_url
from omnitui.store.errors import StoreError
from omnitui.store.records import BroadcastProgress, PublicImage, UnsubscribeRecipient
from omnitui.store.sqlite.outbox import SqliteOutbox
from omnitui.store.sqlite.writes import (
    index_message,
    insert_attachment,
    insert_message,
    unindex_message,
)

_TAG = "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE json_each.value = ?)"


class SqliteBroadcasts(SqliteOutbox):
    """One canned reply to a segment of customers, exactly once each."""

    _kept_image: tuple[int, OutboundFile | None] | None = None  # the last image read

    async def broadcast_audience(self, tags: Sequence[str]) -> list[AudienceMember]:
        """The customers who have every tag in `tags`, with their addresses."""
        if not tags:
            return []
        where = " AND ".join([_TAG] * len(tags))
        contacts = await self._rows(
            "SELECT c.id, c.name, c.first_name, c.language, c.profile, c.last_account "
            f"FROM contact c WHERE c.merged_into IS NULL AND {where} ORDER BY c.id",
            tuple(tags),
        )
        addresses = await self._rows(
            "SELECT i.contact_id, i.kind, i.address, i.last_used, i.opted_out, "
            "i.broadcast_opt_out, json_extract(i.data, '$.chat_id') AS chat_id, "
            "json_extract(i.data, '$.language_code') AS language_code, "
            "EXISTS (SELECT 1 FROM message m WHERE m.identity_id = i.id "
            "AND m.direction = 'in') AS wrote "
            f"FROM identity i JOIN contact c ON c.id = i.contact_id "
            f"WHERE c.merged_into IS NULL AND {where}",
            tuple(tags),
        )
        by_contact: dict[int, list[AudienceAddress]] = {}
        said: dict[int, str] = {}
        for a in addresses:
            if a["language_code"]:
                said.setdefault(a["contact_id"], str(a["language_code"]).split("-")[0])
            kind = IdentityKind(a["kind"])
            # A bot can write only to someone who wrote to it.
            reachable = kind is not IdentityKind.TELEGRAM or bool(a["chat_id"] or a["wrote"])
            by_contact.setdefault(a["contact_id"], []).append(
                AudienceAddress(
                    kind=kind,
                    address=a["address"],
                    last_used=a["last_used"],
                    opted_out=bool(a["opted_out"]),
                    broadcast_opt_out=bool(a["broadcast_opt_out"]),
                    reachable=reachable,
                )
            )
        members = []
        for c in contacts:
            profile = json.loads(c["profile"] or "{}")
            members.append(
                AudienceMember(
                    contact_id=c["id"],
                    name=c["name"] or "",
                    first_name=c["first_name"] or "",
                    language=c["language"] or "",
                    profile={str(k): str(v) for k, v in profile.items()},
                    last_account=c["last_account"],
                    addresses=tuple(by_contact.get(c["id"], ())),
                    channel_language=said.get(c["id"], ""),
                )
            )
        return members

    async def create_broadcast(
        self,
        canned: str,
        audience: Mapping[str, object],
        plan: BroadcastPlan,
        *,
        send_at: float | None = None,
        author: str | None = None,
        image: BroadcastImage | None = None,
    ) -> int:
        """Write the broadcast and every recipient's message in one transaction.

        The same broadcast (canned reply and audience) while one is still under
        way is refused: a second command never doubles the first. An `image` is
        stored once, on the broadcast; each message that carries it only says so
        (and names it in the thread, like an attachment whose bytes are shared).
        """
        now = self._clock()
        due = max(now, send_at) if send_at is not None else now
        described = json.dumps(dict(audience), ensure_ascii=False, sort_keys=True)

        def run(conn: sqlite3.Connection) -> int:
            running = conn.execute(
                "SELECT b.id FROM broadcast b WHERE b.canned = ? AND b.audience = ? "
                "AND b.cancelled_at IS NULL AND EXISTS (SELECT 1 FROM message m "
                "WHERE m.broadcast_id = b.id AND m.status IN ('queued', 'sending'))",
                (canned, described),
            ).fetchone()
            if running is not None:
                raise StoreError(
                    "this broadcast is already under way (broadcast {number})",
                    number=running["id"],
                )
            cur = conn.execute(
                "INSERT INTO broadcast(canned, audience, created_at, send_at, author) "
                "VALUES (?, ?, ?, ?, ?)",
                (canned, described, now, due, author),
            )
            broadcast_id = int(cur.lastrowid or 0)
            with_image = _store_image(conn, broadcast_id, image)
            for planned in plan.messages:
                said: dict[str, object] = {"broadcast": broadcast_id}
                said.update(with_image.get(planned.channel.account, {}))
                meta = json.dumps(
                    {**said, "language": planned.language} if planned.language else said
                )
                kind = IDENTITY_FOR_CHANNEL[planned.channel.kind]
                identity = conn.execute(
                    "SELECT id FROM identity WHERE kind = ? AND address = ?",
                    (str(kind), planned.address),
                ).fetchone()
                if identity is None:  # merged or removed since the audience was read
                    _recipient(conn, broadcast_id, planned.contact_id, skipped="no address")
                    continue
                message_id = insert_message(
                    conn,
                    contact_id=planned.contact_id,
                    identity_id=identity["id"],
                    account=planned.channel.account,
                    kind=str(planned.channel.kind),
                    direction=Direction.OUT,
                    subject=planned.subject,
                    text=planned.text,
                    meta=meta,
                    sent_at=due,
                    created_at=now,
                    status=Delivery.QUEUED,
                    author=author,
                    next_attempt_at=due,
                )
                conn.execute(
                    "UPDATE message SET broadcast_id = ? WHERE id = ?", (broadcast_id, message_id)
                )
                index_message(conn, message_id, f"{planned.subject}\n{planned.text}")
                if image is not None and planned.channel.account in with_image:
                    # Named in the thread; the bytes stay once, on the broadcast.
                    insert_attachment(
                        conn, message_id, image.name, image.content_type, len(image.data), None
                    )
                _recipient(
                    conn,
                    broadcast_id,
                    planned.contact_id,
                    account=planned.channel.account,
                    kind=str(planned.channel.kind),
                    message_id=message_id,
                    # An email's one-click unsubscribe link names this recipient alone.
                    unsubscribe_token=new_token() if kind is IdentityKind.EMAIL else None,
                )
            for skip in plan.skipped:
                _recipient(conn, broadcast_id, skip.contact_id, skipped=skip.reason)
            self._change(conn, ChangeKind.OUTBOX, None)
            return broadcast_id

        return await self._write(run)

    async def claim_broadcast(self, account: str, *, limit: int = 1) -> list[Outbound]:
        """Move due queued broadcast messages of `account` to `sending` and return them.

        A message that carries its broadcast's image as a file gets the image's
        bytes, read once per broadcast and kept for the messages after it.
        """
        jobs = await self._claim("m.broadcast_id IS NOT NULL AND m.account = ?", (account,), limit)
        out = []
        for job in jobs:
            number = job.meta.get("broadcast")
            if job.meta.get("image") == ImageWay.FILE and isinstance(number, int):
                picture = await self._broadcast_image(number)
                if picture is not None:
                    job = replace(job, files=(picture, *job.files))
            out.append(job)
        return out

    async def _broadcast_image(self, broadcast_id: int) -> OutboundFile | None:
        """The broadcast's image, read from the store once and kept while its
        messages go (a drain sends one broadcast's messages one after another)."""
        kept = self._kept_image
        if kept is not None and kept[0] == broadcast_id:
            return kept[1]
        rows = await self._rows(
            "SELECT image, image_name, image_type FROM broadcast WHERE id = ?", (broadcast_id,)
        )
        found = rows[0] if rows and rows[0]["image"] is not None else None
        picture = (
            None
            if found is None
            else OutboundFile(found["image_name"], found["image_type"], bytes(found["image"]))
        )
        self._kept_image = (broadcast_id, picture)
        return picture

    async def next_broadcast_due(self, accounts: Sequence[str]) -> float | None:
        """When the next queued broadcast message for `accounts` is due."""
        if not accounts:
            return None
        marks = ",".join("?" * len(accounts))
        due = await self._value(
            "SELECT min(next_attempt_at) FROM message WHERE status = 'queued' "
            f"AND broadcast_id IS NOT NULL AND account IN ({marks})",
            tuple(accounts),
        )
        return None if due is None else float(due)

    async def broadcast_progress(self, broadcast_id: int) -> BroadcastProgress:
        found = await self._progress(f"b.id = {int(broadcast_id)}")
        if not found:
            raise StoreError("no broadcast {number}", number=broadcast_id)
        return found[0]

    async def broadcasts(
        self, *, limit: int = 20, active_only: bool = False
    ) -> list[BroadcastProgress]:
        """The newest broadcasts with their progress (only those still sending: `active_only`)."""
        if not active_only:
            return await self._progress("1", limit=limit)
        # Only broadcasts with a message still waiting (an index read), not every one.
        found = await self._progress(
            "b.cancelled_at IS NULL AND EXISTS (SELECT 1 FROM message m WHERE "
            "m.broadcast_id = b.id AND m.status IN ('queued', 'sending'))",
            limit=limit,
        )
        return [b for b in found if b.active]

    async def broadcasts_between(self, since: float, until: float) -> list[BroadcastProgress]:
        """The broadcasts created in [since, until), oldest first, with their results."""
        found = await self._progress(
            "b.created_at >= ? AND b.created_at < ?", (since, until), limit=None
        )
        return found[::-1]

    async def _progress(
        self, condition: str, params: tuple[object, ...] = (), *, limit: int | None = 1
    ) -> list[BroadcastProgress]:
        """The broadcasts that meet `condition`, newest first (`limit` None: all of them)."""
        heads = await self._rows(
            "SELECT b.id, b.canned, b.audience, b.created_at, b.send_at, b.author, "
            f"b.cancelled_at FROM broadcast b WHERE {condition} ORDER BY b.id DESC"
            + ("" if limit is None else " LIMIT ?"),
            params if limit is None else (*params, limit),
        )
        out: list[BroadcastProgress] = []
        for head in heads:
            counts = await self._rows(
                "SELECT r.kind, coalesce(m.status, '') AS status, r.skipped, count(*) AS n "
                "FROM broadcast_recipient r LEFT JOIN message m ON m.id = r.message_id "
                "WHERE r.broadcast_id = ? GROUP BY r.kind, m.status, r.skipped",
                (head["id"],),
            )
            by_status: dict[tuple[str, str], int] = {}
            skipped: dict[str, int] = {}
            for row in counts:
                if row["skipped"]:
                    skipped[row["skipped"]] = skipped.get(row["skipped"], 0) + int(row["n"])
                else:
                    key = (row["kind"] or "", row["status"])
                    by_status[key] = by_status.get(key, 0) + int(row["n"])
            out.append(
                BroadcastProgress(
                    id=head["id"],
                    canned=head["canned"],
                    audience=json.loads(head["audience"] or "{}"),
                    created_at=head["created_at"],
                    send_at=head["send_at"],
                    author=head["author"],
                    cancelled_at=head["cancelled_at"],
                    counts=by_status,
                    skipped=skipped,
                )
            )
        return out

    async def cancel_broadcast(self, broadcast_id: int) -> int:
        """Take back every message of the broadcast not yet on its way; returns how many."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            found = conn.execute(
                "SELECT cancelled_at FROM broadcast WHERE id = ?", (broadcast_id,)
            ).fetchone()
            if found is None:
                raise StoreError("no broadcast {number}", number=broadcast_id)
            rows = conn.execute(
                "SELECT id, contact_id FROM message WHERE broadcast_id = ? AND status = 'queued'",
                (broadcast_id,),
            ).fetchall()
            for row in rows:
                unindex_message(conn, row["id"])
                conn.execute("DELETE FROM attachment WHERE message_id = ?", (row["id"],))
                conn.execute("DELETE FROM message WHERE id = ?", (row["id"],))
                conn.execute(
                    "UPDATE broadcast_recipient SET message_id = NULL, skipped = ? "
                    "WHERE broadcast_id = ? AND contact_id = ?",
                    (SKIP_CANCELLED, broadcast_id, row["contact_id"]),
                )
            conn.execute(
                "UPDATE broadcast SET cancelled_at = coalesce(cancelled_at, ?) WHERE id = ?",
                (now, broadcast_id),
            )
            self._change(conn, ChangeKind.OUTBOX, None)
            return len(rows)

        return await self._write(run)

    async def set_broadcast_opt_out(
        self, kind: IdentityKind, address: str, opted_out: bool = True, *, one_click: bool = False
    ) -> bool:
        """Record that a customer wants no more broadcasts on this address (or again).

        `one_click`: they asked through their unsubscribe link. When that
        changes anything, a line in their thread (like a rule's) tells the
        agents why broadcasts stop, and every console sees it at once; asking
        again changes nothing and writes nothing more.
        """
        now = self._clock()

        def run(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT id, contact_id, broadcast_opt_out FROM identity "
                "WHERE kind = ? AND address = ?",
                (str(kind), address),
            ).fetchone()
            conn.execute(
                "UPDATE identity SET broadcast_opt_out = ? WHERE kind = ? AND address = ?",
                (int(opted_out), str(kind), address),
            )
            if found is None:
                return False
            if one_click and bool(found["broadcast_opt_out"]) != opted_out:
                contact_id = found["contact_id"]
                insert_message(
                    conn,
                    contact_id=contact_id,
                    identity_id=None,
                    account="",
                    kind="",
                    direction=Direction.AUTO,
                    text=json.dumps({"broadcast_opt_out": str(kind)}),
                    # The contact it was written on, so undoing a merge takes it back there.
                    meta=json.dumps({"contact": contact_id, "event": "unsubscribe"}),
                    sent_at=now,
                    created_at=now,
                    status=Delivery.RECEIVED,
                    author=address,
                )
                self._change(conn, ChangeKind.CONSENT, contact_id)
            return True

        return await self._write(run)

    async def unsubscribe_recipient(self, token: str) -> UnsubscribeRecipient | None:
        """The recipient a one-click unsubscribe token names: the address their
        broadcast message went to (wherever it is merged now), or None."""
        rows = await self._rows(
            "SELECT r.broadcast_id, i.contact_id, i.kind, i.address, i.broadcast_opt_out, "
            "m.text, json_extract(m.meta, '$.language') AS language "
            "FROM broadcast_recipient r JOIN message m ON m.id = r.message_id "
            "JOIN identity i ON i.id = m.identity_id WHERE r.unsubscribe_token = ?",
            (token,),
        )
        if not rows:
            return None
        row = rows[0]
        language = row["language"] if isinstance(row["language"], str) else ""
        return UnsubscribeRecipient(
            broadcast_id=row["broadcast_id"],
            contact_id=row["contact_id"],
            kind=IdentityKind(row["kind"]),
            address=row["address"],
            language=footer_language(row["text"] or "", language),
            opted_out=bool(row["broadcast_opt_out"]),
        )

    async def public_image(self, token: str) -> PublicImage | None:
        """A broadcast's image by its public token; None when the broadcast has
        none or was cancelled (its link stops working)."""
        rows = await self._rows(
            "SELECT image, image_type, image_name FROM broadcast "
            "WHERE public_token = ? AND image IS NOT NULL AND cancelled_at IS NULL",
            (token,),
        )
        if not rows:
            return None
        row = rows[0]
        return PublicImage(
            data=bytes(row["image"]),
            content_type=row["image_type"] or "application/octet-stream",
            name=row["image_name"] or "",
        )


def _store_image(
    conn: sqlite3.Connection, broadcast_id: int, image: BroadcastImage | None
) -> dict[str, dict[str, object]]:
    """Store the image on the broadcast (once); per account, what its messages' meta says."""
    if image is None:
        return {}
    token = new_token()
    conn.execute(
        "UPDATE broadcast SET image = ?, image_name = ?, image_type = ?, public_token = ? "
        "WHERE id = ?",
        (image.data, image.name, image.content_type, token, broadcast_id),
    )
    said: dict[str, dict[str, object]] = {}
    for account, way in image.ways.items():
        if way is ImageWay.LINK and image.public_url:
            said[account] = {
                "image": str(way),
                "image_url": media_url(image.public_url, token),
                "preview_url": preview_url(image.public_url, token),
            }
        elif way is ImageWay.FILE:
            said[account] = {"image": str(way)}
    return said


def _recipient(
    conn: sqlite3.Connection,
    broadcast_id: int,
    contact_id: int,
    *,
    account: str | None = None,
    kind: str | None = None,
    message_id: int | None = None,
    skipped: str = "",
    unsubscribe_token: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO broadcast_recipient(broadcast_id, contact_id, account, kind, "
        "message_id, skipped, unsubscribe_token) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(broadcast_id, contact_id) DO UPDATE SET account = excluded.account, "
        "kind = excluded.kind, message_id = excluded.message_id, skipped = excluded.skipped, "
        "unsubscribe_token = excluded.unsubscribe_token",
        (broadcast_id, contact_id, account, kind, message_id, skipped, unsubscribe_token),
    )
