"""Twilio's side of SMS: its error codes and states in words, a webhook's fields,
the SDK pointed at `api_base`, and its failures as OmniTUI says them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import mimetypes
import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urljoin, urlsplit, urlunsplit

from omnitui.adapters.base import SendError
from omnitui.config import SmsConfig
from omnitui.domain.identity import InvalidAddress, normalize_phone
from omnitui.domain.models import (
    Channel,
    Delivery,
    DeliveryUpdate,
    IdentityKind,
    Inbound,
    InboundAttachment,
)
from omnitui.domain.sms import one_way_in_japan
from omnitui.errors import OmniError

if TYPE_CHECKING:
    pass


# The SDK logs every request and its query (phone numbers) at INFO: keep it quiet.
SDK_LOG = logging.getLogger("omnitui.sms.sdk")


TWILIO_API = "https://api.twilio.com"


HTTP_TIMEOUT = 30.0


_COUNT = re.compile(r"[0-9]{1,18}")  # a count in a payload: plain ASCII digits


OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})


OPT_IN = frozenset({"start", "yes", "unstop"})


# Twilio error codes an agent should read in words.
ERROR_WORDS: Mapping[int, str] = {
    20003: "authentication error: wrong account SID or auth token",
    20404: "not found at Twilio",
    20429: "rate limited by Twilio (too many requests)",
    21211: "invalid To number",
    21408: "sending to this country is not enabled on the Twilio account",
    21606: "the From number cannot send SMS",
    21610: "the customer replied STOP (unsubscribed)",
    21612: "Twilio cannot route SMS between these two numbers",
    21614: "the To number cannot receive SMS",
    21617: "the message is too long (over 1,600 characters)",
    30001: "Twilio's queue was full",
    30002: "the Twilio account is suspended",
    30003: "unreachable handset (phone off or out of coverage)",
    30004: "blocked (by the recipient or their carrier)",
    30005: "unknown handset (the number does not exist)",
    30006: "landline or unreachable carrier",
    30007: "carrier filtered (looks like spam to the carrier)",
    30008: "unknown error from the carrier",
}


# Twilio's MessageStatus -> our delivery state.
STATES: Mapping[str, Delivery] = {
    "accepted": Delivery.QUEUED,
    "scheduled": Delivery.QUEUED,
    "queued": Delivery.QUEUED,
    "sending": Delivery.SENDING,
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.DELIVERED,
    "partially_delivered": Delivery.DELIVERED,
    "undelivered": Delivery.FAILED,
    "failed": Delivery.FAILED,
    "canceled": Delivery.FAILED,
}


SETTLED = frozenset({"delivered", "read", "undelivered", "failed", "canceled"})


class BadPayload(OmniError, ValueError):
    """A signed webhook whose fields make no sense (answered 400). Its words carry no
    customer text."""


def payload_count(params: Mapping[str, str], name: str) -> int:
    """A count a webhook gives (NumMedia, NumSegments): 0 when absent, else plain digits."""
    raw = params.get(name, "")
    if raw == "":
        return 0
    if not _COUNT.fullmatch(raw):
        raise BadPayload("{name} is not a count ({raw})", name=name, raw=repr(raw[:20]))
    return int(raw)


def error_code(raw: str) -> int | None:
    """A status callback's ErrorCode, or None when it is not a plain number."""
    return int(raw) if _COUNT.fullmatch(raw) and len(raw) <= 6 else None


def describe(code: int | None) -> str:
    """A Twilio error code in words, with the code for looking it up."""
    if code is None:
        return "no reason given"
    words = ERROR_WORDS.get(code)
    return f"{words} (Twilio error {code})" if words else f"Twilio error {code}"


def consent_keyword(text: str) -> bool | None:
    """True for an opt-out keyword (STOP...), False for an opt-in (START...), else None.

    Only a message that is the keyword alone counts, in any case; full-width
    letters from a Japanese keyboard count too.
    """
    word = unicodedata.normalize("NFKC", text).strip().casefold()
    if word in OPT_OUT:
        return True
    if word in OPT_IN:
        return False
    return None


def delivery_update(
    channel: Channel, sid: str, status: str, error_code: int | None
) -> DeliveryUpdate | None:
    """Twilio's word on a message we sent, as the store takes it (None: not a state)."""
    state = STATES.get(status)
    if state is None:
        return None
    reason = ""
    if status == "undelivered":
        reason = f"not delivered: {describe(error_code)}"
    elif status == "failed":
        reason = f"Twilio could not send it: {describe(error_code)}"
    elif status == "canceled":
        reason = "canceled before it was sent"
    return DeliveryUpdate(channel, sid, state, reason)


