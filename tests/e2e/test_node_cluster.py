"""Validator processes on one chain: agreement, kill -9 and restart, leader failure, a late joiner.

Each test runs real ``hmy-node start`` processes on 127.0.0.1 (libp2p, LevelDB, BLS), waits on
conditions with deadlines, and kills every process it started, pass or fail. Agreement is checked
on disk after a clean SIGTERM stop: every node's chain holds the same block hashes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consensus.bitmap import decode_bitmap
from crypto import bls
from harmony_node.chain.genesis import load_genesis
from node_cluster import Cluster, open_stopped_chain, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    created = Cluster(tmp_path / "cluster")
    try:
        yield created
    finally:
        created.close()


def _read_chain(cluster: Cluster, index: int) -> tuple[list[bytes], list[bytes]]:
    """(hashes, commit bitmaps) of node ``index``'s finalized chain, read from its stopped LevelDB."""
    with open_stopped_chain(cluster.nodes[index].datadir, cluster.genesis_file, 0) as chain:
        assert chain is not None
        blocks = [chain.get_block_by_number(n) for n in range(chain.head.number + 1)]
        return [b.header.hash for b in blocks], [b.header.last_commit_bitmap for b in blocks]


def _stop_all(cluster: Cluster, indices: list[int]) -> None:
    for index in indices:
        assert cluster.stop(index) == 0, f"node {index} did not exit cleanly:\n{cluster.dump_logs()}"


def _assert_agreement(cluster: Cluster, indices: list[int]) -> list[list[bytes]]:
    chains = [_read_chain(cluster, i)[0] for i in indices]
    shortest = min(len(c) for c in chains)
    for chain in chains[1:]:
        assert chain[:shortest] == chains[0][:shortest], "nodes finalized different blocks"
    return chains


@pytest.mark.timeout(180)
def test_four_validators_agree_at_one_second_blocks(cluster: Cluster) -> None:
    for index in range(4):
        cluster.start(index)
    cluster.wait_for_height(3, [0, 1, 2, 3], timeout=60)
    start_height, started = cluster.nodes[0].get_height(), time.monotonic()
    cluster.wait_for_height(start_height + 10, [0, 1, 2, 3], timeout=60)
    block_time = (time.monotonic() - started) / (cluster.nodes[0].get_height() - start_height)
    print(f"average block time {block_time:.2f} s over 10+ blocks")  # noqa: T201 - the figure for the issue note
    assert block_time < 1.2
    _stop_all(cluster, [0, 1, 2, 3])
    chains = _assert_agreement(cluster, [0, 1, 2, 3])
    assert min(len(c) for c in chains) >= start_height + 10


@pytest.mark.timeout(240)
def test_killed_validator_restarts_catches_up_and_signs_again(cluster: Cluster) -> None:
    for index in range(4):
        cluster.start(index)
    cluster.wait_for_height(3, [0, 1, 2, 3], timeout=60)
    cluster.kill(3)
    down_at = cluster.nodes[0].get_height()
    cluster.wait_for_height(down_at + 5, [0, 1, 2], timeout=60)  # three of four are a quorum
    cluster.start(3)
    target = cluster.nodes[0].get_height() + 3
    cluster.wait_for_height(target, [0, 1, 2, 3], timeout=90)
    rejoined = cluster.nodes[3].get_height()
    cluster.wait_for_height(rejoined + 4, [0, 1, 2, 3], timeout=60)
    _stop_all(cluster, [0, 1, 2, 3])
    _assert_agreement(cluster, [0, 1, 2, 3])
    _, bitmaps = _read_chain(cluster, 0)
    # Header N+1 names N's signers: node 3 (committee index 3) signed again after it came back.
    signed_after = [3 in decode_bitmap(bitmap, 4) for bitmap in bitmaps[rejoined + 1:]]
    assert any(signed_after), "the restarted validator never signed again"


@pytest.mark.timeout(240)
def test_leader_killed_view_change_keeps_blocks_coming(cluster: Cluster) -> None:
    for index in range(4):
        cluster.start(index)
    cluster.wait_for_height(3, [0, 1, 2, 3], timeout=60)
    view = int(cluster.nodes[0].get_chain_metric("hmy_consensus_view"))
    leader = (view // cluster.blocks_per_leader) % 4  # FBFT rotation: a leader keeps a few views
    cluster.kill(leader)
    others = [i for i in range(4) if i != leader]
    height, killed_at = max(cluster.nodes[i].get_height() for i in others), time.monotonic()
    cluster.wait_for_height(height + 3, others, timeout=60)
    print(f"3 blocks after the leader died in {time.monotonic() - killed_at:.1f} s")  # noqa: T201
    assert max(cluster.nodes[i].get_chain_metric("hmy_consensus_view_changes_total") for i in others) >= 1
    _stop_all(cluster, others)
    _assert_agreement(cluster, others)


@pytest.mark.timeout(300)
def test_late_node_syncs_two_hundred_blocks_verifying_certificates(tmp_path: Path) -> None:
    fast = Cluster(tmp_path / "fast", block_time_ms=200, view_timeout_ms=2000)
    try:
        for index in range(4):
            fast.start(index)
        fast.wait_for_height(200, [0, 1, 2, 3], timeout=200)
        late = fast.add_node(None)  # non-validating: follows shard 0
        fast.start(late.index)
        started = time.monotonic()
        wait_for(lambda: late.get_height() >= fast.nodes[0].get_height() - 2, timeout=90,
                 what=f"the late node to reach the head (heights {fast.get_heights()})")
        print(f"late node caught up {late.get_height()} blocks in {time.monotonic() - started:.1f} s")  # noqa: T201
        _stop_all(fast, [0, 1, 2, 3, late.index])
        _assert_agreement(fast, [0, late.index])
    finally:
        fast.close()


def test_committee_keys_are_the_clusters(tmp_path: Path) -> None:
    """The harness itself: the genesis committee is made of the cluster's keys, in order."""
    small = Cluster(tmp_path / "small", validators=2)
    genesis = load_genesis(small.genesis_file)
    assert genesis.get_committee_keys(0) == tuple(bls.secret_to_public(s) for s in small.secrets)
