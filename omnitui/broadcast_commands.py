"""`omnitui broadcast CANNED --tag TAG`: one canned reply to a segment of customers.

The audience is every customer with all the given tags (`--channel` and
`--language` narrow it). Each gets the canned reply personalised, in their
language, on the channel they last wrote on that can still reach them;
whoever cannot be reached, opted out, or gave no consent to marketing email
is skipped, and the command says how many and why.

Every recipient's message is written to the store, in one transaction, before
anything is sent. Then the process that runs the channels sends them at each
provider's pace: `omnitui serve` or an open console if one runs, else this
command itself until the broadcast is done. A crash anywhere resumes from the
store, sending nobody the message twice. Ctrl+C cancels what has not gone yet.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from omnitui.domain.broadcast import BroadcastPlan, plan_broadcast
from omnitui.domain.broadcast_image import BroadcastImage, ImageProblem, ImageSetup, check_size
from omnitui.domain.broadcast_quota import over_line_quota
from omnitui.domain.models import CannedReply, Channel, ChannelKind
from omnitui.errors import OmniError
from omnitui.i18n import tr

if TYPE_CHECKING:
    from omnitui.config import Settings
    from omnitui.hub import Hub
    from omnitui.store import Store
    from omnitui.store.records import BroadcastProgress

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
WATCH_EVERY = 0.5  # seconds between two looks at the broadcast's progress


class BroadcastUsage(OmniError):
    """A broadcast asked for in a way that cannot be done: exit 2 with this message."""


_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([smhd])$")
_RELATIVE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_at(text: str, now: datetime) -> float:
    """`--at`, as an epoch time. Accepted:

    - `HH:MM` or `HH:MM:SS`: today at that time, or tomorrow once it is past;
    - `+30s`, `+10m`, `+2h`, `+1d`: that long from now;
    - a date and time (`2026-12-24 09:00`), in the shop's local time;
    - ISO 8601 with an offset (`2026-12-24T09:00+09:00`).
    """
    given = text.strip()
    relative = _RELATIVE.match(given)
    if relative is not None:
        amount, unit = int(relative[1]), relative[2]
        return now.timestamp() + amount * _RELATIVE_SECONDS[unit]
    try:
        clock = _CLOCK.match(given)
        if clock is not None:
            hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
            at = now.replace(hour=hour, minute=minute, second=second, microsecond=0)
            if at <= now:
                at += timedelta(days=1)
            return at.timestamp()
        parsed = datetime.fromisoformat(given)
    except ValueError:
        raise BroadcastUsage(
            "--at {value}: give a time (18:30, 18:30:15), a delay (+10m, +30s) "
            "or a date and time (2026-12-24 09:00)",
            value=repr(text),
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=now.tzinfo)
    return parsed.timestamp()


def _kind(name: str | None) -> ChannelKind | None:
    if name is None:
        return None
    try:
        return ChannelKind(name.lower())
    except ValueError:
        raise BroadcastUsage(
            "--channel {value}: one of email, telegram, sms, line", value=repr(name)
        ) from None


async def cmd_broadcast(
    settings: Settings,
    canned: str,
    tags: Sequence[str],
    *,
    channel: str | None = None,
    language: str | None = None,
    at: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    image: Path | None = None,
) -> int:
    from omnitui.adapters.runner import configured_channels
    from omnitui.config import local_timezone
    from omnitui.store import StoreError

    only = _kind(channel)
    channels = [c for c in configured_channels(settings) if only is None or c.kind is only]
    if not channels:
        raise BroadcastUsage("no channel set up in config.toml to broadcast on")
    picture = read_image(settings, channels, image) if image is not None else None
    send_at = parse_at(at, datetime.now(ZoneInfo(local_timezone()))) if at else None
    store = await settings.open_store()
    try:
        replies = [r for r in await store.canned_replies() if r.shortcut == canned]
        if not replies:
            raise BroadcastUsage(
                "no canned reply {shortcut} (`omnitui canned export -` lists them)",
                shortcut=repr(canned),
            )
        audience = await store.broadcast_audience(tags)
        plan = plan_broadcast(
            audience,
            replies,
            canned,
            channels,
            only_channel=only,
            only_language=language,
            shop_values=settings.shop_values(),
            email_requires_consent=settings.broadcast.email_requires_consent,
        )
        _summary(canned, replies, tags, plan)
        if picture is not None:
            for line in image_lines(picture, plan, image_setup(settings)):
                print(f"  {line}")
        over = await _over_quota(store, plan)
        if dry_run:
            _recipients(plan, {m.contact_id: m.name for m in audience})
            if over:
                print(over)
            print(tr("Dry run: nothing was sent."))
            return EXIT_OK
        if over:
            print(f"omnitui: {over}", file=sys.stderr)
            return EXIT_ERROR
        if not plan.messages:
            print(tr("Nobody to send to."))
            return EXIT_OK
        if not yes and not _confirmed(len(plan.messages)):
            print(tr("Not sent."))
            return EXIT_ERROR
        audience_key = {"tags": sorted(tags), "channel": channel, "language": language}
        try:
            broadcast_id = await store.create_broadcast(
                canned,
                audience_key,
                plan,
                send_at=send_at,
                author=settings.agent.name,
                image=picture,
            )
        except StoreError as exc:
            print(f"omnitui: {exc.message()}", file=sys.stderr)
            return EXIT_ERROR
        return await _send(settings, store, broadcast_id, send_at)
    finally:
        await store.close()


def _summary(
    canned: str, replies: Sequence[CannedReply], tags: Sequence[str], plan: BroadcastPlan
) -> None:
    from omnitui.widgets.format import channel_name

    title = replies[0].title or canned
    shown_tags = " ".join(f"#{t}" for t in tags)
    print(
        tr("Broadcast {title} to {tags}: {count} customer(s)").format(
            title=title, tags=shown_tags, count=len(plan.messages)
        )
    )
    for kind, count in sorted(plan.per_channel().items()):
        print(f"  {channel_name(kind)}: {count}")
    skips = plan.skip_counts()
    if skips:
        print(tr("Skipped {count}:").format(count=sum(skips.values())))
        for reason, count in sorted(skips.items(), key=lambda kv: -kv[1]):
            print(f"  {count} {tr(reason)}")


def image_setup(settings: Settings) -> ImageSetup:
    """Where a broadcast's image can go with this config."""
    numbers = {s.name: s.from_ for s in settings.sms}
    return ImageSetup(settings.broadcast.public_url, numbers)


