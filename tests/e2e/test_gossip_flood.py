"""A peer flooding a running chain's consensus topic: the chain keeps making blocks and memory stays bounded.

A one-chain localnet (``hmy-node localnet up --shards 1``: four validators and an RPC node) runs; a
gossip peer of our own (``tests/e2e/gossip_peer.py``) connects to every node and writes 20,000
signed, well-formed envelopes of junk transactions for the beacon's consensus topic straight onto a
pubsub stream to each node, 100 per RPC, as fast as it can. What each node takes from one peer is
capped by the per-peer limits (``harmony_node/p2p/peer_rate``): its streams are read at 256 KiB/s
after 2 MiB (the flooder waits), and of what is read 200 new messages/s after 2,000 are taken, the
rest dropped before they are decoded or queued. The test prints the figures:
messages offered, dropped per node, blocks made during the flood, RSS of every node before and after.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gossip_peer_process import GossipPeer, free_port, ready_addr
from localnet_runner import LocalnetCli
from node_cluster import read_metrics, wait_for

pytestmark = pytest.mark.slow
TOPIC = "hmy/local/0.0.1/node/beacon"
FLOOD = 20_000
MESSAGE_SIZE = 300
MAX_RSS_GROWTH_MB = 60
AFTER_BLOCKS, AFTER_S = 5, 60.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _height(cli: LocalnetCli) -> int:
    return int(cli.get_status()["chains"]["0"]["height"] or 0)


@pytest.mark.timeout(240)
def test_a_flooding_peer_is_rate_limited_and_the_chain_goes_on(cli: LocalnetCli, tmp_path: Path) -> None:
    result = cli.run("up", "--base-port", str(cli.base_port), "--shards", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for(lambda: _height(cli) >= 5, 120, "the chain to reach block 5", interval=1)
    nodes = cli.get_status()["nodes"]
    manifest = json.loads((cli.datadir / "localnet.json").read_text())
    addresses = [f"/ip4/127.0.0.1/tcp/{n['p2p_port']}/p2p/{n['peer_id']}" for n in manifest["nodes"]]
    rss_before = {node["name"]: _rss_mb(node["pid"]) for node in nodes}

    flooder = GossipPeer("flooder", tmp_path, free_port(), addresses, TOPIC)
    try:
        ready_addr(flooder)
        wait_for(lambda: flooder.status()[1] >= 4, 30, "the validators to be seen on the topic")
        before = _height(cli)
        started = time.monotonic()
        flooder.send(f"flood {FLOOD} {MESSAGE_SIZE}")
        published = flooder.wait_for(lambda line: line.startswith("FLOODED "), 150).split()
        flood_s = float(published[3]) - float(published[2])
        during = _height(cli) - before
        # The burst allowance lets a first wave through, which can hold up a block or two; after
        # that the flooder is read at the byte rate and the chain must go on.
        wait_for(lambda: _height(cli) >= before + AFTER_BLOCKS, AFTER_S - (time.monotonic() - started),
                 f"{AFTER_BLOCKS} blocks within {AFTER_S} s of the flood's start", interval=1)
        after_s = time.monotonic() - started
        stopped = [line for line in flooder.drain_lines() if line.startswith("FLOOD_STOPPED")]
    finally:
        flooder.kill()

    dropped = {node["name"]: read_metrics(node["metrics_port"]).get("hmy_p2p_rate_limited_total", 0.0)
               for node in nodes}
    rss_after = {node["name"]: _rss_mb(node["pid"]) for node in nodes}
    print(f"\nflood: {FLOOD} messages of {MESSAGE_SIZE} B offered in {flood_s:.1f} s; blocks during it: {during}; "
          f"{AFTER_BLOCKS} blocks {after_s:.1f} s after its start; writes the nodes stopped taking: {len(stopped)}")
    for name in rss_before:
        print(f"  {name:<8} dropped {dropped[name]:>8.0f}   RSS {rss_before[name]:6.1f} -> {rss_after[name]:6.1f} MB")

    assert sum(dropped.values()) > 0, "the flood was never rate limited"
    growth = {name: rss_after[name] - rss_before[name] for name in rss_before}
    assert max(growth.values()) <= MAX_RSS_GROWTH_MB, growth
    assert all(node["running"] for node in cli.get_status()["nodes"])
    down = cli.run("down")
    assert down.returncode == 0, down.stdout + down.stderr
