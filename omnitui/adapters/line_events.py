"""What LINE's webhook says, read: the signature, the body, each event.

LINE posts a JSON body `{"destination", "events": [...]}` signed with the
channel secret (`x-line-signature`: Base64 of HMAC-SHA256 over the raw
bytes). The signature is checked before anything else is read. The body's
events are read one by one, as plain dicts checked here, so one event LINE
adds later (or one with a field missing) is logged and skipped while the
others are stored.

Nothing here does I/O: the adapter (`omnitui.adapters.line`) downloads the
media these readings name and asks LINE for a sender's profile.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from omnitui.errors import OmniError

SIGNATURE_HEADER = "x-line-signature"
MAX_BODY_BYTES = 1024 * 1024  # LINE's bodies are a few KB; a burst of events stays far under
MEDIA_KINDS = ("image", "video", "audio", "file")
# What a file is called when LINE does not say (images, video and audio carry no name).
_MEDIA_NAMES = {
    "image": ("image.jpg", "image/jpeg"),
    "video": ("video.mp4", "video/mp4"),
    "audio": ("audio.m4a", "audio/x-m4a"),
}


class NotAnEvent(OmniError):
    """An event (or a body) that is not what LINE's webhook sends."""


def signature_of(body: bytes, secret: str) -> str:
    """The `x-line-signature` LINE sends with `body` for a channel with `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_by(body: bytes, signature: str, secret: str) -> bool:
    """Whether `signature` is the channel's signature of `body` (compared in constant time)."""
    return hmac.compare_digest(signature_of(body, secret).encode(), signature.strip().encode())


def read_body(body: bytes) -> list[Any]:
    """The event list of a webhook body, or `NotAnEvent` saying why it is not one."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotAnEvent("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise NotAnEvent("the body has no list of events")
    return list(data["events"])


@dataclass(frozen=True, slots=True)
class Media:
    """A file a customer sent, to fetch from LINE's content API (LINE deletes it later)."""

    message_id: str
    kind: str  # image | video | audio | file
    filename: str
    content_type: str
    size: int | None = None  # LINE says it for a file
    external_url: str | None = None  # contentProvider "external": the sender's own server


@dataclass(frozen=True, slots=True)
class LineEvent:
    """One webhook event, read."""

    kind: str  # message | follow | unfollow | other
    event_id: str
    timestamp: float  # seconds
    user_id: str | None
    redelivery: bool
    group_id: str | None = None  # a group or room the event came from
    group_kind: str | None = None  # "group" | "room"
    reply_token: str | None = None
    message_id: str | None = None
    message_kind: str = ""
    text: str = ""
    media: Media | None = None
    meta: Mapping[str, object] = field(default_factory=dict)
    unblocked: bool = False  # a follow from someone who had blocked the account
    event_type: str = ""  # LINE's own type, for a log line about an event not taken


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise NotAnEvent("the event has no {what}", what=what)
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotAnEvent("the event has no {what}", what=what)
    return float(value)


def read_event(data: object) -> LineEvent:
    """One event of a webhook body, or `NotAnEvent` saying what is missing."""
    if not isinstance(data, dict):
        raise NotAnEvent("an event is not an object")
    event_type = _text(data.get("type"), "type")
    event_id = _text(data.get("webhookEventId"), "webhookEventId")
    timestamp = _number(data.get("timestamp"), "timestamp") / 1000
    context = data.get("deliveryContext")
    redelivery = isinstance(context, dict) and context.get("isRedelivery") is True
    source = data.get("source")
    user_id = group_id = group_kind = None
    if isinstance(source, dict):
        user_id = source.get("userId") if isinstance(source.get("userId"), str) else None
        if source.get("type") in ("group", "room"):
            group_kind = str(source["type"])
            found = source.get("groupId" if group_kind == "group" else "roomId")
            group_id = _text(found, f"{group_kind}Id")
    base = LineEvent(
        "other",
        event_id=event_id,
        timestamp=timestamp,
        user_id=user_id,
        redelivery=redelivery,
        group_id=group_id,
        group_kind=group_kind,
        event_type=event_type,
    )
    reply_token = data.get("replyToken") if isinstance(data.get("replyToken"), str) else None
    if event_type == "follow":
        follow = data.get("follow")
        unblocked = isinstance(follow, dict) and follow.get("isUnblocked") is True
        return replace(base, kind="follow", reply_token=reply_token, unblocked=unblocked)
    if event_type == "unfollow":
        return replace(base, kind="unfollow")
    if event_type != "message":
        return base
    message = data.get("message")
    if not isinstance(message, dict):
        raise NotAnEvent("the event has no {what}", what="message")
    message_id = _text(message.get("id"), "message id")
    kind = _text(message.get("type"), "message type")
    text, media, meta = read_message(kind, message_id, message)
    if reply_token:
        meta["reply_token"] = reply_token
    if group_id:
        meta[f"{group_kind}_id"] = group_id
    quoted = message.get("quotedMessageId")
    if isinstance(quoted, str) and quoted:
        meta["reply_to"] = quoted
    return replace(
        base,
        kind="message",
        reply_token=reply_token,
        message_id=message_id,
        message_kind=kind,
        text=text,
        media=media,
        meta=meta,
    )


