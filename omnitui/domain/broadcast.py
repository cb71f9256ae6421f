"""Broadcasts: who gets one canned reply, on which channel, in which words, and who not.

Pure: the store reads the audience (`AudienceMember`), `plan_broadcast`
decides, the store writes the plan in one transaction (each recipient's
message in the outbox) and the hub sends it at each provider's pace.

A customer gets the broadcast on the channel they last wrote on, when it can
still reach them; else on their most recently used address that can. An
address is never used when the customer opted out of it (an SMS STOP, a
blocked LINE account or Telegram bot) or asked for no more broadcasts on it
(配信停止, unsubscribe). A Telegram bot can only write to someone who wrote
to it. Marketing email goes only to customers whose profile records their
consent when the shop requires it (Japan's law on advertising email).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    CannedReply,
    Channel,
    ChannelKind,
    IdentityKind,
    can_reply,
)
from omnitui.domain.templates import pick_canned, render
from omnitui.i18n import N_

CONSENT_FIELD = "email_consent"  # a profile field: yes / はい / true / 1 / a date
_YES = {"yes", "y", "true", "1", "はい", "同意", "ok"}

# Why a customer is skipped (English templates, put in words where shown).
SKIP_NO_ADDRESS = N_("no channel set up reaches them")
SKIP_OPTED_OUT = N_("opted out of every channel that could reach them")
SKIP_NO_BROADCASTS = N_("asked for no more broadcasts")
SKIP_NO_CONSENT = N_("no consent to marketing email recorded")
SKIP_PLACEHOLDER = N_("the canned reply needs what their profile lacks")
SKIP_LANGUAGE = N_("not in the language asked for")
SKIP_CANCELLED = N_("cancelled before it was sent")

# A customer's whole message that asks for no more broadcasts on that channel,
# or for them again (NFKC, case-folded, without the punctuation around it).
UNSUBSCRIBE_WORDS = frozenset({"配信停止", "停止", "配信不要", "unsubscribe", "stop"})
RESUBSCRIBE_WORDS = frozenset({"配信再開", "resubscribe"})
# How a broadcast email says the customer can refuse the next ones (Japan's law
# on advertising email wants a way to refuse in every message).
REFUSAL_FOOTER = {
    "ja": "配信停止をご希望の方は「配信停止」とご返信ください。",
    "en": "Reply 'unsubscribe' to receive no more of these.",
}
# The line after it when the shop serves one-click unsubscribe links.
ONE_CLICK_FOOTER = {
    "ja": "こちらからも配信を停止できます: {link}",
    "en": "Or unsubscribe here: {link}",
}


@dataclass(frozen=True, slots=True)
class AudienceAddress:
    """One of a customer's addresses, as a broadcast sees it."""

    kind: IdentityKind
    address: str
    last_used: float | None = None
    opted_out: bool = False
    broadcast_opt_out: bool = False
    # For Telegram: the customer has written to the bot (a bot cannot write first).
    reachable: bool = True


@dataclass(frozen=True, slots=True)
class AudienceMember:
    """A customer with the broadcast's tags."""

    contact_id: int
    name: str
    first_name: str = ""
    language: str = ""
    profile: Mapping[str, str] = field(default_factory=dict)
    last_account: str | None = None  # the account of their last message
    addresses: tuple[AudienceAddress, ...] = ()
    channel_language: str = ""  # what a channel said of them (Telegram, LINE)

    def values(self) -> dict[str, str]:
        """What a canned reply's placeholders read for this customer; a first name
        not on the profile is guessed from their name, as automatic replies do."""
        from omnitui.domain.names import given_name_guess

        values = dict(self.profile)
        if self.name:
            values["name"] = self.name
        first = self.first_name or given_name_guess(self.name)
        if first:
            values["first_name"] = first
        return values

    def reply_language(self) -> str:
        """The language they get the broadcast in: their profile's, else what their
        channel said, else Japanese when their name is written in Japanese."""
        from omnitui.domain.names import written_east_asian

        if self.language or self.channel_language:
            return self.language or self.channel_language
        return "ja" if written_east_asian(self.name) else ""


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """One customer's message of a broadcast."""

    contact_id: int
    channel: Channel
    address: str
    text: str
    subject: str = ""
    language: str = ""  # the language it is in (an email's refusal line follows it)


@dataclass(frozen=True, slots=True)
class SkippedCustomer:
    contact_id: int
    reason: str  # an English template (SKIP_*)


@dataclass(frozen=True, slots=True)
class BroadcastPlan:
    messages: tuple[PlannedMessage, ...]
    skipped: tuple[SkippedCustomer, ...]

    def per_channel(self) -> dict[ChannelKind, int]:
        counts: dict[ChannelKind, int] = {}
        for m in self.messages:
            counts[m.channel.kind] = counts.get(m.channel.kind, 0) + 1
        return counts

    def skip_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.reason] = counts.get(s.reason, 0) + 1
        return counts


def has_consent(profile: Mapping[str, str]) -> bool:
    """Whether a profile records consent to marketing email."""
    value = next((v for k, v in profile.items() if k.lower() == CONSENT_FIELD), "")
    text = value.strip().lower()
    return bool(text) and (text in _YES or text[:1].isdigit())


