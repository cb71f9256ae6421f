"""The contact list: customers by last activity, with marks, unread and age.

An `OptionList` (one widget for all rows, so thousands stay fast), filled a
page at a time from the store; the next page is fetched when the highlight
nears the end.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from omnitui.domain.models import ContactSummary, Direction, ThreadStatus
from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr
from omnitui.widgets.format import CHANNEL_STYLE, age, channel_mark, fit_name

_STATUS_MARK = {
    ThreadStatus.OPEN: ("", ""),
    ThreadStatus.PENDING: ("…", "yellow"),
    ThreadStatus.SNOOZED: ("z", "magenta"),
    ThreadStatus.RESOLVED: ("✓", "green"),
}


def contact_prompt(contact: ContactSummary, width: int, now: float | None = None) -> Text:
    """Two lines: marks, name, unread and age; then the last message."""
    top = Text(no_wrap=True, overflow="ellipsis")
    for kind in sorted(contact.channels):
        top.append(channel_mark(kind), CHANNEL_STYLE[kind])
    top.append(" " * max(1, 4 - len(contact.channels)))
    name_style = "bold" if contact.unread else ""
    mark, mark_style = _STATUS_MARK[contact.status]
    right = Text(no_wrap=True)
    if mark:
        right.append(mark + " ", mark_style)
    if contact.assignee:
        right.append("@" + one_line(contact.assignee, 8) + " ", "cyan")
    if contact.draft:
        right.append("✎ ", "yellow")  # the agent's unsent reply waits for them
    if contact.unread:
        right.append(f"{contact.unread} ", "bold reverse #ffaf00")
    right.append(age(contact.last_activity, now), "dim")
    name_room = max(4, width - top.cell_len - right.cell_len - 1)
    # Cut at its end, never between family and given name (山田 花…, not 山田 …).
    name = Text(fit_name(contact.name, name_room), style=name_style, no_wrap=True)
    name.pad_right(name_room - name.cell_len)
    top.append_text(name)
    top.append(" ")
    top.append_text(right)
    bottom = Text("    ", no_wrap=True, overflow="ellipsis")
    if contact.last_direction is Direction.OUT:
        bottom.append(tr("you") + ": ", "dim green")
    bottom.append(contact.last_preview, "dim")
    bottom.truncate(max(4, width), overflow="ellipsis")
    prompt = Text("\n").join([top, bottom])
    prompt.no_wrap = True  # a narrow pane cuts the line; it never wraps into the next row
    prompt.overflow = "ellipsis"
    return prompt


class ContactList(OptionList):
    """Customers, newest activity first. Posts `ContactChosen` on enter."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="contacts.down"),
        Binding("k", "cursor_up", "Up", show=False, id="contacts.up"),
    ]

    class MoreWanted(TextualMessage):
        """The highlight is near the end of what is loaded."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.contacts: list[ContactSummary] = []
        self.exhausted = False
        self._laid_out_for = 0

    def _row_width(self) -> int:
        return max(20, (self.scrollable_content_region.width or 30) - 1)

    def _prompt(self, contact: ContactSummary, width: int) -> Text:
        # Before the pane has its width, a row is a placeholder: `on_resize`
        # lays every row out once the width is known.
        if width:
            return contact_prompt(contact, width)
        return Text(f"    {one_line(contact.name, 40)}\n", no_wrap=True, overflow="ellipsis")

    def set_contacts(self, contacts: list[ContactSummary], *, exhausted: bool) -> None:
        """Replace the rows, keeping the highlighted contact highlighted."""
        current = self.current_contact_id
        self.contacts = contacts
        self.exhausted = exhausted
        width = self._row_width() if self.scrollable_content_region.width else 0
        self._laid_out_for = width
        self.clear_options()
        self.add_options(Option(self._prompt(c, width), id=str(c.id)) for c in contacts)
        if not contacts:
            return
        index = 0
        if current is not None:
            for i, c in enumerate(contacts):
                if c.id == current:
                    index = i
                    break
        self.highlighted = index

    def on_resize(self) -> None:
        # Rows are laid out for a width: redo them when the pane's width changes.
        if self.contacts and self._laid_out_for != self._row_width():
            self.set_contacts(list(self.contacts), exhausted=self.exhausted)

    def append_contacts(self, contacts: list[ContactSummary], *, exhausted: bool) -> None:
        known = {c.id for c in self.contacts}
        fresh = [c for c in contacts if c.id not in known]
        self.contacts.extend(fresh)
        self.exhausted = exhausted
        width = self._row_width() if self.scrollable_content_region.width else 0
        self.add_options(Option(self._prompt(c, width), id=str(c.id)) for c in fresh)

    @property
    def current_contact_id(self) -> int | None:
        if self.highlighted is None or not self.contacts:
            return None
        if self.highlighted >= len(self.contacts):
            return None
        return self.contacts[self.highlighted].id

    def highlight_contact(self, contact_id: int) -> bool:
        for i, c in enumerate(self.contacts):
            if c.id == contact_id:
                self.highlighted = i
                return True
        return False

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        if (
            highlighted is not None
            and not self.exhausted
            and highlighted >= len(self.contacts) - 20
        ):
            self.post_message(self.MoreWanted())
