"""The composer: the reply text, the channel it goes on, and what it will cost.

It replies on the customer's last channel unless the agent picks another
(`ctrl+t`). For SMS it shows the live segment count and warns when one
character switches the message to UCS-2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message as TextualMessage
from textual.widgets import Input, Static, TextArea

from omnitui.domain.models import Channel, ChannelKind, Draft, OutboundFile
from omnitui.domain.safe_text import visible
from omnitui.domain.sms import MAX_BODY, count_segments
from omnitui.domain.templates import still_unresolved
from omnitui.i18n import tr
from omnitui.widgets.format import CHANNEL_STYLE, channel_mark, channel_name

# "/thanks " typed at the start or after a space expands the canned reply `thanks`.
_SHORTCUT = re.compile(r"(?:^|\s)/([A-Za-z0-9_-]+) $")


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
        Binding("escape", "leave", "Back", id="composer.back"),
    ]

    DEFAULT_CSS = """
    Composer { height: auto; max-height: 12; }
    Composer #composer-status { height: 1; padding: 0 1; background: $boost; }
    Composer #composer-subject { height: 1; border: none; padding: 0 1; background: $boost 50%; }
    Composer #composer-subject:focus { border: none; }
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
        self.pending_placeholders: tuple[str, ...] = ()
        self.files: list[OutboundFile] = []
        self.others: list[str] = []  # other agents writing to this customer now
        # The customer this reply is for: the composer always belongs to the
        # customer on screen, and only ever sends to its owner.
        self.owner: int | None = None
        # False until the owner's kept draft is in (or known not to exist), so
        # an empty composer never overwrites a draft that was still loading.
        self.loaded = False
        self._status = Static(id="composer-status")
        self._subject = Input(id="composer-subject", placeholder=tr("Subject"), compact=True)
        self._subject.display = False
        self._text = TextArea(id="composer-text", soft_wrap=True, show_line_numbers=False)

    def compose(self) -> ComposeResult:
        yield self._status
        yield self._subject
        yield self._text

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
    ) -> None:
        """The channels this customer can be answered on; `default` is their last
        one. `subjects` gives each email account's subject to start with."""
        self.channels = channels
        self.channel = default if default in channels else (channels[0] if channels else None)
        self.subjects = dict(subjects or {})
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
        self.text_area.load_text("")
        self.pending_placeholders = ()
        self.files = []
        self.refresh_status()

    def hand_over(self, owner: int) -> tuple[int, Draft] | None:
        """Empty the composer for another customer, at once; the draft left by
        the previous owner (None when there is nothing to keep for them)."""
        left = (self.owner, self.draft()) if self.owner is not None and self.loaded else None
        self.owner = owner
        self.loaded = False
        self.reset()
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
            if channel.kind is ChannelKind.SMS:
                status.append_text(sms_status(self.text))
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

    def action_next_channel(self) -> None:
        if len(self.channels) > 1 and self.channel is not None:
            index = self.channels.index(self.channel)
            self.pick_channel(self.channels[(index + 1) % len(self.channels)])

    def action_leave(self) -> None:
        self.post_message(self.Left())


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
