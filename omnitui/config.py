"""config.toml -> validated settings.

An unknown key or a wrong type is a `ConfigError` naming the file, the line
and the key. Secrets are never read from the file itself: `*_env` names an
environment variable and `*_cmd` a command whose first output line is the
secret; `Secret.reveal()` is called only by the adapter that needs it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from omnitui.errors import OmniError

if TYPE_CHECKING:
    from omnitui.domain.hours import BusinessHours
    from omnitui.domain.pace import Pace
    from omnitui.domain.rules import Rule
    from omnitui.store.files import Access
    from omnitui.store.sqlite import SqliteStore

APP_NAME = "omnitui"


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def log_path() -> Path:
    """Where OmniTUI writes its log: the platform's log folder, omnitui.log."""
    from platformdirs import user_log_path

    return user_log_path(APP_NAME) / "omnitui.log"


def default_store_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "omnitui.db"


class ConfigError(OmniError):
    """A config file that cannot be used, with where and why.

    `problem` is a template of its own, filled from `values`; the path, line
    and key are put before it as they are."""

    def __init__(
        self,
        path: Path,
        problem: str,
        line: int | None = None,
        key: str = "",
        /,
        **values: object,
    ) -> None:
        self.path, self.line, self.key = path, line, key
        where = f"{path}" + (f", line {line}" if line else "")
        if key:
            where += f": {key}"
        super().__init__("{where}: {problem}", where=where, problem=OmniError(problem, **values))


class SecretError(OmniError):
    """A secret that could not be read from its variable or command."""


