"""Merging contacts in SQLite: merge, undo, split and duplicate suggestions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from typing import TYPE_CHECKING

from omnitui.domain.changes import ChangeKind
from omnitui.domain.merge import FieldHistory, MergePlan, ProfileSnapshot, field_label, undo_profile
from omnitui.domain.models import Contact

if TYPE_CHECKING:
    from omnitui.domain.duplicates import Suggestion
from omnitui.store.errors import StoreError
from omnitui.store.sqlite.contacts import SqliteContacts
from omnitui.store.sqlite.writes import insert_contact, recount


def _snapshot(contact: Contact) -> ProfileSnapshot:
    return ProfileSnapshot(
        contact.name, contact.first_name, contact.language, dict(contact.profile), contact.tags
    )


class SqliteMerges(SqliteContacts):
    """Merging customers who are one person, undoing it, and splitting one off."""

    async def duplicate_suggestions(
        self, *, region: str | None = None, recent: int = 2000
    ) -> list[Suggestion]:
        """Possible duplicates among the most recently active contacts."""
        from omnitui.domain import duplicates

        contacts = await self._rows(
            "SELECT id, name FROM contact WHERE merged_into IS NULL "
            "ORDER BY last_activity DESC LIMIT ?",
            (recent,),
        )
        candidates = [duplicates.Candidate(int(r["id"]), str(r["name"])) for r in contacts]
        owners = {
            str(r["address"]): int(r["contact_id"])
            for r in await self._rows(
                "SELECT address, contact_id FROM identity WHERE kind = 'phone'"
            )
        }
        texts = [
            (int(contact_id), str(text))
            for contact_id, text in await self._rows(
                "SELECT contact_id, text FROM message WHERE direction = 'in' AND kind = 'email' "
                "ORDER BY id DESC LIMIT 5000"
            )
        ]
        dismissed = {
            (min(r["a"], r["b"]), max(r["a"], r["b"]))
            for r in await self._rows(
                "SELECT source_contact_id AS a, target_contact_id AS b FROM merge_record "
                "WHERE action = 'dismiss'"
            )
        }
        found = [
            *duplicates.similar_names(candidates),
            *duplicates.phone_mentions(texts, owners, region),
        ]
        return duplicates.rank(found, dismissed)

    async def dismiss_suggestion(self, a: int, b: int, *, agent: str | None = None) -> None:
        """The agent says these two are different customers: stop suggesting them."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO merge_record(action, source_contact_id, target_contact_id, "
                "identity_ids, evidence, agent, at) VALUES ('dismiss', ?, ?, '[]', '', ?, ?)",
                (a, b, agent, self._clock()),
            )

        await self._write(run)

    async def merge(
        self,
        source_id: int,
        target_id: int,
        *,
        agent: str | None = None,
        evidence: str = "manual",
        incoming_wins: Collection[str] = (),
    ) -> int:
        """Move every identity and message of `source_id` into `target_id`.

        Nothing is deleted: the source contact stays, marked merged, and the
        merge record lists what moved so `undo_merge` can move it back. The
        profiles are merged by `MergePlan`: `incoming_wins` names the fields
        (merge keys) where the source's value wins; each losing value is kept
        as history on the target.
        """
        if source_id == target_id:
            raise StoreError("a contact cannot be merged into itself")

        def run(conn: sqlite3.Connection) -> int:
            return self._merge(conn, source_id, target_id, agent, evidence, incoming_wins)

        return await self._write(run)

    async def merge_plan(self, source_id: int, target_id: int) -> MergePlan:
        """What merging `source_id` into `target_id` would do to the profile."""
        return MergePlan(
            kept=_snapshot(await self.get_contact(target_id)),
            incoming=_snapshot(await self.get_contact(source_id)),
        )

    async def identity_message_counts(self, contact_id: int) -> dict[int, int]:
        """How many messages each of a contact's identities carries (what a merge moves)."""
        rows = await self._rows(
            "SELECT identity_id, count(*) AS n FROM message WHERE contact_id = ? "
            "AND identity_id IS NOT NULL GROUP BY identity_id",
            (contact_id,),
        )
        return {int(r["identity_id"]): int(r["n"]) for r in rows}

    async def field_history(self, contact_id: int) -> list[FieldHistory]:
        """Profile values that lost in merges into this contact, newest first."""
        rows = await self._rows(
            "SELECT field, value, source_name, at FROM field_history WHERE contact_id = ? "
            "ORDER BY at DESC, id DESC",
            (contact_id,),
        )
        return [
            FieldHistory(field_label(r["field"]), r["value"], r["source_name"], r["at"])
            for r in rows
        ]

    def _profile(self, conn: sqlite3.Connection, contact_id: int) -> ProfileSnapshot:
        row = conn.execute(
            "SELECT name, first_name, language, profile, tags FROM contact WHERE id = ?",
            (contact_id,),
        ).fetchone()
        return ProfileSnapshot(
            name=row["name"],
            first_name=row["first_name"],
            language=row["language"],
            fields=json.loads(row["profile"] or "{}"),
            tags=tuple(json.loads(row["tags"] or "[]")),
        )

    def _set_profile(
        self, conn: sqlite3.Connection, contact_id: int, profile: ProfileSnapshot
    ) -> None:
        conn.execute(
            "UPDATE contact SET name = ?, first_name = ?, language = ?, profile = ?, tags = ? "
            "WHERE id = ?",
            (
                profile.name,
                profile.first_name,
                profile.language,
                json.dumps(dict(profile.fields), ensure_ascii=False),
                json.dumps(list(profile.tags), ensure_ascii=False),
                contact_id,
            ),
        )

    def _merge(
        self,
        conn: sqlite3.Connection,
        source_id: int,
        target_id: int,
        agent: str | None,
        evidence: str,
        incoming_wins: Collection[str] = (),
    ) -> int:
        for cid in (source_id, target_id):
            row = conn.execute("SELECT merged_into FROM contact WHERE id = ?", (cid,)).fetchone()
            if row is None or row["merged_into"] is not None:
                raise StoreError("contact {contact} is not there to merge", contact=cid)
        before, incoming = self._profile(conn, target_id), self._profile(conn, source_id)
        merged = MergePlan(before, incoming).result(incoming_wins)
        self._set_profile(conn, target_id, merged.profile)
        identity_ids = [
            r["id"]
            for r in conn.execute("SELECT id FROM identity WHERE contact_id = ?", (source_id,))
        ]
        conn.execute(
            "UPDATE identity SET contact_id = ? WHERE contact_id = ?", (target_id, source_id)
        )
        conn.execute(
            "UPDATE message SET contact_id = ? WHERE contact_id = ?", (target_id, source_id)
        )
        conn.execute(
            "UPDATE conversation SET contact_id = ? WHERE contact_id = ?", (target_id, source_id)
        )
        conn.execute("UPDATE contact SET merged_into = ? WHERE id = ?", (target_id, source_id))
        # An agent's draft to the merged contact goes with it, unless they have one there too.
        conn.execute(
            "UPDATE draft SET contact_id = ? WHERE contact_id = ? "
            "AND agent NOT IN (SELECT agent FROM draft WHERE contact_id = ?)",
            (target_id, source_id, target_id),
        )
        recount(conn, target_id)
        now = self._clock()
        cur = conn.execute(
            "INSERT INTO merge_record(action, source_contact_id, target_contact_id, "
            "identity_ids, evidence, agent, at, profile_before, profile_after) "
            "VALUES ('merge', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source_id,
                target_id,
                json.dumps(identity_ids),
                evidence,
                agent,
                now,
                before.to_json(),
                merged.profile.to_json(),
            ),
        )
        record_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO field_history(contact_id, field, value, merge_record_id, source_name, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (target_id, key, value, record_id, (incoming if theirs else before).name, now)
                for key, value, theirs in merged.history
            ],
        )
        self._change(conn, ChangeKind.MERGE, source_id)
        self._change(conn, ChangeKind.MERGE, target_id)
        self._queue_webhook(conn, "contact.updated", target_id)  # its identities grew
        return record_id

    async def undo_merge(self, record_id: int) -> None:
        """Move a merge's identities, and their messages, back to the source contact."""

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT source_contact_id, target_contact_id, identity_ids, undone_at, action, "
                "profile_before, profile_after "
                "FROM merge_record WHERE id = ? AND action IN ('merge', 'unmerge')",
                (record_id,),
            ).fetchone()
            if row is None or row["undone_at"] is not None:
                raise StoreError("that merge is not there to undo")
            # A merge moved identities source -> target; an unmerge moved them
            # from source into a new target. Either way they go back to source.
            source, target = row["source_contact_id"], row["target_contact_id"]
            unmerge = row["action"] == "unmerge"
            before = ProfileSnapshot.from_json(row["profile_before"])
            after = ProfileSnapshot.from_json(row["profile_after"])
            if before is not None and after is not None:
                current = self._profile(conn, target)
                self._set_profile(conn, target, undo_profile(current, before, after))
                conn.execute("DELETE FROM field_history WHERE merge_record_id = ?", (record_id,))
            identity_ids = json.loads(row["identity_ids"])
            self._notes_back(conn, source, target, whole=unmerge)
            for identity_id in identity_ids:
                conn.execute(
                    "UPDATE identity SET contact_id = ? WHERE id = ?", (source, identity_id)
                )
                conn.execute(
                    "UPDATE message SET contact_id = ? WHERE identity_id = ? AND contact_id = ?",
                    (source, identity_id, target),
                )
            # A conversation goes with the message that opened it.
            conn.execute(
                "UPDATE conversation SET contact_id = ? WHERE contact_id = ? AND "
                "first_message_id IN (SELECT id FROM message WHERE contact_id = ?)",
                (source, target, source),
            )
            conn.execute("UPDATE contact SET merged_into = NULL WHERE id = ?", (source,))
            if unmerge:  # the split-off contact is empty again: fold it away
                conn.execute("UPDATE contact SET merged_into = ? WHERE id = ?", (source, target))
            conn.execute(
                "UPDATE merge_record SET undone_at = ? WHERE id = ?", (self._clock(), record_id)
            )
            recount(conn, source)
            recount(conn, target)
            self._change(conn, ChangeKind.MERGE, source)
            self._change(conn, ChangeKind.MERGE, target)
            self._queue_webhook(conn, "contact.updated", source)
            if not unmerge:  # a folded-away split is its source again
                self._queue_webhook(conn, "contact.updated", target)

        await self._write(run)

    def _notes_back(
        self, conn: sqlite3.Connection, source: int, target: int, *, whole: bool
    ) -> None:
        """Internal notes and automation lines go back with an undone merge: those written on the
        source contact, or on a contact merged into it before, return to it.
        Undoing a split (`whole`) folds the split-off contact away: every note
        on it goes back."""
        if whole:
            conn.execute(
                "UPDATE message SET contact_id = ? WHERE contact_id = ? AND direction IN ('note', 'auto')",
                (source, target),
            )
            return
        conn.execute(
            "UPDATE message SET contact_id = ? WHERE contact_id = ? AND direction IN ('note', 'auto') "
            "AND CAST(json_extract(meta, '$.contact') AS INTEGER) IN ("
            "WITH RECURSIVE sub(id) AS (SELECT CAST(? AS INTEGER) UNION "
            "SELECT contact.id FROM contact JOIN sub ON contact.merged_into = sub.id) "
            "SELECT id FROM sub)",
            (source, target, source),
        )

    async def split_identity(self, identity_id: int, *, agent: str | None = None) -> int:
        """Unmerge: move one identity, and the messages to and from it, into a
        contact of its own. Recorded, so `undo_merge` puts it back."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT contact_id, display, address FROM identity WHERE id = ?", (identity_id,)
            ).fetchone()
            if row is None:
                raise StoreError("that identity is not there")
            source = int(row["contact_id"])
            others = conn.execute(
                "SELECT 1 FROM identity WHERE contact_id = ? AND id != ? LIMIT 1",
                (source, identity_id),
            ).fetchone()
            if others is None:
                raise StoreError("this is the contact's only identity: nothing to split off")
            new_id = insert_contact(conn, row["display"] or row["address"], now)
            conn.execute("UPDATE identity SET contact_id = ? WHERE id = ?", (new_id, identity_id))
            conn.execute(
                "UPDATE message SET contact_id = ? WHERE identity_id = ? AND contact_id = ?",
                (new_id, identity_id, source),
            )
            recount(conn, source)
            recount(conn, new_id)
            conn.execute(
                "INSERT INTO merge_record(action, source_contact_id, target_contact_id, "
                "identity_ids, evidence, agent, at) VALUES ('unmerge', ?, ?, ?, 'manual', ?, ?)",
                (source, new_id, json.dumps([identity_id]), agent, now),
            )
            self._change(conn, ChangeKind.MERGE, source)
            self._change(conn, ChangeKind.MERGE, new_id)
            self._queue_webhook(conn, "contact.updated", source)
            self._queue_webhook(conn, "contact.updated", new_id)
            return new_id

        return await self._write(run)

    async def last_merge_into(self, contact_id: int) -> int | None:
        """The newest merge into this contact, or split off it, not yet undone."""
        record = await self._value(
            "SELECT id FROM merge_record WHERE undone_at IS NULL AND ("
            "(action = 'merge' AND target_contact_id = ?) OR "
            "(action = 'unmerge' AND source_contact_id = ?)) ORDER BY id DESC LIMIT 1",
            (contact_id, contact_id),
        )
        return None if record is None else int(record)
