"""A loopback Twilio: the 2010 REST API endpoints OmniTUI uses, with state.

Every request the SDK makes and every answer the peer gives is checked
against Twilio's own OpenAPI spec (`fixtures/twilio/twilio_api_v2010.json`)
with openapi-core; what does not match is kept in `violations`, and the test
fixture fails the test at teardown. Query and form parameters the spec does
not name for the operation count as violations too.

The peer also plays Twilio's side of the webhooks: it posts signed inbound
messages and status callbacks to the adapter's listener, and it can inject
error codes (`create_faults`, an `error_code` on a status change).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import operator
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, web
from textual.pilot import Pilot
from twilio.request_validator import RequestValidator

from omnitui.domain.sms import count_segments
from tests import waiting
from tests.peers.spec_exchange import SpecRequest, SpecResponse

API = "/2010-04-01"
OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit"}
OPT_IN = {"start", "yes", "unstop"}
TWILIO_WAITS = 15.0  # seconds Twilio waits for a webhook's answer before giving up


@dataclass(frozen=True)
class TwilioSpec:
    """Twilio's OpenAPI spec, loaded once: openapi-core's validator and the raw paths."""

    openapi: Any
    paths: Mapping[str, Any]

    @classmethod
    def load(cls, folder: Path) -> TwilioSpec:
        from openapi_core import OpenAPI

        # The spec holds escapes that PyYAML (openapi-core's file reader) rejects: read it as JSON.
        data = json.loads((folder / "twilio_api_v2010.json").read_text(encoding="utf-8"))
        return cls(OpenAPI.from_dict(data), data["paths"])

    def allowed(self, template: str, method: str) -> tuple[set[str], set[str]]:
        """The query parameters and form fields the spec names for an operation."""
        operation = self.paths[template][method]
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        body = operation.get("requestBody", {}).get("content", {})
        form = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
        return query, set(form.get("properties", {}))


@dataclass(frozen=True)
class Fault:
    """An error the next create answers with."""

    status: int
    code: int
    message: str


@dataclass
class Media:
    sid: str
    content_type: str
    data: bytes


@dataclass
class Posted:
    """What the adapter answered to a webhook."""

    status: int
    text: str
    content_type: str = ""


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(at: float | None) -> str | None:
    if at is None:
        return None
    return format_datetime(datetime.fromtimestamp(at, UTC))


@dataclass
class TwilioPeer:
    spec: TwilioSpec
    account_sid: str
    auth_token: str
    number: str
    friendly_name: str = "Sakura Flowers"
    numbers: list[str] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    violations: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path template)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_media: dict[str, list[str]] = field(default_factory=dict)  # sid -> MediaUrl given
    media: dict[str, list[Media]] = field(default_factory=dict)
    callbacks: dict[str, str] = field(default_factory=dict)  # sid -> StatusCallback
    opted_out: set[str] = field(default_factory=set)
    create_faults: list[Fault] = field(default_factory=list)
    early_statuses: list[str] = field(default_factory=list)
    media_gate: asyncio.Event | None = None  # when set up, media downloads wait for it
    media_requested: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        if not self.numbers:
            self.numbers = [self.number]
        app = web.Application(middlewares=[self._checked])
        acc = f"{API}/Accounts/{{AccountSid}}"
        app.router.add_get(f"{API}/Accounts/{{Sid}}.json", self._account)
        app.router.add_get(f"{acc}/Messages.json", self._list_messages)
        app.router.add_post(f"{acc}/Messages.json", self._create_message)
        app.router.add_get(f"{acc}/Messages/{{Sid}}.json", self._fetch_message)
        app.router.add_get(f"{acc}/Messages/{{MessageSid}}/Media.json", self._list_media)
        app.router.add_get(f"{acc}/Messages/{{MessageSid}}/Media/{{Sid}}", self._media_content)
        app.router.add_get("/media-store/{Sid}", self._media_store)
        app.router.add_get(f"{acc}/IncomingPhoneNumbers.json", self._numbers)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self.media_gate is not None:
            self.media_gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- checking every exchange against the spec ----------------------------

    @web.middleware
    async def _checked(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        info = request.match_info
        template = info.route.resource.canonical if info.route.resource is not None else ""
        self.calls.append((request.method, template))
        in_spec = template in self.spec.paths
        body = await request.read()
        if in_spec:
            self._check_request(request, template, body)
        if not self._authorised(request) and template.startswith(API):
            response: web.StreamResponse = _error(401, 20003, "Authenticate")
        else:
            try:
                response = await handler(request)
            except _Refused as exc:
                response = exc.response
        if in_spec and isinstance(response, web.Response):
            self._check_response(request, body, template, response)
        return response

    def _check_request(self, request: web.Request, template: str, body: bytes) -> None:
        where = f"{request.method} {request.path}"
        try:
            self.spec.openapi.validate_request(SpecRequest(request, body, "https://api.twilio.com"))
        except Exception as exc:
            self.violations.append(f"{where}: request: {exc}")
        query, form = self.spec.allowed(template, request.method.lower())
        for name in request.query:
            if name not in query:
                self.violations.append(f"{where}: query parameter {name!r} is not in the spec")
        if body and request.content_type == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qsl

            for name, _ in parse_qsl(body.decode(), keep_blank_values=True):
                if name not in form:
                    self.violations.append(f"{where}: form field {name!r} is not in the spec")

    def _check_response(
        self, request: web.Request, body: bytes, template: str, response: web.Response
    ) -> None:
        where = f"{request.method} {request.path} -> {response.status}"
        if response.status >= 400:
            # The spec describes no error bodies: check Twilio's documented shape.
            error = json.loads(response.body) if isinstance(response.body, bytes) else {}
            shape = {"code": int, "message": str, "more_info": str, "status": int}
            for key, kind in shape.items():
                if not isinstance(error.get(key), kind):
                    self.violations.append(f"{where}: error body without {key!r}")
            return
        try:
            self.spec.openapi.validate_response(
                SpecRequest(request, body, "https://api.twilio.com"), SpecResponse(response)
            )
        except Exception as exc:
            self.violations.append(f"{where}: response: {exc}")

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization", "") == f"Basic {expected}"

    # -- the REST API ----------------------------------------------------------

    async def _account(self, request: web.Request) -> web.Response:
        sid = request.match_info["Sid"]
        if sid != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(
            {
                "sid": sid,
                "owner_account_sid": sid,
                "friendly_name": self.friendly_name,
                "status": "active",
                "type": "Full",
                "auth_token": None,
                "date_created": rfc2822(self.clock() - 86400 * 365),
                "date_updated": rfc2822(self.clock() - 86400),
                "uri": f"{API}/Accounts/{sid}.json",
                "subresource_uris": {"messages": f"{API}/Accounts/{sid}/Messages.json"},
            }
        )

    def _own(self, request: web.Request) -> None:
        if request.match_info["AccountSid"] != self.account_sid:
            raise _Refused(
                _error(404, 20404, f"The requested resource {request.path} was not found")
            )

    async def _create_message(self, request: web.Request) -> web.Response:
        self._own(request)
        form = await request.post()
        to, sender, body = str(form.get("To", "")), str(form.get("From", "")), form.get("Body")
        if self.create_faults:
            fault = self.create_faults.pop(0)
            return _error(fault.status, fault.code, fault.message)
        if not to.startswith("+") or not to[1:].isdigit() or len(to) < 8:
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if sender not in self.numbers:
            return _error(400, 21606, "The From phone number is not a valid, SMS-capable number.")
        if not isinstance(body, str) or not body:
            return _error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        media_urls = [str(u) for u in form.getall("MediaUrl", [])]
        record = self._record(
            _sid("SM"), sender, to, body, "queued", "outbound-api", None, len(media_urls)
        )
        if media_urls:
            self.sent_media[record["sid"]] = media_urls
        answer = dict(record)
        callback = form.get("StatusCallback")
        if isinstance(callback, str):
            self.callbacks[record["sid"]] = callback
        early, self.early_statuses = self.early_statuses, []
        for status in early:  # callbacks that beat the answer to the create
            await self.advance(record["sid"], status)
        return web.json_response(answer, status=201)

    async def _list_messages(self, request: web.Request) -> web.Response:
        self._own(request)
        q = request.query
        found = list(self.messages.values())
        if "To" in q:
            found = [m for m in found if m["to"] == q["To"]]
        if "From" in q:
            found = [m for m in found if m["from"] == q["From"]]
        # Day-grained and inclusive, as Twilio's own filter.
        compare: dict[str, Callable[[date, date], bool]] = {
            "DateSent>": operator.ge,
            "DateSent<": operator.le,
            "DateSent": operator.eq,
        }
        for key, keep in compare.items():
            if key in q:
                day = date.fromisoformat(q[key][:10])
                found = [m for m in found if keep(_day(m), day)]
        found.sort(key=lambda m: (_when(m), m["sid"]), reverse=True)
        return self._page(request, found, "messages")

    def _page(
        self, request: web.Request, items: Sequence[dict[str, Any]], key: str
    ) -> web.Response:
        q = request.query
        size = int(q.get("PageSize", "50"))
        page = int(q.get("Page", "0"))
        chunk = items[page * size : (page + 1) * size]
        filters = [(k, v) for k, v in q.items() if k not in ("PageSize", "Page", "PageToken")]

        def uri(n: int) -> str:
            extra = [("PageToken", f"PA{n}")] if n else []
            return (
                request.path + "?" + urlencode([*filters, ("PageSize", size), ("Page", n), *extra])
            )

        more = len(items) > (page + 1) * size
        return web.json_response(
            {
                key: chunk,
                "end": page * size + max(0, len(chunk) - 1),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if more else None,
                "page": page,
                "page_size": size,
                "previous_page_uri": uri(page - 1) if page else None,
                "start": page * size,
                "uri": uri(page),
            }
        )

    async def _fetch_message(self, request: web.Request) -> web.Response:
        self._own(request)
        record = self.messages.get(request.match_info["Sid"])
        if record is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(record)

    async def _list_media(self, request: web.Request) -> web.Response:
        self._own(request)
        parent = request.match_info["MessageSid"]
        items = [self._media_record(parent, m) for m in self.media.get(parent, [])]
        return self._page(request, items, "media_list")

    async def _media_content(self, request: web.Request) -> web.Response:
        """Like Twilio: an authenticated URL that redirects to the media store."""
        self._own(request)
        self.media_requested.set()
        if self.media_gate is not None:
            await self.media_gate.wait()
        sid = request.match_info["Sid"]
        if not any(m.sid == sid for items in self.media.values() for m in items):
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return web.Response(status=307, headers={"Location": f"/media-store/{sid}?Expires=1"})

    async def _media_store(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:
            self.violations.append("the account's credentials were sent on to the media store")
        sid = request.match_info["Sid"]
        for items in self.media.values():
            for m in items:
                if m.sid == sid:
                    return web.Response(body=m.data, content_type=m.content_type)
        return web.Response(status=404)

    async def _numbers(self, request: web.Request) -> web.Response:
        self._own(request)
        wanted = request.query.get("PhoneNumber")
        items = [
            {
                "sid": "PN" + hashlib.md5(n.encode()).hexdigest(),
                "account_sid": self.account_sid,
                "friendly_name": n,
                "phone_number": n,
                "capabilities": {"sms": True, "mms": True, "voice": True, "fax": False},
                "date_created": rfc2822(self.clock() - 86400 * 30),
                "date_updated": rfc2822(self.clock() - 86400 * 30),
                "api_version": "2010-04-01",
                "status": "in-use",
                "uri": f"{API}/Accounts/{self.account_sid}/IncomingPhoneNumbers/PN.json",
            }
            for n in self.numbers
            if wanted is None or n == wanted
        ]
        return self._page(request, items, "incoming_phone_numbers")

    # -- state -----------------------------------------------------------------

    def _record(
        self,
        sid: str,
        sender: str,
        to: str,
        body: str,
        status: str,
        direction: str,
        sent_at: float | None,
        num_media: int = 0,
    ) -> dict[str, Any]:
        now = self.clock()
        acc = f"{API}/Accounts/{self.account_sid}"
        record: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": None,
            "from": sender,
            "to": to,
            "body": body,
            "status": status,
            "direction": direction,
            "num_segments": str(max(1, count_segments(body).segments)),
            "num_media": str(num_media),
            "date_created": rfc2822(sent_at if sent_at is not None else now),
            "date_updated": rfc2822(sent_at if sent_at is not None else now),
            "date_sent": rfc2822(sent_at),
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "uri": f"{acc}/Messages/{sid}.json",
            "subresource_uris": {"media": f"{acc}/Messages/{sid}/Media.json"},
        }
        self.messages[sid] = record
        return record

    def _media_record(self, parent: str, m: Media) -> dict[str, Any]:
        acc = f"{API}/Accounts/{self.account_sid}"
        return {
            "sid": m.sid,
            "account_sid": self.account_sid,
            "parent_sid": parent,
            "content_type": m.content_type,
            "date_created": rfc2822(self.clock()),
            "date_updated": rfc2822(self.clock()),
            "uri": f"{acc}/Messages/{parent}/Media/{m.sid}.json",
        }

    def add_inbound(
        self,
        sender: str,
        body: str,
        *,
        sent_at: float | None = None,
        media: Sequence[tuple[str, bytes]] = (),
        sid: str | None = None,
        status: str = "received",
    ) -> str:
        """A customer's text arrives at Twilio (what polling finds)."""
        sid = sid or _sid("MM" if media else "SM")
        at = self.clock() if sent_at is None else sent_at
        self._record(sid, sender, self.number, body, status, "inbound", at, len(media))
        self.media[sid] = [Media(_sid("ME"), kind, data) for kind, data in media]
        word = body.strip().casefold()
        if word in OPT_OUT:
            self.opted_out.add(sender)
        elif word in OPT_IN:
            self.opted_out.discard(sender)
        return sid

    def media_url(self, message_sid: str, media: Media) -> str:
        """The URL Twilio puts in a webhook: on Twilio's host, as the real one."""
        return (
            f"https://api.twilio.com{API}/Accounts/{self.account_sid}"
            f"/Messages/{message_sid}/Media/{media.sid}"
        )

    # -- webhooks to the adapter -----------------------------------------------

    def sign(self, url: str, params: Mapping[str, str], token: str | None = None) -> str:
        return str(RequestValidator(token or self.auth_token).compute_signature(url, dict(params)))

    async def post(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        signature: str | None = "valid",
    ) -> Posted:
        """POST a form to the adapter as Twilio does: `signature` valid, forged, or None."""
        headers = {"User-Agent": "TwilioProxy/1.1"}
        if signature == "valid":
            headers["X-Twilio-Signature"] = self.sign(url, params)
        elif signature == "forged":
            headers["X-Twilio-Signature"] = self.sign(url, params, token="not-the-token")
        async with (
            ClientSession(timeout=ClientTimeout(total=TWILIO_WAITS)) as session,
            session.post(url, data=dict(params), headers=headers) as response,
        ):
            return Posted(response.status, await response.text(), response.content_type)

    def inbound_params(self, sid: str) -> dict[str, str]:
        """The webhook form Twilio posts for an inbound message it holds."""
        m = self.messages[sid]
        params = {
            "ToCountry": "JP",
            "ToState": "",
            "SmsMessageSid": sid,
            "NumMedia": m["num_media"],
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": m["body"],
            "FromCountry": "JP",
            "To": m["to"],
            "ToZip": "",
            "NumSegments": m["num_segments"],
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": m["from"],
            "ApiVersion": "2010-04-01",
        }
        for n, item in enumerate(self.media.get(sid, [])):
            params[f"MediaUrl{n}"] = self.media_url(sid, item)
            params[f"MediaContentType{n}"] = item.content_type
        return params

    async def text_in(
        self,
        url: str,
        sender: str,
        body: str,
        *,
        media: Sequence[tuple[str, bytes]] = (),
        signature: str | None = "valid",
    ) -> tuple[str, Posted]:
        """A customer texts the shop: Twilio holds it and posts the webhook."""
        sid = self.add_inbound(sender, body, media=media)
        return sid, await self.post(url, self.inbound_params(sid), signature=signature)

    async def advance(
        self, sid: str, status: str, *, error_code: int | None = None
    ) -> Posted | None:
        """Move a sent message on (sent, delivered, undelivered...) and post its status
        callback, if it asked for one."""
        record = self.messages[sid]
        record["status"] = status
        record["date_updated"] = rfc2822(self.clock())
        if status in ("sent", "delivered", "undelivered") and record["date_sent"] is None:
            record["date_sent"] = rfc2822(self.clock())
        if error_code is not None:
            record["error_code"] = error_code
            record["error_message"] = f"Twilio error {error_code}"
        url = self.callbacks.get(sid)
        if url is None:
            return None
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": record["from"],
            "To": record["to"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": "2010-04-01",
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return await self.post(url, params)

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages.values()
            if m["to"] == number and m["direction"] == "outbound-api"
        ]


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


def _when(record: Mapping[str, Any]) -> datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(record["date_sent"] or record["date_created"])


def _day(record: Mapping[str, Any]) -> date:
    return _when(record).astimezone(UTC).date()


async def wait_until(
    check: Callable[[], object | Awaitable[object]],
    limit: float = 10.0,
    what: str = "the condition",
    *,
    pilot: Pilot[None] | None = None,
) -> None:
    """The shared wait, where a check that raises (the peer or the adapter not
    up yet) counts as not yet true."""

    async def answered() -> object:
        try:
            answer = check()
            return await answer if inspect.isawaitable(answer) else answer
        except Exception:
            return False

    await waiting.wait_until(answered, limit, what, pilot=pilot)