class Secret:
    """Where a secret comes from. Its repr never shows the value."""

    def __init__(self, env: str | None, cmd: str | None, what: str) -> None:
        self.env, self.cmd, self.what = env, cmd, what

    def __repr__(self) -> str:
        source = f"env {self.env}" if self.env else f"command {self.cmd!r}"
        return f"Secret({self.what} from {source})"

    def reveal(self) -> str:
        if self.env:
            value = os.environ.get(self.env)
            if not value:
                raise SecretError(
                    "{what}: environment variable {variable} is not set",
                    what=self.what,
                    variable=self.env,
                )
            return value
        assert self.cmd is not None
        try:
            out = subprocess.run(
                shlex.split(self.cmd), capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SecretError(
                "{what}: command {command} failed: {reason}",
                what=self.what,
                command=repr(self.cmd),
                reason=exc,
            ) from exc
        if out.returncode != 0 or not out.stdout.strip():
            raise SecretError(
                "{what}: command {command} exited {code} with no secret",
                what=self.what,
                command=repr(self.cmd),
                code=out.returncode,
            )
        return out.stdout.splitlines()[0].strip()


def _secret(section: object, prefix: str, what: str) -> Secret:
    env = getattr(section, f"{prefix}_env")
    cmd = getattr(section, f"{prefix}_cmd")
    return Secret(env, cmd, what)


def group_exists(group: str) -> bool:
    """Whether the Unix group `group` exists on this machine."""
    import grp

    try:
        grp.getgrnam(group)
    except KeyError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class HostPort:
    """Where a webhook listens: `host` (empty: every interface) and `port`."""

    host: str
    port: int

    @property
    def bind_host(self) -> str:
        return self.host or "0.0.0.0"

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def host_port(value: object) -> object:
    """ "host:port" (an IPv6 host in brackets) as a `HostPort`; anything else as it is."""
    if not isinstance(value, str):
        return value
    host, _, port = value.strip().rpartition(":")
    if not _ or not port.isdigit() or not 0 <= int(port) < 65536 or " " in host:
        raise ValueError(f'{value!r} is not "host:port" (like "127.0.0.1:8443")')
    return HostPort(host.removeprefix("[").removesuffix("]"), int(port))


TlsMode = Literal["ssl", "starttls", "none"]

# The settings below are plain classes: `omnitui.config_schema` checks a file's
# keys and types (with pydantic) and fills them. Their fields and defaults are
# the schema's.


@dataclass(slots=True)
class AgentConfig:
    name: str = "Agent"
    # Added to this agent's email replies, below the account's signature.
    signature: str = ""


@dataclass(slots=True)
class StoreConfig:
    path: str | None = None
    # A Unix group whose members share the store (agents logged in as
    # separate users): files 0660, folders 2770. Without it, 0600 / 0700.
    group: str | None = None
    # The store on PostgreSQL (a team on several machines): postgresql://user@host/db.
    url: str | None = None
    password_env: str | None = None
    password_cmd: str | None = None

    def password(self) -> Secret | None:
        """Where the PostgreSQL password comes from (None: the URL, ~/.pgpass or PGPASSWORD)."""
        if not (self.password_env or self.password_cmd):
            return None
        return _secret(self, "password", "[store] password")


@dataclass(slots=True)
class UiConfig:
    language: Literal["en", "ja"] | None = None
    bell: bool = True
    # A sent reply waits this long, with "u to undo", before it goes; 0: at once.
    undo_send_seconds: float = 5.0
    # A desktop notification for new messages: auto | osc9 | osc777 | notify-send | off
    desktop_notifications: Literal["auto", "osc9", "osc777", "notify-send", "off"] = "auto"


@dataclass(slots=True)
class ReportsConfig:
    """`[reports]`: when a customer waiting for an answer has waited too long."""

    # The supervisor view marks a customer waiting this long (warn), then this long (alert).
    waiting_warn: str = "30m"
    waiting_alert: str = "2h"

    def waiting_thresholds(self) -> tuple[float, float]:
        """(warn, alert) in seconds."""
        from omnitui.domain.rules import duration

        return duration(self.waiting_warn) or 1800.0, duration(self.waiting_alert) or 7200.0


class _Checked:
    """A channel's section that can be checked from a TOML table."""

    __slots__ = ()

    @classmethod
    def model_validate(cls, data: object) -> Self:
        """The table `data`, checked; pydantic's ValidationError when it is wrong."""
        from omnitui import config_schema

        return config_schema.section(data, cls)


@dataclass(slots=True, kw_only=True)
class EmailConfig(_Checked):
    name: str
    imap_host: str
    imap_port: int = 993
    imap_tls: TlsMode = "ssl"
    username: str
    password_env: str | None = None
    password_cmd: str | None = None
    folders: list[str] = field(default_factory=lambda: ["INBOX"])
    backfill_days: int = 30
    smtp_host: str
    smtp_port: int = 465
    smtp_tls: TlsMode = "ssl"
    from_: str  # the key `from`
    mark_seen: bool = False
    sent_folder: str | None = None
    # Added to every reply from this account, after "-- " (then the agent's).
    signature: str = ""

    @property
    def own_addresses(self) -> frozenset[str]:
        """The shop's own addresses on this account (`from`, and the username
        when it is an address): a reply-all never copies them in."""
        from email.utils import parseaddr

        found = {parseaddr(self.from_)[1].lower()}
        if "@" in self.username:
            found.add(self.username.strip().lower())
        return frozenset(a for a in found if a)

    @property
    def password(self) -> Secret:
        return _secret(self, "password", f"[[email]] {self.name} password")


@dataclass(slots=True, kw_only=True)
class TelegramConfig(_Checked):
    name: str
    token_env: str | None = None
    token_cmd: str | None = None
    api_base: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: HostPort | None = None
    webhook_url: str | None = None
    secret_env: str | None = None
    allow_groups: bool = False

    @property
    def token(self) -> Secret:
        return _secret(self, "token", f"[[telegram]] {self.name} token")


@dataclass(slots=True, kw_only=True)
class SmsConfig(_Checked):
    name: str
    provider: Literal["twilio"] = "twilio"
    account_sid: str
    auth_token_env: str | None = None
    auth_token_cmd: str | None = None
    from_: str  # the key `from`
    api_base: str = "https://api.twilio.com"
    inbound: Literal["poll", "webhook"] = "poll"
    poll_seconds: int = 10
    webhook_listen: HostPort | None = None
    webhook_url: str | None = None
    default_region: str | None = None

    @property
    def auth_token(self) -> Secret:
        return _secret(self, "auth_token", f"[[sms]] {self.name} auth token")


@dataclass(slots=True, kw_only=True)
class LineConfig(_Checked):
    """`[[line]]`: a LINE Official Account's Messaging API channel."""

    name: str
    token_env: str | None = None
    token_cmd: str | None = None
    secret_env: str | None = None
    secret_cmd: str | None = None
    api_base: str = "https://api.line.me"
    data_api_base: str = "https://api-data.line.me"
    webhook_listen: HostPort  # LINE only pushes: there is always a listener
    webhook_url: str | None = None
    allow_groups: bool = False

    @property
    def token(self) -> Secret:
        return _secret(self, "token", f"[[line]] {self.name} channel access token")

    @property
    def secret(self) -> Secret:
        return _secret(self, "secret", f"[[line]] {self.name} channel secret")


@dataclass(slots=True)
class HoursConfig:
    """`[hours]`: the shop's business hours (see `omnitui.domain.hours`)."""

    timezone: str
    mon: list[str] = field(default_factory=list)
    tue: list[str] = field(default_factory=list)
    wed: list[str] = field(default_factory=list)
    thu: list[str] = field(default_factory=list)
    fri: list[str] = field(default_factory=list)
    sat: list[str] = field(default_factory=list)
    sun: list[str] = field(default_factory=list)
    holidays: str | None = None
    closed: list[str] = field(default_factory=list)

    def business_hours(self) -> BusinessHours:
        from omnitui.domain.hours import DAYS, business_hours

        days = {day: list(getattr(self, day)) for day in DAYS}
        return business_hours(self.timezone, days, self.holidays, list(self.closed))


@dataclass(slots=True)
class RuleIfConfig:
    """`[rule.if]`: every condition given must hold (see `omnitui.domain.rules`)."""

    text: list[str] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)
    regex: str | None = None
    channel: list[str] = field(default_factory=list)
    hours: Literal["open", "closed"] | None = None
    tags: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    rating: list[int] = field(default_factory=list)


