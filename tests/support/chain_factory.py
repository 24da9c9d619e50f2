"""Chains for tests: a genesis with a funded account, a 4-key committee, and signed certificates.

Blocks are built and finalized the way a real committee would: each key signs the commit payload,
the signatures are aggregated, and the certificate goes with the block (and into the next header).
"""

from __future__ import annotations

from consensus.quorum import Committee
from consensus.signing import aggregate_votes, compute_commit_payload
from crypto import bls
from crypto.secp256k1 import compute_address
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.chain_store import CommitRecord
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.genesis import Genesis
from harmony_node.db.store import KeyValueStore
from harmony_node.types.block import Block
from harmony_node.types.transaction import Transaction, sign_transaction

CONFIG = ChainConfig()
KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
SENDER = compute_address(KEY)
GENESIS = Genesis("test", CONFIG, 1_700_000_000, b"", ((SENDER, 1_000_000 * ONE),))
BLS_SECRETS = tuple(bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 5))
COMMITTEE = Committee.with_equal_power([bls.secret_to_public(s) for s in BLS_SECRETS], shard_id=0, epoch=0)

def get_committee(number: int) -> Committee:
    return COMMITTEE

def make_transfer(nonce: int, value: int = ONE, to: bytes | None = None) -> Transaction:
    return sign_transaction(
        nonce=nonce, gas_price=CONFIG.min_gas_price, gas_limit=21_000, shard_id=0, to_shard_id=0,
        to=to or bytes([nonce % 251 + 1]) * 20, value=value, data=b"", private_key=KEY, chain_id=CONFIG.chain_id,
    )

def sign_commit(block: Block, view: int, signers: tuple[int, ...] = (0, 1, 2)) -> CommitRecord:
    payload = compute_commit_payload(block.header.number, block.header.hash, view)
    certificate, _ = aggregate_votes(COMMITTEE, payload, {i: bls.sign(BLS_SECRETS[i], payload) for i in signers})
    return CommitRecord(view, certificate)

def open_chain(store: KeyValueStore) -> Blockchain:
    return Blockchain.open(store, GENESIS, 0, get_committee)

def extend_chain(chain: Blockchain, count: int, txs_per_block: int = 0) -> list[tuple[Block, CommitRecord]]:
    """Build, sign and import ``count`` blocks (each view = previous commit view + 1)."""
    added = []
    for _ in range(count):
        nonce = chain.get_state().get_nonce(SENDER)
        view = (chain.head_commit.view if chain.head_commit else 0) + 1
        txs = [make_transfer(nonce + i) for i in range(txs_per_block)]
        built = chain.build_block(txs, timestamp=chain.head.timestamp + 1, view_id=view)
        commit = sign_commit(built.block, view)
        chain.import_block(built.block, commit)
        added.append((built.block, commit))
    return added
