"""What the channel runner keeps going beside the channels, from the config.

`omnitui serve`, a console that runs the channels and a broadcast run from the
command line all build their services here, so each runs the same ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnitui.adapters.base import Service
    from omnitui.config import Settings
    from omnitui.domain.models import Channel
    from omnitui.store.protocol import StoreProtocol


def configured_channels(settings: Settings) -> list[Channel]:
    """The configured channels; a `[[plugin]]` one only when its plugin can be used."""
    from omnitui.domain.models import Channel, ChannelKind

    channels = [
        *(Channel(ChannelKind.EMAIL, s.name) for s in settings.email),
        *(Channel(ChannelKind.TELEGRAM, s.name) for s in settings.telegram),
        *(Channel(ChannelKind.SMS, s.name) for s in settings.sms),
        *(Channel(ChannelKind.LINE, s.name) for s in settings.line),
    ]
    if settings.plugin:
        from omnitui.adapters.plugins import plugin_channel

        channels += [c for s in settings.plugin if (c := plugin_channel(s)) is not None]
    return channels


def runner_services(settings: Settings, store: StoreProtocol) -> list[Service]:
    """The services `settings` asks for (without `[[webhook]]` or `[api]`, only
    the one that says so to the store, and ends)."""
    services: list[Service] = []
    if settings.webhook:
        # At start it writes the webhooks into the store, so every process
        # writing to the store queues the events they want; then it sends them.
        from omnitui.adapters.webhooks_out import WebhooksOut

        services.append(WebhooksOut(store, settings.webhook))
    else:
        services.append(NoWebhooks(store))
    if settings.api is not None:
        from omnitui.adapters.api import local_api

        api = local_api(settings, store)
        if api is not None:
            services.append(api)
    return services


class NoWebhooks:
    """A channel runner without `[[webhook]]`: events stop being queued for the
    webhooks an earlier runner's config had (nobody would send them)."""

    name = "no webhooks"

    def __init__(self, store: StoreProtocol) -> None:
        self.store = store

    async def prepare(self) -> None:
        await self.run()

    async def run(self) -> None:
        if any(state.active for state in await self.store.webhook_states()):
            await self.store.set_webhooks([])
