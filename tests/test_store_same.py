"""The demo shop on SQLite and on PostgreSQL: every read answers the same.

The same history (the demo's customers and two months of their messages,
built from one seed at one moment) is written to a store on each backend;
then what the console, the hub and the reports read — each view's list and
count, threads and the pages around a message, who waits, duplicates to
merge, conversations, rule and satisfaction figures — is the same on both,
before and after a merge and its undo.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from omnitui.demo import build_demo_store
from omnitui.domain.models import ChannelKind, ThreadStatus
from omnitui.domain.views import View
from omnitui.store import Store
from omnitui.store.postgres import PostgresStore
from tests.peers.postgres import PASSWORD, PgCluster

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
DAY = 86_400.0


@pytest.fixture
async def both(tmp_path: Path, pg_cluster: PgCluster) -> AsyncIterator[tuple[Store, Store]]:
    sqlite = await Store.open(tmp_path / "shop.db", clock=lambda: NOW)
    postgres = await PostgresStore.open_url(
        pg_cluster.url(pg_cluster.new_database()), password=PASSWORD, clock=lambda: NOW
    )
    try:
        for store in (sqlite, postgres):
            await build_demo_store(store, now=NOW, messages=900, customers=45)
        yield sqlite, postgres
    finally:
        await sqlite.close()
        await postgres.close()


Read = Callable[[Store], Awaitable[Any]]


async def reads(store: Store) -> dict[str, Any]:
    """What the console, the hub and the reports read, by name."""
    out: dict[str, Any] = {}
    contacts = await store.list_contacts(limit=1000)
    out["contacts"] = contacts
    for view in View:
        out[f"view {view}"] = await store.list_contacts(limit=1000, view=view, agent="Ken")
    out["view counts"] = await store.view_counts("Ken")
    out["next waiting"] = await store.next_waiting()
    out["waiting now"] = await store.waiting_now()
    out["conversations"] = await store.conversations_between(NOW - 90 * DAY, NOW + DAY)
    out["message hours"] = await store.message_hours(NOW - 90 * DAY, NOW + DAY)
    out["canned"] = await store.canned_replies()
    out["all contacts"] = await store.all_contacts()
    out["duplicates"] = await store.duplicate_suggestions()
    out["rule stats"] = await store.rule_stats(NOW - 7 * DAY)
    out["last message"] = await store.last_message_id()
    for c in contacts:
        key = f"contact {c.id}"
        out[f"{key} summary"] = await store.contact_summary(c.id, "Ken")
        out[f"{key} position"] = await store.contact_position(c.id)
        out[f"{key} channels"] = await store.contact_channels(c.id)
        out[f"{key} identities"] = await store.identity_message_counts(c.id)
        out[f"{key} history"] = await store.field_history(c.id)
        out[f"{key} csat"] = await store.csat_summary(c.id)
        out[f"{key} facts"] = await store.automation_facts(c.id)
        thread = await store.thread_page(c.id, limit=1000)
        out[f"{key} thread"] = thread
        if thread:
            middle = thread[len(thread) // 2].id
            out[f"{key} around"] = await store.thread_around(c.id, middle, limit=6, newer=2)
            out[f"{key} position of"] = await store.message_position(middle)
        for account, kind in out[f"{key} channels"]:
            if kind is ChannelKind.EMAIL:
                out[f"{key} last mail"] = await store.last_mail(c.id, account)
                out[f"{key} subject"] = await store.reply_subject(c.id, account)
    return out


def differences(on_sqlite: dict[str, Any], on_postgres: dict[str, Any]) -> list[str]:
    assert on_sqlite.keys() == on_postgres.keys()
    return [
        f"{name}:\n  SQLite     {on_sqlite[name]!r}\n  PostgreSQL {on_postgres[name]!r}"
        for name in on_sqlite
        if on_sqlite[name] != on_postgres[name]
    ]


async def test_every_read_of_the_demo_shop_is_the_same_on_both_backends(
    both: tuple[Store, Store],
) -> None:
    sqlite, postgres = both
    first = await reads(sqlite)
    assert len(first["contacts"]) == 45 and first["conversations"]  # a shop, not nothing
    assert not (wrong := differences(first, await reads(postgres))), "\n".join(wrong[:5])

    # The same changes on both: a merge of two customers, a resolve, a snooze,
    # an opt-out; then the merge undone.
    ids = [c.id for c in first["contacts"]]
    records = []
    for store in (sqlite, postgres):
        records.append(await store.merge(ids[1], ids[0], agent="Aiko"))
        await store.set_status(ids[2], ThreadStatus.RESOLVED)
        await store.set_status(ids[3], ThreadStatus.SNOOZED, NOW + 3600)
        await store.set_assignee(ids[4], "Ken")
        await store.update_contact(ids[5], tags=["vip", "wholesale"])
        contact = await store.get_contact(ids[6])
        identity = contact.identities[0]
        await store.set_opted_out(identity.kind, identity.address, True)
    merged = await reads(sqlite)
    assert merged["contacts"] != first["contacts"]
    assert not (wrong := differences(merged, await reads(postgres))), "\n".join(wrong[:5])

    for store, record in zip((sqlite, postgres), records, strict=True):
        await store.undo_merge(record)
    undone = await reads(sqlite)
    assert not (wrong := differences(undone, await reads(postgres))), "\n".join(wrong[:5])
