"""Keeping a connection to a provider: try, and after a failure wait, then again.

Every adapter that holds a connection (IMAP folders, Telegram polling, Twilio
polling and its catch-up) runs its work through `keep_trying`. A failure the
adapter calls passing (a dropped connection, a provider out of reach) is
told to the adapter in words with the wait before the next try, so it can
say so on the channel's health; the waits follow a `RetryPolicy`, and start
again from the first once a try goes through. Any other failure ends the
loop and reaches the hub, which restarts the adapter with its own backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from omnitui.domain.retry import RetryPolicy


def steady(first_delay: float, max_delay: float) -> RetryPolicy:
    """A reconnect policy: doubling from `first_delay` up to `max_delay`, without jitter
    (the wait is shown to people, and one channel's tries are not in step with others)."""
    return RetryPolicy(first_delay=first_delay, factor=2.0, max_delay=max_delay, jitter=0.0)


async def wait(seconds: float, wake: asyncio.Event | None = None) -> None:
    """Sleep `seconds`, or less if `wake` is set meanwhile."""
    if wake is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)


async def keep_trying(
    step: Callable[[], Awaitable[bool]],
    *,
    policy: RetryPolicy,
    passing: Callable[[Exception], str | None],
    retrying: Callable[[str, float], None],
    pause: Callable[[], float] = lambda: 0.0,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `step` until it returns True.

    After a step that went through, wait `pause()` seconds (0: go on at once).
    When a step raises, `passing(exc)` says in words what went wrong if it is
    worth another try (else the exception ends the loop); `retrying(words,
    seconds)` is told before the wait. `wake`, when set, cuts any wait short.
    """
    failures = 0
    while True:
        if wake is not None:
            wake.clear()
        try:
            if await step():
                return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            words = passing(exc)
            if words is None:
                raise
            failures += 1
            delay = policy.delay(failures)
            retrying(words, delay)
            await wait(delay, wake)
            continue
        failures = 0
        seconds = pause()
        if seconds > 0:
            await wait(seconds, wake)
