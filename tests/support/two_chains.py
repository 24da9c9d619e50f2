"""A beacon and one shard chain of a sharded network on LevelDB, driven as a committee would.

Blocks are built by a committee key of the next block (with its VRF) and finalized with every
committee member's commit signature, so the next beacon block pays all of them. Tests of the epoch,
cross-shard and staking rules share this instead of three copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from consensus.signing import aggregate_votes, compute_commit_payload
from crypto import bls
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.chain_store import CommitRecord
from harmony_node.chain.epochs import ChainRules, NetworkEpochs, get_bls_address
from harmony_node.chain.genesis import Genesis, build_genesis_block
from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.types.block import Block
from harmony_node.types.cx_receipt import CXReceiptsProof
from harmony_node.types.staking_transaction import StakingTransaction
from harmony_node.types.transaction import Transaction
from sharding.crosslink import CrossLink
from sharding.schedule import EpochSchedule

SecretOf = Callable[[bytes], int]
"""The BLS secret of a committee member's public key."""


@contextmanager
def open_two_chains(tmp_path: Path, genesis: Genesis) -> Iterator[tuple[NetworkEpochs, Blockchain, Blockchain]]:
    """(epochs, beacon, shard 1) of ``genesis``, with the epoch rules; databases closed afterwards."""
    beacon_hash = build_genesis_block(genesis, 0, MemoryStore(), WriteBatch()).header.hash
    epochs = NetworkEpochs(genesis, EpochSchedule(genesis.config.blocks_per_epoch), beacon_hash)
    with LevelDBStore(tmp_path / "s0") as beacon_store, LevelDBStore(tmp_path / "s1") as shard_store:
        beacon_rules, shard_rules = ChainRules(epochs, 0), ChainRules(epochs, 1)
        beacon = Blockchain.open(beacon_store, genesis, 0, rules=beacon_rules)
        epochs.beacon = beacon
        shard = Blockchain.open(shard_store, genesis, 1, rules=shard_rules)
        yield epochs, beacon, shard


def build_next(chain: Blockchain, secret_of: SecretOf, txs: Sequence[Transaction] = (),
               incoming: Sequence[CXReceiptsProof] = (), crosslinks: Sequence[CrossLink] = (),
               staking: Sequence[StakingTransaction] = (), slashes: Sequence[bytes] = ()) -> tuple[Block, int]:
    """The next block, proposed by the first key of its committee; and the view it opens."""
    view = (chain.head_commit.view if chain.head_commit else 0) + 1
    leader = chain.get_committee(chain.head.number + 1).public_keys[0]
    built = chain.build_block(txs, timestamp=chain.head.timestamp + 1, view_id=view, coinbase=get_bls_address(leader),
                              leader_secret=secret_of(leader), incoming=incoming, crosslinks=crosslinks,
                              staking=staking, slashes=slashes)
    return built.block, view


def finalize(chain: Blockchain, block: Block, view: int, secret_of: SecretOf) -> CommitRecord:
    """Import ``block`` as committed in ``view`` by every member of its committee."""
    committee = chain.get_committee(block.header.number)
    payload = compute_commit_payload(block.header.number, block.header.hash, view)
    votes = {i: bls.sign(secret_of(key), payload) for i, key in enumerate(committee.public_keys)}
    commit = CommitRecord(view, aggregate_votes(committee, payload, votes)[0])
    chain.import_block(block, commit)
    return commit

