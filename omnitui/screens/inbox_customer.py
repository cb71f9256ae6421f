"""The customer's records from the inbox: profile, merge and its undo, possible
duplicates, a message's raw source and attachments.
"""

from __future__ import annotations

import asyncio

from textual import on, work

from omnitui.i18n import tr
from omnitui.screens.inbox_panes import (
    InboxPanes,
)
from omnitui.store import StoreError
from omnitui.widgets.format import (
    error_label,
    reason_label,
)
from omnitui.widgets.thread_view import ThreadView


class CustomerActions(InboxPanes):
    """The inbox's actions on a customer's records."""

    @work(group="merge")
    async def action_merge(self) -> None:
        contact_id = self._current()
        if contact_id is None:
            return
        summary = await self.context.store.contact_summary(contact_id)
        if summary is None:
            return
        from omnitui.screens.merge import MergeScreen
        from omnitui.screens.pickers import MergePicker

        store = self.context.store
        other = await self.app.push_screen_wait(MergePicker(self.context, summary))
        if not isinstance(other, int):
            return
        choice = await self.app.push_screen_wait(
            MergeScreen(
                await store.get_contact(contact_id),
                await store.get_contact(other),
                await store.merge_plan(other, contact_id),
                await store.identity_message_counts(other),
            )
        )
        if choice is None:
            return
        try:
            await store.merge(
                other, contact_id, agent=self.context.agent_name, incoming_wins=choice
            )
        except StoreError as exc:
            self.notify(
                tr("Not merged: {reason}").format(reason=error_label(exc)),
                severity="error",
                markup=False,
            )
            return
        self.notify(tr("Merged. Press u to undo."), title=tr("Merge"))
        self.contact = None
        worker = self.open_contact(contact_id)
        await self.reload_contacts()
        self.contacts.highlight_contact(contact_id)
        await self._drawn(worker)

    @work(group="duplicates")
    async def action_duplicates(self) -> None:
        from omnitui.screens.duplicates import DuplicatesScreen

        changed = await self.app.push_screen_wait(DuplicatesScreen(self.context))
        if changed:
            self.contact = None
            await self.reload_contacts()
            current = self.contacts.current_contact_id
            if current is not None:
                self.open_contact(current)

    @work(group="profile")
    async def action_profile(self) -> None:
        from omnitui.screens.profile import ProfileScreen

        contact_id = self._current()
        if contact_id is None:
            return
        contact = await self.context.store.get_contact(contact_id)
        changed = await self.app.push_screen_wait(ProfileScreen(self.context, contact))
        if changed:
            self.contact = None
            self.open_contact(contact_id)
            await self.reload_contacts()

    async def action_undo_merge(self) -> None:
        contact_id = self._current()
        if contact_id is None:
            return
        record = await self.context.store.last_merge_into(contact_id)
        if record is None:
            self.notify(tr("No merge into this contact to undo"), severity="warning")
            return
        await self.context.store.undo_merge(record)
        self.notify(tr("Merge undone: the other contact is back on its own"), title=tr("Merge"))
        self.contact = None
        self.open_contact(contact_id)
        await self.reload_contacts()

    @on(ThreadView.SourceWanted)
    async def show_source(self, event: ThreadView.SourceWanted) -> None:
        from omnitui.screens.source import SHOWN, SourceScreen

        message_id = event.message.id
        head = await self.context.store.message_source_head(message_id, SHOWN)
        if head is None:
            self.notify(
                tr("This message has no raw source (only email keeps one)"), severity="warning"
            )
            return

        async def save() -> None:
            from omnitui import downloads

            raw = await self.context.store.message_source(message_id)
            if raw is None:
                return
            try:
                target = await asyncio.to_thread(
                    downloads.save, self.context.downloads(), f"message-{message_id}.eml", raw
                )
            except OSError as exc:
                self.notify(
                    tr("Not saved: {reason}").format(reason=exc.strerror or str(exc)),
                    severity="warning",
                    markup=False,
                )
                return
            self.notify(
                tr("Saved to {folder}: {files}").format(folder=target.parent, files=target.name),
                markup=False,
            )

        raw, size = head
        self.app.push_screen(SourceScreen(raw, size, save))

    @on(ThreadView.SaveWanted)
    async def save_attachments(self, event: ThreadView.SaveWanted) -> None:
        from omnitui import downloads

        message = event.message
        if not message.attachments:
            self.notify(tr("This message has no attachments"), severity="warning")
            return
        folder = self.context.downloads()
        saved: list[str] = []
        skipped: list[str] = []
        for att in message.attachments:
            data = await self.context.store.attachment_data(att.id)
            if data is None:
                skipped.append(f"{att.filename} ({reason_label(att.note or 'not kept')})")
                continue
            try:
                target = await asyncio.to_thread(downloads.save, folder, att.filename, data)
            except OSError as exc:
                skipped.append(f"{att.filename} ({exc.strerror or exc})")
                continue
            saved.append(target.name)
        if saved:
            self.notify(
                tr("Saved to {folder}: {files}").format(folder=folder, files=", ".join(saved)),
                title=tr("Attachments"),
                markup=False,
            )
        if skipped:
            self.notify(
                tr("Not saved: {reason}").format(reason=", ".join(skipped)),
                severity="warning",
                markup=False,
            )
