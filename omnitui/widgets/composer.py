"""The composer: the reply text, the channel it goes on, and what it will cost.

It replies on the customer's last channel unless the agent picks another
(`ctrl+t`). For SMS it shows the live segment count and warns when one
character switches the message to UCS-2; an SMS to a Japanese mobile is
marked one-way (they cannot answer it), with the customer's other channels.
For LINE it says whether the reply is free (the customer's reply token) or a
push counted against the month's quota, and how much of that is left; it
turns from one to the other while the agent types.
A customer who opted out of the channel (an SMS STOP, a blocked LINE account)
is said so before anything is written. For email it shows the subject
(`ctrl+j` goes to it), Cc and Bcc (`ctrl+l`; `ctrl+g` copies in everyone the
customer's last mail went to) and, below the text, the signature that will
be added when it is sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message as TextualMessage
from textual.timer import Timer
from textual.widgets import Static

from omnitui.domain.line import LineQuota, reply_is_free
from omnitui.domain.mail import address_of, clean_subject, merge_addresses
from omnitui.domain.models import Channel, ChannelKind, Draft, OutboundFile
from omnitui.domain.safe_text import one_line, visible
from omnitui.domain.sms import MAX_BODY, count_segments
from omnitui.domain.templates import still_unresolved
from omnitui.i18n import tr
from omnitui.widgets.fields import Input, TextArea
from omnitui.widgets.format import CHANNEL_STYLE, channel_mark, channel_name

# "/thanks " typed at the start or after a space expands the canned reply `thanks`.
_SHORTCUT = re.compile(r"(?:^|\s)/([A-Za-z0-9_-]+) $")
# How often, at most, the composer looks again at a LINE reply window that is
# still open: the store's clock may be a test's, which no timer follows.
_WINDOW_TICK = 1.0


@dataclass(frozen=True, slots=True)
class ReplyReach:
    """What the composer says about reaching the customer on screen, by channel."""

    # Their SMS number is Japanese: they cannot answer an SMS.
    one_way_sms: bool = False
    # The channels they opted out of (an SMS STOP, a blocked LINE account).
    opted_out: frozenset[ChannelKind] = frozenset()
    # By LINE account: until when (store clock) a reply uses their free reply token.
    line_free_until: Mapping[str, float] = field(default_factory=dict)
    # By LINE account: the month's push quota (None: not known yet).
    line_quota: Mapping[str, LineQuota | None] = field(default_factory=dict)


class Composer(Vertical):
    """Reply box. Posts `SendRequested`, `CannedWanted`."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="composer.send"),
        Binding("ctrl+r", "canned", "Canned reply", id="composer.canned"),
        Binding("ctrl+t", "next_channel", "Channel", id="composer.channel"),
        Binding("ctrl+o", "attach", "Attach a file", show=False, id="composer.attach"),
        # priority: the text area would take ctrl+e as "end of line"
        Binding(
            "ctrl+e", "editor", "Edit in $EDITOR", show=False, priority=True, id="composer.editor"
        ),
        # Email headers. ctrl+j arrives as a line feed, which the text area does
        # not take (enter is a carriage return); ctrl+l and ctrl+g are free in
        # it and in terminals (tmux's prefix is ctrl+b, screen's ctrl+a).
        Binding("ctrl+j", "subject", "To the subject (email)", show=False, id="composer.subject"),
        Binding("ctrl+l", "recipients", "Cc and Bcc (email)", show=False, id="composer.cc"),
        Binding(
            "ctrl+g",
            "reply_all",
            "Reply to all: Cc everyone on the customer's last mail, or not",
            show=False,
            id="composer.reply_all",
        ),
        Binding("escape", "leave", "Back", id="composer.back"),
    ]

    DEFAULT_CSS = """
    Composer { height: auto; max-height: 14; }
    Composer #composer-status { height: 1; padding: 0 1; background: $boost; }
    Composer #composer-subject { height: 1; border: none; padding: 0 1; background: $boost 50%; }
    Composer #composer-subject:focus { border: none; }
    Composer #composer-headers { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    Composer #composer-notice { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    Composer #composer-signature { height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    Composer TextArea { height: 6; border: none; padding: 0 1; }
    Composer TextArea:focus { border: none; }
    """

    class SendRequested(TextualMessage):
        def __init__(self, text: str, channel: Channel | None) -> None:
            super().__init__()
            self.text = text
            self.channel = channel

    class AttachWanted(TextualMessage):
        """The agent asked to attach a file."""

    class EditorWanted(TextualMessage):
        """The agent asked to write the reply in their own editor."""

    class RecipientsWanted(TextualMessage):
        """The agent asked to edit the email's Cc and Bcc."""

    class CannedWanted(TextualMessage):
        """The agent asked for the canned-reply picker."""

    class Left(TextualMessage):
        """The agent pressed escape in the composer."""

    class ShortcutTyped(TextualMessage):
        """`/shortcut` and a space were typed: the screen may expand it."""

        def __init__(self, name: str, start: tuple[int, int], end: tuple[int, int]) -> None:
            super().__init__()
            self.name = name
            self.start = start
            self.end = end

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.channels: list[Channel] = []
        self.channel: Channel | None = None
        self.subject = ""
        # The subject each email account starts with ("Re: …", or a first
        # mail's), until the agent types their own.
        self.subjects: dict[str, str] = {}
        self._subject_shown = ""  # the last subject put in the field (not typed)
        self.subject_typed = False
        self.cc: list[str] = []
        self.bcc: list[str] = []
        # By email account: who else the customer's last mail there went to,
        # and the signature a reply from there carries.
        self.others_on_mail: dict[str, tuple[str, ...]] = {}
        self.signatures: dict[str, str] = {}
        # Cc and Bcc of customers the agent moved away from, for when they come back.
        self._kept_recipients: dict[int, tuple[list[str], list[str]]] = {}
        self.pending_placeholders: tuple[str, ...] = ()
        self.files: list[OutboundFile] = []
        self.others: list[str] = []  # other agents writing to this customer now
        self.reach = ReplyReach()
        # The store's clock, which LINE's reply window is measured on.
        self.clock: Callable[[], float] = time.time
        self._window_timer: Timer | None = None
        # The customer this reply is for: the composer always belongs to the
        # customer on screen, and only ever sends to its owner.
        self.owner: int | None = None
        # False until the owner's kept draft is in (or known not to exist), so
        # an empty composer never overwrites a draft that was still loading.
        self.loaded = False
        self._status = Static(id="composer-status")
        # A second line when the channel needs explaining (a one-way SMS).
        self._notice = Static(id="composer-notice")
        self._notice.display = False
        self._subject = Input(id="composer-subject", placeholder=tr("Subject"), compact=True)
        self._subject.display = False
        self._headers = Static(id="composer-headers")
        self._headers.display = False
        self._text = TextArea(id="composer-text", soft_wrap=True, show_line_numbers=False)
        self._signature = Static(id="composer-signature")
        self._signature.display = False

    def compose(self) -> ComposeResult:
        yield self._status
        yield self._notice
        yield self._subject
        yield self._headers
        yield self._text
        yield self._signature

    @property
    def text_area(self) -> TextArea:
        # Held, not queried: a worker still drawing a thread while the console
        # closes must find the composer's parts.
        return self._text

    @property
    def text(self) -> str:
        return self.text_area.text

    @property
    def subject_input(self) -> Input:
        return self._subject

    def set_channels(
        self,
        channels: list[Channel],
        default: Channel | None,
        subjects: Mapping[str, str] | None = None,
        *,
        signatures: Mapping[str, str] | None = None,
        others_on_mail: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        """The channels this customer can be answered on; `default` is their last
        one. `subjects` gives each email account's subject to start with.

        Also by email account: `signatures` and, in `others_on_mail`, who else
        the customer's last mail there went to (what a reply-all copies in)."""
        self.channels = channels
        self.channel = default if default in channels else (channels[0] if channels else None)
        self.subjects = dict(subjects or {})
        self.signatures = dict(signatures or {})
        self.others_on_mail = dict(others_on_mail or {})
        self.subject_typed = False
        self._show_subject()
        self.refresh_status()

    def pick_channel(self, channel: Channel) -> None:
        """Reply on `channel` (one of `channels`)."""
        if channel in self.channels:
            self.channel = channel
            self._show_subject()
            self.refresh_status()

    def _show_subject(self) -> None:
        """The subject field, shown for email, with the account's subject unless
        the agent wrote their own."""
        channel = self.channel
        email = channel is not None and channel.kind is ChannelKind.EMAIL
        if email and channel is not None and not self.subject_typed:
            self._put_subject(self.subjects.get(channel.account, ""))
        self.subject_input.display = email

    def _put_subject(self, subject: str) -> None:
        self.subject = subject
        self._subject_shown = subject
        if self.subject_input.value != subject:
            self.subject_input.value = subject

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "composer-subject" or event.value != event.input.value:
            return  # not ours, or a value already replaced
        self.subject = event.value
        if event.value != self._subject_shown:
            self.subject_typed = True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "composer-subject":
            event.stop()
            self.text_area.focus()  # enter in the subject: on to the text

    def reset(self) -> None:
        """Empty, for the next reply: no text, files, Cc or Bcc; the account's
        subject again."""
        self.text_area.load_text("")
        self.pending_placeholders = ()
        self.files = []
        self.cc, self.bcc = [], []
        self.subject_typed = False
        self._show_subject()
        self.refresh_status()

    def hand_over(self, owner: int) -> tuple[int, Draft] | None:
        """Empty the composer for another customer, at once; the draft left by
        the previous owner (None when there is nothing to keep for them).

        Cc and Bcc stay with their customer while the console runs (the
        kept draft holds the text, the channel and the subject)."""
        left = (self.owner, self.draft()) if self.owner is not None and self.loaded else None
        if self.owner is not None:
            if self.cc or self.bcc:
                self._kept_recipients[self.owner] = (self.cc, self.bcc)
            else:
                self._kept_recipients.pop(self.owner, None)
        self.owner = owner
        self.loaded = False
        self.reach = ReplyReach()
        self.reset()
        self.cc, self.bcc = self._kept_recipients.pop(owner, ([], []))
        return left

    def draft(self) -> Draft:
        """What is written so far, as a draft to keep."""
        account = self.channel.account if self.channel is not None else ""
        return Draft(self.text, account, self.subject)

    def load_draft(self, draft: Draft | None) -> None:
        """The owner's kept draft into the composer (None: it has none)."""
        if draft is not None and draft.text and not self.text:
            self.text_area.load_text(draft.text)
            self.text_area.move_cursor(self.text_area.document.end)
            picked = next((c for c in self.channels if c.account == draft.account), None)
            if picked is not None:
                self.channel = picked
                self._show_subject()
            if draft.subject and draft.subject != self.subject:
                self._put_subject(draft.subject)
                self.subject_typed = True
        self.loaded = True
        self.refresh_status()

    def insert_text(self, text: str, placeholders: tuple[str, ...]) -> None:
        area = self.text_area
        area.insert(text)
        self.pending_placeholders = tuple(
            dict.fromkeys((*self.pending_placeholders, *placeholders))
        )
        area.focus()
        self.refresh_status()

    def unresolved(self) -> tuple[str, ...]:
        """Placeholders from inserted canned replies still standing in the text."""
        return still_unresolved(self.text, self.pending_placeholders)

    @property
    def is_email(self) -> bool:
        return self.channel is not None and self.channel.kind is ChannelKind.EMAIL

    @property
    def signature(self) -> str:
        """The signature the reply will carry on the channel picked ('' for none)."""
        if not self.is_email or self.channel is None:
            return ""
        return self.signatures.get(self.channel.account, "")

    @property
    def also_on_mail(self) -> tuple[str, ...]:
        """Who else the customer's last mail on this account went to."""
        if not self.is_email or self.channel is None:
            return ()
        return self.others_on_mail.get(self.channel.account, ())

    def put_typed_subject(self, subject: str) -> None:
        """A subject the agent wrote before (a withdrawn reply's), back in the
        field and kept as theirs when the channel changes."""
        self._put_subject(clean_subject(subject))
        self.subject_typed = True

    def keep_recipients(self, owner: int, cc: list[str], bcc: list[str]) -> None:
        """Cc and Bcc for `owner`'s reply, for when the composer is theirs again."""
        if owner == self.owner:
            self.set_recipients(cc, bcc)
        elif cc or bcc:
            self._kept_recipients[owner] = (list(cc), list(bcc))

    def set_recipients(self, cc: list[str], bcc: list[str]) -> None:
        self.cc, self.bcc = list(cc), list(bcc)
        self.refresh_status()

    @property
    def reply_all(self) -> bool:
        """Is everyone else on the customer's last mail in the Cc?"""
        others = {address_of(o) for o in self.also_on_mail}
        return bool(others) and others <= {address_of(c) for c in self.cc}

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.refresh_status()
        area = self.text_area
        row, col = area.cursor_location
        before = area.document.get_line(row)[:col]
        match = _SHORTCUT.search(before)
        if match is not None:
            self.post_message(
                self.ShortcutTyped(match.group(1), (row, match.start(1) - 1), (row, col))
            )

    def replace_range(
        self, text: str, start: tuple[int, int], end: tuple[int, int], placeholders: tuple[str, ...]
    ) -> None:
        """Put `text` where a typed shortcut was."""
        self.text_area.replace(text, start, end)
        self.pending_placeholders = tuple(
            dict.fromkeys((*self.pending_placeholders, *placeholders))
        )
        self.refresh_status()

    def refresh_status(self) -> None:
        """One line: the channel, then what needs the agent's eye (SMS count and
        UCS-2, another agent replying, files, unfilled placeholders), then the
        account and hints, which a narrow screen cuts first."""
        status = Text(no_wrap=True, overflow="ellipsis")
        channel = self.channel
        if channel is None:
            status.append(tr("No channel to reply on"), "dim")
        else:
            status.append(tr("Reply via") + " ", "dim")
            status.append(channel_mark(channel.kind), CHANNEL_STYLE[channel.kind])
            status.append(f" {channel_name(channel.kind)}")
            if channel.kind in self.reach.opted_out:
                status.append_text(opted_out_status(channel.kind))
            elif channel.kind is ChannelKind.LINE:
                status.append_text(self._line_status(channel.account))
            if channel.kind is ChannelKind.SMS:
                status.append_text(sms_status(self.text))
            if self._one_way:  # after the count, which a narrow screen keeps; the notice explains
                status.append("  " + tr("one-way"), "bold yellow")
        if self.others:
            who = ", ".join(visible(a) for a in self.others)
            replying = (
                tr("{who} is replying too")
                if len(self.others) == 1
                else tr("{who} are replying too")
            )
            status.append("  ⚠ " + replying.format(who=who), "bold yellow")
        if self.files:
            names = ", ".join(visible(f.filename) for f in self.files)
            status.append(f"  📎 {names}", "bold")
        missing = self.unresolved()
        if missing:
            marks = " ".join("{" + m + "}" for m in missing)
            status.append(
                "  " + tr("fill in: {placeholders}").format(placeholders=marks), "bold red"
            )
        if channel is not None:
            status.append(f" ({channel.account})", "dim")
            if len(self.channels) > 1:
                status.append("  ^T " + tr("switch"), "dim")
        self._status.update(status, layout=False)
        self._refresh_notice()
        self._refresh_headers()

    @property
    def _one_way(self) -> bool:
        """Is the reply an SMS the customer cannot answer (a Japanese mobile)?"""
        channel = self.channel
        return (
            channel is not None
            and channel.kind is ChannelKind.SMS
            and self.reach.one_way_sms
            and channel.kind not in self.reach.opted_out
        )

    def _refresh_notice(self) -> None:
        """The line below the status: why an SMS is one-way, and where the
        customer can answer instead."""
        one_way = self._one_way
        if self._notice.display != one_way:
            self._notice.display = one_way
        if one_way and self.channel is not None:
            self._notice.update(one_way_notice(self._other_kinds(self.channel.kind)), layout=False)

    def set_reach(self, reach: ReplyReach) -> None:
        """What to say about reaching the customer on screen (one-way SMS,
        opt-outs, LINE's reply window and quota)."""
        self.reach = reach
        self.refresh_status()

    def _other_kinds(self, kind: ChannelKind) -> list[ChannelKind]:
        """The customer's other channels that can carry a reply, in the
        composer's order, each once."""
        kinds = [c.kind for c in self.channels if c.kind is not kind]
        return [k for k in dict.fromkeys(kinds) if k not in self.reach.opted_out]

    def _line_status(self, account: str) -> Text:
        """`· reply (free)` while the customer's reply token is valid, else what
        a push costs; looked at again when the token runs out."""
        free_until = self.reach.line_free_until.get(account)
        now = self.clock()
        if reply_is_free(free_until, now):
            assert free_until is not None
            self._watch_window(free_until - now)
            return Text(" · " + tr("reply (free)"), "green")
        return line_push_status(self.reach.line_quota.get(account))

    def _watch_window(self, remaining: float) -> None:
        """Draw the status again when the reply window closes (or a second
        from now, whichever is sooner)."""
        if self._window_timer is None and self.is_mounted:
            self._window_timer = self.set_timer(
                max(0.05, min(remaining, _WINDOW_TICK)), self._window_tick
            )

    def _window_tick(self) -> None:
        self._window_timer = None
        self.refresh_status()

    def _refresh_headers(self) -> None:
        """For email: Cc and Bcc (and the reply-all offer) above the text, the
        signature below it."""
        headers = self._headers
        signature_line = self._signature
        signature = self.signature
        # Shown or hidden as the channel changes; typing changes neither.
        if headers.display != self.is_email:
            headers.display = self.is_email
        if signature_line.display != bool(signature):
            signature_line.display = bool(signature)
        if not self.is_email:
            headers.update("", layout=False)
            signature_line.update("", layout=False)
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        # The offer first: a narrow screen cuts the end of the line.
        others = self.also_on_mail
        if others and not self.reply_all:
            names = ", ".join(one_line(_name_or_address(o), 30) for o in others)
            text.append("^G " + tr("reply all (+{n})").format(n=len(others)), "bold yellow")
            text.append(f" {names}  ", "yellow")
        for label, entries in (("Cc", self.cc), ("Bcc", self.bcc)):
            if entries:
                text.append(f"{label}: ", "dim")
                text.append(", ".join(visible(e) for e in entries))
                text.append("  ")
        text.append("^L " + tr("Cc/Bcc"), "dim")
        if others and self.reply_all:
            text.append("  ^G " + tr("sender only"), "dim")
        headers.update(text, layout=False)
        if signature:
            shown = Text("-- ", no_wrap=True, overflow="ellipsis")
            shown.append(" · ".join(one_line(line, 80) for line in signature.splitlines()))
            signature_line.update(shown, layout=False)

    def action_attach(self) -> None:
        self.post_message(self.AttachWanted())

    def action_editor(self) -> None:
        self.post_message(self.EditorWanted())

    def replace_text(self, text: str) -> None:
        """The whole reply, as the agent's editor gave it back."""
        self.text_area.load_text(text)
        self.text_area.move_cursor(self.text_area.document.end)
        self.text_area.focus()
        self.refresh_status()

    def action_send(self) -> None:
        self.post_message(self.SendRequested(self.text, self.channel))

    def action_canned(self) -> None:
        self.post_message(self.CannedWanted())

    def _needs_email(self, what: str) -> bool:
        if self.is_email:
            return True
        self.notify(
            tr("{what} is for email: ctrl+t picks another channel").format(what=what),
            severity="warning",
        )
        return False

    def action_subject(self) -> None:
        """ctrl+j: to the subject field, and back to the text from it."""
        if not self._needs_email(tr("A subject")):
            return
        if self.subject_input.has_focus:
            self.text_area.focus()
        else:
            self.subject_input.focus()

    def action_recipients(self) -> None:
        if self._needs_email("Cc / Bcc"):
            self.post_message(self.RecipientsWanted())

    def action_reply_all(self) -> None:
        """Copy in everyone else the customer's last mail went to, or take them out again."""
        if not self._needs_email(tr("Reply to all")):
            return
        others = self.also_on_mail
        if not others:
            self.notify(tr("The customer's last mail went to nobody else"), severity="warning")
            return
        if self.reply_all:
            gone = {address_of(o) for o in others}
            self.cc = [c for c in self.cc if address_of(c) not in gone]
        else:
            self.cc = merge_addresses(self.cc, others)
        self.refresh_status()

    def action_next_channel(self) -> None:
        if len(self.channels) > 1 and self.channel is not None:
            index = self.channels.index(self.channel)
            self.pick_channel(self.channels[(index + 1) % len(self.channels)])

    def action_leave(self) -> None:
        self.post_message(self.Left())


def _name_or_address(entry: str) -> str:
    """`Hana` for `Hana <hana@example.com>`, the address when there is no name."""
    name, _, rest = entry.rpartition("<")
    return name.strip().strip('"') if name.strip() and rest else entry


def sms_status(text: str) -> Text:
    """`2 SMS · UCS-2 85/134`, with a warning for the character that forced UCS-2.

    In Japanese the encodings are the words a phone uses, 半角 and 全角:
    `2通 · 全角 85/134字`.
    """
    seg = count_segments(text)
    out = Text()
    style = "bold red" if seg.too_long else ("yellow" if seg.segments > 1 else "dim")
    count = tr("{segments} SMS · {encoding} {units}/{capacity}").format(
        segments=seg.segments,
        encoding=tr(seg.encoding),
        units=seg.units,
        capacity=seg.per_segment * max(1, seg.segments),
    )
    out.append("  " + count, style)
    if seg.non_gsm:
        shown = visible(seg.non_gsm[:3])
        out.append("  ⚠ " + tr("{chars} makes it UCS-2").format(chars=shown), "yellow")
    if seg.too_long:
        out.append("  " + tr("over {limit} characters").format(limit=MAX_BODY), "bold red")
    return out


def opted_out_status(kind: ChannelKind) -> Text:
    """What the composer says of a customer who opted out of the channel."""
    if kind is ChannelKind.LINE:
        said = tr("blocked the LINE account: nothing can be sent")
    elif kind is ChannelKind.TELEGRAM:
        said = tr("blocked the Telegram bot: nothing can be sent until they write again")
    else:
        said = tr("opted out (texted STOP): nothing can be sent")
    return Text(" · " + said, "bold red")


def one_way_notice(others: list[ChannelKind]) -> Text:
    """`Japanese mobiles cannot answer SMS · ^T LINE / email`: why, and the
    customer's channels that `ctrl+t` moves the reply to."""
    out = Text(tr("Japanese mobiles cannot answer SMS"), "yellow")
    if others:
        out.append(" · ^T " + " / ".join(channel_name(k) for k in others), "bold")
    else:
        out.append(" · " + tr("no other channel to offer"), "dim")
    return out


def line_push_status(quota: LineQuota | None) -> Text:
    """What a LINE push costs: the pushes left this month, or that it will fail."""
    if quota is None:
        return Text(" · " + tr("push (quota not known yet)"), "yellow")
    left = quota.left
    if left is None:
        return Text(" · " + tr("push (no monthly limit)"), "dim")
    if left == 0:
        return Text(
            " · "
            + tr("push: this month's {limit} are used up, a push will fail").format(
                limit=quota.limit
            ),
            "bold red",
        )
    return Text(
        " · " + tr("push: {left} of {limit} left this month").format(left=left, limit=quota.limit),
        "yellow",
    )
