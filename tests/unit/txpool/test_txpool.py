"""The transaction pool: every rejection (and that it changes nothing), nonce ordering, replacement,
capacity and eviction order, block selection, head changes, Ethereum and staking transactions, and a
property test that random adds and head changes keep the pool valid against the state.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import takewhile

import pytest
import rlp
from hypothesis import event, given, settings
from hypothesis import strategies as st

from crypto.secp256k1 import SECP256K1_N, compute_address, compute_eip155_v, decode_v, sign_hash
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.execution import apply_transactions
from harmony_node.db.memory import MemoryStore
from harmony_node.exceptions import InvalidTransaction, ValidationError
from harmony_node.state.account import Account
from harmony_node.state.state_db import StateDB
from harmony_node.chain.gas import compute_staking_intrinsic_gas
from harmony_node.txpool import (
    PoolTransaction,
    TxPool,
    TxPoolConfig,
    compute_min_replacement_price,
)
from harmony_node.types.eth_transaction import sign_eth_transaction
from harmony_node.types.rlp_codec import encode_item
from harmony_node.types.staking_transaction import (
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    StakeMessage,
    StakingTransaction,
    encode_staking_transaction,
    sign_staking_transaction,
)
from harmony_node.types.transaction import Transaction, decode_transaction, encode_transaction, sign_transaction

CONFIG = ChainConfig()  # localnet: chain id 2, 3 shards, 100 gwei minimum
PRICE = CONFIG.min_gas_price
KEYS = [bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")] + [
    bytes([i]) * 32 for i in range(1, 5)
]
ALICE_KEY, BOB_KEY, CAROL_KEY, DAVE_KEY, _ = KEYS
ADDRESSES = [compute_address(key) for key in KEYS[:4]]
ALICE, BOB, CAROL, DAVE = ADDRESSES
RECIPIENT = bytes.fromhex("11" * 20)
START = 100 * ONE


def _state(nonces: dict[bytes, int] | None = None, balance: int = START) -> StateDB:
    state = StateDB(MemoryStore())
    for address in (ALICE, BOB, CAROL, DAVE):
        state.set_account(address, Account(nonce=(nonces or {}).get(address, 0), balance=balance))
    return state


def _tx(key: bytes = ALICE_KEY, nonce: int = 0, gas_price: int = PRICE, **overrides: object) -> Transaction:
    fields: dict[str, object] = {
        "nonce": nonce, "gas_price": gas_price, "gas_limit": 21_000, "shard_id": 0, "to_shard_id": 0,
        "to": RECIPIENT, "value": ONE, "data": b"", "private_key": key, "chain_id": CONFIG.chain_id,
    }
    fields.update(overrides)
    return sign_transaction(**fields)  # type: ignore[arg-type]


def _delegate(key: bytes = ALICE_KEY, nonce: int = 0, gas_price: int = PRICE, amount: int = ONE,
              delegator: bytes | None = None, chain_id: int = CONFIG.chain_id) -> StakingTransaction:
    message = Delegate(delegator or compute_address(key), RECIPIENT, amount)
    return _staking(message, key, nonce, gas_price, 30_000, chain_id)


def _staking(message: StakeMessage, key: bytes, nonce: int, gas_price: int, gas_limit: int,
             chain_id: int = CONFIG.chain_id) -> StakingTransaction:
    return sign_staking_transaction(
        message, nonce=nonce, gas_price=gas_price, gas_limit=gas_limit, private_key=key, chain_id=chain_id
    )


def _pool(state: StateDB | None = None, config: TxPoolConfig | None = None, shard_id: int = 0) -> TxPool:
    return TxPool(config or TxPoolConfig(), CONFIG, shard_id, state if state is not None else _state())


def _nonces(txs_by_sender: dict[bytes, list[PoolTransaction]]) -> dict[bytes, list[int]]:
    return {sender: [tx.nonce for tx in txs] for sender, txs in txs_by_sender.items()}


def _hashes(txs_by_sender: dict[bytes, list[PoolTransaction]]) -> dict[bytes, list[bytes]]:
    return {sender: [tx.hash for tx in txs] for sender, txs in txs_by_sender.items()}


def _snapshot(pool: TxPool) -> tuple[object, ...]:
    """Everything a rejection must leave as it was."""
    return len(pool), pool.pending_count, pool.queued_count, _hashes(pool.get_pending()), _hashes(pool.get_queued())


def _assert_rejected(pool: TxPool, attempt: Callable[[], bytes], reason: str) -> None:
    """``attempt`` raises with ``reason``, and the pool, its gossip queue included, is unchanged."""
    pool.drain_new_for_gossip()
    before = _snapshot(pool)
    with pytest.raises(InvalidTransaction, match=reason):
        attempt()
    assert _snapshot(pool) == before
    assert pool.drain_new_for_gossip() == []


# --- admission -------------------------------------------------------------------------------------


def test_admitted_transaction_is_stored_counted_and_gossiped_once() -> None:
    pool = _pool()
    tx = _tx()
    raw = encode_transaction(tx)
    assert pool.add(raw) == tx.hash
    assert len(pool) == 1 and pool.pending_count == 1 and pool.queued_count == 0
    assert pool.contains(tx.hash) and pool.get(tx.hash) == tx and pool.get(b"\x00" * 32) is None
    assert pool.drain_new_for_gossip() == [raw]
    assert pool.drain_new_for_gossip() == []
    assert pool.get_pending_nonce(ALICE) == 1 and pool.get_pending_nonce(BOB) == 0


def test_a_transaction_that_came_by_gossip_is_pooled_but_not_relayed() -> None:
    pool = _pool()
    first, second = _tx(nonce=0), _tx(nonce=1)
    assert pool.add(encode_transaction(first), relay=False) == first.hash
    assert pool.add_transaction(second, relay=False) == second.hash
    assert pool.pending_count == 2 and pool.drain_new_for_gossip() == []


def _pre_eip155(nonce: int) -> Transaction:
    unsigned = _tx(nonce=nonce).copy(v=0, r=0, s=0)
    recovery_id, r, s = sign_hash(unsigned.signing_hash(None), ALICE_KEY)
    return unsigned.copy(v=27 + recovery_id, r=r, s=s)


def _high_s(nonce: int) -> Transaction:
    tx = _tx(nonce=nonce)
    recovery_id, chain_id = decode_v(tx.v)
    assert chain_id is not None
    # The same signature in its non-canonical (high-s) form, which flips the recovery id.
    return tx.copy(v=compute_eip155_v(recovery_id ^ 1, chain_id), s=SECP256K1_N - tx.s)


def _raw(tx: Transaction) -> Callable[[], bytes]:
    return lambda: encode_transaction(tx)


# Alice's account nonce is 2 and the pool already holds her nonce-2 transfer (1 ONE at the minimum price).
REJECTIONS: list[tuple[str, Callable[[], bytes], str]] = [
    ("oversized", _raw(_tx(nonce=3, gas_limit=600_000, data=b"\x01" * 33_000)), "transaction too large"),
    ("oversized garbage", lambda: b"\xff" * 40_000, "transaction too large"),
    ("empty", lambda: b"", "malformed transaction"),
    ("not a list", lambda: b"\x85hello", "malformed transaction"),
    ("wrong item count", lambda: rlp.encode([1, 2, 3]), "malformed transaction: a list of 3 items"),
    ("typed eth tx", lambda: b"\x02" + rlp.encode([1]), "typed Ethereum transactions"),
    ("non-canonical field", lambda: rlp.encode([b"\x00\x01"] + [b""] * 10), "malformed transaction"),
    ("duplicate", _raw(_tx(nonce=2)), "already known"),
    ("high s", _raw(_high_s(3)), "invalid signature"),
    ("pre-EIP-155", _raw(_pre_eip155(3)), "no chain id"),
    ("wrong chain id", _raw(_tx(nonce=3, chain_id=1)), "wrong chain id 1"),
    ("wrong shard", _raw(_tx(nonce=3, shard_id=1, to_shard_id=1)), "transaction is for shard 1, this is shard 0"),
    ("no such destination", _raw(_tx(nonce=3, to_shard_id=3)), "destination shard 3 does not exist"),
    ("cross-shard eth", _raw(_tx(nonce=3, to_shard_id=1, chain_id=CONFIG.get_eth_chain_id(0))),
     "Ethereum transactions cannot be cross-shard"),
    ("no recipient", _raw(_tx(nonce=3, to=b"")), "contract creation is not supported"),
    ("cheap", _raw(_tx(nonce=3, gas_price=PRICE - 1)), "below the minimum"),
    ("intrinsic gas", _raw(_tx(nonce=3, gas_limit=21_000 + 15, data=b"\x01")), "intrinsic gas too low: need 21016"),
    ("above block gas", _raw(_tx(nonce=3, gas_limit=CONFIG.block_gas_limit + 1)), "exceeds the block gas limit"),
    ("nonce too low", _raw(_tx(nonce=1)), "nonce too low: got 1, account nonce is 2"),
    ("same-price replacement", _raw(_tx(nonce=2, value=2 * ONE)), "replacement transaction underpriced"),
    ("bump too small", _raw(_tx(nonce=2, gas_price=PRICE * 101 // 100 - 1)), "replacement transaction underpriced"),
    # 1 ONE + fee for nonce 2 is already spoken for out of 100 ONE.
    ("overdraft", _raw(_tx(nonce=3, value=99 * ONE)), "insufficient funds"),
    ("overdraft of a gapped tx", _raw(_tx(nonce=9, value=99 * ONE)), "insufficient funds"),
    ("staking overdraft", lambda: encode_staking_transaction(_delegate(nonce=3, amount=99 * ONE)),
     "insufficient funds"),
]


@pytest.mark.parametrize(("attempt", "reason"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_rejection_changes_nothing(attempt: Callable[[], bytes], reason: str) -> None:
    pool = _pool(_state({ALICE: 2}))
    pool.add(encode_transaction(_tx(nonce=2)))
    pool.add(encode_transaction(_tx(BOB_KEY, nonce=1)))  # queued: exercises both kinds of entry
    _assert_rejected(pool, lambda: pool.add(attempt()), reason)


def test_add_transaction_validates_the_same_way() -> None:
    pool = _pool()
    tx = _tx()
    assert pool.add_transaction(tx) == tx.hash
    assert pool.drain_new_for_gossip() == [encode_transaction(tx)]
    _assert_rejected(pool, lambda: pool.add_transaction(tx), "already known")
    _assert_rejected(pool, lambda: pool.add_transaction(_tx(nonce=1, data=b"\x01" * 33_000, gas_limit=600_000)),
                     "transaction too large")


def test_size_limit_is_inclusive() -> None:
    at_limit = _tx(data=b"\x01" * 900, gas_limit=50_000)
    limit = len(encode_transaction(at_limit))
    over = _tx(nonce=1, data=b"\x01" * 901, gas_limit=50_000)
    pool = _pool(config=TxPoolConfig(max_tx_size=limit))
    pool.add(encode_transaction(at_limit))
    _assert_rejected(pool, _raw_adder(pool, over), f"transaction too large: {limit + 1} bytes")


def _raw_adder(pool: TxPool, tx: Transaction | StakingTransaction) -> Callable[[], bytes]:
    if isinstance(tx, StakingTransaction):
        return lambda: pool.add(encode_staking_transaction(tx))
    return lambda: pool.add(encode_transaction(tx))


def test_config_and_shard_are_checked() -> None:
    with pytest.raises(ValidationError):
        TxPoolConfig(account_slots=0)
    with pytest.raises(ValidationError):
        TxPoolConfig(account_slots=10, global_slots=5)
    with pytest.raises(ValidationError):
        _pool(shard_id=3)


# --- nonce ordering ----------------------------------------------------------------------------------


def test_nonce_gap_is_queued_until_filled_then_promoted() -> None:
    pool = _pool()
    for nonce in (3, 1, 2):
        pool.add(encode_transaction(_tx(nonce=nonce)))
    assert pool.pending_count == 0 and pool.queued_count == 3
    assert _nonces(pool.get_queued()) == {ALICE: [1, 2, 3]} and pool.get_pending() == {}
    assert pool.get_executable(10, CONFIG.block_gas_limit) == []
    assert pool.get_pending_nonce(ALICE) == 0
    pool.add(encode_transaction(_tx(nonce=0)))
    assert pool.pending_count == 4 and pool.queued_count == 0
    assert _nonces(pool.get_pending()) == {ALICE: [0, 1, 2, 3]}
    assert pool.get_pending_nonce(ALICE) == 4


def test_partial_fill_promotes_only_the_contiguous_run() -> None:
    pool = _pool()
    for nonce in (1, 3, 4):
        pool.add(encode_transaction(_tx(nonce=nonce)))
    pool.add(encode_transaction(_tx(nonce=0)))
    assert _nonces(pool.get_pending()) == {ALICE: [0, 1]} and _nonces(pool.get_queued()) == {ALICE: [3, 4]}


# --- replacement ---------------------------------------------------------------------------------------


def test_min_replacement_price() -> None:
    assert compute_min_replacement_price(PRICE, 1) == PRICE + PRICE // 100
    assert compute_min_replacement_price(100, 10) == 110
    assert compute_min_replacement_price(10, 1) == 11  # integer rounding never allows an equal price
    assert compute_min_replacement_price(0, 1) == 1


@pytest.mark.parametrize("queued", [False, True])
def test_replacement_with_the_bump_takes_the_slot(queued: bool) -> None:
    pool = _pool()
    nonce = 5 if queued else 0
    old = _tx(nonce=nonce)
    pool.add(encode_transaction(old))
    pool.drain_new_for_gossip()
    new = _tx(nonce=nonce, gas_price=compute_min_replacement_price(PRICE, 1), value=2 * ONE)
    assert pool.add(encode_transaction(new)) == new.hash
    assert len(pool) == 1 and not pool.contains(old.hash) and pool.get(new.hash) == new
    assert (pool.queued_count, pool.pending_count) == ((1, 0) if queued else (0, 1))
    assert pool.drain_new_for_gossip() == [encode_transaction(new)]


def test_replaced_before_gossip_is_not_gossiped() -> None:
    pool = _pool()
    old = _tx()
    new = _tx(gas_price=2 * PRICE)
    pool.add(encode_transaction(old))
    pool.add(encode_transaction(new))
    assert pool.drain_new_for_gossip() == [encode_transaction(new)]


def test_tx_evicted_and_admitted_again_before_the_drain_is_gossiped_once() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=1, global_slots=1))
    bob = _tx(BOB_KEY)
    pool.add(encode_transaction(bob))
    pool.add(encode_transaction(_tx(gas_price=2 * PRICE)))  # evicts Bob's
    pool.reset(_state({ALICE: 1}))  # Alice's tx is mined
    pool.add(encode_transaction(bob))
    assert pool.drain_new_for_gossip() == [encode_transaction(bob)]


def test_dearer_replacement_drops_later_transactions_it_leaves_unaffordable() -> None:
    pool = _pool(_state(balance=10 * ONE))
    for nonce in range(3):
        pool.add(encode_transaction(_tx(nonce=nonce, value=2 * ONE)))
    # Nonce 0 now takes 7 ONE: nonce 1 (2 ONE + fee) still fits, nonce 2 no longer does.
    pool.add(encode_transaction(_tx(nonce=0, gas_price=2 * PRICE, value=7 * ONE)))
    assert _nonces(pool.get_pending()) == {ALICE: [0, 1]}


def test_lower_nonce_drops_gapped_transactions_it_leaves_unaffordable() -> None:
    pool = _pool(_state(balance=10 * ONE))
    pool.add(encode_transaction(_tx(nonce=1, value=8 * ONE)))
    # Nonce 0 is executable; nonce 1 could only run after it and no longer fits in the balance.
    pool.add(encode_transaction(_tx(nonce=0, value=5 * ONE)))
    assert _nonces(pool.get_pending()) == {ALICE: [0]} and pool.get_queued() == {}


# --- capacity ------------------------------------------------------------------------------------------


def test_account_cap_rejects_further_nonces() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=3, global_slots=10))
    for nonce in range(3):
        pool.add(encode_transaction(_tx(nonce=nonce)))
    _assert_rejected(pool, _raw_adder(pool, _tx(nonce=3)), "account has too many transactions")
    pool.add(encode_transaction(_tx(BOB_KEY)))  # other senders are unaffected


def test_full_account_still_admits_the_gap_filler_by_dropping_its_furthest_tx() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=3, global_slots=10))
    for nonce in (1, 2, 3):
        pool.add(encode_transaction(_tx(nonce=nonce)))
    pool.add(encode_transaction(_tx(nonce=0)))
    assert _nonces(pool.get_pending()) == {ALICE: [0, 1, 2]} and pool.queued_count == 0


def test_full_pool_evicts_cheapest_queued_of_another_sender_first_then_a_pending_tail() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=3, global_slots=3))
    pool.add(encode_transaction(_tx(BOB_KEY, nonce=0, gas_price=PRICE)))
    pool.add(encode_transaction(_tx(BOB_KEY, nonce=1, gas_price=PRICE)))
    carol_queued = _tx(CAROL_KEY, nonce=1, gas_price=2 * PRICE)
    pool.add(encode_transaction(carol_queued))
    # Bob's pending txs are cheaper, but Carol's queued one cannot be mined now: it goes first.
    pool.add(encode_transaction(_tx(ALICE_KEY, gas_price=3 * PRICE)))
    assert not pool.contains(carol_queued.hash) and len(pool) == 3
    # No queued txs left: the cheapest pending tail goes, and Bob keeps a gapless run.
    pool.add(encode_transaction(_tx(DAVE_KEY, gas_price=PRICE + 1)))
    assert _nonces(pool.get_pending()) == {BOB: [0], ALICE: [0], DAVE: [0]}


def test_full_pool_rejects_a_newcomer_that_is_the_cheapest() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=2, global_slots=2))
    pool.add(encode_transaction(_tx(BOB_KEY, gas_price=2 * PRICE)))
    pool.add(encode_transaction(_tx(CAROL_KEY, nonce=3, gas_price=2 * PRICE)))  # queued
    _assert_rejected(pool, _raw_adder(pool, _tx(gas_price=PRICE)), "pool is full")
    _assert_rejected(pool, _raw_adder(pool, _tx(gas_price=2 * PRICE)), "pool is full")  # a tie keeps the old


def test_full_pool_never_trades_an_executable_tx_for_a_queued_one() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=2, global_slots=2))
    pool.add(encode_transaction(_tx(BOB_KEY)))
    pool.add(encode_transaction(_tx(CAROL_KEY)))
    _assert_rejected(pool, _raw_adder(pool, _tx(nonce=4, gas_price=10 * PRICE)), "pool is full")


def test_full_pool_does_not_evict_the_newcomers_own_transactions() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=3, global_slots=3))
    pool.add(encode_transaction(_tx(nonce=0)))
    pool.add(encode_transaction(_tx(nonce=5)))  # Alice's own queued tx, the cheapest in the pool
    pool.add(encode_transaction(_tx(BOB_KEY, gas_price=10 * PRICE)))
    _assert_rejected(pool, _raw_adder(pool, _tx(nonce=1, gas_price=5 * PRICE)), "pool is full")


def test_full_pool_still_takes_replacements() -> None:
    pool = _pool(config=TxPoolConfig(account_slots=1, global_slots=1))
    pool.add(encode_transaction(_tx()))
    pool.add(encode_transaction(_tx(gas_price=2 * PRICE)))
    assert len(pool) == 1


# --- block selection -------------------------------------------------------------------------------------


def _fill_for_selection(pool: TxPool) -> dict[str, Transaction]:
    txs = {
        "alice0": _tx(ALICE_KEY, 0, PRICE), "alice1": _tx(ALICE_KEY, 1, 3 * PRICE),
        "bob0": _tx(BOB_KEY, 0, 2 * PRICE, gas_limit=50_000), "bob1": _tx(BOB_KEY, 1, 5 * PRICE),
        "carol0": _tx(CAROL_KEY, 0, PRICE + 1), "dave5": _tx(DAVE_KEY, 5, 9 * PRICE),  # queued: never selected
    }
    for tx in txs.values():
        pool.add(encode_transaction(tx))
    return txs


def test_get_executable_interleaves_senders_by_price_in_nonce_order() -> None:
    pool = _pool()
    txs = _fill_for_selection(pool)
    names = {tx.hash: name for name, tx in txs.items()}
    selected = pool.get_executable(100, CONFIG.block_gas_limit)
    assert [names[tx.hash] for tx in selected] == ["bob0", "bob1", "carol0", "alice0", "alice1"]
    assert [names[tx.hash] for tx in pool.get_executable(2, CONFIG.block_gas_limit)] == ["bob0", "bob1"]
    # Bob's first tx needs 50,000 gas: with 42,000 he is skipped whole, and smaller txs still fit.
    assert [names[tx.hash] for tx in pool.get_executable(100, 42_000)] == ["carol0", "alice0"]
    assert pool.get_executable(0, CONFIG.block_gas_limit) == [] and pool.get_executable(10, 20_999) == []
    assert len(pool) == 6  # selecting takes nothing out


def test_selection_applies_cleanly_to_the_state() -> None:
    state = _state()
    pool = _pool(state)
    _fill_for_selection(pool)
    selected = pool.get_executable(100, CONFIG.block_gas_limit)
    result = apply_transactions(state, selected, CONFIG, 0, CONFIG.block_gas_limit)
    assert len(result.receipts) == 5


# --- head changes ----------------------------------------------------------------------------------------


def test_new_head_drops_mined_and_promotes() -> None:
    state = _state()
    pool = _pool(state)
    for nonce in (0, 1, 2, 4):
        pool.add(encode_transaction(_tx(nonce=nonce)))
    mined = pool.get_executable(2, CONFIG.block_gas_limit)
    apply_transactions(state, mined, CONFIG, 0, CONFIG.block_gas_limit)
    pool.on_new_head()
    assert not any(pool.contains(tx.hash) for tx in mined)
    assert _nonces(pool.get_pending()) == {ALICE: [2]} and _nonces(pool.get_queued()) == {ALICE: [4]}
    # A transaction mined elsewhere with nonce 3 (say, through another node) fills the gap.
    pool.reset(_state({ALICE: 4}))
    assert _nonces(pool.get_pending()) == {ALICE: [4]} and pool.queued_count == 0
    pool.reset(_state({ALICE: 9}))
    assert len(pool) == 0 and pool.get_pending() == {} and pool.get_pending_nonce(ALICE) == 9


def test_new_head_drops_what_the_balance_no_longer_covers() -> None:
    state = _state(balance=10 * ONE)
    pool = _pool(state)
    for nonce in range(3):
        pool.add(encode_transaction(_tx(nonce=nonce, value=3 * ONE)))
    state.set_account(ALICE, Account(nonce=0, balance=7 * ONE))  # spent by a tx from another node
    pool.on_new_head()
    assert _nonces(pool.get_pending()) == {ALICE: [0, 1]}


# --- Ethereum-compatible transactions ----------------------------------------------------------------------


def _eth(chain_id: int, nonce: int = 0) -> bytes:
    tx = sign_eth_transaction(nonce=nonce, gas_price=PRICE, gas_limit=21_000, to=RECIPIENT, value=ONE, data=b"",
                              private_key=ALICE_KEY, chain_id=chain_id)
    return tx.encode()


@pytest.mark.parametrize("shard_id", [0, 2])
def test_eth_transaction_with_the_shards_eth_chain_id_is_admitted(shard_id: int) -> None:
    pool = _pool(shard_id=shard_id)
    raw = _eth(CONFIG.get_eth_chain_id(shard_id))
    tx_hash = pool.add(raw)
    stored = pool.get(tx_hash)
    assert isinstance(stored, Transaction) and stored.sender == ALICE
    assert stored.shard_id == stored.to_shard_id == shard_id
    assert stored.eth_hash == sign_eth_transaction(
        nonce=0, gas_price=PRICE, gas_limit=21_000, to=RECIPIENT, value=ONE, data=b"",
        private_key=ALICE_KEY, chain_id=CONFIG.get_eth_chain_id(shard_id)).hash
    # Peers receive the Harmony form; it decodes to the same sender and hash and is admitted there.
    [gossiped] = pool.drain_new_for_gossip()
    assert decode_transaction(gossiped).hash == tx_hash
    peer = _pool(shard_id=shard_id)
    assert peer.add(gossiped) == tx_hash
    _assert_rejected(pool, lambda: pool.add(raw), "already known")


def test_eth_transaction_with_another_chain_id_is_rejected() -> None:
    pool = _pool()
    _assert_rejected(pool, lambda: pool.add(_eth(CONFIG.get_eth_chain_id(1))), "transaction is for shard 1")
    _assert_rejected(pool, lambda: pool.add(_eth(1_666_600_000)), "not an Ethereum chain id of this network")
    _assert_rejected(pool, lambda: pool.add(_eth(CONFIG.chain_id)), "not an Ethereum chain id of this network")


# --- staking transactions ------------------------------------------------------------------------------------


def test_staking_transaction_is_admitted_on_the_beacon_chain() -> None:
    pool = _pool()
    tx = _delegate()
    assert pool.add(encode_staking_transaction(tx)) == tx.hash
    assert pool.get(tx.hash) == tx
    assert pool.drain_new_for_gossip() == [encode_staking_transaction(tx)]
    assert pool.get_executable_with_staking(10, CONFIG.block_gas_limit) == ([], [tx])
    assert pool.get_executable(10, CONFIG.block_gas_limit) == []


def test_staking_rejections_change_nothing() -> None:
    pool = _pool()
    pool.add(encode_transaction(_tx()))
    shard1 = _pool(shard_id=1)
    _assert_rejected(shard1, _raw_adder(shard1, _delegate()), "beacon chain")
    _assert_rejected(pool, _raw_adder(pool, _delegate(nonce=1, delegator=BOB)), "is signed by 0x")
    _assert_rejected(pool, _raw_adder(pool, _delegate(nonce=1, chain_id=CONFIG.get_eth_chain_id(0))),
                     "staking transactions must be signed with chain id 2")
    _assert_rejected(pool, _raw_adder(pool, _delegate(nonce=1, gas_price=PRICE - 1)), "below the minimum")
    # The delegated amount leaves the balance, so it counts like a transfer's value.
    _assert_rejected(pool, _raw_adder(pool, _delegate(nonce=1, amount=99 * ONE)), "insufficient funds")
    _assert_rejected(pool, _raw_adder(pool, _delegate(nonce=0)), "replacement transaction underpriced")


def test_create_validator_pays_its_intrinsic_gas() -> None:
    message = CreateValidator(
        ALICE, Description("a", "b", "c", "d", "e"), CommissionRates(10**17, 5 * 10**17, 10**16),
        10_000 * ONE, 20_000 * ONE, (b"\x01" * 48,), (b"\x02" * 96,), 10 * ONE,
    )
    data_gas = len(encode_item(_staking(message, ALICE_KEY, 0, PRICE, 1).message))  # at least 4 a byte
    need = compute_staking_intrinsic_gas(_staking(message, ALICE_KEY, 0, PRICE, 1))
    assert 5_300_000 + 4 * data_gas <= need <= 5_300_000 + 16 * data_gas
    pool = _pool()
    _assert_rejected(pool, _raw_adder(pool, _staking(message, ALICE_KEY, 0, PRICE, need - 1)),
                     f"intrinsic gas too low: need {need}")
    pool.add(encode_staking_transaction(_staking(message, ALICE_KEY, 0, PRICE, need)))


def test_plain_and_staking_transactions_share_the_account_nonce() -> None:
    pool = _pool()
    plain0, staking1, plain2 = _tx(nonce=0), _delegate(nonce=1), _tx(nonce=2)
    bob0 = _tx(BOB_KEY, gas_price=2 * PRICE)
    for tx in (staking1, plain2, plain0, bob0):
        pool.add_transaction(tx)
    assert _nonces(pool.get_pending()) == {ALICE: [0, 1, 2], BOB: [0]}
    assert pool.get_pending_nonce(ALICE) == 3
    # A block runs plain txs before staking ones: Alice's nonce 2 must wait for the next block.
    assert pool.get_executable(10, CONFIG.block_gas_limit) == [bob0, plain0]
    assert pool.get_executable_with_staking(10, CONFIG.block_gas_limit) == ([bob0, plain0], [staking1])
    # One nonce, one slot: a staking tx may replace a plain one with the bump, and the other way round.
    pool.add_transaction(_delegate(nonce=2, gas_price=2 * PRICE))
    assert not pool.contains(plain2.hash)
    _assert_rejected(pool, lambda: pool.add_transaction(_delegate(nonce=0)), "replacement transaction underpriced")


# --- property: random adds and head changes keep the pool valid against the state ------------------------------


@lru_cache(maxsize=None)
def _signed(sender: int, nonce: int, price_step: int, value_ones: int, staking: bool) -> PoolTransaction:
    price = PRICE + price_step * PRICE // 50
    if staking:
        return _delegate(KEYS[sender], nonce, price, amount=value_ones * ONE)
    return _tx(KEYS[sender], nonce, price, value=value_ones * ONE)


# (sender, nonce relative to the sender's next pool nonce, price step, value in ONE, staking?),
# (txs to mine,), (sender, new balance in ONE)
adds = st.tuples(st.integers(0, 3), st.integers(-2, 3), st.integers(0, 4), st.sampled_from([0, 1, 2, 5]), st.integers(0, 1))
steps = st.one_of(
    st.tuples(st.just("add"), adds),
    st.tuples(st.just("add"), adds),  # twice as likely as the others
    st.tuples(st.just("mine"), st.tuples(st.integers(0, 6))),
    st.tuples(st.just("spend"), st.tuples(st.integers(0, 3), st.integers(0, 20))),
)


def _leading_plain(txs: list[PoolTransaction]) -> list[Transaction]:
    """A sender's plain txs that a block can run before its first staking one."""
    return list(takewhile(lambda tx: isinstance(tx, Transaction), txs))


