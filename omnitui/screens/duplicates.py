"""`D`: possible duplicate contacts, with the evidence side by side.

`a` merges the pair (the second into the first, undoable with `u`), `d`
dismisses it for good; nothing is merged without the agent's word.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.context import ConsoleContext
from omnitui.domain.duplicates import Suggestion
from omnitui.domain.models import ContactSummary
from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr
from omnitui.store import StoreError
from omnitui.widgets.format import CHANNEL_STYLE, age, channel_mark, error_label, fit_name


def side(contact: ContactSummary) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for kind in sorted(contact.channels):
        text.append(channel_mark(kind), CHANNEL_STYLE[kind])
    text.append(" " + fit_name(contact.name, 30), "bold")
    text.append(f" · {age(contact.last_activity)}" if contact.last_activity else "", "dim")
    return text


class DuplicatesScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    DuplicatesScreen { align: center middle; }
    DuplicatesScreen > Vertical { width: 90%; max-width: 110; height: 85%; border: round $accent; background: $panel; padding: 0 1; }
    DuplicatesScreen OptionList { height: 1fr; }
    DuplicatesScreen .hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("a", "accept", "Merge the pair", id="duplicates.accept"),
        Binding("d", "dismiss_pair", "Not the same customer", id="duplicates.dismiss"),
        Binding("escape", "close", "Back", id="duplicates.close"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.store = context.store
        self.agent = context.agent_name
        self.phone_region = context.phone_region
        self.suggestions: list[Suggestion] = []
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(tr("Possible duplicates"), classes="title")
            yield OptionList(id="suggestions")
            yield Static(
                tr("a merge (u in the inbox undoes it) · d not the same · esc back"),
                classes="hint",
                id="hint",
            )

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        self.suggestions = await self.store.duplicate_suggestions(region=self.phone_region)
        options = self.query_one(OptionList)
        options.clear_options()
        for s in self.suggestions:
            a, b = await self.store.contact_summary(s.a), await self.store.contact_summary(s.b)
            if a is None or b is None:
                continue
            prompt = Text.assemble(
                side(a),
                Text("  ⟷  ", "bold magenta"),
                side(b),
                "\n  ",
                Text(one_line(tr(s.reason).format(**s.values), 120), "yellow"),
            )
            options.add_option(Option(prompt, id=f"{s.a}:{s.b}"))
        if not self.suggestions:
            self.query_one("#hint", Static).update(tr("No possible duplicates. esc back"))
        else:
            options.highlighted = 0
        options.focus()

    def _current(self) -> Suggestion | None:
        options = self.query_one(OptionList)
        if options.highlighted is None or options.highlighted >= len(self.suggestions):
            return None
        return self.suggestions[options.highlighted]

    async def action_accept(self) -> None:
        s = self._current()
        if s is None:
            return
        try:
            await self.store.merge(s.b, s.a, agent=self.agent, evidence=f"suggested: {s.evidence}")
        except StoreError as exc:
            self.notify(
                tr("Not merged: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        self.changed = True
        self.notify(tr("Merged. u on the contact undoes it."))
        self.load()

    async def action_dismiss_pair(self) -> None:
        s = self._current()
        if s is None:
            return
        await self.store.dismiss_suggestion(s.a, s.b, agent=self.agent)
        self.load()

    def action_close(self) -> None:
        self.dismiss(self.changed)
