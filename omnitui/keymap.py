"""Every key binding of the console by its id, and `[keymap]` checked against them.

A `[keymap]` line naming an id that does not exist, or giving a key that the
same screen (or the whole console) already uses for something else, would
silently do nothing or take a key away: it is refused at start-up, naming
the config file and line, like any other config mistake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class KeyBinding:
    id: str
    owner: str  # the screen or widget whose keys it is among ("app": everywhere)
    keys: tuple[str, ...]


# Every module whose screens and widgets have key bindings.
_MODULES = (
    "omnitui.screens.attach",
    "omnitui.screens.broadcast",
    "omnitui.screens.canned_editor",
    "omnitui.screens.duplicates",
    "omnitui.screens.fill",
    "omnitui.screens.headers",
    "omnitui.screens.help",
    "omnitui.screens.inbox",
    "omnitui.screens.merge",
    "omnitui.screens.note",
    "omnitui.screens.pickers",
    "omnitui.screens.profile",
    "omnitui.screens.qr",
    "omnitui.screens.reports",
    "omnitui.screens.rules",
    "omnitui.screens.source",
    "omnitui.screens.supervisor",
    "omnitui.screens.tags",
    "omnitui.screens.views",
    "omnitui.widgets.canned",
    "omnitui.widgets.composer",
    "omnitui.widgets.contact_list",
    "omnitui.widgets.thread_view",
)


def _owners() -> list[tuple[str, Iterable[BindingType]]]:
    from importlib import import_module

    from omnitui.app import OmniApp

    owners: list[tuple[str, Iterable[BindingType]]] = [("app", OmniApp.BINDINGS)]
    for name in _MODULES:
        module = import_module(name)
        for value in vars(module).values():
            bindings = getattr(value, "BINDINGS", None)
            if isinstance(value, type) and value.__module__ == name and bindings:
                owners.append((value.__name__, bindings))
    return owners


def binding_table() -> dict[str, KeyBinding]:
    """Every binding with an id, by id."""
    table: dict[str, KeyBinding] = {}
    for owner, bindings in _owners():
        for binding in bindings:
            if isinstance(binding, Binding) and binding.id:
                keys = tuple(k.strip() for k in binding.key.split(",") if k.strip())
                table[binding.id] = KeyBinding(binding.id, owner, keys)
    return table


def keymap_problem(
    keymap: Mapping[str, str], table: Mapping[str, KeyBinding]
) -> tuple[str, str] | None:
    """The first `[keymap]` entry that cannot work, and why; None when all can.

    Keys clash within one screen or widget (its bindings are active
    together); the same key on another screen is fine, as it is by default
    (`v` shows a mail's source in the thread and changes the view in the list).
    """

    def keys_of(binding: KeyBinding) -> list[str]:
        given = keymap.get(binding.id)
        return [k.strip() for k in given.split(",") if k.strip()] if given else list(binding.keys)

    for binding_id in keymap:
        if binding_id not in table:
            return binding_id, "no such key binding (? in the console lists the ids)"
        mine = table[binding_id]
        wanted = keys_of(mine)
        if not wanted:
            return binding_id, "no key given"
        for other in table.values():
            if other.id == binding_id or other.owner != mine.owner:
                continue
            clash = sorted(set(wanted) & set(keys_of(other)))
            if clash:
                return binding_id, f"{clash[0]!r} is already the key of {other.id}"
    return None
