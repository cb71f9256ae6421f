"""Telegram's failures in words a shop owner can act on, and no bot token in any of them.

The bot token is part of every Bot API URL, so no error text leaves the
Telegram adapter without going through `scrub()`, and PTB's and httpx's own
log lines are filtered the same way.
"""

from __future__ import annotations

import logging
import re
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from omnitui.adapters.base import SendError
from omnitui.config import TelegramConfig
from omnitui.errors import OmniError

if TYPE_CHECKING:
    from telegram import WebhookInfo


_TOKEN_IN_TEXT = re.compile(r"\d{3,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}")


class TelegramConflict(OmniError):
    """409: another program polls this bot, or a webhook is set."""


class TelegramSetupError(OmniError):
    """The token or the config is wrong: retrying will not help until it changes."""


class TelegramUnavailable(OmniError):
    """Telegram could not be reached or answered with an error (already in words)."""


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


def guard_logs() -> None:
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


def partial(done: int, total: int, reason: object, *, blocked: bool = False) -> SendError:
    """A reply that stopped part-way: never sent again by itself."""
    return SendError(
        "only {done} of {total} parts went out, then: {reason}. "
        "Sending again would repeat the first part(s)",
        done=done,
        total=total,
        reason=reason,
        retryable=False,
        opted_out=blocked,
    )


def blocked_by_customer(exc: BaseException) -> bool:
    """Telegram's 403 "bot was blocked by the user": the customer shut the chat
    to the shop's bot, and nothing reaches them until they write again."""
    from telegram import error

    return isinstance(exc, error.Forbidden) and "blocked" in exc.message.lower()


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
        if blocked_by_customer(exc):
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