@dataclass(slots=True)
class RuleThenConfig:
    """`[rule.then]`: what a rule does when it fires."""

    tag: list[str] = field(default_factory=list)
    assign: list[str] = field(default_factory=list)  # several: round robin
    reply: str | None = None  # a canned reply's shortcut
    status: Literal["open", "pending", "resolved"] | None = None
    notify: bool = False
    set_: dict[str, str] = field(default_factory=dict)  # the key `set`
    handoff: bool = False
    stop: bool = False


@dataclass(slots=True, kw_only=True)
class RuleConfig:
    """One `[[rule]]`."""

    name: str
    on: Literal["message", "new_conversation", "resolved", "no_reply", "csat"]
    after: str | None = None  # with on = "no_reply"
    once_per: str | None = None
    if_: RuleIfConfig = field(default_factory=RuleIfConfig)  # the key `if`
    then: RuleThenConfig = field(default_factory=RuleThenConfig)

    def rule(self) -> Rule:
        """This rule, ready to evaluate (its regex compiled)."""
        from omnitui.domain.rules import make_rule

        when, then = self.if_, self.then
        return make_rule(
            name=self.name,
            on=self.on,
            after=self.after,
            once_per=self.once_per,
            text=when.text,
            exact=when.exact,
            regex=when.regex,
            channel=when.channel,
            hours=when.hours,
            tags=when.tags,
            language=when.language,
            rating=when.rating,
            tag=then.tag,
            assign=then.assign,
            reply=then.reply,
            status=then.status,
            notify=then.notify,
            set_=then.set_,
            handoff=then.handoff,
            stop=then.stop,
        )


@dataclass(slots=True)
class AutomationConfig:
    # Automatic replies to one customer in a day, all rules together.
    max_auto_replies_per_day: int = 3
    # No automatic reply to an assigned customer a person answered this recently.
    agent_active: str = "30m"


@dataclass(slots=True)
class CsatConfig:
    # Ask a customer how satisfied they were when their conversation is resolved.
    enabled: bool = False
    # The canned reply that asks (in the customer's language); they answer 1-5.
    ask: str = "csat"
    # At most once per customer in this many days.
    every_days: int = 7


