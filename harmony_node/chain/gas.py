"""Intrinsic gas: what a transaction costs before any code runs (Istanbul schedule, reference §4.1)."""

from __future__ import annotations

from harmony_node.types.rlp_codec import encode_item
from harmony_node.types.staking_transaction import CreateValidator, StakingTransaction

TX_GAS = 21_000
"""Base cost of every transaction (geth params.TxGas)."""
TX_GAS_VALIDATOR_CREATION = 5_300_000
"""Base gas of a CreateValidator (Harmony's ``params.TxGasValidatorCreation``), instead of 21000."""
TX_DATA_ZERO_GAS = 4
TX_DATA_NON_ZERO_GAS = 16
"""Per-byte data costs since Istanbul (EIP-2028)."""


def compute_intrinsic_gas(data: bytes) -> int:
    """Gas a plain transfer carrying ``data`` uses: 21000 plus 4 per zero byte and 16 per other byte."""
    zeros = data.count(0)
    return TX_GAS + zeros * TX_DATA_ZERO_GAS + (len(data) - zeros) * TX_DATA_NON_ZERO_GAS


def compute_staking_intrinsic_gas(tx: StakingTransaction) -> int:
    """Harmony's ``IntrinsicGas`` for a staking transaction: data gas over the encoded stakeMsg.

    The base is 5,300,000 for CreateValidator (it writes a whole validator record) and 21,000 otherwise.
    """
    base = TX_GAS_VALIDATOR_CREATION if isinstance(tx.stake_message, CreateValidator) else TX_GAS
    return compute_intrinsic_gas(encode_item(tx.message)) - TX_GAS + base
