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

The bot token is part of every Bot API URL, so no error text leaves the
adapter without going through `scrub()` (telegram_words), and PTB's and
httpx's own log lines are filtered the same way. Message texts are never
logged. What an update says is read in telegram_messages.

A reply a rule sent (`meta["automatic"]`) whose text is a numbered menu
("1. 営業時間", "2. 返品"...) goes out with a one-time keyboard of the numbers,
so the customer taps "1" and it arrives as the message "1" a menu rule expects.

A satisfaction question (`meta["csat_ask"]`) carries inline buttons 1 to 5
(callback data "csat:5"). A tap arrives as a callback_query: it is stored as the
customer's message "5" (meta `csat_source` "button"), then answered
(answerCallbackQuery) so the customer's app stops waiting.

A customer who blocked the bot makes Telegram refuse every send with 403
"bot was blocked by the user": that reply fails in words and its `SendError`
says `opted_out`, so the hub marks the customer's address opted out and no
broadcast tries them again. Their next message to the bot opts them back in
(`Inbound.opt_out = False`); a message that is only 配信停止 or stop asks for
no more broadcasts (`Inbound.broadcast_opt_out`).

PTB costs about 0.25 s to import, so it is imported on first use, in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import re
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from omnitui.adapters.base import SendError, Sink
from omnitui.adapters.reconnect import keep_trying, steady
from omnitui.adapters.telegram_messages import (
    ALLOWED_UPDATES,
    DOWNLOAD_LIMIT,
    MAX_JSON_DEPTH,
    Media,
    NotAnUpdate,
    callback_inbound,
    chat_type_of,
    media_of,
    menu_rows,
    raw_inbound,
    read_message,
    read_update,
    split_text,
    to_inbound,
    too_big,
)
from omnitui.adapters.telegram_words import (
    TelegramConflict,
    TelegramSetupError,
    TelegramUnavailable,
    blocked_by_customer,
    conflict,
    explain,
    guard_logs,
    mode_line,
    partial,
    retry_seconds,
    scrub,
    send_failure,
)
from omnitui.adapters.webhook import Refusal, WebhookServer
from omnitui.config import TelegramConfig
from omnitui.domain.automatic import menu_options
from omnitui.domain.csat import BUTTON_PREFIX
from omnitui.domain.health import CONNECTED, CONNECTING, ChannelState, ChannelTrouble, Health
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Inbound,
    InboundAttachment,
    Outbound,
    OutboundFile,
)

if TYPE_CHECKING:
    from aiohttp import web
    from telegram import Bot, Message, Update

    from omnitui.adapters.webhook import Body

__all__ = ["MAX_JSON_DEPTH", "TelegramAdapter", "check", "explain", "split_text"]

log = logging.getLogger("omnitui.telegram")

PHOTO_LIMIT = 10 * 1024 * 1024  # sendPhoto's limit; a larger image goes as a document
POLL_TIMEOUT = 30  # seconds a getUpdates long poll waits for news
CAPTION_LIMIT = 1024  # a photo's caption, at most
PARTS_SENT = "parts_sent"  # in a message's meta: how many of its parts already went out
FIRST_SENT = "first_sent"  # and the provider id of the first of them
MAX_INLINE_WAIT = 120.0  # flood-control wait accepted between the parts of one reply
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # a webhook body; Telegram's updates are a few KB
OFFSET_KEY = "offset"
# When OmniTUI first polled the bot: what customers sent before it is history.
FIRST_POLL_KEY = "first_poll"
# The bot's @username, for the console's QR codes (the console never asks Telegram).
USERNAME_KEY = "telegram:username"
RECONNECT = steady(1.0, 60.0)  # polling tries again after 1, 2, 4 ... 60 s
_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _import_ptb() -> None:
    import telegram
    import telegram.error
    import telegram.request

    del telegram


