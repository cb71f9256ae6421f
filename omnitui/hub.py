"""The hub runs the adapters: inbound into the store, the outbox out to them.

Each adapter runs as its own task; one failing (or crashing) is logged and
restarted with backoff and never stops the others. The outbox is drained per
channel account: a reply is claimed (`queued` -> `sending`) in one
transaction before the adapter is called, so it can never be sent twice; a
retryable error puts it back in the queue with exponential backoff, anything
else marks it failed with the reason. The hub alone says what happens next: a
retry is announced ("retrying: ...") by the store, and a reply given up after
its last attempt says so ("not sent after N attempts: ...").

A store that is busy for a while (another process holding its write lock)
stops nothing for good: the outbox tries again, and the outcome of a send is
recorded as soon as the store takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.adapters.base import (
    Adapter,
    Preparing,
    ReadMirror,
    Reporting,
    SendError,
    Sent,
    Service,
    SinkBusy,
)
from omnitui.domain.changes import ChangeKind
from omnitui.domain.health import CONNECTED, STOPPED, ChannelState, ChannelTrouble, Health
from omnitui.domain.models import IDENTITY_FOR_CHANNEL, Channel, DeliveryUpdate, Inbound, Outbound
from omnitui.domain.pace import Pace
from omnitui.domain.retry import RetryPolicy
from omnitui.store import StoreBusy, StoreError
from omnitui.store.files import PRIVATE, Access, create_file

if TYPE_CHECKING:
    from omnitui.adapters.public import PublicListener
    from omnitui.automation import Automation
    from omnitui.store.postgres.lock import PgChannelLock
    from omnitui.store.protocol import StoreProtocol

__all__ = ["ChannelLock", "Hub", "Pace", "RetryPolicy"]

log = logging.getLogger("omnitui.hub")

OUTBOX_PAUSE = 1.0  # seconds before the outbox tries a busy store again
# The longest the outbox and the broadcasts wait without a change in the store
# or a message falling due: a look, in case the store's clock and this one differ.
IDLE_LOOK = 30.0
# On stop, sends already handed to a provider get this long to have their outcome
# recorded, so a message that went out is not left "sending" (then "unknown").
STOP_GRACE = 5.0


class ChannelLock:
    """Exactly one OmniTUI process runs a store's channels.

    Two pollers would fight over one Telegram bot and fetch every mail twice,
    so the process that runs the adapters holds an exclusive `flock` on a file
    beside the store. The kernel drops it when that process ends, even by
    kill -9, so another console or `omnitui serve` can take over.
    """

    def __init__(self, store_path: Path, access: Access = PRIVATE) -> None:
        self.path = Path(f"{store_path}.channels.lock")
        self._access = access
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if no other process has it."""
        if self._fd is not None:
            return True
        create_file(self.path, self._access)
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """The pid the holder wrote, for messages."""
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def channel_lock(store: StoreProtocol) -> ChannelLock | PgChannelLock:
    """The lock that lets one process run `store`'s channels: a file lock beside
    an SQLite store, an advisory lock in a PostgreSQL one (across machines)."""
    from omnitui.store.postgres.base import PostgresBase
    from omnitui.store.sqlite.base import SqliteBase

    if isinstance(store, PostgresBase):
        return store.channel_lock()
    assert isinstance(store, SqliteBase)
    return ChannelLock(store.path, store.access)


class _AdapterSink:
    """What one adapter sees of the store."""

    def __init__(
        self,
        store: StoreProtocol,
        channel: Channel,
        region: str | None,
        connected: Callable[[], object] = lambda: None,
        stored: Callable[[], object] = lambda: None,
    ) -> None:
        self._store = store
        self._channel = channel
        self._region = region
        self._connected = connected  # the adapter got through to its provider
        self._stored = stored  # messages were stored (the rules may have work)

    async def deliver(
        self, items: Sequence[Inbound], cursor: Mapping[str, str] | None = None
    ) -> None:
        cursors = {(self._channel.account, k): v for k, v in (cursor or {}).items()}
        await self._store.ingest(items, cursors=cursors, region=self._region)
        self._connected()
        if items:
            self._stored()

    async def deliver_within(self, items: Sequence[Inbound], seconds: float) -> None:
        try:
            await self._store.ingest(items, region=self._region, within=seconds)
        except StoreBusy as exc:
            raise SinkBusy("{reason}", reason=exc) from None
        self._connected()
        if items:
            self._stored()

    async def delivery_update(self, update: DeliveryUpdate) -> None:
        await self._store.apply_delivery(update)

    async def delivery_update_within(self, update: DeliveryUpdate, seconds: float) -> None:
        try:
            await self._store.apply_delivery(update, within=seconds)
        except StoreBusy as exc:
            raise SinkBusy("{reason}", reason=exc) from None

    async def known(self, provider_ids: Sequence[str]) -> set[str]:
        return await self._store.known_provider_ids(self._channel.account, provider_ids)

    async def load_cursor(self, key: str) -> str | None:
        # Adapters read their cursor once connected (after login, after getMe).
        self._connected()
        return await self._store.load_cursor(self._channel.account, key)


