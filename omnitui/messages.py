"""Messages between the console's parts: what the app tells every screen.

A screen handles the ones it cares about; none of them needs to know the app
that posted it.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.message import Message

from omnitui.domain.changes import ChangeKind


def change_kinds(kinds: Iterable[str]) -> frozenset[ChangeKind]:
    """The kinds of change named in the store's log; a kind this console does
    not know (written by a newer OmniTUI on the same store) is left out."""
    known = {k.value for k in ChangeKind}
    return frozenset(ChangeKind(k) for k in kinds if k in known)


class StoreChanged(Message, bubble=False):
    """Something in the store changed, in this process or another: the kinds
    of change and the customers they touched."""

    def __init__(self, contact_ids: frozenset[int], kinds: frozenset[ChangeKind]) -> None:
        super().__init__()
        self.contact_ids = contact_ids
        self.kinds = kinds


class StoreTrouble(Message, bubble=False):
    """The store cannot be reached now (`problem`, in words), or can again (None)."""

    def __init__(self, problem: str | None) -> None:
        super().__init__()
        self.problem = problem
