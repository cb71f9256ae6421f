"""The store: idempotent ingestion, paging, search, outbox states, merge, migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryUpdate,
    Direction,
    IdentityKind,
    Inbound,
    ThreadStatus,
)
from omnitui.store import Store, StoreBusy, StoreError, ThreadCursor
from omnitui.store.migrate import HEAD, current_revision, upgrade
from tests.conftest import DATABASE_ERRORS, StoreOpener, hold_write_lock
from tests.peers.postgres import PASSWORD as PG_PASSWORD

MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
SMS = Channel(ChannelKind.SMS, "shop-sms")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")

pytestmark = pytest.mark.backends


def mail(pid: str, sender: str, text: str, at: float, name: str = "", subject: str = "") -> Inbound:
    return Inbound(MAIL, pid, sender, name, text, at, subject=subject)


async def test_the_same_message_twice_is_stored_once(store: Store) -> None:
    first = await store.ingest([mail("<a@x>", "Aiko <AIKO@example.com>", "hello", 100.0, "Aiko")])
    again = await store.ingest([mail("<a@x>", "aiko@example.com", "hello", 100.0, "Aiko")])
    assert first[0].created and not again[0].created
    assert again[0].message_id == first[0].message_id
    page = await store.thread_page(first[0].contact_id)
    assert [m.text for m in page] == ["hello"]
    contact = await store.get_contact(first[0].contact_id)
    assert contact.name == "Aiko"
    assert contact.unread == 1
    assert [i.address for i in contact.identities] == ["aiko@example.com"]


async def test_cursor_is_committed_with_its_messages(store: Store) -> None:
    await store.ingest([mail("1", "a@x.jp", "one", 1.0)], cursors={("shop-mail", "INBOX"): "1"})
    assert await store.load_cursor("shop-mail", "INBOX") == "1"
    # A batch that fails part-way (here: a cursor value the store refuses)
    # stores neither its messages nor its cursor.
    refused: dict[tuple[str, str], str] = {("shop-mail", "INBOX"): "3", ("shop-mail", "odd"): None}  # type: ignore[dict-item]
    with pytest.raises(DATABASE_ERRORS):
        await store.ingest(
            [mail("2", "b@x.jp", "two", 2.0), mail("3", "c@x.jp", "three", 3.0)], cursors=refused
        )
    assert await store.load_cursor("shop-mail", "INBOX") == "1"
    assert len(await store.search("two")) == 0


async def test_thread_merges_channels_in_time_order_and_pages(store: Store) -> None:
    first = await store.ingest(
        [mail(f"m{i}", "k@x.jp", f"mail {i}", float(i)) for i in range(0, 120, 2)]
    )
    contact_id = first[0].contact_id
    sms = await store.ingest(
        [Inbound(SMS, f"s{i}", "+819012345678", "", f"sms {i}", float(i)) for i in range(1, 120, 2)]
    )
    await store.merge(sms[0].contact_id, contact_id)
    newest = await store.thread_page(contact_id, limit=50)
    assert [m.text for m in newest[-2:]] == ["mail 118", "sms 119"]
    assert len(newest) == 50
    older = await store.thread_page(
        contact_id, before=ThreadCursor(newest[0].sent_at, newest[0].id), limit=50
    )
    assert older[-1].sent_at < newest[0].sent_at
    assert {m.kind for m in newest} == {ChannelKind.EMAIL, ChannelKind.SMS}


async def test_contacts_page_by_last_activity(store: Store) -> None:
    await store.ingest([mail(str(i), f"c{i}@x.jp", "hi", float(i), f"C{i}") for i in range(30)])
    page1 = await store.list_contacts(limit=10)
    assert [c.name for c in page1[:3]] == ["C29", "C28", "C27"]
    page2 = await store.list_contacts(limit=10, after=(page1[-1].last_activity, page1[-1].id))
    assert page2[0].name == "C19"


async def test_search_finds_japanese_substrings_and_words_newest_first(store: Store) -> None:
    await store.ingest(
        [
            mail("1", "a@x.jp", "ご予約ありがとうございます", 1.0, "田中"),
            mail("2", "b@x.jp", "Your order is ready for delivery", 2.0, "Emma"),
            mail("3", "c@x.jp", "予約を変更したいです", 3.0, "佐藤"),
            mail("4", "d@x.jp", '\'; DROP TABLE message; -- "quoted"', 4.0, "Mallory"),
        ]
    )
    texts = [h.snippet for h in await store.search("予約") if h.message_id]
    assert texts == ["予約を変更したいです", "ご予約ありがとうございます"]
    assert len([h for h in await store.search("約") if h.message_id]) == 2
    assert [h.contact_name for h in await store.search("deliv") if h.message_id] == ["Emma"]
    assert [h.contact_name for h in await store.search("田中") if h.message_id is None] == ["田中"]
    hostile = await store.search("'; DROP TABLE message; --")
    assert any(h.contact_name == "Mallory" for h in hostile)
    assert await store.count_contacts() == 4


async def test_a_common_search_finds_the_newest_matches_and_a_rare_one_the_old_ones(
    store: Store,
) -> None:
    # Enough matches that the newest are found by walking newest first.
    texts = []
    for n in range(1500):
        if n % 3 == 0:
            texts.append(f"ご予約 {n} ありがとうございます")
        elif n % 3 == 1:
            texts.append(f"予 約 {n}: 予と約が離れている")  # both bigram parts, never 予約
        else:
            texts.append(f"bouquet {n} for delivery")
    texts[7] = "chrysanthemum bouquet 7"  # one rare word, long ago
    await store.ingest(
        [mail(f"p{n}", f"c{n % 40}@x.jp", text, float(n)) for n, text in enumerate(texts)]
    )
    found = [h for h in await store.search("予約", limit=50) if h.message_id]
    assert len(found) == 50
    assert all("ご予約" in h.snippet for h in found)
    assert [h.sent_at for h in found] == [float(n) for n in range(1497, 1497 - 150, -3)]
    bouquets = [h.sent_at for h in await store.search("bouq", limit=20) if h.message_id]
    assert bouquets == [float(n) for n in range(1499, 1499 - 60, -3)]
    [rare] = [h for h in await store.search("chrysanthemum") if h.message_id]
    assert rare.sent_at == 7.0
    assert await store.search_count("予約") == (0, 500)
    assert await store.search_count("ありがとう") == (0, 500)


async def test_reply_goes_queued_sending_sent_delivered(store: Store) -> None:
    got = await store.ingest([mail("1", "a@x.jp", "hi", 1.0)])
    cid = got[0].contact_id
    mid = await store.enqueue_reply(cid, MAIL, "thanks", subject="Re: hi", author="Aiko")
    jobs = await store.claim_due(["shop-mail"])
    assert [(j.message_id, j.address) for j in jobs] == [(mid, "a@x.jp")]
    assert await store.claim_due(["shop-mail"]) == []  # claimed once only
    await store.mark_sent(mid, "prov-1")
    await store.apply_delivery(DeliveryUpdate(MAIL, "prov-1", Delivery.DELIVERED))
    await store.apply_delivery(DeliveryUpdate(MAIL, "prov-1", Delivery.SENT))  # late, ignored
    last = (await store.thread_page(cid))[-1]
    assert (last.direction, last.status, last.author) == (Direction.OUT, Delivery.DELIVERED, "Aiko")


async def test_a_reply_interrupted_mid_send_is_never_resent_on_its_own(store: Store) -> None:
    got = await store.ingest([mail("1", "a@x.jp", "hi", 1.0)])
    mid = await store.enqueue_reply(got[0].contact_id, MAIL, "thanks")
    await store.claim_due(["shop-mail"])
    assert await store.recover_interrupted(["shop-mail"]) == 1
    assert await store.claim_due(["shop-mail"]) == []
    last = (await store.thread_page(got[0].contact_id))[-1]
    assert last.status is Delivery.UNKNOWN and "may or may not" in last.status_reason
    await store.retry(mid)
    assert [j.message_id for j in await store.claim_due(["shop-mail"])] == [mid]


async def test_reply_needs_an_address_on_that_channel(store: Store) -> None:
    got = await store.ingest([mail("1", "a@x.jp", "hi", 1.0)])
    with pytest.raises(StoreError, match="no sms address"):
        await store.enqueue_reply(got[0].contact_id, SMS, "hello")
    with pytest.raises(StoreError, match="empty"):
        await store.enqueue_reply(got[0].contact_id, MAIL, "  ")


async def test_merge_and_undo_leave_every_message_where_it_was(store: Store) -> None:
    a = (await store.ingest([mail("1", "a@x.jp", "from mail", 1.0, "Aiko")]))[0].contact_id
    b = (await store.ingest([Inbound(BOT, "9", "777", "aiko_t", "from telegram", 2.0)]))[
        0
    ].contact_id
    record = await store.merge(b, a)
    merged = await store.thread_page(a)
    assert [m.text for m in merged] == ["from mail", "from telegram"]
    assert await store.count_contacts() == 1
    summary = await store.contact_summary(a)
    assert summary is not None and summary.channels == {ChannelKind.EMAIL, ChannelKind.TELEGRAM}
    await store.undo_merge(record)
    assert [m.text for m in await store.thread_page(a)] == ["from mail"]
    assert [m.text for m in await store.thread_page(b)] == ["from telegram"]
    assert await store.count_contacts() == 2
    with pytest.raises(StoreError):
        await store.undo_merge(record)


async def test_a_merge_keeps_the_chosen_values_and_the_losing_ones_as_history(
    store: Store,
) -> None:
    a = (await store.ingest([mail("1", "hanako@x.jp", "from mail", 1.0, "佐藤 花子")]))[
        0
    ].contact_id
    b = (await store.ingest([Inbound(BOT, "9", "777", "Hanako S", "from telegram", 2.0)]))[
        0
    ].contact_id
    await store.update_contact(
        a, first_name="花子", profile={"company": "Sakura Ltd", "notes": "VIP"}, tags=["vip"]
    )
    await store.update_contact(
        b, language="ja", profile={"company": "Sakura K.K.", "order_id": "A-77"}, tags=["wedding"]
    )
    plan = await store.merge_plan(b, a)
    assert {(c.label, c.kept, c.incoming) for c in plan.conflicts()} == {
        ("name", "佐藤 花子", "Hanako S"),
        ("company", "Sakura Ltd", "Sakura K.K."),
    }
    record = await store.merge(b, a, incoming_wins={"field:company"})
    merged = await store.get_contact(a)
    assert merged.name == "佐藤 花子"  # the kept contact's name wins by default
    assert merged.first_name == "花子" and merged.language == "ja"  # an empty value is filled
    assert dict(merged.profile) == {"company": "Sakura K.K.", "notes": "VIP", "order_id": "A-77"}
    assert merged.tags == ("vip", "wedding")
    history = {(h.field, h.value, h.source_name) for h in await store.field_history(a)}
    assert history == {("name", "Hanako S", "Hanako S"), ("company", "Sakura Ltd", "佐藤 花子")}

    await store.update_contact(a, profile={**merged.profile, "notes": "VIP, prefers roses"})
    await store.undo_merge(record)
    back = await store.get_contact(a)
    assert back.name == "佐藤 花子" and back.language == ""
    # What the merge set goes back; what an agent edited since stays.
    assert dict(back.profile) == {"company": "Sakura Ltd", "notes": "VIP, prefers roses"}
    assert back.tags == ("vip",)
    assert await store.field_history(a) == []
    other = await store.get_contact(b)
    assert other.name == "Hanako S" and dict(other.profile)["company"] == "Sakura K.K."


async def test_a_tag_is_a_view_and_travels_only_as_a_parameter(store: Store) -> None:
    from omnitui.domain.views import TagView, View

    a = (await store.ingest([mail("1", "a@x.jp", "one", 1.0, "Aiko")]))[0].contact_id
    b = (await store.ingest([mail("2", "b@x.jp", "two", 2.0, "Ben")]))[0].contact_id
    await store.update_contact(a, tags=["vip", "x' OR 1=1 --"])
    await store.update_contact(b, tags=["vip"])
    counts = await store.view_counts()
    assert counts[View.ALL] == 2
    assert counts[TagView("vip")] == 2 and counts[TagView("x' OR 1=1 --")] == 1
    odd = await store.list_contacts(view=TagView("x' OR 1=1 --"))
    assert [c.id for c in odd] == [a]
    assert await store.list_contacts(view=TagView("none")) == []
    page = await store.list_contacts(view=TagView("vip"), limit=1)
    rest = await store.list_contacts(view=TagView("vip"), after=(page[0].last_activity, page[0].id))
    assert [c.id for c in page + rest] == [b, a]


async def test_the_same_address_on_two_accounts_is_one_customer_a_name_alone_never(
    store: Store,
) -> None:
    mail2 = Channel(ChannelKind.EMAIL, "shop-mail-2")
    sms2 = Channel(ChannelKind.SMS, "shop-sms-2")
    got = await store.ingest(
        [
            mail("1", "Aiko Tanaka <AIKO@Example.com>", "to the shop", 1.0),
            Inbound(mail2, "2", "aiko@example.com", "Aiko Tanaka", "to the workshop", 2.0),
            Inbound(SMS, "s1", "+819012345678", "", "text one", 3.0),
            Inbound(sms2, "s2", "+81 90-1234-5678", "", "text two", 4.0),
            mail("3", "Aiko Tanaka <aiko.t@other.example>", "another Aiko", 5.0),
        ]
    )
    aiko, sms_aiko, namesake = got[0].contact_id, got[2].contact_id, got[4].contact_id
    assert got[1].contact_id == aiko  # same normalised email on another mailbox
    assert got[3].contact_id == sms_aiko  # same E.164 number on another SMS account
    # The same name with another address stays a contact of its own.
    assert len({aiko, sms_aiko, namesake}) == 3
    assert await store.count_contacts() == 3
    assert [m.text for m in await store.thread_page(aiko)] == ["to the shop", "to the workshop"]


async def test_a_new_message_reopens_a_resolved_thread(store: Store) -> None:
    cid = (await store.ingest([mail("1", "a@x.jp", "hi", 1.0)]))[0].contact_id
    await store.set_status(cid, ThreadStatus.RESOLVED)
    await store.ingest([mail("2", "a@x.jp", "one more thing", 2.0)])
    assert (await store.get_contact(cid)).status is ThreadStatus.OPEN


async def test_snoozed_threads_wake_up(open_store: StoreOpener) -> None:
    now = [1000.0]
    store = await open_store("s.db", clock=lambda: now[0])
    cid = (await store.ingest([mail("1", "a@x.jp", "hi", 1.0)]))[0].contact_id
    await store.set_status(cid, ThreadStatus.SNOOZED, 1060.0)
    assert await store.wake_snoozed() == []
    now[0] = 1061.0
    assert await store.wake_snoozed() == [cid]
    assert (await store.get_contact(cid)).status is ThreadStatus.OPEN


async def test_two_processes_on_one_store_see_each_others_changes(
    open_store: StoreOpener,
) -> None:
    one = await open_store("shared.db")
    two = await open_store("shared.db")
    mark = await two.last_change_id()
    got = await one.ingest([mail("1", "a@x.jp", "hi", time.time())])
    batch = await two.changes_since(mark)
    assert got[0].contact_id in batch.contact_ids and "inbound" in batch.kinds
    assert (await two.list_contacts())[0].id == got[0].contact_id


async def test_create_contact_refuses_an_identity_that_belongs_to_another(store: Store) -> None:
    await store.create_contact("Aiko", [(IdentityKind.PHONE, "090-1234-5678")], region="JP")
    with pytest.raises(StoreError, match="already belongs"):
        await store.create_contact("Other", [(IdentityKind.PHONE, "+819012345678")])


async def test_an_old_store_is_migrated_and_its_messages_become_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade(path, "0001")
    assert current_revision(path) == "0001"
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO contact(id, name, first_name, language, profile, status, tags, unread, "
        "last_activity, last_preview, channels, created_at) "
        "VALUES (1, 'Old', '', '', '{}', 'open', '[]', 0, 1, '', 'email', 1)"
    )
    conn.execute(
        "INSERT INTO message(contact_id, account, kind, direction, subject, text, meta, sent_at, "
        "created_at, status, status_reason, attempts, edited, parse_error) "
        "VALUES (1, 'm', 'email', 'in', '', '古い予約のメール', '{}', 1, 1, 'received', '', 0, 0, '')"
    )
    conn.commit()
    conn.close()
    store = await Store.open(path)
    try:
        assert current_revision(path) == HEAD
        assert [h.snippet for h in await store.search("予約") if h.message_id] == [
            "古い予約のメール"
        ]
    finally:
        await store.close()


def test_head_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from omnitui.store.migrate import alembic_config

    config = alembic_config(Path("unused.db"))
    assert isinstance(config, Config)
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


async def test_the_schema_matches_the_table_declarations(
    open_store: StoreOpener, backend: str
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import omnitui.store.tables  # noqa: F401
    from omnitui.store.migrate import sqlalchemy_url
    from omnitui.store.migrations_filter import include_name

    store = await open_store()
    url = (
        sqlalchemy_url(open_store.url(), PG_PASSWORD)
        if backend == "postgresql"
        else f"sqlite:///{store.path}"
    )
    engine = create_engine(url)  # type: ignore[call-overload]
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


async def test_split_identity_and_undo_put_messages_back(store: Store) -> None:
    a = (await store.ingest([mail("1", "a@x.jp", "from mail", 1.0, "Aiko")]))[0].contact_id
    b = (await store.ingest([Inbound(SMS, "s1", "+819012345678", "", "from sms", 2.0)]))[
        0
    ].contact_id
    await store.merge(b, a)
    await store.enqueue_reply(a, SMS, "reply by sms")
    phone = next(i for i in (await store.get_contact(a)).identities if i.kind is IdentityKind.PHONE)
    new = await store.split_identity(phone.id, agent="Aiko")
    assert [m.text for m in await store.thread_page(a)] == ["from mail"]
    assert [m.text for m in await store.thread_page(new)] == ["from sms", "reply by sms"]
    assert await store.count_contacts() == 2
    record = await store.last_merge_into(a)
    assert record is not None
    await store.undo_merge(record)
    assert [m.text for m in await store.thread_page(a)] == ["from mail", "from sms", "reply by sms"]
    assert await store.count_contacts() == 1
    await store.split_identity(phone.id)
    email = next(i for i in (await store.get_contact(a)).identities if i.kind is IdentityKind.EMAIL)
    with pytest.raises(StoreError, match="only identity"):
        await store.split_identity(email.id)  # a contact keeps at least one identity


async def test_a_canned_shortcut_is_unique_per_language(store: Store) -> None:
    from omnitui.domain.models import CannedReply

    first = await store.save_canned_reply(CannedReply(0, "/hours", "Hours", "10-19", "en"))
    await store.save_canned_reply(CannedReply(0, "hours", "営業時間", "10時〜19時", "ja"))
    with pytest.raises(StoreError, match="/hours already exists for language en"):
        await store.save_canned_reply(CannedReply(0, "hours", "again", "x", "en"))
    await store.save_canned_reply(CannedReply(first, "hours", "Opening hours", "10:00-19:00", "en"))
    assert [(r.language, r.title) for r in await store.canned_replies()] == [
        ("en", "Opening hours"),
        ("ja", "営業時間"),
    ]


async def test_a_bounded_write_waits_on_its_own_and_no_longer_than_it_was_given(
    open_store: StoreOpener,
) -> None:
    store = await open_store()
    holder = hold_write_lock(open_store)  # another process holds the write lock
    try:
        # An ordinary write now waits for the lock on the writer thread...
        blocked = asyncio.create_task(store.set_channel_problem("shop-mail", "login refused"))
        await asyncio.sleep(0.2)
        # ...and a bounded one neither queues behind it nor waits past its time.
        started = time.monotonic()
        with pytest.raises(StoreBusy, match="busy"):
            await store.ingest([Inbound(SMS, "SM1", "+819012345678", "", "hi", 1.0)], within=1.0)
        assert 0.9 < time.monotonic() - started < 3.0
        assert not blocked.done()
        holder.release()
        [result] = await store.ingest(
            [Inbound(SMS, "SM1", "+819012345678", "", "hi", 1.0)], within=5.0
        )
        assert result.created
        await asyncio.wait_for(blocked, 5)
    finally:
        holder.close()
    assert await store.channel_problems() == {"shop-mail": "login refused"}
    assert await store.known_provider_ids("shop-sms", ["SM1", "SM2"]) == {"SM1"}


async def test_an_opt_out_is_stored_with_its_message_and_an_old_one_never_overrules_a_newer(
    store: Store,
) -> None:
    emma = "+819012345678"
    stop = Inbound(SMS, "SM1", emma, "", "STOP", 1.0, opt_out=True)
    start = Inbound(SMS, "SM2", emma, "", "START", 2.0, opt_out=False)
    [first] = await store.ingest([stop])
    assert (await store.get_contact(first.contact_id)).identities[0].opted_out
    await store.ingest([start])
    await store.ingest([stop])  # the STOP listed again later (a catch-up, a resend)
    contact = await store.get_contact(first.contact_id)
    assert not contact.identities[0].opted_out
    assert [m.text for m in await store.thread_page(contact.id)] == ["STOP", "START"]


async def test_a_reply_whose_provider_id_is_already_taken_is_still_recorded_as_sent(
    store: Store,
) -> None:
    """A provider that hands back an id the account already used must not leave the
    reply `sending` (the hub would retry recording it forever, holding up the rest)."""
    got = await store.ingest([Inbound(SMS, "SM-dup", "+819012345678", "", "hi", 1.0)])
    message_id = await store.enqueue_reply(got[0].contact_id, SMS, "hello")
    [job] = await store.claim_due([SMS.account])
    assert job.message_id == message_id
    await store.mark_sent(message_id, "SM-dup")
    [_, reply] = await store.thread_page(got[0].contact_id)
    assert reply.status is Delivery.SENT
