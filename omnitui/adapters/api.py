"""The local HTTP API: scripts and the shop's CRM read and write customers.

The process that runs the channels (`omnitui serve`, or a console that runs
them) serves it on `[api] listen`: a loopback address, or a unix socket made
0600 (0660 with `[store] group`). Every request carries `Authorization:
Bearer <token>`, the token read once when the API starts; without it nothing
is answered but 401, whatever the path (`/openapi.json` too).

What it does is what an agent does in the console, through the same store
calls: a message posted is queued in the outbox like a reply typed in the
composer (the customer's last channel unless one is named, the same opt-out
refusals, the same delivery states, `[api] name` as its author); a change to
a customer's tags, profile, status or assignee is the same write the console
makes, so automation rules and webhooks see it. A merged-away customer's id
answers for the customer it was merged into (the answer's `id` says which).

`ROUTES` is the one table of what is served: the aiohttp routes and the
OpenAPI 3.1 description at `/openapi.json` are both made from it and from the
pydantic models of `omnitui.domain.wire`, so the description cannot drift
from what the code does. Answers and refusals are JSON; the log names each
refusal with its path and reason, never a token, a query or a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnitui.adapters.runner import configured_channels
from omnitui.config import ApiConfig, HostPort, SecretError
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    Channel,
    ChannelKind,
    Contact,
    Message,
    ThreadStatus,
    answer_channels,
    can_reply,
)
from omnitui.errors import OmniError

if TYPE_CHECKING:
    from aiohttp import web
    from pydantic import BaseModel

    from omnitui.config import Settings
    from omnitui.store.files import Access
    from omnitui.store.protocol import StoreProtocol

log = logging.getLogger("omnitui.api")

MAX_BODY = 1_000_000  # bytes: a message, a profile change
BODY_SECONDS = 10.0  # a client that takes longer to send its body is cut off
KEEPALIVE_SECONDS = 15.0
SEARCH_FOR_CONTACTS = 60  # message hits read for a contact search (more with filters)
SEARCH_FILTERED = 500
SCAN_PAGE = 200  # contacts read per page when a list is filtered by status or assignee
# Requests worked on at once; more wait their turn. The store's reads are shared
# with a console that runs the channels: a script sending a flood of searches
# queues behind itself, not in front of the agent's key presses.
AT_ONCE = 2
TITLE = "OmniTUI local API"
REF = "#/components/schemas/{model}"


class ApiRefusal(OmniError):
    """A request the API answers with an error: its HTTP status, what is wrong
    (English in the JSON a script reads) and the field it is about."""

    def __init__(
        self,
        status: int,
        template: str,
        /,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        **values: object,
    ) -> None:
        super().__init__(template, **values)
        self.status = status
        self.field = field
        self.headers = dict(headers or {})


# -- the routes, and the OpenAPI description made from them ------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: where, what it takes and what it answers (wire model names)."""

    method: str
    path: str  # OpenAPI's template; `{id}` is a positive integer
    name: str  # operationId, and the handler's name after "_"
    summary: str
    answer: str | None  # a wire model; None: the OpenAPI document itself
    status: int = 200
    query: str | None = None
    body: str | None = None
    errors: tuple[int, ...] = ()


ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", "openapi", "This description (OpenAPI 3.1)", None),
    Route(
        "GET",
        "/contacts",
        "list_contacts",
        "Customers: found by q (names, addresses, what they wrote), or by last activity",
        "ContactList",
        query="ContactQuery",
        errors=(422,),
    ),
    Route(
        "GET",
        "/contacts/{id}",
        "get_contact",
        "One customer (a merged-away id answers the customer it was merged into)",
        "ContactOut",
        errors=(404,),
    ),
    Route(
        "PATCH",
        "/contacts/{id}",
        "patch_contact",
        "Change a customer's name, language, profile fields, tags, status or assignee",
        "ContactOut",
        body="ContactPatch",
        errors=(400, 404, 408, 413, 422),
    ),
    Route(
        "GET",
        "/contacts/{id}/messages",
        "list_messages",
        "A customer's merged thread, newest first",
        "MessageList",
        query="MessageQuery",
        errors=(404, 422),
    ),
    Route(
        "POST",
        "/contacts/{id}/messages",
        "send_message",
        "Send a message: queued in the outbox like an agent's reply",
        "MessageOut",
        status=202,
        body="MessageIn",
        errors=(400, 404, 408, 409, 413, 422),
    ),
    Route(
        "POST",
        "/contacts/{id}/notes",
        "add_note",
        "Add an internal note to a customer's thread (the customer never sees it)",
        "MessageOut",
        status=201,
        body="NoteIn",
        errors=(400, 404, 408, 413, 422),
    ),
    Route(
        "GET",
        "/messages/{id}",
        "get_message",
        "One message, with its delivery state now",
        "MessageOut",
        errors=(404,),
    ),
    Route(
        "GET",
        "/search",
        "search",
        "Messages and customers, as the console's / search finds them",
        "SearchList",
        query="SearchQuery",
        errors=(422,),
    ),
    Route(
        "GET", "/tags", "list_tags", "The tags in use, with how many customers have each", "TagList"
    ),
    Route(
        "GET",
        "/channels",
        "list_channels",
        "The channel accounts the shop replies from",
        "ChannelList",
    ),
)

