"""What a Telegram update says, as OmniTUI stores it, and a reply cut to Telegram's size.

A webhook body is checked before anything is done with it (UTF-8 JSON, not
nested past `MAX_JSON_DEPTH`, with an integer update_id); a message of any
kind is read into the text OmniTUI shows, its files, and who sent it.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from omnitui.domain.broadcast import broadcast_wish
from omnitui.domain.identity import InvalidAddress, normalize_phone
from omnitui.domain.models import (
    Channel,
    IdentityKind,
    Inbound,
    InboundAttachment,
)
from omnitui.domain.qr import source_tag, valid_source
from omnitui.errors import OmniError

if TYPE_CHECKING:
    from telegram import CallbackQuery, Message


TEXT_LIMIT = 4096  # characters per message; counted in UTF-16 units, which is never fewer
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the most a bot may download through getFile
_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
# A tap on an inline button (a satisfaction survey's 1-5) is a callback_query.
ALLOWED_UPDATES = (*_MESSAGE_KINDS, "callback_query")
MAX_JSON_DEPTH = 64  # lists and objects in an update; Telegram's own nest about 8 deep
BOT_SENDER = "sent by a bot"  # why a message is automatic (`Inbound.meta["automatic"]`)


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


MENU_ROW = 4  # buttons per row of a menu keyboard


def menu_rows(options: Sequence[str], per_row: int = MENU_ROW) -> list[list[str]]:
    """A menu's options as rows of buttons, `per_row` to a row."""
    return [list(options[i : i + per_row]) for i in range(0, len(options), per_row)]


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
    if user is not None and user.is_bot:
        meta["automatic"] = BOT_SENDER  # another bot: an automatic reply never answers it
    if message.reply_to_message is not None:
        meta["reply_to"] = f"{chat.id}:{message.reply_to_message.message_id}"
    files = media_of(message)
    if files:
        meta["files"] = [{"kind": m.kind, "file_id": m.file_id} for m in files]
    text = reading.text
    tags: tuple[str, ...] = ()
    private = chat.type == "private"
    start = start_payload(message.text) if private else None
    if start is not None:
        # The customer opened the bot through a link (a QR code at the counter):
        # Telegram sends "/start <source>" for them. Shown as what happened, and
        # the source becomes their tag.
        meta["start"] = start
        text = started_text(start)
        tags = (source_tag(start),) if start else ()
    return Inbound(
        channel=channel,
        provider_id=f"{chat.id}:{message.message_id}",
        address=str(sender_id),
        display_name=_display_name(message),
        text=text,
        sent_at=message.date.timestamp(),
        raw=raw,
        meta=meta,
        attachments=tuple(attachments),
        parse_error=reading.problem,
        edited=edited,
        identity_data=identity,
        linked_identities=linked,
        tags=tags,
        # In their own chat with the bot: writing again undoes a block (the bot
        # can reach them again), and "配信停止" / "stop" asks for no more broadcasts.
        opt_out=False if private else None,
        broadcast_opt_out=broadcast_wish(reading.text) if private else None,
    )


def start_payload(text: str | None) -> str | None:
    """The source of a `/start` a customer sent by opening the bot's link: ""
    for a plain `/start`, the start parameter when it is one a link can carry,
    None when the message is not a `/start`."""
    if text is None:
        return None
    command, _, rest = text.strip().partition(" ")
    if command.split("@", 1)[0] != "/start":
        return None
    payload = rest.strip()
    return payload if valid_source(payload) else ""


def started_text(source: str) -> str:
    """What a `/start` message says in the thread (the console words it in its
    own language from the message's `start` field)."""
    if source:
        return f"started the chat (from the {source} QR code)"
    return "started the chat"


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
    meta: dict[str, object] = {
        "chat_id": chat_id,
        "chat_type": chat.get("type"),
        "message_id": message_id,
    }
    if sender.get("is_bot") is True:
        meta["automatic"] = BOT_SENDER
    return Inbound(
        channel=channel,
        provider_id=provider,
        address=str(sender.get("id") or chat_id or f"unknown:{channel.account}"),
        display_name=" ".join(n for n in names if isinstance(n, str)),
        text=text if isinstance(text, str) else "",
        sent_at=float(date) if isinstance(date, int | float) else time.time(),
        raw=json.dumps(data, ensure_ascii=False).encode(),
        meta=meta,
        parse_error="Telegram sent this message with fields missing or malformed: "
        "what could be read is shown, and the raw update is kept",
        edited=any(k.startswith("edited_") for k in data if isinstance(data.get(k), dict)),
    )


def chat_type_of(data: Mapping[str, Any]) -> str | None:
    for kind in _MESSAGE_KINDS:
        body = data.get(kind)
        if isinstance(body, dict) and isinstance(body.get("chat"), dict):
            chat_type = body["chat"].get("type")
            return chat_type if isinstance(chat_type, str) else None
    return None


def too_big(size: int) -> str:
    return f"not downloaded: {_size(size)} is over the 20 MB a Telegram bot may download"


def callback_inbound(
    channel: Channel, query: CallbackQuery, *, at: float, raw: bytes | None = None
) -> Inbound | None:
    """A tap on a survey button as the customer's answer: the message "5" (meta
    `csat_source` "button"); None for a button that is not a survey's."""
    from omnitui.domain.csat import button_rating

    rating = button_rating(query.data)
    if rating is None:
        return None
    user = query.from_user
    origin = query.message
    chat = origin.chat if origin is not None else None
    chat_id = chat.id if chat is not None else user.id
    meta: dict[str, object] = {
        "chat_id": chat_id,
        "chat_type": chat.type if chat is not None else "private",
        "kind": "button",
        "csat_source": "button",
    }
    if origin is not None:
        meta["reply_to"] = f"{chat_id}:{origin.message_id}"
    identity: dict[str, object] = {}
    if chat is None or chat.type == "private":
        identity["chat_id"] = chat_id
    if user.username:
        identity["username"] = user.username
    if user.language_code:
        identity["language_code"] = user.language_code
    name = " ".join(p for p in (user.first_name, user.last_name) if p).strip()
    return Inbound(
        channel=channel,
        provider_id=f"callback:{query.id}",
        address=str(user.id),
        display_name=name or (f"@{user.username}" if user.username else str(user.id)),
        text=str(rating),
        sent_at=at,
        raw=raw,
        meta=meta,
        identity_data=identity,
        opt_out=False if chat is None or chat.type == "private" else None,
    )
