"""The installed channel plugins: found by entry point, checked, and built into
adapters for the `[[plugin]]` tables of config.toml.

A plugin that cannot be used (not installed, failing to import, written for
another `API_VERSION`, its keys wrong) is an error naming its `[[plugin]]`
table; the caller keeps it as a note and runs the other channels. A plugin's
adapter is wrapped so that whatever it raises while running or sending stays
an ordinary error the hub handles (restart with backoff, a failed reply): a
plugin that calls `sys.exit()` does not end the console.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from omnitui.adapters.base import Adapter, Sink
from omnitui.adapters.plugin import API_VERSION, ENTRY_POINT_GROUP, AdapterPlugin
from omnitui.config import ConfigError, PluginConfig, dotted, locate
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    IdentityKind,
    KindClash,
    KindInfo,
    Outbound,
    register_kind,
)
from omnitui.errors import OmniError

log = logging.getLogger(__name__)


class PluginError(OmniError):
    """A plugin that cannot be used, and why."""


class PluginCrashed(OmniError):
    """A plugin's adapter raised something that would have ended the program."""


@dataclass(frozen=True, slots=True)
class InstalledPlugin:
    """One entry point of the `omnitui.adapters` group, loaded or not."""

    name: str  # the entry point's name: `adapter = ...` in config.toml
    target: str  # what it names, "module:attribute"
    distribution: str  # the package it comes from ("" when unknown)
    plugin: AdapterPlugin | None
    problem: PluginError | None

    @property
    def version(self) -> str:
        return self.plugin.version if self.plugin is not None else "?"


_loaded: dict[str, InstalledPlugin] = {}


def installed() -> list[InstalledPlugin]:
    """Every installed plugin, each loaded once per process (first one of a name wins)."""
    found: list[InstalledPlugin] = []
    seen: set[str] = set()
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in seen:
            continue
        seen.add(entry.name)
        if entry.name not in _loaded:
            _loaded[entry.name] = _load(entry)
        found.append(_loaded[entry.name])
    return found


def find(name: str) -> InstalledPlugin | None:
    """The installed plugin called `name`, or None."""
    return next((p for p in installed() if p.name == name), None)


def _load(entry: metadata.EntryPoint) -> InstalledPlugin:
    dist = entry.dist
    distribution = f"{dist.name} {dist.version}" if dist is not None else ""

    def refused(problem: PluginError) -> InstalledPlugin:
        return InstalledPlugin(entry.name, entry.value, distribution, None, problem)

    try:
        loaded: Any = entry.load()
        if isinstance(loaded, type):
            loaded = loaded()
    except (Exception, SystemExit) as exc:
        log.warning("plugin %s (%s) failed to load", entry.name, entry.value, exc_info=True)
        return refused(
            PluginError(
                "plugin {name} ({target}) failed to load: {reason}",
                name=entry.name,
                target=entry.value,
                reason=f"{type(exc).__name__}: {exc}",
            )
        )
    missing = [
        attribute
        for attribute in (
            "name",
            "version",
            "api_version",
            "kind",
            "identity",
            "label",
            "mark",
            "icon",
            "replies",
            "options",
            "build",
        )
        if not hasattr(loaded, attribute)
    ]
    if missing:
        return refused(
            PluginError(
                "plugin {name} ({target}) is not an OmniTUI channel plugin: it has no {missing}",
                name=entry.name,
                target=entry.value,
                missing=", ".join(missing),
            )
        )
    plugin: AdapterPlugin = loaded
    if plugin.api_version != API_VERSION:
        return refused(
            PluginError(
                "plugin {name} {version} was written for plugin API {wanted}; this OmniTUI "
                "has plugin API {api}: install a version of {package} made for API {api}",
                name=entry.name,
                version=plugin.version,
                wanted=plugin.api_version,
                api=API_VERSION,
                package=dist.name if dist is not None else entry.name,
            )
        )
    try:
        identity = IdentityKind(plugin.identity)
        register_kind(
            plugin.kind,
            KindInfo(
                identity=identity,
                label=str(plugin.label),
                label_ja=str(getattr(plugin, "label_ja", "")),
                mark=str(plugin.mark)[:1],
                icon=str(plugin.icon)[:1],
                replies=bool(plugin.replies),
            ),
        )
    except (ValueError, KindClash) as exc:
        return refused(
            PluginError(
                "plugin {name} has an unusable channel kind: {reason}", name=entry.name, reason=exc
            )
        )
    if not (isinstance(plugin.options, type) and issubclass(plugin.options, BaseModel)):
        return refused(
            PluginError("plugin {name}: its options are not a pydantic model", name=entry.name)
        )
    return InstalledPlugin(entry.name, entry.value, distribution, plugin, None)


