"""Every forged sync answer of ``forged_blocks`` is refused by a following node, in process.

The real blocks come from four drivers finalizing a chain with transfers (``driver_network``); a
fresh follower gets each forgery the way ``ChainService.sync_from_peer`` hands it over (decode,
then ``BlocksSynced`` to its driver) and must import nothing forged. The multi-process version,
with a forging peer process against a real network, is tests/e2e/test_forged_sync.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chain_factory import BLS_SECRETS, COMMITTEE, GENESIS, open_chain
from consensus.fbft import BlocksSynced, FbftEngine, Rejected
from driver_network import CONFIG, Network
from forged_blocks import (
    CONSENSUS_REFUSALS,
    FORGERIES,
    IGNORED,
    UNDECODABLE,
    Material,
    find_first_transfer_block,
)
from harmony_node.chain.blockchain import Blockchain
from harmony_node.db.level import LevelDBStore
from harmony_node.exceptions import DecodingError
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.consensus_driver import ConsensusDriver
from harmony_node.node.sync import decode_sync_response, get_synced_blocks


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Material, list[bytes]]]:
    """The material (blocks 1-6, transfers in them) and the real chain's hashes from genesis."""
    network = Network(tmp_path_factory.mktemp("net"))
    network.run_until(6)
    source = network.drivers[0]
    assert source is not None
    hashes = [source.chain.get_block_by_number(n).header.hash for n in range(source.chain.head.number + 1)]
    yield Material(GENESIS, get_synced_blocks(source.chain, 1), COMMITTEE, BLS_SECRETS), hashes
    network.close()


def _follow(store: LevelDBStore) -> tuple[Blockchain, ConsensusDriver]:
    chain = open_chain(store)
    access = NodeChainAccess(chain, lambda: ((), ()))
    driver = ConsensusDriver(FbftEngine(CONFIG, access, []), access)
    driver.start(1_700_000_000_000)
    return chain, driver


def test_every_kind_is_either_undecodable_or_refused_by_consensus() -> None:
    kinds = [*CONSENSUS_REFUSALS, *UNDECODABLE, *IGNORED]
    assert sorted(kinds) == sorted(FORGERIES)  # each in exactly one family


@pytest.mark.parametrize("kind", sorted(CONSENSUS_REFUSALS))
def test_a_forged_block_is_refused_for_its_reason_and_nothing_forged_is_stored(
        kind: str, real: tuple[Material, list[bytes]], tmp_path: Path) -> None:
    material, hashes = real
    blocks = decode_sync_response(FORGERIES[kind](material, 1))
    with LevelDBStore(tmp_path / "follower") as store:
        chain, driver = _follow(store)
        actions = driver.handle(BlocksSynced(blocks), 1_700_000_000_000)
        reasons = [a.reason for a in actions if isinstance(a, Rejected)]
        assert reasons and CONSENSUS_REFUSALS[kind] in reasons[0], reasons
        # Only real blocks before the forged one may be taken (the transaction-removed kind serves them).
        expected = find_first_transfer_block(material) - 1 if kind == "transaction-removed" else 0
        assert chain.head.number == expected
        assert [chain.get_block_by_number(n).header.hash for n in range(expected + 1)] == hashes[:expected + 1]


@pytest.mark.parametrize("kind", sorted(UNDECODABLE))
def test_a_malformed_answer_does_not_decode(kind: str, real: tuple[Material, list[bytes]]) -> None:
    with pytest.raises(DecodingError, match=UNDECODABLE[kind]):
        decode_sync_response(FORGERIES[kind](real[0], 1))


@pytest.mark.parametrize("kind", IGNORED)
@pytest.mark.parametrize("from_number", [1, 4])
def test_an_answer_with_nothing_new_changes_nothing(
        kind: str, from_number: int, real: tuple[Material, list[bytes]], tmp_path: Path) -> None:
    material, hashes = real
    with LevelDBStore(tmp_path / "follower") as store:
        chain, driver = _follow(store)
        driver.handle(BlocksSynced(material.real[:from_number - 1]), 1_700_000_000_000)
        blocks = decode_sync_response(FORGERIES[kind](material, from_number))
        actions = driver.handle(BlocksSynced(blocks), 1_700_000_000_000) if blocks else []
        assert not [a for a in actions if isinstance(a, Rejected)]
        assert chain.head.number == from_number - 1 and chain.head.hash == hashes[from_number - 1]


def test_the_real_material_itself_is_taken(real: tuple[Material, list[bytes]], tmp_path: Path) -> None:
    """The control: the same follower imports the untouched blocks, so the refusals above are the forgeries'."""
    material, hashes = real
    with LevelDBStore(tmp_path / "follower") as store:
        chain, driver = _follow(store)
        actions = driver.handle(BlocksSynced(material.real), 1_700_000_000_000)
        assert not [a for a in actions if isinstance(a, Rejected)]
        assert [chain.get_block_by_number(n).header.hash for n in range(chain.head.number + 1)] == hashes
