"""Executing plain transfers: every rule, every rejection reason, fee burning and cross-shard debits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.secp256k1 import compute_address
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.execution import apply_transaction, apply_transactions
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.exceptions import InvalidTransaction
from harmony_node.state.account import Account
from harmony_node.state.state_db import StateDB
from harmony_node.types.transaction import Transaction, sign_transaction

CONFIG = ChainConfig()  # localnet: chain id 2, 3 shards, 100 gwei minimum
GAS_PRICE = CONFIG.min_gas_price
ALICE_KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
ALICE = compute_address(ALICE_KEY)
BOB = bytes.fromhex("11" * 20)
START = 1_000 * ONE


def _state(balance: int = START, nonce: int = 0) -> StateDB:
    state = StateDB(MemoryStore())
    state.set_account(ALICE, Account(nonce=nonce, balance=balance))
    return state


def _transfer(**overrides: object) -> Transaction:
    fields: dict[str, object] = {
        "nonce": 0,
        "gas_price": GAS_PRICE,
        "gas_limit": 21_000,
        "shard_id": 0,
        "to_shard_id": 0,
        "to": BOB,
        "value": 5 * ONE,
        "data": b"",
        "private_key": ALICE_KEY,
        "chain_id": CONFIG.chain_id,
    }
    fields.update(overrides)
    return sign_transaction(**fields)  # type: ignore[arg-type]


def test_same_shard_transfer_credits_and_burns_the_fee() -> None:
    state = _state()
    result = apply_transaction(state, _transfer(), CONFIG, 0, CONFIG.block_gas_limit, 0)
    fee = 21_000 * GAS_PRICE
    assert result.sender == ALICE and result.gas_used == 21_000 and result.cx_receipt is None
    assert state.get_account(ALICE) == Account(nonce=1, balance=START - 5 * ONE - fee)
    assert state.get_balance(BOB) == 5 * ONE
    # The fee went to nobody: total supply shrank by exactly the fee.
    assert state.get_balance(ALICE) + state.get_balance(BOB) == START - fee
    assert result.receipt.status == 1 and result.receipt.cumulative_gas_used == 21_000


def test_unused_gas_is_not_charged_and_data_costs_gas() -> None:
    state = _state()
    data = b"\x00\x01\x02"
    result = apply_transaction(state, _transfer(gas_limit=50_000, data=data), CONFIG, 0, CONFIG.block_gas_limit, 0)
    assert result.gas_used == 21_000 + 4 + 16 * 2
    assert state.get_balance(ALICE) == START - 5 * ONE - result.gas_used * GAS_PRICE


def test_cross_shard_transfer_only_debits_and_emits_a_receipt() -> None:
    state = _state()
    tx = _transfer(to_shard_id=2)
    result = apply_transaction(state, tx, CONFIG, 0, CONFIG.block_gas_limit, 0)
    assert state.get_balance(BOB) == 0
    assert state.get_balance(ALICE) == START - 5 * ONE - 21_000 * GAS_PRICE
    cx = result.cx_receipt
    assert cx is not None
    assert (cx.tx_hash, cx.from_address, cx.to_address, cx.shard_id, cx.to_shard_id, cx.amount) == (
        tx.hash, ALICE, BOB, 0, 2, 5 * ONE
    )


@pytest.mark.parametrize(
    ("overrides", "state_kwargs", "reason"),
    [
        ({"shard_id": 1, "to_shard_id": 1}, {}, "is for shard 1"),
        ({"to_shard_id": 3}, {}, "destination shard 3 does not exist"),
        ({"chain_id": 1}, {}, "wrong chain id 1"),
        ({"chain_id": CONFIG.get_eth_chain_id(1)}, {}, "wrong chain id"),
        ({"nonce": 1}, {}, "nonce too high"),
        ({"nonce": 0}, {"nonce": 2}, "nonce too low"),
        ({"gas_price": GAS_PRICE - 1}, {}, "below the minimum"),
        ({"gas_limit": 20_999}, {}, "intrinsic gas too low"),
        ({"gas_limit": 21_015, "data": b"\x01"}, {}, "intrinsic gas too low"),
        ({"to": b""}, {}, "contract creation is not supported"),
        ({"value": START}, {}, "insufficient funds"),
        ({"gas_limit": 31_000_000}, {"balance": 10**30}, "exceeds the gas left in the block"),
    ],
)
def test_invalid_transactions_are_rejected_with_a_reason_and_change_nothing(
    overrides: dict[str, object], state_kwargs: dict[str, int], reason: str
) -> None:
    state = _state(**state_kwargs)
    before = (state.get_account(ALICE), state.get_account(BOB))
    with pytest.raises(InvalidTransaction, match=reason):
        apply_transaction(state, _transfer(**overrides), CONFIG, 0, CONFIG.block_gas_limit, 0)
    assert (state.get_account(ALICE), state.get_account(BOB)) == before
    assert not state.has_pending_changes or state.commit(WriteBatch()) == _state(**state_kwargs).commit(WriteBatch())


def test_ethereum_transaction_on_its_own_shard_is_accepted_but_not_cross_shard() -> None:
    state = _state()
    eth_tx = _transfer(chain_id=CONFIG.get_eth_chain_id(0))
    assert apply_transaction(state, eth_tx, CONFIG, 0, CONFIG.block_gas_limit, 0).sender == ALICE
    with pytest.raises(InvalidTransaction, match="cannot be cross-shard"):
        apply_transaction(_state(), _transfer(chain_id=CONFIG.get_eth_chain_id(0), to_shard_id=1), CONFIG, 0, CONFIG.block_gas_limit, 0)


def test_replayed_transaction_is_rejected() -> None:
    state = _state()
    tx = _transfer()
    apply_transaction(state, tx, CONFIG, 0, CONFIG.block_gas_limit, 0)
    with pytest.raises(InvalidTransaction, match="nonce too low"):
        apply_transaction(state, tx, CONFIG, 0, CONFIG.block_gas_limit, 0)


def test_a_bad_transaction_names_its_index_in_the_block() -> None:
    state = _state()
    with pytest.raises(InvalidTransaction, match="transaction 1 "):
        apply_transactions(state, [_transfer(nonce=0), _transfer(nonce=5)], CONFIG, 0, CONFIG.block_gas_limit)


@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2 * ONE), st.sampled_from([0, 1, 2])), min_size=1, max_size=8))
def test_supply_is_conserved_minus_fees_and_outgoing_receipts(transfers: list[tuple[int, int, int]]) -> None:
    """Σ balances after = Σ balances before − burned fees − value sent to other shards."""
    state = _state(balance=10 * ONE)
    nonce = 0
    burned = outgoing = 0
    for recipient_byte, value, to_shard in transfers:
        tx = _transfer(nonce=nonce, to=bytes([recipient_byte + 1]) * 20, value=value, to_shard_id=to_shard)
        try:
            result = apply_transaction(state, tx, CONFIG, 0, CONFIG.block_gas_limit, 0)
        except InvalidTransaction:
            continue
        nonce += 1
        burned += result.gas_used * GAS_PRICE
        if result.cx_receipt is not None:
            outgoing += result.cx_receipt.amount
    total = state.get_balance(ALICE) + sum(state.get_balance(bytes([b + 1]) * 20) for b in range(4))
    assert total == 10 * ONE - burned - outgoing
