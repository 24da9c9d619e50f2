"""FBFT over real chains: four nodes, each with its own LevelDB, finalize the same blocks.

The network is an in-process queue with a fake clock (``driver_network``; the multi-process version
is in tests/e2e); everything else is the node's real code: BLS, block building from a transaction
source, execution before voting, safety records and blocks on disk, and a restart from the data
directory.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from chain_factory import SENDER, open_chain
from consensus.fbft import BlocksSynced, FbftEngine, Rejected
from driver_network import CONFIG, Network
from harmony_node.db.level import LevelDBStore
from harmony_node.exceptions import ValidationError
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.consensus_driver import ConsensusDriver
from harmony_node.node.sync import get_synced_blocks


def test_four_nodes_finalize_the_same_blocks_and_a_restarted_node_rejoins(tmp_path: Path) -> None:
    network = Network(tmp_path)
    network.run_until(6)
    drivers = [d for d in network.drivers if d is not None]
    for number in range(1, 7):
        assert len({d.chain.get_block_by_number(number).header.hash for d in drivers}) == 1
    included = sum(len(drivers[0].chain.get_block_by_number(n).transactions) for n in range(1, 7))
    assert included == 12 and drivers[0].chain.get_state().get_nonce(SENDER) == 12
    assert len({d.chain.head.state_root for d in drivers}) == 1

    network.crash(3)
    network.run_until(9)  # three of four are a quorum
    network.boot(3)  # reopens its data directory and safety record, then catches up
    network.run_until(12)
    drivers = [d for d in network.drivers if d is not None]
    assert len({d.chain.get_block_by_number(12).header.hash for d in drivers}) == 1
    network.close()


def test_sync_imports_a_verified_batch_and_stops_at_a_forged_block(tmp_path: Path) -> None:
    network = Network(tmp_path / "net")
    network.run_until(5)
    source = network.drivers[0]
    assert source is not None
    good = get_synced_blocks(source.chain, 1)
    with LevelDBStore(tmp_path / "fresh") as store:
        chain = open_chain(store)
        access = NodeChainAccess(chain, lambda: ((), ()), clock=lambda: network.now / 1000)
        follower = ConsensusDriver(FbftEngine(CONFIG, access, []), access)
        follower.start(network.now)
        # Block 3 comes with block 2's certificate: everything up to block 2 is imported, nothing after.
        forged = (*good[:2], replace(good[2], certificate=good[1].certificate), *good[3:])
        actions = follower.handle(BlocksSynced(forged), network.now)
        assert chain.head.number == 2
        assert any(isinstance(a, Rejected) and "sync" in a.reason for a in actions)
        follower.handle(BlocksSynced(good), network.now)
        assert chain.head.hash == source.chain.head.hash
    network.close()


def test_a_node_whose_clock_is_behind_still_syncs_certified_blocks(tmp_path: Path) -> None:
    """A proposal dated more than 15 s ahead of the local clock is refused, but the same block with
    its certificate (sync) is final whatever this node's clock says: a node running behind follows."""
    network = Network(tmp_path / "net")
    network.run_until(4)
    source = network.drivers[0]
    assert source is not None
    good = get_synced_blocks(source.chain, 1)
    with LevelDBStore(tmp_path / "behind") as store:
        chain = open_chain(store)
        behind_s = source.chain.get_block_by_number(4).header.timestamp - 60  # a clock a minute behind
        access = NodeChainAccess(chain, lambda: ((), ()), clock=lambda: behind_s)
        follower = ConsensusDriver(FbftEngine(CONFIG, access, []), access)
        follower.start(network.now)
        block = access.decode_block(good[0].block)
        assert follower.state is not None
        try:
            access.validate_block(follower.state.tip, block)
        except ValidationError as exc:
            assert "too far in the future" in str(exc)
        else:
            raise AssertionError("a proposal dated a minute ahead of the local clock was accepted")
        actions = follower.handle(BlocksSynced(good), network.now)
        assert not [a for a in actions if isinstance(a, Rejected)], actions
        assert chain.head.hash == source.chain.head.hash
    network.close()
