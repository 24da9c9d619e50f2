"""Harmony's gossip envelope: ``0x11 ‖ uint32_BE(len) ‖ content``, and batches of transactions in one message.

Everything a peer gossips arrives as one of these, so decoding is the first line of defence: it checks the
magic byte, that the declared length is exactly the number of bytes that follow (a sender that disagrees
with itself is broken or hostile), the size cap and the message kind, before any RLP or BLS work is spent.

Content is ``0x00 ‖ consensus bytes`` or ``0x01 ‖ nodeMsgType ‖ subtype ‖ RLP list`` (Harmony's
``api/proto/node/node.go``). Batching matters here more than in Go: py-libp2p spends ~2-3 ms per pubsub
message whatever its size, so txs travel many to a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.types.rlp_codec import decode_rlp_string, encode_rlp_list, encode_rlp_string, split_rlp_list

MAGIC = 0x11
"""Harmony's p2p message prefix byte (``p2pMsgPrefix``)."""
HEADER_SIZE = 5
MAX_MESSAGE_SIZE = 1 << 21
"""Harmony's MaxMessageSize (2 MiB): the largest whole envelope a node accepts from gossip."""
MAX_BATCH_ITEMS = 10_000
"""Most items one batch may carry: at 2 MiB even ~200-byte txs fit fewer, so more means a forged list."""

_CATEGORY_CONSENSUS = 0x00
_CATEGORY_NODE = 0x01


class MessageKind(Enum):
    """What an envelope carries, valued by the content bytes that precede the payload."""

    CONSENSUS = b"\x00"
    TRANSACTION = b"\x01\x00\x00"
    BLOCK_SYNC = b"\x01\x01\x00"
    CROSSLINK = b"\x01\x01\x01"
    RECEIPT = b"\x01\x01\x02"
    SLASH_CANDIDATE = b"\x01\x01\x03"
    STAKING = b"\x01\x06\x00"

    @property
    def prefix(self) -> bytes:
        value: bytes = self.value
        return value


_NODE_KINDS = {kind.prefix[1:]: kind for kind in MessageKind if kind is not MessageKind.CONSENSUS}


@dataclass(frozen=True, slots=True)
class Envelope:
    """One gossip message: its kind and the bytes after the kind prefix."""

    kind: MessageKind
    payload: bytes

    def encode(self) -> bytes:
        content_length = len(self.kind.prefix) + len(self.payload)
        if content_length > 0xFFFF_FFFF:
            raise ValidationError("envelope content does not fit a uint32 length")
        return bytes((MAGIC,)) + content_length.to_bytes(4, "big") + self.kind.prefix + self.payload


def decode_envelope(data: bytes, max_size: int = MAX_MESSAGE_SIZE) -> Envelope:
    """Parse one whole envelope; raise DecodingError naming the first rule ``data`` breaks."""
    size = len(data)
    # Checked first so an oversize message costs nothing more than its length.
    if size > max_size:
        raise DecodingError(f"message of {size} bytes exceeds the {max_size}-byte limit")
    if size < HEADER_SIZE:
        raise DecodingError(f"message of {size} bytes is shorter than the {HEADER_SIZE}-byte envelope header")
    if data[0] != MAGIC:
        raise DecodingError(f"wrong magic byte 0x{data[0]:02x}, expected 0x{MAGIC:02x}")
    declared = int.from_bytes(data[1:HEADER_SIZE], "big")
    actual = size - HEADER_SIZE
    if declared != actual:
        problem = "truncated" if actual < declared else "trailing bytes"
        raise DecodingError(f"length mismatch ({problem}): header declares {declared} content bytes, {actual} follow")
    if actual == 0:
        raise DecodingError("empty envelope content: no message kind")
    category = data[HEADER_SIZE]
    if category == _CATEGORY_CONSENSUS:
        return Envelope(MessageKind.CONSENSUS, bytes(data[HEADER_SIZE + 1 :]))
    if category != _CATEGORY_NODE:
        raise DecodingError(f"unknown message category 0x{category:02x}")
    if actual < 3:
        raise DecodingError("node message is missing its type and subtype bytes")
    kind = _NODE_KINDS.get(bytes(data[HEADER_SIZE + 1 : HEADER_SIZE + 3]))
    if kind is None:
        msg_type, subtype = data[HEADER_SIZE + 1], data[HEADER_SIZE + 2]
        raise DecodingError(f"unknown node message kind: type {msg_type}, subtype {subtype}")
    return Envelope(kind, bytes(data[HEADER_SIZE + 3 :]))


def pack_batch(kind: MessageKind, items: Sequence[bytes], max_items: int = MAX_BATCH_ITEMS) -> Envelope:
    """Put many raw encodings (txs, staking txs, blocks) into one node message as an RLP list of byte strings.

    Harmony splices each tx's own RLP list into the outer list; we wrap each item as a byte string
    instead, so a batch never depends on how an item is encoded and the item's own decoder, which runs
    next anyway, is the one place that judges it.
    """
    if kind is MessageKind.CONSENSUS:
        raise ValidationError("consensus messages are not RLP batches")
    if len(items) > max_items:
        raise ValidationError(f"batch of {len(items)} items exceeds the limit of {max_items}")
    for index, item in enumerate(items):
        if type(item) is not bytes:
            raise ValidationError(f"batch item {index} is {type(item).__name__}, not bytes")
    return Envelope(kind, encode_rlp_list(b"".join([encode_rlp_string(item) for item in items])))


def unpack_batch(envelope: Envelope, max_items: int = MAX_BATCH_ITEMS) -> list[bytes]:
    """The raw items of a batch made by ``pack_batch``; DecodingError if it is not a list of byte strings."""
    if envelope.kind is MessageKind.CONSENSUS:
        raise DecodingError("a consensus message is not an RLP batch")
    encoded = split_rlp_list(envelope.payload)
    if len(encoded) > max_items:
        raise DecodingError(f"batch of {len(encoded)} items exceeds the limit of {max_items}")
    items = []
    for index, item in enumerate(encoded):
        try:
            items.append(decode_rlp_string(item))
        except DecodingError as exc:
            raise DecodingError(f"batch item {index}: {exc}") from exc
    return items


def pack_transactions(raw_txs: Sequence[bytes]) -> Envelope:
    """A Transaction message (``[0x01, 0x00, 0x00] ‖ RLP list``) carrying ``raw_txs``."""
    return pack_batch(MessageKind.TRANSACTION, raw_txs)


def pack_staking_transactions(raw_txs: Sequence[bytes]) -> Envelope:
    """A Staking message (``[0x01, 0x06, 0x00] ‖ RLP list``) carrying ``raw_txs``."""
    return pack_batch(MessageKind.STAKING, raw_txs)
