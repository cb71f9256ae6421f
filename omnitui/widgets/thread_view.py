"""The merged thread of one contact: every channel in one timeline.

A line-API `ScrollView`: messages are wrapped into strips once per width and
only the lines in view are drawn, so a long thread costs what a screenful
costs. Older messages are paged in from the store when the agent scrolls or
moves to the top.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omnitui.domain.models import Delivery, Direction, Message
from omnitui.domain.notes import mention_spans
from omnitui.domain.rule_words import did_text, stored_actions
from omnitui.domain.safe_text import visible
from omnitui.domain.sizes import size_words
from omnitui.i18n import tr
from omnitui.widgets.format import (
    CHANNEL_STYLE,
    channel_mark,
    clock_time,
    file_kind,
    fit_name,
    reason_label,
)


def _delivery_text(status: Delivery) -> tuple[str, str]:
    """A reply's delivery state as the agent reads it, and its style."""
    labels = {
        Delivery.QUEUED: (tr("queued"), "yellow"),
        Delivery.SENDING: (tr("sending…"), "yellow"),
        Delivery.SENT: (tr("sent") + " ✓", "green"),
        Delivery.DELIVERED: (tr("delivered") + " ✓✓", "green"),
        Delivery.FAILED: (tr("FAILED"), "bold red"),
        Delivery.UNKNOWN: (tr("unknown"), "bold yellow"),
    }
    return labels.get(status, (str(status), ""))


_BAR = Style(color="#ffaf00", bold=True)
# An internal note is framed and tinted, so it never reads as a message to or
# from the customer.
_NOTE_EDGE = "bold #d7af00"
_NOTE_BACK = "on #262000"
_NOTE_SELECTED = "on #3a3000"
_NOTE_TEXT = "#ffd75f"
# What a rule did is one dim line, apart from the conversation: no arrow, no
# channel, no delivery state, nothing like a customer's or an agent's message.
_AUTO_MARK = "bold #8787af"


@dataclass(slots=True)
class _Block:
    message: Message
    first_line: int
    line_count: int


def started_words(source: str) -> str:
    """A customer's `/start` in the shop owner's words."""
    if source:
        return tr("▶ started the chat (from the {source} QR code)").format(source=source)
    return tr("▶ started the chat")


