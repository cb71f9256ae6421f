"""Broadcasts in the console: one canned reply to a tag's customers, and how they went.

`BroadcastScreen` starts from the contact list's tag view (`#vip`; another
view asks for a tag), lets the agent pick a canned reply and shows, before
anything is written, how many customers get it on each channel, who is
skipped and why, the first customer's message as it will read, and whether
LINE's monthly quota holds it. `y` writes the broadcast to the store; the
process that runs the channels (this console's or `omnitui serve`) sends it
at each provider's pace. The console itself never calls a provider.

`BroadcastsScreen` lists the recent broadcasts: per channel what was sent,
delivered and failed, and who was skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich import box
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.context import ConsoleContext
from omnitui.domain.broadcast import AudienceMember, BroadcastPlan, plan_broadcast
from omnitui.domain.broadcast_image import ImageProblem, check_image, size_label
from omnitui.domain.broadcast_quota import over_line_quota
from omnitui.domain.changes import ChangeKind
from omnitui.domain.models import CannedReply, ChannelKind, OutboundFile
from omnitui.domain.safe_text import one_line
from omnitui.domain.views import AnyView, TagView
from omnitui.errors import message
from omnitui.i18n import active_language, tr
from omnitui.messages import StoreChanged
from omnitui.screens.pickers import PICKER_CSS
from omnitui.store.records import BroadcastProgress
from omnitui.widgets.canned import canned_prompt
from omnitui.widgets.fields import Input
from omnitui.widgets.format import CHANNEL_STYLE, channel_mark, channel_name

# Delivery states a broadcast's message can be in, as the list shows them.
SENT_STATES = ("sent", "delivered")
WAITING_STATES = ("queued", "sending")
FAILED_STATES = ("failed", "unknown")
SAMPLE_ROOM = 400  # characters of the first customer's message shown


def audience_key(tag: str) -> dict[str, object]:
    """How a broadcast's audience is recorded: as `omnitui broadcast --tag` records
    it, so the same broadcast from the console and the command line is one."""
    return {"tags": [tag], "channel": None, "language": None}


def broadcast_title(progress: BroadcastProgress, replies: Sequence[CannedReply]) -> str:
    """A broadcast's name: its canned reply's title (the shortcut when it has none)."""
    titles = [r.title for r in replies if r.shortcut == progress.canned and r.title]
    return one_line(titles[0] if titles else "/" + progress.canned, 40)


def progress_line(active: Sequence[BroadcastProgress], replies: Sequence[CannedReply]) -> Text:
    """The line every console shows while broadcasts go out:
    "📣 Mother's Day · 120/400 sent · 2 failed · ctrl+p Cancel the broadcast"."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, progress in enumerate(active[:2]):
        if n:
            text.append("   ")
        text.append("📣 " + broadcast_title(progress, replies), "bold")
        done = progress.total(*SENT_STATES)
        text.append(" · " + tr("{done}/{total} sent").format(done=done, total=progress.total()))
        failed = progress.total(*FAILED_STATES)
        if failed:
            text.append(" · ")
            text.append(tr("{failed} failed").format(failed=failed), "bold red")
    text.append(" · " + tr("ctrl+p: Cancel the broadcast"), "dim")
    return text


