"""Deeply nested RLP from a peer is refused with DecodingError, never RecursionError."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from consensus.evidence import DoubleSignEvidence
from consensus.messages import decode_message
from harmony_node.exceptions import DecodingError
from harmony_node.types.block import decode_block
from harmony_node.types.cx_receipt import decode_cx_receipts_proof
from harmony_node.types.eth_transaction import decode_eth_transaction
from harmony_node.types.header import decode_header
from harmony_node.types.receipt import decode_receipt
from harmony_node.types.rlp_codec import validate_rlp_depth
from harmony_node.types.staking_transaction import decode_staking_transaction
from harmony_node.types.transaction import decode_transaction


def _nested(depth: int) -> bytes:
    """``[[[...[]...]]]`` built without recursion."""
    data = b"\xc0"
    for _ in range(depth):
        n = len(data)
        if n < 56:
            data = bytes([0xC0 + n]) + data
        else:
            size = n.to_bytes((n.bit_length() + 7) // 8, "big")
            data = bytes([0xF7 + len(size)]) + size + data
    return data


DECODERS: list[Callable[[bytes], object]] = [
    decode_block, decode_header, decode_receipt, decode_cx_receipts_proof, DoubleSignEvidence.decode,
    decode_message, decode_transaction, decode_eth_transaction, decode_staking_transaction,
]


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: d.__qualname__)
def test_deep_nesting_is_a_decoding_error(decoder: Callable[[bytes], object]) -> None:
    with pytest.raises(DecodingError):
        decoder(_nested(5000))


def test_depth_limit_is_exact() -> None:
    validate_rlp_depth(_nested(15), max_depth=16)  # 16 lists in all
    with pytest.raises(DecodingError, match="deeper than 16"):
        validate_rlp_depth(_nested(16), max_depth=16)
    validate_rlp_depth(b"\x83abc" + b"\xc2\xc1\xc0", max_depth=3)  # siblings do not add depth
