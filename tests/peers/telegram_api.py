"""A loopback Telegram Bot API for tests and the bench, checked against the spec.

It keeps the state a real Bot API server keeps for one bot (queued updates
and their confirmation by offset, long polls, the webhook, files, the
messages the bot sent) and serves python-telegram-bot the way Telegram does:
form-encoded (or multipart) requests with JSON values, `{"ok": ..., "result":
...}` answers, errors with `error_code`, `description` and `parameters`.

Every request is checked against `fixtures/telegram/api.json` (the method
exists, required parameters are there, no unknown ones, each value has one
of the spec's types) and so is every result and every update it serves
(required fields present, no unknown fields, nested types checked all the
way down). A mismatch is recorded in `violations`; the test fixture fails
the test on any, so a wrong call or a wrong fixture cannot pass quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:AAH-loopback_peer_token-0123456789ab"
DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPDATE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "callback_query",
    "my_chat_member",
)
# Sent when the bot's getUpdates is cut short by another poller (Telegram's own words).
CONFLICT_POLLER = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BLOCKED = "Forbidden: bot was blocked by the user"


class BotApiSpec:
    """The Bot API as `api.json` describes it: methods, their fields, and types."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version = str(data.get("version", ""))
        self.methods: dict[str, Any] = dict(data["methods"])
        self.types: dict[str, Any] = dict(data["types"])

    @classmethod
    def load(cls, path: Path) -> BotApiSpec:
        return _load_spec(str(path))

    # -- requests -----------------------------------------------------------

    def check_request(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """What is wrong with a call of `method` with these (form) parameters."""
        spec = self.methods.get(method)
        if spec is None:
            return [f"{method}: no such method in {self.version or 'the Bot API'}"]
        fields = {f["name"]: f for f in spec.get("fields", [])}
        problems = [
            f"{method}: missing required parameter {name!r}"
            for name, f in fields.items()
            if f["required"] and name not in params
        ]
        for name, value in params.items():
            f = fields.get(name)
            if f is None:
                problems.append(f"{method}: unknown parameter {name!r}")
                continue
            if not any(self._param_is(t, value) for t in f["types"]):
                shown = "<file>" if isinstance(value, FileField) else repr(value)[:60]
                problems.append(f"{method}.{name}: {shown} is not {' or '.join(f['types'])}")
        return problems

    def _param_is(self, type_expr: str, raw: Any) -> bool:
        if type_expr == "InputFile":
            return isinstance(raw, FileField) or (
                isinstance(raw, str) and raw.startswith("attach://")
            )
        if isinstance(raw, FileField) or not isinstance(raw, str):
            return False
        if type_expr == "String":
            return True
        if type_expr == "Integer":
            return raw.lstrip("-").isdigit()
        if type_expr == "Float":
            try:
                float(raw)
            except ValueError:
                return False
            return True
        if type_expr == "Boolean":
            return raw in ("true", "false")
        try:
            value = json.loads(raw)
        except ValueError:
            return False
        return not self.check_value(type_expr, value, "")

    # -- results and updates ------------------------------------------------

    def check_result(self, method: str, value: Any) -> list[str]:
        returns = self.methods[method]["returns"]
        problems: list[list[str]] = [self.check_value(t, value, method) for t in returns]
        return [] if any(not p for p in problems) else problems[0]

    def check_update(self, update: Mapping[str, Any]) -> list[str]:
        problems = self.check_value("Update", update, "Update")
        kinds = [k for k in update if k != "update_id"]
        if len(kinds) != 1:
            problems.append(f"Update: exactly one kind of content expected, got {kinds}")
        return problems

    def check_value(self, type_expr: str, value: Any, path: str) -> list[str]:
        """Problems with `value` as a `type_expr` ("Integer", "Array of PhotoSize", "Message")."""
        if type_expr.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected an array, got {type(value).__name__}"]
            inner = type_expr.removeprefix("Array of ")
            out: list[str] = []
            for index, item in enumerate(value):
                out += self.check_value(inner, item, f"{path}[{index}]")
            return out
        primitive = _PRIMITIVES.get(type_expr)
        if primitive is not None:
            return [] if primitive(value) else [f"{path}: {value!r:.40} is not {type_expr}"]
        spec = self.types.get(type_expr)
        if spec is None:
            return [f"{path}: unknown type {type_expr}"]
        if spec.get("subtypes"):
            tries = [self.check_value(t, value, path) for t in spec["subtypes"]]
            if any(not t for t in tries):
                return []
            return [f"{path}: matches none of {type_expr}'s kinds ({tries[0][0]})"]
        if not isinstance(value, dict):
            return [f"{path}: expected a {type_expr} object, got {type(value).__name__}"]
        fields = {f["name"]: f for f in spec.get("fields", [])}
        out = [
            f"{path}: {type_expr} lacks required field {name!r}"
            for name, f in fields.items()
            if f["required"] and name not in value
        ]
        for name, item in value.items():
            f = fields.get(name)
            if f is None:
                out.append(f"{path}: {type_expr} has no field {name!r}")
                continue
            tries = [self.check_value(t, item, f"{path}.{name}") for t in f["types"]]
            if all(tries):
                out += tries[0]
        return out


_PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
}