@runtime_checkable
class ConsentBook(Protocol):
    """Where opt-outs are recorded (the store)."""

    async def set_opted_out(
        self, kind: IdentityKind, address: str, opted_out: bool, *, region: str | None = None
    ) -> int: ...


def rebase(url: str, api_base: str) -> str:
    """`url` with its scheme and host (and a path prefix) taken from `api_base`."""
    base = urlsplit(api_base)
    parts = urlsplit(url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


def api_http_client(api_base: str = TWILIO_API, *, timeout: float = HTTP_TIMEOUT) -> Any:
    """The SDK's `http_client`: Twilio's own, or one that sends every request to `api_base`.

    Rewriting each URL (rather than setting `client.api.base_url`) keeps
    working whatever domain, edge or region the SDK builds the URL for.
    """
    from twilio.http.http_client import TwilioHttpClient

    if api_base.rstrip("/") == TWILIO_API:
        return TwilioHttpClient(timeout=timeout, logger=SDK_LOG)

    class ApiBaseHttpClient(TwilioHttpClient):  # type: ignore[misc]
        def request(
            self,
            method: str,
            url: str,
            params: dict[str, object] | None = None,
            data: dict[str, object] | None = None,
            headers: dict[str, str] | None = None,
            auth: tuple[str, str] | None = None,
            timeout: float | None = None,
            allow_redirects: bool = False,
        ) -> Any:
            return super().request(
                method,
                rebase(url, api_base),
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=timeout,
                allow_redirects=allow_redirects,
            )

    return ApiBaseHttpClient(timeout=timeout, logger=SDK_LOG)


@dataclass(frozen=True, slots=True)
class PollCursor:
    """Messages sent on or after `after` (UTC) are listed; `seen` are those already taken."""

    after: date
    seen: frozenset[str]

    def dump(self) -> str:
        return json.dumps({"after": self.after.isoformat(), "seen": sorted(self.seen)})

    @classmethod
    def load(cls, text: str | None) -> PollCursor | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(date.fromisoformat(data["after"]), frozenset(map(str, data["seen"])))
        except (ValueError, KeyError, TypeError):
            return None


def e164(raw: str, region: str | None) -> str:
    try:
        return normalize_phone(raw, region)
    except InvalidAddress:
        return raw.strip()


def utc_of(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        with contextlib.suppress(TypeError, ValueError):
            return parsedate_to_datetime(value)
    return None


def media_name(index: int, content_type: str, sid: str = "") -> str:
    ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
    return f"{sid or f'mms-{index + 1}'}{ext}"


def too_big(cap: int) -> str:
    size = f"{cap / 1024 / 1024:.0f} MB" if cap >= 1024 * 1024 else f"{cap / 1024:.0f} KB"
    return f"not downloaded: larger than {size}"


def refusal(exc: Any) -> SendError:
    """A `TwilioRestException` on create as a `SendError`."""
    status = int(getattr(exc, "status", 0) or 0)
    code = getattr(exc, "code", None)
    words = describe(code) if code else f"HTTP {status}"
    # What happens next (a retry, or none after the last attempt) is the hub's to say.
    if code == 20429 or status == 429:
        return SendError("{reason}", reason=words, retryable=True)
    if status == 503:
        # Twilio says it is unavailable: it did not take the message.
        return SendError("Twilio is unavailable ({reason})", reason=words, retryable=True)
    if status >= 500:
        return SendError(
            "Twilio failed ({reason}): it may or may not have taken the message, "
            "so it is not sent again by itself",
            reason=words,
            retryable=False,
        )
    return SendError("Twilio refused it: {reason}", reason=words, retryable=False)


def connection_failure(exc: BaseException, api_base: str) -> SendError:
    """A send that failed on the way: retryable only if it never reached Twilio."""
    if _never_connected(exc):
        return SendError("{reason}", reason=explain(exc, api_base), retryable=True)
    return SendError(
        "{reason}: it may or may not have been sent, so it is not sent again by itself",
        reason=explain(exc, api_base),
        retryable=False,
    )


def _never_connected(exc: BaseException) -> bool:
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        return isinstance(getattr(exc.args[0], "reason", None), NewConnectionError)
    return False


def explain(exc: BaseException, api_base: str = TWILIO_API) -> str:
    """What went wrong talking to Twilio, in words a shop owner can act on."""
    import requests
    from twilio.base.exceptions import TwilioException, TwilioRestException
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    host = urlsplit(api_base).netloc or api_base
    if isinstance(exc, TwilioRestException):
        status = int(exc.status or 0)
        if exc.code == 20003 or status == 401:
            return describe(20003)
        return describe(exc.code) if exc.code else f"Twilio answered HTTP {status}"
    if isinstance(exc, TwilioException):
        # list() errors carry the response, not a code.
        response = exc.args[1] if len(exc.args) > 1 else None
        status = int(getattr(response, "status_code", 0) or 0)
        if status == 401:
            return describe(20003)
        return f"Twilio answered HTTP {status}" if status else f"Twilio: {exc.args[0]}"
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", None)
        if isinstance(reason, NameResolutionError):
            return f"unknown host {host!r}"
        if isinstance(reason, NewConnectionError):
            if "refused" in str(reason).lower():
                return f"unreachable: {host} refused the connection"
            return f"unreachable: cannot connect to {host}"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS problem talking to {host}"
    if isinstance(exc, requests.exceptions.Timeout | TimeoutError):
        return f"unreachable: {host} did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection to {host} lost"
    return f"failed: {type(exc).__name__}"


class TwilioMedia:
    """An MMS's media, fetched with the account's credentials within a bound."""

    def __init__(
        self, api_base: str, account_sid: str, token: Callable[[], Awaitable[str]], cap: int
    ) -> None:
        self.api_base = api_base
        self.account_sid = account_sid
        self.token = token
        self.cap = cap

    async def download_all(
        self, media: Sequence[tuple[str, str, str]], *, within: float
    ) -> tuple[InboundAttachment, ...]:
        """A message's media, fetched side by side, all within `within` seconds; one
        that is not in by then is kept as a note."""
        if not media:
            return ()
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=within)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            tasks = [
                asyncio.ensure_future(self._download(session, n, url, kind, sid))
                for n, (url, kind, sid) in enumerate(media)
            ]
            done, late = await asyncio.wait(tasks, timeout=within)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        out = []
        for n, (task, (_, kind, sid)) in enumerate(zip(tasks, media, strict=True)):
            if task in done and task.exception() is None:
                out.append(task.result())
            else:
                note = f"not downloaded: not in within {within:g} s"
                out.append(InboundAttachment(media_name(n, kind, sid), kind, None, 0, note))
        return tuple(out)

    async def _download(
        self, session: Any, index: int, url: str, kind: str, sid: str
    ) -> InboundAttachment:
        """One MMS media file, fetched with the account's credentials; never raises.

        Twilio answers with a redirect to its media store: the credentials go
        to Twilio's API only, never to the host it redirects to.
        """
        import aiohttp

        name = media_name(index, kind, sid)
        host = urlsplit(url).hostname or ""
        if host == "api.twilio.com" or host.endswith(".twilio.com"):
            url = rebase(url, self.api_base)
        ours = urlsplit(url).netloc == urlsplit(self.api_base).netloc
        headers = {}
        if ours:
            token = await self.token()
            headers["Authorization"] = aiohttp.encode_basic_auth(self.account_sid, token)
        cap = self.cap
        try:
            for _ in range(4):
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = urljoin(url, response.headers.get("Location", ""))
                        headers = {}
                        continue
                    if response.status != 200:
                        return InboundAttachment(
                            name, kind, None, 0, f"not downloaded: HTTP {response.status}"
                        )
                    kind = response.content_type or kind
                    declared = response.content_length or 0
                    if declared > cap:
                        return InboundAttachment(name, kind, None, declared, too_big(cap))
                    data = bytearray()
                    async for chunk in response.content.iter_chunked(65536):
                        data += chunk
                        if len(data) > cap:
                            return InboundAttachment(name, kind, None, len(data), too_big(cap))
                    return InboundAttachment(name, kind, bytes(data), len(data))
            return InboundAttachment(name, kind, None, 0, "not downloaded: too many redirects")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return InboundAttachment(name, kind, None, 0, f"not downloaded: {type(exc).__name__}")


def listed_message(
    channel: Channel,
    m: Any,
    sent: datetime,
    region: str | None,
    attachments: tuple[InboundAttachment, ...],
) -> Inbound:
    """A message Twilio listed (polling, catching up) as the store takes it."""
    record = {
        "sid": m.sid,
        "from": m.from_,
        "to": m.to,
        "body": m.body,
        "status": m.status,
        "num_media": m.num_media,
        "num_segments": m.num_segments,
        "date_sent": sent.isoformat(),
    }
    return Inbound(
        channel=channel,
        provider_id=m.sid,
        address=e164(m.from_ or "", region),
        display_name="",
        text=m.body or "",
        sent_at=sent.timestamp(),
        raw=json.dumps(record, ensure_ascii=False).encode(),
        meta={"sid": m.sid, "segments": m.num_segments or ""},
        attachments=attachments,
        parse_error="" if m.from_ else "the message had no From number",
        opt_out=consent_keyword(m.body or "") if m.from_ else None,
    )


def japan_note(config: SmsConfig) -> str | None:
    """`omnitui doctor`'s note for an account that texts Japanese customers
    (its number is Japanese, or `default_region = "JP"`): they cannot answer
    by SMS. A note, not a failure: sending still works."""
    if not one_way_in_japan(e164(config.from_, config.default_region), config.default_region):
        return None
    return (
        "Japanese mobiles cannot reply by SMS (Twilio does not support two-way SMS in "
        "Japan): SMS to them is one-way; LINE is where they answer (a [[line]] account)"
    )


async def check(config: SmsConfig) -> list[tuple[bool, str]]:
    """`omnitui doctor` for one account: does the Account answer, and is `from` its number?"""
    try:
        token = await asyncio.to_thread(config.auth_token.reveal)
    except Exception as exc:
        return [(False, str(exc))]
    from omnitui.adapters.sms import SmsAdapter

    try:
        adapter = SmsAdapter(config, auth_token=lambda: token)
    except ValueError as exc:
        return [(False, str(exc))]
    client = await adapter.client()
    results: list[tuple[bool, str]] = []
    try:
        account = await asyncio.to_thread(
            lambda: client.api.v2010.accounts(config.account_sid).fetch()
        )
    except Exception as exc:
        await adapter.close()
        return [(False, f"Twilio {explain(exc, config.api_base)}")]
    active = account.status == "active"
    results.append(
        (active, f"Twilio account ok: {account.friendly_name!r} is {account.status}")
        if active
        else (False, f"Twilio account {account.friendly_name!r} is {account.status}")
    )
    try:
        numbers = await asyncio.to_thread(
            lambda: list(client.incoming_phone_numbers.list(phone_number=adapter.number, limit=20))
        )
    except Exception as exc:
        results.append(
            (False, f"could not list the account's numbers: {explain(exc, config.api_base)}")
        )
    else:
        if any(e164(n.phone_number or "", None) == adapter.number for n in numbers):
            results.append((True, f"number ok: {adapter.number} belongs to the account"))
        else:
            results.append(
                (False, f"from = {adapter.number} is not one of this account's phone numbers")
            )
    await adapter.close()
    return results


MAX_MEDIA = 10  # Twilio's limit of media per message


@dataclass(frozen=True, slots=True)
class WebhookForm:
    """A webhook's form, read and bounded: what it says and what is wrong with it."""

    sid: str
    sender: str
    raw: bytes
    problems: tuple[str, ...]
    segments: int
    media_count: int  # as Twilio said, maybe over MAX_MEDIA
    media: tuple[tuple[str, str, str], ...]  # (url, content type, name) of the first MAX_MEDIA


def read_webhook(params: Mapping[str, str]) -> WebhookForm:
    """A webhook's form; a count that is not a plain number raises `BadPayload`."""
    problems = []
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    raw = json.dumps(params, ensure_ascii=False, sort_keys=True).encode()
    if not sid:
        sid = "nosid:" + hashlib.sha256(raw).hexdigest()[:32]
        problems.append("the webhook had no MessageSid")
    sender = params.get("From", "")
    if not sender:
        problems.append("the webhook had no From number")
    count = payload_count(params, "NumMedia")
    segments = payload_count(params, "NumSegments")
    if count > MAX_MEDIA:
        problems.append(
            f"Twilio said it carried {count} media files: only the first {MAX_MEDIA} are taken"
        )
    media: list[tuple[str, str, str]] = []
    for n in range(min(count, MAX_MEDIA)):
        url = params.get(f"MediaUrl{n}")
        if url:
            kind = params.get(f"MediaContentType{n}", "application/octet-stream")
            media.append((url, kind, url.rstrip("/").rpartition("/")[2]))
    return WebhookForm(sid, sender, raw, tuple(problems), segments, count, tuple(media))


def webhook_message(
    channel: Channel,
    form: WebhookForm,
    params: Mapping[str, str],
    region: str | None,
    at: float,
    attachments: tuple[InboundAttachment, ...],
) -> Inbound:
    """A webhook's message as the store takes it; a form with fields missing is kept
    with a note."""
    text = params.get("Body", "")
    return Inbound(
        channel=channel,
        provider_id=form.sid,
        address=e164(form.sender, region),
        display_name="",
        text=text,
        sent_at=at,
        raw=form.raw,
        meta={"sid": form.sid, "segments": str(form.segments) if form.segments else ""},
        attachments=attachments,
        parse_error="; ".join(form.problems),
        opt_out=consent_keyword(text) if form.sender else None,
    )
