"""Telegram: the shop's bot, through python-telegram-bot (PTB).

Long polling by default (a shop server needs no public URL). We call
getUpdates ourselves instead of using PTB's `Updater`, which confirms an
update to Telegram as soon as it has fetched it. Here a batch is stored
together with the next offset in one transaction (`sink.deliver(...,
cursor={"offset": ...})`), and only the following getUpdates call, made with
that offset, confirms it. A crash anywhere in between makes Telegram serve the
batch again, and the store keeps one copy: the provider id of a message is
`chat_id:message_id`, and an edit has the same id as the original.

Webhook mode: an aiohttp server checks X-Telegram-Bot-Api-Secret-Token on
every request (403, nothing stored, a log line), stores the update, and only
then answers 200; Telegram sends again whatever was not answered 200. After
the secret, the body must be an update: at most 1 MiB (else 413), UTF-8 JSON
nested at most `MAX_JSON_DEPTH` deep, an object with an integer update_id
(else 400). A refused body is logged (never its content) and stores nothing.

The bot token is part of every Bot API URL, so no error text leaves this
module without going through `scrub()`, and PTB's and httpx's own log lines
are filtered the same way. Message texts are never logged.

PTB costs about 0.25 s to import, so it is imported on first use, in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from omnitui.adapters.base import SendError, Sink
from omnitui.adapters.reconnect import keep_trying, steady
from omnitui.adapters.webhook import Refusal, WebhookServer
from omnitui.config import TelegramConfig
from omnitui.domain.health import CONNECTED, CONNECTING, ChannelState, ChannelTrouble, Health
from omnitui.domain.identity import InvalidAddress, normalize_phone
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    IdentityKind,
    Inbound,
    InboundAttachment,
    Outbound,
    OutboundFile,
)
from omnitui.errors import OmniError

if TYPE_CHECKING:
    from aiohttp import web
    from telegram import Bot, Message, Update, WebhookInfo

    from omnitui.adapters.webhook import Body

log = logging.getLogger("omnitui.telegram")

TEXT_LIMIT = 4096  # characters per message; counted in UTF-16 units, which is never fewer
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the most a bot may download through getFile
PHOTO_LIMIT = 10 * 1024 * 1024  # sendPhoto's limit; a larger image goes as a document
POLL_TIMEOUT = 30  # seconds a getUpdates long poll waits for news
MAX_INLINE_WAIT = 120.0  # flood-control wait accepted between the parts of one reply
ALLOWED_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # a webhook body; Telegram's updates are a few KB
MAX_JSON_DEPTH = 64  # lists and objects in an update; Telegram's own nest about 8 deep
OFFSET_KEY = "offset"
RECONNECT = steady(1.0, 60.0)  # polling tries again after 1, 2, 4 ... 60 s
_MESSAGE_KINDS = ALLOWED_UPDATES
_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TOKEN_IN_TEXT = re.compile(r"\d{3,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}")


class TelegramConflict(OmniError):
    """409: another program polls this bot, or a webhook is set."""


class TelegramSetupError(OmniError):
    """The token or the config is wrong: retrying will not help until it changes."""


class TelegramUnavailable(OmniError):
    """Telegram could not be reached or answered with an error (already in words)."""


class NotAnUpdate(OmniError, ValueError):
    """A webhook body OmniTUI does not take (answered 400); its words never quote it."""


def _check_tree(value: object) -> None:
    """Refuse JSON nested deeper than `MAX_JSON_DEPTH`, or with text that is not Unicode
    (a lone surrogate), walking it without recursion."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise NotAnUpdate("the JSON holds text that is not Unicode") from None
            continue
        if isinstance(item, dict):
            children: list[object] = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_JSON_DEPTH:
            raise NotAnUpdate("the JSON is nested deeper than {depth} levels", depth=MAX_JSON_DEPTH)
        stack.extend((child, depth + 1) for child in children)


def read_update(body: bytes) -> dict[str, Any]:
    """A webhook body as an update's JSON, or `NotAnUpdate` saying why not."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotAnUpdate("the body is not UTF-8") from None
    try:
        data = json.loads(text)
    except RecursionError:  # json's own limit, far beyond ours
        raise NotAnUpdate(
            "the JSON is nested deeper than {depth} levels", depth=MAX_JSON_DEPTH
        ) from None
    except ValueError:
        raise NotAnUpdate("the body is not JSON") from None
    _check_tree(data)
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise NotAnUpdate("the JSON is not an update (no integer update_id)")
    return dict(data)


def scrub(text: str, token: str | None = None) -> str:
    """`text` with any bot token in it replaced by `<token>`."""
    if token:
        text = text.replace(token, "<token>").replace(quote(token, safe=""), "<token>")
    return _TOKEN_IN_TEXT.sub("<token>", text)


class _RedactTokens(logging.Filter):
    """Keeps bot tokens and customers' updates out of PTB's and httpx's log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("telegram") and record.levelno <= logging.DEBUG:
            return False  # PTB's debug lines hold whole requests and answers: customers' texts
        if "Received data was" in str(record.msg):
            # PTB logs a whole batch it could not parse: customers' messages.
            record.msg, record.args = "Error while parsing updates (content not logged)", None
            record.exc_info = record.exc_text = None
            return True
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_guarded = False