@cache
def _load_spec(path: str) -> BotApiSpec:
    return BotApiSpec(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class Customer:
    """A Telegram user who writes to the bot."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def user(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def chat(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            out["last_name"] = self.last_name
        if self.username is not None:
            out["username"] = self.username
        return out


@dataclass(slots=True)
class Fault:
    status: int
    description: str
    retry_after: int | None = None
    skip: int = 0  # calls to let through before this one fails


@dataclass(slots=True)
class Hold:
    """Stalls every call of a method until released (to kill a client mid-call)."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass(slots=True)
class StoredFile:
    file_id: str
    unique_id: str
    path: str
    data: bytes
    size: int  # what Telegram reports (may exceed len(data) to stand for a huge file)


@dataclass(slots=True)
class Sent:
    """A message the bot sent."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    caption: str | None = None
    file: bytes | None = None
    filename: str | None = None
    at: float = 0.0


class BotApiPeer:
    """One bot's Bot API on 127.0.0.1. `await peer.start()`, `await peer.stop()`."""

    def __init__(self, spec: BotApiSpec, token: str = TOKEN) -> None:
        self.spec = spec
        self.token = token
        self.port = 0
        self.violations: list[str] = []
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []  # queued, not yet confirmed
        self.unchecked: set[int] = set()  # update ids deliberately malformed
        self.served: list[int] = []  # update ids, in the order they were served
        self.served_at: dict[int, float] = {}  # update id -> when first served
        self.sent: list[Sent] = []
        self.files: dict[str, StoredFile] = {}
        self.downloads: list[str] = []  # file ids downloaded
        self.blocked: set[int] = set()
        self.callbacks: dict[str, bool] = {}  # callback query id -> answered
        self.answered: list[tuple[str, str | None]] = []  # (query id, the text shown)
        self.webhook: dict[str, Any] = {}
        self.allowed_updates: list[str] | None = None
        self.faults: dict[str, deque[Fault]] = {}
        self.holds: dict[str, Hold] = {}
        self.on_served: Callable[[list[int]], None] | None = None
        # getUpdates calls cut short (409) by another poller while their client still
        # waited: two receivers overlapping. A poll whose client hung up, or one ended
        # by stop(), does not count.
        self.conflicts = 0
        self._stopping = False
        # At most this many updates per getUpdates, whatever `limit` asks: Telegram
        # may serve fewer than the limit, and a busy bot's backlog arrives in pages.
        self.page_size: int | None = None
        self._update_ids = itertools.count(10_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._file_ids = itertools.count(1)
        self._news = asyncio.Condition()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None

    # -- server -------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        """Serve on `port` (0: any free one; the old port brings a stopped peer back)."""
        self._stopping = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for hold in self.holds.values():
            hold.release()
        self._stopping = True
        self._poll_generation += 1  # ends waiting long polls now, not at their timeout
        async with self._news:
            self._news.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what a test does to the bot ---------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """Answer a call of `method` with this error: the next one, or the one after
        `after` successful calls. Queue several for several calls."""
        fault = Fault(status, description, retry_after, after)
        self.faults.setdefault(method, deque()).append(fault)

    def hold(self, method: str) -> Hold:
        hold = Hold()
        self.holds[method] = hold
        return hold

    def add_file(
        self, data: bytes, *, kind: str = "documents", size: int | None = None
    ) -> StoredFile:
        """A file on the Bot API server; `size` can claim more than `data` holds."""
        n = next(self._file_ids)
        digest = hashlib.sha1(data).hexdigest()[:10]
        stored = StoredFile(
            file_id=f"FILE{n:04d}-{digest}",
            unique_id=f"U{n:04d}{digest[:6]}",
            path=f"{kind}/file_{n}.bin",
            data=data,
            size=len(data) if size is None else size,
        )
        self.files[stored.file_id] = stored
        return stored

    def push(self, update_body: Mapping[str, Any], *, check: bool = True) -> dict[str, Any]:
        """Queue an update (`{"message": {...}}` and the like); returns it with its id."""
        update = {"update_id": next(self._update_ids), **update_body}
        if check:
            self._record(self.spec.check_update(update), "pushed update")
        else:
            self.unchecked.add(update["update_id"])
        self.updates.append(update)
        self._wake()
        return update

    def message(self, customer: Customer, **content: Any) -> dict[str, Any]:
        """A new message from `customer` in their private chat with the bot, queued."""
        body = self.new_message(customer.chat(), customer.user(), **content)
        return self.push({"message": body})

    def compose(self, customer: Customer, **content: Any) -> dict[str, Any]:
        """An update with a new message from `customer`, not queued (for a webhook)."""
        body = self.new_message(customer.chat(), customer.user(), **content)
        return {"update_id": next(self._update_ids), "message": body}

    def new_message(
        self, chat: Mapping[str, Any], sender: Mapping[str, Any] | None, **content: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": self.next_message_id(int(chat["id"])),
            "date": int(time.time()),
            "chat": dict(chat),
        }
        if sender is not None:
            body["from"] = dict(sender)
        body.update(content)
        return body

    def edit(self, original: Mapping[str, Any], **content: Any) -> dict[str, Any]:
        """The customer edits a message they sent (an `edited_message` update)."""
        message = dict(original["message"])
        for key in ("text", "caption"):
            message.pop(key, None)
        message.update(content)
        message["edit_date"] = int(time.time())
        return self.push({"edited_message": message})

    def text(self, customer: Customer, text: str) -> dict[str, Any]:
        return self.message(customer, text=text)

    def tap(self, customer: Customer, sent: Sent, data: str) -> dict[str, Any]:
        """`customer` taps an inline button with callback `data` under the bot's
        message `sent` (a `callback_query` update, queued)."""
        query_id = str(next(self._update_ids) * 7919)
        self.callbacks[query_id] = False
        message = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": customer.chat(),
            "from": self.bot_user_short(),
            "text": sent.text or "",
        }
        query = {
            "id": query_id,
            "from": customer.user(),
            "message": message,
            "chat_instance": f"-{customer.id}{BOT_ID}",
            "data": data,
        }
        return self.push({"callback_query": query})

    def photo(
        self, customer: Customer, data: bytes, *, caption: str | None = None
    ) -> dict[str, Any]:
        small = self.add_file(data[: max(1, len(data) // 8)], kind="photos")
        large = self.add_file(data, kind="photos")
        sizes = [
            self._photo_size(small, 90, 67),
            self._photo_size(large, 1280, 960),
        ]
        extra = {"caption": caption} if caption is not None else {}
        return self.message(customer, photo=sizes, **extra)

    def document(
        self,
        customer: Customer,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        size: int | None = None,
    ) -> dict[str, Any]:
        stored = self.add_file(data, size=size)
        doc = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        extra = {"caption": caption} if caption is not None else {}
        return self.message(customer, document=doc, **extra)

    def voice(self, customer: Customer, data: bytes, *, duration: int) -> dict[str, Any]:
        stored = self.add_file(data, kind="voice")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return self.message(customer, voice=voice)

    def sticker(self, customer: Customer, emoji: str) -> dict[str, Any]:
        stored = self.add_file(b"RIFF....WEBPVP8 ", kind="stickers")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "SakuraShop",
            "file_size": stored.size,
        }
        return self.message(customer, sticker=sticker)

    def location(self, customer: Customer, latitude: float, longitude: float) -> dict[str, Any]:
        return self.message(customer, location={"latitude": latitude, "longitude": longitude})

    def contact(
        self,
        customer: Customer,
        phone_number: str,
        *,
        first_name: str,
        last_name: str | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        card: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if last_name is not None:
            card["last_name"] = last_name
        if user_id is not None:
            card["user_id"] = user_id
        return self.message(customer, contact=card)

    def group_message(self, customer: Customer, title: str, text: str) -> dict[str, Any]:
        chat = {"id": -1001234567890, "type": "supergroup", "title": title}
        return self.push({"message": self.new_message(chat, customer.user(), text=text)})

    def next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _photo_size(self, stored: StoredFile, width: int, height: int) -> dict[str, Any]:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": width,
            "height": height,
            "file_size": stored.size,
        }

    async def send_webhook(
        self, update: Mapping[str, Any], *, secret: str | None = "from-setWebhook"
    ) -> int:
        """POST `update` to the webhook as Telegram does; returns the HTTP status.

        `secret` is sent as X-Telegram-Bot-Api-Secret-Token: by default the
        one given to setWebhook; None sends no header.
        """
        self._record(self.spec.check_update(update), "webhook update")
        return await self.post_to_webhook(json.dumps(update).encode(), secret=secret)

    async def post_to_webhook(
        self,
        body: bytes | AsyncIterator[bytes],
        *,
        secret: str | None = "from-setWebhook",
    ) -> int:
        """POST any body to the webhook (not checked against the spec: what a broken
        proxy or someone who learnt the secret might send); returns the HTTP status.

        An async iterator is sent in chunks, without a Content-Length.
        """
        url = self.webhook.get("url")
        assert url, "no webhook is set"
        token = self.webhook.get("secret_token") if secret == "from-setWebhook" else secret
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        async with (
            ClientSession(timeout=ClientTimeout(total=30)) as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    # -- request handling ---------------------------------------------------

    def _record(self, problems: list[str], where: str) -> None:
        self.violations.extend(f"{where}: {p}" for p in problems)

    def _wake(self) -> None:
        async def notify() -> None:
            async with self._news:
                self._news.notify_all()

        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(notify())

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = unquote(request.raw_path.split("?", 1)[0])
        file_prefix = f"/file/bot{self.token}/"
        if path.startswith("/file/bot"):
            if not path.startswith(file_prefix):
                return web.Response(status=401, text="Unauthorized")
            return self._download(path.removeprefix(file_prefix))
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return _error(401, "Unauthorized")
        method = path.removeprefix(prefix)
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            try:
                if request.content_type == "application/json":
                    body = await request.json()
                    params.update(
                        {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
                    )
                else:
                    params.update(await request.post())
            except ConnectionResetError:  # the client gave up mid-request (a stopping poller)
                return web.Response(status=499)
        self.calls.append(Call(method, params, time.monotonic()))
        problems = self.spec.check_request(method, params)
        if method not in self.spec.methods:
            self._record(problems, "request")
            return _error(404, "Not Found: method not found")
        if problems:
            self._record(problems, "request")
            return _error(400, f"Bad Request: {problems[0]}")
        hold = self.holds.get(method)
        if hold is not None:
            hold.reached.set()
            await hold.released.wait()
        faults = self.faults.get(method)
        if faults and faults[0].skip > 0:
            faults[0].skip -= 1
        elif faults:
            fault = faults.popleft()
            return _error(fault.status, fault.description, fault.retry_after)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self.violations.append(f"request: {method} is valid but this peer does not serve it")
            return _error(501, f"{method} is not implemented by the test peer")
        transport = request.transport
        outcome = await handler(
            _Params(params, lambda: transport is None or transport.is_closing())
        )
        if isinstance(outcome, web.Response):
            return outcome
        self._record(self.spec.check_result(method, outcome), f"{method} result")
        return web.json_response({"ok": True, "result": outcome})

    def _download(self, file_path: str) -> web.Response:
        for stored in self.files.values():
            if stored.path == file_path:
                self.downloads.append(stored.file_id)
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # -- methods ------------------------------------------------------------

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Sakura Flowers",
            "username": "sakura_flowers_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getMe(self, p: _Params) -> Any:
        return self.bot_user()

    async def _api_getUpdates(self, p: _Params) -> Any:
        if self.webhook.get("url"):
            return _error(409, CONFLICT_WEBHOOK)
        offset = p.integer("offset")
        limit = p.integer("limit") or 100
        if self.page_size is not None:
            limit = min(limit, self.page_size)
        timeout = p.integer("timeout") or 0
        if p.has("allowed_updates"):
            self.allowed_updates = p.decoded("allowed_updates") or None
        if offset is not None:
            if offset < 0:
                self.updates = self.updates[offset:]
            else:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        async with self._news:
            self._news.notify_all()
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                if not p.gone() and not self._stopping:
                    self.conflicts += 1
                return _error(409, CONFLICT_POLLER)
            if p.gone():
                return []  # nobody to serve: the updates stay queued, as on Telegram
            ready = [u for u in self.updates if self._wanted(u)][:limit]
            if ready:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            async with self._news:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._news.wait(), left)
        now = time.monotonic()
        ids = [u["update_id"] for u in ready]
        for update in ready:
            if update["update_id"] not in self.unchecked:
                self._record(self.spec.check_update(update), "served update")
            self.served_at.setdefault(update["update_id"], now)
        self.served.extend(ids)
        if self.on_served is not None:
            self.on_served(ids)
        # Unchecked (malformed) updates skip the result check: they are wrong on purpose.
        if any(i in self.unchecked for i in ids):
            return web.json_response({"ok": True, "result": ready})
        return ready

    def _wanted(self, update: Mapping[str, Any]) -> bool:
        if not self.allowed_updates:
            return True
        return any(kind in update for kind in self.allowed_updates)

    async def _api_deleteWebhook(self, p: _Params) -> Any:
        self.webhook = {}
        if p.flag("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _api_setWebhook(self, p: _Params) -> Any:
        secret = p.text("secret_token")
        if secret is not None and not (
            1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)
        ):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": p.text("url") or "", "secret_token": secret}
        if p.has("allowed_updates"):
            self.allowed_updates = p.decoded("allowed_updates") or None
        return True

    async def _api_getWebhookInfo(self, p: _Params) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    async def _api_getFile(self, p: _Params) -> Any:
        stored = self.files.get(p.text("file_id") or "")
        if stored is None:
            return _error(400, "Bad Request: invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            return _error(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": stored.size,
            "file_path": stored.path,
        }

    def _chat_for(self, p: _Params) -> tuple[int, web.Response | None]:
        chat_id = p.integer("chat_id")
        if chat_id is None:
            return 0, _error(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            return chat_id, _error(403, BLOCKED)
        return chat_id, None

    def _sent_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": "Customer"}
        return self.new_message(chat, self.bot_user_short(), **content)

    def bot_user_short(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Sakura Flowers",
            "username": "sakura_flowers_bot",
        }

    async def _api_sendMessage(self, p: _Params) -> Any:
        chat_id, refusal = self._chat_for(p)
        if refusal is not None:
            return refusal
        text = p.text("text") or ""
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        message = self._sent_message(chat_id, text=text)
        self.sent.append(
            Sent("sendMessage", chat_id, message["message_id"], text, at=time.monotonic())
        )
        return message

    async def _api_answerCallbackQuery(self, p: _Params) -> Any:
        query_id = p.text("callback_query_id") or ""
        text = p.text("text")
        if text is not None and len(text) > 200:
            return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        if self.callbacks.get(query_id, True):  # unknown, or answered before
            return _error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.callbacks[query_id] = True
        self.answered.append((query_id, text))
        return True

    async def _api_sendPhoto(self, p: _Params) -> Any:
        return await self._send_file(p, "photo")

    async def _api_sendDocument(self, p: _Params) -> Any:
        return await self._send_file(p, "document")

    async def _send_file(self, p: _Params, kind: str) -> Any:
        chat_id, refusal = self._chat_for(p)
        if refusal is not None:
            return refusal
        raw = p.raw(kind)
        if isinstance(raw, FileField):
            data, filename = raw.file.read(), raw.filename
        elif isinstance(raw, str) and raw in self.files:
            data, filename = self.files[raw].data, None
        else:
            return _error(400, "Bad Request: wrong file identifier/HTTP URL specified")
        stored = self.add_file(data, kind=f"{kind}s")
        caption = p.text("caption")
        content: dict[str, Any] = {}
        if kind == "photo":
            content["photo"] = [self._photo_size(stored, 800, 600)]
        else:
            content["document"] = {
                "file_id": stored.file_id,
                "file_unique_id": stored.unique_id,
                "file_name": filename or "file",
                "file_size": stored.size,
            }
        if caption:
            content["caption"] = caption
        message = self._sent_message(chat_id, **content)
        self.sent.append(
            Sent(
                f"send{kind.title()}",
                chat_id,
                message["message_id"],
                None,
                caption=caption,
                file=data,
                filename=filename,
                at=time.monotonic(),
            )
        )
        return message


class _Params:
    """Form parameters as PTB sends them: strings holding JSON for anything else."""

    def __init__(self, values: Mapping[str, Any], gone: Callable[[], bool] = lambda: False) -> None:
        self._values = values
        self.gone = gone  # the client hung up (a long poll it gave up on)

    def has(self, name: str) -> bool:
        return name in self._values

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        return value if isinstance(value, str) else None

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        return int(value) if value is not None and value.lstrip("-").isdigit() else None

    def flag(self, name: str) -> bool:
        return self.text(name) == "true"

    def decoded(self, name: str) -> Any:
        value = self.text(name)
        return json.loads(value) if value is not None else None


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
