"""Intrinsic gas: what a transaction costs before any code runs (Istanbul schedule, reference §4.1)."""

from __future__ import annotations

TX_GAS = 21_000
"""Base cost of every transaction (geth params.TxGas)."""
TX_DATA_ZERO_GAS = 4
TX_DATA_NON_ZERO_GAS = 16
"""Per-byte data costs since Istanbul (EIP-2028)."""


def compute_intrinsic_gas(data: bytes) -> int:
    """Gas a plain transfer carrying ``data`` uses: 21000 plus 4 per zero byte and 16 per other byte."""
    zeros = data.count(0)
    return TX_GAS + zeros * TX_DATA_ZERO_GAS + (len(data) - zeros) * TX_DATA_NON_ZERO_GAS
