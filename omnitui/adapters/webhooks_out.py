"""Webhooks out: the events the store queued, POSTed to the shop's CRM or scripts.

The store queues each event in the transaction of the change that makes it,
its JSON body frozen then (`omnitui.store.sqlite.webhooks`). Here the channel
runner sends them: the exact body bytes, signed with the webhook's secret
(`X-OmniTUI-Signature: sha256=<hex HMAC-SHA256>`), with the event's stable id
in `X-OmniTUI-Delivery` and the body's `id`. A 2xx is delivered. Anything else
(a timeout, a refused connection, a 4xx or 5xx, a redirect, which is never
followed so a signed body never goes to another address) is tried again with
backoff, from seconds up to an hour, and given up after about a day: then it
is `failed`, kept, shown, and `omnitui webhooks replay` sends it again.

Each customer's events go in order: their next one waits until the earlier
one is delivered or given up. Different customers go side by side (a few at
a time), so one slow customer or receiver holds up only themselves, and each
webhook has its own sender, so a broken one never holds up another. An event
is recorded as delivered only after the receiver's answer: a process killed
in between sends it again, with the same id (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from omnitui import __version__
from omnitui.config import SecretError
from omnitui.domain.safe_text import shown_url
from omnitui.store.errors import StoreError
from omnitui.store.sqlite.webhooks import webhook_account

if TYPE_CHECKING:
    from omnitui.config import WebhookConfig
    from omnitui.store.protocol import StoreProtocol
    from omnitui.store.records import WebhookDelivery, WebhookState

log = logging.getLogger(__name__)

USER_AGENT = f"OmniTUI/{__version__} (webhooks)"
PARALLEL = 4  # customers whose events are on their way at once, per webhook
FAILING_AFTER = 3  # failures in a row before the consoles show the webhook as failing
ANSWER_LIMIT = 64 * 1024  # what of a receiver's answer is read (it is not kept)
KEEP_DELIVERED = 7 * 86400.0  # delivered events are forgotten after a week
PRUNE_EVERY = 3600.0


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How failed deliveries are tried again: after `first` seconds, doubling up to
    `cap`, until the waits add up to more than `window` (then given up)."""

    first: float = 5.0
    cap: float = 3600.0
    window: float = 86400.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row."""
        return float(min(self.cap, self.first * 2 ** min(max(failures - 1, 0), 30)))

    def retry_at(self, now: float, failures: int) -> float | None:
        """When to try again after `failures` failures, or None: given up."""
        waited = sum(self.delay(n) for n in range(1, failures + 1))
        return None if waited > self.window else now + self.delay(failures)


def signature(secret: str, body: bytes) -> str:
    """`X-OmniTUI-Signature`'s value for `body`: what a receiver recomputes and compares."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


account = webhook_account  # the name a webhook's problems carry in the channel line


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one POST came to: the HTTP status (None: no answer) and, unless
    delivered, why not in words."""

    status: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return not self.error


async def post(
    session: aiohttp.ClientSession, url: str, secret: str, item: WebhookDelivery, seconds: float
) -> Outcome:
    """POST one event's frozen body; never raises for what a receiver does."""
    body = item.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-OmniTUI-Signature": signature(secret, body),
        "X-OmniTUI-Event": item.event,
        "X-OmniTUI-Delivery": item.event_id,
    }
    try:
        async with session.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as answer:
            status = answer.status
            if 300 <= status < 400:
                where = answer.headers.get("Location", "nowhere said")
                return Outcome(
                    status, f"HTTP {status}: redirected to {where} (redirects are not followed)"
                )
            if not 200 <= status < 300:
                return Outcome(status, f"HTTP {status} {answer.reason or ''}".strip())
            # The status says it was taken; what follows it does not matter.
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await answer.content.read(ANSWER_LIMIT)
            return Outcome(status)
    except TimeoutError:
        return Outcome(None, f"no answer within {seconds:g} s")
    except aiohttp.ClientConnectorError as exc:
        code = exc.os_error.errno if exc.os_error else None
        return Outcome(None, f"cannot connect: {os.strerror(code) if code else exc}")
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError):
        return Outcome(None, "the receiver closed the connection before answering")
    except (aiohttp.ClientError, ValueError, OSError) as exc:
        # Whatever else the request met is this attempt's failure, recorded and
        # retried like the others: it never leaves the event unrecorded.
        return Outcome(None, f"{type(exc).__name__}: {exc}".strip())


