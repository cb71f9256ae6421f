"""Answering a customer in the inbox: the composer's wants (canned replies,
recipients, files, $EDITOR), sending, and starting a conversation (`w`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from textual import on, work
from textual.app import SuspendNotSupported

from omnitui.domain.identity import TypedAddress
from omnitui.domain.mail import clean_subject
from omnitui.domain.models import (
    IDENTITY_FOR_CHANNEL,
    CannedReply,
    Channel,
    ChannelKind,
    Contact,
    Draft,
    IdentityKind,
)
from omnitui.domain.safe_text import one_line
from omnitui.domain.sms import count_segments
from omnitui.domain.templates import Rendered, render
from omnitui.domain.views import View
from omnitui.i18n import tr
from omnitui.screens.inbox_panes import (
    InboxPanes,
)
from omnitui.store import StoreError
from omnitui.widgets.canned import CannedList
from omnitui.widgets.composer import Composer
from omnitui.widgets.fields import Input, TextArea
from omnitui.widgets.format import (
    channel_name,
    error_label,
)


class ReplyActions(InboxPanes):
    """The inbox's reply actions."""

    def action_reply(self) -> None:
        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        # Focus at once (not after the next refresh): keys typed right after
        # `r` must land in the composer, not trigger inbox keys like `e`.
        self.set_focus(self.composer.text_area)

    async def action_reply_all(self) -> None:
        """`g`: reply to the customer and everyone else their last mail went to."""
        self.action_reply()
        composer = self.composer
        if self.contact is not None and not composer.reply_all:
            composer.action_reply_all()

    @on(Composer.RecipientsWanted)
    @work(group="recipients")
    async def edit_recipients(self) -> None:
        from omnitui.screens.headers import RecipientsScreen

        composer = self.composer
        owner = composer.owner
        if self.contact is None or owner != self.contact.id:
            return
        chosen = await self.app.push_screen_wait(
            RecipientsScreen(composer.cc, composer.bcc, self.contact.name)
        )
        if chosen is not None and composer.owner == owner:
            composer.set_recipients(*chosen)
        composer.text_area.focus()

    def action_back(self) -> None:
        focused = self.focused
        if focused is self.thread:
            self.contacts.focus()
        elif focused is not None and focused.id == "canned":
            self.thread.focus()

    @on(Composer.Left)
    def composer_left(self) -> None:
        self.thread.focus()

    def action_canned(self) -> None:
        self.open_canned_picker()

    @on(Composer.CannedWanted)
    def composer_wants_canned(self) -> None:
        self.open_canned_picker()

    @work(group="canned-picker")
    async def open_canned_picker(self) -> None:
        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        from omnitui.screens.pickers import CannedPicker

        replies = await self.context.store.canned_replies()
        chosen = await self.app.push_screen_wait(CannedPicker(replies, self.contact.language))
        if isinstance(chosen, CannedReply):
            self.insert_canned(chosen)

    @on(CannedList.EditWanted)
    @work(group="canned-editor")
    async def edit_canned(self, event: CannedList.EditWanted) -> None:
        from omnitui.screens.canned_editor import CannedEditor

        edited = await self.app.push_screen_wait(CannedEditor(event.reply))
        if edited is None:
            return
        try:
            await self.context.store.save_canned_reply(edited)
        except StoreError as exc:
            self.notify(
                tr("Not saved: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        self.query_one(CannedList).set_replies(await self.context.store.canned_replies())
        self.notify(tr("Saved /{shortcut}").format(shortcut=edited.shortcut), markup=False)

    @on(CannedList.DeleteWanted)
    async def delete_canned(self, event: CannedList.DeleteWanted) -> None:
        await self.context.store.delete_canned_reply(event.reply.id)
        self.query_one(CannedList).set_replies(await self.context.store.canned_replies())
        self.notify(
            tr("Deleted /{shortcut} (canned export keeps a copy in git)").format(
                shortcut=event.reply.shortcut
            ),
            markup=False,
        )

    @on(CannedList.OptionSelected, "#canned")
    def canned_selected(self, event: CannedList.OptionSelected) -> None:
        reply = self.query_one(CannedList).current
        if reply is not None:
            self.insert_canned(reply)

    @on(Composer.ShortcutTyped)
    @work(group="canned-insert")
    async def expand_shortcut(self, event: Composer.ShortcutTyped) -> None:
        if self.contact is None:
            return
        replies = [r for r in await self.context.store.canned_replies() if r.shortcut == event.name]
        if not replies:
            return
        language = self.contact.language
        reply = next((r for r in replies if r.language == language), None) or next(
            (r for r in replies if not r.language), replies[0]
        )
        rendered = await self._complete(reply)
        self.composer.replace_range(rendered.text, event.start, event.end, rendered.unresolved)
        self.composer.text_area.focus()
        self._warn_unresolved(rendered)

    def _personalise(self, reply: CannedReply, extra: Mapping[str, str] | None = None) -> Rendered:
        assert self.contact is not None
        values = dict(self.context.shop_values)
        values.update(self.contact.placeholder_values())
        values.update(extra or {})
        return render(reply.body, values)

    @work(group="canned-insert")
    async def insert_canned(self, reply: CannedReply) -> None:
        """Insert a canned reply, personalised for the open contact; values the
        profile lacks (and the reply has no fallback for) are asked for."""
        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        rendered = await self._complete(reply)
        self.composer.insert_text(rendered.text, rendered.unresolved)
        self._warn_unresolved(rendered)

    async def _complete(self, reply: CannedReply) -> Rendered:
        from omnitui.domain.names import given_name_guess
        from omnitui.screens.fill import FillScreen

        rendered = self._personalise(reply)
        if rendered.unresolved and self.contact is not None:
            guess = given_name_guess(self.contact.name)
            filled = await self.app.push_screen_wait(
                FillScreen(
                    rendered.unresolved,
                    reply.title or reply.shortcut,
                    {"first_name": guess} if guess else {},
                )
            )
            if filled is not None and filled.values:
                rendered = self._personalise(reply, filled.values)
                if filled.remember:
                    await self._remember(filled.values)
        return rendered

    async def _remember(self, values: Mapping[str, str]) -> None:
        """Keep values typed for a canned reply on the customer's profile."""
        contact = self.contact
        if contact is None:
            return
        core = {k: v for k, v in values.items() if k in ("name", "first_name", "language")}
        fields = {k: v for k, v in values.items() if k not in core}
        await self.context.store.update_contact(
            contact.id,
            profile={**contact.profile, **fields} if fields else None,
            **core,
        )
        self.contact = await self.context.store.get_contact(contact.id)

    def _warn_unresolved(self, rendered: Rendered) -> None:
        if rendered.unresolved:
            self.notify(
                tr("Fill in {placeholders} before sending").format(
                    placeholders=", ".join(rendered.markers())
                ),
                title=tr("Canned reply"),
                severity="warning",
                markup=False,
            )

    @on(TextArea.Changed, "#composer-text")
    async def composing(self, event: TextArea.Changed) -> None:
        """Keep the draft, and tell other agents on this store that I am writing
        to this customer."""
        if self.contact is None:
            return
        if self.composer.loaded:
            self._keep_draft_soon()
        store, me = self.context.store, self.context.agent_name
        if not event.text_area.text.strip():
            await self._stop_composing()
            return
        now = time.monotonic()
        said = self._composing
        if said is not None and said[0] == self.contact.id and now - said[1] < 20:
            return
        if said is not None and said[0] != self.contact.id:
            await store.set_composing(said[0], me, False)
        await store.set_composing(self.contact.id, me, True)
        self._composing = (self.contact.id, now)
        others = await store.others_composing(self.contact.id, me)
        if others and said is None:
            replying = (
                tr("{names} is already replying to this customer")
                if len(others) == 1
                else tr("{names} are already replying to this customer")
            )
            self.notify(
                replying.format(names=", ".join(others)),
                title=tr("Careful"),
                severity="warning",
                markup=False,
            )

    @on(Input.Changed, "#composer-subject")
    def subject_changed(self) -> None:
        """A subject the agent typed is kept with the draft."""
        if self.contact is not None and self.composer.loaded and self.composer.subject_typed:
            self._keep_draft_soon()

    async def _stop_composing(self) -> None:
        if self._composing is not None:
            await self.context.store.set_composing(
                self._composing[0], self.context.agent_name, False
            )
            self._composing = None

    @on(Composer.AttachWanted)
    @work(group="attach")
    async def attach_file(self) -> None:
        from omnitui.screens.attach import AttachScreen

        if self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        chosen = await self.app.push_screen_wait(AttachScreen())
        if chosen is None:
            return
        if chosen == "clear":
            self.composer.files = []
        else:
            self.composer.files.append(chosen)
        self.composer.refresh_status()
        self.composer.text_area.focus()

    @on(Composer.EditorWanted)
    def edit_in_editor(self) -> None:
        """Hand the terminal to $VISUAL or $EDITOR with the reply; the text it
        saves comes back into the composer (the same customer's)."""
        from omnitui.editor import EditorError, edit, editor_command

        owner = self.composer.owner
        if owner is None or self.contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        try:
            command = editor_command()
            with self.app.suspend():  # nothing in here may raise: the console must come back
                edited = edit(command, self.composer.text)
        except EditorError as exc:
            edited = exc
        except SuspendNotSupported:
            edited = EditorError("This terminal cannot hand over to an editor")
        self.app.refresh(layout=True)
        if isinstance(edited, EditorError):
            self.notify(edited.message(), title=tr("Editor"), severity="error", markup=False)
        elif self.composer.owner == owner:
            self.composer.replace_text(edited)

    @on(Composer.SendRequested)
    async def send_reply(self, event: Composer.SendRequested) -> None:
        contact = self.contact
        text = event.text.strip()
        if contact is None:
            self.notify(tr("Pick a customer first"), severity="warning")
            return
        if self.composer.owner != contact.id or not self.composer.loaded:
            # The composer is still being handed to the customer on screen.
            self.notify(tr("Not sent: the reply is still loading, try again"), severity="warning")
            return
        files = list(self.composer.files)
        if not text and not files:
            self.notify(tr("Nothing to send"), severity="warning")
            return
        missing = self.composer.unresolved()
        if missing:
            self.notify(
                tr("Not sent: fill in {placeholders} first").format(
                    placeholders=", ".join("{" + m + "}" for m in missing)
                ),
                title=tr("Unresolved placeholder"),
                markup=False,
                severity="error",
            )
            return
        channel = event.channel
        if channel is None:
            self.notify(tr("This customer has no channel to reply on"), severity="error")
            return
        if channel.kind is ChannelKind.SMS and count_segments(text).too_long:
            self.notify(tr("Not sent: an SMS can be at most 1,600 characters"), severity="error")
            return
        if files and channel.kind is ChannelKind.SMS:
            self.notify(
                tr(
                    "Not sent: an SMS from OmniTUI cannot carry files; "
                    "ctrl+t picks email or Telegram"
                ),
                severity="error",
            )
            return
        if files and channel.kind is ChannelKind.LINE:
            self.notify(
                tr(
                    "Not sent: LINE takes files only from a public web address; "
                    "send a link, or ctrl+t picks email or Telegram"
                ),
                severity="error",
            )
            return
        try:
            refusal = await self._opted_out(contact.id, channel)
        except StoreError as exc:  # the store is away: the reply stays in the composer
            self.notify(
                tr("Not sent: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        if refusal:
            self.notify(refusal, title=tr("Opted out"), severity="error")
            return
        hold = self.context.undo_send
        email = channel.kind is ChannelKind.EMAIL
        try:
            message_id = await self.context.store.enqueue_reply(
                contact.id,
                channel,
                text,
                subject=clean_subject(self.composer.subject),
                author=self.context.agent_name,
                files=files,
                hold=hold,
                cc=self.composer.cc if email else (),
                bcc=self.composer.bcc if email else (),
                signature=self.composer.signature,
            )
        except StoreError as exc:
            self.notify(
                tr("Not sent: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        if hold > 0:
            # A little less than the hub's wait, so `u` is never offered too late.
            self._undoable = (contact.id, message_id, time.monotonic() + hold - 0.3)
            self.notify(
                tr("Sending in {seconds} s · u to undo").format(seconds=f"{hold:g}"),
                timeout=hold,
            )
        self.composer.reset()
        self._draft_timer_stop()
        await self._keep_draft(contact.id, None)
        await self._stop_composing()
        self.context.outbox_changed()
        self.thread.focus()
        await self._refresh_open_thread()
        self.thread.action_last_message()
        await self.reload_contacts()

    async def _opted_out(self, contact_id: int, channel: Channel) -> str:
        """Why a reply on `channel` must not go (the customer texted STOP, or
        blocked the shop's LINE account or Telegram bot), or ''."""
        contact = await self.context.store.get_contact(contact_id)
        kind = IDENTITY_FOR_CHANNEL[channel.kind]
        identity = next((i for i in contact.identities if i.kind is kind), None)
        if identity is None or not identity.opted_out:
            return ""
        line = channel.kind is ChannelKind.LINE
        telegram = channel.kind is ChannelKind.TELEGRAM
        others = [c for c in self.composer.channels if c.kind is not channel.kind]
        if others:
            hint = tr("Press ctrl+t to reply by {channel} instead.").format(
                channel=channel_name(others[0].kind)
            )
        elif line:
            hint = tr("They have no other channel; once they unblock it, you can write again.")
        elif telegram:
            hint = tr(
                "They have no other channel; once they write to the bot again, you can reply."
            )
        else:
            hint = tr("They have no other channel; texting START opts them back in.")
        if line:
            return tr("Not sent: this customer blocked the shop's LINE account.") + " " + hint
        if telegram:
            return tr("Not sent: this customer blocked the shop's Telegram bot.") + " " + hint
        return tr("Not sent: this customer opted out of {channel} (they texted STOP).").format(
            channel=channel_name(channel.kind)
        ) + (" " + hint)

    @work(group="write-to")
    async def action_write_to(self) -> None:
        """`w`: start a conversation, with a customer who never wrote or a new
        address; the composer opens for them on a channel that reaches them."""
        from omnitui.screens.write_to import WriteToScreen

        store = self.context.store
        chosen = await self.app.push_screen_wait(WriteToScreen(self.context))
        kind: ChannelKind | None = None
        if isinstance(chosen, TypedAddress):
            kind = next(k for k, v in IDENTITY_FOR_CHANNEL.items() if v is chosen.kind)
            if not any(c.kind is kind for c in self.context.channels):
                self.notify(
                    tr("No {channel} account is set up to write from").format(
                        channel=channel_name(kind)
                    ),
                    severity="error",
                )
                return
            try:
                contact_id, _made = await store.contact_for_address(
                    chosen.kind, chosen.address, name=chosen.name, region=self.context.phone_region
                )
            except StoreError as exc:
                self.notify(error_label(exc), severity="error", markup=False)
                return
        elif isinstance(chosen, int):
            contact_id = chosen
        else:
            return
        if self.view != View.ALL:
            await self.set_view(View.ALL)
        await self.go_to(contact_id)
        await self._open_composer_for(contact_id, kind)

    async def _open_composer_for(self, contact_id: int, kind: ChannelKind | None) -> None:
        """Focus the composer of the customer just opened, on a channel of
        `kind` when given, or say in words why nothing reaches them."""
        composer = self.composer
        deadline = time.monotonic() + 5
        while not (composer.owner == contact_id and composer.loaded):
            if time.monotonic() > deadline or self.contact is None:
                return
            await asyncio.sleep(0.02)
        if self.contact is None or self.contact.id != contact_id:
            return
        if composer.channel is None:
            self.notify(self._unreachable(self.contact), severity="warning", markup=False)
            return
        if kind is not None and composer.channel.kind is not kind:
            wanted = next((c for c in composer.channels if c.kind is kind), composer.channel)
            composer.pick_channel(wanted)
        # The subject (for email) is prefilled; shift+tab goes back to edit it.
        # (focus() after go_to's own, which is queued the same way.)
        composer.text_area.focus()

    def _unreachable(self, contact: Contact) -> str:
        """Why no channel reaches a customer, in words."""
        name = one_line(contact.name, 30)
        kinds = {i.kind for i in contact.identities}
        if kinds == {IdentityKind.TELEGRAM}:
            return tr(
                "{name} can only be reached on Telegram, and a Telegram bot cannot write "
                "first: they have to send the shop's bot a message, then you can answer them."
            ).format(name=name)
        if not kinds:
            return tr("{name} has no address to write to: add one in the profile (p).").format(
                name=name
            )
        return tr("No channel set up in config.toml reaches {name}'s addresses.").format(name=name)

    async def _withdraw(self, contact_id: int, message_id: int) -> None:
        store = self.context.store
        taken = await store.withdraw_reply(message_id)
        if taken is None:
            self.notify(tr("Too late to undo: the reply is on its way"), severity="warning")
            return
        composer = self.composer
        if composer.owner == contact_id and composer.loaded and not composer.text.strip():
            composer.text_area.load_text(taken.text)
            composer.files = list(taken.files)
            composer.pick_channel(taken.channel)
            if taken.subject:
                composer.put_typed_subject(taken.subject)
            composer.set_recipients(list(taken.cc), list(taken.bcc))
            composer.text_area.focus()
        else:  # the agent moved on: it waits as that customer's draft
            await self._keep_draft(
                contact_id, Draft(taken.text, taken.channel.account, taken.subject)
            )
            composer.keep_recipients(contact_id, list(taken.cc), list(taken.bcc))
        self.notify(tr("Not sent: the reply is back in the composer"), title=tr("Undone"))
        await self._refresh_open_thread()
        await self.reload_contacts()

    async def action_retry(self) -> None:
        message = self.thread.selected_message
        if message is None:
            return
        try:
            await self.context.store.retry(message.id)
        except StoreError as exc:
            self.notify(error_label(exc), severity="warning", markup=False)
            return
        self.context.outbox_changed()
        self.notify(tr("Queued again"))
