"""The node's configuration: a TOML file, overridden by command-line flags, checked before start.

Every setting has a default that works on a laptop localnet, so a node starts with no file at all.
Unknown sections or keys are errors, not silently ignored: a typo in a validator's config must not
turn into a node running with defaults. ``dump_config`` writes the effective configuration back
as TOML (``hmy-node config dump``), which is also the easiest way to start a config file.

    datadir = "./.localnet/node0"
    genesis = ""                      # a genesis JSON file; empty: the built-in localnet

    [p2p]
    host = "127.0.0.1"
    port = 9000
    bootnodes = ["/ip4/127.0.0.1/tcp/9000/p2p/Qm..."]
    key_file = ""                     # empty: <datadir>/p2p.key (created on first start)
    peer_messages_per_s = 200         # new gossip messages one peer may forward to us per second; more are dropped
    peer_message_burst = 2000

    [consensus]
    bls_key_files = ["validator.key"] # none: a non-validating node
    passphrase_file = ""              # empty: the passphrase is read from stdin
    shard = -1                        # the shard a node follows and its RPC serves; -1: its keys' genesis shard, else 0
    block_time_ms = 1000
    view_timeout_ms = 4000
    blocks_per_leader = 4
    debug_double_sign = false         # fault injection for tests: sign a conflicting commit vote too (gets slashed)

    [rpc]
    enabled = true
    host = "127.0.0.1"                # loopback unless you mean to serve others
    port = 9500                       # HTTP and WebSocket on the same port
    requests_per_second = 1000        # per client address; 0: no limit
    shard_urls = []                   # each shard's public RPC URL; empty: 127.0.0.1:(port - 2*shard + 2*s)

    [metrics]
    enabled = true
    host = "127.0.0.1"
    port = 9900

    [log]
    level = "info"                    # debug, info, warning, error
    format = "json"                   # json (one object per line) or text
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harmony_node.exceptions import HarmonyError

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")


class ConfigError(HarmonyError):
    """The configuration file or a flag is invalid; the message names the setting."""


@dataclass(frozen=True, slots=True)
class P2PSettings:
    host: str = "127.0.0.1"
    port: int = 9000
    bootnodes: tuple[str, ...] = ()
    key_file: str = ""
    peer_messages_per_s: int = 200
    peer_message_burst: int = 2000


@dataclass(frozen=True, slots=True)
class ConsensusSettings:
    bls_key_files: tuple[str, ...] = ()
    passphrase_file: str = ""
    shard: int = -1
    block_time_ms: int = 1000
    view_timeout_ms: int = 4000
    blocks_per_leader: int = 4
    debug_double_sign: bool = False
    """Fault injection (hidden flag ``--debug.double-sign``): with every commit vote, also sign and send
    a conflicting one, so that tests can watch a real equivocation get this validator slashed."""


@dataclass(frozen=True, slots=True)
class RPCSettings:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9500
    requests_per_second: int = 1000
    shard_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9900


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "info"
    format: str = "json"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    datadir: str = "./.localnet/node0"
    genesis: str = ""
    p2p: P2PSettings = field(default_factory=P2PSettings)
    consensus: ConsensusSettings = field(default_factory=ConsensusSettings)
    rpc: RPCSettings = field(default_factory=RPCSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    log: LogSettings = field(default_factory=LogSettings)

    @property
    def p2p_key_file(self) -> Path:
        return Path(self.p2p.key_file) if self.p2p.key_file else Path(self.datadir) / "p2p.key"

    def get_chain_path(self, shard_id: int) -> Path:
        """The LevelDB directory of one shard's chain."""
        return Path(self.datadir) / f"shard{shard_id}"

    @property
    def is_validator(self) -> bool:
        return bool(self.consensus.bls_key_files)


_SECTIONS = {"p2p": P2PSettings, "consensus": ConsensusSettings, "rpc": RPCSettings, "metrics": MetricsSettings,
             "log": LogSettings}


