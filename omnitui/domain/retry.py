"""How long OmniTUI waits before trying again: one policy for every retry.

The hub restarts a stopped channel and resends a reply with it; each adapter
reconnects to its provider with it (with its own numbers: IMAP after a
dropped connection waits 1 s, 2 s, 4 s ... up to a minute).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: `first_delay`, times `factor` each attempt, at most
    `max_delay`, spread by +-`jitter` so many channels do not retry in step."""

    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 300.0
    max_attempts: int = 6
    jitter: float = 0.2

    def base_delay(self, attempt: int) -> float:
        """The wait before try number `attempt + 1` (attempt 1 is the first failure)."""
        return min(self.max_delay, self.first_delay * self.factor ** max(0, attempt - 1))

    def delay(self, attempt: int) -> float:
        base = self.base_delay(attempt)
        if not self.jitter:
            return base
        return base * (1.0 - self.jitter + 2 * self.jitter * random.random())
