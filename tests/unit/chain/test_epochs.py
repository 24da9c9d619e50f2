"""Epoch rules on real chains: VRF headers, the beacon's published assignment, committees from it.

Four-block epochs, two shards of four keys. The beacon's block 4 ends epoch 1 and must publish the
assignment of epoch 3, computed from the VRF outputs of blocks 1-4; anything else in that field,
a shard state anywhere else, a VRF by someone else or a wrong epoch is refused. A shard chain
cannot end an epoch before the beacon has published the next epoch's committee.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crypto import bls
from crypto.vrf import compute_vrf
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.config import ChainConfig
from harmony_node.chain.epochs import NetworkEpochs, compute_foundation_powers, get_bls_address
from harmony_node.chain.genesis import Genesis
from harmony_node.exceptions import InvalidBlock
from harmony_node.types.block import Block
from two_chains import build_next, finalize, open_two_chains
from sharding.shard_state import ShardState, Slot

SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 9)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
CONFIG = ChainConfig(num_shards=2, blocks_per_epoch=4)
GENESIS = Genesis("localnet", CONFIG, 1_700_000_000, b"", (), committees=(tuple(KEYS[:4]), tuple(KEYS[4:])))


@pytest.fixture
def network(tmp_path: Path) -> Iterator[tuple[NetworkEpochs, Blockchain, Blockchain]]:
    with open_two_chains(tmp_path, GENESIS) as chains:
        yield chains


def _secret_of(public_key: bytes) -> int:
    return SECRETS[KEYS.index(public_key)]


def _build(chain: Blockchain) -> tuple[Block, int]:
    return build_next(chain, _secret_of)


def _finalize(chain: Blockchain, block: Block, view: int) -> None:
    finalize(chain, block, view, _secret_of)


def _advance(chain: Blockchain, blocks: int) -> None:
    for _ in range(blocks):
        _finalize(chain, *_build(chain))


def test_the_last_beacon_block_of_an_epoch_publishes_the_assignment_two_epochs_ahead(
    network: tuple[NetworkEpochs, Blockchain, Blockchain],
) -> None:
    epochs, beacon, _ = network
    _advance(beacon, 3)
    block, view = _build(beacon)  # block 4 ends epoch 1
    state = ShardState.decode(block.header.shard_state)
    assert state.epoch == 3 and sorted(k for shard in state.shards for k in (s.public_key for s in shard)) == sorted(KEYS)
    _finalize(beacon, block, view)
    assert epochs.get_shard_state(3) == state
    first_of_epoch_3 = CONFIG.blocks_per_epoch * 2 + 1
    assert epochs.get_committee(1, first_of_epoch_3).public_keys == tuple(s.public_key for s in state.shards[1])
    assert epochs.get_committee(1, first_of_epoch_3).epoch == 3
    # Until then, genesis committees sign (epochs 0 to 2).
    assert epochs.get_committee(1, first_of_epoch_3 - 1).public_keys == tuple(KEYS[4:])


def test_the_assignment_depends_on_the_last_blocks_vrf(network: tuple[NetworkEpochs, Blockchain, Blockchain]) -> None:
    """Nobody knows the assignment before the epoch's last block is proposed: its VRF changes it."""
    epochs, beacon, _ = network
    _advance(beacon, 3)
    states = {epochs.compute_published_state(1, bls.sign(secret, b"x")[:32]).encode() for secret in SECRETS}
    assert len(states) >= 6  # eight different last VRF outputs: (almost) always different assignments


@pytest.mark.parametrize("tamper", ["shard state", "shard state early", "vrf", "epoch", "coinbase"])
def test_headers_breaking_the_epoch_rules_are_refused(
    network: tuple[NetworkEpochs, Blockchain, Blockchain], tamper: str
) -> None:
    epochs, beacon, _ = network
    _advance(beacon, 2 if tamper == "shard state early" else 3)
    block, _ = _build(beacon)
    header = block.header
    outsider = bls.generate_secret_key(b"\x77" * 32)
    changes: dict[str, Callable[[], dict[str, object]]] = {
        "shard state": lambda: {"shard_state": epochs.compute_published_state(1, b"\x00" * 32).encode()},
        "shard state early": lambda: {"shard_state": epochs.genesis_state.encode()},
        "vrf": lambda: {"vrf": compute_vrf(outsider, header.parent_hash)},
        "epoch": lambda: {"epoch": header.epoch + 1},
        "coinbase": lambda: {"coinbase": get_bls_address(bls.secret_to_public(outsider))},
    }
    with pytest.raises(InvalidBlock):
        beacon.execute_block(block.copy(header=header.copy(**changes[tamper]())))


def test_a_shard_cannot_end_an_epoch_before_the_beacon_publishes_the_next(
    network: tuple[NetworkEpochs, Blockchain, Blockchain],
) -> None:
    _, beacon, shard = network
    _advance(shard, 7)  # blocks 1-7: epochs 1 and 2 use the genesis committees
    with pytest.raises(InvalidBlock, match="has not published the committee of epoch 3"):
        _build(shard)  # block 8 ends epoch 2; epoch 3's committee comes from the beacon's block 4
    _advance(beacon, 4)
    _finalize(shard, *_build(shard))
    assert shard.head.number == 8


def test_randomness_is_recomputed_from_the_headers_after_a_restart(
    network: tuple[NetworkEpochs, Blockchain, Blockchain],
) -> None:
    epochs, beacon, _ = network
    _advance(beacon, 8)
    fresh = NetworkEpochs(GENESIS, epochs.schedule, beacon.get_header(0).hash, beacon)  # a restarted node
    assert fresh.get_randomness(2) == epochs.get_randomness(2) != epochs.get_randomness(1)


def test_genesis_slots_hold_the_foundation_share_of_every_shard_with_elected_slots() -> None:
    genesis = tuple(Slot(bytes([i]) * 48, bytes([i]) * 20, 0) for i in range(1, 5))
    elected = (Slot(b"\x60" * 48, b"\x60" * 20, 20_000), Slot(b"\x61" * 48, b"\x61" * 20, 30_000))
    keys = frozenset(slot.public_key for slot in genesis)
    shard = compute_foundation_powers(genesis + elected, keys)
    genesis_power = sum(slot.stake for slot in shard if slot.public_key in keys)
    assert [slot.stake for slot in shard[4:]] == [20_000, 30_000]  # elected keep their effective stake
    assert len({slot.stake for slot in shard[:4]}) == 1  # genesis slots split the share equally
    assert abs(genesis_power * 100 - 68 * (genesis_power + 50_000)) < 100 * 4
    # Unmanned elected keys can never hold a third of a shard: the genesis nodes alone keep a quorum.
    assert genesis_power * 3 > 2 * (genesis_power + 50_000)
    assert compute_foundation_powers(genesis, keys) == genesis  # no elected slot: one key, one vote
