"""``hmy-node localnet`` without processes: material, port layout, pid-file trust, port conflicts, status.

The contract (DESIGN.md §4) is what scripts rely on: ports, names, chain id, the funded account and
the shape of ``status --json``. Status is assembled from metrics text rendered by the node's own
``Metrics`` class, so a change of metric format breaks these tests rather than the localnet.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.node import main as hmy_node
from crypto import bls
from crypto.address import parse_address
from harmony_node.chain.genesis import load_genesis
from harmony_node.exceptions import HarmonyError
from harmony_node.node.keys import load_validator_keys, read_passphrase_file
from harmony_node.node.localnet import (
    FUNDED_ADDRESS,
    PID_FILE,
    Localnet,
    LocalnetError,
    LocalnetSettings,
    NodeSpec,
    add_validator,
    build_start_command,
    build_status,
    check_settings,
    create_localnet,
    find_port_conflicts,
    format_status,
    get_running_pid,
    get_validator_secret,
    is_port_free,
    load_localnet,
    parse_metrics,
    plan_added_validator,
    plan_nodes,
    read_proc_cmdline,
    tail_log,
    up,
    write_manifest,
)
from harmony_node.node.metrics import Metrics

SMALL = LocalnetSettings(shards=2, validators_per_shard=2, base_port=41000)


@pytest.fixture(scope="module")
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Localnet:
    return create_localnet(tmp_path_factory.mktemp("localnet"), SMALL)


def test_default_port_layout_is_the_contract() -> None:
    plans = {plan.name: plan for plan in plan_nodes(LocalnetSettings())}
    assert len(plans) == 15
    for shard in range(3):
        rpc = plans[f"s{shard}-rpc"]
        assert (rpc.role, rpc.shard, rpc.rpc_port, rpc.p2p_port, rpc.metrics_port) == \
            ("rpc", shard, 9500 + 2 * shard, 9100 + shard, 9900 + shard)
        for v in range(4):
            i = shard * 4 + v
            validator = plans[f"s{shard}-v{v}"]
            assert (validator.role, validator.shard, validator.validator_index) == ("validator", shard, i)
            assert (validator.p2p_port, validator.rpc_port, validator.metrics_port) == (9000 + i, 9600 + i, 9800 + i)


def test_base_port_shifts_every_range() -> None:
    default = plan_nodes(LocalnetSettings())
    shifted = plan_nodes(LocalnetSettings(base_port=20000))
    for a, b in zip(default, shifted, strict=True):
        assert (b.p2p_port - a.p2p_port, b.rpc_port - a.rpc_port, b.metrics_port - a.metrics_port) == (11000,) * 3


@pytest.mark.parametrize("settings", [LocalnetSettings(shards=1, validators_per_shard=101),
                                      LocalnetSettings(shards=51, validators_per_shard=1),
                                      LocalnetSettings(base_port=65000)])
def test_layouts_that_collide_or_overflow_are_refused(settings: LocalnetSettings) -> None:
    with pytest.raises(LocalnetError):
        plan_nodes(settings)


def test_validator_keys_are_deterministic_and_distinct() -> None:
    assert get_validator_secret(0) == get_validator_secret(0)
    assert len({get_validator_secret(i) for i in range(12)}) == 12


def test_genesis_names_the_committees_and_funds_the_localnet_account(localnet: Localnet) -> None:
    genesis = load_genesis(localnet.genesis_file)
    assert (genesis.network, genesis.config.chain_id, genesis.config.num_shards) == ("localnet", 2, 2)
    assert genesis.alloc == ((parse_address(FUNDED_ADDRESS), 10_000_000_000 * 10**18),)
    for shard in range(2):
        expected = tuple(bls.secret_to_public(get_validator_secret(shard * 2 + v)) for v in range(2))
        assert genesis.get_committee_keys(shard) == expected


def test_key_files_open_with_the_passphrase_file(localnet: Localnet) -> None:
    passphrase = read_passphrase_file(localnet.passphrase_file)
    validators = [node for node in localnet.nodes if node.role == "validator"]
    assert [node.name for node in validators] == ["s0-v0", "s0-v1", "s1-v0", "s1-v1"]
    for index, node in enumerate(validators):
        assert node.key_file is not None
        assert load_validator_keys([localnet.root / node.key_file], passphrase) == [get_validator_secret(index)]
        assert node.bls_public_key == "0x" + bls.secret_to_public(get_validator_secret(index)).hex()


def test_manifest_reads_back_and_material_is_reproducible(localnet: Localnet, tmp_path: Path) -> None:
    assert load_localnet(localnet.root) == localnet
    again = create_localnet(tmp_path / "other", SMALL)
    assert again.genesis_file.read_text() == localnet.genesis_file.read_text()
    assert [n.ports for n in again.nodes] == [n.ports for n in localnet.nodes]
    assert load_localnet(tmp_path / "missing") is None


def test_every_node_lists_every_other_as_bootnode(localnet: Localnet) -> None:
    for node in localnet.nodes:
        command = build_start_command(localnet, node, "hmy-node")
        bootnodes = {command[i + 1] for i, arg in enumerate(command) if arg == "--bootnode"}
        assert bootnodes == {other.multiaddr for other in localnet.nodes if other is not node}
        assert command[command.index("--datadir") + 1] == str(localnet.root / node.name)
        assert command[command.index("--rpc.port") + 1] == str(node.rpc_port)
        # Every node's RPC serves its own shard and names the RPC node of each shard (getShardingStructure).
        assert command[command.index("--shard") + 1] == str(node.shard)
        shard_urls = [command[i + 1] for i, arg in enumerate(command) if arg == "--rpc.shard-url"]
        rpc_nodes = sorted((n for n in localnet.nodes if n.role == "rpc"), key=lambda n: n.shard)
        assert shard_urls == [f"http://127.0.0.1:{n.rpc_port}" for n in rpc_nodes]
        if node.role == "validator":
            assert "--bls-key" in command and "--passphrase-file" in command
        else:
            assert "--bls-key" not in command


def test_options_that_contradict_the_manifest_are_refused(localnet: Localnet) -> None:
    check_settings(localnet, {"shards": 2, "validators_per_shard": None})
    with pytest.raises(LocalnetError, match="reset"):
        check_settings(localnet, {"shards": 3})


def test_a_pid_file_is_trusted_only_for_this_nodes_hmy_node(tmp_path: Path) -> None:
    datadir = tmp_path / "s0-v1"
    pid_file = datadir / PID_FILE
    ours = ["/venv/bin/python", "/venv/bin/hmy-node", "start", "--datadir", str(datadir), "--p2p.port", "9001"]
    processes = {
        100: ours,
        101: ["/venv/bin/python", "/venv/bin/hmy-node", "start", "--datadir", str(datadir) + "0"],  # s0-v10
        102: ["/usr/bin/sleep", "--datadir", str(datadir)],  # pid reused by another program
    }
    assert get_running_pid(pid_file, datadir, processes.get) is None  # no pid file
    datadir.mkdir()
    for content, expected in (("100\n", 100), ("101", None), ("102", None), ("103", None), ("garbage", None)):
        pid_file.write_text(content)
        assert get_running_pid(pid_file, datadir, processes.get) == expected, content


def test_proc_cmdline_of_this_process_and_of_none() -> None:
    args = read_proc_cmdline(os.getpid())
    assert args is not None and "python" in os.path.basename(args[0])
    with open("/proc/sys/kernel/pid_max") as handle:
        assert read_proc_cmdline(int(handle.read()) + 1) is None


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_listening_port_is_a_conflict(localnet: Localnet, listener: int) -> None:
    assert not is_port_free(listener)
    node = localnet.nodes[0]
    taken = {listener}
    assert find_port_conflicts(localnet.nodes, lambda port: port not in taken) == []
    taken = {node.metrics_port}
    assert find_port_conflicts(localnet.nodes, lambda port: port not in taken) == \
        [f"port {node.metrics_port} of {node.name} is in use"]


def test_up_refuses_a_taken_port_before_starting_anything(tmp_path: Path, listener: int) -> None:
    base = listener - 9800 + 9000  # validator 0's metrics port is the listener's
    with pytest.raises(LocalnetError, match=f"port {listener} of s0-v0 is in use"):
        up(tmp_path / "net", {"shards": 1, "validators_per_shard": 1, "base_port": base})
    localnet = load_localnet(tmp_path / "net")
    assert localnet is not None  # the material stays for the next attempt
    assert not any((localnet.get_node_dir(node) / PID_FILE).exists() for node in localnet.nodes)


def test_up_refuses_a_directory_that_is_not_a_localnet(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LocalnetError, match="holds no localnet"):
        up(tmp_path, {})


def _metrics_text(shard: int, height: int, view: int, leader: bytes | None, peers: int) -> str:
    metrics = Metrics()
    metrics.set("hmy_chain_height", height, shard)
    metrics.set("hmy_chain_epoch", height // 16, shard)
    metrics.set("hmy_consensus_view", view, shard)
    metrics.set("hmy_p2p_peers", peers)
    metrics.set("hmy_chain_block_time_seconds", 1.25, shard)
    metrics.set("hmy_chain_tps", height / 10, shard)
    if leader is not None:
        metrics.set_leader(shard, leader)
    return metrics.render()


def test_status_takes_each_chain_from_its_highest_node_and_names_the_leader(localnet: Localnet) -> None:
    key = {node.name: bytes.fromhex(node.bls_public_key[2:]) for node in localnet.nodes if node.bls_public_key}
    pids: dict[str, int | None] = {"s0-v0": 10, "s0-v1": 11, "s0-rpc": 12, "s1-v0": None, "s1-v1": 21, "s1-rpc": 22}
    metrics: dict[str, str | None] = {
        "s0-v0": _metrics_text(0, 17, 18, key["s0-v0"], 4),  # behind: syncing
        "s0-v1": _metrics_text(0, 19, 20, key["s0-v1"], 5),
        "s0-rpc": _metrics_text(0, 19, 20, None, 5),  # as high, but has not seen a leader
        "s1-v1": None,  # running but not answering
        "s1-rpc": _metrics_text(1, 3, 4, key["s1-v0"], 2),
    }
    status = build_status(localnet, pids, metrics)
    json.dumps(status)  # what `status --json` prints
    assert status["chains"] == {
        "0": {"height": 19, "epoch": 1, "view": 20, "leader": "s0-v1", "peers": 5, "block_time_s": 1.25, "tps": 1.9},
        "1": {"height": 3, "epoch": 0, "view": 4, "leader": "s1-v0", "peers": 2, "block_time_s": 1.25, "tps": 0.3}}
    nodes = {node["name"]: node for node in status["nodes"]}
    assert nodes["s1-v0"]["running"] is False and nodes["s1-v0"]["pid"] is None
    assert nodes["s0-v1"] == {"name": "s0-v1", "role": "validator", "shard": 0, "chains": [0], "pid": 11, "host": "127.0.0.1",
                              "p2p_port": 41001, "rpc_port": 41601, "metrics_port": 41801,
                              "datadir": str(localnet.root / "s0-v1"), "running": True, "height": 19, "peers": 5}
    assert nodes["s1-rpc"]["role"] == "rpc" and nodes["s1-rpc"]["rpc_port"] == 41502
    table = format_status(status)
    assert "s0-v1" in table and "5 of 6 nodes running" in table
    assert "block_s" in table and "tx/s" in table and "1.25" in table and "1.9" in table


def test_status_of_a_stopped_localnet_has_no_figures(localnet: Localnet) -> None:
    status = build_status(localnet, {}, {})
    assert all(chain == {"height": None, "epoch": None, "view": None, "leader": None, "peers": None,
                         "block_time_s": None, "tps": None}
               for chain in status["chains"].values())
    assert not any(node["running"] for node in status["nodes"])


def test_metrics_parser_skips_comments_and_junk() -> None:
    text = '# HELP x\nhmy_p2p_peers 3\nhmy_chain_height{shard="1"} 12\nbroken line here\n\n'
    assert parse_metrics(text) == [("hmy_p2p_peers", {}, 3.0), ("hmy_chain_height", {"shard": "1"}, 12.0)]


def test_logs_print_the_tail(localnet: Localnet) -> None:
    log = localnet.root / "s0-rpc" / "node.log"
    log.write_text("".join(f"line {i}\n" for i in range(500)))
    assert tail_log(localnet, "s0-rpc", 2) == "line 498\nline 499"
    assert tail_log(localnet, "s1-rpc", 5) == ""
    with pytest.raises(LocalnetError, match="no node 'nope'"):
        tail_log(localnet, "nope", 5)


def test_localnet_commands_explain_themselves_and_refuse_a_missing_localnet(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("up", "add-validator", "status", "logs", "down", "reset"):
        result = runner.invoke(hmy_node, ["localnet", name, "--help"])
        assert result.exit_code == 0 and "--datadir" in result.output, name
    key_file = tmp_path / "k.key"
    key_file.write_text("{}")
    for command in (["status"], ["down"], ["reset", "--yes"], ["logs", "s0-v0"],
                    ["add-validator", "--bls-key", str(key_file), "--passphrase-file", str(key_file)]):
        result = runner.invoke(hmy_node, ["localnet", *command, "--datadir", str(tmp_path / "none")])
        assert result.exit_code == 1 and "no localnet" in result.output, command


def test_added_validators_take_their_own_port_range_and_passphrase(localnet: Localnet, tmp_path: Path) -> None:
    first = plan_added_validator(localnet)
    offset = SMALL.base_port - 9000
    assert (first.name, first.role, first.shard) == ("x0", "validator", 0)
    assert (first.p2p_port, first.rpc_port, first.metrics_port) == (offset + 9200, offset + 9700, offset + 9950)
    taken = {port for node in localnet.nodes for port in node.ports}
    assert not taken & {first.p2p_port, first.rpc_port, first.metrics_port}
    node = NodeSpec("x0", "validator", 0, first.p2p_port, first.rpc_port, first.metrics_port, "x0",
                    "x0/validator.key", "0x" + "ab" * 48, "peer", passphrase_file="x0/passphrase")
    grown = Localnet(localnet.root, localnet.settings, (*localnet.nodes, node))
    assert plan_added_validator(grown).name == "x1"
    command = build_start_command(grown, node, "hmy-node")
    assert command[command.index("--passphrase-file") + 1] == str(localnet.root / "x0/passphrase")
    assert command[command.index("--bls-key") + 1] == str(localnet.root / "x0/validator.key")
    # Every node of the localnet is its bootnode, and it is theirs on their next start.
    assert {command[i + 1] for i, arg in enumerate(command) if arg == "--bootnode"} == {
        other.multiaddr for other in localnet.nodes}
    assert node.multiaddr in build_start_command(grown, localnet.nodes[0], "hmy-node")


def test_add_validator_refuses_a_key_the_localnet_runs_and_a_wrong_passphrase(tmp_path: Path) -> None:
    net = create_localnet(tmp_path / "net", SMALL)
    passphrase = tmp_path / "pass"
    passphrase.write_text("localnet\n")
    own_key = net.root / "s1-v0" / "validator.key"
    with pytest.raises(LocalnetError, match="s1-v0 already runs BLS key"):
        add_validator(net.root, own_key, passphrase)
    passphrase.write_text("wrong\n")
    with pytest.raises(HarmonyError, match="validator.key"):
        add_validator(net.root, own_key, passphrase)
    assert load_localnet(net.root) == net, "a refused key leaves the manifest as it was"
    write_manifest(net)
    assert load_localnet(net.root) == net


def test_a_node_config_in_the_localnet_directory_reaches_every_node(tmp_path: Path) -> None:
    net = create_localnet(tmp_path / "net", SMALL)
    assert "--config" not in build_start_command(net, net.nodes[0], "hmy-node")
    (net.root / "node.toml").write_text("[p2p]\npeer_messages_per_s = 100\n")
    for node in net.nodes:
        command = build_start_command(net, node, "hmy-node")
        # First, so that the localnet's own flags (ports, keys, bootnodes) override the file.
        assert command[1:4] == ["start", "--config", str(net.root / "node.toml")]
