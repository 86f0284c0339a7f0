"""Finding, checking and loading service plugins (entry point group ``webims``).

Built-in and third-party plugins go through the same path: an entry point names a plugin class, the operator
config enables it by name with an optional version constraint, and the gateway registers one instance of it
with pluggy. Every mismatch is reported before the gateway listens, naming the plugin and the versions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import metadata
from types import MappingProxyType
from typing import Any

import attrs
import pluggy
from packaging.specifiers import SpecifierSet

from webims import hookspecs
from webims.config import ConfigProblem, apply_schema
from webims.errors import ConfigError
from webims.service import Capabilities, PortalAssets, Service, SipRoute

ENTRY_POINT_GROUP = "webims"


@attrs.frozen
class InstalledPlugin:
    """A plugin as installed: its entry point and the distribution that ships it (nothing imported yet)."""

    name: str
    version: str
    distribution: str
    entry_point: metadata.EntryPoint = attrs.field(eq=False, repr=False)


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Every plugin installed in this Python environment, by service name."""
    found = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        found[entry_point.name] = InstalledPlugin(
            name=entry_point.name,
            version=dist.version if dist else "0",
            distribution=dist.metadata["Name"] if dist else "?",
            entry_point=entry_point,
        )
    return found


@attrs.frozen
class LoadedService:
    """An enabled plugin, loaded and checked: what the gateway routes to."""

    service: Service
    plugin: Any = attrs.field(eq=False)
    settings: Mapping[str, Any]
    assets: PortalAssets | None
    routes: tuple[SipRoute, ...]
    capabilities: Capabilities = Capabilities()


