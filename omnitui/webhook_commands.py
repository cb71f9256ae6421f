"""`omnitui webhooks` (each webhook's queue and last error), `omnitui webhooks replay`
(failed events sent again, with their same ids), and `omnitui doctor`'s webhook lines."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from omnitui.cli import EXIT_OK

if TYPE_CHECKING:
    from omnitui.config import Settings, WebhookConfig
    from omnitui.store.records import WebhookState


async def cmd_webhooks(
    settings: Settings, action: str, url: str | None = None, event_id: str | None = None
) -> int:
    store = await settings.open_store()
    try:
        if action == "replay":
            count = await store.replay_webhooks(url=url, event_id=event_id)
            print(
                f"{count} failed events back in the queue: the channel runner "
                "(omnitui serve, or a console running the channels) sends them again "
                "with their same ids"
            )
            return EXIT_OK
        states = await store.webhook_states()
    finally:
        await store.close()
    configured = {w.url for w in settings.webhook}
    if not states and not configured:
        print("No webhooks: add a [[webhook]] to the config (see README, Webhooks).")
        return EXIT_OK
    known = {s.url for s in states}
    for state in states:
        print(_listing(state))
    for webhook in settings.webhook:
        if webhook.url not in known:
            print(f"{webhook.url}\n    not started yet: the channel runner writes it at start")
    return EXIT_OK


def _listing(state: WebhookState) -> str:
    head = state.url if state.active else f"{state.url} (no longer in the config)"
    lines = [
        head,
        f"    events     {', '.join(state.events)}",
        f"    waiting {state.pending}, failed {state.failed}, delivered {state.delivered}",
    ]
    if state.last_error:
        when = (
            ""
            if state.last_error_at is None
            else datetime.fromtimestamp(state.last_error_at).strftime("%Y-%m-%d %H:%M:%S ")
        )
        lines.append(f"    last error {when}{state.last_error}")
    if state.failed:
        lines.append(f"    omnitui webhooks replay --url {state.url}   sends the failed ones again")
    return "\n".join(lines)


def doctor_webhooks(settings: Settings) -> bool:
    """One line per `[[webhook]]`: its secret, and its queue when the store has one."""
    from omnitui.adapters.webhooks_out import FAILING_AFTER

    states: dict[str, WebhookState] = {}
    if settings.store_exists():
        states = {s.url: s for s in asyncio.run(_states(settings))}
    healthy = True
    for webhook in settings.webhook:
        good, line = _secret_line(webhook)
        state = states.get(webhook.url)
        if state is not None:
            line += f"; waiting {state.pending}, failed {state.failed}"
            if state.failed or state.failures_in_row >= FAILING_AFTER:
                good = False
            if state.last_error:
                line += f"; last error: {state.last_error}"
        healthy = healthy and good
        print(f"{'ok' if good else 'FAIL':<5} {'webhook':<8} {webhook.url} ({line})")
    return healthy


def _secret_line(webhook: WebhookConfig) -> tuple[bool, str]:
    from omnitui.config import SecretError

    secret = webhook.secret()
    source = f"env {secret.env}" if secret.env else f"command {secret.cmd!r}"
    try:
        secret.reveal()
    except SecretError as exc:
        return False, exc.message()
    return True, f"secret from {source}"


async def _states(settings: Settings) -> list[WebhookState]:
    store = await settings.open_store()
    try:
        return await store.webhook_states()
    finally:
        await store.close()
