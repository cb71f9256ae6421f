"""config.toml -> validated settings.

An unknown key or a wrong type is a `ConfigError` naming the file, the line
and the key. Secrets are never read from the file itself: `*_env` names an
environment variable and `*_cmd` a command whose first output line is the
secret; `Secret.reveal()` is called only by the adapter that needs it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from omnitui.domain.mail import check_signature
from omnitui.errors import OmniError

if TYPE_CHECKING:
    from omnitui.store.files import Access

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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


def _secret(model: BaseModel, prefix: str, what: str) -> Secret:
    env = getattr(model, f"{prefix}_env")
    cmd = getattr(model, f"{prefix}_cmd")
    return Secret(env, cmd, what)


def _one_secret(values: Any, prefix: str) -> Any:
    if isinstance(values, dict):
        has_env, has_cmd = f"{prefix}_env" in values, f"{prefix}_cmd" in values
        if has_env and has_cmd:
            raise ValueError(f"give {prefix}_env or {prefix}_cmd, not both")
        if not has_env and not has_cmd:
            raise ValueError(f"missing {prefix}_env (or {prefix}_cmd)")
    return values


def _needs(values: Any, key: str, value: str, required: tuple[str, ...]) -> Any:
    """`key = value` needs the `required` keys too (a webhook needs where to listen)."""
    if isinstance(values, dict) and values.get(key) == value:
        missing = [k for k in required if not values.get(k)]
        if missing:
            raise ValueError(f'{key} = "{value}" needs {", ".join(missing)}')
    return values


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


Listen = Annotated[HostPort | None, BeforeValidator(host_port)]

TlsMode = Literal["ssl", "starttls", "none"]


class AgentConfig(_Section):
    name: str = "Agent"
    # Added to this agent's email replies, below the account's signature.
    signature: str = ""

    @field_validator("signature")
    @classmethod
    def _signature(cls, text: str) -> str:
        return check_signature(text)


class StoreConfig(_Section):
    path: str | None = None
    # A Unix group whose members share the store (agents logged in as
    # separate users): files 0660, folders 2770. Without it, 0600 / 0700.
    group: str | None = None

    @field_validator("group")
    @classmethod
    def _group_exists(cls, group: str | None) -> str | None:
        if group is not None:
            import grp

            try:
                grp.getgrnam(group)
            except KeyError:
                raise ValueError(f"no such group {group!r} on this machine") from None
        return group


class UiConfig(_Section):
    language: Literal["en", "ja"] | None = None
    bell: bool = True
    # A sent reply waits this long, with "u to undo", before it goes; 0: at once.
    undo_send_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0
    # A desktop notification for new messages: auto | osc9 | osc777 | notify-send | off
    desktop_notifications: Literal["auto", "osc9", "osc777", "notify-send", "off"] = "auto"


class EmailConfig(_Section):
    name: str
    imap_host: str
    imap_port: int = 993
    imap_tls: TlsMode = "ssl"
    username: str
    password_env: str | None = None
    password_cmd: str | None = None
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    backfill_days: int = 30
    smtp_host: str
    smtp_port: int = 465
    smtp_tls: TlsMode = "ssl"
    from_: str = Field(alias="from")
    mark_seen: bool = False
    sent_folder: str | None = None
    # Added to every reply from this account, after "-- " (then the agent's).
    signature: str = ""

    @model_validator(mode="before")
    @classmethod
    def _secret_source(cls, values: Any) -> Any:
        return _one_secret(values, "password")

    @field_validator("signature")
    @classmethod
    def _signature(cls, text: str) -> str:
        return check_signature(text)

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


class TelegramConfig(_Section):
    name: str
    token_env: str | None = None
    token_cmd: str | None = None
    api_base: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: Listen = None
    webhook_url: str | None = None
    secret_env: str | None = None
    allow_groups: bool = False

    @model_validator(mode="before")
    @classmethod
    def _secret_source(cls, values: Any) -> Any:
        values = _one_secret(values, "token")
        return _needs(values, "mode", "webhook", ("webhook_url", "webhook_listen", "secret_env"))

    @property
    def token(self) -> Secret:
        return _secret(self, "token", f"[[telegram]] {self.name} token")


class SmsConfig(_Section):
    name: str
    provider: Literal["twilio"] = "twilio"
    account_sid: str
    auth_token_env: str | None = None
    auth_token_cmd: str | None = None
    from_: str = Field(alias="from")
    api_base: str = "https://api.twilio.com"
    inbound: Literal["poll", "webhook"] = "poll"
    poll_seconds: Annotated[int, Field(ge=1)] = 10
    webhook_listen: Listen = None
    webhook_url: str | None = None
    default_region: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _secret_source(cls, values: Any) -> Any:
        values = _one_secret(values, "auth_token")
        return _needs(values, "inbound", "webhook", ("webhook_listen", "webhook_url"))

    @property
    def auth_token(self) -> Secret:
        return _secret(self, "auth_token", f"[[sms]] {self.name} auth token")


class Settings(_Section):
    agent: AgentConfig = Field(default_factory=AgentConfig)
    shop: dict[str, str] = Field(default_factory=dict)
    store: StoreConfig = Field(default_factory=StoreConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    keymap: dict[str, str] = Field(default_factory=dict)
    email: list[EmailConfig] = Field(default_factory=list)
    telegram: list[TelegramConfig] = Field(default_factory=list)
    sms: list[SmsConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        seen: set[str] = set()
        for name in self.channel_names():
            if name in seen:
                raise ValueError(f"channel name {name!r} is used twice")
            seen.add(name)
        return self

    def channel_names(self) -> list[str]:
        return [
            *(s.name for s in self.email),
            *(s.name for s in self.telegram),
            *(s.name for s in self.sms),
        ]

    def store_path(self) -> Path:
        if self.store.path:
            return Path(os.path.expandvars(self.store.path)).expanduser()
        return default_store_path()

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


def load(path: Path) -> Settings:
    """Read and validate the config at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "no such file (make one with `omnitui init`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "cannot read: {reason}", None, "", reason=exc) from None
    return parse(text, path)


def parse(text: str, path: Path) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _line_of_decode_error(str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(path, "not valid TOML: {reason}", line, "", reason=message) from None
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [p for p in error["loc"] if p not in ("function-after", "function-before")]
        key = _dotted(loc)
        line = locate(text, loc)
        if error["type"] == "extra_forbidden":
            raise ConfigError(path, "unknown key", line, key) from None
        if error["type"] == "missing":
            raise ConfigError(path, "missing key", line, key) from None
        reason = error["msg"].removeprefix("Value error, ")
        raise ConfigError(path, "{reason}", line, key, reason=reason) from None


def _line_of_decode_error(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _dotted(loc: list[Any]) -> str:
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
                table = name.split(".")
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


def example_config() -> str:
    """The commented example config shipped with OmniTUI."""
    return (Path(__file__).parent / "config.example.toml").read_text(encoding="utf-8")
