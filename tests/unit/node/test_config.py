"""Node configuration: defaults, TOML, flags, and a clear error for every bad setting."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.node.config import (
    ConfigError,
    NodeConfig,
    apply_overrides,
    build_config,
    dump_config,
    load_config,
)


def test_defaults_need_no_file() -> None:
    config = load_config(None)
    assert config == NodeConfig()
    assert config.p2p.host == config.rpc.host == config.metrics.host == "127.0.0.1"
    assert not config.is_validator
    assert config.p2p_key_file == Path("./.localnet/node0/p2p.key")
    assert config.get_chain_path(1) == Path("./.localnet/node0/shard1")


def test_file_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text('datadir = "/data/n1"\n[p2p]\nport = 9100\nbootnodes = ["/ip4/127.0.0.1/tcp/9000/p2p/Qm"]\n'
                    '[consensus]\nbls_key_files = ["a.key"]\n')
    config = load_config(path)
    assert (config.datadir, config.p2p.port, config.p2p.bootnodes) == ("/data/n1", 9100, ("/ip4/127.0.0.1/tcp/9000/p2p/Qm",))
    assert config.is_validator
    overridden = apply_overrides(config, {"p2p.port": 9200, "rpc.port": None, "datadir": "/data/n2"})
    assert (overridden.p2p.port, overridden.rpc.port, overridden.datadir) == (9200, 9500, "/data/n2")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("datadri = 'x'", "unknown setting datadri"),
        ("[p2p]\nprot = 1", "unknown setting p2p.prot"),
        ("[p2p]\nport = '9000'", "p2p.port must be an integer"),
        ("[p2p]\nport = 70000", "between 0 and 65535"),
        ("[p2p]\npeer_messages_per_s = 0", "peer_messages_per_s and p2p.peer_message_burst must be at least 1"),
        ("[rpc]\nenabled = 1", "rpc.enabled must be true or false"),
        ("[p2p]\nbootnodes = 'x'", "a list of strings"),
        ("[log]\nlevel = 'loud'", "log.level"),
        ("[consensus]\nblock_time_ms = 10", "block_time_ms"),
        ("[consensus]\nshard = -2", "consensus.shard"),
        ("p2p = 3", "[p2p] must be a table"),
        ("[p2p", "not valid TOML"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "node.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason.replace("[", r"\[")):
        load_config(path)


def test_missing_file_and_unknown_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="unknown setting p2p.nope"):
        apply_overrides(NodeConfig(), {"p2p.nope": 1})


@given(st.integers(0, 65535), st.lists(st.text(max_size=20), max_size=3), st.text(min_size=1, max_size=30),
       st.booleans())
def test_dump_reads_back_to_the_same_config(port: int, bootnodes: list[str], datadir: str, enabled: bool) -> None:
    config = build_config({"datadir": datadir, "p2p": {"port": port, "bootnodes": bootnodes},
                           "rpc": {"enabled": enabled}})
    assert build_config(tomllib.loads(dump_config(config))) == config
