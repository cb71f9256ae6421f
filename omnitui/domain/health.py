"""How a channel is doing: a state the hub and the consoles act on, and why.

An adapter says its channel's `Health`; the hub writes the words of a channel
that is in trouble to the store, where every console shows them. The reason
is an `OmniError`, so it reads in the console's language where it is shown
from the error itself, and in English in the store and the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from omnitui.errors import OmniError


class ChannelState(StrEnum):
    CONNECTING = "connecting"  # not through to the provider yet
    CONNECTED = "connected"  # receiving
    RETRYING = "retrying"  # lost the provider, trying again after a wait
    FAILED = "failed"  # stopped; the hub restarts it after a wait
    STOPPED = "stopped"  # nobody runs it


class ChannelTrouble(OmniError):
    """Why a channel is not working, in words."""


@dataclass(frozen=True, slots=True)
class Health:
    state: ChannelState
    reason: OmniError | None = None

    @property
    def troubled(self) -> bool:
        return self.state in (ChannelState.RETRYING, ChannelState.FAILED)

    def problem(self) -> str | None:
        """What stops the channel, in English words (None while it works)."""
        if not self.troubled:
            return None
        return str(self.reason) if self.reason is not None else self.state.value


CONNECTING = Health(ChannelState.CONNECTING)
CONNECTED = Health(ChannelState.CONNECTED)
STOPPED = Health(ChannelState.STOPPED)


def first_trouble(parts: Iterable[Health]) -> Health:
    """A channel of several parts (mail folders) is as well as its first part in trouble."""
    seen = list(parts)
    trouble = next((h for h in seen if h.troubled), None)
    if trouble is not None:
        return trouble
    if seen and all(h.state is ChannelState.CONNECTED for h in seen):
        return CONNECTED
    return CONNECTING