ERROR_WORDS = {
    400: "the body is not JSON",
    401: "no bearer token, or not the API's",
    404: "no such customer or message",
    408: "the body did not arrive in time",
    409: "the customer cannot be written to on that channel (they opted out or blocked the shop)",
    413: "the body is over 1 MB",
    422: "a field or parameter is missing or wrong (named in `field`)",
    503: "the store could not answer; try again",
}


def _model(name: str) -> type[BaseModel]:
    from omnitui.domain import wire

    found = getattr(wire, name)
    assert isinstance(found, type)
    return found


def _query_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: `X | None` as X (a parameter left out is the None)."""
    out = {k: v for k, v in schema.items() if k not in ("title", "description")}
    options = out.pop("anyOf", None)
    if options is not None:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            out.update(kept[0])
        else:
            out["anyOf"] = kept
    if out.get("default") is None:
        out.pop("default", None)
    return out


def openapi_document(version: str) -> dict[str, Any]:
    """The API's OpenAPI 3.1 description, made from `ROUTES` and the wire models."""
    from pydantic.json_schema import models_json_schema

    models: list[tuple[type[BaseModel], Any]] = [(_model("ErrorOut"), "serialization")]
    for route in ROUTES:
        if route.answer:
            models.append((_model(route.answer), "serialization"))
        if route.body:
            models.append((_model(route.body), "validation"))
    refs, schemas = models_json_schema(models, ref_template=REF)
    error = refs[(_model("ErrorOut"), "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        parameters: list[dict[str, Any]] = []
        if "{id}" in route.path:
            parameters.append(
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            )
        if route.query:
            query = _model(route.query).model_json_schema(ref_template=REF)
            required = set(query.get("required", ()))
            for name, schema in query["properties"].items():
                parameter: dict[str, Any] = {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": _query_schema(schema),
                }
                if "description" in schema:
                    parameter["description"] = schema["description"]
                parameters.append(parameter)
        body = refs[_model(route.answer), "serialization"] if route.answer else {"type": "object"}
        responses: dict[str, Any] = {
            str(route.status): {
                "description": route.summary,
                "content": {"application/json": {"schema": body}},
            }
        }
        for status in (401, *route.errors, 503):
            answer: dict[str, Any] = {
                "description": ERROR_WORDS[status],
                "content": {"application/json": {"schema": error}},
            }
            if status == 401:
                answer["headers"] = {
                    "WWW-Authenticate": {"schema": {"type": "string"}, "required": True}
                }
            responses[str(status)] = answer
        operation: dict[str, Any] = {
            "operationId": route.name,
            "summary": route.summary,
            "responses": responses,
        }
        if parameters:
            operation["parameters"] = parameters
        if route.body:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": refs[(_model(route.body), "validation")]}
                },
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": version,
            "description": (
                "OmniTUI's API for the shop's scripts and CRM, served by the process that "
                "runs the channels. Every request needs `Authorization: Bearer <token>`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


# -- choosing the channel, as the composer does -------------------------------------------


def reply_channels(
    contact: Contact, used: Sequence[Channel], configured: Sequence[Channel]
) -> list[Channel]:
    """The shop's channels this customer can be answered on, the one they last
    wrote on first: those they wrote on, then email and SMS to their addresses
    (never a Telegram bot they have not written to: a bot may only answer).
    The console's composer offers the same: never a channel that cannot carry a
    reply (a plugin's web form), whose customer is answered by the shop's email."""
    # The channel runner sends only on the channels it runs.
    offered, default = answer_channels(contact, used, configured)
    channels = [c for c in offered if c in configured]
    if default in channels:
        channels.remove(default)
        channels.insert(0, default)
    return channels


def pick_channel(
    contact: Contact, asked: str | None, channels: Sequence[Channel], configured: Sequence[Channel]
) -> Channel:
    """The channel a message goes out on: the one named (an account's name, or a
    kind: the customer's channel of that kind), or their last. Raises `ApiRefusal`."""
    if asked is None:
        if not channels:
            raise ApiRefusal(
                422, "this customer has no channel the shop can write on", field="channel"
            )
        return channels[0]
    named = [c for c in configured if c.account == asked]
    if not named:
        named = [c for c in configured if str(c.kind) == asked]
    if not named:
        known = ", ".join(
            sorted({c.account for c in configured} | {str(c.kind) for c in configured})
        )
        raise ApiRefusal(
            422,
            "no channel {channel} is set up (the shop has: {known})",
            field="channel",
            channel=repr(asked),
            known=known or "none",
        )
    for channel in channels:
        if channel in named:
            return channel
    if not any(can_reply(c.kind) for c in named):
        raise ApiRefusal(
            422,
            "a {channel} cannot carry a reply: answer on another of the customer's channels",
            field="channel",
            channel=asked,
        )
    kind = named[0].kind
    if kind is ChannelKind.TELEGRAM and any(
        i.kind is IDENTITY_FOR_CHANNEL[kind] for i in contact.identities
    ):
        raise ApiRefusal(422, "this customer has not written to that Telegram bot", field="channel")
    raise ApiRefusal(422, "this customer has no {kind} address", field="channel", kind=kind)


def opted_out(kind: ChannelKind) -> ApiRefusal:
    """The refusal of a message on `kind` to a customer whose address there opted out."""
    if kind is ChannelKind.LINE:
        return ApiRefusal(
            409, "not sent: this customer blocked the shop's LINE account", field="channel"
        )
    if kind is ChannelKind.TELEGRAM:
        return ApiRefusal(
            409, "not sent: this customer blocked the shop's Telegram bot", field="channel"
        )
    if kind is ChannelKind.SMS:
        return ApiRefusal(
            409, "not sent: this customer opted out of SMS (they texted STOP)", field="channel"
        )
    return ApiRefusal(
        409, "not sent: this customer opted out of {channel}", field="channel", channel=kind
    )


def shown_path(path: str) -> str:
    """A path as the log may show it (no query: it may hold a customer's words)."""
    return path[:80]


def _cursor(after: str) -> tuple[float, int]:
    at, _, contact_id = after.partition(":")
    try:
        return float(at), int(contact_id)
    except ValueError:
        raise ApiRefusal(422, "after: not a `next` this API gave", field="after") from None


# -- the service --------------------------------------------------------------------------


@dataclass
class LocalApi:
    """The API as a channel-runner service: `run()` serves until cancelled."""

    config: ApiConfig
    store: StoreProtocol
    channels: Sequence[Channel] = ()
    shop: str = ""
    signatures: Mapping[str, str] = field(default_factory=dict)  # by email account
    access: Access | None = None  # who may use the unix socket besides its user
    version: str = ""
    max_bytes: int = MAX_BODY
    body_seconds: float = BODY_SECONDS
    name: str = "api"
    listening: asyncio.Event = field(default_factory=asyncio.Event)
    _token: bytes = field(default=b"", repr=False)
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _document: bytes | None = field(default=None, repr=False)
    _socket_made: tuple[int, int] | None = field(default=None, repr=False)  # (device, inode)
    _turns: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(AT_ONCE))

    async def run(self) -> None:
        """Read the token, listen, and answer until cancelled. Without a token the
        API does not start, and the log says why."""
        try:
            token = await asyncio.to_thread(lambda: self.config.token().reveal())
        except SecretError as exc:
            log.error("the local API is not started: %s", exc)
            return
        await self.start(token)
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    @property
    def where(self) -> str:
        socket_path = self.config.socket
        return f"unix:{socket_path}" if socket_path is not None else str(self.config.listen)

    async def start(self, token: str) -> None:
        """Listen on `[api] listen`, answering requests with `token`; an address
        that cannot be had raises `OSError`."""
        from aiohttp import web

        self._token = token.encode()

        @web.middleware
        async def guard(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            return await self._guard(request, handler)

        app = web.Application(client_max_size=self.max_bytes, middlewares=[guard])
        for route in ROUTES:
            path = route.path.replace("{id}", r"{id:[0-9]{1,18}}")
            app.router.add_route(route.method, path, getattr(self, f"_{route.name}"))
        runner = web.AppRunner(
            app, access_log=None, keepalive_timeout=KEEPALIVE_SECONDS, handle_signals=False
        )
        await runner.setup()
        self._runner = runner
        try:
            socket_path = self.config.socket
            if socket_path is not None:
                site: web.BaseSite = web.SockSite(runner, self._unix_socket(socket_path))
            else:
                assert isinstance(self.config.listen, HostPort)
                site = web.TCPSite(runner, self.config.listen.bind_host, self.config.listen.port)
            await site.start()
        except BaseException:
            await self.close()
            raise
        self.listening.set()
        log.info("local API on %s", self.where)

    async def close(self) -> None:
        self.listening.clear()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        socket_path, made = self.config.socket, self._socket_made
        self._socket_made = None
        if socket_path is not None and made is not None:
            with contextlib.suppress(OSError):
                found = socket_path.stat()
                if (found.st_dev, found.st_ino) == made:  # ours, not a later one's
                    socket_path.unlink()

    def _unix_socket(self, path: Path) -> socket.socket:
        """A listening socket at `path`, 0600 (0660 for `[store] group`) from the
        start: bound in a private folder beside it, then moved into place. A
        socket file nobody answers on (left by a killed process) is replaced."""
        if path.exists() or path.is_symlink():
            if not path.is_socket():
                raise OSError(f"{path} exists and is not a socket")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(path))
                except OSError:
                    path.unlink()  # stale
                else:
                    raise OSError(f"another program already listens on {path}")
        mode = 0o600 if self.access is None else self.access.file_mode
        gid = -1 if self.access is None else self.access.gid()
        folder = Path(tempfile.mkdtemp(prefix=".api-", dir=path.parent))
        made = folder / "s"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(made))
            if gid != -1:
                os.chown(made, -1, gid)
            os.chmod(made, mode)
            os.rename(made, path)
            placed = path.stat()
            self._socket_made = (placed.st_dev, placed.st_ino)
            sock.listen(128)
        except BaseException:
            sock.close()
            with contextlib.suppress(OSError):
                made.unlink()
            raise
        finally:
            with contextlib.suppress(OSError):
                folder.rmdir()
        sock.setblocking(False)
        return sock

    # -- what every request goes through -------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not self._token:
            return False
        return hmac.compare_digest(token.strip().encode(), self._token)

    async def _guard(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        from aiohttp import web

        from omnitui.store.errors import StoreError

        if not self._authorised(request):
            return self._refuse(
                request,
                ApiRefusal(
                    401,
                    "a bearer token is needed: Authorization: Bearer <token>",
                    headers={"WWW-Authenticate": 'Bearer realm="omnitui"'},
                ),
            )
        try:
            if request.method in ("POST", "PATCH", "PUT"):
                # Read before taking a turn: a client slow to send holds up nobody.
                request[_body_key()] = await self._read_body(request)
            async with self._turns:
                return await handler(request)
        except ApiRefusal as refusal:
            return self._refuse(request, refusal)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
            if exc.status == 404:
                said = ApiRefusal(404, "no such path (see /openapi.json)")
            elif exc.status == 405:
                said = ApiRefusal(
                    405, "{method} is not answered here", headers=headers, method=request.method
                )
            elif exc.status == 413:
                said = self._too_big()
            else:
                said = ApiRefusal(exc.status, "{reason}", reason=exc.reason)
            return self._refuse(request, said)
        except asyncio.CancelledError:
            raise
        except StoreError as exc:
            return self._refuse(
                request, ApiRefusal(503, "the store could not answer: {reason}", reason=exc)
            )
        except Exception as exc:
            log.exception("local API: %s %s failed", request.method, shown_path(request.path))
            return self._refuse(
                request,
                ApiRefusal(
                    503, "the request could not be done ({reason})", reason=type(exc).__name__
                ),
            )

    def _too_big(self) -> ApiRefusal:
        return ApiRefusal(413, "the body is over {limit} bytes", limit=f"{self.max_bytes:,}")

    def _refuse(self, request: web.Request, refusal: ApiRefusal) -> web.Response:
        log.warning(
            "local API: refused %s %s: %s (answered %d)",
            request.method,
            shown_path(request.path),
            refusal,
            refusal.status,
        )
        body: dict[str, Any] = {"error": str(refusal), "field": refusal.field}
        return self._json(body, refusal.status, refusal.headers)

    @staticmethod
    def _json(
        data: Mapping[str, Any] | BaseModel,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        from aiohttp import web
        from pydantic import BaseModel

        text = (
            data.model_dump_json()
            if isinstance(data, BaseModel)
            else json.dumps(data, ensure_ascii=False)
        )
        return web.Response(
            text=text,
            status=status,
            content_type="application/json",
            charset="utf-8",
            headers={"Cache-Control": "no-store", **(headers or {})},
        )

    async def _read_body(self, request: web.Request) -> bytes:
        """The request's body, or a refusal (413 too big, 408 too slow)."""
        from aiohttp import web

        if (request.content_length or 0) > self.max_bytes:
            raise self._too_big()
        try:
            async with asyncio.timeout(self.body_seconds):
                raw = await request.read()
        except web.HTTPRequestEntityTooLarge:  # sent in chunks, without a length
            raise self._too_big() from None
        except TimeoutError:
            raise ApiRefusal(
                408, "the body did not arrive within {seconds} s", seconds=f"{self.body_seconds:g}"
            ) from None
        return raw

    @staticmethod
    def _body(request: web.Request, model: type[Any]) -> Any:
        """The request's JSON body (read by `_guard`) as `model`, or a refusal (400, 422)."""
        from pydantic import ValidationError

        raw = request[_body_key()]
        try:
            data = json.loads(raw)
        except ValueError:  # UnicodeDecodeError is one
            raise ApiRefusal(400, "the body is not JSON") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @staticmethod
    def _query(request: web.Request, model: type[Any]) -> Any:
        from pydantic import ValidationError

        try:
            return model.model_validate(dict(request.query))
        except ValidationError as exc:
            raise _invalid(exc) from None

    async def _contact_id(self, request: web.Request) -> int:
        asked = int(request.match_info["id"])
        found = await self.store.surviving_contact(asked)
        if found is None:
            raise ApiRefusal(404, "no contact {contact}", contact=asked)
        return found

    async def _contact(self, contact_id: int) -> Contact:
        found = await self.store.contacts_by_id([contact_id])
        if not found:
            raise ApiRefusal(404, "no contact {contact}", contact=contact_id)
        return found[0]

    async def _message(self, message_id: int) -> Message | None:
        from omnitui.store.records import ThreadCursor

        position = await self.store.message_position(message_id)
        if position is None:
            return None
        contact_id, cursor = position
        page = await self.store.thread_page(
            contact_id, before=ThreadCursor(cursor.sent_at, message_id + 1), limit=1
        )
        return page[0] if page and page[0].id == message_id else None

    # -- the handlers ---------------------------------------------------------------------

    async def _openapi(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if self._document is None:
            self._document = json.dumps(openapi_document(self.version)).encode()
        return web.Response(
            body=self._document,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def _list_contacts(self, request: web.Request) -> web.Response:
        from omnitui.domain.views import TagView, View
        from omnitui.domain.wire import ContactList, ContactQuery, contact_out

        query: ContactQuery = self._query(request, ContactQuery)
        wanted = _ContactFilter(query.status, query.assignee, query.tag)
        text = query.q.strip()
        if text:
            if query.after is not None:
                raise ApiRefusal(422, "after: only a list without q has pages", field="after")
            reach = SEARCH_FILTERED if wanted.any else max(SEARCH_FOR_CONTACTS, 3 * query.limit)
            hits = await self.store.search(text, limit=reach)
            ids = list(dict.fromkeys(h.contact_id for h in hits))
            if not wanted.any:
                ids = ids[: query.limit]  # only those answered are read
            found = [c for c in await self.store.contacts_by_id(ids) if wanted.holds(c)]
            items = [contact_out(c) for c in found[: query.limit]]
            return self._json(ContactList(items=items))
        view = TagView(query.tag) if query.tag else View.ALL
        after = None if query.after is None else _cursor(query.after)
        picked: list[int] = []
        last: tuple[float, int] | None = None  # where the page ends: (last activity, id)
        more = False
        while len(picked) < query.limit:
            size = query.limit - len(picked) + 1 if not wanted.scans else SCAN_PAGE
            page = await self.store.list_contacts(limit=size, after=after, view=view)
            for row in page:
                if len(picked) == query.limit:
                    more = True
                    break
                after = (row.last_activity, row.id)
                if wanted.summary_holds(row.status, row.assignee):
                    picked.append(row.id)
                    last = after
            if len(page) < size:
                break
            # A full page read to its end with the list full: more may follow (a
            # filtered list's next page may then hold nobody).
            more = more or len(picked) == query.limit
        contacts = await self.store.contacts_by_id(picked)
        next_page = f"{last[0]!r}:{last[1]}" if more and last is not None else None
        return self._json(ContactList(items=[contact_out(c) for c in contacts], next=next_page))

    async def _get_contact(self, request: web.Request) -> web.Response:
        from omnitui.domain.wire import contact_out

        contact = await self._contact(await self._contact_id(request))
        return self._json(contact_out(contact))

    async def _patch_contact(self, request: web.Request) -> web.Response:
        from omnitui.domain.wire import ContactPatch, contact_out

        contact_id = await self._contact_id(request)
        patch: ContactPatch = self._body(request, ContactPatch)
        given = patch.model_fields_set
        if patch.tags is not None and (patch.add_tags or patch.remove_tags):
            raise ApiRefusal(
                422, "tags: give the whole list, or add_tags / remove_tags", field="tags"
            )
        until: float | None = None
        if patch.status == "snoozed":
            if patch.snoozed_until is None:
                raise ApiRefusal(
                    422, "snoozed_until: snoozing needs a time to wake up", field="snoozed_until"
                )
            at = patch.snoozed_until
            at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
            until = at.timestamp()
            if until <= self.store.now():
                raise ApiRefusal(422, "snoozed_until: that time has passed", field="snoozed_until")
        elif patch.snoozed_until is not None:
            raise ApiRefusal(
                422, 'snoozed_until: goes with status "snoozed"', field="snoozed_until"
            )
        for key in patch.profile or {}:
            if not key.strip() or len(key) > 64:
                raise ApiRefusal(
                    422, "profile: {name} is not a field name", field="profile", name=repr(key[:64])
                )
        contact = await self._contact(contact_id)
        profile: dict[str, str] | None = None
        if patch.profile is not None:
            profile = dict(contact.profile)
            for key, value in patch.profile.items():
                if value is None:
                    profile.pop(key.strip(), None)
                else:
                    profile[key.strip()] = value
        tags: list[str] | None = None
        if patch.tags is not None:
            tags = list(patch.tags)
        elif patch.add_tags or patch.remove_tags:
            removed = set(patch.remove_tags or ())
            tags = [t for t in (*contact.tags, *(patch.add_tags or ())) if t not in removed]
        if any(
            v is not None for v in (patch.name, patch.first_name, patch.language, profile, tags)
        ):
            await self.store.update_contact(
                contact_id,
                name=patch.name.strip() if patch.name is not None else None,
                first_name=patch.first_name,
                language=patch.language,
                profile=profile,
                tags=tags,
            )
        if patch.status is not None:
            await self.store.set_status(contact_id, ThreadStatus(patch.status), until)
        if "assignee" in given:
            assignee = (patch.assignee or "").strip() or None
            if assignee != contact.assignee:
                await self.store.set_assignee(contact_id, assignee)
        return self._json(contact_out(await self._contact(contact_id)))

    async def _list_messages(self, request: web.Request) -> web.Response:
        from omnitui.domain.wire import MessageList, MessageQuery, message_out

        contact_id = await self._contact_id(request)
        query: MessageQuery = self._query(request, MessageQuery)
        cursor = None
        if query.before is not None:
            position = await self.store.message_position(query.before)
            if position is None or position[0] != contact_id:
                raise ApiRefusal(
                    422,
                    "before: no message {message} in this thread",
                    field="before",
                    message=query.before,
                )
            cursor = position[1]
        page = await self.store.thread_page(contact_id, before=cursor, limit=query.limit + 1)
        more = len(page) > query.limit
        items = [message_out(m) for m in reversed(page[-query.limit :])]
        return self._json(MessageList(items=items, next=items[-1].id if more else None))

    async def _send_message(self, request: web.Request) -> web.Response:
        from omnitui.domain.mail import (
            clean_subject,
            combined_signature,
            first_subject,
            reply_subject,
        )
        from omnitui.domain.sms import count_segments
        from omnitui.domain.wire import MessageIn, message_out
        from omnitui.store.errors import StoreError, StoreUnreachable

        contact_id = await self._contact_id(request)
        said: MessageIn = self._body(request, MessageIn)
        contact = await self._contact(contact_id)
        used = [
            Channel(kind, account)
            for account, kind in await self.store.contact_channels(contact_id)
        ]
        options = reply_channels(contact, used, self.channels)
        channel = pick_channel(contact, said.channel, options, self.channels)
        text = said.text.strip()
        if channel.kind is ChannelKind.SMS and count_segments(text).too_long:
            raise ApiRefusal(422, "text: an SMS can be at most 1,600 characters", field="text")
        kind = IDENTITY_FOR_CHANNEL[channel.kind]
        identity = next((i for i in contact.identities if i.kind is kind), None)
        if identity is not None and identity.opted_out:
            raise opted_out(channel.kind)
        subject = ""
        signature = ""
        if channel.kind is ChannelKind.EMAIL:
            if said.subject is not None and said.subject.strip():
                subject = clean_subject(said.subject)
            elif channel in used:
                subject = reply_subject(await self.store.reply_subject(contact_id, channel.account))
            else:
                subject = first_subject(self.shop, contact.language)
            signature = combined_signature(self.signatures.get(channel.account, ""), "")
        try:
            message_id = await self.store.enqueue_reply(
                contact_id,
                channel,
                text,
                subject=subject,
                author=self.config.name,
                signature=signature,
            )
        except StoreUnreachable:
            raise
        except StoreError as exc:  # opted out, or the address went, since it was read
            raise ApiRefusal(409, "not sent: {reason}", field="channel", reason=exc) from None
        log.info(
            "local API: message %d queued to contact %d on %s",
            message_id,
            contact_id,
            channel.account,
        )
        message = await self._message(message_id)
        if message is None:  # gone at once (merged away? withdrawn?): say what was queued
            raise ApiRefusal(404, "message {message} left the thread", message=message_id)
        return self._json(message_out(message), 202)

    async def _add_note(self, request: web.Request) -> web.Response:
        from omnitui.domain.wire import NoteIn, message_out

        contact_id = await self._contact_id(request)
        note: NoteIn = self._body(request, NoteIn)
        message_id = await self.store.add_note(
            contact_id, note.text.strip(), author=self.config.name
        )
        message = await self._message(message_id)
        if message is None:
            raise ApiRefusal(404, "message {message} left the thread", message=message_id)
        return self._json(message_out(message), 201)

    async def _get_message(self, request: web.Request) -> web.Response:
        from omnitui.domain.wire import message_out

        message_id = int(request.match_info["id"])
        message = await self._message(message_id)
        if message is None:
            raise ApiRefusal(404, "no message {message}", message=message_id)
        return self._json(message_out(message))

    async def _search(self, request: web.Request) -> web.Response:
        from omnitui.domain.wire import SearchList, SearchQuery, search_hit_out

        query: SearchQuery = self._query(request, SearchQuery)
        hits = await self.store.search(query.q.strip(), limit=query.limit)
        return self._json(SearchList(items=[search_hit_out(h) for h in hits[: query.limit]]))

    async def _list_tags(self, request: web.Request) -> web.Response:
        from omnitui.domain.views import TagView
        from omnitui.domain.wire import TagList, TagOut

        counts = await self.store.view_counts()
        items = [TagOut(tag=v.tag, contacts=n) for v, n in counts.items() if isinstance(v, TagView)]
        return self._json(TagList(items=items))

    async def _list_channels(self, request: web.Request) -> web.Response:
        from omnitui.domain.wire import ChannelList, ChannelOut

        items = [ChannelOut(name=c.account, kind=str(c.kind)) for c in self.channels]
        return self._json(ChannelList(items=items))


@dataclass(frozen=True, slots=True)
class _ContactFilter:
    status: str | None
    assignee: str | None
    tag: str | None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.status, self.assignee, self.tag))

    @property
    def scans(self) -> bool:
        """The list is read in pages and filtered here (the tag is the store's view)."""
        return self.status is not None or self.assignee is not None

    def summary_holds(self, status: ThreadStatus, assignee: str | None) -> bool:
        return (self.status is None or str(status) == self.status) and (
            self.assignee is None or assignee == self.assignee
        )

    def holds(self, contact: Contact) -> bool:
        return self.summary_holds(contact.status, contact.assignee) and (
            self.tag is None or self.tag in contact.tags
        )


@functools.cache
def _body_key() -> web.RequestKey[bytes]:
    """Where `_guard` keeps a request's body for its handler."""
    from aiohttp import web

    return web.RequestKey("omnitui_api_body", bytes)


def _invalid(exc: Any) -> ApiRefusal:
    """A pydantic `ValidationError` as a 422 naming its first field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    said = str(first.get("msg", "is not valid"))
    if not where:
        return ApiRefusal(422, "{reason}", reason=said)
    return ApiRefusal(422, "{where}: {problem}", field=where, where=where, problem=said)


def local_api(settings: Settings, store: StoreProtocol) -> LocalApi | None:
    """The API `[api]` asks for, or None."""
    from omnitui import __version__

    if settings.api is None:
        return None
    return LocalApi(
        settings.api,
        store,
        channels=configured_channels(settings),
        shop=settings.shop.get("name", ""),
        signatures={s.name: s.signature for s in settings.email},
        access=settings.store_access(),
        version=__version__,
    )


async def check(settings: Settings) -> list[tuple[bool, str]]:
    """`omnitui doctor`'s lines on the API: where it listens, the token's source,
    and whether the API answers there with the token."""
    import aiohttp

    config = settings.api
    if config is None:
        return []
    socket_path = config.socket
    where = f"unix:{socket_path}" if socket_path is not None else str(config.listen)
    source = f"${config.token_env}" if config.token_env else f"command {config.token_cmd!r}"
    try:
        token = await asyncio.to_thread(lambda: config.token().reveal())
    except SecretError as exc:
        return [(False, f"{where}: the API cannot start: {exc}")]
    lines = [(True, f"token from {source}")]
    if socket_path is not None:
        connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=str(socket_path))
        url = "http://localhost/openapi.json"
    else:
        assert isinstance(config.listen, HostPort)
        connector = aiohttp.TCPConnector()
        url = f"http://{config.listen}/openapi.json"
    status: int | None = None
    title = ""
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=3)
            ) as session,
            session.get(url, headers={"Authorization": f"Bearer {token}"}) as answer,
        ):
            status = answer.status
            if status == 200:
                with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                    document = await answer.json()
                    title = str(document.get("info", {}).get("title", ""))
    except (aiohttp.ClientError, TimeoutError, OSError):
        status = None
    if status == 200 and title == TITLE:
        lines.append((True, f"answering on {where} with the token"))
    elif status == 401:
        lines.append(
            (False, f"{where}: the API there refuses the token (another token, or another OmniTUI)")
        )
    elif status is not None:
        lines.append((False, f"{where}: another program answers there (HTTP {status})"))
    else:
        lines.append(
            (True, f"nothing answers on {where} yet: the process that runs the channels serves it")
        )
    return lines


__all__ = [
    "AT_ONCE",
    "ROUTES",
    "ApiRefusal",
    "LocalApi",
    "check",
    "local_api",
    "openapi_document",
    "pick_channel",
    "reply_channels",
]
