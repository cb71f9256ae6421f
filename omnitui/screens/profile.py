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
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from omnitui.context import ConsoleContext
from omnitui.domain.models import IDENTITY_FOR_CHANNEL, Contact
from omnitui.domain.safe_text import one_line
from omnitui.i18n import tr
from omnitui.store import StoreError
from omnitui.widgets.fields import Input, TextArea
from omnitui.widgets.format import (
    CHANNEL_STYLE,
    channel_mark,
    clock_time,
    error_label,
    fit_name,
)


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
            problems.append(tr("line {n} needs `key: value`").format(n=n))
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

    def __init__(self, context: ConsoleContext, contact: Contact) -> None:
        super().__init__()
        self.store = context.store
        self.contact = contact
        self.agent = context.agent_name
        self.changed = False

    def compose(self) -> ComposeResult:
        c = self.contact
        with Vertical():
            yield Static(Text(tr("Profile") + " · " + fit_name(c.name, 60)), classes="title")
            yield Static(id="csat", classes="hint")
            with Grid():
                yield Label(tr("Name"))
                yield Input(c.name, id="name")
                yield Label(tr("First name"))
                yield Input(c.first_name, id="first_name", placeholder=tr("used by {first_name}"))
                yield Label(tr("Language"))
                yield Input(
                    c.language, id="language", placeholder=tr("ja, en… picks canned variants")
                )
                yield Label(tr("Tags"))
                yield Input(", ".join(c.tags), id="tags", placeholder=tr("comma separated"))
            yield Static(
                tr("Fields (one `key: value` a line: company, order_id, notes…)"), classes="hint"
            )
            yield TextArea(fields_text(dict(c.profile)), id="fields")
            yield Static(id="history", classes="hint")
            yield Static(
                tr("Identities (x splits the highlighted one into its own contact)"),
                classes="hint",
            )
            yield OptionList(*self._identity_options(), id="identities")
            yield Static(tr("ctrl+s save · tab next field · esc back"), classes="hint")

    def _identity_options(self) -> list[Option]:
        options = []
        for identity in self.contact.identities:
            kind = next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is identity.kind)
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(channel_mark(kind) + " ", CHANNEL_STYLE[kind])
            text.append(one_line(identity.address, 60))
            if identity.display and identity.display != identity.address:
                text.append(f"  {one_line(identity.display, 30)}", "dim")
            used = clock_time(identity.last_used) if identity.last_used else tr("never")
            text.append("  " + tr("last used {when}").format(when=used), "dim")
            if identity.opted_out:
                text.append("  " + tr("opted out"), "red")
            options.append(Option(text, id=str(identity.id)))
        return options

    async def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        await self._show_csat()
        await self._show_history()

    async def _show_csat(self) -> None:
        """The customer's satisfaction answers: the last rating and the average."""
        summary = await self.store.csat_summary(self.contact.id)
        widget = self.query_one("#csat", Static)
        widget.display = summary is not None
        if summary is not None:
            widget.update(
                tr(
                    "Satisfaction: last ★ {last}/5 ({when}) · average {average:.1f} of {count}"
                ).format(
                    last=summary.last,
                    when=clock_time(summary.last_at),
                    average=summary.average,
                    count=summary.count,
                )
            )

    async def _show_history(self) -> None:
        """Values that lost in merges into this contact: kept, and shown here."""
        history = await self.store.field_history(self.contact.id)
        text = Text(no_wrap=True, overflow="ellipsis")
        if history:
            text.append(tr("Earlier values (from merges):"))
        for entry in history[:3]:
            text.append(f"\n  {one_line(entry.field, 20)}: ")
            text.append(one_line(entry.value, 40), "")
            text.append(
                "  "
                + tr("from {name}, {when}").format(
                    name=fit_name(entry.source_name, 30), when=clock_time(entry.at)
                ),
                "dim",
            )
        if len(history) > 3:
            text.append("\n  " + tr("and {n} more values").format(n=len(history) - 3), "dim")
        widget = self.query_one("#history", Static)
        widget.update(text)
        widget.display = bool(history)

    async def action_save(self) -> None:
        fields, problems = parse_fields(self.query_one("#fields", TextArea).text)
        if problems:
            self.notify(
                tr("Not saved: {reason}").format(reason="; ".join(problems)), severity="error"
            )
            return
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.notify(tr("Not saved: a contact needs a name"), severity="error")
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
        self.notify(tr("Profile saved"))
        self.contact = await self.store.get_contact(self.contact.id)

    async def action_split(self) -> None:
        options = self.query_one("#identities", OptionList)
        if self.focused is not options or options.highlighted is None:
            return
        option = options.get_option_at_index(options.highlighted)
        try:
            await self.store.split_identity(int(option.id or 0), agent=self.agent)
        except StoreError as exc:
            self.notify(error_label(exc), severity="warning", markup=False)
            return
        self.changed = True
        self.notify(tr("Split off into its own contact; u in the inbox undoes it"))
        self.contact = await self.store.get_contact(self.contact.id)
        options.clear_options()
        options.add_options(self._identity_options())

    def action_close(self) -> None:
        self.dismiss(self.changed)
