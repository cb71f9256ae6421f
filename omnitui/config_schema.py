"""The config's schema: pydantic models that check a config file's keys and types.

They run when a config file is new or changed (`omnitui.config.parse`); their
result is handed to the rest of OmniTUI as `omnitui.config`'s plain settings.
A console opening with an unchanged config never imports pydantic.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from omnitui import config
from omnitui.config import ConfigError, HostPort, host_port, locate
from omnitui.domain import hours, rules
from omnitui.domain.mail import check_signature


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


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


Listen = Annotated[HostPort | None, BeforeValidator(host_port)]

TlsMode = Literal["ssl", "starttls", "none"]


class AgentModel(_Section):
    name: str = "Agent"
    signature: str = ""

    @field_validator("signature")
    @classmethod
    def _signature(cls, text: str) -> str:
        return check_signature(text)


class StoreModel(_Section):
    path: str | None = None
    group: str | None = None
    url: str | None = None  # postgresql://user@host/db: the store on PostgreSQL
    password_env: str | None = None
    password_cmd: str | None = None

    @field_validator("url")
    @classmethod
    def _postgresql(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("url must be a postgresql:// URL (without it, the store is SQLite)")
        return url

    @model_validator(mode="after")
    def _one_password(self) -> StoreModel:
        if self.password_env and self.password_cmd:
            raise ValueError("give password_env or password_cmd, not both")
        if (self.password_env or self.password_cmd) and not self.url:
            raise ValueError("password_env and password_cmd go with url")
        return self

    @field_validator("group")
    @classmethod
    def _group_exists(cls, group: str | None) -> str | None:
        if group is not None and not config.group_exists(group):
            raise ValueError(f"no such group {group!r} on this machine")
        return group


class UiModel(_Section):
    language: Literal["en", "ja"] | None = None
    bell: bool = True
    undo_send_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0
    desktop_notifications: Literal["auto", "osc9", "osc777", "notify-send", "off"] = "auto"


class EmailModel(_Section):
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
    signature: str = ""

    @model_validator(mode="before")
    @classmethod
    def _secret_source(cls, values: Any) -> Any:
        return _one_secret(values, "password")

    @field_validator("signature")
    @classmethod
    def _signature(cls, text: str) -> str:
        return check_signature(text)


class TelegramModel(_Section):
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


class SmsModel(_Section):
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


class LineModel(_Section):
    name: str
    token_env: str | None = None
    token_cmd: str | None = None
    secret_env: str | None = None
    secret_cmd: str | None = None
    api_base: str = "https://api.line.me"
    data_api_base: str = "https://api-data.line.me"
    webhook_listen: Annotated[HostPort, BeforeValidator(host_port)]
    webhook_url: str | None = None
    allow_groups: bool = False

    @model_validator(mode="before")
    @classmethod
    def _secret_source(cls, values: Any) -> Any:
        return _one_secret(_one_secret(values, "token"), "secret")


class HoursModel(_Section):
    timezone: str
    mon: list[str] = Field(default_factory=list)
    tue: list[str] = Field(default_factory=list)
    wed: list[str] = Field(default_factory=list)
    thu: list[str] = Field(default_factory=list)
    fri: list[str] = Field(default_factory=list)
    sat: list[str] = Field(default_factory=list)
    sun: list[str] = Field(default_factory=list)
    holidays: str | None = None
    closed: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        hours.business_hours(name, {})
        return name

    @field_validator(*hours.DAYS)
    @classmethod
    def _periods(cls, periods: list[str]) -> list[str]:
        for period in periods:
            hours.parse_period(period)
        return periods

    @field_validator("holidays")
    @classmethod
    def _country(cls, country: str | None) -> str | None:
        if country is not None:
            hours.country_holidays(country)
        return country

    @field_validator("closed")
    @classmethod
    def _closures(cls, closures: list[str]) -> list[str]:
        for closure in closures:
            hours.parse_closure(closure)
        return closures


def _listed(value: Any) -> Any:
    """One value or a list of them, as a list."""
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _regex(value: str | None) -> str | None:
    import re
    import unicodedata

    if value is not None:
        try:
            re.compile(unicodedata.normalize("NFKC", value))
        except re.error as exc:
            raise ValueError(f"not a valid regex: {exc}") from None
    return value


def _duration(value: str | None) -> str | None:
    if value is not None and rules.duration(value) is None:
        raise ValueError(f'{value!r} is not a duration (like "30m", "12h", "2d")')
    return value


Many = Annotated[list[str], BeforeValidator(_listed)]


class RuleIfModel(_Section):
    text: Many = Field(default_factory=list)
    exact: Many = Field(default_factory=list)
    regex: Annotated[str | None, AfterValidator(_regex)] = None
    channel: Many = Field(default_factory=list)
    hours: Literal["open", "closed"] | None = None
    tags: Many = Field(default_factory=list)
    language: Many = Field(default_factory=list)
    rating: Annotated[list[int], BeforeValidator(_listed)] = Field(default_factory=list)


class RuleThenModel(_Section):
    tag: Many = Field(default_factory=list)
    assign: Many = Field(default_factory=list)
    reply: str | None = None
    status: Literal["open", "pending", "resolved"] | None = None
    notify: bool = False
    set_: dict[str, str] = Field(default_factory=dict, alias="set")
    handoff: bool = False
    stop: bool = False


class RuleModel(_Section):
    name: str
    on: Literal["message", "new_conversation", "resolved", "no_reply", "csat"]
    after: Annotated[str | None, AfterValidator(_duration)] = None
    once_per: Annotated[str | None, AfterValidator(_duration)] = None
    if_: RuleIfModel = Field(default_factory=RuleIfModel, alias="if")
    then: RuleThenModel = Field(default_factory=RuleThenModel)


class AutomationModel(_Section):
    max_auto_replies_per_day: Annotated[int, Field(ge=0)] = 3
    agent_active: Annotated[str, AfterValidator(_duration)] = "30m"


class ReportsModel(_Section):
    waiting_warn: Annotated[str, AfterValidator(_duration)] = "30m"
    waiting_alert: Annotated[str, AfterValidator(_duration)] = "2h"


class CsatModel(_Section):
    enabled: bool = False
    ask: Annotated[str, Field(min_length=1)] = "csat"
    every_days: Annotated[int, Field(ge=0)] = 7


class BroadcastModel(_Section):
    email_requires_consent: bool = True
    telegram_per_second: Annotated[float, Field(gt=0, le=30)] = 25.0
    sms_segments_per_second: Annotated[float, Field(gt=0)] = 1.0
    email_per_minute: Annotated[float, Field(gt=0)] = 60.0
    line_per_second: Annotated[float, Field(gt=0)] = 20.0
    public_listen: Listen = None
    public_url: str | None = None

    @model_validator(mode="after")
    def _public_both(self) -> BroadcastModel:
        if (self.public_listen is None) != (self.public_url is None):
            raise ValueError("public_listen and public_url go together")
        if self.public_url is not None and not self.public_url.startswith(("https://", "http://")):
            raise ValueError("public_url must start with https://")
        return self


def _loopback(value: Any) -> Any:
    """`[api] listen`: a loopback "host:port" or a unix socket's path (never a public address)."""
    if isinstance(value, str) and value.startswith(("/", "~", "$", "unix:")):
        if not value.removeprefix("unix:"):
            raise ValueError("unix: needs the socket's path")
        return value
    found = host_port(value)
    if isinstance(found, HostPort):
        import ipaddress

        host = found.host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ValueError(
                f"{value!r} is not a loopback address: the API listens on 127.0.0.1, ::1 "
                "or a unix socket's path"
            )
    return found


