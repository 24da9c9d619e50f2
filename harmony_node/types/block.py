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

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import rlp
from rlp.exceptions import DeserializationError, RLPException, SerializationError
from rlp.sedes import CountableList

from harmony_node.exceptions import DecodingError
from harmony_node.types.cx_receipt import CXReceiptsProof
from harmony_node.types.derive_sha import derive_sha
from harmony_node.types.header import Header, unwrap_tagged, wrap_tagged
from harmony_node.types.receipt import Receipt
from harmony_node.types.staking_transaction import StakingTransaction, decode_staking_transaction
from harmony_node.types.transaction import Transaction, decode_transaction
from harmony_node.types.rlp_codec import decode_rlp

BLOCK_TAG = b"v2"
"""Tag of ``extblockV2``, the block layout that goes with a v3 header."""

_Tx = TypeVar("_Tx", Transaction, StakingTransaction)


class _ValidatedTransactions(Generic[_Tx]):
    """Sedes for a body's list of transactions that decodes each one with its own validating decoder.

    The transaction classes' plain RLP sedes check less than ``decode_transaction`` /
    ``decode_staking_transaction`` do (integer widths, recipient length, the stake message), so each
    element is re-encoded (pyrlp only accepts canonical RLP, so these are its original bytes) and
    decoded by them: a transaction inside a block is held to the same rules as one sent alone.
    """

    def __init__(self, tx_class: type[_Tx], decode: Callable[[bytes], _Tx]) -> None:
        self._tx_class: type[_Tx] = tx_class
        self._decode: Callable[[bytes], _Tx] = decode

    def serialize(self, obj: object) -> list[object]:
        """Serialize a sequence of transactions; raise ``rlp.SerializationError`` for anything else."""
        if isinstance(obj, (bytes, bytearray)) or not isinstance(obj, Sequence):
            raise SerializationError("expected a sequence of transactions", obj)
        return [self._tx_class.serialize(tx) for tx in obj]

    def deserialize(self, serial: object) -> tuple[_Tx, ...]:
        """Decode every element; raise ``rlp.DeserializationError`` if any is not a valid transaction."""
        if isinstance(serial, bytes) or not isinstance(serial, (list, tuple)):
            raise DeserializationError("expected a list of transactions", serial)
        try:
            return tuple(self._decode(rlp.encode(item)) for item in serial)
        except DecodingError as error:
            raise DeserializationError(f"invalid transaction in block: {error}", serial) from error


class Block(rlp.Serializable):
    """A v3-header block; RLP (de)serialization is the tagged ``["HmnyTgd", "v2", [...]]`` form."""

    fields = [
        ("header", Header),
        ("transactions", _ValidatedTransactions(Transaction, decode_transaction)),
        ("staking_transactions", _ValidatedTransactions(StakingTransaction, decode_staking_transaction)),
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


MAX_BLOCK_RLP_ITEMS = 500_000
"""RLP items (strings and lists, at every level) a block may hold. A full block of plain transfers
(30 M gas / 21,000) is ~1,430 transactions of 12 items; with staking transactions, incoming receipt
proofs and the header, real blocks stay far below this, while a peer's 16 MiB block of one-byte
items (16 M of them, ~5 s and 150 MB to build as Python objects) is refused a thirtieth of the way in."""


def decode_block(data: bytes) -> Block:
    """Decode a tagged v2 block with a v3 header; raise DecodingError for anything malformed."""
    try:
        # Not rlp.decode: a block's lists come from peers, and its decoding is quadratic in their items.
        block: Block = Block.deserialize(decode_rlp(data, max_items=MAX_BLOCK_RLP_ITEMS))
    except (RLPException, DecodingError) as error:
        raise DecodingError(f"malformed block: {error}") from error
    block._cached_rlp = data  # as rlp.decode does: storing the block re-encodes it (canonical, so these bytes)
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
