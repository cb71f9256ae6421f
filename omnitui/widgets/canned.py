"""The canned-reply pane on the right of the inbox."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from omnitui.domain.models import CannedReply
from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr


def canned_prompt(reply: CannedReply) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"/{reply.shortcut}", "bold #ffaf00")
    if reply.language:
        text.append(f" {reply.language}", "dim")
    text.append("\n")
    text.append(one_line(reply.title or reply.body, 60), "dim")
    return text


class CannedList(OptionList):
    """Canned replies; enter inserts the highlighted one into the composer."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="canned.down"),
        Binding("k", "cursor_up", "Up", show=False, id="canned.up"),
        Binding("n", "new", "New canned reply", show=False, id="canned.new"),
        Binding("e", "edit", "Edit canned reply", show=False, id="canned.edit"),
        Binding("x", "delete", "Delete canned reply", show=False, id="canned.delete"),
    ]

    class EditWanted(TextualMessage):
        """Edit `reply`, or write a new one when it is None."""

        def __init__(self, reply: CannedReply | None) -> None:
            super().__init__()
            self.reply = reply

    class DeleteWanted(TextualMessage):
        def __init__(self, reply: CannedReply) -> None:
            super().__init__()
            self.reply = reply

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.replies: list[CannedReply] = []
        self._armed: int | None = None

    def set_replies(self, replies: list[CannedReply]) -> None:
        self.replies = replies
        self.clear_options()
        self.add_options(Option(canned_prompt(r), id=str(r.id)) for r in replies)

    def action_new(self) -> None:
        self.post_message(self.EditWanted(None))

    def action_edit(self) -> None:
        if self.current is not None:
            self.post_message(self.EditWanted(self.current))

    def action_delete(self) -> None:
        """`x` twice on the same reply deletes it: a slip of one key deletes nothing."""
        reply = self.current
        if reply is None:
            return
        if self._armed == reply.id:
            self._armed = None
            self.post_message(self.DeleteWanted(reply))
            return
        self._armed = reply.id
        self.notify(
            tr("Press x again to delete /{shortcut}").format(shortcut=reply.shortcut), timeout=3
        )

    @property
    def current(self) -> CannedReply | None:
        if self.highlighted is None or self.highlighted >= len(self.replies):
            return None
        return self.replies[self.highlighted]