class BroadcastScreen(ModalScreen[int | None]):
    """Pick a tag (when the view is not one) and a canned reply, look, then `y` sends.

    Dismisses with the broadcast's number once it is written, None when backed out.
    """

    DEFAULT_CSS = (
        "BroadcastScreen { align: center middle; }\n"
        + PICKER_CSS
        + """
    BroadcastScreen #broadcast-preview { height: 1fr; display: none; }
    BroadcastScreen.-preview #broadcast-preview { display: block; }
    BroadcastScreen.-preview #picker-input, BroadcastScreen.-preview #picker-options { display: none; }
    """
    )
    BINDINGS = [
        Binding("escape", "back", "Back", id="broadcast.back"),
        Binding("y", "confirm", "Send the broadcast", id="broadcast.confirm"),
        Binding("ctrl+o", "add_image", "Add an image", id="broadcast.image"),
        Binding("down", "move(1)", "Down", show=False, id="broadcast.down"),
        Binding("up", "move(-1)", "Up", show=False, id="broadcast.up"),
    ]

    def __init__(self, context: ConsoleContext, view: AnyView) -> None:
        super().__init__()
        self.context = context
        self.tag: str | None = view.tag if isinstance(view, TagView) else None
        self.asked_tag = self.tag is None  # escape from the replies goes back to the tags
        self.tags: list[tuple[str, int]] = []
        self.replies: list[CannedReply] = []
        self.choices: list[str] = []  # what the list shows: tags, or canned shortcuts
        self.shown: list[str] = []
        self.audience: list[AudienceMember] = []
        self.shortcut: str | None = None
        self.plan: BroadcastPlan | None = None
        self.refusal = ""  # why `y` cannot send this one (LINE's quota), in words
        self.image: OutboundFile | None = None  # checked: a JPEG or PNG of at most 10 MB
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(id="broadcast-title", classes="title")
            yield Input(placeholder=tr("type to filter"), id="picker-input")
            yield OptionList(id="picker-options")
            with VerticalScroll(id="broadcast-preview"):
                yield Static(id="broadcast-plan")
            yield Static(id="broadcast-hint", classes="hint")

    @property
    def options(self) -> OptionList:
        return self.query_one("#picker-options", OptionList)

    @property
    def stage(self) -> str:
        if self.has_class("-preview"):
            return "preview"
        return "canned" if self.tag is not None else "tag"

    async def on_mount(self) -> None:
        store = self.context.store
        self.replies = await store.canned_replies()
        counts = await store.view_counts(self.context.agent_name)
        self.tags = sorted(
            ((v.tag, n) for v, n in counts.items() if isinstance(v, TagView)),
            key=lambda tn: tn[0],
        )
        await self._show_stage()

    async def _show_stage(self) -> None:
        """Fill the list for the stage the screen is in: tags, or canned replies."""
        self.remove_class("-preview")
        title = self.query_one("#broadcast-title", Static)
        hint = self.query_one("#broadcast-hint", Static)
        entry = self.query_one("#picker-input", Input)
        entry.value = ""
        if self.tag is None:
            words = tr("Broadcasts go to the customers with a tag: pick a tag")
            title.update(Text(words))
            hint.update(tr("type to filter · ↑↓ move · enter pick · esc cancel"))
            self.choices = [tag for tag, _ in self.tags]
        else:
            self.audience = await self.context.store.broadcast_audience([self.tag])
            words = tr("Broadcast to #{tag} ({count} customers): pick a canned reply")
            title.update(Text(words.format(tag=one_line(self.tag, 30), count=len(self.audience))))
            hint.update(tr("type to filter · ↑↓ move · enter look before sending · esc back"))
            self.choices = sorted({r.shortcut for r in self.replies})
        self._fill(self.choices)
        entry.focus()

    def _fill(self, choices: list[str]) -> None:
        self.shown = choices
        self.options.clear_options()
        self.options.add_options(Option(self._prompt(c)) for c in choices)
        if choices:
            self.options.highlighted = 0

    def _prompt(self, choice: str) -> Text:
        if self.tag is None:
            count = dict(self.tags).get(choice, 0)
            text = Text("#" + one_line(choice, 40), "bold")
            text.append("  " + tr("{n} customers").format(n=count), "dim")
            return text
        return canned_prompt(self._reply(choice))

    def _reply(self, shortcut: str) -> CannedReply:
        """The shortcut's reply as the list shows it: the console's language first."""
        found = [r for r in self.replies if r.shortcut == shortcut]
        found.sort(key=lambda r: r.language != active_language())
        return found[0]

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        query = event.value.strip().lstrip("#/").lower()
        if self.tag is None:
            self._fill([t for t in self.choices if query in t.lower()])
            return
        matches = []
        for shortcut in self.choices:
            words = " ".join(
                f"{r.shortcut} {r.title} {r.body}" for r in self.replies if r.shortcut == shortcut
            )
            if query in words.lower():
                matches.append(shortcut)
        self._fill(sorted(matches, key=lambda s: not s.lower().startswith(query)))

    def action_move(self, step: int) -> None:
        options = self.options
        if self.stage == "preview" or options.option_count == 0:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(options.option_count - 1, current + step))

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self._pick(self.options.highlighted)

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        await self._pick(event.option_index)

    async def _pick(self, index: int | None) -> None:
        if index is None or index >= len(self.shown):
            return
        if self.tag is None:
            self.tag = self.shown[index]
            await self._show_stage()
            return
        self.shortcut = self.shown[index]
        await self._preview()

    async def _preview(self) -> None:
        """Plan the broadcast and show it: nothing is written yet."""
        assert self.tag is not None and self.shortcut is not None
        context = self.context
        channels = list(context.channels)
        replies = [r for r in self.replies if r.shortcut == self.shortcut]
        self.plan = plan_broadcast(
            self.audience,
            replies,
            self.shortcut,
            channels,
            shop_values=context.shop_values,
            email_requires_consent=context.broadcast_email_consent,
        )
        self.refusal = ""
        if not channels:
            self.refusal = tr("no channel set up in config.toml to broadcast on")
        short = await over_line_quota(self.plan, context.store.load_cursor)
        if short is not None:
            self.refusal = tr(
                "{account}: this broadcast needs {count} LINE pushes and {left} are left "
                "this month; pick a smaller tag or raise the plan"
            ).format(account=short.account, count=short.count, left=short.left)
        self.add_class("-preview")
        self.set_focus(None)  # `y` and `esc` are the screen's now, not the filter's
        title = tr("Broadcast {title} to #{tag}").format(
            title=one_line(replies[0].title or "/" + self.shortcut, 40),
            tag=one_line(self.tag, 30),
        )
        self.query_one("#broadcast-title", Static).update(Text(title))
        self.query_one("#broadcast-plan", Static).update(self._plan_text(self.plan))
        self.query_one("#broadcast-hint", Static).update(self._hint())

    def _hint(self) -> str:
        count = len(self.plan.messages) if self.plan is not None else 0
        if self.refusal or not count:
            return tr("esc back")
        return tr("y send it to {count} customers · ctrl+o add an image · esc back").format(
            count=count
        )

    @work(group="broadcast-image")
    async def action_add_image(self) -> None:
        """ctrl+o, as in the composer: a JPEG or PNG goes with the broadcast (an
        empty path takes it off)."""
        if self.stage != "preview" or self.sending or self.plan is None:
            return
        from omnitui.screens.attach import AttachScreen

        chosen = await self.app.push_screen_wait(
            AttachScreen(
                title=tr("An image for the broadcast (JPEG or PNG, at most 10 MB)"),
                placeholder=tr("e.g. ~/Pictures/poster.jpg"),
                hint=tr("enter adds it · an empty path takes the image off · esc cancels"),
            )
        )
        self.set_focus(None)  # `y` and `esc` are the preview's again, not the hidden filter's
        if chosen is None:
            return
        if chosen == "clear":
            self.image = None
        else:
            try:
                check_image(chosen.filename, chosen.data)
            except ImageProblem as exc:
                self.notify(exc.message(), severity="error")
                return
            self.image = chosen
        self.query_one("#broadcast-plan", Static).update(self._plan_text(self.plan))

    def _plan_text(self, plan: BroadcastPlan) -> Group:
        """Per channel how many, who is skipped and why, the first customer's message."""

        def indented(text: Text) -> Padding:
            return Padding(text, (0, 0, 0, 2))

        parts: list[RenderableType] = []
        count = len(plan.messages)
        parts.append(Text(tr("{count} customers get it:").format(count=count), "bold"))
        per_channel = Text()
        for kind, n in sorted(plan.per_channel().items()):
            per_channel.append(channel_mark(kind) + " ", CHANNEL_STYLE[kind])
            per_channel.append(f"{channel_name(kind)}: {n}\n")
        per_channel.rstrip()
        parts.append(indented(per_channel))
        skips = plan.skip_counts()
        if skips:
            total = sum(skips.values())
            parts.append(Text(tr("Skipped {count}:").format(count=total), "bold"))
            reasons = Text()
            for reason, n in sorted(skips.items(), key=lambda kv: (-kv[1], kv[0])):
                reasons.append(f"{n} · {tr(reason)}\n")
            reasons.rstrip()
            parts.append(indented(reasons))
        if self.image is not None:
            parts.append(self._image_text(plan, self.image))
        if plan.messages:
            first = plan.messages[0]
            names = {m.contact_id: m.name for m in self.audience}
            who = one_line(names.get(first.contact_id, ""), 30)
            heading = tr("What {name} gets ({channel}):").format(
                name=who, channel=channel_name(first.channel.kind)
            )
            parts.append(Text("\n" + heading, "bold"))
            sample = Text()
            if first.subject:
                sample.append(one_line(first.subject, 80) + "\n", "italic")
            room = SAMPLE_ROOM
            sample.append(first.text if len(first.text) <= room else first.text[:room] + "…")
            parts.append(indented(sample))
        else:
            parts.append(Text("\n" + tr("Nobody to send to."), "bold"))
        if self.refusal:
            parts.append(Text("\n⚠ " + self.refusal, "bold red"))
        return Group(*parts)

    def _image_text(self, plan: BroadcastPlan, image: OutboundFile) -> Text:
        """🖼 poster.jpg, 240 KB; and per channel that sends the text alone, why."""
        text = Text("\n🖼 ", "bold")
        text.append(one_line(image.filename, 60), "bold")
        text.append(f", {size_label(len(image.data))}")
        used = sorted({m.channel for m in plan.messages}, key=lambda c: (str(c.kind), c.account))
        for channel, why in self.context.broadcast_images.text_only(used):
            text.append(f"\n  {channel_name(channel.kind)}: {why}", "yellow")
        return text

    async def action_confirm(self) -> None:
        if self.stage != "preview" or self.sending:
            return
        plan, tag, shortcut = self.plan, self.tag, self.shortcut
        if plan is None or tag is None or shortcut is None or self.refusal or not plan.messages:
            self.app.bell()
            return
        self.sending = True
        try:
            image = None
            if self.image is not None:
                image = self.context.broadcast_images.image(
                    self.image.filename, self.image.data, list(self.context.channels)
                )
            number = await self.context.store.create_broadcast(
                shortcut, audience_key(tag), plan, author=self.context.agent_name, image=image
            )
        except Exception as exc:  # a duplicate under way, a store that refused
            self.sending = False
            self.refusal = message(exc)
            self.query_one("#broadcast-plan", Static).update(self._plan_text(plan))
            self.query_one("#broadcast-hint", Static).update(tr("esc back"))
            return
        self.context.outbox_changed()
        self.dismiss(number)

    async def action_back(self) -> None:
        """esc: from the look back to the replies, from the replies back to the tags
        (when the agent picked one), else close."""
        if self.stage == "preview":
            self.plan = None
            await self._show_stage()
        elif self.stage == "canned" and self.asked_tag:
            self.tag = None
            await self._show_stage()
        else:
            self.dismiss(None)


