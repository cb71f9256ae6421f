"""`p`: a contact's profile — names, language, tags, free fields, identities.

Everything is edited from the keyboard: tab moves between fields, ctrl+s
saves, and `x` on an identity splits it (with its messages) into a contact of
its own — an unmerge, which `u` in the inbox can undo.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from omnitui.domain.models import IDENTITY_FOR_CHANNEL, Contact
from omnitui.domain.safe_text import one_line
from omnitui.store import Store, StoreError
from omnitui.widgets.format import CHANNEL_STYLE, age, channel_mark


def fields_text(profile: dict[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in profile.items())


def parse_fields(text: str) -> tuple[dict[str, str], list[str]]:
    """`key: value` lines into fields; lines without a key are reported."""
    fields: dict[str, str] = {}
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip().replace(" ", "_")
        if not sep or not key:
            problems.append(f"line {n} needs `key: value`")
            continue
        fields[key] = value.strip()
    return fields, problems


class ProfileScreen(ModalScreen[bool]):
    """Dismisses with True when something was saved or split."""

    DEFAULT_CSS = """
    ProfileScreen { align: center middle; }
    ProfileScreen > Vertical { width: 90%; max-width: 100; height: 95%; border: round $accent; background: $panel; padding: 0 1; }
    ProfileScreen Grid { grid-size: 2; grid-columns: 12 1fr; grid-rows: 3; height: auto; }
    ProfileScreen Label { padding: 1 0 0 0; }
    ProfileScreen #fields { height: 6; }
    ProfileScreen #identities { height: 1fr; min-height: 3; }
    ProfileScreen .title { text-style: bold; }
    ProfileScreen .hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="profile.save"),
        Binding("escape", "close", "Back", id="profile.close"),
        Binding("x", "split", "Split the identity off", show=False, id="profile.split"),
    ]

    def __init__(self, store: Store, contact: Contact, agent: str) -> None:
        super().__init__()
        self.store = store
        self.contact = contact
        self.agent = agent
        self.changed = False

    def compose(self) -> ComposeResult:
        c = self.contact
        with Vertical():
            yield Static(f"Profile · {one_line(c.name, 60)}", classes="title")
            with Grid():
                yield Label("Name")
                yield Input(c.name, id="name")
                yield Label("First name")
                yield Input(c.first_name, id="first_name", placeholder="used by {first_name}")
                yield Label("Language")
                yield Input(c.language, id="language", placeholder="ja, en… picks canned variants")
                yield Label("Tags")
                yield Input(", ".join(c.tags), id="tags", placeholder="comma separated")
            yield Static(
                "Fields (one `key: value` a line: company, order_id, notes…)", classes="hint"
            )
            yield TextArea(fields_text(dict(c.profile)), id="fields")
            yield Static(
                "Identities (x splits the highlighted one into its own contact)", classes="hint"
            )
            yield OptionList(*self._identity_options(), id="identities")
            yield Static("ctrl+s save · tab next field · esc back", classes="hint")

    def _identity_options(self) -> list[Option]:
        options = []
        for identity in self.contact.identities:
            kind = next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is identity.kind)
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(channel_mark(kind) + " ", CHANNEL_STYLE[kind])
            text.append(one_line(identity.address, 60))
            if identity.display and identity.display != identity.address:
                text.append(f"  {one_line(identity.display, 30)}", "dim")
            used = age(identity.last_used) if identity.last_used else "never"
            text.append(f"  last used {used}", "dim")
            if identity.opted_out:
                text.append("  opted out", "red")
            options.append(Option(text, id=str(identity.id)))
        return options

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    async def action_save(self) -> None:
        fields, problems = parse_fields(self.query_one("#fields", TextArea).text)
        if problems:
            self.notify("Not saved: " + "; ".join(problems), severity="error")
            return
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.notify("Not saved: a contact needs a name", severity="error")
            return
        tags = [t.strip() for t in self.query_one("#tags", Input).value.split(",") if t.strip()]
        await self.store.update_contact(
            self.contact.id,
            name=name,
            first_name=self.query_one("#first_name", Input).value.strip(),
            language=self.query_one("#language", Input).value.strip(),
            profile=fields,
            tags=tags,
        )
        self.changed = True
        self.notify("Profile saved")
        self.contact = await self.store.get_contact(self.contact.id)

    async def action_split(self) -> None:
        options = self.query_one("#identities", OptionList)
        if self.focused is not options or options.highlighted is None:
            return
        option = options.get_option_at_index(options.highlighted)
        try:
            await self.store.split_identity(int(option.id or 0), agent=self.agent)
        except StoreError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.changed = True
        self.notify("Split off into its own contact; u in the inbox undoes it")
        self.contact = await self.store.get_contact(self.contact.id)
        options.clear_options()
        options.add_options(self._identity_options())

    def action_close(self) -> None:
        self.dismiss(self.changed)
