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
    if settings.api is not None:
        from omnitui.adapters.api import local_api

        api = local_api(settings, store)
        if api is not None:
            services.append(api)
    return services