class BroadcastsScreen(ModalScreen[None]):
    """The recent broadcasts: per channel sent, delivered, failed, and who was skipped."""

    DEFAULT_CSS = """
    BroadcastsScreen { align: center middle; }
    BroadcastsScreen > VerticalScroll { width: 90%; max-width: 110; height: 85%; border: round $accent; background: $panel; padding: 0 1; }
    BroadcastsScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="broadcasts.close")]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(tr("Broadcasts"), "bold"))
            yield Static(id="broadcasts-table")
            yield Static(tr("esc close"), classes="hint")

    async def on_mount(self) -> None:
        await self.refresh_list()

    async def on_store_changed(self, event: StoreChanged) -> None:
        if event.kinds & {ChangeKind.OUTBOX, ChangeKind.DELIVERY, ChangeKind.CANNED}:
            await self.refresh_list()

    async def refresh_list(self) -> None:
        store = self.context.store
        found = await store.broadcasts(limit=20)
        self.query_one("#broadcasts-table", Static).update(
            broadcasts_table(found, await store.canned_replies())
        )

    def action_close(self) -> None:
        self.dismiss(None)


def _counts(progress: BroadcastProgress, kind: str) -> Mapping[str, int]:
    return {s: n for (k, s), n in progress.counts.items() if k == kind}


def broadcasts_table(found: Sequence[BroadcastProgress], replies: Sequence[CannedReply]) -> Group:
    """Per broadcast: its name, when and to whom; per channel sent, delivered, failed
    and not yet sent; who was skipped and why."""
    if not found:
        return Group(Text(tr("No broadcasts yet."), "dim"))
    parts: list[RenderableType] = []
    headers = (tr("sent"), tr("delivered"), tr("failed"), tr("not yet sent"))
    for progress in found:
        when = datetime.fromtimestamp(progress.send_at).strftime("%m-%d %H:%M")
        tags = " ".join(f"#{t}" for t in _tags(progress.audience))
        head = Text(f"{progress.id} · {broadcast_title(progress, replies)}", "bold")
        head.append(f"  {when}  {one_line(tags, 30)}", "dim")
        if progress.cancelled_at is not None:
            head.append("  " + tr("cancelled"), "yellow")
        elif progress.active:
            head.append("  " + tr("sending"), "cyan")
        parts.append(head)
        table = Table(expand=True, show_edge=False, pad_edge=False, box=box.SIMPLE_HEAD)
        table.add_column(tr("channel"), no_wrap=True, ratio=1)
        for header in headers:
            table.add_column(header, justify="right", no_wrap=True, width=max(4, cell_len(header)))
        for kind in sorted({k for k, _ in progress.counts}):
            counts = _counts(progress, kind)
            channel = ChannelKind(kind) if kind else None
            name = Text(channel_name(channel), CHANNEL_STYLE[channel]) if channel else Text("?")
            failed = sum(counts.get(s, 0) for s in FAILED_STATES)
            table.add_row(
                name,
                str(sum(counts.get(s, 0) for s in SENT_STATES)),
                str(counts.get("delivered", 0)),
                Text(str(failed), "bold red" if failed else ""),
                str(sum(counts.get(s, 0) for s in WAITING_STATES)),
            )
        if progress.counts:
            parts.append(Padding(table, (0, 0, 0, 2)))
        if progress.skipped:
            skipped = Text(tr("Skipped {count}:").format(count=progress.skipped_total), "bold")
            for reason, count in sorted(progress.skipped.items(), key=lambda kv: -kv[1]):
                skipped.append(f"\n  {count} · {tr(reason)}", "")
            parts.append(Padding(skipped, (0, 0, 0, 2)))
        parts.append(Text(""))
    return Group(*parts)


def _tags(audience: Mapping[str, object]) -> list[str]:
    tags = audience.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


class CancelBroadcastScreen(ModalScreen[bool]):
    """ "Cancel the broadcast? y/N": dismisses True on `y`, False on anything else."""

    DEFAULT_CSS = """
    CancelBroadcastScreen { align: center middle; }
    CancelBroadcastScreen > Vertical { width: 70; max-width: 90%; height: auto; border: round $warning; background: $panel; padding: 0 1; }
    CancelBroadcastScreen .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Cancel the broadcast", id="cancelbroadcast.yes"),
        Binding("n,escape", "answer(False)", "Keep sending", id="cancelbroadcast.no"),
    ]

    def __init__(self, progress: BroadcastProgress, replies: Sequence[CannedReply] = ()) -> None:
        super().__init__()
        self.progress = progress
        self.replies = replies

    def compose(self) -> ComposeResult:
        progress = self.progress
        waiting = progress.total(*WAITING_STATES)
        question = tr("Cancel the broadcast {title}? {count} not yet sent stay unsent.").format(
            title=broadcast_title(progress, self.replies), count=waiting
        )
        with Vertical():
            yield Static(Text(question, "bold"))
            yield Static(tr("y cancel it · n keep sending"), classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