async def _load_ptb() -> None:
    import sys

    if "telegram.request" not in sys.modules:
        await asyncio.to_thread(_import_ptb)


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
        guard_logs()

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

    async def _remember_username(self, sink: Sink, bot: Bot) -> None:
        """Keep the bot's username in the store, so a console can show the link
        that starts a chat with it without asking Telegram."""
        if bot.username and await sink.load_cursor(USERNAME_KEY) != bot.username:
            await sink.deliver([], cursor={USERNAME_KEY: bot.username})

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
        await self._remember_username(sink, bot)
        stored = await sink.load_cursor(OFFSET_KEY)
        offset = int(stored) if stored and stored.lstrip("-").isdigit() else None
        log.info("%s: polling Telegram as @%s", self.channel.account, bot.username)

        # Telegram dates are whole seconds. Kept from the first run, so a
        # message sent while serve restarted (or died before storing the
        # bot's first batch) is a live one.
        first_poll = await sink.load_cursor(FIRST_POLL_KEY)
        if first_poll and first_poll.isdigit():
            started = int(first_poll)
        else:
            started = int(time.time())
            await sink.deliver([], cursor={FIRST_POLL_KEY: str(started)})

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
                if offset is None:
                    # The bot's first poll: updates Telegram kept from before
                    # OmniTUI ran it are history, which rules never answer.
                    items = [
                        dataclasses.replace(i, history=True) if i.sent_at < started else i
                        for i in items
                    ]
                next_offset = max(update_id for update_id, _ in batch) + 1
                await sink.deliver(items, cursor={OFFSET_KEY: str(next_offset)})
                offset = next_offset
                await self._answer_taps(bot, [u for _, u in batch])
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

    async def _answer_taps(self, bot: Bot, updates: list[Update | dict[str, Any]]) -> None:
        """Answer each button tap once it is stored (the customer's spinner stops);
        a survey's rating is shown back as stars. An answer that fails is only
        logged: the tap is stored, and Telegram forgets the question after a while."""
        from omnitui.domain.csat import button_rating

        for update in updates:
            query = update.get("callback_query") if isinstance(update, dict) else None
            if not isinstance(update, dict) and update.callback_query is not None:
                query = {"id": update.callback_query.id, "data": update.callback_query.data}
            if not isinstance(query, dict) or not isinstance(query.get("id"), str):
                continue
            data = query.get("data")
            rating = button_rating(data if isinstance(data, str) else None)
            try:
                await bot.answer_callback_query(query["id"], text="★" * rating if rating else None)
            except Exception as exc:
                log.warning(
                    "%s: a button tap could not be answered (%s)",
                    self.channel.account,
                    self.explain(exc),
                )

    def _unreadable(self, data: dict[str, Any]) -> Inbound | None:
        chat_type = chat_type_of(data)
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
        if update.callback_query is not None:  # a tap on a survey's button
            origin = update.callback_query.message
            chat_type = origin.chat.type if origin is not None else "private"
            if chat_type != "private" and not self.config.allow_groups:
                self._log_ignored(chat_type)
                return None
            raw = json.dumps(update.to_dict(), ensure_ascii=False).encode()
            return callback_inbound(self.channel, update.callback_query, at=time.time(), raw=raw)
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
            return listed(media.size, too_big(media.size))
        try:
            file = await bot.get_file(media.file_id)
        except BadRequest as exc:  # "file is too big", "invalid file_id": it will not change
            return listed(media.size, f"not downloaded: Telegram said {scrub(exc.message)!r}")
        size = file.file_size or media.size
        if size is not None and size > DOWNLOAD_LIMIT:
            return listed(size, too_big(size))
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
        await self._remember_username(sink, bot)

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
                await self._answer_taps(bot, [data])
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
        picture = broadcast_photo(message)
        if picture is not None:
            return await self._send_with_photo(bot, chat_id, message, picture)
        pieces = split_text(message.text)
        steps: list[str | OutboundFile] = [*pieces, *message.files]
        if not steps:
            raise SendError("the reply is empty", retryable=False)
        # A rule's numbered menu: its last piece of text carries the buttons; a
        # satisfaction question carries 1-5 buttons whose tap comes back as a callback.
        survey = bool(message.meta.get("csat_ask"))
        automatic = message.meta.get("automatic") and not survey
        options = menu_options(message.text) if automatic else []
        menu_at = len(pieces) - 1 if (options or survey) and pieces else -1
        first: int | None = None
        waited = 0.0
        for index, step in enumerate(steps):
            while True:
                try:
                    menu = options if index == menu_at else []
                    buttons = survey and index == menu_at
                    sent = await self._send_one(bot, chat_id, step, menu, survey=buttons)
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
                    blocked = blocked_by_customer(exc)  # the hub marks them opted out
                    if index:
                        raise partial(index, len(steps), reason, blocked=blocked) from None
                    raise SendError(
                        "{reason}", reason=reason, retryable=retryable, opted_out=blocked
                    ) from None
            if first is None:
                first = sent.message_id
        return f"{chat_id}:{first}"

    async def _send_with_photo(
        self, bot: Bot, chat_id: int, message: Outbound, picture: OutboundFile
    ) -> str:
        """A broadcast with its image: one photo captioned with the text when the
        text fits a caption, else the photo and then the text.

        All of it is one message of the broadcast. What already went out is
        said in the failure (`progress`, kept in the message's meta), so a retry
        sends only the rest: a customer never gets the photo twice.
        """
        from telegram.error import RetryAfter

        text = message.text.strip()
        caption = text if utf16_length(text) <= CAPTION_LIMIT else ""
        steps: list[str | OutboundFile] = [picture, *([] if caption else split_text(text))]
        done = int(str(message.meta.get(PARTS_SENT, 0)))
        first = str(message.meta.get(FIRST_SENT, ""))
        for index, step in enumerate(steps):
            if index < done:
                continue
            try:
                if isinstance(step, OutboundFile):
                    sent = await bot.send_photo(
                        chat_id=chat_id,
                        photo=step.data,
                        filename=step.filename,
                        caption=caption or None,
                    )
                else:
                    sent = await bot.send_message(chat_id=chat_id, text=step)
            except Exception as exc:
                progress = {PARTS_SENT: index, FIRST_SENT: first} if index else None
                if isinstance(exc, RetryAfter):
                    seconds = retry_seconds(exc)
                    raise SendError(
                        "Telegram's flood control asked to wait {seconds:.0f} s",
                        seconds=seconds,
                        retryable=True,
                        retry_after=seconds,
                        progress=progress,
                    ) from None
                reason, retryable = send_failure(exc, self.config.api_base)
                reason = scrub(reason, self._token)
                if index:
                    reason = f"the photo went out, the text did not: {reason}"
                raise SendError(
                    "{reason}",
                    reason=reason,
                    retryable=retryable,
                    opted_out=blocked_by_customer(exc),
                    progress=progress,
                ) from None
            if not first:
                first = f"{chat_id}:{sent.message_id}"
            if index + 1 < len(steps) and message.on_progress is not None:
                try:  # before the text goes: a crash now must not mean a second photo
                    await message.on_progress({PARTS_SENT: index + 1, FIRST_SENT: first})
                except Exception as exc:  # the customer still gets the rest
                    log.warning("message %s: progress not recorded (%s)", message.message_id, exc)
        return first

    async def _send_one(
        self,
        bot: Bot,
        chat_id: int,
        step: str | OutboundFile,
        menu: list[str],
        *,
        survey: bool = False,
    ) -> Message:
        if isinstance(step, str):
            if survey:
                from telegram import InlineKeyboardButton, InlineKeyboardMarkup

                buttons = [
                    InlineKeyboardButton(str(n), callback_data=f"{BUTTON_PREFIX}{n}")
                    for n in range(1, 6)
                ]
                markup = InlineKeyboardMarkup([buttons])
                return await bot.send_message(chat_id=chat_id, text=step, reply_markup=markup)
            if not menu:
                return await bot.send_message(chat_id=chat_id, text=step)
            from telegram import ReplyKeyboardMarkup

            keyboard = ReplyKeyboardMarkup(
                menu_rows(menu), one_time_keyboard=True, resize_keyboard=True
            )
            return await bot.send_message(chat_id=chat_id, text=step, reply_markup=keyboard)
        photo = step.content_type in ("image/jpeg", "image/png", "image/webp")
        if photo and len(step.data) <= PHOTO_LIMIT:
            return await bot.send_photo(chat_id=chat_id, photo=step.data, filename=step.filename)
        return await bot.send_document(chat_id=chat_id, document=step.data, filename=step.filename)

    async def close(self) -> None:
        bot, self._bot = self._bot, None
        if bot is not None:
            with contextlib.suppress(Exception):
                await bot.shutdown()


def broadcast_photo(message: Outbound) -> OutboundFile | None:
    """The image a broadcast message carries as a photo (a JPEG or PNG Telegram
    takes as one), if it carries one."""
    if message.meta.get("image") != "file" or not message.files:
        return None
    picture = message.files[0]
    if picture.content_type not in ("image/jpeg", "image/png") or len(picture.data) > PHOTO_LIMIT:
        return None
    return picture


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


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


async def bot_username(config: TelegramConfig) -> str:
    """The bot's username (getMe), for the link that starts a chat with it.

    Raises `TelegramSetupError` (token refused or not to be had) or
    `TelegramUnavailable` (Telegram out of reach), both in words.
    """
    try:
        token = config.token.reveal()
    except Exception as exc:
        raise TelegramSetupError("{reason}", reason=exc) from None
    adapter = TelegramAdapter(config, token=lambda: token)
    try:
        try:
            bot = await adapter._ready()
        except TelegramSetupError:
            raise
        except Exception as exc:
            raise TelegramUnavailable("{reason}", reason=adapter.explain(exc)) from None
        return str(bot.username)
    finally:
        await adapter.close()
