"""Text fields that take keys in the order they were typed.

Textual's Input and TextArea insert a typed letter as soon as it reaches
them, but an editing key they bind (backspace, ctrl+u, the arrows, ctrl+k…)
first travels up to the console and only then runs. When keys come in a
burst (fast typing, a busy machine, a terminal handing over several keys at
once) a letter typed after ctrl+u could land before it and be wiped with the
old text: "ken@" ctrl+u "manager@example.com" ended up "ager@example.com".

These fields run their own editing keys where the letters are handled, one
key after the other, so what the agent typed is what the field holds. Which
action a key runs is unchanged: the focused field's own binding is the first
one the console would have found for it anyway.
"""

from __future__ import annotations

from textual import events
from textual import widgets as textual_widgets
from textual.widget import Widget


async def run_own_binding(field: Widget, event: events.Key) -> bool:
    """Run `field`'s own binding for `event` now, rather than after the key
    has gone up to the console; a key the field types in is left to it.
    True when a binding ran."""
    if field.loading or event.is_printable or field.check_consume_key(event.key, event.character):
        return False
    bindings = field._bindings.copy()
    if field.app._keymap:
        bindings.apply_keymap(field.app._keymap)
    for binding in bindings.key_to_bindings.get(event.key, ()):
        # Priority bindings were looked at before the key reached the field.
        if not binding.priority and await field.app.run_action(binding.action, field):
            event.stop()
            event.prevent_default()
            return True
    return False


class Input(textual_widgets.Input):
    """A one-line field whose editing keys keep their place among the letters."""

    async def _on_key(self, event: events.Key) -> None:
        if await run_own_binding(self, event):
            self._restart_blink()


class TextArea(textual_widgets.TextArea):
    """A text area whose editing keys keep their place among the letters."""

    async def _on_key(self, event: events.Key) -> None:
        if await run_own_binding(self, event):
            self._restart_blink()