def _cost(tx: PoolTransaction) -> int:
    if isinstance(tx, Transaction):
        return tx.gas_limit * tx.gas_price + tx.value
    message = tx.stake_message
    assert isinstance(message, Delegate)
    return tx.gas_limit * tx.gas_price + message.amount


def _check_invariants(pool: TxPool, state: StateDB, config: TxPoolConfig) -> None:
    pending, queued = pool.get_pending(), pool.get_queued()
    seen: set[tuple[bytes, int]] = set()
    for sender in set(pending) | set(queued):
        account_nonce = state.get_nonce(sender)
        run = [tx.nonce for tx in pending.get(sender, [])]
        assert run == list(range(account_nonce, account_nonce + len(run)))  # contiguous from the account nonce
        later = [tx.nonce for tx in queued.get(sender, [])]
        assert all(nonce > account_nonce + len(run) for nonce in later)  # a queued tx sits behind a gap
        txs = pending.get(sender, []) + queued.get(sender, [])
        assert len(txs) <= config.account_slots
        seen.update((sender, tx.nonce) for tx in txs)
        # Every tx passes the block rules at its turn: the sender can pay for all of them in nonce order,
        # and its executable plain ones apply to the state as a block would apply them.
        assert sum(_cost(tx) for tx in txs) <= state.get_balance(sender)
        scratch = StateDB(MemoryStore())
        scratch.set_account(sender, state.get_account(sender))
        apply_transactions(scratch, _leading_plain(pending.get(sender, [])), CONFIG, 0, CONFIG.block_gas_limit)
    assert len(seen) == len(pool) <= config.global_slots  # no duplicate (sender, nonce)
    assert pool.pending_count + pool.queued_count == len(pool)
    assert pool.pending_count == sum(len(txs) for txs in pending.values())