class Hub:
    """Runs adapters against one store. `await hub.start()`, `await hub.stop()`."""

    def __init__(
        self,
        store: StoreProtocol,
        adapters: Sequence[Adapter],
        *,
        retry: RetryPolicy | None = None,
        poll_outbox: float = 0.25,
        region: str | None = None,
        automation: Automation | None = None,
        pace: Pace | None = None,
        public: PublicListener | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        self.store = store
        self.services = list(services)  # webhooks out, the local API: run beside the channels
        self.public = public  # unsubscribe links and broadcast images, when the shop serves them
        self.pace = pace or Pace()  # how fast a broadcast goes out, per provider
        self.automation = automation  # the rules, run here: once per event
        self.adapters = {a.channel.account: a for a in adapters}
        self.retry = retry or RetryPolicy()
        self._poll = poll_outbox
        self._region = region
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Task[float | None]] = set()
        self._stopping = False
        self._wake = asyncio.Event()
        self.errors: dict[str, str] = {}  # account -> the last error, for status lines
        # account -> why its adapter stopped; it stands through the backoff and
        # the restart until the adapter gets as far as its cursor again (it
        # connected), so a channel that fails again at once does not flicker.
        self._failing: dict[str, Health] = {}
        self.report_every = 1.0

    async def start(self) -> None:
        self._stopping = False
        await self.store.recover_interrupted(list(self.adapters))
        for service in self.services:
            if isinstance(service, Preparing):
                try:
                    await service.prepare()
                except StoreError as exc:  # it tries again when it runs
                    log.warning("%s: %s", service.name, exc)
        for account, adapter in self.adapters.items():
            self._tasks.append(
                asyncio.create_task(self._run_adapter(adapter), name=f"in:{account}")
            )
        self._tasks.append(asyncio.create_task(self._drain_outbox(), name="outbox"))
        for account, adapter in self.adapters.items():
            self._tasks.append(
                asyncio.create_task(
                    self._drain_broadcasts(account, adapter.channel), name=f"broadcast:{account}"
                )
            )
        if self.automation is not None:
            self._tasks.append(asyncio.create_task(self.automation.run(), name="automation"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
        if self.public is not None:
            self._tasks.append(asyncio.create_task(self._serve_public(self.public), name="public"))
        self._tasks.append(asyncio.create_task(self._report_health(), name="health"))
        for service in self.services:
            self._tasks.append(
                asyncio.create_task(self._run_service(service), name=f"service:{service.name}")
            )
        readers = {a: ad for a, ad in self.adapters.items() if isinstance(ad, ReadMirror)}
        if readers:
            self._tasks.append(asyncio.create_task(self._pass_reads(readers), name="reads"))

    async def stop(self) -> None:
        self._stopping = True  # nothing more is claimed; what is on its way may finish
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE)
        for task in [*self._tasks, *self._in_flight]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._in_flight.clear()
        for account, adapter in self.adapters.items():
            with contextlib.suppress(Exception):
                await adapter.close()
            with contextlib.suppress(Exception):  # the next process to run it says anew
                await self.store.set_channel_problem(account, None)

    def _stored(self) -> None:
        if self.automation is not None:
            self.automation.wake()

    def outbox_changed(self) -> None:
        """Wake the outbox now instead of at the next poll."""
        self._wake.set()

    async def _run_adapter(self, adapter: Adapter) -> None:
        account = adapter.channel.account
        sink = _AdapterSink(
            self.store,
            adapter.channel,
            self._region,
            connected=lambda: self._failing.pop(account, None),
            stored=self._stored,
        )
        failures = 0
        while True:
            try:
                await adapter.run(sink)
                failures = 0
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.errors[account] = f"{type(exc).__name__}: {exc}"
                delay = self.retry.delay(failures)
                self._failing[account] = Health(
                    ChannelState.FAILED,
                    ChannelTrouble("{reason}", reason=exc if str(exc) else type(exc).__name__),
                )
                log.warning("%s stopped (%s); restarting in %.0f s", account, exc, delay)
                await asyncio.sleep(delay)

    async def _drain_outbox(self) -> None:
        """Send the agents' replies as they fall due. Between them the outbox
        waits for a change in the store (a reply queued on any machine), this
        process's word (`outbox_changed`) or the next reply's time, never
        looking at the store by the clock (on SQLite, the store looks for
        other processes' changes every `poll_outbox` seconds)."""
        accounts = list(self.adapters)
        while not self._stopping:
            self._wake.clear()
            try:
                seen = await self.store.last_change_id()
                jobs = await self.store.claim_due(accounts)
                due = None if jobs else await self.store.next_due_at(accounts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a busy store: the replies wait in the queue
                log.warning("the outbox could not be read (%s); trying again", exc)
                await asyncio.sleep(OUTBOX_PAUSE)
                continue
            if jobs:
                await asyncio.gather(*(self._sending(job) for job in jobs))
                continue
            await self._until_change(seen, self._due_in(due), self._wake, spacing=self._poll)

    def _due_in(self, due: float | None) -> float:
        """Seconds until `due` (a store time), at most `IDLE_LOOK`."""
        if due is None:
            return IDLE_LOOK
        return min(IDLE_LOOK, max(0.01, due - self.store_clock()))

    async def _until_change(
        self, seen: int, seconds: float, wake: asyncio.Event | None = None, *, spacing: float
    ) -> None:
        """Wait until the store logs a change after `seen` (any process, any
        machine), `wake` is set, or `seconds` pass. Woken by a change, it
        returns no sooner than `spacing` seconds after it began: a burst of
        arrivals is looked at a few times a second, not once per message."""
        began = asyncio.get_running_loop().time()
        waits: list[asyncio.Task[object]] = [
            asyncio.create_task(self.store.wait_for_change(seen, poll=self._poll))
        ]
        if wake is not None:
            waits.append(asyncio.create_task(wake.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            # Their outcomes (a store that failed is said by the next read) are
            # dropped; a cancel of this task while they wind down is not.
            await asyncio.gather(*waits, return_exceptions=True)
        if wake is None or not wake.is_set():  # this process's word is taken at once
            left = began + min(spacing, seconds) - asyncio.get_running_loop().time()
            if left > 0:
                await asyncio.sleep(left)

    async def _drain_broadcasts(self, account: str, channel: Channel) -> None:
        """Send `account`'s broadcast messages one at a time at the provider's pace.

        Agents' replies never wait behind a broadcast (they have their own
        drain). A provider's "wait" (429 with retry_after) holds the whole
        account for that long, not only the one message.
        """
        while not self._stopping:
            try:
                seen = await self.store.last_change_id()
                jobs = await self.store.claim_broadcast(account, limit=1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("broadcasts for %s could not be read (%s); trying again", account, exc)
                await asyncio.sleep(OUTBOX_PAUSE)
                continue
            if not jobs:
                due = await self._next_broadcast_due(account)
                wait = IDLE_LOOK if due is None else max(0.01, due)
                await self._until_change(seen, wait, spacing=self._poll * 4)
                continue
            job = jobs[0]
            held = await self._sending(job)
            # The provider counts arrivals: the next request leaves a whole spacing
            # after this one was answered (so after it arrived), whatever the network's
            # jitter. Counting from when this one left let two texts reach Twilio
            # 992 ms apart at one a second.
            spacing = self.pace.seconds_for(channel.kind, job.text)
            await asyncio.sleep(max(spacing, held or 0.0))

    async def _next_broadcast_due(self, account: str) -> float | None:
        try:
            due = await self.store.next_broadcast_due([account])
        except Exception:
            return None
        return None if due is None else min(IDLE_LOOK, max(0.0, due - self.store_clock()))

    def _sending(self, job: Outbound) -> Awaitable[float | None]:
        """Send `job` in a task of its own, which stopping the hub lets finish
        (within `STOP_GRACE`) rather than cut between the provider and the store."""
        task = asyncio.create_task(self._send(job), name=f"send:{job.message_id}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return asyncio.shield(task)

    async def _send(self, job: Outbound) -> float | None:
        """Send one message and record how it went; returns how long the provider
        asked to wait before the next one (a rate limit), if it did."""
        adapter = self.adapters[job.channel.account]
        job = replace(job, on_progress=partial(self.store.note_progress, job.message_id))
        try:
            provider_id = await adapter.send(job)
        except SendError as exc:
            reason, retry_at = exc.reason, None
            if exc.retryable and job.attempt < self.retry.max_attempts:
                wait = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else self.retry.delay(job.attempt)
                )
                retry_at = self.store_clock() + wait
            elif exc.retryable:  # the last attempt: nothing more happens on its own
                reason = f"not sent after {job.attempt} attempts: {exc.reason}"
            if exc.opted_out:  # they blocked the bot: no broadcast tries them again

                async def opted_out() -> None:
                    kind = IDENTITY_FOR_CHANNEL[job.channel.kind]
                    await self.store.set_opted_out(kind, job.address, True, region=self._region)

                await self._record(job, opted_out)
            progress = exc.progress  # what of it went out: a retry sends the rest
            await self._record(
                job,
                lambda: self.store.mark_failed(
                    job.message_id, reason, retry_at=retry_at, progress=progress
                ),
            )
            return exc.retry_after
        except Exception as exc:  # an adapter bug: the provider may or may not have it
            log.exception("sending message %s on %s", job.message_id, job.channel.account)
            reason = f"unexpected error, not retried: {exc}"
            await self._record(
                job, lambda: self.store.mark_failed(job.message_id, reason, retry_at=None)
            )
            return None
        note = provider_id.note if isinstance(provider_id, Sent) else ""
        await self._record(
            job, lambda: self.store.mark_sent(job.message_id, str(provider_id), note=note)
        )
        return None

    async def _record(self, job: Outbound, write: Callable[[], Awaitable[None]]) -> None:
        """Write the outcome of a send, however long the store stays busy: a reply the
        provider took must not stay "sending" (and it is never sent again)."""
        pause = OUTBOX_PAUSE
        while True:
            try:
                await write()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "the outcome of message %s on %s could not be recorded (%s); trying again",
                    job.message_id,
                    job.channel.account,
                    exc,
                )
                await asyncio.sleep(pause)
                pause = min(30.0, pause * 2)

    def store_clock(self) -> float:
        return self.store.now()

    async def _pass_reads(self, readers: Mapping[str, ReadMirror]) -> None:
        """Tell adapters that can mirror it (IMAP \\Seen) what the agent has read,
        as the store says it changed (on SQLite, looking every second)."""
        last = await self.store.last_change_id()
        while True:
            try:
                await self.store.wait_for_change(last, poll=1.0)
                batch = await self.store.changes_since(last)
                last = batch.last_id
                if ChangeKind.READ not in batch.kinds:
                    continue
                refs = await self.store.read_refs(batch.contact_ids, list(readers))
                for account, items in refs.items():
                    await readers[account].messages_read(items)
            except asyncio.CancelledError:
                raise
            except StoreError as exc:  # the server is away: the next look finds it back
                log.warning("passing read state to the channels: %s", exc)
                await asyncio.sleep(OUTBOX_PAUSE)
            except Exception:
                log.exception("passing read state to the channels")
                await asyncio.sleep(OUTBOX_PAUSE)

    def health(self, account: str) -> Health:
        """How a channel is doing now: stopped, failed (and waiting to restart), or
        what its adapter says."""
        if not self._tasks:
            return STOPPED  # not started, or stopped: nobody runs the channel here
        failing = self._failing.get(account)
        if failing is not None:
            return failing
        adapter = self.adapters[account]
        return adapter.health if isinstance(adapter, Reporting) else CONNECTED

    def problem(self, account: str) -> str | None:
        """What stops a channel now, in words, or None while it works."""
        return self.health(account).problem()

    async def _report_health(self) -> None:
        """Keep the store's word on each channel current, for every console to show."""
        said: dict[str, str | None] = {}
        while True:
            for account in self.adapters:
                problem = self.health(account).problem()
                if account not in said or said[account] != problem:
                    try:
                        await self.store.set_channel_problem(account, problem)
                    except StoreError as exc:  # the store is away: said again when it is back
                        log.warning("reporting %s's state: %s", account, exc)
                        continue
                    except Exception:
                        log.exception("reporting %s's state", account)
                        continue
                    said[account] = problem
            await asyncio.sleep(self.report_every)

    async def _serve_public(self, public: PublicListener) -> None:
        """Listen for unsubscribe links and image fetches while the channels run.
        A port another program holds is tried again, with backoff: the
        channels run on meanwhile."""
        failures = 0
        try:
            while True:
                try:
                    await public.start()
                except OSError as exc:
                    failures += 1
                    delay = self.retry.delay(failures)
                    log.error(
                        "the public listener cannot listen on %s (%s); trying again in %.0f s",
                        public.listen,
                        exc.strerror or exc,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                await asyncio.Event().wait()
        finally:
            await public.close()

    async def _run_service(self, service: Service) -> None:
        """Keep `service` going: one that raises is started again, with backoff."""
        failures = 0
        while True:
            try:
                await service.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                delay = self.retry.delay(failures)
                log.exception("%s stopped; starting it again in %.0f s", service.name, delay)
                await asyncio.sleep(delay)

    async def _housekeeping(self) -> None:
        while True:
            try:
                await self.store.wake_snoozed()
                await self.store.prune_changes()
            except StoreError as exc:
                log.warning("housekeeping: %s", exc)
            except Exception:
                log.exception("housekeeping")
            await asyncio.sleep(30)
