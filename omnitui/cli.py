"""Command line: omnitui [demo|init|serve|contacts|canned|rules|report|doctor|webhooks|qr|store].

Exit codes: 0 ok, 2 bad usage or config (the message names file, line and
key), 1 anything else. A user mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.adapters.runner import configured_channels
from omnitui.errors import OmniError, message
from omnitui.i18n import resolve_language, use_language

if TYPE_CHECKING:
    from omnitui.adapters.base import Adapter, Service
    from omnitui.adapters.public import PublicListener
    from omnitui.app import OmniApp
    from omnitui.automation import Automation, AutomationSetup
    from omnitui.config import Settings
    from omnitui.desktop import Mode
    from omnitui.domain.broadcast_image import ImageSetup
    from omnitui.domain.hours import BusinessHours
    from omnitui.domain.models import Channel
    from omnitui.domain.pace import Pace
    from omnitui.domain.qr import QrChannel
    from omnitui.hub import Hub
    from omnitui.store import Store
    from omnitui.store.postgres.lock import PgChannelLock

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
STANDBY_EVERY = 1.0  # seconds between a standby runner's tries for the channel lock
LOCK_CHECK_EVERY = 2.0  # seconds between the runner's checks that it still holds it
FIRST_SCREEN_WAIT = 1.0  # seconds the channels wait for the console's first screen
IDLE_TICK = 0.01  # seconds: an event-loop tick this long, not held up, is idle
# Textual draws at most 60 frames a second unless told otherwise, so every change
# waits up to 1/60 s for its frame, and a contact switch waits like that more
# than once. It draws only when something changed, so a higher cap costs
# nothing while the console is idle (animations keep their own 60 a second).
FRAME_RATE = 240
log = logging.getLogger("omnitui")
# The config file this process read (`load_settings`): a [[plugin]] table that
# cannot be used is named with its file and line.
_config_file: Path | None = None


class UsageError(OmniError):
    """A mistake on the command line or in the config: exit 2 with this message."""


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """`--config` and `--language`, accepted before or after the command alike."""
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help="config file (default: the platform config dir)",
    )
    parser.add_argument(
        "--language",
        choices=["en", "ja"],
        default=default,
        help="the console's language (default: [ui] language, else the locale)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnitui",
        description="Answer every customer — email, Telegram, SMS — from one terminal console.",
    )
    parser.add_argument("--version", action="version", version=f"omnitui {_version()}")
    _global_options(parser, None)
    # After the command the same options are accepted; SUPPRESS keeps a value
    # given before the command when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    demo = command("demo", "open the console on a demo shop: no account, no network")
    demo.add_argument("--store", type=Path, help="keep the demo store in this file")
    demo.add_argument(
        "--interval", type=float, default=6.0, help="seconds between new demo messages (default 6)"
    )
    init = command("init", "write a commented config to the config dir")
    init.add_argument("--force", action="store_true", help="overwrite an existing config")
    command("serve", "run the channels headless, with no console")
    contacts = command("contacts", "import a customer list (CSV, vCard) or export CSV")
    contacts.add_argument("action", choices=["export", "import"])
    contacts.add_argument(
        "file", type=Path, help="CSV or .vcf to import; CSV to export (- for stdout)"
    )
    canned = command("canned", "export or import canned replies as a TOML file")
    canned.add_argument("action", choices=["export", "import"])
    canned.add_argument("file", type=Path, help="the TOML file (export: - for standard output)")
    rules = command("rules", "test the automation rules of the config")
    rules.add_argument("action", choices=["test"])
    rules.add_argument("text", help="a customer's message")
    rules.add_argument("--channel", help="a channel kind (email, telegram, sms) or name")
    rules.add_argument("--from", dest="sender", metavar="ADDRESS", help="the customer's address")
    report = command("report", "the shop's figures for a period: text, CSV or JSON")
    report.add_argument(
        "--since", help="a date (2026-12-01), a time, or back from now (7d, today, yesterday)"
    )
    report.add_argument("--until", help="as --since; a date includes its whole day (default: now)")
    report.add_argument("--format", choices=["text", "csv", "json"], default="text")
    report.add_argument(
        "--by",
        choices=["channel", "agent", "tag", "day"],
        help="the rows of the CSV, a table in text",
    )
    report.add_argument(
        "--calendar", action="store_true", help="wall-clock times, not business hours"
    )
    # Its --language is the audience's (DESIGN.md); the console's is given before the command.
    broadcast = sub.add_parser("broadcast", help="send a canned reply to every customer with a tag")
    broadcast.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: the platform config dir)",
    )
    broadcast.add_argument("canned", metavar="CANNED", help="the canned reply's shortcut")
    broadcast.add_argument(
        "--tag",
        action="append",
        required=True,
        help="customers with this tag (repeat: all of them)",
    )
    broadcast.add_argument("--channel", help="only this channel kind: email, telegram, sms, line")
    broadcast.add_argument(
        "--language",
        dest="audience_language",
        metavar="LANG",
        help="only customers in this language (ja, en...)",
    )
    broadcast.add_argument(
        "--at",
        metavar="TIME",
        help="send at this time: 18:30 or 18:30:15 (today, or tomorrow once past), +30s / +10m / "
        "+2h from now, or 2026-12-24 09:00; `omnitui serve` (or an open console) sends it then",
    )
    broadcast.add_argument(
        "--dry-run", action="store_true", help="list the recipients, send nothing"
    )
    broadcast.add_argument("--yes", action="store_true", help="send without asking")
    broadcast.add_argument(
        "--image",
        type=Path,
        metavar="PATH",
        help="a JPEG or PNG (at most 10 MB) sent with the text where the channel takes one",
    )
    command("doctor", "check the config, the store and each channel, one line each")
    webhooks = command(
        "webhooks",
        "each [[webhook]]'s queue (waiting, failed, last error); `replay` sends failed "
        "events again with their same ids",
    )
    webhooks.add_argument(
        "action",
        nargs="?",
        choices=["list", "replay"],
        default="list",
        help="list (the default), or replay the failed events",
    )
    webhooks.add_argument("--url", help="replay: only this webhook's failed events")
    webhooks.add_argument("--event", metavar="ID", help="replay: only this event (evt_...)")
    qr = command("qr", "each channel's 'start a chat' link as a QR code; a poster to print")
    qr.add_argument(
        "--source",
        metavar="NAME",
        help="where the code hangs (e.g. counter): Telegram customers who come through it "
        "are tagged source:NAME",
    )
    qr.add_argument("--png", type=Path, metavar="FILE", help="write an A4 poster as PNG")
    qr.add_argument("--svg", type=Path, metavar="FILE", help="write an A4 poster as SVG")
    store = command("store", "the store itself: copy it into PostgreSQL")
    store_actions = store.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    copy = store_actions.add_parser(
        "copy",
        help="copy the SQLite store ([store] path) into a PostgreSQL database; run it again "
        "to carry on after an interruption",
        parents=[common],
    )
    copy.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/database")
    copy.add_argument(
        "--password-env",
        metavar="VAR",
        help="the environment variable with the database's password (default: [store] "
        "password_env / password_cmd, else the URL, ~/.pgpass or PGPASSWORD)",
    )
    copy.add_argument(
        "--batch", type=int, default=5000, metavar="N", help="rows per transaction (default 5000)"
    )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("omnitui")
    except PackageNotFoundError:
        return "unknown (not installed)"


def use_frame_rate() -> None:
    """Let the console draw up to `FRAME_RATE` frames a second, unless the user's
    TEXTUAL_FPS says otherwise. Textual reads it when it is first imported."""
    os.environ.setdefault("TEXTUAL_FPS", str(FRAME_RATE))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        use_frame_rate()
    # The console starts without the garbage collector's passes, until its
    # first screen is drawn (`_resume_garbage_collection`).
    paused = args.command is None and gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _run(args)
    finally:
        if paused:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    # Errors read in the language asked for: --language, else the locale, then
    # [ui] language once the config is read.
    use_language(resolve_language(args.language))
    try:
        if args.command == "init":
            return cmd_init(args.config, args.force)
        if args.command == "demo":
            _setup_logging(console=False)
            return asyncio.run(run_demo(args.store, args.interval, args.language))
        settings = load_settings(args.config)
        use_language(resolve_language(args.language or settings.ui.language))
        if args.command in (None, "doctor") and settings.keymap:
            check_keymap(config_path(args.config), settings)
        _setup_logging(console=args.command == "serve")
        if args.command == "serve":
            return asyncio.run(run_serve(settings, args.config))
        if args.command in ("contacts", "canned"):
            from omnitui import file_commands
        if args.command == "contacts":
            return asyncio.run(file_commands.cmd_contacts(settings, args.action, args.file))
        if args.command == "canned":
            return asyncio.run(file_commands.cmd_canned(settings, args.action, args.file))
        if args.command == "rules":
            from omnitui import rules_commands

            return asyncio.run(
                rules_commands.cmd_rules_test(settings, args.text, args.channel, args.sender)
            )
        if args.command == "report":
            from omnitui import report_commands

            return asyncio.run(
                report_commands.cmd_report(
                    settings, args.since, args.until, args.format, args.by, args.calendar
                )
            )
        if args.command == "doctor":
            return cmd_doctor(settings, args.config)
        if args.command == "webhooks":
            from omnitui import webhook_commands

            return asyncio.run(
                webhook_commands.cmd_webhooks(settings, args.action, args.url, args.event)
            )
        if args.command == "broadcast":
            from omnitui import broadcast_commands

            try:
                return asyncio.run(
                    broadcast_commands.cmd_broadcast(
                        settings,
                        args.canned,
                        args.tag,
                        channel=args.channel,
                        language=args.audience_language,
                        at=args.at,
                        dry_run=args.dry_run,
                        yes=args.yes,
                        image=args.image,
                    )
                )
            except broadcast_commands.BroadcastUsage as exc:
                raise UsageError("{reason}", reason=exc) from None
        if args.command == "store":
            from omnitui import store_commands

            return store_commands.cmd_store_copy(
                settings, args.to, password_env=args.password_env, batch=args.batch
            )
        if args.command == "qr":
            from omnitui import qr

            try:
                return asyncio.run(qr.cmd_qr(settings, args.source, args.png, args.svg))
            except qr.SourceError as exc:
                raise UsageError("{reason}", reason=exc) from None
            except qr.QrError as exc:
                print(f"omnitui: {exc.message()}", file=sys.stderr)
                return EXIT_ERROR
        return asyncio.run(run_console(settings, args.language))
    except UsageError as exc:
        print(f"omnitui: {exc.message()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as exc:
        from omnitui.config import ConfigError
        from omnitui.store import StoreUnusable
        from omnitui.store.migrate import SchemaTooNew

        if isinstance(exc, ConfigError | SchemaTooNew):
            print(f"omnitui: {message(exc)}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(exc, StoreUnusable):
            print(f"omnitui: {message(exc)}", file=sys.stderr)
            return EXIT_ERROR
        if isinstance(exc, sqlite3.DatabaseError):
            print(
                f"omnitui: the store cannot be read: {exc} (`omnitui doctor` checks it)",
                file=sys.stderr,
            )
            return EXIT_ERROR
        log.exception("unexpected error")
        print(f"omnitui: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def config_path(given: Path | None) -> Path:
    from omnitui.config import default_config_path

    return given if given is not None else default_config_path()


def load_settings(given: Path | None) -> Settings:
    from omnitui import config

    path = config_path(given)
    if not path.exists():
        raise UsageError(
            "no config at {path}.\n"
            "  Make one with:   omnitui init\n"
            "  Or try the demo: omnitui demo",
            path=path,
        )
    global _config_file
    _config_file = path
    return config.load(path, cache=True)


def check_keymap(path: Path, settings: Settings) -> None:
    """A `[keymap]` line that cannot work is a config error naming its line."""
    from omnitui.config import ConfigError, locate
    from omnitui.keymap import binding_table, keymap_problem

    problem = keymap_problem(settings.keymap, binding_table())
    if problem is not None:
        binding_id, why = problem
        line = locate(path.read_text(encoding="utf-8"), ["keymap", binding_id])
        raise ConfigError(path, "{reason}", line, "keymap." + binding_id, reason=why)


def cmd_init(given: Path | None, force: bool) -> int:
    from omnitui.config import example_config

    path = config_path(given)
    if path.exists() and not force:
        raise UsageError("{path} already exists (use --force to overwrite it)", path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example_config(), encoding="utf-8")
    print(f"Wrote {path}. Edit it, then run: omnitui")
    return EXIT_OK


def build_adapters(
    settings: Settings, store: Store | None = None, *, plugins: bool = True
) -> tuple[list[Adapter], list[str]]:
    """The adapters for the configured channels, and a note for each that cannot run
    (a `[[plugin]]` one too, unless `plugins` is False).

    `store` is where SMS opt-outs (STOP) are recorded.
    """
    # Each channel's module (and its libraries) is imported only when that
    # channel is configured: a console without SMS never loads the SMS code.
    adapters: list[Adapter] = []
    if settings.email:
        from omnitui.adapters.email import EmailAdapter

        public_url = settings.broadcast.public_url
        adapters += [EmailAdapter(section, public_url=public_url) for section in settings.email]
    if settings.telegram:
        from omnitui.adapters.telegram import TelegramAdapter

        adapters += [TelegramAdapter(section) for section in settings.telegram]
    notes: list[str] = []
    if settings.sms:
        from omnitui.adapters.sms import SmsAdapter
    for section in settings.sms:
        try:
            adapters.append(SmsAdapter(section, consent=store))
        except ValueError as exc:
            notes.append(f"{section.name}: {exc}")
    if settings.line:
        from omnitui.adapters.line import LineAdapter

        adapters += [LineAdapter(section, book=store) for section in settings.line]
    for built in plugin_adapters(settings) if plugins else []:
        if isinstance(built, OmniError):
            notes.append(built.message())
        else:
            adapters.append(built)
    return adapters, notes


def plugin_adapters(settings: Settings) -> list[Adapter | OmniError]:
    """An adapter for each `[[plugin]]` table, or the error that says why it cannot
    run (naming the table: its file and line when this process read the file)."""
    if not settings.plugin:
        return []
    from omnitui.adapters import plugins

    text: str | None = None
    if _config_file is not None:
        with contextlib.suppress(OSError):
            text = _config_file.read_text(encoding="utf-8")
    built: list[Adapter | OmniError] = []
    for index, section in enumerate(settings.plugin):
        try:
            built.append(plugins.build(section, index, _config_file, text))
        except OmniError as exc:  # the caller says it (a log line, a toast, doctor)
            built.append(exc)
    return built


async def _console(
    store: Store,
    adapters: list[Adapter],
    *,
    agent: str,
    shop_values: dict[str, str],
    channels: list[Channel],
    keymap: dict[str, str],
    notes: Sequence[str] = (),
    phone_region: str | None = None,
    bell: bool = True,
    undo_send: float = 5.0,
    waiting_thresholds: tuple[float, float] | None = None,
    desktop_notifications: Mode = "auto",
    language: str | None = None,
    signatures: Mapping[str, str] | None = None,
    agent_signature: str = "",
    own_addresses: Collection[str] = (),
    hours: BusinessHours | None = None,
    automation: AutomationSetup | None = None,
    qr_channels: Sequence[QrChannel] = (),
    pace: Pace | None = None,
    broadcast_email_consent: bool = True,
    public: PublicListener | None = None,
    broadcast_images: ImageSetup | None = None,
    services: Sequence[Service] = (),
) -> int:
    from omnitui.app import OmniApp
    from omnitui.automation import Automation, AutomationSetup
    from omnitui.context import WAITING_ALERT, WAITING_WARN
    from omnitui.hub import Hub, channel_lock
    from omnitui.i18n import resolve_language, tr, use_language

    chosen = resolve_language(language)
    use_language(chosen)  # the notices below are worded here, before the app runs
    rules = Automation(store, automation or AutomationSetup(), {c.account: c for c in channels})
    hub = Hub(store, adapters, automation=rules, pace=pace, public=public, services=services)
    lock = channel_lock(store)
    app = OmniApp(
        store,
        agent_name=agent,
        shop_values=shop_values,
        channels=channels,
        keymap=keymap,
        on_outbox=hub.outbox_changed,
        phone_region=phone_region,
        bell=bell,
        undo_send=undo_send,
        waiting=waiting_thresholds or (WAITING_WARN, WAITING_ALERT),
        desktop_notifications=desktop_notifications,
        language=chosen,
        signatures=signatures,
        agent_signature=agent_signature,
        own_addresses=own_addresses,
        hours=hours,
        rules=automation.rules if automation is not None else (),
        qr_channels=qr_channels,
        broadcast_email_consent=broadcast_email_consent,
        broadcast_images=broadcast_images,
    )
    failed: list[Exception] = []
    runs_channels = lock.acquire()
    if not runs_channels:
        # `omnitui serve` (or another console) runs the channels: this console
        # reads and writes the store, and takes over if that process ends.
        holder = lock.holder()
        app.call_later(
            app.notify,
            tr(
                "Channels are run by another OmniTUI process (pid {pid}); this console uses it."
            ).format(pid=holder),
            timeout=8,
        )

    async def after_first_screen() -> None:
        # The channels start once the console has drawn its first screen: their
        # connections and first queries would otherwise delay it.
        await _first_screen_drawn(app)
        _resume_garbage_collection()
        if runs_channels:
            try:
                await hub.start()
            except Exception as exc:  # said after the console closes, as before it opened
                failed.append(exc)
                app.exit()
            return
        while not await asyncio.to_thread(lock.acquire):  # noqa: ASYNC110 (held by another process)
            await asyncio.sleep(2.0)
        await hub.start()
        app.notify(tr("The other OmniTUI process stopped: this console now runs the channels."))

    waiting = asyncio.create_task(after_first_screen())
    for note in notes:
        # A note may quote config.toml or a plugin's error: shown as text, never as markup.
        app.call_later(app.notify, note, severity="warning", timeout=10, markup=False)
    try:
        await app.run_async()
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await hub.stop()
        lock.release()
        await store.close()
    if failed:
        raise failed[0]
    # Textual sets 1 when the console ended on an error it did not expect.
    return EXIT_ERROR if app.return_code else EXIT_OK


def _resume_garbage_collection() -> None:
    """Turn the garbage collector back on if `main` paused it for the start-up.

    Its passes during start-up cost 20-35 ms, over objects that live as long as
    the console. What start-up made is kept out of later passes (frozen), as the
    console does after its first frame anyway; a full pass over it here would
    stop the console for 35-60 ms just as it is shown.
    """
    if gc.isenabled():
        return
    gc.freeze()
    gc.enable()


async def _first_screen_drawn(app: OmniApp, limit: float = FIRST_SCREEN_WAIT) -> None:
    """Return once the console runs, its first screen is mounted, the work that
    started (the first customer's thread) is done and the console has gone idle,
    its frames drawn; or after `limit` seconds, whatever the console is doing."""

    async def drawn() -> None:
        # Textual has no event for these, so they are polled. The console's
        # first screen is the one it pushes over Textual's default screen.
        while not (app.is_running and len(app.screen_stack) > 1 and app.screen.is_mounted):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        screen = app.screen
        await app.workers.wait_for_complete()
        await screen.wait_for_refresh()
        # A frame may follow the one just waited for (a layout the thread asked
        # for): idle means a tick of the event loop that nothing held up.
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(IDLE_TICK)
            if loop.time() - started < IDLE_TICK * 1.5:
                return

    # A slow or failed start-up must not keep the channels from starting.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(drawn(), limit)


async def run_console(settings: Settings, language: str | None = None) -> int:
    """The console on the configured store; `language` (--language) wins over [ui] language."""
    from omnitui.adapters.public import public_listener
    from omnitui.adapters.runner import runner_services
    from omnitui.automation import AutomationSetup
    from omnitui.broadcast_commands import image_setup
    from omnitui.demo import STARTER_CANNED
    from omnitui.qr import qr_channels

    store = await settings.open_store()
    if not await store.canned_replies():
        await store.add_canned_replies(STARTER_CANNED)
    adapters, notes = build_adapters(settings, store)
    return await _console(
        store,
        adapters,
        agent=settings.agent.name,
        shop_values=settings.shop_values(),
        channels=configured_channels(settings),
        keymap=settings.keymap,
        notes=notes,
        phone_region=next((s.default_region for s in settings.sms if s.default_region), None),
        bell=settings.ui.bell,
        undo_send=settings.ui.undo_send_seconds,
        waiting_thresholds=settings.reports.waiting_thresholds(),
        desktop_notifications=settings.ui.desktop_notifications,
        language=language or settings.ui.language,
        signatures={s.name: s.signature for s in settings.email},
        agent_signature=settings.agent.signature,
        own_addresses=frozenset().union(*(s.own_addresses for s in settings.email)),
        hours=settings.business_hours(),
        automation=AutomationSetup.from_settings(settings),
        qr_channels=qr_channels(settings),
        pace=settings.broadcast.pace(),
        broadcast_email_consent=settings.broadcast.email_requires_consent,
        public=public_listener(settings.broadcast, store, settings.shop.get("name", "")),
        broadcast_images=image_setup(settings),
        services=runner_services(settings, store),
    )


async def run_demo(store_path: Path | None, interval: float, language: str | None = None) -> int:
    """The console on a generated shop; `language` None follows the locale."""
    from omnitui.adapters.demo import DemoAdapter
    from omnitui.automation import AutomationSetup
    from omnitui.demo import (
        DEMO_ADDRESS,
        DEMO_CHANNELS,
        DEMO_SIGNATURE,
        build_demo_store,
        demo_rules,
        make_shop,
    )
    from omnitui.store import Store

    with contextlib.ExitStack() as stack:
        if store_path is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="omnitui-demo-"))
            store_path = Path(folder) / "demo.db"
        store = await Store.open(store_path)
        if await store.count_contacts() == 0:
            shop = await build_demo_store(store, now=time.time())
        else:
            shop = make_shop()
        low = max(0.2, interval * 0.6)
        adapters: list[Adapter] = [
            DemoAdapter(channel, shop, interval=(low * 3, interval * 3 * 1.4))
            for channel in DEMO_CHANNELS
        ]
        return await _console(
            store,
            adapters,
            agent="Aiko",
            shop_values={"shop": "Sakura Flowers", "agent": "Aiko"},
            channels=list(DEMO_CHANNELS),
            keymap={},
            phone_region="JP",
            bell=False,  # a demo message every few seconds: toasts, no beeps
            language=language,
            signatures={"demo-mail": DEMO_SIGNATURE},
            agent_signature="Aiko",
            own_addresses={DEMO_ADDRESS},
            automation=AutomationSetup(
                rules=tuple(demo_rules()),
                shop_values={"shop": "Sakura Flowers", "agent": "Aiko"},
            ),
        )
    return EXIT_OK


def reload_rules(rules: Automation, given: Path | None) -> None:
    """SIGHUP: read config.toml again and use its rules and hours from now on.

    A file that does not load keeps the rules running as they were, and the
    log says why (file, line and key, as `omnitui doctor` would)."""
    from omnitui.automation import AutomationSetup

    try:
        settings = load_settings(given)
        setup = AutomationSetup.from_settings(settings)
    except Exception as exc:
        log.error("config not reloaded, the rules stay as they were: %s", exc)
        return
    rules.reload(setup)
    log.info("config reloaded: %d rule(s)", len(setup.rules))


async def run_serve(settings: Settings, given: Path | None = None) -> int:
    from omnitui.hub import channel_lock
    from omnitui.store.postgres.lock import PgChannelLock

    store = await settings.open_store()
    lock = channel_lock(store)
    if not lock.acquire() and not isinstance(lock, PgChannelLock):
        await store.close()
        print(
            f"omnitui: another OmniTUI process (pid {lock.holder()}) already runs the "
            f"channels of {store.path}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            if not isinstance(lock, PgChannelLock):
                await _run_channels(settings, given, store, stop)
                break
            # On PostgreSQL the runner may be on another machine: wait as its
            # standby; a runner that lost its hold (the server went away) waits too.
            if not await _wait_turn(lock, stop):
                break
            lost = asyncio.Event()
            watch = asyncio.create_task(_watch_lock(lock, stop, lost))
            try:
                await _run_channels(settings, given, store, stop, lost)
            finally:
                watch.cancel()
            if lost.is_set():
                print(
                    "omnitui: lost the channel lock (the store's server went away): stopped "
                    "the channels, so that no two processes run them; waiting to run them again",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        lock.release()
        await store.close()
    return EXIT_OK


def channel_runner(settings: Settings, store: Store) -> tuple[Hub, Automation, list[str]]:
    """The hub that runs the configured channels with the rules, the public
    listener and the services (`omnitui serve`, a broadcast from the command
    line), and a note for each channel that cannot run; not started."""
    from omnitui.adapters.public import public_listener
    from omnitui.adapters.runner import runner_services
    from omnitui.automation import Automation, AutomationSetup
    from omnitui.hub import Hub

    adapters, notes = build_adapters(settings, store)
    channels = {c.account: c for c in configured_channels(settings)}
    rules = Automation(store, AutomationSetup.from_settings(settings), channels)
    public = public_listener(settings.broadcast, store, settings.shop.get("name", ""))
    hub = Hub(
        store,
        adapters,
        automation=rules,
        pace=settings.broadcast.pace(),
        public=public,
        services=runner_services(settings, store),
    )
    return hub, rules, notes


async def _run_channels(
    settings: Settings,
    given: Path | None,
    store: Store,
    stop: asyncio.Event,
    lost: asyncio.Event | None = None,
) -> None:
    """Run the channels until `stop` (SIGTERM) or `lost` (the channel lock went)."""
    hub, rules, notes = channel_runner(settings, store)
    for note in notes:
        log.warning(note)
    await hub.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: reload_rules(rules, given))
    log.info("serving %d channel(s) on %s", len(hub.adapters), store.path)
    waits = [asyncio.ensure_future(stop.wait())]
    if lost is not None:
        waits.append(asyncio.ensure_future(lost.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
        loop.remove_signal_handler(signal.SIGHUP)
        log.info("stopping")
        await hub.stop()


async def _watch_lock(lock: PgChannelLock, stop: asyncio.Event, lost: asyncio.Event) -> None:
    """Say when this process no longer holds the channel lock."""
    while not stop.is_set():
        await asyncio.sleep(LOCK_CHECK_EVERY)
        if not await asyncio.to_thread(lock.held):
            log.error("lost the channel lock: stopping the channels")
            lost.set()
            return


async def _wait_turn(lock: PgChannelLock, stop: asyncio.Event) -> bool:
    """Wait until `lock` is ours (True), or until SIGTERM / SIGINT (False)."""
    if await asyncio.to_thread(lock.acquire):
        return True
    if lock.problem is not None:
        said = f"the store's server cannot be reached ({lock.problem}); trying again"
    else:
        holder = await asyncio.to_thread(lock.holder)
        said = (
            f"standby: another OmniTUI process (pid {holder}) runs the channels; "
            "this one takes over if it stops"
        )
    log.info("%s", said)
    print(f"omnitui: {said}", file=sys.stderr, flush=True)
    while not await asyncio.to_thread(lock.acquire):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STANDBY_EVERY)
        if stop.is_set():
            return False
    log.info("the other channel runner stopped: this process runs the channels now")
    return True


def cmd_doctor(settings: Settings, given: Path | None) -> int:
    """One line per check; exit 1 when any channel cannot work."""
    from omnitui.adapters import email, sms, telegram

    print(f"ok    config   {config_path(given)}")
    healthy, line = settings.store_check()
    print(f"{'ok' if healthy else 'FAIL':<5} store    {line}")
    for section in settings.email:
        for good, line in asyncio.run(email.check(section)):
            healthy = healthy and good
            print(f"{'ok' if good else 'FAIL':<5} {section.name:<8} {line}")
    for bot in settings.telegram:
        for good, line in asyncio.run(telegram.check(bot)):
            healthy = healthy and good
            print(f"{'ok' if good else 'FAIL':<5} {bot.name:<8} {line}")
    for account in settings.sms:
        for good, line in asyncio.run(sms.check(account)):
            healthy = healthy and good
            print(f"{'ok' if good else 'FAIL':<5} {account.name:<8} {line}")
        note = sms.japan_note(account)
        if note is not None:
            print(f"--    {account.name:<8} {note}")
    if settings.line:
        from omnitui.adapters import line as line_channel

        for channel in settings.line:
            for good, line in asyncio.run(line_channel.check(channel)):
                healthy = healthy and good
                print(f"{'ok' if good else 'FAIL':<5} {channel.name:<8} {line}")
    if settings.broadcast.public_listen is not None:
        from omnitui.adapters import public

        for good, line in asyncio.run(public.check(settings.broadcast)):
            healthy = healthy and good
            print(f"{'ok' if good else 'FAIL':<5} {'public':<8} {line}")
    if settings.api is not None:
        from omnitui.adapters import api

        for good, line in asyncio.run(api.check(settings)):
            healthy = healthy and good
            print(f"{'ok' if good else 'FAIL':<5} {'api':<8} {line}")
    hours = settings.business_hours()
    if hours is not None:
        from datetime import UTC, datetime

        print(f"ok    hours    {hours.summary(datetime.now(UTC))}")
    _, notes = build_adapters(settings, plugins=False)
    for note in notes:
        print(f"--    {note}")
    healthy = _doctor_plugins(settings) and healthy
    if not settings.channel_names():
        print("--    channels none configured (see `omnitui init`)")
    if settings.rule:
        from omnitui import rules_commands

        healthy = rules_commands.doctor_rules(settings) and healthy
    if settings.csat.enabled:
        from omnitui import rules_commands

        healthy = rules_commands.doctor_csat(settings) and healthy
    if settings.webhook:
        from omnitui import webhook_commands

        healthy = webhook_commands.doctor_webhooks(settings) and healthy
    return EXIT_OK if healthy else EXIT_ERROR


def _doctor_plugins(settings: Settings) -> bool:
    """The installed plugins (name, version, the package they come from), then
    whether each `[[plugin]]` channel can be built; False when one cannot."""
    from omnitui.adapters import plugins

    for plugin in plugins.installed():
        source = plugin.distribution or "an unknown package"
        if plugin.plugin is not None:
            print(
                f"--    plugin   {plugin.name} {plugin.version} from {source}: "
                f"{plugin.plugin.kind} channels (plugin API {plugin.plugin.api_version})"
            )
        else:
            assert plugin.problem is not None
            print(f"--    plugin   {plugin.problem.message()} (from {source})")
    healthy = True
    for section, outcome in zip(settings.plugin, plugin_adapters(settings), strict=True):
        if isinstance(outcome, OmniError):
            healthy = False
            print(f"FAIL  {section.name:<8} {outcome.message()}")
        else:
            print(
                f"ok    {section.name:<8} {section.adapter}: a {outcome.channel.kind} "
                "channel, can be built"
            )
    return healthy


def _setup_logging(*, console: bool) -> None:
    from omnitui.config import log_path
    from omnitui.store.files import create_file

    handlers: list[logging.Handler] = []
    try:
        path = log_path()
        create_file(path)  # 0600 in a 0700 folder: the log names customers
        handlers.append(logging.FileHandler(path, encoding="utf-8"))
    except OSError:
        pass
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


if __name__ == "__main__":
    # `python -m omnitui.cli` runs this file as __main__: run the package's own
    # module instead, so that the UsageError its subcommands raise (imported
    # from omnitui.cli) is the class caught above.
    from omnitui.cli import main as package_main

    raise SystemExit(package_main())
