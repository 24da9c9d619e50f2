"""Transaction receipts, their logs, and the 2048-bit log bloom.

A receipt's consensus encoding is geth's (``core/types/receipt.go receiptRLP``, used unchanged by
Harmony): ``[PostStateOrStatus, CumulativeGasUsed, Bloom, Logs]`` with a log ``[Address, Topics, Data]``.
Post-Byzantium status is the byte string ``0x01`` for success and the empty string for failure. Harmony
writes the 32-byte intermediate state root instead only before its S3 fork, which this chain has from
genesis, so that form is rejected.

The bloom (``core/types/bloom9.go``): for each log address and topic, keccak256 it and set the three
bits given by bytes (0,1), (2,3), (4,5) of the digest, each pair read big-endian and masked to 11 bits;
bit ``n`` is bit ``n % 8`` of byte ``255 - n // 8``, i.e. the bloom is a 2048-bit big-endian integer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import rlp
from rlp.exceptions import DeserializationError, RLPException, SerializationError
from rlp.sedes import CountableList

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.sedes import address, binary, bloom, hash32, uint64
from harmony_node.types.rlp_codec import decode_rlp

BLOOM_BYTE_LENGTH = 256

RECEIPT_STATUS_FAILED = 0
RECEIPT_STATUS_SUCCESSFUL = 1

_STATUS_ENCODINGS = {RECEIPT_STATUS_FAILED: b"", RECEIPT_STATUS_SUCCESSFUL: b"\x01"}
_STATUS_DECODINGS = {encoding: status for status, encoding in _STATUS_ENCODINGS.items()}


class ReceiptStatus:
    """Sedes for ``PostStateOrStatus`` holding a status: 1 <-> ``b"\\x01"``, 0 <-> ``b""``."""

    def serialize(self, obj: object) -> bytes:
        """Encode a status; raise ``rlp.SerializationError`` unless it is 0 or 1."""
        if isinstance(obj, bool) or not isinstance(obj, int) or obj not in _STATUS_ENCODINGS:
            raise SerializationError("receipt status must be 0 or 1", obj)
        return _STATUS_ENCODINGS[obj]

    def deserialize(self, serial: object) -> int:
        """Decode a status; raise ``rlp.DeserializationError`` for a post-state root or anything else."""
        if not isinstance(serial, bytes) or serial not in _STATUS_DECODINGS:
            raise DeserializationError("receipt status must be 0x01 or empty", serial)
        return _STATUS_DECODINGS[serial]


class Log(rlp.Serializable):
    """An EVM log: emitting contract address, up to four 32-byte topics, data."""

    fields = [
        ("address", address),
        ("topics", CountableList(hash32)),
        ("data", binary),
    ]


class Receipt(rlp.Serializable):
    """The consensus fields of a transaction receipt, in geth's order."""

    fields = [
        ("status", ReceiptStatus()),
        ("cumulative_gas_used", uint64),
        ("bloom", bloom),
        ("logs", CountableList(Log)),
    ]


def make_receipt(*, succeeded: bool, cumulative_gas_used: int, logs: Sequence[Log]) -> Receipt:
    """Return the receipt of a transaction, its bloom computed from ``logs``."""
    return Receipt(
        status=RECEIPT_STATUS_SUCCESSFUL if succeeded else RECEIPT_STATUS_FAILED,
        cumulative_gas_used=cumulative_gas_used,
        bloom=compute_logs_bloom(logs),
        logs=tuple(logs),
    )


def encode_receipt(receipt: Receipt) -> bytes:
    """Return the consensus RLP encoding of ``receipt`` (the value DeriveSha puts in the trie)."""
    result: bytes = rlp.encode(receipt)
    return result


def decode_receipt(data: bytes) -> Receipt:
    """Decode a receipt's consensus RLP; raise DecodingError for anything malformed."""
    try:
        receipt: Receipt = Receipt.deserialize(decode_rlp(data))  # linear; rlp.decode is quadratic in a list's items
    except (RLPException, DecodingError) as error:
        raise DecodingError(f"malformed receipt: {error}") from error
    receipt._cached_rlp = data  # as rlp.decode does
    return receipt


def _bloom_bits(item: bytes) -> int:
    digest = keccak256(item)
    bits = 0
    for i in (0, 2, 4):
        bits |= 1 << (((digest[i] << 8) | digest[i + 1]) & 2047)
    return bits


def compute_bloom(items: Iterable[bytes]) -> bytes:
    """Return the 256-byte bloom with every item of ``items`` added (geth ``Bloom.Add``)."""
    bits = 0
    for item in items:
        bits |= _bloom_bits(item)
    return bits.to_bytes(BLOOM_BYTE_LENGTH, "big")


def compute_logs_bloom(logs: Iterable[Log]) -> bytes:
    """Return the bloom of ``logs``: each log's address and each of its topics."""
    return compute_bloom(item for log in logs for item in (log.address, *log.topics))


def compute_receipts_bloom(receipts: Iterable[Receipt]) -> bytes:
    """Return the header bloom: all the receipts' log blooms OR-ed together (``CreateBloom``)."""
    return compute_logs_bloom(log for receipt in receipts for log in receipt.logs)


def is_in_bloom(bloom: bytes, item: bytes) -> bool:
    """Return whether ``item`` may be in ``bloom`` (false positives happen, false negatives never)."""
    bits = _bloom_bits(item)
    return int.from_bytes(bloom, "big") & bits == bits