def _coerce(where: str, default: object, value: object) -> object:
    """``value`` as the type of ``default``, or ConfigError naming ``where``."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, tuple):
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return tuple(value)
    expected = {bool: "true or false", int: "an integer", str: "a string", tuple: "a list of strings"}[type(default)]
    raise ConfigError(f"{where} must be {expected}, got {value!r}")


def _build_section(name: str, cls: type[Any], values: object) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    defaults = cls()
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown setting {name}.{unknown[0]} (known: {', '.join(sorted(known))})")
    return replace(defaults, **{k: _coerce(f"{name}.{k}", getattr(defaults, k), v) for k, v in values.items()})


def build_config(document: dict[str, Any]) -> NodeConfig:
    """A checked ``NodeConfig`` from a parsed TOML document (or a dict of the same shape)."""
    top = {k: v for k, v in document.items() if k not in _SECTIONS}
    unknown = sorted(set(top) - {"datadir", "genesis"})
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]} (known: datadir, genesis and the sections "
                          f"{', '.join(f'[{s}]' for s in _SECTIONS)})")
    base = NodeConfig()
    changes: dict[str, Any] = {k: _coerce(k, getattr(base, k), v) for k, v in top.items()}
    changes.update({name: _build_section(name, cls, document[name]) for name, cls in _SECTIONS.items()
                    if name in document})
    config = replace(base, **changes)
    validate_config(config)
    return config


def validate_config(config: NodeConfig) -> None:
    for where, port in (("p2p.port", config.p2p.port), ("rpc.port", config.rpc.port),
                        ("metrics.port", config.metrics.port)):
        if not 0 <= port <= 65535:
            raise ConfigError(f"{where} must be between 0 and 65535, got {port}")
    if not config.datadir:
        raise ConfigError("datadir must not be empty")
    if config.p2p.peer_messages_per_s < 1 or config.p2p.peer_message_burst < 1:
        raise ConfigError("p2p.peer_messages_per_s and p2p.peer_message_burst must be at least 1")
    if config.rpc.requests_per_second < 0:
        raise ConfigError("rpc.requests_per_second must be 0 (no limit) or more")
    for url in config.rpc.shard_urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"rpc.shard_urls: {url!r} is not an http:// or https:// URL")
    if config.log.level not in LOG_LEVELS:
        raise ConfigError(f"log.level must be one of {', '.join(LOG_LEVELS)}")
    if config.log.format not in LOG_FORMATS:
        raise ConfigError(f"log.format must be one of {', '.join(LOG_FORMATS)}")
    consensus = config.consensus
    if consensus.shard < -1:
        raise ConfigError("consensus.shard must be a shard number, or -1 to derive it")
    if consensus.block_time_ms < 100 or consensus.view_timeout_ms < consensus.block_time_ms:
        raise ConfigError("consensus.block_time_ms must be >= 100 and view_timeout_ms >= block_time_ms")
    if consensus.blocks_per_leader < 1:
        raise ConfigError("consensus.blocks_per_leader must be at least 1")


def load_config(path: str | Path | None) -> NodeConfig:
    """Read a TOML config file (None: every default)."""
    if path is None:
        return build_config({})
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return build_config(document)


def apply_overrides(config: NodeConfig, overrides: dict[str, object]) -> NodeConfig:
    """Apply flags given as dotted names (``"p2p.port": 9001``); None values mean "not given"."""
    document: dict[str, Any] = {"datadir": config.datadir, "genesis": config.genesis}
    for name in _SECTIONS:
        section = getattr(config, name)
        document[name] = {f.name: getattr(section, f.name) for f in fields(section)}
    for dotted, value in overrides.items():
        if value is None:
            continue
        section_name, _, key = dotted.rpartition(".")
        target = document[section_name] if section_name else document
        if key not in target:
            raise ConfigError(f"unknown setting {dotted}")
        target[key] = value
    return build_config(document)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    assert isinstance(value, str)
    escaped = "".join(
        "\\" + char if char in '"\\' else f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char
        for char in value
    )
    return f'"{escaped}"'


def dump_config(config: NodeConfig) -> str:
    """The effective configuration as TOML that ``load_config`` reads back to the same value."""
    lines = [f"datadir = {_toml_value(config.datadir)}", f"genesis = {_toml_value(config.genesis)}"]
    for name in _SECTIONS:
        section = getattr(config, name)
        lines += ["", f"[{name}]"] + [f"{f.name} = {_toml_value(getattr(section, f.name))}" for f in fields(section)]
    return "\n".join(lines) + "\n"