@dataclass(slots=True)
class BroadcastConfig:
    # Marketing email only to customers whose profile records consent
    # (`email_consent`), as Japan's law on advertising email asks.
    email_requires_consent: bool = True
    # How fast a broadcast goes out on each kind of channel.
    telegram_per_second: float = 25.0
    sms_segments_per_second: float = 1.0
    email_per_minute: float = 60.0
    line_per_second: float = 20.0
    # The channel runner's public listener (behind the shop's HTTPS proxy):
    # one-click unsubscribe links and the broadcast images LINE and Twilio fetch.
    public_listen: HostPort | None = None
    public_url: str | None = None

    def pace(self) -> Pace:
        from omnitui.domain.pace import Pace

        return Pace(
            telegram_per_second=self.telegram_per_second,
            sms_segments_per_second=self.sms_segments_per_second,
            email_per_minute=self.email_per_minute,
            line_per_second=self.line_per_second,
        )


# The events a `[[webhook]]` can ask for (the JSON body's `event`).
WEBHOOK_EVENTS = (
    "message.received",
    "message.sent",
    "conversation.resolved",
    "contact.updated",
    "csat.received",
)


@dataclass(slots=True)
class WebhookConfig:
    """`[[webhook]]`: events out to a CRM or a script, each body signed with the secret."""

    url: str
    events: list[str] = field(default_factory=list)
    secret_env: str | None = None
    secret_cmd: str | None = None
    # Seconds a receiver has to answer before the delivery counts as failed (and is retried).
    timeout: float = 10.0

    def secret(self) -> Secret:
        from omnitui.domain.safe_text import shown_url

        return _secret(self, "secret", f"[[webhook]] {shown_url(self.url)}")


@dataclass(slots=True)
class ApiConfig:
    """`[api]`: the local HTTP API for scripts, served by the channel runner."""

    # "127.0.0.1:8765" (a loopback address) or a unix socket's path.
    listen: HostPort | str
    token_env: str | None = None
    token_cmd: str | None = None
    # Who the thread shows as the author of a message posted through the API.
    name: str = "API"

    def token(self) -> Secret:
        return _secret(self, "token", "[api] token")

    @property
    def socket(self) -> Path | None:
        """The unix socket's path, when `listen` is one."""
        if isinstance(self.listen, HostPort):
            return None
        return Path(os.path.expandvars(self.listen.removeprefix("unix:"))).expanduser()


@dataclass(slots=True)
class PluginConfig:
    """`[[plugin]]`: a channel from an installed package (entry point group `omnitui.adapters`)."""

    adapter: str  # the entry point's name
    name: str  # the channel's name, as for [[email]]
    options: dict[str, Any] = field(default_factory=dict)  # the plugin's own keys