def read_message(
    kind: str, message_id: str, message: Mapping[str, Any]
) -> tuple[str, Media | None, dict[str, object]]:
    """A message's text as the thread shows it, the file to fetch, and what to keep."""
    meta: dict[str, object] = {"kind": kind, "message_id": message_id}
    if kind == "text":
        return str(message.get("text") or ""), None, meta
    if kind == "sticker":
        return sticker_words(message), None, {**meta, **_sticker_ids(message)}
    if kind == "location":
        return location_words(message), None, meta
    if kind in MEDIA_KINDS:
        media = media_of(kind, message_id, message)
        words = {
            "image": "📷 photo",
            "video": "🎬 video",
            "audio": "🎤 voice message",
            "file": f"📄 {media.filename}",
        }[kind]
        if kind in ("video", "audio"):
            length = message.get("duration")
            if isinstance(length, int) and not isinstance(length, bool) and length > 0:
                words += f", {_duration(length / 1000)}"
        return words, media, meta
    return f"({kind} message)", None, meta


def media_of(kind: str, message_id: str, message: Mapping[str, Any]) -> Media:
    if kind == "file":
        name = message.get("fileName")
        filename = name if isinstance(name, str) and name.strip() else "file"
        size = message.get("fileSize")
        known = size if isinstance(size, int) and not isinstance(size, bool) else None
        return Media(message_id, kind, filename, _guess_type(filename), known)
    filename, content_type = _MEDIA_NAMES[kind]
    provider = message.get("contentProvider")
    external = None
    if isinstance(provider, dict) and provider.get("type") == "external":
        url = provider.get("originalContentUrl")
        external = url if isinstance(url, str) else None
    return Media(message_id, kind, filename, content_type, None, external)


def sticker_words(message: Mapping[str, Any]) -> str:
    """A sticker as words: what it says (a message sticker's text), else its keywords."""
    said = message.get("text")
    if isinstance(said, str) and said.strip():
        return f"(sticker: {said.strip()})"
    keywords = [k for k in message.get("keywords") or [] if isinstance(k, str) and k]
    if keywords:
        return f"(sticker: {', '.join(keywords[:5])})"
    return "(sticker)"


def _sticker_ids(message: Mapping[str, Any]) -> dict[str, object]:
    return {
        k: message[k]
        for k in ("packageId", "stickerId")
        if isinstance(message.get(k), str | int) and not isinstance(message.get(k), bool)
    }


def location_words(message: Mapping[str, Any]) -> str:
    lat, lon = message.get("latitude"), message.get("longitude")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        return "📍 (a location)"
    assert isinstance(lat, int | float) and isinstance(lon, int | float)
    where = f"📍 {lat:.6f}, {lon:.6f}"
    title, address = message.get("title"), message.get("address")
    named = ", ".join(v for v in (title, address) if isinstance(v, str) and v.strip())
    if named:
        where = f"📍 {named}\n{where[2:]}"
    return f"{where}\nhttps://maps.google.com/?q={lat:.6f},{lon:.6f}"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _guess_type(filename: str) -> str:
    import mimetypes

    found, _ = mimetypes.guess_type(filename)
    return found or "application/octet-stream"
