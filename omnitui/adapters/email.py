"""Email: IMAP in (imapclient, in worker threads), SMTP out (aiosmtplib).

Each configured folder has its own IMAP connection and thread: a first sync
reaching back `backfill_days`, then IDLE (or polling where the server has no
IDLE), reconnecting with backoff after a dropped connection. Messages are
fetched with BODY.PEEK, so reading in OmniTUI never sets \\Seen on the server.

Exactly once: the cursor (folder, UIDVALIDITY, last UID) is stored in the same
transaction as the messages it covers, and the provider id of a message is
built from its Message-ID, date and body hash, so a UIDVALIDITY change (a
folder recreated or restored) resyncs without duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from omnitui.adapters.base import SendError, Sent, Sink
from omnitui.adapters.email_messages import build_reply, parse_fetched, recipients
from omnitui.adapters.email_messages import to_inbound as to_inbound
from omnitui.adapters.reconnect import keep_trying, steady
from omnitui.adapters.workers import WorkerError, WorkerPool
from omnitui.config import EmailConfig
from omnitui.domain.health import (
    CONNECTED,
    CONNECTING,
    ChannelState,
    ChannelTrouble,
    Health,
    first_trouble,
)
from omnitui.domain.models import Channel, ChannelKind, Inbound, Outbound
from omnitui.errors import OmniError

if TYPE_CHECKING:
    import aiosmtplib


log = logging.getLogger("omnitui.email")

FETCH_BATCH = 500
PARALLEL_FROM = 200  # a backfill this big is parsed in worker processes; an arrival is not
PARSE_WORKERS = 2  # per account, shared by its folders; measured best on 2 cores (bench/imap.py)
IDLE_CHECK = 1.0  # seconds a thread blocks before checking for shutdown
# RFC 2177 asks for a new IDLE within 29 minutes; renewing more often also
# notices a connection that died without a word (a NOOP must answer).
IDLE_RENEW = 5 * 60
POLL_SECONDS = 30.0
RECONNECT = steady(1.0, 60.0)  # a dropped folder connects again after 1, 2, 4 ... 60 s


class MailLoginError(OmniError):
    """The server refused our credentials: retrying will not help until they change."""


@dataclass(frozen=True, slots=True)
class FolderCursor:
    uidvalidity: int
    last_uid: int
    # The last UID of the first sync: mail up to it is history, also when the
    # first sync is finished by a later run (after a crash part-way).
    history_until: int = 0

    def dump(self) -> str:
        return json.dumps(
            {
                "uidvalidity": self.uidvalidity,
                "last_uid": self.last_uid,
                "history_until": self.history_until,
            }
        )

    @classmethod
    def load(cls, text: str | None) -> FolderCursor | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                int(data["uidvalidity"]),
                int(data["last_uid"]),
                int(data.get("history_until", 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None


class _Folder:
    """One folder's connection, driven from its own thread."""

    def __init__(self, adapter: EmailAdapter, folder: str) -> None:
        self.adapter = adapter
        self.folder = folder
        self.key = f"imap:{folder}"
        self.client: Any = None

    def connect(self, readonly: bool = True) -> dict[bytes, Any]:
        from imapclient import IMAPClient
        from imapclient.exceptions import LoginError

        cfg = self.adapter.config
        use_ssl = cfg.imap_tls == "ssl"
        context = ssl.create_default_context() if cfg.imap_tls != "none" else None
        client = IMAPClient(
            cfg.imap_host, port=cfg.imap_port, ssl=use_ssl, ssl_context=context, timeout=30
        )
        try:
            if cfg.imap_tls == "starttls":
                client.starttls(context)
            try:
                client.login(cfg.username, self.adapter.password())
            except LoginError as exc:
                raise MailLoginError(
                    "IMAP login refused for {user}: {reason}", user=cfg.username, reason=_text(exc)
                ) from None
            info = client.select_folder(self.folder, readonly=readonly)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        self.client = client
        return dict(info)

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()

    def uids_to_fetch(
        self, info: dict[bytes, Any], cursor: FolderCursor | None
    ) -> tuple[int, list[int]]:
        uidvalidity = int(info[b"UIDVALIDITY"])
        if cursor is not None and cursor.uidvalidity == uidvalidity:
            uids = self.client.search(["UID", f"{cursor.last_uid + 1}:*"])
            return uidvalidity, sorted(u for u in uids if u > cursor.last_uid)
        if cursor is not None:
            log.warning(
                "%s %s: UIDVALIDITY changed (%s -> %s): resyncing, duplicates are skipped",
                self.adapter.channel.account,
                self.folder,
                cursor.uidvalidity,
                uidvalidity,
            )
        since = date.today() - timedelta(days=self.adapter.config.backfill_days)
        return uidvalidity, sorted(self.client.search(["SINCE", since]))

    def fetch(self, uids: Sequence[int]) -> list[tuple[int, bytes, float | None]]:
        data = self.client.fetch(list(uids), ["BODY.PEEK[]", "INTERNALDATE"])
        out = []
        for uid in sorted(data):
            item = data[uid]
            raw = item.get(b"BODY[]")
            if raw is None:
                continue
            internal = item.get(b"INTERNALDATE")
            out.append((uid, bytes(raw), internal.timestamp() if internal is not None else None))
        return out

    def announced_while_busy(self) -> bool:
        """Did the server announce new mail (EXISTS) in the answer to some command?

        imaplib keeps such unsolicited responses in `untagged_responses`;
        taking them here means none is lost between a search and IDLE.
        """
        untagged: dict[str, list[bytes]] = self.client._imap.untagged_responses
        return bool(untagged.pop("EXISTS", None))

    def wait_for_news(self, stop: threading.Event) -> bool:
        """Block in IDLE (or poll) until the folder may have new mail; False if stopping."""
        client = self.client
        if b"IDLE" not in client.capabilities():
            deadline = time.monotonic() + self.adapter.poll_seconds
            while time.monotonic() < deadline:
                if stop.wait(IDLE_CHECK):
                    return False
            client.noop()
            return True
        client.idle()
        started = time.monotonic()
        try:
            while not stop.is_set():
                responses = client.idle_check(timeout=IDLE_CHECK)
                if any(r and r[0] == b"BYE" for r in responses):
                    self.client = None
                    raise ConnectionError("the server closed the connection")
                if any(r[1] in (b"EXISTS", b"RECENT") for r in responses if len(r) > 1):
                    return True
                if time.monotonic() - started > IDLE_RENEW:
                    return True
            return False
        finally:
            if self.client is not None:
                with contextlib.suppress(Exception):
                    client.idle_done()


