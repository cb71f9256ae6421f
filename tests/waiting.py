"""Waiting for something to become true, the one way every test does it.

A test that drives the console, a channel or the real binary waits for what a
person would see or what the store would hold, never for a fixed time: on a
busy machine a fixed sleep is either too short (a flaky test) or too long.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

POLL = 0.02  # seconds between two looks


async def wait_until(
    predicate: Callable[[], object | Awaitable[object]],
    limit: float = 10.0,
    what: str = "the condition",
    *,
    pilot: Pilot[None] | None = None,
) -> None:
    """Wait until `predicate()` is true; fail after `limit` seconds naming `what`.

    `predicate` may be a coroutine function (a store read). With `pilot`, the
    console is given its turn between two looks, as Textual's `pilot.pause`
    does, so what it shows is up to date when the predicate reads it.
    """
    deadline = time.monotonic() + limit
    while True:
        answer = predicate()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not so after {limit:g} s")
        if pilot is not None:
            await pilot.pause(POLL)
        else:
            await asyncio.sleep(POLL)


async def wait_for_value(
    read: Callable[[], Awaitable[object]],
    expected: object,
    limit: float = 5.0,
    *,
    pilot: Pilot[None] | None = None,
) -> None:
    """Wait until `await read()` gives `expected`; the failure says what it gave last."""
    last: list[object] = [None]

    async def matches() -> bool:
        last[0] = await read()
        return last[0] == expected

    try:
        await wait_until(matches, limit, f"expected {expected!r}", pilot=pilot)
    except AssertionError:
        raise AssertionError(f"still {last[0]!r}, expected {expected!r}") from None


def wait_until_sync(
    predicate: Callable[[], object],
    limit: float = 10.0,
    what: str | Callable[[], str] = "the condition",
    *,
    every: float = 0.1,
) -> None:
    """`wait_until` for a test outside an event loop (the real binary in tmux).

    `what` may be a function, read only on failure (what the terminal showed)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"not so after {limit:g} s: {said}")
        time.sleep(every)
