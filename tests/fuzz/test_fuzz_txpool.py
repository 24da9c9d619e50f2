"""Fuzzing the pool's entry points: ``decode_pool_transaction`` and ``TxPool.add`` over a real state.

Inputs are arbitrary bytes and mutations of valid Harmony, Ethereum and staking transactions from a
funded account (so some mutations still pass every rule). A refusal must be ``InvalidTransaction``
and leave the pool exactly as it was, its gossip queue included.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from crypto.secp256k1 import compute_address
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.db.memory import MemoryStore
from harmony_node.exceptions import HarmonyError, InvalidTransaction
from harmony_node.state.account import Account
from harmony_node.state.state_db import StateDB
from harmony_node.txpool import (
    PoolTransaction,
    TxPool,
    TxPoolConfig,
    decode_pool_transaction,
    encode_pool_transaction,
)
from harmony_node.types.eth_transaction import decode_eth_transaction, encode_eth_transaction, sign_eth_transaction
from harmony_node.types.staking_transaction import (
    CollectRewards,
    Delegate,
    decode_staking_transaction,
    encode_staking_transaction,
    sign_staking_transaction,
)
from harmony_node.types.transaction import decode_transaction, encode_transaction, sign_transaction
from fuzzing import FUZZ, FUZZ_RANDOM, Mutate, Record



CONFIG = ChainConfig()  # localnet: chain id 2, 3 shards
PRICE = CONFIG.min_gas_price
KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
SENDER = compute_address(KEY)
OTHER_KEY = b"\x07" * 32
RECIPIENT = b"\x11" * 20


def _plain(nonce: int, **overrides: Any) -> bytes:
    fields: dict[str, Any] = {"nonce": nonce, "gas_price": PRICE, "gas_limit": 21_000, "shard_id": 0, "to_shard_id": 0,
                              "to": RECIPIENT, "value": ONE, "data": b"", "private_key": KEY, "chain_id": CONFIG.chain_id}
    fields.update(overrides)
    return encode_transaction(sign_transaction(**fields))


SEEDS = [
    _plain(0),
    _plain(1, to_shard_id=1, gas_price=2 * PRICE),
    _plain(0, gas_price=2 * PRICE),  # a replacement of the prefilled transaction
    _plain(3, private_key=OTHER_KEY, data=b"\x01\x02" * 10, gas_limit=60_000),
    encode_eth_transaction(sign_eth_transaction(nonce=1, gas_price=PRICE, gas_limit=21_000, to=RECIPIENT, value=5,
                                                data=b"", private_key=KEY, chain_id=CONFIG.get_eth_chain_id(0))),
    encode_staking_transaction(sign_staking_transaction(Delegate(SENDER, RECIPIENT, 100 * ONE), nonce=1,
                                                        gas_price=PRICE, gas_limit=50_000, private_key=KEY,
                                                        chain_id=CONFIG.chain_id)),
    encode_staking_transaction(sign_staking_transaction(CollectRewards(SENDER), nonce=2, gas_price=PRICE,
                                                        gas_limit=50_000, private_key=KEY, chain_id=CONFIG.chain_id)),
]

# Found by this fuzzing: a v below 35 other than 27/28 is no EIP-155 v, and reading the chain id from it
# raised InvalidSignature out of decode_pool_transaction (Ethereum form) and TxPool.add (Harmony and
# staking forms), where both promise InvalidTransaction.
ETH_V0 = encode_eth_transaction(decode_eth_transaction(SEEDS[4]).copy(v=0))
PLAIN_V0 = encode_transaction(decode_transaction(SEEDS[0]).copy(v=26))
STAKING_V0 = encode_staking_transaction(decode_staking_transaction(SEEDS[6]).copy(v=0))

STATE = StateDB(MemoryStore())
for _address in (SENDER, compute_address(OTHER_KEY)):
    STATE.set_account(_address, Account(nonce=0, balance=1_000 * ONE))


def _draw_raw(data: Any, mutate: Mutate) -> bytes:
    choice = data.draw(st.integers(0, 19), label="source")
    if choice < 3:
        raw: bytes = data.draw(st.binary(max_size=300), label="arbitrary")
        return raw
    seed = data.draw(st.sampled_from(SEEDS), label="seed")
    return seed if choice < 5 else mutate(data, seed)


def _snapshot(pool: TxPool) -> tuple[object, ...]:
    """Everything a refusal must leave as it was."""
    def hashes(by_sender: dict[bytes, list[PoolTransaction]]) -> dict[bytes, list[bytes]]:
        return {sender: [tx.hash for tx in txs] for sender, txs in by_sender.items()}

    return (len(pool), pool.pending_count, pool.queued_count, hashes(pool.get_pending()), hashes(pool.get_queued()),
            pool.get_pending_nonce(SENDER))


@FUZZ
@given(data=st.data())
def test_fuzz_decode_pool_transaction(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = _draw_raw(data, fuzz_mutate)
    try:
        tx = decode_pool_transaction(raw, CONFIG.eth_chain_id_base)
    except HarmonyError as error:
        fuzz_record("decode_pool_transaction", error)
        assert isinstance(error, InvalidTransaction)
        return
    fuzz_record("decode_pool_transaction", None)
    if raw[0] >= 0xC0 and encode_pool_transaction(tx) != raw:
        # Only an Ethereum transaction changes form (to its Harmony one); it carries the same signature.
        assert tx.v == decode_pool_transaction(encode_pool_transaction(tx), CONFIG.eth_chain_id_base).v


@FUZZ
@given(data=st.data())
def test_fuzz_txpool_add(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    pool = TxPool(TxPoolConfig(account_slots=4, global_slots=8), CONFIG, 0, STATE)
    pool.add(SEEDS[0])
    pool.drain_new_for_gossip()
    raw = _draw_raw(data, fuzz_mutate)
    before = _snapshot(pool)
    try:
        tx_hash = pool.add(raw)
    except HarmonyError as error:
        fuzz_record("TxPool.add", error)
        assert isinstance(error, InvalidTransaction), f"TxPool.add raised {type(error).__name__}"
        assert _snapshot(pool) == before
        assert pool.drain_new_for_gossip() == []
        return
    fuzz_record("TxPool.add", None)
    assert pool.contains(tx_hash)
    assert len(pool.drain_new_for_gossip()) == 1


@FUZZ_RANDOM
@given(raw=st.binary(max_size=300))
@example(raw=ETH_V0)
@example(raw=PLAIN_V0)
@example(raw=STAKING_V0)
def test_fuzz_txpool_add_arbitrary_bytes(raw: bytes, fuzz_record: Record) -> None:
    pool = TxPool(TxPoolConfig(), CONFIG, 0, STATE)
    try:
        pool.add(raw)
    except HarmonyError as error:
        fuzz_record("TxPool.add", error)
        assert isinstance(error, InvalidTransaction), f"TxPool.add raised {type(error).__name__}"
        assert len(pool) == 0 and pool.drain_new_for_gossip() == []
        return
    fuzz_record("TxPool.add", None)