def plugin_channel(section: PluginConfig) -> Channel | None:
    """The channel a `[[plugin]]` table makes, or None when its plugin cannot be used."""
    found = find(section.adapter)
    if found is None or found.plugin is None:
        return None
    return Channel(ChannelKind(found.plugin.kind), section.name)


def build(
    section: PluginConfig, index: int, file: Path | None = None, text: str | None = None
) -> Adapter:
    """The adapter for the `index`th `[[plugin]]` table (read from `file`).

    Raises `ConfigError` naming the table (its file and line when known)."""
    where = ["plugin", index]

    def problem(key: str, template: str, **values: object) -> ConfigError:
        line = locate(text, [*where, key]) if text is not None else None
        return ConfigError(
            file or Path("config.toml"), template, line, dotted([*where, key]), **values
        )

    found = find(section.adapter)
    if found is None:
        names = ", ".join(p.name for p in installed()) or "none"
        raise problem(
            "adapter",
            "no installed plugin is called {adapter} (installed: {names}); install its "
            "package into OmniTUI's Python environment",
            adapter=repr(section.adapter),
            names=names,
        )
    if found.plugin is None:
        assert found.problem is not None
        raise problem("adapter", "{reason}", reason=found.problem)
    plugin = found.plugin
    try:
        options = plugin.options.model_validate(section.options)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]][:1] or ["adapter"]
        if error["type"] == "extra_forbidden":
            raise problem(loc[0], "unknown key (plugin {name})", name=plugin.name) from None
        if error["type"] == "missing":
            raise problem(loc[0], "missing key (plugin {name})", name=plugin.name) from None
        reason = error["msg"].removeprefix("Value error, ")
        raise problem(loc[0], "{reason}", reason=reason) from None
    try:
        adapter = plugin.build(section, options)
    except (Exception, SystemExit) as exc:
        log.warning("plugin %s could not build %s", plugin.name, section.name, exc_info=True)
        raise problem(
            "adapter",
            "plugin {name} could not build channel {channel}: {reason}",
            name=plugin.name,
            channel=section.name,
            reason=f"{type(exc).__name__}: {exc}",
        ) from None
    expected = Channel(ChannelKind(plugin.kind), section.name)
    if getattr(adapter, "channel", None) != expected:
        raise problem(
            "adapter",
            "plugin {name} built a channel that is not {channel}",
            name=plugin.name,
            channel=f"{expected.kind}:{expected.account}",
        )
    return GuardedAdapter(adapter, plugin.name)


_NEVER_CAUGHT = (asyncio.CancelledError, GeneratorExit)


class GuardedAdapter:
    """A plugin's adapter, whose escapes become ordinary errors.

    Everything else (`health`, `messages_read`...) is the plugin's own, so the
    optional protocols (`Reporting`, `ReadMirror`) hold exactly when they hold
    for the plugin's adapter."""

    def __init__(self, adapter: Adapter, plugin: str) -> None:
        self.inner = adapter
        self.plugin = plugin

    @property
    def channel(self) -> Channel:
        return self.inner.channel

    def _crashed(self, exc: BaseException) -> PluginCrashed:
        return PluginCrashed(
            "plugin {name} stopped: {reason}",
            name=self.plugin,
            reason=f"{type(exc).__name__}: {exc}",
        )

    async def run(self, sink: Sink) -> None:
        try:
            await self.inner.run(sink)
        except (*_NEVER_CAUGHT, Exception):
            raise
        except BaseException as exc:
            raise self._crashed(exc) from exc

    async def send(self, message: Outbound) -> str:
        try:
            return await self.inner.send(message)
        except (*_NEVER_CAUGHT, Exception):
            raise
        except BaseException as exc:
            raise self._crashed(exc) from exc

    async def close(self) -> None:
        try:
            await self.inner.close()
        except (*_NEVER_CAUGHT, Exception):
            raise
        except BaseException as exc:
            raise self._crashed(exc) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def doctor_lines(sections: Sequence[PluginConfig]) -> list[tuple[bool | None, str, str]]:
    """`omnitui doctor`'s plugin lines: (ok, None for a note; the subject; the words)."""
    lines: list[tuple[bool | None, str, str]] = []
    for plugin in installed():
        source = plugin.distribution or "unknown package"
        if plugin.plugin is not None:
            lines.append(
                (
                    None,
                    "plugin",
                    f"{plugin.name} {plugin.version} from {source}: {plugin.plugin.kind} "
                    f"channels (plugin API {plugin.plugin.api_version})",
                )
            )
        else:
            lines.append((False, "plugin", f"{plugin.problem} (from {source})"))
    if not lines and sections:
        lines.append((None, "plugin", f"none installed (entry point group {ENTRY_POINT_GROUP})"))
    return lines
