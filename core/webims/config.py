"""The operator config: one TOML file, validated completely so that every problem is reported at once.

Layout (see ``config/webims.toml`` for a commented example)::

    [gateway]   listen address, allowed Origins, frame limit, logging, optional [gateway.tls]
    [portal]    what the subscriber sees: operator name, logo
    [ims]       the IMS core the gateway registers users with
    [services]  which plugins run: ``voice = ">=1.0,<2"`` (a PEP 440 constraint), ``"*"`` or ``true`` for any
    [settings.<service>]  each plugin's own table, checked against the schema the plugin declares

Validation is declarative: a schema maps keys to :class:`Setting` (or to a nested schema for a sub-table); the
same mechanism checks the core's sections and every plugin's settings, and each problem names its key path.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
from packaging.specifiers import InvalidSpecifier, SpecifierSet

REQUIRED = object()


@attrs.frozen
class ConfigProblem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@attrs.frozen
class Setting:
    """One config key: its type, default (``REQUIRED`` if none), a help line and an optional extra check.

    ``check`` takes the value and returns ``None`` when it is fine, or a sentence saying what is wrong.
    """

    type: type | tuple[type, ...]
    default: Any = REQUIRED
    help: str = ""
    check: Callable[[Any], str | None] | None = None


Schema = Mapping[str, "Setting | Schema"]


def apply_schema(schema: Schema, table: Mapping[str, Any], prefix: str) -> tuple[dict, list[ConfigProblem]]:
    """Check ``table`` against ``schema``; return the values with defaults filled in, and every problem found."""
    values: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key in table.keys() - schema.keys():
        known = ", ".join(sorted(schema)) or "none"
        problems.append(ConfigProblem(_join(prefix, key), f"unknown key (known keys here: {known})"))
    for key, setting in schema.items():
        path = _join(prefix, key)
        if isinstance(setting, Mapping):
            sub = table.get(key, {})
            if not isinstance(sub, Mapping):
                problems.append(ConfigProblem(path, "must be a table"))
                sub = {}
            values[key], sub_problems = apply_schema(setting, sub, path)
            problems += sub_problems
            continue
        value, problem = _check_setting(setting, table.get(key, REQUIRED))
        if problem:
            problems.append(ConfigProblem(path, problem))
        values[key] = value
    return values, problems


def _check_setting(setting: Setting, value: Any) -> tuple[Any, str | None]:
    if value is REQUIRED:
        if setting.default is REQUIRED:
            return None, f"required ({setting.help})" if setting.help else "required"
        return setting.default, None
    # TOML booleans are ints to isinstance(); a count must not accept `true`.
    if isinstance(value, bool) and bool not in _types(setting.type):
        return value, f"must be {_type_names(setting.type)}, not true/false"
    if not isinstance(value, setting.type):
        return value, f"must be {_type_names(setting.type)}, not {type(value).__name__} {value!r}"
    if setting.check:
        return value, setting.check(value)
    return value, None


def _types(kind) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _type_names(kind) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}
    return " or ".join(names.get(t, t.__name__) for t in _types(kind))


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


# --- checks shared by the core's schema and plugins' ------------------------------------------------------------

def in_range(low: int, high: int) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}, not {value}"
    return check


def one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}; not {value!r}"
    return check


def host_port(value: str) -> str | None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        return f"must be HOST:PORT (e.g. 127.0.0.1:8080), not {value!r}"
    return None


def sip_uri(value: str) -> str | None:
    return None if value.startswith(("sip:", "sips:")) else f"must be a sip: or sips: URI, not {value!r}"


# --- the core's own sections ------------------------------------------------------------------------------------

CORE_SCHEMA: Schema = {
    "gateway": {
        "listen": Setting(str, "127.0.0.1:8080", "address the portal and /ws listen on", host_port),
        "allowed_origins": Setting(list, [], "Origins allowed to open /ws; empty = the portal's own origin"),
        "max_frame_bytes": Setting(int, 65536, "largest browser message accepted", in_range(1024, 16 << 20)),
        "log_format": Setting(str, "keyvalue", "keyvalue or json", one_of("keyvalue", "json")),
        "log_level": Setting(str, "info", "", one_of("debug", "info", "warning", "error")),
        "tls": {
            "cert": Setting(str, "", "PEM certificate chain; required unless listening on loopback"),
            "key": Setting(str, "", "PEM private key"),
        },
    },
    "portal": {
        "operator_name": Setting(str, "webims", "shown on the login page and in the title"),
        "logo": Setting(str, "", "path of an image shown on the login page"),
    },
    "ims": {
        "proxy": Setting(str, REQUIRED, "the IMS core's SIP URI the gateway sends to", sip_uri),
        "domain": Setting(str, REQUIRED, "the home network domain, e.g. ims.test"),
        "realm": Setting(str, "", "digest realm; defaults to the domain"),
        "listen": Setting(str, "127.0.0.1:0", "the gateway's own SIP address (UDP and TCP); port 0 = any free",
                          host_port),
        "instance": Setting(str, "", "this gateway's name toward the IMS core, the same across restarts and "
                                     "different for each gateway; defaults to the host name and [gateway] listen"),
    },
}


@attrs.frozen
class TlsConfig:
    cert: Path
    key: Path


@attrs.frozen
class GatewayConfig:
    host: str
    port: int
    allowed_origins: tuple[str, ...]
    max_frame_bytes: int
    log_format: str
    log_level: str
    tls: TlsConfig | None


@attrs.frozen
class PortalConfig:
    operator_name: str
    logo: Path | None


@attrs.frozen
class ImsConfig:
    proxy: str
    domain: str
    realm: str
    listen: tuple[str, int] = ("127.0.0.1", 0)
    instance: str = ""


@attrs.frozen
class Config:
    gateway: GatewayConfig
    portal: PortalConfig
    ims: ImsConfig
    # service name -> version constraint; an empty SpecifierSet accepts any version.
    services: Mapping[str, SpecifierSet]
    # service name -> its raw settings table, checked later against the plugin's own schema.
    settings: Mapping[str, Mapping[str, Any]]
    source: Path | None = None


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise :class:`webims.errors.ConfigError` listing every problem."""
    from webims.errors import ConfigError

    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), "no such file")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(str(path), f"not valid TOML: {error}")]) from None
    config, problems = parse_config(document, base=path.parent)
    if problems:
        raise ConfigError(problems)
    return attrs.evolve(config, source=path)