def _guard_logs() -> None:
    """httpx logs every request URL (with the token) at INFO: keep it to warnings, scrubbed."""
    global _guarded
    # PTB warns, from inside its own RetryAfter, that `retry_after` will become a timedelta.
    warnings.filterwarnings("ignore", message=".*attribute `retry_after`", module="telegram")
    if _guarded:
        return
    _guarded = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    redact = _RedactTokens()
    for name in ("httpx", "httpcore", "telegram", "telegram.Bot", "telegram.BaseRequest"):
        logging.getLogger(name).addFilter(redact)
    logging.getLogger("telegram.HTTPXRequest").addFilter(redact)


def _import_ptb() -> None:
    import telegram
    import telegram.error
    import telegram.request

    del telegram


async def _load_ptb() -> None:
    import sys

    if "telegram.request" not in sys.modules:
        await asyncio.to_thread(_import_ptb)


# -- text -------------------------------------------------------------------

_BREAKS = ("\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", "、", "，", ", ", " ")


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _fit(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-16 units."""
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` in pieces Telegram takes, each at most `limit` long.

    A piece ends at a paragraph, a line, a sentence (Japanese 。 too), or a
    word, whichever is latest in the second half of the piece; only text with
    none of those is cut mid-word.
    """
    parts: list[str] = []
    rest = text.strip()
    while rest:
        cut = _fit(rest, limit)
        if cut >= len(rest):
            parts.append(rest)
            break
        window = rest[:cut]
        at = cut
        for sep in _BREAKS:
            found = window.rfind(sep)
            if found >= cut // 2:
                at = found + len(sep)
                break
        head, rest = window[:at].rstrip(), rest[at:].lstrip()
        if head:
            parts.append(head)
    return parts


def _coordinate(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _duration(seconds: int | float | timedelta | None) -> str:
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    total = int(seconds or 0)
    return f"{total // 60}:{total % 60:02d}"


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def phone_e164(raw: str) -> str | None:
    """A phone number Telegram shared (international, usually without "+") in E.164."""
    digits = raw.strip()
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        return normalize_phone(digits)
    except InvalidAddress:
        return None


# -- inbound ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Media:
    """A file a message carries, before it is downloaded."""

    kind: str
    file_id: str
    size: int | None
    filename: str
    content_type: str


# kind, default file name ({} is the message id), default content type
_FILE_KINDS = (
    ("document", "document_{}", "application/octet-stream"),
    ("voice", "voice_{}.ogg", "audio/ogg"),
    ("audio", "audio_{}.mp3", "audio/mpeg"),
    ("video", "video_{}.mp4", "video/mp4"),
    ("video_note", "video_note_{}.mp4", "video/mp4"),
    ("animation", "animation_{}.mp4", "video/mp4"),
)
# Kinds of message OmniTUI stores with a marker instead of showing them.
_OTHER_KINDS = (
    "poll",
    "dice",
    "game",
    "invoice",
    "story",
    "paid_media",
    "checklist",
    "giveaway",
    "successful_payment",
    "passport_data",
)


def media_of(message: Message) -> list[Media]:
    """The files of `message`: the largest size of a photo, or its document, voice..."""
    out: list[Media] = []
    mid = message.message_id
    if message.photo:
        best = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        out.append(Media("photo", best.file_id, best.file_size, f"photo_{mid}.jpg", "image/jpeg"))
    for kind, default_name, default_type in _FILE_KINDS:
        item = getattr(message, kind, None)
        if item is None or (kind == "document" and message.animation is not None):
            continue  # an animation also comes as a document, for old clients
        name = getattr(item, "file_name", None) or default_name.format(mid)
        content_type = getattr(item, "mime_type", None) or default_type
        out.append(Media(kind, item.file_id, item.file_size, name, content_type))
    return out


@dataclass(frozen=True, slots=True)
class _Reading:
    """What a message says, as OmniTUI shows it."""

    kind: str
    text: str
    problem: str = ""
    phone: str | None = None  # the sender's own phone number, when they shared it


def read_message(message: Message) -> _Reading:
    """The text to show for `message`, whatever kind it is."""
    caption = message.caption or ""
    if message.text is not None:
        return _Reading("text", message.text)
    if message.photo:
        return _Reading("photo", caption or "📷 photo")
    if message.sticker is not None:
        emoji = message.sticker.emoji
        return _Reading("sticker", f"{emoji} (sticker)" if emoji else "(sticker)")
    if message.voice is not None:
        with warnings.catch_warnings():  # PTB warns about int durations becoming timedelta
            warnings.simplefilter("ignore")
            length = _duration(message.voice.duration)
        return _Reading("voice", caption or f"🎤 voice message, {length}")
    if message.animation is not None:
        return _Reading("animation", caption or "🎞 GIF")
    if message.document is not None:
        return _Reading("document", caption or f"📄 {message.document.file_name or 'document'}")
    if message.audio is not None:
        title = message.audio.title or message.audio.file_name or "audio"
        return _Reading("audio", caption or f"🎵 {title}")
    if message.video is not None:
        return _Reading("video", caption or "🎬 video")
    if message.video_note is not None:
        return _Reading("video_note", "🎬 video message")
    if message.location is not None:
        lat, lon = message.location.latitude, message.location.longitude
        where = f"📍 {_coordinate(lat)}, {_coordinate(lon)}"
        if message.venue is not None:
            where = f"📍 {message.venue.title}, {message.venue.address}\n{where[2:]}"
        link = f"https://maps.google.com/?q={_coordinate(lat)},{_coordinate(lon)}"
        return _Reading("location", f"{where}\n{link}")
    if message.contact is not None:
        card = message.contact
        sender = message.from_user.id if message.from_user is not None else None
        if card.user_id is not None and card.user_id == sender:
            phone = phone_e164(card.phone_number)
            return _Reading(
                "contact",
                f"📞 shared their phone number: {phone or card.phone_number}",
                phone=phone,
            )
        name = " ".join(p for p in (card.first_name, card.last_name) if p)
        return _Reading("contact", f"📇 contact card: {name}, {card.phone_number}")
    kind = next((k for k in _OTHER_KINDS if getattr(message, k, None)), None)
    kind = kind or next(iter(message.api_kwargs), None)
    if kind is not None:
        return _Reading(
            kind,
            f"(a Telegram {kind.replace('_', ' ')}: OmniTUI cannot show this kind of message)",
            problem=f"unsupported Telegram message: {kind}",
        )
    return _Reading("service", "")


def _display_name(message: Message) -> str:
    user = message.from_user
    if user is not None:
        full = " ".join(p for p in (user.first_name, user.last_name) if p).strip()
        return full or (f"@{user.username}" if user.username else str(user.id))
    chat = message.sender_chat or message.chat
    return chat.title or chat.username or str(chat.id)


def to_inbound(
    channel: Channel,
    message: Message,
    *,
    edited: bool,
    attachments: Sequence[InboundAttachment] = (),
    raw: bytes | None = None,
) -> Inbound:
    """A Telegram message as the store takes it."""
    reading = read_message(message)
    chat = message.chat
    user = message.from_user
    sender_id = user.id if user is not None else (message.sender_chat or chat).id
    identity: dict[str, object] = {}
    if chat.type == "private":
        identity["chat_id"] = chat.id
    if user is not None and user.username:
        identity["username"] = user.username
    if user is not None and user.language_code:
        identity["language_code"] = user.language_code
    linked: tuple[tuple[IdentityKind, str], ...] = ()
    if reading.phone is not None:
        identity["phone"] = reading.phone
        linked = ((IdentityKind.PHONE, reading.phone),)
    meta: dict[str, object] = {
        "chat_id": chat.id,
        "chat_type": chat.type,
        "message_id": message.message_id,
        "kind": reading.kind,
    }
    if chat.title:
        meta["chat_title"] = chat.title
    if message.reply_to_message is not None:
        meta["reply_to"] = f"{chat.id}:{message.reply_to_message.message_id}"
    files = media_of(message)
    if files:
        meta["files"] = [{"kind": m.kind, "file_id": m.file_id} for m in files]
    return Inbound(
        channel=channel,
        provider_id=f"{chat.id}:{message.message_id}",
        address=str(sender_id),
        display_name=_display_name(message),
        text=reading.text,
        sent_at=message.date.timestamp(),
        raw=raw,
        meta=meta,
        attachments=tuple(attachments),
        parse_error=reading.problem,
        edited=edited,
        identity_data=identity,
        linked_identities=linked,
    )


def raw_inbound(channel: Channel, data: Mapping[str, Any]) -> Inbound | None:
    """What can be read of an update the library could not parse, with a marker."""
    body = next((data[k] for k in _MESSAGE_KINDS if isinstance(data.get(k), dict)), None)
    if body is None:
        return None
    chat = body.get("chat") if isinstance(body.get("chat"), dict) else {}
    sender = body.get("from") if isinstance(body.get("from"), dict) else {}
    chat_id, message_id = chat.get("id"), body.get("message_id")
    if chat_id is not None and message_id is not None:
        provider = f"{chat_id}:{message_id}"
    else:
        provider = f"update:{data.get('update_id')}"
    text = body.get("text") or body.get("caption") or ""
    date = body.get("date")
    names = [sender.get("first_name"), sender.get("last_name")]
    return Inbound(
        channel=channel,
        provider_id=provider,
        address=str(sender.get("id") or chat_id or f"unknown:{channel.account}"),
        display_name=" ".join(n for n in names if isinstance(n, str)),
        text=text if isinstance(text, str) else "",
        sent_at=float(date) if isinstance(date, int | float) else time.time(),
        raw=json.dumps(data, ensure_ascii=False).encode(),
        meta={"chat_id": chat_id, "chat_type": chat.get("type"), "message_id": message_id},
        parse_error="Telegram sent this message with fields missing or malformed: "
        "what could be read is shown, and the raw update is kept",
        edited=any(k.startswith("edited_") for k in data if isinstance(data.get(k), dict)),
    )


def _chat_type_of(data: Mapping[str, Any]) -> str | None:
    for kind in _MESSAGE_KINDS:
        body = data.get(kind)
        if isinstance(body, dict) and isinstance(body.get("chat"), dict):
            chat_type = body["chat"].get("type")
            return chat_type if isinstance(chat_type, str) else None
    return None


# -- the adapter ------------------------------------------------------------


class TelegramAdapter:
    """One `[[telegram]]` bot: updates in (polling or webhook), replies out."""

    def __init__(
        self,
        config: TelegramConfig,
        *,
        token: Callable[[], str] | None = None,
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        self.config = config
        self._channel = Channel(ChannelKind.TELEGRAM, config.name)
        self._token_source = token or config.token.reveal
        self._token: str | None = None
        self.poll_timeout = poll_timeout
        self._bot: Bot | None = None
        self._lock = asyncio.Lock()
        self.status: dict[str, str] = {}
        self._health = CONNECTING
        _guard_logs()

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def health(self) -> Health:
        """Telegram out of reach while polling goes on trying, or how it is doing."""
        return self._health

    # -- the bot ------------------------------------------------------------

    def _reveal(self) -> str:
        try:
            return self._token_source()
        except Exception as exc:  # SecretError says which variable or command, never the value
            raise TelegramSetupError("{reason}", reason=exc) from None

    def _make_bot(self, token: str) -> Bot:
        from telegram import Bot
        from telegram.request import HTTPXRequest

        base = self.config.api_base.rstrip("/")
        return Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=HTTPXRequest(connection_pool_size=16, connect_timeout=10.0, pool_timeout=30.0),
            get_updates_request=HTTPXRequest(connect_timeout=10.0, read_timeout=10.0),
        )

    async def _ready(self) -> Bot:
        """The initialised bot (getMe checks the token)."""
        async with self._lock:
            if self._bot is not None:
                return self._bot
            await _load_ptb()
            from telegram.error import InvalidToken

            # A token_cmd may take a while (a password manager): not on the event loop.
            self._token = await asyncio.to_thread(self._reveal)
            bot = self._make_bot(self._token)
            try:
                await bot.initialize()
            except InvalidToken:
                await bot.shutdown()
                raise TelegramSetupError(
                    "Telegram refused the bot token of {name}: "
                    "check token_env or token_cmd (the token comes from @BotFather)",
                    name=self.config.name,
                ) from None
            except BaseException:
                await bot.shutdown()
                raise
            self._bot = bot
            self.status["bot"] = f"@{bot.username}"
            return bot

    def explain(self, exc: BaseException) -> str:
        """What went wrong talking to Telegram, in words, without the token."""
        return explain(exc, self.config.api_base, self._token)

    # -- receiving ----------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        key = "webhook" if self.config.mode == "webhook" else "polling"
        self._health = CONNECTING
        try:
            if self.config.mode == "webhook":
                await self._serve_webhook(sink)
            else:
                await self._poll(sink)
        except (TelegramConflict, TelegramSetupError) as exc:
            self.status[key] = str(exc)
            raise
        except Exception as exc:
            words = self.explain(exc)
            self.status[key] = words
            raise TelegramUnavailable("{reason}", reason=words) from None

    async def _poll(self, sink: Sink) -> None:
        from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter

        bot = await self._ready()
        await self._leave_webhook(bot)
        stored = await sink.load_cursor(OFFSET_KEY)
        offset = int(stored) if stored and stored.lstrip("-").isdigit() else None
        log.info("%s: polling Telegram as @%s", self.channel.account, bot.username)

        async def one_batch() -> bool:
            nonlocal offset
            try:
                batch = await self._fetch(bot, offset)
                items = [item for item in [await self._convert(bot, u) for _, u in batch] if item]
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                self.status["polling"] = f"Telegram asked to wait {wait:.0f} s (flood control)"
                self._health = CONNECTED
                await asyncio.sleep(wait)
                return False
            except Conflict as exc:
                raise conflict(str(exc)) from None
            except InvalidToken:
                raise TelegramSetupError(
                    "Telegram refused the bot token of {name}: check token_env or token_cmd",
                    name=self.config.name,
                ) from None
            if batch:
                next_offset = max(update_id for update_id, _ in batch) + 1
                await sink.deliver(items, cursor={OFFSET_KEY: str(next_offset)})
                offset = next_offset
            self.status["polling"] = "up to date"
            self._health = CONNECTED
            return False

        def passing(exc: Exception) -> str | None:
            # Nothing was confirmed: the batch is served again. A BadRequest will not pass.
            if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
                return self.explain(exc)
            return None

        def retrying(reason: str, delay: float) -> None:
            self.status["polling"] = f"disconnected ({reason}); retrying in {delay:.0f} s"
            self._health = Health(
                ChannelState.RETRYING,
                ChannelTrouble(
                    "disconnected ({reason}); retrying in {seconds:.0f} s",
                    reason=reason,
                    seconds=delay,
                ),
            )
            log.warning("%s: %s", self.channel.account, self.status["polling"])

        await keep_trying(one_batch, policy=RECONNECT, passing=passing, retrying=retrying)

    async def _leave_webhook(self, bot: Bot) -> None:
        """Polling needs no webhook. Ours (the configured URL) is removed; anyone else's
        is left alone and reported, since another program may be receiving through it."""
        info = await bot.get_webhook_info()
        if not info.url:
            return
        if self.config.webhook_url and info.url == self.config.webhook_url:
            await bot.delete_webhook(drop_pending_updates=False)
            log.info("%s: removed OmniTUI's webhook to poll instead", self.channel.account)
            return
        raise TelegramConflict(
            "a webhook is set ({url}), so Telegram refuses polling for this bot: "
            "another program may be receiving its messages. If OmniTUI should receive "
            'them, remove that webhook (deleteWebhook) or set mode = "webhook"',
            url=info.url,
        )

    async def _fetch(
        self, bot: Bot, offset: int | None
    ) -> list[tuple[int, Update | dict[str, Any]]]:
        """The next batch of updates (waiting up to `poll_timeout` for one)."""
        from telegram.error import TelegramError

        try:
            updates = await bot.get_updates(
                offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramError:
            raise
        except Exception:  # PTB could not read an update: read the batch one by one
            log.warning(
                "%s: python-telegram-bot could not read an update; reading them one by one",
                self.channel.account,
            )
            kwargs: dict[str, Any] = {"timeout": 0, "allowed_updates": list(ALLOWED_UPDATES)}
            if offset is not None:
                kwargs["offset"] = offset
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = await bot.do_api_request("getUpdates", api_kwargs=kwargs)
            return [
                (d["update_id"], d)
                for d in raw or []
                if isinstance(d, dict) and isinstance(d.get("update_id"), int)
            ]
        return [(u.update_id, u) for u in updates]

    async def _convert(self, bot: Bot, update: Update | dict[str, Any]) -> Inbound | None:
        """One update as an Inbound (media downloaded), or None when it is not for us."""
        from telegram import Update
        from telegram.error import TelegramError

        if isinstance(update, dict):
            try:
                parsed = Update.de_json(update, bot)
            except Exception:
                return self._unreadable(update)
        else:
            parsed = update
        try:
            return await self._inbound(bot, parsed)
        except TelegramError:
            raise
        except Exception as exc:  # never lose a message over a payload we did not expect
            log.warning(
                "%s: could not read update %s (%s); stored with a marker",
                self.channel.account,
                parsed.update_id,
                type(exc).__name__,
            )
            return self._unreadable(parsed.to_dict())

    def _unreadable(self, data: dict[str, Any]) -> Inbound | None:
        chat_type = _chat_type_of(data)
        if chat_type not in (None, "private") and not self.config.allow_groups:
            self._log_ignored(chat_type)
            return None
        return raw_inbound(self.channel, data)

    def _log_ignored(self, chat_type: str) -> None:
        log.info(
            "%s: ignored a message in a %s chat (allow_groups = false)",
            self.channel.account,
            chat_type,
        )

    async def _inbound(self, bot: Bot, update: Update) -> Inbound | None:
        message = (
            update.message
            or update.edited_message
            or update.channel_post
            or update.edited_channel_post
        )
        if message is None:
            return None
        chat_type = message.chat.type
        if chat_type != "private" and not self.config.allow_groups:
            self._log_ignored(chat_type)
            return None
        if read_message(message).kind == "service":
            return None  # a member joined, a title changed...: nothing a customer wrote
        attachments = [await self._attachment(bot, m) for m in media_of(message)]
        edited = update.edited_message is not None or update.edited_channel_post is not None
        raw = json.dumps(update.to_dict(), ensure_ascii=False).encode()
        return to_inbound(self.channel, message, edited=edited, attachments=attachments, raw=raw)

    async def _attachment(self, bot: Bot, media: Media) -> InboundAttachment:
        """Download `media` within the bot limit; a file that cannot be had is listed with why.

        Network errors propagate: the batch is not stored and is fetched again.
        """
        from telegram.error import BadRequest, InvalidToken

        def listed(size: int | None, why: str) -> InboundAttachment:
            return InboundAttachment(media.filename, media.content_type, None, size or 0, why)

        if media.size is not None and media.size > DOWNLOAD_LIMIT:
            return listed(media.size, _too_big(media.size))
        try:
            file = await bot.get_file(media.file_id)
        except BadRequest as exc:  # "file is too big", "invalid file_id": it will not change
            return listed(media.size, f"not downloaded: Telegram said {scrub(exc.message)!r}")
        size = file.file_size or media.size
        if size is not None and size > DOWNLOAD_LIMIT:
            return listed(size, _too_big(size))
        try:
            data = bytes(await file.download_as_bytearray())
        except (BadRequest, InvalidToken) as exc:  # 404: the file is gone from the server
            return listed(size, f"not downloaded: Telegram said {scrub(exc.message)!r}")
        return InboundAttachment(media.filename, media.content_type, data, len(data))

    # -- webhook ------------------------------------------------------------

    def _webhook_secret(self) -> str:
        import os

        name = self.config.secret_env
        if not name:
            raise TelegramSetupError(
                '[[telegram]] {name}: mode = "webhook" needs secret_env, '
                "the variable holding the secret Telegram sends with every update",
                name=self.config.name,
            )
        secret = os.environ.get(name, "")
        if not _SECRET_CHARS.match(secret):
            raise TelegramSetupError(
                "[[telegram]] {name}: environment variable {variable} must hold "
                "1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule for a webhook secret)",
                name=self.config.name,
                variable=name,
            )
        return secret

    async def _serve_webhook(self, sink: Sink) -> None:
        from aiohttp import web

        cfg = self.config
        secret = self._webhook_secret()
        if not cfg.webhook_url or not cfg.webhook_listen:
            raise TelegramSetupError(
                '[[telegram]] {name}: mode = "webhook" needs webhook_url (the public '
                'HTTPS URL) and webhook_listen ("host:port" to listen on)',
                name=cfg.name,
            )
        bot = await self._ready()

        async def check_secret(request: web.Request) -> Refusal | None:
            given = request.headers.get(SECRET_HEADER)
            if given is None or not hmac.compare_digest(given.encode(), secret.encode()):
                why = "no secret token" if given is None else "a wrong secret token"
                return Refusal(403, "forbidden", why)
            return None

        async def handle(request: web.Request, body: Body) -> web.Response | Refusal:
            assert isinstance(body, bytes)
            try:
                data = read_update(body)
            except NotAnUpdate as exc:
                return Refusal(400, "not an update", str(exc))
            try:
                item = await self._convert(bot, data)
                if item is not None:
                    await sink.deliver([item])
            except Exception as exc:  # answered 500: Telegram sends it again later
                log.warning(
                    "%s: could not store update %s (%s); Telegram will send it again",
                    self.channel.account,
                    data["update_id"],
                    self.explain(exc),
                )
                raise
            return web.Response(text="ok")

        server = WebhookServer(
            cfg.webhook_listen,
            handle,
            account=self.channel.account,
            log=log,
            max_bytes=MAX_UPDATE_BYTES,
            check_headers=check_secret,
        )
        try:
            await server.start()
        except OSError as exc:
            raise TelegramUnavailable(
                "cannot listen on {listen}: {reason}", listen=cfg.webhook_listen, reason=exc
            ) from None
        try:
            await bot.set_webhook(
                url=cfg.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
            self.status["webhook"] = f"listening on {cfg.webhook_listen} for {cfg.webhook_url}"
            self._health = CONNECTED
            log.info("%s: %s", cfg.name, self.status["webhook"])
            await server.serve()
        finally:
            await server.close()

    # -- sending ------------------------------------------------------------

    async def send(self, message: Outbound) -> str:
        """Send a reply: its text split at 4,096 characters, then its files.

        Returns `chat_id:message_id` of the first Telegram message of the reply.
        """
        try:
            bot = await self._ready()
        except Exception as exc:  # nothing was sent yet: safe to retry, unless it is the token
            retryable = not isinstance(exc, TelegramSetupError)
            raise SendError(
                "not sent: {reason}", reason=self.explain(exc), retryable=retryable
            ) from None
        from telegram.error import RetryAfter

        chat = message.meta.get("chat_id", message.address)
        try:
            chat_id = int(str(chat))
        except ValueError:
            raise SendError(
                "{address} is not a Telegram chat this bot can write to",
                address=repr(message.address),
                retryable=False,
            ) from None
        steps: list[str | OutboundFile] = [*split_text(message.text), *message.files]
        if not steps:
            raise SendError("the reply is empty", retryable=False)
        first: int | None = None
        waited = 0.0
        for index, step in enumerate(steps):
            while True:
                try:
                    sent = await self._send_one(bot, chat_id, step)
                    break
                except RetryAfter as exc:
                    seconds = retry_seconds(exc)
                    flood = SendError(
                        "Telegram's flood control asked to wait {seconds:.0f} s",
                        seconds=seconds,
                        retryable=True,
                        retry_after=seconds,
                    )
                    if index == 0:  # nothing of this reply went out: the hub retries it
                        raise flood from None
                    waited += seconds
                    if waited > MAX_INLINE_WAIT:
                        raise partial(index, len(steps), flood) from None
                    await asyncio.sleep(seconds)  # the rest of a reply follows its start
                except Exception as exc:
                    reason, retryable = send_failure(exc, self.config.api_base)
                    reason = scrub(reason, self._token)
                    if index:
                        raise partial(index, len(steps), reason) from None
                    raise SendError("{reason}", reason=reason, retryable=retryable) from None
            if first is None:
                first = sent.message_id
        return f"{chat_id}:{first}"

    async def _send_one(self, bot: Bot, chat_id: int, step: str | OutboundFile) -> Message:
        if isinstance(step, str):
            return await bot.send_message(chat_id=chat_id, text=step)
        photo = step.content_type in ("image/jpeg", "image/png", "image/webp")
        if photo and len(step.data) <= PHOTO_LIMIT:
            return await bot.send_photo(chat_id=chat_id, photo=step.data, filename=step.filename)
        return await bot.send_document(chat_id=chat_id, document=step.data, filename=step.filename)

    async def close(self) -> None:
        bot, self._bot = self._bot, None
        if bot is not None:
            with contextlib.suppress(Exception):
                await bot.shutdown()


def partial(done: int, total: int, reason: object) -> SendError:
    """A reply that stopped part-way: never sent again by itself."""
    return SendError(
        "only {done} of {total} parts went out, then: {reason}. "
        "Sending again would repeat the first part(s)",
        done=done,
        total=total,
        reason=reason,
        retryable=False,
    )


def _too_big(size: int) -> str:
    return f"not downloaded: {_size(size)} is over the 20 MB a Telegram bot may download"


def retry_seconds(exc: BaseException) -> float:
    """RetryAfter's wait in seconds (an int or a timedelta, by PTB's settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = getattr(exc, "retry_after", 1)
    if isinstance(value, timedelta):
        return max(0.0, value.total_seconds())
    return max(0.0, float(value))


def conflict(detail: str) -> TelegramConflict:
    """Telegram's 409: another receiver has this bot's messages."""
    return TelegramConflict(
        "another program is polling this bot, or a webhook is set: Telegram gives a bot's "
        "messages to one receiver only (is `omnitui serve` or another bot program running "
        "with this token?). Telegram said: {detail}",
        detail=scrub(detail),
    )


def conflict_words(detail: str) -> str:
    return str(conflict(detail))


def _sent_before_failing(exc: BaseException) -> bool:
    """Did the request surely not reach Telegram (so sending again cannot double it)?"""
    import httpx

    cause = exc.__cause__
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def send_failure(exc: BaseException, api_base: str) -> tuple[str, bool]:
    """Why a send failed, in words, and whether sending again is safe."""
    from telegram import error

    if isinstance(exc, TelegramSetupError):
        return str(exc), False
    if isinstance(exc, TelegramUnavailable):
        return str(exc), True
    if isinstance(exc, error.Forbidden):
        detail = exc.message.lower()
        if "blocked" in detail:
            return (
                "the customer has blocked the shop's bot, so Telegram will not deliver (403)",
                False,
            )
        if "deactivated" in detail:
            return "the customer's Telegram account was deleted (403)", False
        if "initiate" in detail:
            return (
                "the customer has not started a chat with the bot: Telegram lets a bot write "
                "only to people who wrote to it first (403)",
                False,
            )
        return f"Telegram refused: {exc.message} (403)", False
    if isinstance(exc, error.InvalidToken):
        return "Telegram refused the bot token: check token_env or token_cmd", False
    if isinstance(exc, error.ChatMigrated):
        return "this group became a supergroup: its chat id changed", False
    if isinstance(exc, error.BadRequest):
        if "chat not found" in exc.message.lower():
            return "Telegram does not know this chat (chat not found)", False
        return f"Telegram refused the message: {exc.message}", False
    if isinstance(exc, error.NetworkError) and _sent_before_failing(exc):
        return f"cannot reach Telegram at {api_base}; nothing was sent", True
    if isinstance(exc, error.TimedOut):
        return (
            "Telegram did not answer after the message was sent: it may or may not have "
            "arrived; check the chat before sending again",
            False,
        )
    if isinstance(exc, error.NetworkError):
        return (
            f"the connection failed while sending ({exc.message}): the message may or may "
            "not have arrived; check the chat before sending again",
            False,
        )
    return f"unexpected error, not retried: {type(exc).__name__}: {exc}", False


def explain(exc: BaseException, api_base: str, token: str | None = None) -> str:
    """What went wrong talking to Telegram, in words a shop owner can act on."""
    from telegram import error

    if isinstance(exc, TelegramConflict | TelegramSetupError | TelegramUnavailable):
        return scrub(str(exc), token)
    if isinstance(exc, error.InvalidToken):
        return "Telegram refused the bot token: check token_env or token_cmd"
    if isinstance(exc, error.Conflict):
        return conflict_words(exc.message)
    if isinstance(exc, error.RetryAfter):
        return f"Telegram asked to wait {retry_seconds(exc):.0f} s (flood control)"
    if isinstance(exc, error.NetworkError) and _sent_before_failing(exc):
        return f"unreachable: cannot connect to {api_base}"
    if isinstance(exc, error.TimedOut):
        return f"{api_base} did not answer in time"
    if isinstance(exc, error.TelegramError):
        return scrub(f"Telegram said: {exc.message}", token)
    return scrub(f"{type(exc).__name__}: {exc}", token)


def mode_line(config: TelegramConfig, info: WebhookInfo) -> tuple[bool, str]:
    """Does Telegram's webhook setting match the configured mode?"""
    waiting = f"{info.pending_update_count} update(s) waiting"
    if config.mode == "polling":
        if info.url:
            return False, (
                f"mode polling, but a webhook is set ({info.url}): Telegram sends this bot's "
                'messages there and refuses polling. Remove it, or set mode = "webhook"'
            )
        return True, f"mode polling: no webhook set, {waiting}"
    missing = [k for k in ("webhook_url", "webhook_listen", "secret_env") if not getattr(config, k)]
    if missing:
        return False, f"mode webhook needs {', '.join(missing)}"
    if not info.url:
        return True, (
            f"mode webhook, but no webhook is set yet (Telegram holds {waiting}): "
            "OmniTUI sets it when it starts"
        )
    if info.url != config.webhook_url:
        return False, (
            f"mode webhook, but Telegram sends to {info.url}, not {config.webhook_url}: "
            "OmniTUI sets its own when it starts; is another program using this bot?"
        )
    if info.last_error_message and info.pending_update_count:
        return False, (
            f"mode webhook: Telegram cannot deliver to {info.url} "
            f"({info.last_error_message}); {waiting}"
        )
    return True, f"mode webhook: Telegram sends to {info.url}, {waiting}"


async def check(config: TelegramConfig) -> list[tuple[bool, str]]:
    """`omnitui doctor` for one bot: does Telegram take the token, and is the mode right?"""
    try:
        token = config.token.reveal()
    except Exception as exc:
        return [(False, str(exc))]
    adapter = TelegramAdapter(config, token=lambda: token)
    try:
        try:
            bot = await adapter._ready()
        except Exception as exc:
            return [(False, "token " + adapter.explain(exc))]
        results = [(True, f"bot @{bot.username} accepted the token ({config.api_base})")]
        try:
            results.append(mode_line(config, await bot.get_webhook_info()))
        except Exception as exc:
            results.append((False, "mode could not be checked: " + adapter.explain(exc)))
        return results
    finally:
        await adapter.close()
