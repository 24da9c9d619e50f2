"""A beacon and two shard chains as separate validator processes, across reshuffling epochs.

Twelve validators (four per chain at genesis) with four-block epochs: from epoch 3 on, every
chain's committee is the beacon's random assignment, so most validators move between chains and
must follow the beacon, sync their new chain during the lookahead epoch and validate there. Blocks
must keep coming on all three chains, and after a clean stop every node's copy of every chain it
followed must agree block for block, and the beacon must hold crosslinks of both shards' blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harmony_node.chain.genesis import load_genesis
from node_cluster import Cluster, open_stopped_chain, read_chain_hashes, wait_for
from sharding.shard_state import ShardState

pytestmark = pytest.mark.slow
SHARDS = 3
EPOCH_BLOCKS = 4


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Cluster]:
    created = Cluster(tmp_path / "net", shards=SHARDS, blocks_per_epoch=EPOCH_BLOCKS)
    try:
        yield created
    finally:
        created.close()


def _read_hashes(cluster: Cluster, index: int, shard: int) -> list[bytes]:
    return read_chain_hashes(cluster.nodes[index].datadir, cluster.genesis_file, shard)


def _max_height(cluster: Cluster, shard: int) -> int:
    return max(cluster.get_heights(shard))


@pytest.mark.timeout(420)
def test_three_chains_keep_going_across_reshuffled_epochs(network: Cluster) -> None:
    for index in range(len(network.nodes)):
        network.start(index)
    # Epoch 5 starts at block 17: committees were reshuffled for epochs 3, 4 and 5 by then.
    target = 5 * EPOCH_BLOCKS + 2
    wait_for(lambda: all(_max_height(network, s) >= target for s in range(SHARDS)), timeout=300,
             what=f"every chain to pass block {target} (heights per chain "
                  f"{[_max_height(network, s) for s in range(SHARDS)]})\n{network.dump_logs(10)}", interval=1)
    for index in range(len(network.nodes)):
        assert network.stop(index) == 0, network.dump_logs()

    beacon_copies = [_read_hashes(network, i, 0) for i in range(len(network.nodes))]
    assert all(len(copy) > target for copy in beacon_copies), "every node follows the beacon"
    for shard in range(SHARDS):
        copies = [c for c in (_read_hashes(network, i, shard) for i in range(len(network.nodes))) if c]
        longest = max(copies, key=len)  # a validator that left a shard keeps a shorter prefix of it
        assert all(c == longest[:len(c)] for c in copies), f"nodes disagree on shard {shard}"
        assert len(copies) >= 4, f"shard {shard} is followed by at least its committee"

    # The beacon published assignments, and they moved validators between chains.
    genesis = load_genesis(network.genesis_file)
    with open_stopped_chain(network.nodes[0].datadir, network.genesis_file, 0) as beacon:
        assert beacon is not None
        states = [ShardState.decode(beacon.get_header(EPOCH_BLOCKS * e).shard_state) for e in (1, 2, 3)]
        # Shard leaders posted their commit certificates to the beacon, which linked them.
        linked = [beacon.chain_store.get_last_linked(s) for s in range(1, SHARDS)]
    assert [state.epoch for state in states] == [3, 4, 5]
    assert all(number >= target // 2 for number in linked), f"crosslinked shard heights {linked}"
    genesis_committees = [set(genesis.get_committee_keys(s)) for s in range(SHARDS)]
    moved = [{slot.public_key for slot in state.shards[s]} != genesis_committees[s]
             for state in states for s in range(SHARDS)]
    assert any(moved), "the random assignment never changed a committee"