class WebhookModel(_Section):
    url: str
    events: Annotated[list[str], Field(min_length=1)]
    secret_env: str | None = None
    secret_cmd: str | None = None
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0

    @model_validator(mode="before")
    @classmethod
    def _one_secret(cls, values: Any) -> Any:
        return _one_secret(values, "secret")

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")) or len(url) < 10:
            raise ValueError("url must be an https:// (or http://) address")
        return url

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str]) -> list[str]:
        for event in events:
            if event not in config.WEBHOOK_EVENTS:
                raise ValueError(
                    f"unknown event {event!r} (known: {', '.join(config.WEBHOOK_EVENTS)})"
                )
        return list(dict.fromkeys(events))


class ApiModel(_Section):
    listen: Annotated[HostPort | str, BeforeValidator(_loopback)]
    token_env: str | None = None
    token_cmd: str | None = None
    name: Annotated[str, Field(min_length=1)] = "API"

    @model_validator(mode="before")
    @classmethod
    def _one_token(cls, values: Any) -> Any:
        return _one_secret(values, "token")


class PluginModel(BaseModel):
    """`[[plugin]]`: `adapter` and `name` are OmniTUI's; the other keys are the plugin's own
    (the plugin checks them when its channel is built)."""

    model_config = ConfigDict(extra="allow", strict=True)
    adapter: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]