class WebhookSender:
    """One webhook's deliveries: each customer's events in order, a few customers at once."""

    def __init__(
        self,
        store: StoreProtocol,
        config: WebhookConfig,
        webhook_id: int,
        session: aiohttp.ClientSession,
        secret: str,
        *,
        policy: DeliveryPolicy,
        parallel: int = PARALLEL,
    ) -> None:
        self.store = store
        self.url = config.url
        self.timeout = config.timeout
        self.webhook_id = webhook_id
        self._session = session
        self._secret = secret
        self._policy = policy
        self._parallel = parallel
        self._on_way: dict[asyncio.Task[None], int] = {}  # task -> its customer
        self._wake = asyncio.Event()
        self._said: str | None = None  # the problem the consoles were last told

    async def run(self) -> None:
        """Send until cancelled; a store that is away is waited for, never fatal."""
        watcher = asyncio.create_task(self._watch_changes(), name="webhook-wake")
        try:
            await self._tell_consoles()
            while True:
                try:
                    await self._round()
                except StoreError as exc:
                    log.warning("webhook %s: the store: %s", shown_url(self.url), exc)
                    await asyncio.sleep(2)
        finally:
            watcher.cancel()
            for task in self._on_way:
                task.cancel()
            await asyncio.gather(watcher, *self._on_way, return_exceptions=True)

    async def _round(self) -> None:
        """Start what is due, then sleep until something changes, a delivery ends,
        or the next retry is due."""
        self._wake.clear()
        timeout: float | None = None
        free = self._parallel - len(self._on_way)
        if free > 0:
            busy = set(self._on_way.values())
            for item in await self.store.due_webhook_deliveries(
                self.webhook_id, busy=busy, limit=free
            ):
                task = asyncio.create_task(self._deliver(item), name=f"webhook:{item.event_id}")
                self._on_way[task] = item.contact_id
            if len(self._on_way) < self._parallel:
                due = await self.store.next_webhook_due(
                    self.webhook_id, busy=set(self._on_way.values())
                )
                if due is not None:
                    timeout = min(max(due - self.store.now(), 0.05), 60.0)
        woken: asyncio.Task[object] = asyncio.create_task(self._wake.wait())
        waits: set[asyncio.Task[object]] = {woken, *self._on_way}
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        for task in [t for t in self._on_way if t.done()]:
            del self._on_way[task]
            if not task.cancelled() and task.exception() is not None:
                log.warning("webhook %s: %s", shown_url(self.url), task.exception())

    async def _watch_changes(self) -> None:
        """Wake the sender on any change to the store (an event queued, a replay)."""
        mark = await self.store.last_change_id()
        while True:
            try:
                await self.store.wait_for_change(mark)
                mark = await self.store.last_change_id()
            except StoreError:
                await asyncio.sleep(2)
            self._wake.set()

    async def _deliver(self, item: WebhookDelivery) -> None:
        outcome = await post(self._session, self.url, self._secret, item, self.timeout)
        if outcome.delivered:
            assert outcome.status is not None
            await self.store.webhook_delivered(item.id, outcome.status)
        else:
            failures = item.attempts + 1
            retry_at = self._policy.retry_at(self.store.now(), failures)
            log.warning(
                "webhook %s: %s %s failed (attempt %d%s): %s",
                shown_url(self.url),
                item.event,
                item.event_id,
                failures,
                "" if retry_at is not None else ", given up",
                outcome.error,
            )
            await self.store.webhook_attempt_failed(
                item.id, outcome.error, outcome.status, retry_at=retry_at
            )
        if not outcome.delivered or self._said is not None:
            await self._tell_consoles()

    async def _tell_consoles(self) -> None:
        """Show the webhook in the consoles' channel line while it keeps failing."""
        state = next(iter(await self.store.webhook_states(self.webhook_id)), None)
        problem = None if state is None else problem_of(state)
        if problem != self._said:
            await self.store.set_channel_problem(account(self.url), problem)
            self._said = problem


def problem_of(state: WebhookState) -> str | None:
    """What the consoles and `omnitui doctor` say of a webhook in trouble (None: it works)."""
    if state.failed:
        return (
            f"given up on {state.failed} event{'' if state.failed == 1 else 's'} "
            f"({state.last_error}); omnitui webhooks replay sends "
            f"{'it' if state.failed == 1 else 'them'} again"
        )
    if state.failures_in_row >= FAILING_AFTER:
        return f"{state.failures_in_row} deliveries failed in a row ({state.last_error})"
    return None


class WebhooksOut:
    """The `Service` that sends every `[[webhook]]`'s events (`runner_services`)."""

    name = "webhooks out"

    def __init__(
        self,
        store: StoreProtocol,
        webhooks: list[WebhookConfig],
        *,
        policy: DeliveryPolicy | None = None,
        parallel: int = PARALLEL,
    ) -> None:
        self.store = store
        self.webhooks = webhooks
        self.policy = policy or DeliveryPolicy()
        self.parallel = parallel

    async def prepare(self) -> None:
        """Tell the store which webhooks to queue events for (before the channels start)."""
        await self.store.set_webhooks([(w.url, w.events) for w in self.webhooks])

    async def run(self) -> None:
        """Tell the store which webhooks to queue events for, then send each one's."""
        ids = await self.store.set_webhooks([(w.url, w.events) for w in self.webhooks])
        secrets: dict[str, str] = {}
        for webhook in self.webhooks:
            try:
                # Read once, here; a command may take a while: off the event loop.
                secrets[webhook.url] = await asyncio.to_thread(webhook.secret().reveal)
            except SecretError as exc:
                # Its events wait in the store, sent once the secret is there.
                log.error("webhook %s does not run: %s", shown_url(webhook.url), exc)
                await self.store.set_channel_problem(
                    account(webhook.url), f"not sending: {exc.message()}"
                )
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            senders = [
                WebhookSender(
                    self.store,
                    webhook,
                    ids[webhook.url],
                    session,
                    secrets[webhook.url],
                    policy=self.policy,
                    parallel=self.parallel,
                )
                for webhook in self.webhooks
                if webhook.url in secrets
            ]
            await asyncio.gather(self._prune(), *(sender.run() for sender in senders))

    async def _prune(self) -> None:
        """Now and then, forget what was delivered long ago (the queue stays small)."""
        while True:
            try:
                await self.store.prune_webhook_deliveries(KEEP_DELIVERED)
            except StoreError as exc:
                log.warning("webhooks: pruning delivered events: %s", exc)
            await asyncio.sleep(PRUNE_EVERY)
