"""``hmy-node localnet`` end to end: the real CLI starts the default 3-chain localnet, a killed
validator comes back with ``up``, the chains run on across reshuffling epochs with every node
agreeing on every hash, and ``down`` leaves no process behind.

Epochs are four blocks here instead of the default sixteen, so that the committees are reshuffled
twice (epochs 3 and 4 begin at blocks 9 and 13) within half a minute of blocks.

Runs on ports shifted away from the contract's (``localnet_runner``). The default 3 shards x
(4 validators + 1 RPC node) are used: 15 processes reach height 3 on every chain in about 15 s on
two cores. Every node process seen is killed (whole group) at the end, pass or fail.
"""

from __future__ import annotations

import os
import signal

import pytest

from harmony_node.chain.genesis import load_genesis
from harmony_node.node.localnet import is_node_command, read_proc_cmdline
from localnet_runner import LocalnetCli
from node_cluster import open_stopped_chain, read_chain_hashes, read_metrics, wait_for
from sharding.shard_state import ShardState

pytestmark = pytest.mark.slow


EPOCH_BLOCKS = 4
ACROSS_EPOCHS = 5 * EPOCH_BLOCKS + 2
"""A height every chain passes after two reshuffles: epoch 5 (blocks 17-20) has begun."""


def _beacon_height(metrics_port: int) -> int:
    return int(read_metrics(metrics_port).get('hmy_chain_height{shard="0"}', -1))


@pytest.mark.timeout(300)
def test_up_status_kill_up_epochs_down(cli: LocalnetCli) -> None:
    result = cli.run("up", "--base-port", str(cli.base_port), "--epoch-blocks", str(EPOCH_BLOCKS))
    assert result.returncode == 0, result.stdout + result.stderr
    status = cli.get_status()
    assert len(status["nodes"]) == 15 and all(node["running"] for node in status["nodes"]), status
    offset = cli.base_port - 9000
    rpc_ports = {node["shard"]: node["rpc_port"] for node in status["nodes"] if node["role"] == "rpc"}
    assert rpc_ports == {s: offset + 9500 + 2 * s for s in range(3)}
    cli.wait_until_live(120)

    again = cli.run("up")
    assert again.returncode != 0 and "already running" in again.stderr

    victim = next(node for node in cli.get_status()["nodes"] if node["name"] == "s1-v2")
    os.killpg(victim["pid"], signal.SIGKILL)
    wait_for(lambda: not next(n for n in cli.get_status()["nodes"] if n["name"] == "s1-v2")["running"], 10,
             "the killed validator to show as stopped")
    result = cli.run("up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "started 1 nodes: s1-v2" in result.stdout
    back = next(node for node in cli.get_status()["nodes"] if node["name"] == "s1-v2")
    assert back["running"] and back["pid"] != victim["pid"]
    # Its own shard may have moved on to other validators by now (epochs reshuffle): the beacon,
    # which every node follows, shows it loaded its chains and serves metrics again.
    wait_for(lambda: _beacon_height(back["metrics_port"]) >= 3, 60,
             "the restarted validator to load its chains and serve metrics again")
    assert all(node["running"] for node in cli.get_status()["nodes"])
    wait_for(lambda: all((chain["height"] or 0) >= ACROSS_EPOCHS for chain in cli.get_status()["chains"].values()),
             120, f"every chain to pass block {ACROSS_EPOCHS}", interval=1)

    result = cli.run("down")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopped 15 nodes" in result.stdout and "killed" not in result.stdout
    assert not any(node["running"] for node in cli.get_status()["nodes"])
    assert not list(cli.datadir.glob("s*-*/node.pid"))
    left = [pid for pid, node_dir in cli.seen.items()
            if (args := read_proc_cmdline(pid)) is not None and is_node_command(args, node_dir)]
    assert left == [], f"node processes left behind: {left}"

    # On disk: every copy of every chain agrees, and the beacon reshuffled the committees.
    genesis_file = cli.datadir / "genesis.json"
    node_dirs = sorted(path for path in cli.datadir.glob("s*-*") if path.is_dir())
    for shard in range(3):
        copies = [c for c in (read_chain_hashes(d, genesis_file, shard) for d in node_dirs) if c]
        # A validator that left a shard stopped following it: its copy is shorter, but a prefix.
        longest = max(copies, key=len)
        assert len(longest) > ACROSS_EPOCHS and all(c == longest[:len(c)] for c in copies), shard
    genesis = load_genesis(genesis_file)
    with open_stopped_chain(cli.datadir / "s0-v0", genesis_file, 0) as beacon:
        assert beacon is not None
        states = [ShardState.decode(beacon.get_header(EPOCH_BLOCKS * e).shard_state) for e in (1, 2)]
    assert any({slot.public_key for slot in state.shards[s]} != set(genesis.get_committee_keys(s))
               for state in states for s in range(3)), "committees were never reshuffled"
