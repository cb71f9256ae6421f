"""Contacts and their identities in SQLite: made, found, edited, imported."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omnitui.domain.changes import ChangeKind
from omnitui.domain.identity import InvalidAddress, normalize
from omnitui.domain.models import ChannelKind, Contact, Identity, IdentityKind, ThreadStatus

if TYPE_CHECKING:
    from omnitui.contacts_file import ContactRecord
from omnitui.store.errors import StoreError
from omnitui.store.records import ProfileFields
from omnitui.store.sqlite.rows import contact_of, identity_of
from omnitui.store.sqlite.webhooks import SqliteWebhooks
from omnitui.store.sqlite.writes import (
    address_owner,
    identity_for,
    insert_contact,
    insert_identity,
    resolved,
)


class SqliteContacts(SqliteWebhooks):
    """Contacts and their identities: who the customers are and how to reach them."""

    async def count_contacts(self) -> int:
        return int(await self._value("SELECT count(*) FROM contact WHERE merged_into IS NULL"))

    async def get_contact(self, contact_id: int) -> Contact:
        rows = await self._rows(
            "SELECT id, name, first_name, language, profile, status, snoozed_until, assignee, "
            "tags, unread, last_activity, last_account FROM contact WHERE id = ?",
            (contact_id,),
        )
        if not rows:
            raise StoreError("no contact {contact}", contact=contact_id)
        r = rows[0]
        idents = await self._rows(
            "SELECT id, contact_id, kind, address, display, last_used, opted_out FROM identity "
            "WHERE contact_id = ? ORDER BY last_used DESC NULLS LAST, id",
            (contact_id,),
        )
        return contact_of(
            r,
            tuple(identity_of(i) for i in idents),
        )

    async def contacts_by_id(self, contact_ids: Sequence[int]) -> list[Contact]:
        """These contacts with their identities, in the order given (an unknown id
        is left out), in two reads whatever their number."""
        ids = list(dict.fromkeys(contact_ids))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self._rows(
            "SELECT id, name, first_name, language, profile, status, snoozed_until, assignee, "
            f"tags, unread, last_activity, last_account FROM contact WHERE id IN ({marks})",
            ids,
        )
        idents: dict[int, list[Identity]] = {}
        for i in await self._rows(
            "SELECT id, contact_id, kind, address, display, last_used, opted_out FROM identity "
            f"WHERE contact_id IN ({marks}) ORDER BY last_used DESC NULLS LAST, id",
            ids,
        ):
            idents.setdefault(i["contact_id"], []).append(identity_of(i))
        found = {r["id"]: contact_of(r, tuple(idents.get(r["id"], ()))) for r in rows}
        return [found[i] for i in ids if i in found]

    async def surviving_contact(self, contact_id: int) -> int | None:
        """The contact that now holds `contact_id`'s thread: itself, or the one it
        was merged into (followed to the end); None when there is no such contact."""
        seen: set[int] = set()
        current = contact_id
        while current not in seen:
            seen.add(current)
            rows = await self._rows("SELECT merged_into FROM contact WHERE id = ?", (current,))
            if not rows:
                return None
            merged_into = rows[0]["merged_into"]
            if merged_into is None:
                return current
            current = int(merged_into)
        return current

    async def contact_channels(self, contact_id: int) -> list[tuple[str, ChannelKind]]:
        """The channel accounts this contact has written on, most recent first."""
        rows = await self._rows(
            "SELECT account, kind, max(sent_at) AS last FROM message "
            "WHERE contact_id = ? AND direction = 'in' GROUP BY account, kind ORDER BY last DESC",
            (contact_id,),
        )
        return [(r["account"], ChannelKind(r["kind"])) for r in rows]

    async def create_contact(
        self,
        name: str,
        identities: Sequence[tuple[IdentityKind, str]],
        profile: ProfileFields | None = None,
        *,
        region: str | None = None,
    ) -> int:
        """A new contact with known identities (an import, a customer met in the shop)."""
        now = self._clock()
        p = profile or ProfileFields()

        def run(conn: sqlite3.Connection) -> int:
            contact_id = insert_contact(
                conn,
                name,
                now,
                first_name=p.first_name,
                language=p.language,
                profile=p.fields,
            )
            for kind, raw in identities:
                address = normalize(kind, raw, region)
                taken = address_owner(conn, kind, address)
                if taken is not None:
                    raise StoreError(
                        "{kind} {address} already belongs to contact {contact}",
                        kind=kind,
                        address=address,
                        contact=taken,
                    )
                insert_identity(conn, contact_id, kind, address, name, now)
            self._change(conn, ChangeKind.CONTACT, contact_id)
            self._queue_webhook(conn, "contact.updated", contact_id)
            return contact_id

        return await self._write(run)

    async def address_owner(self, kind: IdentityKind, address: str) -> int | None:
        """The contact a normalised address belongs to, if any."""
        owner = await self._value(
            "SELECT contact_id FROM identity WHERE kind = ? AND address = ?", (str(kind), address)
        )
        return None if owner is None else int(owner)

    async def contact_for_address(
        self, kind: IdentityKind, raw: str, *, name: str = "", region: str | None = None
    ) -> tuple[int, bool]:
        """The customer with this address, made now if nobody has it (an agent
        writing to someone new): (contact id, whether it was made).

        The address is normalised first, so `Hanako@Example.jp` finds
        hanako@example.jp and `090-1234-5678` finds +819012345678.
        """
        try:
            address = normalize(kind, raw, region)
        except InvalidAddress as exc:
            raise StoreError(reason=exc) from None
        now = self._clock()

        def run(conn: sqlite3.Connection) -> tuple[int, bool]:
            owner = address_owner(conn, kind, address)
            if owner is not None:
                return owner, False
            _identity_id, contact_id = identity_for(conn, kind, address, name, now)
            # At the top of the list while the agent writes to them.
            conn.execute("UPDATE contact SET last_activity = ? WHERE id = ?", (now, contact_id))
            self._change(conn, ChangeKind.CONTACT, contact_id)
            self._queue_webhook(conn, "contact.updated", contact_id)
            return contact_id, True

        return await self._write(run)

    async def import_contacts(self, records: Sequence[ContactRecord]) -> tuple[int, int, list[str]]:
        """Add or update contacts from a customer list, in one transaction.

        A row whose addresses are already known updates that contact (its
        non-empty values win, fields it does not name are kept); a row whose
        addresses belong to two different contacts is reported, not merged.
        Returns (created, updated, problems).
        """
        now = self._clock()

        def run(conn: sqlite3.Connection) -> tuple[int, int, list[str]]:
            created = updated = 0
            problems: list[str] = []
            for record in records:
                owners = {
                    owner
                    for kind, address in record.identities
                    if (owner := address_owner(conn, kind, address)) is not None
                }
                if len(owners) > 1:
                    problems.append(
                        f"line {record.line}: its addresses belong to different contacts "
                        f"({', '.join(map(str, sorted(owners)))}); merge them in the console"
                    )
                    continue
                if owners:
                    contact_id = owners.pop()
                    row = conn.execute(
                        "SELECT profile, tags FROM contact WHERE id = ?", (contact_id,)
                    ).fetchone()
                    profile = {**json.loads(row["profile"] or "{}"), **record.fields}
                    tags = list(dict.fromkeys([*json.loads(row["tags"] or "[]"), *record.tags]))
                    conn.execute(
                        "UPDATE contact SET name = ?, first_name = CASE WHEN ? = '' THEN "
                        "first_name ELSE ? END, language = CASE WHEN ? = '' THEN language "
                        "ELSE ? END, profile = ?, tags = ? WHERE id = ?",
                        (
                            record.name,
                            record.first_name,
                            record.first_name,
                            record.language,
                            record.language,
                            json.dumps(profile, ensure_ascii=False),
                            json.dumps(tags, ensure_ascii=False),
                            contact_id,
                        ),
                    )
                    updated += 1
                else:
                    contact_id = insert_contact(
                        conn,
                        record.name,
                        now,
                        first_name=record.first_name,
                        language=record.language,
                        profile=record.fields,
                        tags=record.tags,
                    )
                    created += 1
                for kind, address in record.identities:
                    insert_identity(conn, contact_id, kind, address, record.name, now, if_new=True)
                self._change(conn, ChangeKind.CONTACT, contact_id)
                self._queue_webhook(conn, "contact.updated", contact_id)
            return created, updated, problems

        return await self._write(run)

    async def all_contacts(self) -> list[Contact]:
        """Every contact with its identities (for an export)."""
        rows = await self._rows(
            "SELECT id FROM contact WHERE merged_into IS NULL ORDER BY name, id"
        )
        return [await self.get_contact(int(r["id"])) for r in rows]

    async def set_profiles(self, profiles: Mapping[int, ProfileFields]) -> None:
        """Fill several contacts' profile fields in one transaction (imports, the demo)."""

        def run(conn: sqlite3.Connection) -> None:
            for contact_id, p in profiles.items():
                conn.execute(
                    "UPDATE contact SET first_name = ?, language = ?, profile = ? WHERE id = ?",
                    (
                        p.first_name,
                        p.language,
                        json.dumps(dict(p.fields), ensure_ascii=False),
                        contact_id,
                    ),
                )
                self._change(conn, ChangeKind.CONTACT, contact_id)
                self._queue_webhook(conn, "contact.updated", contact_id)

        await self._write(run)

    async def update_contact(
        self,
        contact_id: int,
        *,
        name: str | None = None,
        first_name: str | None = None,
        language: str | None = None,
        profile: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        """Edit a contact's profile; only the fields given change."""

        def run(conn: sqlite3.Connection) -> None:
            sets: list[str] = []
            params: list[Any] = []
            if tags is not None:
                sets.append("tags = ?")
                params.append(json.dumps(list(dict.fromkeys(tags)), ensure_ascii=False))
            for column, value in (
                ("name", name),
                ("first_name", first_name),
                ("language", language),
            ):
                if value is not None:
                    sets.append(f"{column} = ?")
                    params.append(value)
            if profile is not None:
                sets.append("profile = ?")
                params.append(json.dumps(dict(profile), ensure_ascii=False))
            if not sets:
                return
            conn.execute(
                f"UPDATE contact SET {', '.join(sets)} WHERE id = ?", (*params, contact_id)
            )
            self._change(conn, ChangeKind.CONTACT, contact_id)
            self._queue_webhook(conn, "contact.updated", contact_id)

        await self._write(run)

    async def set_assignee(self, contact_id: int, agent: str | None) -> None:
        """Give a customer's thread to an agent (None: to nobody)."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE contact SET assignee = ? WHERE id = ?", (agent, contact_id))
            conn.execute(
                "UPDATE conversation SET assignee = ? WHERE contact_id = ? AND resolved_at IS NULL",
                (agent, contact_id),
            )
            self._change(conn, ChangeKind.ASSIGN, contact_id)

        await self._write(run)

    async def set_status(
        self, contact_id: int, status: ThreadStatus, snoozed_until: float | None = None
    ) -> None:
        """Resolve, reopen, mark pending or snooze a contact's thread."""
        if status is ThreadStatus.SNOOZED and snoozed_until is None:
            raise StoreError("snoozing needs a time to wake up")

        def run(conn: sqlite3.Connection) -> None:
            resolving = (
                status is ThreadStatus.RESOLVED
                and conn.execute(
                    "SELECT 1 FROM contact WHERE id = ? AND status != 'resolved'", (contact_id,)
                ).fetchone()
            )
            conn.execute(
                "UPDATE contact SET status = ?, snoozed_until = ? WHERE id = ?",
                (
                    str(status),
                    snoozed_until if status is ThreadStatus.SNOOZED else None,
                    contact_id,
                ),
            )
            if resolving:
                resolved(conn, contact_id, self._clock())
                self._queue_webhook(conn, "conversation.resolved", contact_id)
            self._change(conn, ChangeKind.STATUS, contact_id)

        await self._write(run)

    async def wake_snoozed(self) -> list[int]:
        """Reopen threads whose snooze has run out; returns their contact ids."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> list[int]:
            ids = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM contact WHERE status = 'snoozed' AND snoozed_until <= ?", (now,)
                )
            ]
            for contact_id in ids:
                conn.execute(
                    "UPDATE contact SET status = 'open', snoozed_until = NULL WHERE id = ?",
                    (contact_id,),
                )
                self._change(conn, ChangeKind.STATUS, contact_id)
            return ids

        return await self._write(run)

    async def mark_read(self, contact_id: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE contact SET unread = 0 WHERE id = ? AND unread != 0", (contact_id,)
            )
            if cur.rowcount:
                self._change(conn, ChangeKind.READ, contact_id)

        await self._write(run)

    async def set_opted_out(
        self, kind: IdentityKind, address: str, opted_out: bool, *, region: str | None = None
    ) -> int:
        """Record that a customer opted out of a channel (an SMS STOP), or back in.

        A customer not seen before gets their identity now, so an opt-out
        recorded before their message is stored is never lost. Returns the
        contact id.
        """
        try:
            normalized = normalize(kind, address, region)
        except InvalidAddress:
            normalized = address.strip().lower()
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            identity_id, contact_id = identity_for(conn, kind, normalized, "", now)
            cur = conn.execute(
                "UPDATE identity SET opted_out = ? WHERE id = ? AND opted_out != ?",
                (int(opted_out), identity_id, int(opted_out)),
            )
            if cur.rowcount:
                self._change(conn, ChangeKind.CONSENT, contact_id)
                self._queue_webhook(conn, "contact.updated", contact_id)  # its identity's opt-out
            return contact_id

        return await self._write(run)

    async def identity_data(self, kind: IdentityKind, address: str) -> dict[str, object]:
        """What adapters remembered about an identity (e.g. its Telegram chat id)."""
        rows = await self._rows(
            "SELECT data FROM identity WHERE kind = ? AND address = ?", (str(kind), address)
        )
        data = json.loads(rows[0]["data"] or "{}") if rows else {}
        return data if isinstance(data, dict) else {}
