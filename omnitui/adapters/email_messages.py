"""An email as OmniTUI's message, and a reply as an email: no network here.

`to_inbound` turns raw mail into what the store takes (the parser loads with
the first mail, not when the channel starts); `build_reply` and `recipients`
make the MIME message and the envelope of an agent's reply.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from typing import TYPE_CHECKING
from urllib.parse import quote

from omnitui.domain.broadcast import email_broadcast_wish, refusal_footer
from omnitui.domain.mail import address_of, with_signature
from omnitui.domain.models import Channel, Inbound, Outbound
from omnitui.domain.public_links import unsubscribe_url

if TYPE_CHECKING:
    from omnitui.adapters.mailparse import ParsedMail


def provider_id(parsed: ParsedMail, raw: bytes) -> str:
    """A message's identity across folders and UIDVALIDITY changes.

    The hash covers the whole source: test mails that share a Message-ID, a
    date and a body but differ in a header are different messages.
    """
    digest = hashlib.sha256(raw).hexdigest()[:24]
    stamp = f"{parsed.date:.0f}" if parsed.date is not None else "-"
    mid = parsed.message_id or "-"
    return f"{mid}|{stamp}|{digest}"


def to_inbound(
    channel: Channel,
    raw: bytes,
    received: float | None,
    where: Mapping[str, object] | None = None,
) -> Inbound:
    """An IMAP message as the store takes it; never raises.

    `where` (folder, UIDVALIDITY, UID) is kept so the message can be flagged
    \\Seen on the server later, when the account asks for that.
    """
    # The parser (and its tables) loads with the first mail, not when the channel starts.
    from omnitui.adapters.mailparse import parse_mail

    parsed = parse_mail(raw)
    meta: dict[str, object] = {
        "message_id": parsed.message_id,
        "references": list(parsed.references),
        "in_reply_to": parsed.in_reply_to,
    }
    if parsed.to:
        meta["to"] = list(parsed.to)
    if parsed.cc:
        meta["cc"] = list(parsed.cc)
    if where:
        meta["imap"] = dict(where)
    if parsed.reply != parsed.text:
        meta["reply"] = parsed.reply
    if parsed.automatic:
        meta["automatic"] = parsed.automatic  # no automatic reply ever answers it
    return Inbound(
        channel=channel,
        provider_id=provider_id(parsed, raw),
        address=parsed.from_address or "unknown@invalid",
        display_name=parsed.from_name,
        text=parsed.text,
        sent_at=parsed.date or received or time.time(),
        subject=parsed.subject,
        html=parsed.html,
        raw=raw,
        meta=meta,
        attachments=parsed.attachments,
        parse_error="; ".join(parsed.problems),
        # "配信停止" / "unsubscribe" in reply to a broadcast (or from its
        # List-Unsubscribe link): no more broadcasts to this address.
        broadcast_opt_out=email_broadcast_wish(parsed.reply, parsed.subject),
    )


def parse_fetched(
    channel: Channel, folder: str, uidvalidity: int, fetched: list[tuple[int, bytes, float | None]]
) -> list[Inbound]:
    """Parse fetched mail (module level: it runs in worker processes too)."""
    return [
        to_inbound(channel, raw, at, {"folder": folder, "uidvalidity": uidvalidity, "uid": uid})
        for uid, raw, at in fetched
    ]


def _listed(meta: Mapping[str, object], key: str) -> list[str]:
    value = meta.get(key)
    return [str(v) for v in value] if isinstance(value, list) else []


def recipients(message: Outbound) -> list[str]:
    """Every address the reply goes to: the customer, its Cc and its Bcc, once each."""
    out = [message.address]
    for entry in (*_listed(message.meta, "cc"), *_listed(message.meta, "bcc")):
        address = address_of(entry)
        if address not in (a.lower() for a in out):
            out.append(address)
    return out


def build_reply(
    from_header: str, message: Outbound, *, public_url: str | None = None
) -> EmailMessage:
    """The reply as a UTF-8 MIME message, threaded for the customer's mail app.

    `meta` may add Cc (a header) and a signature (after "-- "); Bcc never
    shows in the message, only in the envelope (`recipients`). A reply a rule
    sent (`meta["automatic"]`) says so (RFC 3834), so the customer's own
    autoresponder does not answer it and OmniTUI knows it if it comes back.
    A broadcast's message (`meta["broadcast"]`) carries `List-Unsubscribe`
    (a mailto to the shop) and `Precedence: bulk`, and ends with a line saying
    how to refuse the next ones. When the shop serves one-click links
    (`public_url`) and the recipient has one (`meta["unsubscribe"]`), the
    header lists that link first with `List-Unsubscribe-Post` (RFC 8058), and
    the last line gives it too.
    """
    name, address = parseaddr(from_header)
    domain = address.rpartition("@")[2] or "omnitui.invalid"
    mail = EmailMessage()
    mail["From"] = formataddr((name, address)) if name else address
    mail["To"] = message.address
    cc = _listed(message.meta, "cc")
    if cc:
        mail["Cc"] = ", ".join(cc)
    mail["Subject"] = message.subject or "Re:"
    mail["Date"] = formatdate(localtime=True)
    # Stable across retries, so a resend is recognisable as the same message.
    token = hashlib.sha256(f"{message.message_id}|{message.text}".encode()).hexdigest()[:16]
    mail["Message-ID"] = f"<omnitui.{message.message_id}.{token}@{domain}>"
    in_reply_to = message.meta.get("in_reply_to")
    references = message.meta.get("references")
    if isinstance(in_reply_to, str) and in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if isinstance(references, list) and references:
        mail["References"] = " ".join(str(r) for r in references)
    if message.meta.get("automatic"):
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    signature = message.meta.get("signature")
    body = with_signature(message.text, signature if isinstance(signature, str) else "")
    if message.meta.get("broadcast") is not None:
        # Marketing email (Japan's law on advertising email): the shop's name in
        # From (above), a way to refuse in the headers and in the customer's words.
        # The reply "unsubscribe" comes back to this address and is read on arrival.
        mailto = f"<mailto:{quote(address, safe='@+')}?subject=unsubscribe>"
        own = message.meta.get("unsubscribe")  # this recipient's one-click token
        link = unsubscribe_url(public_url, own) if public_url and isinstance(own, str) else ""
        if link:
            mail["List-Unsubscribe"] = f"<{link}>, {mailto}"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        else:
            mail["List-Unsubscribe"] = mailto
        mail["Precedence"] = "bulk"
        language = message.meta.get("language")
        footer = refusal_footer(
            message.text, language if isinstance(language, str) else "", link=link
        )
        body = f"{body.rstrip()}\n\n{footer}\n"
    mail.set_content(body, charset="utf-8")
    for f in message.files:
        maintype, _, subtype = f.content_type.partition("/")
        mail.add_attachment(
            f.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=f.filename,
        )
    return mail