def parse_config(document: Mapping[str, Any], base: Path = Path(".")) -> tuple[Config | None, list[ConfigProblem]]:
    """Validate a config already read from TOML; relative file paths are taken from ``base``."""
    sections = {key: document.get(key, {}) for key in CORE_SCHEMA}
    values, problems = apply_schema(CORE_SCHEMA, sections, "")
    for key in document.keys() - CORE_SCHEMA.keys() - {"services", "settings"}:
        problems.append(ConfigProblem(key, "unknown section (known: gateway, portal, ims, services, settings)"))
    services, service_problems = _parse_services(document.get("services", {}))
    settings = document.get("settings", {})
    if not isinstance(settings, Mapping):
        problems.append(ConfigProblem("settings", "must be a table of tables, one per service"))
        settings = {}
    for name in settings.keys() - services.keys():
        problems.append(ConfigProblem(f"settings.{name}", f"settings for {name!r}, which [services] does not enable"))
    problems += service_problems
    gateway = _gateway_config(values["gateway"], base, problems)
    if problems:
        return None, problems
    portal = values["portal"]
    ims = values["ims"]
    config = Config(
        gateway=gateway,
        portal=PortalConfig(portal["operator_name"], base / portal["logo"] if portal["logo"] else None),
        ims=ImsConfig(ims["proxy"], ims["domain"], ims["realm"] or ims["domain"], _split_host_port(ims["listen"]),
                      ims["instance"]),
        services=MappingProxyType(services),
        settings=MappingProxyType({name: MappingProxyType(dict(table)) for name, table in settings.items()}),
    )
    return config, []


def _parse_services(table: Any) -> tuple[dict[str, SpecifierSet], list[ConfigProblem]]:
    if not isinstance(table, Mapping):
        return {}, [ConfigProblem("services", "must be a table: service = \"version constraint\"")]
    services: dict[str, SpecifierSet] = {}
    problems = []
    for name, constraint in table.items():
        if constraint is False:
            continue  # `voice = false` keeps the line in the file but the service off
        if constraint is True or constraint == "*":
            services[name] = SpecifierSet()
            continue
        if not isinstance(constraint, str):
            problems.append(ConfigProblem(f"services.{name}", 'must be a version constraint like ">=1.0,<2", or true'))
            continue
        try:
            services[name] = SpecifierSet(constraint)
        except InvalidSpecifier:
            problems.append(ConfigProblem(f"services.{name}", f"{constraint!r} is not a version constraint "
                                                                'such as ">=1.0,<2"'))
    return services, problems


def _gateway_config(values: Mapping[str, Any], base: Path, problems: list[ConfigProblem]) -> GatewayConfig | None:
    if any(problem.key.startswith("gateway.") for problem in problems):
        return None
    host, port = _split_host_port(values["listen"])
    tls_values = values["tls"]
    tls = None
    if tls_values["cert"] or tls_values["key"]:
        if not (tls_values["cert"] and tls_values["key"]):
            problems.append(ConfigProblem("gateway.tls", "set both cert and key, or neither"))
        else:
            tls = TlsConfig(base / tls_values["cert"], base / tls_values["key"])
            for key in ("cert", "key"):
                if not (base / tls_values[key]).is_file():
                    problems.append(ConfigProblem(f"gateway.tls.{key}", f"no such file: {base / tls_values[key]}"))
    if tls is None and not _is_loopback(host):
        problems.append(ConfigProblem("gateway.listen", f"{host} is not a loopback address: plain HTTP is only "
                                                        "allowed on localhost; configure [gateway.tls]"))
    for index, origin in enumerate(values["allowed_origins"]):
        if not isinstance(origin, str) or "://" not in origin:
            problems.append(ConfigProblem(f"gateway.allowed_origins[{index}]",
                                          f"must be an origin like https://portal.example.net, not {origin!r}"))
    return GatewayConfig(
        host=host,
        port=port,
        allowed_origins=tuple(values["allowed_origins"]),
        max_frame_bytes=values["max_frame_bytes"],
        log_format=values["log_format"],
        log_level=values["log_level"],
        tls=tls,
    )


def _split_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
