"""A "web form" channel for OmniTUI: the messages of the shop's website contact form.

The website's server (or the shop's proxy) posts each filled-in form to this
channel's `listen` address, a loopback one behind the proxy:

    POST /form   (application/x-www-form-urlencoded, multipart/form-data or JSON)
    X-Webform-Secret: <the shared secret>            or
    X-Webform-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>
    Idempotency-Key: <the form's own id, optional>

    name=Hanako Yamada&email=hanako@example.jp&message=...&phone=...&subject=...

The answer comes once the message is in OmniTUI's store: 200 `{"stored": true,
"id": ...}`. A post without the secret is answered 403, a missing or
malformed field 400 naming it, a body over `max_bytes` 413, a store that
cannot take it in time 503 (the website may post it again). A form posted
again (the same `Idempotency-Key`, or the same fields when there is none) is
stored once, so a website that retries after a lost answer never doubles it.

The customer is known by their email address, so a form joins the contact
that already writes to the shop by email. A web form cannot carry an answer:
the console replies on the shop's email channel, and a reply put on the form
itself fails saying so.

Only the names of `omnitui.adapters.plugin` are used: it is written for
OmniTUI's plugin API 1.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from importlib import metadata
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnitui.adapters.plugin import (
    CONNECTED,
    CONNECTING,
    STOPPED,
    Adapter,
    Channel,
    ChannelKind,
    ChannelState,
    ChannelTrouble,
    Health,
    IdentityKind,
    Inbound,
    LoopbackListen,
    Outbound,
    PluginConfig,
    PromptSink,
    Secret,
    Sink,
    SinkBusy,
    cannot_reply,
)

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("omnitui_webform")

KIND = "webform"
LABEL = "web form"
# The longest a field may be, in characters; a longer one is refused (400).
LIMITS = {"name": 200, "email": 254, "subject": 300, "phone": 40, "message": 20_000}
REQUIRED = ("name", "email", "message")
_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")


def _version() -> str:
    try:
        return metadata.version("omnitui-webform")
    except metadata.PackageNotFoundError:
        return "0.1.0 (not installed)"


class WebformOptions(BaseModel):
    """The `[[plugin]]` keys of a web form channel (besides `adapter` and `name`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    listen: LoopbackListen  # "127.0.0.1:8780": behind the shop's proxy
    path: str = "/form"
    secret_env: str | None = None  # the secret the website sends (or signs the body with)
    secret_cmd: str | None = None
    max_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = 65_536
    store_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0  # a post waits this for the store

    @model_validator(mode="before")
    @classmethod
    def _one_secret(cls, values: Any) -> Any:
        if isinstance(values, dict):
            has_env, has_cmd = "secret_env" in values, "secret_cmd" in values
            if has_env and has_cmd:
                raise ValueError("give secret_env or secret_cmd, not both")
            if not has_env and not has_cmd:
                raise ValueError("missing secret_env (or secret_cmd): strangers must not post")
        return values

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/") or any(c in path for c in "{}?# "):
            raise ValueError(f"path must be a plain path starting with / (not {path!r})")
        return path

    def secret(self) -> Secret:
        return Secret(self.secret_env, self.secret_cmd, "[[plugin]] webform secret")


class Refused(Exception):
    """A post not taken: its status and what the website is told."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def form_fields(values: dict[str, str]) -> dict[str, str]:
    """The form's fields, trimmed and checked; `Refused` (400) names what is wrong."""
    fields = {key: values.get(key, "").strip() for key in LIMITS}
    missing = [key for key in REQUIRED if not fields[key]]
    if missing:
        raise Refused(400, "missing fields: " + ", ".join(missing))
    long = [key for key, limit in LIMITS.items() if len(fields[key]) > limit]
    if long:
        raise Refused(400, "too long: " + ", ".join(long))
    if not _EMAIL.fullmatch(fields["email"]):
        raise Refused(400, "email is not an email address")
    fields["email"] = fields["email"].lower()
    return fields


def provider_id(fields: dict[str, str], key: str | None) -> str:
    """The same form posted twice gets the same id (so it is stored once)."""
    if key:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    canonical = json.dumps([fields[k] for k in sorted(LIMITS)], ensure_ascii=False)
    return "form:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


class WebformAdapter:
    """One web form channel: listens on `listen`, stores each good post, answers."""

    def __init__(self, name: str, options: WebformOptions) -> None:
        self._channel = Channel(ChannelKind(KIND), name)
        self.options = options
        self._health = STOPPED
        self._secret = ""

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def health(self) -> Health:
        return self._health

    async def run(self, sink: Sink) -> None:
        from aiohttp import web

        self._health = CONNECTING
        self._secret = await asyncio.to_thread(self.options.secret().reveal)
        app = web.Application(client_max_size=self.options.max_bytes)

        async def handle(request: web.Request) -> web.Response:
            return await self._handle(request, sink)

        app.router.add_post(self.options.path, handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        listen = self.options.listen
        try:
            try:
                await web.TCPSite(runner, listen.bind_host, listen.port).start()
            except OSError as exc:
                self._health = Health(
                    ChannelState.FAILED,
                    ChannelTrouble(
                        "cannot listen on {listen}: {reason}", listen=listen, reason=exc
                    ),
                )
                raise
            self._health = CONNECTED
            log.info(
                "%s: web form listening on %s%s", self._channel.account, listen, self.options.path
            )
            await asyncio.Event().wait()
        finally:
            if self._health is CONNECTED:
                self._health = STOPPED
            await runner.cleanup()

    async def _handle(self, request: web.Request, sink: Sink) -> web.Response:
        from aiohttp import web

        try:
            body = await self._read(request)
            self._check_secret(request, body)
            fields = form_fields(self._parse(request, body))
        except Refused as exc:
            log.warning(
                "%s: refused a post from %s: %s (answered %d)",
                self._channel.account,
                request.remote,
                exc.error,
                exc.status,
            )
            return web.json_response({"stored": False, "error": exc.error}, status=exc.status)
        key = request.headers.get("Idempotency-Key", "").strip()[:200] or None
        item = inbound(self._channel, fields, provider_id(fields, key))
        try:
            if isinstance(sink, PromptSink):
                await sink.deliver_within([item], self.options.store_seconds)
            else:
                await asyncio.wait_for(sink.deliver([item]), self.options.store_seconds)
        except (SinkBusy, TimeoutError):
            return web.json_response(
                {"stored": False, "error": "busy, post it again"},
                status=503,
                headers={"Retry-After": "30"},
            )
        except Exception:
            log.exception("%s: a post was not stored", self._channel.account)
            return web.json_response({"stored": False, "error": "not stored"}, status=500)
        return web.json_response({"stored": True, "id": item.provider_id})

    async def _read(self, request: web.Request) -> bytes:
        from aiohttp import web

        too_big = Refused(413, f"the body is over {self.options.max_bytes} bytes")
        if (request.content_length or 0) > self.options.max_bytes:
            raise too_big
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:  # sent in chunks, without a length
            raise too_big from None

    def _check_secret(self, request: web.Request, body: bytes) -> None:
        given = request.headers.get("X-Webform-Secret")
        if given is not None and hmac.compare_digest(given.encode(), self._secret.encode()):
            return
        signature = request.headers.get("X-Webform-Signature", "")
        if signature.startswith("sha256="):
            wanted = hmac.new(self._secret.encode(), body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(signature.removeprefix("sha256=").lower(), wanted):
                return
        raise Refused(403, "no valid X-Webform-Secret or X-Webform-Signature")

    def _parse(self, request: web.Request, body: bytes) -> dict[str, str]:
        """The posted fields, from a form, a multipart form or a JSON object."""
        kind = request.content_type
        try:
            if kind == "application/json":
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise Refused(400, "the JSON body is not an object")
                return {str(k): v for k, v in data.items() if isinstance(v, str)}
            if kind == "multipart/form-data":
                return _multipart(request, body)
            from urllib.parse import parse_qsl

            text = body.decode(request.charset or "utf-8")
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=50))
        except (ValueError, UnicodeDecodeError) as exc:
            raise Refused(400, "the body is not a form") from exc

    async def send(self, message: Outbound) -> str:
        raise cannot_reply(LABEL)

    async def close(self) -> None:
        return None


def _multipart(request: web.Request, body: bytes) -> dict[str, str]:
    """A multipart form's text fields (files are not taken)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode()
    parsed = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and part.get_filename() is None:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                fields[name] = payload.decode(part.get_content_charset() or "utf-8")
    return fields


def inbound(channel: Channel, fields: dict[str, str], pid: str) -> Inbound:
    """The message a form makes: from its email address, its text with the phone under it."""
    text = fields["message"]
    if fields["phone"]:
        text += f"\n\nPhone: {fields['phone']}"
    return Inbound(
        channel=channel,
        provider_id=pid,
        address=fields["email"],
        display_name=fields["name"],
        text=text,
        subject=fields["subject"],
        sent_at=time.time(),
        meta={"form": {k: fields[k] for k in ("phone",) if fields[k]}},
    )


class WebformPlugin:
    """The plugin the `webform` entry point names."""

    name = "webform"
    version = _version()
    api_version = 1
    kind = KIND
    identity = IdentityKind.EMAIL  # the customer is their email address
    label = LABEL
    label_ja = "ウェブフォーム"  # the Japanese console's name for it
    mark = "W"
    icon = "▤"
    replies = False  # a web form cannot carry an answer: the shop's email does
    options = WebformOptions

    def build(self, config: PluginConfig, options: Any) -> Adapter:
        assert isinstance(options, WebformOptions)
        return WebformAdapter(config.name, options)


plugin = WebformPlugin()
