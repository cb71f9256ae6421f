"""ctrl+p: Textual's command palette, with its own words in the console's language.

The commands themselves are translated where they are made (Textual's own in
`OmniApp.get_system_commands`, each screen's in its `COMMANDS` providers); this
is the palette around them: its placeholder (given when it opens), the line it
shows when nothing matches, and one order for commands from several providers.
"""

from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import Command, CommandList, CommandPalette
from textual.widgets.option_list import Option

from omnitui.i18n import tr


class OmniCommandPalette(CommandPalette):
    def _refresh_command_list(
        self, command_list: CommandList, commands: list[Command], clear_current: bool
    ) -> None:
        # Textual's own, with ties (every command before anything is typed) in
        # the order of their titles, whichever provider answered first.
        ordered = sorted(commands, key=lambda c: (-c.hit.score, c.hit.text or ""))
        command_list.clear_options().add_options(ordered)
        if ordered:
            command_list.highlighted = 0
        self._list_visible = bool(command_list.option_count)
        self._hit_count = command_list.option_count

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own (textual is pinned), with "No matches found" translated.
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(tr("No matches found"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)