class PluginHost:
    """The pluggy manager with the enabled plugins registered, and what each declared about itself."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.services: dict[str, LoadedService] = {}
        self._owner_callers: dict[tuple[str, str], pluggy.HookCaller] = {}

    @property
    def hook(self):
        return self.manager.hook

    @functools.cached_property
    def capabilities(self) -> Capabilities:
        """Every enabled service's capabilities together, in ``[services]`` order, each tag and type once (read
        after loading: the set of services does not change while the gateway runs)."""
        tags = {tag: None for loaded in self.services.values() for tag in loaded.capabilities.feature_tags}
        accept = {kind: None for loaded in self.services.values() for kind in loaded.capabilities.accept}
        return Capabilities(tuple(tags), tuple(accept))

    @functools.cached_property
    def methods(self) -> tuple[str, ...]:
        """The SIP methods the enabled services take, with ACK and CANCEL (for Allow)."""
        return tuple(sorted({route.method for loaded in self.services.values() for route in loaded.routes}
                            | {"ACK", "CANCEL", "OPTIONS"}))

    def call_owner(self, service: str, hook_name: str, **kwargs):
        """Call a hook on one plugin only (the hooks documented as "called on the owning plugin only")."""
        caller = self._owner_callers.get((service, hook_name))
        if caller is None:
            others = [loaded.plugin for name, loaded in self.services.items() if name != service]
            caller = self.manager.subset_hook_caller(hook_name, remove_plugins=others)
            self._owner_callers[(service, hook_name)] = caller
        return caller(**kwargs)

    def sip_route_owner(self, method: str, event: str | None, content_type: str | None,
                        media: frozenset[str] = frozenset()) -> str | None:
        """The service whose declared route fits a request best: the most specific matching route wins.

        ``media`` is the set of media types (``m=`` lines) of the request's SDP offer, if it has one.
        """
        best, best_score = None, -1
        for name, loaded in self.services.items():
            for route in loaded.routes:
                if route.method != method.upper():
                    continue
                if route.event is not None and route.event != event:
                    continue
                if route.content_type is not None and route.content_type != (content_type or "").lower():
                    continue
                if route.media is not None and route.media not in media:
                    continue
                score = (route.event is not None) + (route.content_type is not None) + (route.media is not None)
                if score > best_score:
                    best, best_score = name, score
        return best


def load_services(services: Mapping[str, SpecifierSet], settings: Mapping[str, Mapping[str, Any]],
                  *, instances: Mapping[str, Any] | None = None) -> PluginHost:
    """Load, check and register every enabled service; raise :class:`ConfigError` listing all problems.

    ``instances`` supplies plugin objects directly (the test kit uses it to run a plugin that is not installed);
    every other enabled name is looked up among the installed entry points.
    """
    instances = dict(instances or {})
    installed = installed_plugins()
    problems: list[ConfigProblem] = []
    host = PluginHost()
    for name, constraint in services.items():
        plugin = instances.pop(name, None)
        if plugin is None:
            plugin = _instantiate(name, constraint, installed, problems)
        if plugin is None:
            continue
        loaded = _register(host, name, plugin, constraint, settings.get(name, {}), problems)
        if loaded:
            host.services[name] = loaded
    for name in instances:
        problems.append(ConfigProblem(f"services.{name}", "a plugin instance was given but [services] does not "
                                                          "enable it"))
    problems += _route_conflicts(host)
    if problems:
        raise ConfigError(problems)
    return host


def _instantiate(name: str, constraint: SpecifierSet, installed: Mapping[str, InstalledPlugin],
                 problems: list[ConfigProblem]) -> Any:
    key = f"services.{name}"
    found = installed.get(name)
    if found is None:
        available = ", ".join(f"{p.name} {p.version}" for p in installed.values()) or "none"
        problems.append(ConfigProblem(key, f"plugin {name!r} is not installed (installed plugins: {available}); "
                                           f"install its distribution, e.g. pip install webims-{name}"))
        return None
    if not constraint.contains(found.version, prereleases=True):
        problems.append(_version_problem(name, constraint, found.version, found.distribution))
        return None
    try:
        factory = found.entry_point.load()
        return factory() if isinstance(factory, type) else factory
    except Exception as error:  # a broken third-party install must not stop us from reporting it clearly
        problems.append(ConfigProblem(key, f"plugin {name!r} ({found.distribution} {found.version}) failed to "
                                           f"load: {type(error).__name__}: {error}"))
        return None


def _register(host: PluginHost, name: str, plugin: Any, constraint: SpecifierSet, raw_settings: Mapping,
              problems: list[ConfigProblem]) -> LoadedService | None:
    key = f"services.{name}"
    try:
        host.manager.register(plugin, name=name)
    except ValueError as error:
        problems.append(ConfigProblem(key, f"plugin {name!r} could not be registered: {error}"))
        return None
    service = _ask(host, name, "webims_service", problems)
    if not isinstance(service, Service):
        problems.append(ConfigProblem(key, f"plugin {name!r} did not describe itself: webims_service() must "
                                           "return a webims.service.Service"))
        return None
    if service.name != name:
        problems.append(ConfigProblem(key, f"the plugin installed as {name!r} calls itself {service.name!r}"))
        return None
    if not constraint.contains(service.version, prereleases=True):
        problems.append(_version_problem(name, constraint, service.version, type(plugin).__module__))
        return None
    schema = _ask(host, name, "webims_settings_schema", problems) or {}
    settings, setting_problems = apply_schema(schema, raw_settings, f"settings.{name}")
    problems += setting_problems
    assets = _ask(host, name, "webims_portal_assets", problems)
    routes = tuple(_ask(host, name, "webims_sip_routes", problems) or ())
    capabilities = _ask(host, name, "webims_capabilities", problems) or Capabilities()
    if not isinstance(capabilities, Capabilities):
        problems.append(ConfigProblem(key, f"plugin {name!r}: webims_capabilities() must return a "
                                           "webims.service.Capabilities or None"))
        capabilities = Capabilities()
    return LoadedService(service, plugin, MappingProxyType(settings), assets, routes, capabilities)


def _ask(host: PluginHost, name: str, hook_name: str, problems: list[ConfigProblem]):
    try:
        result = host.call_owner(name, hook_name)
    except Exception as error:
        problems.append(ConfigProblem(f"services.{name}", f"{hook_name}() raised {type(error).__name__}: {error}"))
        return None
    # Broadcast-style hooks return a list of results, one per plugin; we asked only this plugin.
    if isinstance(result, list):
        return result[0] if result else None
    return result


def _version_problem(name: str, constraint: SpecifierSet, version: str, where: str) -> ConfigProblem:
    return ConfigProblem(f"services.{name}", f"plugin {name!r} version {version} (from {where}) does not satisfy "
                                             f"the configured constraint {constraint}")


def _route_conflicts(host: PluginHost) -> list[ConfigProblem]:
    owners: dict[SipRoute, str] = {}
    problems = []
    for name, loaded in host.services.items():
        for route in loaded.routes:
            if route in owners:
                problems.append(ConfigProblem(f"services.{name}", f"SIP route {route} is claimed by both "
                                                                  f"{owners[route]!r} and {name!r}"))
            owners[route] = name
    return problems
