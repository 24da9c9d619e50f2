"""Building and importing blocks: roots agree, and every tampered field is caught before any write."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto.secp256k1 import compute_address
from harmony_node.chain.block_processing import build_block, process_block
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.genesis import Genesis, build_genesis_block
from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import InvalidBlock
from harmony_node.state.state_db import StateDB
from harmony_node.types.block import Block, compute_transactions_root, decode_block, encode_block
from harmony_node.types.header import Header
from harmony_node.types.transaction import Transaction, sign_transaction

CONFIG = ChainConfig()
KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
SENDER = compute_address(KEY)
GENESIS = Genesis("test", CONFIG, 1_700_000_000, b"", ((SENDER, 1_000_000 * ONE),))


def _tx(nonce: int, to_shard_id: int = 0, value: int = ONE) -> Transaction:
    return sign_transaction(
        nonce=nonce, gas_price=CONFIG.min_gas_price, gas_limit=21_000, shard_id=0, to_shard_id=to_shard_id,
        to=bytes([nonce % 251 + 1]) * 20, value=value, data=b"", private_key=KEY, chain_id=CONFIG.chain_id,
    )


def _genesis(store: KeyValueStore) -> Header:
    batch = WriteBatch()
    header = build_genesis_block(GENESIS, 0, store, batch).header
    store.write(batch)
    return header


def _leader_block(store: KeyValueStore, parent: Header, txs: list[Transaction]) -> Block:
    built = build_block(StateDB(store, parent.state_root), parent, txs, CONFIG, WriteBatch(), timestamp=parent.timestamp + 1)
    return built.block


def test_leader_and_validator_agree_and_the_block_survives_a_restart(tmp_path: Path) -> None:
    leader_store = MemoryStore()
    genesis = _genesis(leader_store)
    txs = [_tx(0), _tx(1, to_shard_id=1), _tx(2)]
    block = _leader_block(leader_store, genesis, txs)
    assert block.header.gas_used == 3 * 21_000
    received = decode_block(encode_block(block))

    with LevelDBStore(tmp_path / "db") as store:
        parent = _genesis(store)
        batch = WriteBatch()
        result = process_block(StateDB(store, parent.state_root), parent, received, CONFIG, batch, now=parent.timestamp + 1)
        store.write(batch)
        assert len(result.receipts) == 3 and len(result.cx_receipts) == 1
    with LevelDBStore(tmp_path / "db") as store:
        state = StateDB(store, block.header.state_root)
        assert state.get_nonce(SENDER) == 3
        assert state.get_balance(bytes([1]) * 20) == ONE
        assert state.get_balance(bytes([2]) * 20) == 0  # cross-shard: credited on shard 1, not here


def test_build_block_skips_invalid_transactions_with_their_reasons() -> None:
    store = MemoryStore()
    genesis = _genesis(store)
    built = build_block(StateDB(store, genesis.state_root), genesis, [_tx(0), _tx(5), _tx(1)], CONFIG, WriteBatch(), timestamp=genesis.timestamp + 1)
    assert [tx.nonce for tx in built.block.transactions] == [0, 1]
    assert [(tx.nonce, "nonce too high" in reason) for tx, reason in built.rejected] == [(5, True)]


def _tampered(block: Block, **header_changes: object) -> Block:
    return block.copy(header=block.header.copy(**header_changes))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"parent_hash": b"\x01" * 32}, "parent hash"),
        ({"number": 2}, "does not follow parent"),
        ({"shard_id": 1}, "shard id"),
        ({"timestamp": 1_600_000_000}, "before the parent"),
        ({"timestamp": 1_700_000_100}, "too far in the future"),
        ({"gas_limit": 29_000_000}, "gas limit"),
        ({"gas_used": 21_000}, "gas used"),
        ({"extra_data": b"x" * 33}, "extra data"),
        ({"transactions_root": b"\x02" * 32}, "transactions root"),
        ({"receipts_root": b"\x03" * 32}, "receipts root"),
        ({"outgoing_receipts_root": b"\x04" * 32}, "outgoing receipts root"),
        ({"bloom": b"\x01" * 256}, "logs bloom"),
        ({"state_root": b"\x05" * 32}, "state root"),
        ({"epoch": 0}, None),  # unchanged epoch is fine: control case
    ],
)
def test_tampered_header_is_rejected_and_nothing_is_written(change: dict[str, object], reason: str | None) -> None:
    store = MemoryStore()
    genesis = _genesis(store)
    block = _leader_block(store, genesis, [_tx(0), _tx(1, to_shard_id=2)])
    snapshot = dict(store.iterate_prefix(b""))
    batch = WriteBatch()
    tampered = _tampered(block, **change)
    if reason is None:
        process_block(StateDB(store, genesis.state_root), genesis, tampered, CONFIG, batch, now=genesis.timestamp + 1)
        return
    with pytest.raises(InvalidBlock, match=reason):
        process_block(StateDB(store, genesis.state_root), genesis, tampered, CONFIG, batch, now=genesis.timestamp + 1)
    assert dict(store.iterate_prefix(b"")) == snapshot


def test_body_problems_are_rejected() -> None:
    store = MemoryStore()
    genesis = _genesis(store)
    block = _leader_block(store, genesis, [_tx(0), _tx(1)])
    swapped = block.copy(transactions=list(reversed(block.transactions)))
    with pytest.raises(InvalidBlock, match="transactions root"):
        process_block(StateDB(store, genesis.state_root), genesis, swapped, CONFIG, WriteBatch())
    with pytest.raises(InvalidBlock, match="uncles"):
        process_block(StateDB(store, genesis.state_root), genesis, block.copy(uncles=[genesis]), CONFIG, WriteBatch())


def test_a_block_with_an_invalid_transaction_is_rejected() -> None:
    store = MemoryStore()
    genesis = _genesis(store)
    good = _leader_block(store, genesis, [_tx(0)])
    replay = good.copy(transactions=[_tx(0), _tx(0)])
    replay = replay.copy(header=replay.header.copy(transactions_root=compute_transactions_root(replay)))
    with pytest.raises(InvalidBlock, match="transaction 1 .*nonce too low"):
        process_block(StateDB(store, genesis.state_root), genesis, replay, CONFIG, WriteBatch())

