"""A block (header plus body) in Harmony's wire encoding, and the body roots its header commits to.

Harmony encodes a block with a v3 header as ``extblockV2`` through the block ``taggedrlp`` registry, where
it is registered under tag "v2" (``core/types/block.go Block.EncodeRLP`` and ``blockRegistry``)::

    RLP(["HmnyTgd", "v2", [Header, Txs, StakingTxs, Uncles, IncomingReceipts]])

The body list is a nested list (the envelope's ``Raw`` is an ``rlp.RawValue``), and ``Header`` inside it
is itself the tagged ``["HmnyTgd", "v3", fields]`` envelope, as Harmony's ``block/header.go`` encodes
it everywhere. Uncles are always empty in Harmony; a block carrying any is refused here.

The block hash is the header hash. Body roots (``core/types/block.go NewBlock``):
TxHash = DeriveSha(plain txs, staking txs) with one index across both lists, ReceiptHash =
DeriveSha(receipts of plain then staking txs), IncomingReceiptHash = DeriveSha(incoming proofs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rlp
from rlp.exceptions import DeserializationError, RLPException, SerializationError
from rlp.sedes import CountableList

from harmony_node.exceptions import DecodingError
from harmony_node.types.cx_receipt import CXReceiptsProof
from harmony_node.types.derive_sha import derive_sha
from harmony_node.types.header import Header, unwrap_tagged, wrap_tagged
from harmony_node.types.receipt import Receipt
from harmony_node.types.staking_transaction import StakingTransaction
from harmony_node.types.transaction import Transaction

BLOCK_TAG = b"v2"
"""Tag of ``extblockV2``, the block layout that goes with a v3 header."""


class Block(rlp.Serializable):
    """A v3-header block; RLP (de)serialization is the tagged ``["HmnyTgd", "v2", [...]]`` form."""

    fields = [
        ("header", Header),
        ("transactions", CountableList(Transaction)),
        ("staking_transactions", CountableList(StakingTransaction)),
        ("uncles", CountableList(Header)),
        ("incoming_receipts", CountableList(CXReceiptsProof)),
    ]

    @classmethod
    def serialize(cls, obj: Block) -> list[object]:
        """Serialize ``obj`` into its tagged envelope; a block with uncles cannot be serialized."""
        if obj.uncles:
            raise SerializationError("Harmony blocks have no uncles", obj)
        return wrap_tagged(BLOCK_TAG, super().serialize(obj))

    @classmethod
    def deserialize(cls, serial: object, **extra_kwargs: Any) -> Block:
        """Deserialize a tagged v2 block envelope; raise ``rlp.DeserializationError`` for anything else."""
        block: Block = super().deserialize(unwrap_tagged(BLOCK_TAG, serial), **extra_kwargs)
        if block.uncles:
            raise DeserializationError("Harmony blocks have no uncles", serial)
        return block

    @property
    def hash(self) -> bytes:
        """The block hash, which is the header hash."""
        return self.header.hash


def encode_block(block: Block) -> bytes:
    """Return the tagged RLP encoding of ``block``."""
    result: bytes = rlp.encode(block)
    return result


def decode_block(data: bytes) -> Block:
    """Decode a tagged v2 block with a v3 header; raise DecodingError for anything malformed."""
    try:
        block: Block = rlp.decode(data, sedes=Block)
    except RLPException as error:
        raise DecodingError(f"malformed block: {error}") from error
    return block


def compute_transactions_root(block: Block) -> bytes:
    """Return the TxHash ``block`` should carry: DeriveSha of plain then staking txs, one shared index."""
    return derive_sha(block.transactions, block.staking_transactions)


def compute_receipts_root(receipts: Sequence[Receipt]) -> bytes:
    """Return the header's ReceiptHash: DeriveSha of the plain-tx receipts followed by the staking ones."""
    return derive_sha(receipts)


def compute_incoming_receipts_root(proofs: Sequence[CXReceiptsProof]) -> bytes:
    """Return the header's IncomingReceiptHash: DeriveSha of the block's incoming receipt proofs."""
    return derive_sha(proofs)
