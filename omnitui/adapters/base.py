"""The protocol every channel adapter implements, and what the hub gives it.

An adapter knows one provider. It turns the provider's payloads into
`Inbound` records and hands them to its `Sink` together with its cursor, so
the store commits both in one transaction; only then does the adapter confirm
to the provider. It sends an `Outbound`, returning the provider's id, or
raises `SendError` saying whether a retry is safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from omnitui.domain.health import Health
from omnitui.domain.models import Channel, DeliveryUpdate, Inbound, Outbound
from omnitui.errors import OmniError


class SendError(OmniError):
    """A send that did not go through.

    `retryable` is True only when the provider surely did not accept the
    message (so sending again cannot make a duplicate). `reason` is the
    English words a failed reply keeps in the store. `opted_out` says the
    provider refused because the customer shut the channel to the shop (a
    Telegram user who blocked the bot): the hub records it on their address,
    as an SMS STOP or a LINE unfollow is, until they write again. `progress`
    is what of the message already went out (kept in its meta), so that a
    retry sends only the rest.
    """

    def __init__(
        self,
        template: str,
        /,
        *,
        retryable: bool,
        retry_after: float | None = None,
        opted_out: bool = False,
        progress: Mapping[str, object] | None = None,
        **values: object,
    ) -> None:
        super().__init__(template, **values)
        self.reason = str(self)
        self.retryable = retryable
        self.retry_after = retry_after
        self.opted_out = opted_out
        self.progress = progress


class Sent(str):
    """A provider id for a message that went out with something to say about it
    (a Cc the mail server would not take); the note is shown on the message."""

    note: str

    def __new__(cls, provider_id: str, *, note: str) -> Sent:
        sent = super().__new__(cls, provider_id)
        sent.note = note
        return sent


class SinkBusy(OmniError):
    """The store could not take something within the time the adapter allowed.

    Nothing was stored; the adapter answers its provider with an error (and
    catches up later, if the provider does not send it again).
    """


class Sink(Protocol):
    """Where an adapter puts what it receives (the hub implements it)."""

    async def deliver(
        self, items: Sequence[Inbound], cursor: Mapping[str, str] | None = None
    ) -> None:
        """Store `items` and the adapter's cursor keys in one transaction."""

    async def delivery_update(self, update: DeliveryUpdate) -> None:
        """Record a provider's delivery receipt for a message we sent."""

    async def load_cursor(self, key: str) -> str | None:
        """The adapter's stored cursor value for `key`."""


class Adapter(Protocol):
    """One channel account's connection to its provider."""

    @property
    def channel(self) -> Channel: ...

    async def run(self, sink: Sink) -> None:
        """Receive until cancelled. Raising ends this run; the hub restarts it with backoff."""

    async def send(self, message: Outbound) -> str:
        """Send `message`; return the provider's message id or raise `SendError`."""

    async def close(self) -> None:
        """Release connections."""


@runtime_checkable
class PromptSink(Protocol):
    """A sink that can be told how long it may take (for a webhook that owes an answer)."""

    async def deliver_within(self, items: Sequence[Inbound], seconds: float) -> None:
        """Store `items` within `seconds`, or raise `SinkBusy` having stored nothing.

        One slow request never holds up another: each waits on its own.
        """

    async def delivery_update_within(self, update: DeliveryUpdate, seconds: float) -> None:
        """Record a delivery receipt within `seconds`, or raise `SinkBusy`."""


@runtime_checkable
class KnownMessages(Protocol):
    """A sink that can say which provider ids are already stored."""

    async def known(self, provider_ids: Sequence[str]) -> set[str]:
        """The ones of `provider_ids` already stored for this channel account."""


@runtime_checkable
class ReadMirror(Protocol):
    """An adapter that can tell its provider what the agent has read (IMAP \\Seen)."""

    async def messages_read(self, refs: Sequence[Mapping[str, object]]) -> None:
        """`refs` are the provider references the adapter put in `Inbound.meta`."""


@runtime_checkable
class Reporting(Protocol):
    """An adapter that reconnects by itself and can say, meanwhile, how it is doing."""

    @property
    def health(self) -> Health:
        """Its state now, with why when it is in trouble."""


@runtime_checkable
class Service(Protocol):
    """Something else the channel runner keeps going beside the channels (webhooks
    out, the local API). The hub starts it with the channels, restarts it with
    backoff when it raises, and cancels it when the channels stop."""

    @property
    def name(self) -> str:
        """Its name in logs."""

    async def run(self) -> None:
        """Work until cancelled."""


@runtime_checkable
class Preparing(Protocol):
    """A service with something to do before the channels start (the hub awaits
    it first: the webhooks are in the store before any message can arrive)."""

    async def prepare(self) -> None: ...