def read_image(settings: Settings, channels: Sequence[Channel], path: Path) -> BroadcastImage:
    """`--image PATH`, checked (a JPEG or PNG of at most 10 MB) before anything is written."""
    try:
        check_size(str(path), path.stat().st_size)  # a huge file is never read
        checked = image_setup(settings).image(str(path), path.read_bytes(), channels)
    except ImageProblem as exc:
        raise BroadcastUsage("--image {reason}", reason=exc) from None
    except OSError as exc:
        raise BroadcastUsage(
            "--image {file}: {reason}", file=str(path), reason=exc.strerror or exc
        ) from None
    return replace(checked, name=path.name)


def image_lines(picture: BroadcastImage, plan: BroadcastPlan, setup: ImageSetup) -> list[str]:
    """The image and, per channel of the plan that sends the text alone, why."""
    from omnitui.widgets.format import channel_name

    used = sorted({m.channel for m in plan.messages}, key=lambda c: (str(c.kind), c.account))
    lines = [f"🖼 {picture.name}, {picture.size_label}"]
    for channel, why in setup.text_only(used):
        lines.append(f"{channel_name(channel.kind)}: {why}")
    return lines


def _recipients(plan: BroadcastPlan, names: dict[int, str]) -> None:
    from omnitui.domain.safe_text import one_line
    from omnitui.widgets.format import channel_name

    for m in plan.messages:
        name = one_line(names.get(m.contact_id, ""), 40)
        print(f"  {name}\t{channel_name(m.channel.kind)}\t{one_line(m.address, 60)}")
    for s in plan.skipped:
        name = one_line(names.get(s.contact_id, ""), 40)
        print(f"  {name}\t{tr('skipped')}: {tr(s.reason)}")