@dataclass(slots=True)
class Settings:
    agent: AgentConfig = field(default_factory=AgentConfig)
    shop: dict[str, str] = field(default_factory=dict)
    store: StoreConfig = field(default_factory=StoreConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    keymap: dict[str, str] = field(default_factory=dict)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    email: list[EmailConfig] = field(default_factory=list)
    telegram: list[TelegramConfig] = field(default_factory=list)
    sms: list[SmsConfig] = field(default_factory=list)
    line: list[LineConfig] = field(default_factory=list)
    hours: HoursConfig | None = None  # no [hours]: no business hours

    def business_hours(self) -> BusinessHours | None:
        """The shop's business hours, or None when config.toml has no [hours]."""
        return None if self.hours is None else self.hours.business_hours()

    rule: list[RuleConfig] = field(default_factory=list)
    automation: AutomationConfig = field(default_factory=AutomationConfig)
    csat: CsatConfig = field(default_factory=CsatConfig)
    broadcast: BroadcastConfig = field(default_factory=BroadcastConfig)
    webhook: list[WebhookConfig] = field(default_factory=list)
    api: ApiConfig | None = None  # no [api]: no local API
    plugin: list[PluginConfig] = field(default_factory=list)

    def rules(self) -> list[Rule]:
        """The `[[rule]]`s, in order, ready to evaluate."""
        return [r.rule() for r in self.rule]

    def channel_names(self) -> list[str]:
        return [
            *(s.name for s in self.email),
            *(s.name for s in self.telegram),
            *(s.name for s in self.sms),
            *(s.name for s in self.line),
            *(s.name for s in self.plugin),
        ]

    def store_path(self) -> Path:
        if self.store.path:
            return Path(os.path.expandvars(self.store.path)).expanduser()
        return default_store_path()

    async def open_store(self) -> SqliteStore:
        """The configured store, opened: PostgreSQL at `[store] url`, else the SQLite file."""
        if self.store.url:
            from omnitui.store.postgres import PostgresStore

            secret = self.store.password()
            return await PostgresStore.open_url(
                self.store.url, password=secret.reveal() if secret else None
            )
        from omnitui.store import Store

        return await Store.open(self.store_path(), access=self.store_access())

    def store_exists(self) -> bool:
        """Whether there may be a store to read (a file that exists, or a server)."""
        return bool(self.store.url) or self.store_path().exists()

    def store_check(self) -> tuple[bool, str]:
        """`omnitui doctor`'s store line: whether it can be used, and what it is."""
        if self.store.url:
            from omnitui.store.postgres.base import check

            try:
                secret = self.store.password()
                password = secret.reveal() if secret else None
            except SecretError as exc:
                return False, f"{self.store_place()}: {exc}"
            return check(self.store.url, password)
        from omnitui.store.files import check as check_file

        return check_file(self.store_path())

    def store_place(self) -> str:
        """Where the store is, for messages: its file, or its URL without a password."""
        if self.store.url:
            from omnitui.store.postgres.base import safe_url

            return safe_url(self.store.url)
        return str(self.store_path())

    def store_access(self) -> Access:
        from omnitui.store.files import Access

        return Access(group=self.store.group)

    def shop_values(self) -> dict[str, str]:
        """Canned-reply values from config: `{agent}`, `{shop}` and every [shop] key."""
        values = {f"shop_{k}": v for k, v in self.shop.items()}
        values.update(self.shop)
        if "name" in self.shop:
            values["shop"] = self.shop["name"]
        values["agent"] = self.agent.name
        return values


def load(path: Path, *, cache: bool = False) -> Settings:
    """Read and validate the config at `path`.

    With `cache`, a config that was checked before and has not changed since
    (nor has OmniTUI's schema) is read from the user's cache folder without
    checking it again; a new or changed one is checked and cached. The cache
    holds the settings as the file gives them: secrets are never in the file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "no such file (make one with `omnitui init`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "cannot read: {reason}", None, "", reason=exc) from None
    if not cache:
        return parse(text, path)
    digest = _digest(text)
    cached = _cached(path, digest) if digest else None
    if cached is not None:
        return cached
    settings = parse(text, path)
    if digest:
        _keep(path, digest, settings)
    return settings


def _digest(text: str) -> str:
    """What the checked settings depend on: the file's text and OmniTUI's schema
    (empty when the schema's source cannot be read: then nothing is cached)."""
    import hashlib

    here = Path(__file__)
    found = hashlib.sha256(text.encode("utf-8"))
    try:
        for source in (here, here.with_name("config_schema.py")):
            found.update(source.read_bytes())
    except OSError:
        return ""
    return found.hexdigest()


def _cache_file(path: Path) -> Path:
    import hashlib

    from platformdirs import user_cache_path

    name = hashlib.sha256(str(path.absolute()).encode("utf-8")).hexdigest()[:32]
    return user_cache_path(APP_NAME) / "settings" / f"{name}.json"


def _cached(path: Path, digest: str) -> Settings | None:
    """The settings cached for `path` with this `digest`, or None."""
    import json

    try:
        kept = json.loads(_cache_file(path).read_text(encoding="utf-8"))
        if kept.get("digest") != digest:
            return None
        settings = _from_plain(kept["settings"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if settings.store.group is not None and not group_exists(settings.store.group):
        return None  # checked again, so that the error names its line
    return settings


def _keep(path: Path, digest: str, settings: Settings) -> None:
    """Cache `settings` for `path`; a cache that cannot be written is skipped."""
    import json
    import tempfile
    from dataclasses import asdict

    try:
        text = json.dumps({"digest": digest, "settings": asdict(settings)})
        file = _cache_file(path)
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=file.parent, suffix=".part", delete=False
        ) as out:
            part = Path(out.name)
            out.write(text)
    except (OSError, TypeError, ValueError):
        return
    try:
        os.replace(part, file)
    except OSError:
        part.unlink(missing_ok=True)


def _listen(value: Any) -> HostPort | None:
    return None if value is None else HostPort(value["host"], value["port"])


def _from_plain(data: dict[str, Any]) -> Settings:
    return Settings(
        agent=AgentConfig(**data["agent"]),
        shop=dict(data["shop"]),
        store=StoreConfig(**data["store"]),
        ui=UiConfig(**data["ui"]),
        keymap=dict(data["keymap"]),
        reports=ReportsConfig(**data["reports"]),
        email=[EmailConfig(**s) for s in data["email"]],
        telegram=[
            TelegramConfig(**{**s, "webhook_listen": _listen(s["webhook_listen"])})
            for s in data["telegram"]
        ],
        sms=[
            SmsConfig(**{**s, "webhook_listen": _listen(s["webhook_listen"])}) for s in data["sms"]
        ],
        line=[
            LineConfig(**{**s, "webhook_listen": _listen(s["webhook_listen"])})
            for s in data["line"]
        ],
        hours=HoursConfig(**data["hours"]) if data["hours"] is not None else None,
        rule=[
            RuleConfig(
                **{**r, "if_": RuleIfConfig(**r["if_"]), "then": RuleThenConfig(**r["then"])}
            )
            for r in data["rule"]
        ],
        automation=AutomationConfig(**data["automation"]),
        csat=CsatConfig(**data["csat"]),
        broadcast=BroadcastConfig(
            **{
                **data["broadcast"],
                "public_listen": _listen(data["broadcast"].get("public_listen")),
            }
        ),
        webhook=[WebhookConfig(**w) for w in data.get("webhook", [])],
        api=_api(data.get("api")),
        plugin=[PluginConfig(**p) for p in data.get("plugin", [])],
    )


def _api(value: Any) -> ApiConfig | None:
    if value is None:
        return None
    listen = value["listen"]
    return ApiConfig(**{**value, "listen": _listen(listen) if isinstance(listen, dict) else listen})


def parse(text: str, path: Path) -> Settings:
    import tomllib  # here: a console whose config is unchanged reads it from the cache

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _line_of_decode_error(str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(path, "not valid TOML: {reason}", line, "", reason=message) from None
    from omnitui import config_schema

    return config_schema.settings(data, text, path)


def _line_of_decode_error(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def dotted(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


def locate(text: str, loc: list[Any]) -> int | None:
    """The line of `loc` (as pydantic reports it) in the TOML `text`, or the
    line of its table when the key itself is missing."""
    table: list[Any] = []
    counts: dict[str, int] = {}
    table_lines: dict[tuple[Any, ...], int] = {}
    wanted_table = tuple(loc[:-1])
    key = loc[-1] if loc else None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2)
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = [*name.split("."), counts[name]]
            else:
                table = _in_array(name.split("."), counts)
            table_lines.setdefault(tuple(table), number)
            continue
        match = _KEY.match(line)
        if match and tuple(table) == wanted_table and match.group(1).strip('"') == key:
            return number
        if match and not table and len(loc) == 1 and match.group(1) == key:
            return number
    for depth in range(len(loc), 0, -1):
        if tuple(loc[:depth]) in table_lines:
            return table_lines[tuple(loc[:depth])]
    return None


def _in_array(parts: list[str], counts: dict[str, int]) -> list[Any]:
    """A `[rule.if]` table's place: under the last `[[rule]]` when there is one."""
    for depth in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:depth])
        if prefix in counts:
            return [*parts[:depth], counts[prefix], *parts[depth:]]
    return list(parts)


def example_config() -> str:
    """The commented example config shipped with OmniTUI."""
    return (Path(__file__).parent / "config.example.toml").read_text(encoding="utf-8")


def local_timezone() -> str:
    """The machine's time zone as an IANA name, else "UTC".

    TZ when it names a zone, else /etc/localtime's; a TZ written as an offset
    ("JST-9") becomes the fixed zone of that offset ("Etc/GMT-9"). Reports
    count a shop's days in it when config.toml has no [hours]."""
    import time
    from zoneinfo import ZoneInfo

    def known(name: str) -> bool:
        try:
            ZoneInfo(name)
        except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            return False
        return True

    given = os.environ.get("TZ", "").lstrip(":")
    if given and known(given):
        return given
    if not given:
        with contextlib.suppress(OSError):
            name = os.readlink("/etc/localtime").split("zoneinfo/")[-1]
            if known(name):
                return name
    offset = time.localtime().tm_gmtoff
    if offset and offset % 3600 == 0:
        return f"Etc/GMT{-offset // 3600:+d}"
    return "UTC"
