"""Executing plain transfers and blocks of them on one shard (the state transition).

Rules (reference §4.1, §5; DESIGN.md §3 "Economics"):
- a transaction must be for this shard, signed with this network's chain id (or, for a converted
  Ethereum transaction, this shard's Ethereum chain id), carry the sender's next nonce, pay at
  least the minimum gas price and its intrinsic gas, and the sender must afford value + gas;
- the fee (gas used x gas price) is burned: debited from the sender, credited to nobody;
- a same-shard transfer credits the recipient; a cross-shard transfer only debits here and emits
  an outgoing ``CXReceipt`` that the destination shard credits once.

Every check runs before the first state write, so a rejected transaction leaves state untouched.
Contract creation and contract calls are not supported (there is no EVM): a transaction without a
recipient is rejected, and data sent to an account is charged as data gas only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harmony_node.chain.config import ChainConfig
from harmony_node.chain.gas import compute_intrinsic_gas
from harmony_node.exceptions import InvalidSignature, InvalidTransaction
from harmony_node.state.account import Account
from harmony_node.state.state_db import StateDB
from harmony_node.types.cx_receipt import CXReceipt
from harmony_node.types.receipt import RECEIPT_STATUS_SUCCESSFUL, Receipt
from harmony_node.types.transaction import Transaction

EMPTY_BLOOM = bytes(256)
"""Transfers emit no logs, so their receipts carry the empty bloom."""


@dataclass(frozen=True, slots=True)
class TransactionResult:
    """What one applied transaction produced."""

    sender: bytes
    gas_used: int
    receipt: Receipt
    cx_receipt: CXReceipt | None


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What a list of transactions produced, in order."""

    receipts: tuple[Receipt, ...]
    cx_receipts: tuple[CXReceipt, ...]
    gas_used: int


def get_sender(tx: Transaction) -> bytes:
    """Recover the sender, turning a bad signature into a transaction rejection."""
    try:
        return tx.recover_sender()
    except InvalidSignature as exc:
        raise InvalidTransaction(f"invalid signature: {exc}") from exc


def validate_transaction_shape(tx: Transaction, config: ChainConfig, shard_id: int) -> None:
    """The checks that need no state: shard, destination, chain id, recipient (the pool runs them too)."""
    if tx.shard_id != shard_id:
        raise InvalidTransaction(f"transaction is for shard {tx.shard_id}, this is shard {shard_id}: "
                                 "send it to that shard")
    if tx.to_shard_id >= config.num_shards:
        raise InvalidTransaction(
            f"destination shard {tx.to_shard_id} does not exist ({config.num_shards} shards)"
        )
    chain_id = tx.chain_id
    if chain_id is None:
        raise InvalidTransaction("transaction has no chain id (pre-EIP-155 signatures are not accepted)")
    if chain_id != config.chain_id:
        if chain_id != config.get_eth_chain_id(shard_id):
            raise InvalidTransaction(
                f"wrong chain id {chain_id}: expected {config.chain_id} "
                f"(or {config.get_eth_chain_id(shard_id)} for Ethereum transactions on this shard)"
            )
        if tx.to_shard_id != shard_id:
            raise InvalidTransaction("Ethereum transactions cannot be cross-shard")
    if not tx.to:
        raise InvalidTransaction("contract creation is not supported (transaction has no recipient)")


def validate_transaction(
    state: StateDB,
    tx: Transaction,
    sender: bytes,
    config: ChainConfig,
    shard_id: int,
    gas_available: int,
) -> int:
    """Check ``tx`` against the rules and the current state; return its gas use or raise."""
    validate_transaction_shape(tx, config, shard_id)
    account = state.get_account(sender)
    if tx.nonce != account.nonce:
        word = "too low" if tx.nonce < account.nonce else "too high"
        raise InvalidTransaction(f"nonce {word}: got {tx.nonce}, account nonce is {account.nonce}")
    if tx.gas_price < config.min_gas_price:
        raise InvalidTransaction(
            f"gas price {tx.gas_price} is below the minimum {config.min_gas_price}"
        )
    gas = compute_intrinsic_gas(tx.data)
    if tx.gas_limit < gas:
        raise InvalidTransaction(f"intrinsic gas too low: need {gas}, gas limit is {tx.gas_limit}")
    if tx.gas_limit > gas_available:
        raise InvalidTransaction(
            f"gas limit {tx.gas_limit} exceeds the gas left in the block ({gas_available})"
        )
    # The sender must afford the whole gas limit up front, as in geth's buyGas.
    cost = tx.value + tx.gas_limit * tx.gas_price
    if account.balance < cost:
        raise InvalidTransaction(
            f"insufficient funds: balance {account.balance}, value + gas limit x price is {cost}"
        )
    return gas


def apply_transaction(
    state: StateDB,
    tx: Transaction,
    config: ChainConfig,
    shard_id: int,
    gas_available: int,
    cumulative_gas_used: int,
) -> TransactionResult:
    """Validate and apply one transaction; on rejection nothing has changed."""
    sender = get_sender(tx)
    gas_used = validate_transaction(state, tx, sender, config, shard_id, gas_available)
    account = state.get_account(sender)
    fee = gas_used * tx.gas_price  # burned: nobody is credited
    state.set_account(
        sender,
        Account(
            account.nonce + 1, account.balance - tx.value - fee, account.storage_root, account.code_hash
        ),
    )
    cx_receipt = None
    if tx.to_shard_id == shard_id:
        recipient = state.get_account(tx.to)
        state.set_account(
            tx.to,
            Account(
                recipient.nonce, recipient.balance + tx.value, recipient.storage_root, recipient.code_hash
            ),
        )
    else:
        cx_receipt = CXReceipt(tx.hash, sender, tx.to, tx.shard_id, tx.to_shard_id, tx.value)
    receipt = Receipt(RECEIPT_STATUS_SUCCESSFUL, cumulative_gas_used + gas_used, EMPTY_BLOOM, [])
    return TransactionResult(sender, gas_used, receipt, cx_receipt)


def apply_transactions(
    state: StateDB,
    transactions: Sequence[Transaction],
    config: ChainConfig,
    shard_id: int,
    gas_limit: int,
) -> ExecutionResult:
    """Apply every transaction of a block in order; any rejection rejects them all.

    The rejection names the transaction's index. The state may hold the effects of earlier
    transactions then, so callers discard it (see ``StateDB``).
    """
    receipts: list[Receipt] = []
    cx_receipts: list[CXReceipt] = []
    gas_used = 0
    for index, tx in enumerate(transactions):
        try:
            result = apply_transaction(state, tx, config, shard_id, gas_limit - gas_used, gas_used)
        except InvalidTransaction as exc:
            raise InvalidTransaction(f"transaction {index} ({tx.hash.hex()}): {exc.reason}") from exc
        gas_used += result.gas_used
        receipts.append(result.receipt)
        if result.cx_receipt is not None:
            cx_receipts.append(result.cx_receipt)
    return ExecutionResult(tuple(receipts), tuple(cx_receipts), gas_used)