async def _over_quota(store: Store, plan: BroadcastPlan) -> str:
    """Words when the LINE pushes of `plan` exceed what is left of a month's quota."""
    short = await over_line_quota(plan, store.load_cursor)
    if short is None:
        return ""
    return tr(
        "{account}: this broadcast needs {count} LINE pushes and {left} are left "
        "this month; narrow it (--channel, --language, a tag) or raise the plan"
    ).format(account=short.account, count=short.count, left=short.left)


def _confirmed(count: int) -> bool:
    if not sys.stdin.isatty():
        raise BroadcastUsage("add --yes to send without being asked (or --dry-run to look first)")
    answer = input(tr("Send it to {count} customer(s)? [y/N] ").format(count=count))
    return answer.strip().lower() in ("y", "yes", "はい")


async def _send(settings: Settings, store: Store, broadcast_id: int, send_at: float | None) -> int:
    """Have the broadcast sent, showing progress; Ctrl+C cancels what has not gone."""
    from omnitui.hub import channel_lock

    lock = channel_lock(store)
    runs_here = lock.acquire()
    if send_at is not None and send_at > time.time() + WATCH_EVERY:
        when = datetime.fromtimestamp(send_at).strftime("%Y-%m-%d %H:%M")
        if runs_here:
            lock.release()
            print(
                tr(
                    "Broadcast {number} is scheduled for {when}: `omnitui serve` (or an open "
                    "console) sends it then; none runs the channels now."
                ).format(number=broadcast_id, when=when)
            )
        else:
            print(
                tr("Broadcast {number} is scheduled for {when}.").format(
                    number=broadcast_id, when=when
                )
            )
        return EXIT_OK
    hub = None
    if runs_here:
        hub = await _run_channels(settings, store)
    else:
        print(
            tr("Sending through the OmniTUI process that runs the channels (pid {pid}).").format(
                pid=lock.holder()
            )
        )
    try:
        cancelled = await _watch(store, broadcast_id)
    finally:
        if hub is not None:
            await hub.stop()
            lock.release()
    progress = await store.broadcast_progress(broadcast_id)
    _results(progress)
    return EXIT_ERROR if cancelled else EXIT_OK


async def _run_channels(settings: Settings, store: Store) -> Hub:
    from omnitui.cli import channel_runner

    hub, _, _ = channel_runner(settings, store)
    await hub.start()
    return hub


async def _watch(store: Store, broadcast_id: int) -> bool:
    """Show progress until nothing of the broadcast waits; True when it was cancelled."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    cancelled = False
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            transient=False,
        ) as bar:
            first = await store.broadcast_progress(broadcast_id)
            task = bar.add_task(tr("sending"), total=first.total(), detail="")
            while True:
                progress = await store.broadcast_progress(broadcast_id)
                done = progress.total() - progress.total("queued", "sending")
                failed = progress.total("failed", "unknown")
                detail = tr("{failed} failed").format(failed=failed) if failed else ""
                bar.update(task, completed=done, total=progress.total(), detail=detail)
                if not progress.active:
                    break
                if stop.is_set():
                    withdrawn = await store.cancel_broadcast(broadcast_id)
                    cancelled = True
                    bar.update(
                        task, detail=tr("cancelled: {count} not sent").format(count=withdrawn)
                    )
                    break
                with _quiet():
                    await asyncio.wait_for(stop.wait(), WATCH_EVERY)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return cancelled


class _quiet:
    """Swallow the timeout of a wait that only paces a loop."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, value: object, tb: object) -> bool:
        return kind is TimeoutError


def _results(progress: BroadcastProgress) -> None:
    from omnitui.widgets.format import channel_name

    kinds = sorted({k for k, _ in progress.counts})
    for kind in kinds:
        counts = {s: n for (k, s), n in progress.counts.items() if k == kind}
        name = channel_name(ChannelKind(kind)) if kind else "?"
        parts = [f"{tr(state)} {n}" for state, n in sorted(counts.items()) if n]
        print(f"  {name}: " + " · ".join(parts))
    if progress.skipped:
        print("  " + tr("skipped {count}").format(count=progress.skipped_total))