class SettingsModel(_Section):
    agent: AgentModel = Field(default_factory=AgentModel)
    shop: dict[str, str] = Field(default_factory=dict)
    store: StoreModel = Field(default_factory=StoreModel)
    ui: UiModel = Field(default_factory=UiModel)
    keymap: dict[str, str] = Field(default_factory=dict)
    reports: ReportsModel = Field(default_factory=ReportsModel)
    email: list[EmailModel] = Field(default_factory=list)
    telegram: list[TelegramModel] = Field(default_factory=list)
    sms: list[SmsModel] = Field(default_factory=list)
    line: list[LineModel] = Field(default_factory=list)
    hours: HoursModel | None = None
    rule: list[RuleModel] = Field(default_factory=list)
    automation: AutomationModel = Field(default_factory=AutomationModel)
    csat: CsatModel = Field(default_factory=CsatModel)
    broadcast: BroadcastModel = Field(default_factory=BroadcastModel)
    webhook: list[WebhookModel] = Field(default_factory=list)
    api: ApiModel | None = None
    plugin: list[PluginModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> SettingsModel:
        seen: set[str] = set()
        names = [
            *(s.name for s in self.email),
            *(s.name for s in self.telegram),
            *(s.name for s in self.sms),
            *(s.name for s in self.line),
            *(s.name for s in self.plugin),
        ]
        for name in names:
            if name in seen:
                raise ValueError(f"channel name {name!r} is used twice")
            seen.add(name)
        return self


Plain = TypeVar("Plain")


def _plain(model: BaseModel, kind: type[Plain]) -> Plain:
    """`model`'s values as the plain settings class `kind` (same field names)."""
    return kind(**{f.name: getattr(model, f.name) for f in fields(kind)})  # type: ignore[arg-type]


def section(data: object, kind: type[Plain]) -> Plain:
    """One `[[email]]`, `[[telegram]]` or `[[sms]]` table, checked, as `kind`."""
    models: dict[type[Any], type[_Section]] = {
        config.EmailConfig: EmailModel,
        config.TelegramConfig: TelegramModel,
        config.SmsConfig: SmsModel,
        config.LineConfig: LineModel,
    }
    model = models[kind]
    return _plain(model.model_validate(data), kind)


def settings(data: dict[str, Any], text: str, path: Path) -> config.Settings:
    """The checked settings of the TOML `data` read from `text` at `path`.

    A problem is a `ConfigError` naming the file, the line and the key."""
    try:
        checked = SettingsModel.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [p for p in error["loc"] if p not in ("function-after", "function-before")]
        key = config.dotted(loc)
        line = locate(text, loc)
        if error["type"] == "extra_forbidden":
            raise ConfigError(path, "unknown key", line, key) from None
        if error["type"] == "missing":
            raise ConfigError(path, "missing key", line, key) from None
        reason = error["msg"].removeprefix("Value error, ")
        raise ConfigError(path, "{reason}", line, key, reason=reason) from None
    for number, rule in enumerate(checked.rule):
        _check_rule(rule, ["rule", number], text, path)
    _check_reports(checked.reports, text, path)
    return config.Settings(
        agent=_plain(checked.agent, config.AgentConfig),
        shop=dict(checked.shop),
        store=_plain(checked.store, config.StoreConfig),
        ui=_plain(checked.ui, config.UiConfig),
        keymap=dict(checked.keymap),
        reports=_plain(checked.reports, config.ReportsConfig),
        email=[_plain(s, config.EmailConfig) for s in checked.email],
        telegram=[_plain(s, config.TelegramConfig) for s in checked.telegram],
        sms=[_plain(s, config.SmsConfig) for s in checked.sms],
        line=[_plain(s, config.LineConfig) for s in checked.line],
        hours=None if checked.hours is None else _plain(checked.hours, config.HoursConfig),
        rule=[
            config.RuleConfig(
                name=r.name,
                on=r.on,
                after=r.after,
                once_per=r.once_per,
                if_=_plain(r.if_, config.RuleIfConfig),
                then=_plain(r.then, config.RuleThenConfig),
            )
            for r in checked.rule
        ],
        automation=_plain(checked.automation, config.AutomationConfig),
        csat=_plain(checked.csat, config.CsatConfig),
        broadcast=_plain(checked.broadcast, config.BroadcastConfig),
        webhook=[_plain(w, config.WebhookConfig) for w in checked.webhook],
        api=None if checked.api is None else _plain(checked.api, config.ApiConfig),
        plugin=[
            config.PluginConfig(adapter=p.adapter, name=p.name, options=dict(p.model_extra or {}))
            for p in checked.plugin
        ],
    )


def _check_reports(reports: ReportsModel, text: str, path: Path) -> None:
    """An alert that comes before the warning could never be told apart from it."""
    warn, alert = rules.duration(reports.waiting_warn), rules.duration(reports.waiting_alert)
    if warn is not None and alert is not None and alert <= warn:
        where = ["reports", "waiting_alert"]
        raise ConfigError(
            path,
            "waiting_alert ({alert}) must be longer than waiting_warn ({warn})",
            locate(text, where),
            config.dotted(where),
            alert=reports.waiting_alert,
            warn=reports.waiting_warn,
        )


def _check_rule(rule: RuleModel, loc: list[Any], text: str, path: Path) -> None:
    """What one rule's keys cannot say alone: a `ConfigError` naming its line and key."""

    def fail(keys: list[str], problem: str, **values: object) -> None:
        where = [*loc, *keys]
        raise ConfigError(path, problem, locate(text, where), config.dotted(where), **values)

    if rule.on == "no_reply" and rule.after is None:
        fail(["after"], 'on = "no_reply" needs after (like "30m")')
    if rule.on != "no_reply" and rule.after is not None:
        fail(["after"], 'after is only for on = "no_reply"')
    then = rule.then
    if not (
        then.tag
        or then.assign
        or then.reply
        or then.status
        or then.notify
        or then.set_
        or then.handoff
        or then.stop
    ):
        fail(["then"], "the rule does nothing: give at least one key in [rule.then]")
    import re
    import unicodedata

    regex = rule.if_.regex
    groups = re.compile(unicodedata.normalize("NFKC", regex)).groups if regex else 0
    used = rules.groups_used(then.set_)
    if used > groups:
        fail(
            ["then", "set"],
            "${number} is used but the rule's regex has {groups} groups",
            number=used,
            groups=groups,
        )
