"""Network faults between hosts (issue #9): the localnet runs each node in a network namespace of its
own (``localnet up --netns``: its own address behind a veth pair on a bridge), so the nodes talk
over real links between distinct addresses, not 127.0.0.1, and the links can fail:

- a 2|2 partition of the four validators: neither side holds 2f+1 = 3 votes, so the chain must halt
  without forking, and resume once the partition heals;
- the leader's cable pulled out: the other three change view and go on; the leader, still running
  alone with stale timers, must rejoin and agree on every block;
- two chains on ten hosts (eight validators, two RPC nodes) with transfers between them, and the
  destination shard's leader cut off while receipts are in flight: every cross-shard transfer is
  credited exactly once.

Each ends with the full checker, as in ``test_fault_scenarios``. Needs root and iproute2 (the CI
machine has both); skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from testnet_harness import Isolate, Leader, LoadOptions, Manifest, Partition, Scheduled, run_holding_scenario

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="network namespaces need root and iproute2"),
]
HOSTS = Manifest(shards=1, validators_per_shard=4, epoch_blocks=8, netns=True)
TWO_SHARD_HOSTS = Manifest(shards=2, validators_per_shard=4, epoch_blocks=8, netns=True)


def _run(name: str, fault: Partition | Isolate, tmp_path: Path, manifest: Manifest = HOSTS,
         options: LoadOptions = LoadOptions()) -> None:
    run = run_holding_scenario(name, manifest, [Scheduled(5, fault)], tmp_path, options)
    hosts = {node["host"] for node in run.net.nodes.values()}
    assert len(hosts) == len(run.net.nodes) and "127.0.0.1" not in hosts, hosts


@pytest.mark.timeout(240)
def test_two_two_partition_halts_then_heals(tmp_path: Path) -> None:
    """Validators 0, 1 | 2, 3 (+ the RPC node) for 15 s: no block on either side, then the chain
    goes on from where it stopped, one chain on every node."""
    _run("2|2 partition of the validators for 15 s, heal",
         Partition((("s0-v0", "s0-v1"), ("s0-v2", "s0-v3", "s0-rpc")), duration_s=15, expect_halt=True), tmp_path)


@pytest.mark.timeout(240)
def test_isolated_leader_is_replaced_and_rejoins(tmp_path: Path) -> None:
    """The leader early in its turn loses its link for 12 s (its view times out after 4 s): the others
    change view; when the link comes back the old leader syncs and votes again."""
    _run("isolate the leader (link down 12 s)",
         Isolate(Leader(0, early_in_turn=True), duration_s=12, expect_view_change=True), tmp_path)


@pytest.mark.timeout(300)
def test_two_shards_on_separate_hosts_with_the_destination_leader_cut_off(tmp_path: Path) -> None:
    """Two chains on ten hosts (eight validators, two RPC nodes), every third transfer crossing shards
    both ways; shard 1's leader loses its link for 10 s. Shard 1 changes view, receipts from shard 0 wait, and
    after the link is back every acknowledged cross-shard transfer is credited exactly once."""
    _run("two shards on 10 hosts: cut the link of shard 1's leader for 10 s under cross-shard load",
         Isolate(Leader(1, early_in_turn=True), duration_s=10, expect_view_change=True), tmp_path,
         TWO_SHARD_HOSTS, LoadOptions(active_per_shard=4, cross_shard_every=3))