class ThreadView(ScrollView, can_focus=True):
    """Shows a thread; `j`/`k` move between messages."""

    BINDINGS = [
        Binding("j,down", "next_message", "Next message", show=False, id="thread.next"),
        Binding("k,up", "previous_message", "Previous message", show=False, id="thread.previous"),
        Binding("home", "first_message", "First", show=False, id="thread.first"),
        Binding("end", "last_message", "Last", show=False, id="thread.last"),
        Binding("f", "toggle_fold", "Show or fold quoted text", show=False, id="thread.fold"),
        Binding("v", "source", "Show the raw source", show=False, id="thread.source"),
        Binding("a", "save_attachments", "Save attachments", show=False, id="thread.save"),
    ]

    DEFAULT_CSS = """
    ThreadView { background: $surface; overflow-y: scroll; overflow-x: hidden; }
    """

    class OlderWanted(TextualMessage):
        """The agent reached the top and there may be older messages."""

    class SourceWanted(TextualMessage):
        def __init__(self, message: Message) -> None:
            super().__init__()
            self.message = message

    class SaveWanted(TextualMessage):
        def __init__(self, message: Message) -> None:
            super().__init__()
            self.message = message

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.messages: list[Message] = []
        self.has_older = False
        self.selected: int | None = None
        self.agent_name = ""
        self._blocks: list[_Block] = []
        self._lines: list[Strip] = []
        self._width = 0
        self._pinned = True  # scrolled to the newest message
        self._cache: dict[tuple[int, int, bool, bool], tuple[Message, list[Strip]]] = {}
        self.unfolded: set[int] = set()
        self._empty_text = ""

    # -- content ------------------------------------------------------------

    def show(
        self, messages: list[Message], *, has_older: bool, keep_selection: bool = False
    ) -> None:
        """Show a page of a thread (oldest first), selecting the newest message."""
        selected_id = self.selected_message.id if keep_selection and self.selected_message else None
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        self.messages = messages
        self.has_older = has_older
        self.selected = len(messages) - 1 if messages else None
        if selected_id is not None:
            for i, m in enumerate(messages):
                if m.id == selected_id:
                    self.selected = i
        self._rebuild()
        if not keep_selection or at_bottom:
            self.scroll_end(animate=False, immediate=True)
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def prepend(self, older: list[Message], *, has_older: bool) -> None:
        """Add an older page above what is shown, keeping the view where it was."""
        before = len(self._lines)
        self.messages = older + self.messages
        self.has_older = has_older
        if self.selected is not None:
            self.selected += len(older)
        self._rebuild()
        self.scroll_to(y=self.scroll_y + len(self._lines) - before, animate=False, immediate=True)

    def clear_thread(self, text: str = "") -> None:
        self._empty_text = text
        self.messages = []
        self.selected = None
        self.has_older = False
        self._rebuild()

    def select_message(self, message_id: int) -> bool:
        for i, m in enumerate(self.messages):
            if m.id == message_id:
                self.selected = i
                self._rebuild()
                self._scroll_to_selected(center=True)
                return True
        return False

    @property
    def selected_message(self) -> Message | None:
        if self.selected is None or not self.messages:
            return None
        return self.messages[self.selected]

    # -- rendering ----------------------------------------------------------

    def on_resize(self) -> None:
        # At the newest message before the pane changed size (the composer grew a
        # line): still at it after, not one line short of it.
        pinned = self._pinned
        if self.size.width != self._width:
            self._rebuild()
        if pinned:
            self.scroll_end(animate=False, immediate=True)
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def _rebuild(self) -> None:
        width = max(10, self.scrollable_content_region.width or self.size.width or 80)
        self._width = self.size.width
        console = self.app.console
        lines: list[Strip] = []
        blocks: list[_Block] = []
        if not self.messages:
            empty = self._empty_text or tr("Pick a customer on the left.")
            for line in Text(empty, style="dim italic").wrap(console, width):
                lines.append(Strip(list(line.render(console)), line.cell_len))
        elif self.has_older:
            note = Text("▲ " + tr("older messages: scroll up or press k"), style="dim")
            lines.append(Strip(list(note.render(console)), note.cell_len))
        cache: dict[tuple[int, int, bool, bool], tuple[Message, list[Strip]]] = {}
        for index, message in enumerate(self.messages):
            selected = index == self.selected
            key = (message.id, width, selected, message.id in self.unfolded)
            hit = self._cache.get(key)
            # A message that changed (delivery state, an edit) is drawn again.
            strips = (
                hit[1]
                if hit is not None and hit[0] == message
                else self._draw(message, width, selected)
            )
            cache[key] = (message, strips)
            blocks.append(_Block(message, len(lines), len(strips)))
            lines.extend(strips)
        self._cache = cache  # keeps only what is shown
        self._lines = lines
        self._blocks = blocks
        self._set_virtualsize_words(Size(width, len(lines)))
        self.refresh()

    def _set_virtualsize_words(self, size: Size) -> None:
        """Resize the scrollable area without a layout of the whole screen.

        `virtual_size` is a layout reactive: setting it re-lays-out every
        widget, which was most of the time to show the next contact. The
        vertical scrollbar is always shown (see DEFAULT_CSS), so only the
        scrollbar's extent changes and no other widget moves.
        """
        if size == self.virtual_size:
            return
        if not self.is_mounted or self.styles.overflow_y != "scroll":
            self.virtual_size = size
            return
        self.set_reactive(ThreadView.virtual_size, size)
        self._scroll_update(size)

    def _draw(self, message: Message, width: int, selected: bool) -> list[Strip]:
        console = self.app.console
        strips: list[Strip] = []
        bar = Text("▌ " if selected else "  ", style=_BAR)
        if message.is_note:
            edge = Text("┃ ", style=_NOTE_EDGE)
            back = _NOTE_SELECTED if selected else _NOTE_BACK
            for text in self._note_texts(message):
                for line in text.wrap(console, width - 4):
                    line.pad_right(max(0, width - 4 - line.cell_len))
                    line.stylize_before(back)
                    full = Text.assemble(bar, edge, line)
                    strips.append(Strip(list(full.render(console)), full.cell_len))
            strips.append(Strip.blank(width))
            return strips
        if message.is_automation:
            line = self._automation_text(message)
            if selected:
                line.stylize("on #262626")
            for number, part in enumerate(line.wrap(console, width - 4)):
                full = Text.assemble(bar, "  " if number else "", part)
                strips.append(Strip(list(full.render(console)), full.cell_len))
            strips.append(Strip.blank(width))
            return strips
        for text in self._message_texts(message, selected, width - 2):
            for line in text.wrap(console, width - 2):
                full = Text.assemble(bar, line)
                strips.append(Strip(list(full.render(console)), full.cell_len))
        strips.append(Strip.blank(width))
        return strips

    def _note_texts(self, message: Message) -> list[Text]:
        """An internal note: labelled with its author, framed, never like a message."""
        head = Text()  # wraps: what it is must be read whole
        head.append("✎ " + tr("Internal note"), "bold " + _NOTE_EDGE.split()[-1])
        head.append(" · ", "dim")
        head.append(visible(message.author or tr("an agent")), "bold")
        head.append(f"  {clock_time(message.sent_at)}", "dim")
        head.append("  " + tr("only agents see this, never sent"), "dim italic")
        body = Text(visible(message.text.rstrip()), style=_NOTE_TEXT)
        for start, end in mention_spans(body.plain):
            body.stylize("bold underline", start, end)
        return [head, body]

    def _automation_text(self, message: Message) -> Text:
        """A rule's line: "⚙ Returns: tagged support · assigned to Ken  10:42"."""
        line = Text(style="dim")
        line.append("⚙ ", _AUTO_MARK)
        line.append(visible(message.author or tr("a rule")) + ": ", "bold")
        line.append(did_text(stored_actions(message.text)))
        line.append(f"  {clock_time(message.sent_at)}")
        return line

    def _message_texts(self, message: Message, selected: bool, width: int = 80) -> list[Text]:
        inbound = message.direction is Direction.IN
        who_room = max(8, width - 4)  # after the mark and the arrow: a name cut at its end
        head = Text(no_wrap=True, overflow="ellipsis")
        if message.kind is not None:
            head.append(channel_mark(message.kind), CHANNEL_STYLE[message.kind])
            head.append(" ")
        if inbound:
            head.append("← ", "bold cyan")
            head.append(fit_name(message.sender, who_room) or tr("customer"), "bold cyan")
        else:
            head.append("→ ", "bold green")
            head.append(
                fit_name(message.author or self.agent_name, who_room) or tr("you"), "bold green"
            )
        head.append(f"  {clock_time(message.sent_at)}", "dim")
        if message.csat is not None:  # the customer's answer to the satisfaction question
            head.append(f"  ★ {message.csat}/5", "bold yellow")
        if not inbound:
            label, style = _delivery_text(message.status)
            head.append("  ")
            head.append(label, style)
        if message.edited:
            head.append("  (" + tr("edited") + ")", "dim italic")
        head.append(f"  {message.account}", "dim")
        texts = [head]
        if message.subject:
            texts.append(Text(visible(message.subject), style="bold"))
        # Who else a mail went to; To only when the shop was not its one reader.
        listed = (
            ("To", message.to if len(message.to) > 1 else ()),
            ("Cc", message.cc),
            ("Bcc", message.bcc),
        )
        for label, entries in listed:
            if entries:
                line = Text(f"{label}: ", style="dim")
                line.append(", ".join(visible(e) for e in entries))
                texts.append(line)
        if message.parse_error:
            texts.append(Text(f"⚠ {message.parse_error}", style="yellow"))
        folded = bool(message.folded) and message.id not in self.unfolded
        shown = message.folded if folded else message.text
        if message.started_from is not None:  # "/start counter": a link or QR code brought them
            shown = started_words(message.started_from)
        body = visible(shown.rstrip()) if shown.strip() else ""
        texts.append(
            Text(body, style="" if inbound else "green")
            if body
            else Text("(" + tr("no text") + ")", "dim")
        )
        if message.signature:
            texts.append(Text("-- \n" + visible(message.signature), style="dim"))
        if folded:
            texts.append(Text("··· " + tr("quoted text hidden (f shows it)"), style="dim italic"))
        for att in message.attachments:
            line = Text(
                f"📎 {visible(att.filename)} ({file_kind(att.content_type)}, {size_words(att.size)})",
                "dim",
            )
            if att.note:
                line.append(f" — {reason_label(att.note)}", "yellow")
            texts.append(line)
        if (
            not inbound
            and message.status in (Delivery.FAILED, Delivery.UNKNOWN)
            and message.status_reason
        ):
            texts.append(Text(f"✗ {reason_label(message.status_reason)}", style="bold red"))
        elif not inbound and message.status_reason:
            texts.append(Text(reason_label(message.status_reason), style="yellow"))
        if selected:
            for text in texts:
                text.stylize("on #262626")
        return texts

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(self.size.width, self.rich_style)
        return self._lines[index].crop_extend(scroll_x, scroll_x + self.size.width, self.rich_style)

    # -- moving -------------------------------------------------------------

    def action_next_message(self) -> None:
        if self.selected is not None and self.selected < len(self.messages) - 1:
            self.selected += 1
            self._rebuild()
            self._scroll_to_selected()

    def action_previous_message(self) -> None:
        if self.selected is None:
            return
        if self.selected == 0:
            if self.has_older:
                self.post_message(self.OlderWanted())
            return
        self.selected -= 1
        self._rebuild()
        self._scroll_to_selected()

    def action_first_message(self) -> None:
        if self.messages:
            self.selected = 0
            self._rebuild()
            self.scroll_home(animate=False, immediate=True)
            if self.has_older:
                self.post_message(self.OlderWanted())

    def action_last_message(self) -> None:
        if self.messages:
            self.selected = len(self.messages) - 1
            self._rebuild()
            self.scroll_end(animate=False, immediate=True)

    def _scroll_to_selected(self, center: bool = False) -> None:
        if self.selected is None or self.selected >= len(self._blocks):
            return
        block = self._blocks[self.selected]
        top, height = block.first_line, block.line_count
        view = self.scrollable_content_region.height or self.size.height
        if center:
            self.scroll_to(y=max(0, top - view // 3), animate=False, immediate=True)
        elif top < self.scroll_y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif top + height > self.scroll_y + view:
            self.scroll_to(y=max(top, top + height - view), animate=False, immediate=True)

    def action_toggle_fold(self) -> None:
        message = self.selected_message
        if message is None or not message.folded:
            return
        self.unfolded ^= {message.id}
        self._rebuild()
        self._scroll_to_selected()

    def action_source(self) -> None:
        message = self.selected_message
        if message is not None:
            self.post_message(self.SourceWanted(message))

    def action_save_attachments(self) -> None:
        message = self.selected_message
        if message is not None:
            self.post_message(self.SaveWanted(message))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._pinned = new >= self.max_scroll_y - 1
        if new <= 0 < old and self.has_older:
            self.post_message(self.OlderWanted())

    def lines_text(self) -> list[str]:
        """The thread as plain text lines (for tests and screen readers)."""
        return [strip.text for strip in self._lines]
