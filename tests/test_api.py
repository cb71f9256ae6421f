"""The local HTTP API, as a shop's script or CRM uses it.

A real HTTP client (aiohttp) talks to the API on loopback or on a unix
socket; every request it sends and every answer it gets is checked against
the API's own `/openapi.json` with openapi-core (a request a test sends wrong
on purpose must be one the description itself refuses). The store is real,
on SQLite and PostgreSQL; a message posted through the API goes out through
the real channel runner to the Telegram Bot API peer, in `omnitui serve` and
in a console that runs the channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from omnitui.adapters.api import AT_ONCE, ROUTES, LocalApi
from omnitui.app import OmniApp
from omnitui.config import ApiConfig, HostPort
from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Delivery,
    Direction,
    IdentityKind,
    Inbound,
    ThreadStatus,
)
from omnitui.hub import Hub
from omnitui.store import Store
from tests.peers.dovecot import free_port
from tests.peers.telegram_api import BotApiPeer, Customer
from tests.pilot_steps import open_customer
from tests.serve import ServeCommand
from tests.test_console import inbox
from tests.test_telegram import FAST, adapter_for
from tests.test_telegram import TOKEN_ENV as TELEGRAM_TOKEN_ENV
from tests.waiting import wait_until

pytestmark = pytest.mark.backends

TOKEN_ENV = "OMNITUI_TEST_API_TOKEN"
API_TOKEN = "api-7Qz-secret-token-do-not-log"
API_NAME = "Shop CRM"
MAIL = Channel(ChannelKind.EMAIL, "shop-mail")
BOT = Channel(ChannelKind.TELEGRAM, "shop-bot")
SMS = Channel(ChannelKind.SMS, "shop-sms")
CHANNELS = (MAIL, BOT, SMS)
LONG = 60.0
MISAKI = Customer(4_700_001, "美咲", last_name="田中", language_code="ja")


# -- the client, checked against the API's own description --------------------------------


class _SpecRequest:
    """A request as openapi-core reads one."""

    def __init__(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = "http://localhost"
        self.path = path
        self.method = method.lower()
        self.body = body
        self.content_type = headers.get("Content-Type", "") if body is not None else ""
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query)),
            header=Headers(list(headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _SpecResponse:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.content_type = headers.get("Content-Type", "").split(";")[0]
        self.headers = Headers(list(headers.items()))
        self.data = body


@dataclass
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]


@dataclass
class ApiClient:
    """An aiohttp client of the API; what leaves the description goes into `violations`."""

    session: aiohttp.ClientSession
    base: str
    token: str = API_TOKEN
    spec: Any = None
    violations: list[str] = field(default_factory=list)

    async def load_spec(self) -> dict[str, Any]:
        from openapi_core import OpenAPI

        answer = await self.call("GET", "/openapi.json", check=None)
        assert answer.status == 200, answer
        self.spec = OpenAPI.from_dict(answer.body)  # checks the document itself, too
        return dict(answer.body)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = "",
        check: bool | None = True,
        described: bool = True,
    ) -> Answer:
        """Send a request. `check`: True, the description must take the request;
        False, it must refuse it (a test's bad input); None, the request is not
        judged. The answer is always checked against the description, unless
        the operation is not in it (`described=False`: an unknown path or method)."""
        sent: dict[str, str] = dict(headers or {})
        given = self.token if token == "" else token
        if given is not None:
            sent.setdefault("Authorization", f"Bearer {given}")
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        query = [(k, str(v)) for k, v in (params or {}).items()]
        async with self.session.request(
            method, self.base + path, params=query, data=data, headers=sent
        ) as response:
            got = await response.read()
            status, answer_headers = response.status, dict(response.headers)
        where = f"{method} {path}"
        request = _SpecRequest(method, path, query, sent, data)
        if self.spec is not None and described:
            refused: Exception | None = None
            try:
                self.spec.validate_request(request)
            except Exception as exc:
                refused = exc
            if check is True and refused is not None:
                self.violations.append(f"{where}: request: {str(refused)[:300]}")
            if check is False and refused is None:
                self.violations.append(f"{where}: the description takes a request sent as bad")
            try:
                self.spec.validate_response(request, _SpecResponse(status, answer_headers, got))
            except Exception as exc:
                self.violations.append(f"{where} -> {status}: response: {str(exc)[:300]}")
        assert answer_headers.get("Content-Type", "").startswith("application/json"), (where, got)
        return Answer(status, json.loads(got), answer_headers)


@contextlib.asynccontextmanager
async def serving(
    store: Store, *, listen: HostPort | str | None = None, **options: Any
) -> AsyncIterator[LocalApi]:
    """The API on `store`, as the channel runner runs it (a service task)."""
    config = ApiConfig(
        listen=listen or HostPort("127.0.0.1", free_port()), token_env=TOKEN_ENV, name=API_NAME
    )
    api = LocalApi(config, store, channels=CHANNELS, shop="Sakura Flowers", **options)
    task = asyncio.create_task(api.run())
    try:
        await wait_until(lambda: api.listening.is_set() or task.done(), 10, "the API listening")
        yield api
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def client_of(api: LocalApi) -> AsyncIterator[ApiClient]:
    socket_path = api.config.socket
    if socket_path is not None:
        connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=str(socket_path))
        base = "http://localhost"
    else:
        connector = aiohttp.TCPConnector()
        base = f"http://{api.config.listen}"
    async with aiohttp.ClientSession(connector=connector) as session:
        client = ApiClient(session, base)
        await client.load_spec()
        yield client
    assert not client.violations, "\n".join(client.violations)


@pytest.fixture(autouse=True)
def api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, API_TOKEN)


@pytest.fixture
async def client(store: Store) -> AsyncIterator[ApiClient]:
    async with serving(store) as api, client_of(api) as c:
        yield c


@dataclass(frozen=True)
class Shop:
    hanako: int
    ken: int
    yui: int


async def customers(store: Store) -> Shop:
    """Three customers: Hanako by email, Ken on Telegram, Yui by SMS (the newest)."""
    now = time.time()
    got = await store.ingest(
        [
            Inbound(
                MAIL,
                "<h1@x>",
                "hanako@example.jp",
                "山田 花子",
                "返品できますか？",
                now - 300,
                subject="注文について",
            ),
            Inbound(BOT, "t1", "4200001", "Ken Sato", "Where is my order #123456?", now - 200),
            Inbound(SMS, "s1", "+819011112222", "Yui Abe", "予約の確認をお願いします", now - 100),
        ]
    )
    return Shop(*(g.contact_id for g in got))


def ids(answer: Answer) -> list[int]:
    return [item["id"] for item in answer.body["items"]]


# -- the token -----------------------------------------------------------------------------


async def test_nothing_is_answered_without_the_token_not_even_the_description_or_a_wrong_path(
    store: Store, client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await customers(store)
    caplog.set_level(logging.INFO)
    attempts: list[tuple[str, str, str | None, Mapping[str, str] | None]] = [
        ("GET", "/openapi.json", None, None),
        ("GET", "/contacts", None, None),
        ("GET", "/contacts", "wrong", None),
        ("GET", "/contacts", API_TOKEN[:-1], None),  # almost the token
        ("GET", "/contacts", API_TOKEN + "x", None),
        ("GET", f"/contacts/{shop.ken}", None, {"Authorization": f"Basic {API_TOKEN}"}),
        ("GET", "/no/such/path", None, None),
        ("DELETE", f"/contacts/{shop.ken}", None, None),
    ]
    for method, path, token, headers in attempts:
        described = path != "/no/such/path" and method != "DELETE"
        answer = await client.call(
            method, path, token=token, headers=headers, check=None, described=described
        )
        assert answer.status == 401, (method, path, answer)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "bearer token" in answer.body["error"]
        assert "山田" not in json.dumps(answer.body) and "Ken" not in json.dumps(answer.body)
    # POSTed without the token: nothing is queued.
    answer = await client.call(
        "POST", f"/contacts/{shop.ken}/messages", body={"text": "hi"}, token=None, check=False
    )
    assert answer.status == 401
    assert [m.text for m in await store.thread_page(shop.ken)] == ["Where is my order #123456?"]
    assert API_TOKEN not in caplog.text
    # With the token, the same reads are answered.
    assert (await client.call("GET", f"/contacts/{shop.ken}")).body["name"] == "Ken Sato"


async def test_without_a_token_the_api_does_not_start_and_the_log_says_why(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    port = free_port()
    api = LocalApi(ApiConfig(listen=HostPort("127.0.0.1", port), token_env=TOKEN_ENV), store)
    with caplog.at_level(logging.ERROR, logger="omnitui.api"):
        await asyncio.wait_for(api.run(), 10)  # returns: the hub does not restart it
    assert f"the local API is not started: [api] token: environment variable {TOKEN_ENV}" in (
        caplog.text
    )
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


# -- the description -----------------------------------------------------------------------


async def test_the_description_is_openapi_3_1_made_from_the_models_with_every_error(
    store: Store, client: ApiClient
) -> None:
    from pydantic.json_schema import models_json_schema

    from omnitui.domain import wire

    document = await client.load_spec()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert document["security"] == [{"bearer": []}]
    # The schemas are pydantic's own for the wire models, not written by hand.
    _, made = models_json_schema(
        [(wire.MessageIn, "validation"), (wire.ContactOut, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    for name in ("MessageIn", "ContactOut", "IdentityOut"):
        assert document["components"]["schemas"][name] == made["$defs"][name]
    send = document["paths"]["/contacts/{id}/messages"]["post"]
    assert send["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessageIn"
    }
    assert set(send["responses"]) == {"202", "400", "401", "404", "408", "409", "413", "422", "503"}
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        error = operation["responses"]["401"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorOut"}
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    listed = document["paths"]["/contacts"]["get"]["parameters"]
    assert [p["name"] for p in listed] == ["q", "tag", "status", "assignee", "limit", "after"]


# -- reading customers ---------------------------------------------------------------------


async def test_contacts_are_found_by_name_address_and_what_they_wrote_like_the_console_search(
    store: Store, client: ApiClient
) -> None:
    shop = await customers(store)
    assert ids(await client.call("GET", "/contacts", params={"q": "山田"})) == [shop.hanako]
    assert ids(await client.call("GET", "/contacts", params={"q": "hanako@example"})) == [
        shop.hanako
    ]
    assert ids(await client.call("GET", "/contacts", params={"q": "819011112222"})) == [shop.yui]
    assert ids(await client.call("GET", "/contacts", params={"q": "返品"})) == [shop.hanako]
    assert ids(await client.call("GET", "/contacts", params={"q": "order"})) == [shop.ken]
    assert ids(await client.call("GET", "/contacts", params={"q": "nothing-like-this"})) == []
    found = (await client.call("GET", "/contacts", params={"q": "Ken"})).body["items"][0]
    assert found["name"] == "Ken Sato" and found["status"] == "open"
    assert found["identities"] == [
        {"kind": "telegram", "address": "4200001", "display": "Ken Sato", "opted_out": False}
    ]
    assert found["last_channel"] == "shop-bot"
    # Without q: by last activity, newest first, a page at a time.
    everyone = await client.call("GET", "/contacts")
    assert ids(everyone) == [shop.yui, shop.ken, shop.hanako] and everyone.body["next"] is None
    first = await client.call("GET", "/contacts", params={"limit": 2})
    assert ids(first) == [shop.yui, shop.ken] and first.body["next"]
    rest = await client.call("GET", "/contacts", params={"limit": 2, "after": first.body["next"]})
    assert ids(rest) == [shop.hanako] and rest.body["next"] is None
    # Filters: a tag, a status, an assignee; with q too.
    await store.update_contact(shop.hanako, tags=["vip"])
    await store.update_contact(shop.ken, tags=["vip", "wholesale"])
    await store.set_status(shop.ken, ThreadStatus.RESOLVED)
    await store.set_assignee(shop.yui, "Aiko")
    assert ids(await client.call("GET", "/contacts", params={"tag": "vip"})) == [
        shop.ken,
        shop.hanako,
    ]
    assert ids(await client.call("GET", "/contacts", params={"status": "resolved"})) == [shop.ken]
    assert ids(await client.call("GET", "/contacts", params={"assignee": "Aiko"})) == [shop.yui]
    assert ids(await client.call("GET", "/contacts", params={"tag": "vip", "status": "open"})) == [
        shop.hanako
    ]
    assert ids(await client.call("GET", "/contacts", params={"q": "order", "tag": "vip"})) == [
        shop.ken
    ]
    assert ids(await client.call("GET", "/contacts", params={"q": "order", "status": "open"})) == []
    # A filtered list has pages too.
    page = await client.call("GET", "/contacts", params={"status": "open", "limit": 1})
    assert ids(page) == [shop.yui] and page.body["next"]
    page = await client.call(
        "GET", "/contacts", params={"status": "open", "limit": 1, "after": page.body["next"]}
    )
    assert ids(page) == [shop.hanako] and page.body["next"] is None


async def test_a_merged_away_customer_answers_as_the_one_they_were_merged_into(
    store: Store, client: ApiClient
) -> None:
    shop = await customers(store)
    await store.merge(shop.yui, shop.hanako)
    answer = await client.call("GET", f"/contacts/{shop.yui}")
    assert answer.status == 200 and answer.body["id"] == shop.hanako
    assert {i["kind"] for i in answer.body["identities"]} == {"email", "phone"}
    thread = await client.call("GET", f"/contacts/{shop.yui}/messages")
    assert [m["text"] for m in thread.body["items"]] == [
        "予約の確認をお願いします",
        "返品できますか？",
    ]
    assert shop.yui not in ids(await client.call("GET", "/contacts"))
    missing = await client.call("GET", "/contacts/999999")
    assert missing.status == 404 and missing.body["error"] == "no contact 999999"


async def test_a_thread_is_read_newest_first_a_page_at_a_time(
    store: Store, client: ApiClient
) -> None:
    now = time.time()
    got = await store.ingest(
        [Inbound(BOT, f"m{n}", "4200009", "Emi", f"message {n}", now - 100 + n) for n in range(5)]
    )
    contact = got[0].contact_id
    first = await client.call("GET", f"/contacts/{contact}/messages", params={"limit": 2})
    assert [m["text"] for m in first.body["items"]] == ["message 4", "message 3"]
    assert first.body["items"][0]["direction"] == "in"
    assert first.body["items"][0]["status"] == "received"
    assert first.body["items"][0]["channel"] == "telegram"
    assert first.body["items"][0]["account"] == "shop-bot"
    second = await client.call(
        "GET", f"/contacts/{contact}/messages", params={"limit": 2, "before": first.body["next"]}
    )
    assert [m["text"] for m in second.body["items"]] == ["message 2", "message 1"]
    last = await client.call(
        "GET", f"/contacts/{contact}/messages", params={"limit": 2, "before": second.body["next"]}
    )
    assert [m["text"] for m in last.body["items"]] == ["message 0"] and last.body["next"] is None
    one = await client.call("GET", f"/messages/{first.body['items'][1]['id']}")
    assert one.body["text"] == "message 3"
    assert (await client.call("GET", "/messages/999999")).status == 404


async def test_search_tags_and_channels(store: Store, client: ApiClient) -> None:
    shop = await customers(store)
    await store.update_contact(shop.hanako, tags=["vip"])
    await store.update_contact(shop.ken, tags=["vip", "wholesale"])
    await store.add_note(shop.ken, "order #123456 shipped by courier", author="Aiko")
    found = await client.call("GET", "/search", params={"q": "order"})
    hits = found.body["items"]
    assert [(h["contact_id"], h["note"]) for h in hits if h["message_id"]] == [
        (shop.ken, True),
        (shop.ken, False),
    ]
    assert "#123456" in hits[-1]["snippet"] and hits[-1]["channel"] == "telegram"
    japanese = (await client.call("GET", "/search", params={"q": "予約"})).body["items"]
    assert [h["contact_id"] for h in japanese] == [shop.yui]
    tags = await client.call("GET", "/tags")
    assert tags.body == {
        "items": [{"tag": "vip", "contacts": 2}, {"tag": "wholesale", "contacts": 1}]
    }
    channels = await client.call("GET", "/channels")
    assert channels.body["items"] == [
        {"name": "shop-mail", "kind": "email"},
        {"name": "shop-bot", "kind": "telegram"},
        {"name": "shop-sms", "kind": "sms"},
    ]


# -- changing customers --------------------------------------------------------------------


async def test_a_patch_changes_the_customer_through_the_consoles_own_writes(
    store: Store, client: ApiClient
) -> None:
    shop = await customers(store)
    await store.update_contact(shop.ken, tags=["vip"], profile={"company": "Sato Ltd"})
    seen = await store.last_change_id()
    answer = await client.call(
        "PATCH",
        f"/contacts/{shop.ken}",
        body={
            "name": "Ken Sato (Sato Ltd)",
            "language": "en",
            "profile": {"order_id": "123456", "company": None},
            "add_tags": ["wholesale"],
            "remove_tags": ["vip"],
            "assignee": "Aiko",
        },
    )
    assert answer.status == 200, answer
    assert answer.body["name"] == "Ken Sato (Sato Ltd)" and answer.body["language"] == "en"
    assert answer.body["profile"] == {"order_id": "123456"}
    assert answer.body["tags"] == ["wholesale"] and answer.body["assignee"] == "Aiko"
    ken = await store.get_contact(shop.ken)
    assert ken.profile == {"order_id": "123456"} and ken.tags == ("wholesale",)
    assert ken.assignee == "Aiko"
    # Every console, rule and webhook follows the change log: the changes are in it.
    changed = await store.changes_since(seen)
    assert {ChangeKind.CONTACT, ChangeKind.ASSIGN} <= changed.kinds
    assert changed.contact_ids == {shop.ken}

    until = "2030-01-02T03:04:05Z"
    snoozed = await client.call(
        "PATCH",
        f"/contacts/{shop.ken}",
        body={"status": "snoozed", "snoozed_until": until, "tags": ["vip", "vip", "b2b"]},
    )
    assert snoozed.body["status"] == "snoozed"
    assert snoozed.body["snoozed_until"].startswith("2030-01-02T03:04:05")
    assert snoozed.body["tags"] == ["vip", "b2b"]
    resolved = await client.call(
        "PATCH", f"/contacts/{shop.ken}", body={"status": "resolved", "assignee": None}
    )
    assert resolved.body["status"] == "resolved" and resolved.body["assignee"] is None
    ken = await store.get_contact(shop.ken)
    assert ken.status is ThreadStatus.RESOLVED and ken.assignee is None
    # What a PATCH cannot say: a 422 naming the field, and nothing changes.
    for body, named in (
        ({"status": "snoozed"}, "snoozed_until"),
        ({"status": "snoozed", "snoozed_until": "2001-01-01T00:00:00Z"}, "snoozed_until"),
        ({"snoozed_until": until}, "snoozed_until"),
        ({"tags": ["a"], "add_tags": ["b"]}, "tags"),
        ({"status": "closed"}, "status"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"tags": [""]}, "tags.0"),
        ({"colour": "red"}, "colour"),
    ):
        expected_check = named in ("status", "tags.0", "colour") or body == {"name": ""}
        refused = await client.call(
            "PATCH", f"/contacts/{shop.ken}", body=body, check=not expected_check
        )
        assert refused.status == 422, (body, refused)
        assert refused.body["field"] == named and refused.body["error"].startswith(named)
    assert await store.get_contact(shop.ken) == ken


# -- sending -------------------------------------------------------------------------------


async def test_a_message_is_queued_on_the_customers_last_channel_like_an_agents_reply(
    store: Store, client: ApiClient
) -> None:
    shop = await customers(store)
    await store.merge(shop.yui, shop.hanako)  # Hanako: email, then SMS (her last)
    answer = await client.call(
        "POST", f"/contacts/{shop.hanako}/messages", body={"text": "  明日お届けします。  "}
    )
    assert answer.status == 202, answer
    sent = answer.body
    assert sent["status"] == "queued" and sent["direction"] == "out"
    assert sent["author"] == API_NAME and sent["text"] == "明日お届けします。"
    assert (sent["channel"], sent["account"]) == ("sms", "shop-sms")
    # In the outbox exactly as a reply: the runner claims it for that account.
    claimed = await store.claim_due(["shop-sms"])
    assert [(o.message_id, o.text) for o in claimed] == [(sent["id"], "明日お届けします。")]
    # Named by kind, or by the account's name: by email, with Re: her last subject.
    by_mail = await client.call(
        "POST", f"/contacts/{shop.hanako}/messages", body={"text": "Details", "channel": "email"}
    )
    assert by_mail.body["account"] == "shop-mail" and by_mail.body["subject"] == "Re: 注文について"
    named = await client.call(
        "POST",
        f"/contacts/{shop.hanako}/messages",
        body={"text": "More", "channel": "shop-mail", "subject": "Your order"},
    )
    assert named.body["subject"] == "Your order"
    thread = await client.call("GET", f"/contacts/{shop.hanako}/messages", params={"limit": 3})
    assert [m["text"] for m in thread.body["items"]] == ["More", "Details", "明日お届けします。"]
    # The state a script polls for.
    polled = await client.call("GET", f"/messages/{sent['id']}")
    assert polled.body["status"] == "sending"


async def test_a_message_the_customer_cannot_get_is_refused_in_words_and_nothing_is_queued(
    store: Store, client: ApiClient
) -> None:
    shop = await customers(store)
    await store.set_opted_out(IdentityKind.PHONE, "+819011112222", True)
    stopped = await client.call("POST", f"/contacts/{shop.yui}/messages", body={"text": "Sale!"})
    assert stopped.status == 409
    assert stopped.body == {
        "error": "not sent: this customer opted out of SMS (they texted STOP)",
        "field": "channel",
    }
    unknown = await client.call(
        "POST", f"/contacts/{shop.ken}/messages", body={"text": "hi", "channel": "fax"}
    )
    assert unknown.status == 422 and unknown.body["field"] == "channel"
    assert "no channel 'fax' is set up" in unknown.body["error"]
    no_address = await client.call(
        "POST", f"/contacts/{shop.ken}/messages", body={"text": "hi", "channel": "sms"}
    )
    assert (
        no_address.status == 422 and no_address.body["error"] == "this customer has no sms address"
    )
    too_long = await client.call(
        "POST", f"/contacts/{shop.yui}/messages", body={"text": "あ" * 2000}
    )
    assert too_long.status == 422 and too_long.body["field"] == "text"
    for contact in (shop.yui, shop.ken):
        assert all(m.direction is Direction.IN for m in await store.thread_page(contact))
    assert await store.claim_due(["shop-sms", "shop-bot", "shop-mail"]) == []


async def test_a_note_is_added_to_the_thread_under_the_apis_name(
    store: Store, client: ApiClient
) -> None:
    shop = await customers(store)
    answer = await client.call(
        "POST", f"/contacts/{shop.ken}/notes", body={"text": "Deal #88 opened in the CRM"}
    )
    assert answer.status == 201
    assert (answer.body["direction"], answer.body["author"]) == ("note", API_NAME)
    assert (await store.thread_page(shop.ken))[-1].text == "Deal #88 opened in the CRM"


# -- bad input -----------------------------------------------------------------------------


async def test_bad_input_gets_the_right_status_and_words_and_the_log_keeps_no_token_or_body(
    store: Store, client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await customers(store)
    caplog.set_level(logging.DEBUG)
    secret_words = "私の住所は東京都港区1-2-3です"
    path = f"/contacts/{shop.ken}/messages"
    huge = await client.call(
        "POST", path, raw=b'{"text": "' + b"x" * 1_100_000 + b'"}', check=False
    )
    assert huge.status == 413 and "1,000,000 bytes" in huge.body["error"]
    not_json = await client.call("POST", path, raw=f"text={secret_words}".encode(), check=False)
    assert not_json.status == 400 and not_json.body["error"] == "the body is not JSON"
    not_utf8 = await client.call("POST", path, raw=b'{"text": "\xff\xfe"}', check=False)
    assert not_utf8.status == 400
    for body, named in (
        ({}, "text"),
        ({"text": "   "}, "text"),
        ({"text": 5}, "text"),
        ({"text": secret_words, "channel": 3}, "channel"),
        ({"text": secret_words, "cc": "boss@example.com"}, "cc"),
        (["text"], None),
    ):
        wrong = await client.call("POST", path, body=body, check=False)
        assert wrong.status == 422, (body, wrong)
        assert wrong.body["field"] == named, (body, wrong)
        assert wrong.body["error"]
    unknown = await client.call("POST", "/contacts/424242/messages", body={"text": "hi"})
    assert unknown.status == 404 and unknown.body["error"] == "no contact 424242"
    wrong_method = await client.call("DELETE", f"/contacts/{shop.ken}", described=False)
    assert wrong_method.status == 405 and "PATCH" in wrong_method.headers["Allow"]
    assert wrong_method.body["error"] == "DELETE is not answered here"
    no_path = await client.call("GET", "/customers", described=False)
    assert no_path.status == 404 and "/openapi.json" in no_path.body["error"]
    not_a_number = await client.call("GET", "/contacts/ken", described=False)
    assert not_a_number.status == 404
    bad_query = await client.call("GET", "/contacts", params={"limit": 0}, check=False)
    assert bad_query.status == 422 and bad_query.body["field"] == "limit"
    typo = await client.call("GET", "/contacts", params={"qq": "Ken"}, check=None)
    assert typo.status == 422 and typo.body["field"] == "qq"
    after_with_q = await client.call("GET", "/contacts", params={"q": "Ken", "after": "1:2"})
    assert after_with_q.status == 422 and after_with_q.body["field"] == "after"
    bad_before = await client.call(
        "GET", f"/contacts/{shop.ken}/messages", params={"before": 999999}
    )
    assert bad_before.status == 422 and bad_before.body["field"] == "before"
    assert [m.text for m in await store.thread_page(shop.ken)] == ["Where is my order #123456?"]
    assert API_TOKEN not in caplog.text and secret_words not in caplog.text
    assert f"refused POST /contacts/{shop.ken}/messages: the body is not JSON" in caplog.text


async def test_slow_clients_hold_up_nobody_and_are_cut_off(store: Store) -> None:
    shop = await customers(store)
    async with serving(store, body_seconds=5) as api, client_of(api) as client:
        assert isinstance(api.config.listen, HostPort)
        slow: list[asyncio.Task[bytes]] = []
        writers: list[asyncio.StreamWriter] = []
        for _ in range(AT_ONCE + 2):  # more than the API works on at once
            reader, writer = await asyncio.open_connection("127.0.0.1", api.config.listen.port)
            writer.write(
                (
                    f"POST /contacts/{shop.ken}/messages HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {API_TOKEN}\r\nContent-Type: application/json\r\n"
                    "Content-Length: 50\r\n\r\n{"
                ).encode()
            )
            await writer.drain()
            writers.append(writer)
            slow.append(asyncio.create_task(reader.read(4096)))
        # While those bodies never come, another script is answered.
        assert ids(await client.call("GET", "/contacts", params={"q": "Ken"})) == [shop.ken]
        assert not any(task.done() for task in slow)
        for head in await asyncio.wait_for(asyncio.gather(*slow), 30):
            assert head.startswith(b"HTTP/1.1 408"), head
            assert b"the body did not arrive within 5 s" in head
        for writer in writers:
            writer.close()
    assert [m.text for m in await store.thread_page(shop.ken)] == ["Where is my order #123456?"]


# -- a unix socket -------------------------------------------------------------------------


async def test_the_api_on_a_unix_socket_is_private_replaces_a_stale_one_and_leaves_none(
    store: Store, tmp_path: Path
) -> None:
    shop = await customers(store)
    (tmp_path / "run").mkdir()
    where = tmp_path / "run" / "api.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(where))  # a killed runner's socket: a file nobody answers on
    stale.close()
    assert where.is_socket()
    async with serving(store, listen=str(where)) as api:
        assert stat.S_IMODE(where.stat().st_mode) == 0o600
        assert [p.name for p in where.parent.iterdir()] == ["api.sock"]
        async with client_of(api) as client:
            answer = await client.call("GET", "/contacts", params={"q": "Ken"})
            assert ids(answer) == [shop.ken]
            refused = await client.call("GET", "/contacts", token="nope", check=None)
            assert refused.status == 401
        # A second API on the same socket is refused; the first keeps answering.
        second = LocalApi(ApiConfig(listen=str(where), token_env=TOKEN_ENV), store)
        with pytest.raises(OSError, match="another program already listens"):
            await second.start("x")
        assert where.is_socket()
    assert not where.exists()


async def test_a_unix_socket_for_the_stores_group_lets_the_group_in(
    store: Store, tmp_path: Path
) -> None:
    import grp

    from omnitui.store.files import Access

    group = grp.getgrgid(os.getgid()).gr_name
    (tmp_path / "run").mkdir()
    where = tmp_path / "run" / "api.sock"
    async with serving(store, listen=str(where), access=Access(group=group)) as api:
        info = where.stat()
        assert stat.S_IMODE(info.st_mode) == 0o660 and info.st_gid == os.getgid()
        async with client_of(api) as client:
            assert (await client.call("GET", "/tags")).body == {"items": []}


# -- through the real channel runner -------------------------------------------------------


async def test_a_message_posted_to_serves_api_reaches_the_telegram_customer_as_sent_by_the_api(
    tmp_path: Path, telegram_peer: BotApiPeer
) -> None:
    port = free_port()
    shop = ServeCommand(tmp_path, telegram_peer.url, TELEGRAM_TOKEN_ENV)
    shop.config.write_text(
        shop.config.read_text(encoding="utf-8")
        + f'\n[api]\nlisten = "127.0.0.1:{port}"\ntoken_env = "{TOKEN_ENV}"\nname = "{API_NAME}"\n',
        encoding="utf-8",
    )
    shop.env[TOKEN_ENV] = API_TOKEN
    server = await shop.start()
    words = "ご注文の品は明日お届けします"
    try:

        def log_text() -> str:
            return shop.log_file.read_text(encoding="utf-8", errors="replace")

        await wait_until(lambda: "local API on 127.0.0.1" in log_text(), LONG, "serve's API")
        telegram_peer.text(MISAKI, "注文はいつ届きますか？")
        async with aiohttp.ClientSession() as session:
            client = ApiClient(session, f"http://127.0.0.1:{port}")
            await client.load_spec()

            async def found() -> list[int]:
                return ids(await client.call("GET", "/contacts", params={"q": "届きます"}))

            await wait_until(found, LONG, "Misaki's message, read through the API")
            (contact,) = await found()
            answer = await client.call(
                "POST", f"/contacts/{contact}/messages", body={"text": words}
            )
            assert answer.status == 202 and answer.body["account"] == "shop-bot"

            await wait_until(
                lambda: any(s.text == words for s in telegram_peer.sent), LONG, "the message"
            )
            assert [s.chat_id for s in telegram_peer.sent if s.text == words] == [MISAKI.id]

            async def state() -> str:
                got = await client.call("GET", f"/messages/{answer.body['id']}")
                return str(got.body["status"])

            await wait_until(lambda: _is(state, "sent"), LONG, "the message marked sent")
            got = await client.call("GET", f"/messages/{answer.body['id']}")
            assert got.body["author"] == API_NAME
            assert not client.violations, "\n".join(client.violations)
        doctor = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "omnitui.cli", "--config", str(shop.config), "doctor"],
            env=shop.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        said_by_doctor, _ = await asyncio.wait_for(doctor.communicate(), 120)
        api_lines = [line for line in said_by_doctor.decode().splitlines() if " api " in line]
        assert api_lines == [
            f"ok    api      token from ${TOKEN_ENV}",
            f"ok    api      answering on 127.0.0.1:{port} with the token",
        ], said_by_doctor.decode()
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), LONG) == 0
    said = shop.log_file.read_text(encoding="utf-8", errors="replace")
    assert API_TOKEN not in said and words not in said


async def _is(read: Any, expected: str) -> bool:
    return bool(await read() == expected)


def test_doctor_says_when_the_token_cannot_be_read_and_when_nothing_answers(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "shop.db"}"\n\n'
        f'[api]\nlisten = "127.0.0.1:{port}"\ntoken_env = "{TOKEN_ENV}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "HOME": str(tmp_path)}
    run = [sys.executable, "-m", "omnitui.cli", "--config", str(config), "doctor"]
    quiet = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert f"ok    api      nothing answers on 127.0.0.1:{port} yet" in quiet.stdout
    env.pop(TOKEN_ENV)
    missing = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert (
        f"FAIL  api      127.0.0.1:{port}: the API cannot start: [api] token: "
        f"environment variable {TOKEN_ENV} is not set"
    ) in missing.stdout
    assert missing.returncode == 1


async def test_a_console_running_the_channels_shows_the_apis_message_in_the_thread(
    store: Store, telegram_peer: BotApiPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.peers.telegram_api import TOKEN

    monkeypatch.setenv(TELEGRAM_TOKEN_ENV, TOKEN)
    port = free_port()
    api = LocalApi(
        ApiConfig(listen=HostPort("127.0.0.1", port), token_env=TOKEN_ENV, name=API_NAME),
        store,
        channels=[BOT],
    )
    hub = Hub(store, [adapter_for(telegram_peer)], retry=FAST, poll_outbox=0.05, services=[api])
    await hub.start()
    try:
        telegram_peer.text(MISAKI, "花束を予約したいです")

        async def stored() -> bool:
            return bool(await store.list_contacts())

        await wait_until(stored, LONG, "Misaki's message")
        (row,) = await store.list_contacts()
        app = OmniApp(store, agent_name="Aiko", channels=[BOT], poll_changes=0.05, language="en")
        async with app.run_test(size=(120, 36)) as pilot:
            await open_customer(pilot, row.id)
            await wait_until(api.listening.is_set, 10, "the API")
            async with client_of(api) as client:
                answer = await client.call(
                    "POST", f"/contacts/{row.id}/messages", body={"text": "ご予約承りました"}
                )
                assert answer.status == 202

            def shown() -> bool:
                text = "\n".join(inbox(app).thread.lines_text())
                return "ご予約承りました" in text and API_NAME in text

            await wait_until(shown, LONG, "the API's message in the open thread", pilot=pilot)
        await wait_until(
            lambda: any(s.text == "ご予約承りました" for s in telegram_peer.sent), LONG, "sent"
        )
        message = (await store.thread_page(row.id))[-1]
        assert (message.author, message.direction) == (API_NAME, Direction.OUT)
        await wait_until(
            lambda: _status_is(store, row.id, Delivery.SENT), LONG, "the message marked sent"
        )
    finally:
        await hub.stop()


async def _status_is(store: Store, contact_id: int, status: Delivery) -> bool:
    return (await store.thread_page(contact_id))[-1].status is status
