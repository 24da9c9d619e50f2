"""The persistent chain on LevelDB: import with certificates, indexes, reopen, and rejections that write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chain_factory import (
    CONFIG,
    GENESIS,
    SENDER,
    extend_chain,
    get_committee,
    make_transfer,
    open_chain,
    sign_commit,
)
from consensus.signing import QuorumCertificate
from harmony_node.chain.blockchain import Blockchain, GenesisMismatch
from harmony_node.chain.chain_store import TX_KIND_PLAIN, CommitRecord, TxLocation
from harmony_node.chain.genesis import Genesis
from harmony_node.db.level import LevelDBStore
from harmony_node.exceptions import InvalidBlock, NotFound
from harmony_node.types.block import Block


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LevelDBStore]:
    with LevelDBStore(tmp_path / "chain") as db:
        yield db


def _snapshot(store: LevelDBStore) -> dict[bytes, bytes]:
    return dict(store.iterate_prefix(b""))


def test_import_indexes_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "chain"
    with LevelDBStore(path) as store:
        chain = open_chain(store)
        assert chain.head.number == 0 and chain.head_commit is None
        added = extend_chain(chain, 3, txs_per_block=2)
        head_hash = chain.head.hash
    with LevelDBStore(path) as store:
        chain = open_chain(store)
        assert chain.head.number == 3 and chain.head.hash == head_hash
        assert chain.head_commit == added[-1][1]
        block, commit = added[1]
        assert chain.get_block_by_number(2) == block
        assert chain.get_commit(2) == commit
        tx = block.transactions[1]
        assert chain.chain_store.get_tx_location(tx.hash) == TxLocation(2, 1, TX_KIND_PLAIN)
        assert len(chain.chain_store.get_receipts(block.header.hash)) == 2
        assert chain.get_state().get_nonce(SENDER) == 6
        # Header N+1 carries N's certificate; views follow commit views.
        assert chain.get_block_by_number(3).header.last_commit_signature == added[1][1].certificate.signature
        assert [b.header.view_id for b, _ in added] == [1, 2, 3]


def test_another_networks_data_directory_is_refused(store: LevelDBStore) -> None:
    open_chain(store)
    other = Genesis("other", CONFIG, GENESIS.timestamp + 1, b"", GENESIS.alloc)
    with pytest.raises(GenesisMismatch):
        Blockchain.open(store, other, 0, get_committee)


def test_missing_data_is_not_found(store: LevelDBStore) -> None:
    chain = open_chain(store)
    with pytest.raises(NotFound):
        chain.get_block_by_number(5)
    with pytest.raises(NotFound):
        chain.chain_store.get_tx_location(b"\x00" * 32)


def _next_block(chain: Blockchain) -> tuple[Block, int]:
    view = (chain.head_commit.view if chain.head_commit else 0) + 1
    nonce = chain.get_state().get_nonce(SENDER)
    built = chain.build_block([make_transfer(nonce)], timestamp=chain.head.timestamp + 1, view_id=view)
    return built.block, view


def test_bad_certificates_are_rejected_and_nothing_is_written(store: LevelDBStore) -> None:
    chain = open_chain(store)
    extend_chain(chain, 1)
    block, view = _next_block(chain)
    before, head = _snapshot(store), chain.head
    good = sign_commit(block, view)
    cases = {
        "one signer short of a quorum": sign_commit(block, view, signers=(0, 1)),
        "wrong view": CommitRecord(view + 1, good.certificate),
        "forged signature": CommitRecord(view, QuorumCertificate(sign_commit(
            chain.get_block_by_number(1), 1).certificate.signature, good.certificate.bitmap)),
    }
    for reason, commit in cases.items():
        with pytest.raises(InvalidBlock, match="commit certificate"):
            chain.import_block(block, commit)
        assert _snapshot(store) == before and chain.head == head, reason
    chain.import_block(block, good)
    assert chain.head.number == 2


def test_block_not_extending_the_head_or_with_a_bad_parent_certificate(store: LevelDBStore) -> None:
    chain = open_chain(store)
    added = extend_chain(chain, 2)
    old_block, old_commit = added[0]
    with pytest.raises(InvalidBlock, match="does not extend"):
        chain.import_block(old_block, old_commit)
    block, view = _next_block(chain)
    forged = block.copy(header=block.header.copy(
        last_commit_bitmap=bytes([0b0011])))  # claims only two of four signed block 2
    with pytest.raises(InvalidBlock, match="parent commit signature"):
        chain.import_block(forged, sign_commit(forged, view))
    assert chain.head.number == 2


def test_invalid_block_is_not_imported_even_with_a_quorum(store: LevelDBStore) -> None:
    chain = open_chain(store)
    block, view = _next_block(chain)
    tampered = block.copy(header=block.header.copy(gas_used=1))
    before = _snapshot(store)
    with pytest.raises(InvalidBlock, match="gas used"):
        chain.import_block(tampered, sign_commit(tampered, view))
    assert _snapshot(store) == before and chain.head.number == 0