def plan_broadcast(
    audience: Sequence[AudienceMember],
    replies: Sequence[CannedReply],
    shortcut: str,
    channels: Sequence[Channel],
    *,
    only_channel: ChannelKind | None = None,
    only_language: str | None = None,
    shop_values: Mapping[str, str] | None = None,
    email_requires_consent: bool = True,
    subject: str = "",
) -> BroadcastPlan:
    """Who gets the canned reply `shortcut`, where and in which words; who not, and why."""
    messages: list[PlannedMessage] = []
    skipped: list[SkippedCustomer] = []
    usable = [c for c in channels if only_channel is None or c.kind is only_channel]
    for member in audience:
        if only_language and member.reply_language() != only_language:
            skipped.append(SkippedCustomer(member.contact_id, SKIP_LANGUAGE))
            continue
        chosen, why = _channel_for(member, usable, email_requires_consent)
        if chosen is None:
            skipped.append(SkippedCustomer(member.contact_id, why))
            continue
        channel, address = chosen
        canned = pick_canned(replies, shortcut, member.reply_language())
        if canned is None:  # the caller checks the shortcut exists; a guard only
            skipped.append(SkippedCustomer(member.contact_id, SKIP_PLACEHOLDER))
            continue
        rendered = render(canned.body, {**(shop_values or {}), **member.values()})
        if rendered.unresolved:
            skipped.append(SkippedCustomer(member.contact_id, SKIP_PLACEHOLDER))
            continue
        shown_subject = ""
        if channel.kind is ChannelKind.EMAIL:
            shown_subject = subject or canned.title
        messages.append(
            PlannedMessage(
                member.contact_id,
                channel,
                address,
                rendered.text,
                shown_subject,
                canned.language or member.reply_language(),
            )
        )
    return BroadcastPlan(tuple(messages), tuple(skipped))


def _channel_for(
    member: AudienceMember, channels: Sequence[Channel], email_requires_consent: bool
) -> tuple[tuple[Channel, str] | None, str]:
    """The channel and address a customer gets the broadcast on, or why none."""
    by_kind: dict[ChannelKind, list[Channel]] = {}
    for channel in channels:
        if can_reply(channel.kind):  # never a plugin's web form: it carries no message out
            by_kind.setdefault(channel.kind, []).append(channel)
    # Their last channel first, then their other addresses, most recently used first.
    last = next((c for c in channels if c.account == member.last_account), None)
    ordered = sorted(member.addresses, key=lambda a: -(a.last_used or 0.0))
    if last is not None:
        wanted = IDENTITY_FOR_CHANNEL[last.kind]
        ordered.sort(key=lambda a: a.kind is not wanted)
    reasons: list[str] = []
    for address in ordered:
        kind = next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is address.kind)
        candidates = by_kind.get(kind, [])
        if not candidates or not address.reachable:
            continue
        if address.opted_out:
            reasons.append(SKIP_OPTED_OUT)
            continue
        if address.broadcast_opt_out:
            reasons.append(SKIP_NO_BROADCASTS)
            continue
        if kind is ChannelKind.EMAIL and email_requires_consent and not has_consent(member.profile):
            reasons.append(SKIP_NO_CONSENT)
            continue
        channel = last if last is not None and last.kind is kind else candidates[0]
        return (channel, address.address), ""
    if SKIP_NO_BROADCASTS in reasons:
        return None, SKIP_NO_BROADCASTS
    if SKIP_NO_CONSENT in reasons:
        return None, SKIP_NO_CONSENT
    if reasons:
        return None, SKIP_OPTED_OUT
    return None, SKIP_NO_ADDRESS


def _bare(text: str) -> str:
    """`text` as a one-word wish is compared: NFKC, case-folded, without the
    spaces, punctuation and symbols around it ("「配信停止」。", "/stop", "STOP!")."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    start, end = 0, len(folded)
    while start < end and _trimmed(folded[start]):
        start += 1
    while end > start and _trimmed(folded[end - 1]):
        end -= 1
    return folded[start:end]


def _trimmed(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] in "PSZC"


def broadcast_wish(text: str) -> bool | None:
    """What a customer's message says of broadcasts: True when it is only
    配信停止, 停止, 配信不要, unsubscribe or stop (no more, on that channel),
    False when it is only 配信再開 or resubscribe (again), None otherwise.

    The message itself is stored and shown as it is; this only reads it."""
    word = _bare(text)
    if word in UNSUBSCRIBE_WORDS:
        return True
    if word in RESUBSCRIBE_WORDS:
        return False
    return None


def email_broadcast_wish(own_words: str, subject: str) -> bool | None:
    """`broadcast_wish` for an email: its own words (without the quoted
    broadcast below a reply) decide; when they say neither, its subject does
    (the `List-Unsubscribe` mailto link writes "unsubscribe" there, and some
    mail apps put a line of their own in the body)."""
    wish = broadcast_wish(own_words)
    return wish if wish is not None else broadcast_wish(subject)


def footer_language(text: str, language: str = "") -> str:
    """The language a broadcast speaks to its recipient outside the canned reply
    (its refusal line, the unsubscribe page): `language` when it is known, else
    Japanese when the message is written in Japanese (the canned reply was
    picked in the customer's language); "ja" or "en"."""
    from omnitui.domain.names import written_east_asian

    if not language:
        language = "ja" if written_east_asian(text) else "en"
    chosen = language.split("-")[0].lower()
    return chosen if chosen in REFUSAL_FOOTER else "en"


def refusal_footer(text: str, language: str = "", link: str = "") -> str:
    """The line a broadcast email ends with, saying how to refuse the next ones,
    in `footer_language`; with `link` (the customer's one-click unsubscribe
    link), a second line gives it."""
    chosen = footer_language(text, language)
    footer = REFUSAL_FOOTER[chosen]
    return f"{footer}\n{ONE_CLICK_FOOTER[chosen].format(link=link)}" if link else footer