@settings(max_examples=100)
@given(st.lists(steps, min_size=10, max_size=40))
def test_random_adds_and_head_changes_keep_the_pool_valid(ops: list[tuple[str, tuple[int, ...]]]) -> None:
    config = TxPoolConfig(account_slots=3, global_slots=6)
    state = _state(balance=12 * ONE)
    pool = _pool(state, config)
    for kind, arg in ops:
        if kind == "add":
            sender, offset, price_step, value_ones, staking = arg
            nonce = max(0, pool.get_pending_nonce(ADDRESSES[sender]) + offset)
            tx = _signed(sender, nonce, price_step, value_ones, bool(staking))
            before = _snapshot(pool)
            pool.drain_new_for_gossip()
            try:
                pool.add_transaction(tx)
            except InvalidTransaction as exc:
                event(f"rejected: {exc.reason.split(':')[0][:30]}")
                assert _snapshot(pool) == before and pool.drain_new_for_gossip() == []
            else:
                assert pool.contains(tx.hash) and pool.drain_new_for_gossip() == [
                    encode_staking_transaction(tx) if isinstance(tx, StakingTransaction) else encode_transaction(tx)
                ]
        elif kind == "mine":
            plain, _ = pool.get_executable_with_staking(arg[0], CONFIG.block_gas_limit)
            apply_transactions(state, plain, CONFIG, 0, CONFIG.block_gas_limit)  # the block rules agree
            pool.on_new_head()
            assert not any(pool.contains(tx.hash) for tx in plain)
        else:
            sender, ones = arg
            account = state.get_account(ADDRESSES[sender])
            state.set_account(ADDRESSES[sender], Account(account.nonce, min(account.balance, ones * ONE)))
            pool.on_new_head()
        _check_invariants(pool, state, config)
    event(f"final size {len(pool)}, queued {pool.queued_count}")
