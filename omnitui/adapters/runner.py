"""What the channel runner keeps going beside the channels, from the config.

`omnitui serve`, a console that runs the channels and a broadcast run from the
command line all build their services here, so each runs the same ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnitui.adapters.base import Service
    from omnitui.config import Settings
    from omnitui.store.protocol import StoreProtocol


def runner_services(settings: Settings, store: StoreProtocol) -> list[Service]:
    """The services `settings` asks for (none without `[[webhook]]` or `[api]`)."""
    services: list[Service] = []
    if settings.webhook:
        # At start it writes the webhooks into the store, so every process
        # writing to the store queues the events they want; then it sends them.
        from omnitui.adapters.webhooks_out import WebhooksOut

        services.append(WebhooksOut(store, settings.webhook))
    return services