class EmailAdapter:
    """One `[[email]]` account: IMAP folders in, SMTP out."""

    def __init__(
        self,
        config: EmailConfig,
        *,
        password: Callable[[], str] | None = None,
        poll_seconds: float = POLL_SECONDS,
        public_url: str | None = None,
    ) -> None:
        self.config = config
        self.public_url = public_url  # one-click unsubscribe links in broadcasts, when served
        self.poll_seconds = poll_seconds
        self._channel = Channel(ChannelKind.EMAIL, config.name)
        self._password = password or config.password.reveal
        self._stop = threading.Event()
        self._folders: list[_Folder] = []
        self.status: dict[str, str] = {}
        self._health: dict[str, Health] = {}  # folder -> how its connection is doing
        self._parsers: WorkerPool | None = None
        self._backfills = 0  # folders in a backfill that parse in `_parsers`

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def health(self) -> Health:
        """Reconnecting while any folder is, else connected once every folder is."""
        return first_trouble(self._health.get(name, CONNECTING) for name in self.config.folders)

    def password(self) -> str:
        return self._password()

    async def run(self, sink: Sink) -> None:
        self._stop.clear()
        await asyncio.gather(*(self._run_folder(sink, f) for f in self.config.folders))

    async def _run_folder(self, sink: Sink, name: str) -> None:
        folder = _Folder(self, name)
        self._folders.append(folder)

        async def connected_until_stopped() -> bool:
            if not self._stop.is_set():
                await self._sync_and_idle(sink, folder)
            return True

        def passing(exc: Exception) -> str | None:
            if isinstance(exc, MailLoginError):
                return None
            if not isinstance(exc, TimeoutError | OSError | ssl.SSLError) and not type(
                exc
            ).__module__.startswith(("imaplib", "imapclient")):
                return None
            folder.close()
            return _text(exc)

        def retrying(reason: str, delay: float) -> None:
            self.status[name] = f"disconnected ({reason}); retrying in {delay:.0f} s"
            self._health[name] = Health(
                ChannelState.RETRYING,
                ChannelTrouble(
                    "{folder}: disconnected ({reason}); retrying in {seconds:.0f} s",
                    folder=name,
                    reason=reason,
                    seconds=delay,
                ),
            )
            log.warning("%s %s: %s", self.channel.account, name, self.status[name])

        try:
            await keep_trying(
                connected_until_stopped, policy=RECONNECT, passing=passing, retrying=retrying
            )
        finally:
            folder.close()

    async def _sync_and_idle(self, sink: Sink, folder: _Folder) -> None:
        info = await asyncio.to_thread(folder.connect)
        self.status[folder.folder] = "connected"
        self._health[folder.folder] = CONNECTED
        while not self._stop.is_set():
            cursor = FolderCursor.load(await sink.load_cursor(folder.key))
            uidvalidity, uids = await asyncio.to_thread(folder.uids_to_fetch, info, cursor)
            # A first sync (or one after the folder was rebuilt) is history:
            # automation rules never answer the mail it brings in, nor the
            # rest of it when a later run finishes a first sync cut short.
            first = cursor is None or cursor.uidvalidity != uidvalidity
            if first:
                uidnext = int(info.get(b"UIDNEXT", 1))
                until = max(uids[-1] if uids else 0, uidnext - 1)
            else:
                assert cursor is not None
                until = cursor.history_until
            old = [u for u in uids if u <= until]
            await self._fetch_all(sink, folder, uidvalidity, old, until, history=True)
            new = [u for u in uids if u > until]
            await self._fetch_all(sink, folder, uidvalidity, new, until)
            if first:
                # Nothing was in reach of the backfill: start from the folder's end.
                start = FolderCursor(uidvalidity, until, until)
                await sink.deliver([], cursor={folder.key: start.dump()})
            busy: bool = await asyncio.to_thread(folder.announced_while_busy)
            if uids or busy:
                # Mail that came in while we searched or fetched was announced
                # (EXISTS) to that command, not to IDLE: look again first.
                continue
            self.status[folder.folder] = "up to date"
            if not await asyncio.to_thread(folder.wait_for_news, self._stop):
                return

    async def _fetch_all(
        self,
        sink: Sink,
        folder: _Folder,
        uidvalidity: int,
        uids: Sequence[int],
        history_until: int,
        *,
        history: bool = False,
    ) -> None:
        """Fetch, parse and store `uids` in batches, each batch with its cursor.

        A backfill is pipelined over both cores: the next batch is fetched
        while this one is parsed in worker processes and the one before is
        stored. Batches are stored in UID order, so the cursor stays exact.
        """
        batches = list(_chunks(uids, FETCH_BATCH))
        if not batches:
            return
        storing: asyncio.Task[None] | None = None
        with contextlib.ExitStack() as stack:
            pool = (
                stack.enter_context(self._backfill_parsers())
                if len(uids) >= PARALLEL_FROM
                else None
            )
            try:
                fetching = asyncio.ensure_future(asyncio.to_thread(folder.fetch, batches[0]))
                for k, batch in enumerate(batches):
                    fetched = await fetching
                    if k + 1 < len(batches):
                        fetching = asyncio.ensure_future(
                            asyncio.to_thread(folder.fetch, batches[k + 1])
                        )
                    if pool is not None:
                        try:
                            items = await self._parse_in(pool, folder.folder, uidvalidity, fetched)
                        except WorkerError as exc:
                            log.warning(
                                "%s %s: parsing here, not in worker processes: %s",
                                self.channel.account,
                                folder.folder,
                                exc,
                            )
                            pool = None
                    if pool is None:
                        items = await asyncio.to_thread(
                            parse_fetched, self.channel, folder.folder, uidvalidity, fetched
                        )
                    if history:
                        items = [dataclasses.replace(item, history=True) for item in items]
                    if storing is not None:
                        await storing
                    done = FolderCursor(uidvalidity, max(batch), history_until)
                    cursor = {folder.key: done.dump()}
                    storing = asyncio.create_task(sink.deliver(items, cursor=cursor))
                if storing is not None:
                    await storing
            finally:
                if storing is not None and not storing.done():
                    storing.cancel()

    async def _parse_in(
        self,
        pool: WorkerPool,
        folder: str,
        uidvalidity: int,
        fetched: list[tuple[int, bytes, float | None]],
    ) -> list[Inbound]:
        """Parse a batch in the worker processes, half each."""
        half = (len(fetched) + 1) // 2
        args = (self.channel, folder, uidvalidity)
        parts = await asyncio.gather(
            pool.run(parse_fetched, *args, fetched[:half]),
            pool.run(parse_fetched, *args, fetched[half:]),
        )
        return [*parts[0], *parts[1]]

    @contextlib.contextmanager
    def _backfill_parsers(self) -> Iterator[WorkerPool]:
        """The account's parse workers, for one folder's backfill.

        One pool per account, whatever the number of folders backfilling at
        once (the cores are the limit, not the folders). Its processes start
        with the first batch and stop when no folder backfills any more:
        about 40 MB each, not worth keeping for the odd arrival.
        """
        if self._parsers is None:
            self._parsers = WorkerPool(PARSE_WORKERS)
        pool = self._parsers
        self._backfills += 1
        try:
            yield pool
        finally:
            self._backfills -= 1
            if self._backfills == 0 and self._parsers is pool:
                self._parsers = None
                pool.close()

    async def messages_read(self, refs: Sequence[Mapping[str, object]]) -> None:
        """The agent read these messages in OmniTUI: flag them \\Seen on the server,
        if this account asks for that (`mark_seen = true`); otherwise do nothing."""
        if not self.config.mark_seen or not refs:
            return
        by_folder: dict[tuple[str, int], list[int]] = {}
        for ref in refs:
            folder, validity, uid = ref.get("folder"), ref.get("uidvalidity"), ref.get("uid")
            if isinstance(folder, str) and isinstance(validity, int) and isinstance(uid, int):
                by_folder.setdefault((folder, validity), []).append(uid)
        await asyncio.to_thread(self._flag_seen, by_folder)

    def _flag_seen(self, by_folder: dict[tuple[str, int], list[int]]) -> None:
        for (name, validity), uids in by_folder.items():
            folder = _Folder(self, name)
            try:
                info = folder.connect(readonly=False)
                if int(info[b"UIDVALIDITY"]) == validity:  # else the UIDs mean other mail
                    folder.client.add_flags(uids, [b"\\Seen"], silent=True)
            finally:
                folder.close()

    async def send(self, message: Outbound) -> str:
        import aiosmtplib

        cfg = self.config
        mail = build_reply(cfg.from_, message, public_url=self.public_url)
        try:
            password = self.password()
        except Exception as exc:
            raise SendError("{reason}", reason=exc, retryable=False) from None
        smtp = smtp_client(cfg, timeout=60)
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Nothing was handed over: safe to try again later.
            raise SendError(
                "cannot reach {server}: {reason}",
                server=f"{cfg.smtp_host}:{cfg.smtp_port}",
                reason=_text(exc),
                retryable=True,
            ) from None
        try:
            await smtp.ehlo()
            if smtp.supports_extension("auth"):
                try:
                    await smtp.login(cfg.username, password)
                except aiosmtplib.SMTPAuthenticationError as exc:
                    raise SendError(
                        "the mail server refused the login: {code} {reason}",
                        code=exc.code,
                        reason=exc.message,
                        retryable=False,
                    ) from None
            # The envelope: the customer, Cc and Bcc; Bcc is in no header.
            refused, _ = await smtp.send_message(
                mail, sender=parseaddr(cfg.from_)[1] or None, recipients=recipients(message)
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise SendError(
                "the mail server refused the address: {reasons}", reasons=reasons, retryable=False
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx: the server did not take it and asks to try later; 5xx: it never will.
            raise SendError(
                "the mail server said {code} {reason}",
                code=exc.code,
                reason=exc.message,
                retryable=400 <= exc.code < 500,
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The connection broke mid-conversation: the server may or may not have the mail.
            raise SendError(
                "connection lost while sending: {reason}", reason=_text(exc), retryable=False
            ) from None
        finally:
            with contextlib.suppress(Exception):
                await smtp.quit()
        if cfg.sent_folder:
            try:
                await asyncio.to_thread(self._copy_to_sent, mail.as_bytes())
            except Exception as exc:
                log.warning(
                    "%s: sent, but the copy to %s failed: %s", cfg.name, cfg.sent_folder, exc
                )
        if refused:
            # Gone to the others: a retry would send it to them twice. Said on the message.
            note = "; ".join(f"{a}: {r.code} {r.message}" for a, r in refused.items())
            return Sent(str(mail["Message-ID"]), note=f"not accepted for {note}")
        return str(mail["Message-ID"])

    def _copy_to_sent(self, raw: bytes) -> None:
        folder = _Folder(self, self.config.sent_folder or "Sent")
        folder.connect()
        try:
            folder.client.append(self.config.sent_folder, raw, flags=[b"\\Seen"])
        finally:
            folder.close()

    async def close(self) -> None:
        self._stop.set()
        for folder in self._folders:
            folder.close()
        if self._parsers is not None:
            self._parsers.close()
            self._parsers = None


def smtp_client(config: EmailConfig, *, timeout: float) -> aiosmtplib.SMTP:
    """An SMTP client for the account's server and TLS mode (not yet connected)."""
    import aiosmtplib

    return aiosmtplib.SMTP(
        hostname=config.smtp_host,
        port=config.smtp_port,
        use_tls=config.smtp_tls == "ssl",
        start_tls=config.smtp_tls == "starttls",
        timeout=timeout,
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text


async def check(config: EmailConfig) -> list[tuple[bool, str]]:
    """`omnitui doctor` for one account: can we log in to IMAP and to SMTP?"""
    results: list[tuple[bool, str]] = []
    try:
        password = config.password.reveal()
    except Exception as exc:
        return [(False, str(exc))]
    adapter = EmailAdapter(config, password=lambda: password)

    def imap() -> str:
        folder = _Folder(adapter, config.folders[0] if config.folders else "INBOX")
        try:
            info = folder.connect()
            return f"IMAP ok: {config.imap_host}:{config.imap_port}, {folder.folder} has {info.get(b'EXISTS', 0)} messages"
        finally:
            folder.close()

    try:
        results.append((True, await asyncio.to_thread(imap)))
    except Exception as exc:
        results.append(
            (False, "IMAP " + explain(exc, config.imap_host, config.imap_port, config.imap_tls))
        )

    smtp = smtp_client(config, timeout=15)
    try:
        await smtp.connect()
        await smtp.ehlo()
        if smtp.supports_extension("auth"):
            await smtp.login(config.username, password)
            results.append(
                (True, f"SMTP ok: {config.smtp_host}:{config.smtp_port}, login accepted")
            )
        else:
            results.append(
                (True, f"SMTP ok: {config.smtp_host}:{config.smtp_port} (no login offered)")
            )
    except Exception as exc:
        results.append(
            (False, "SMTP " + explain(exc, config.smtp_host, config.smtp_port, config.smtp_tls))
        )
    finally:
        with contextlib.suppress(Exception):
            await smtp.quit()
    return results


def explain(exc: BaseException, host: str, port: int, tls: str) -> str:
    """What went wrong connecting, in words a shop owner can act on."""
    import aiosmtplib

    if isinstance(exc, (MailLoginError, aiosmtplib.SMTPAuthenticationError)):
        return f"wrong username or password ({_text(exc)})"
    if isinstance(exc, socket.gaierror):
        return f"unknown host {host!r}"
    if isinstance(exc, ConnectionRefusedError) or "refused" in _text(exc).lower():
        return f"unreachable: {host}:{port} refused the connection"
    if isinstance(exc, ssl.SSLError) or "ssl" in _text(exc).lower() or "tls" in _text(exc).lower():
        return f"TLS mismatch on {host}:{port} with tls = {tls!r}: {_text(exc)}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"unreachable: {host}:{port} did not answer"
    return f"failed: {_text(exc)}"
