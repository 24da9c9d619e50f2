"""FBFT messages: one deterministic wire type for all seven kinds, and cheap-first sender checks.

Kinds and what they carry follow Harmony (reference §2.2, §2.3, §2.6):

| kind       | sender     | block_hash       | payload                          | block         |
|------------|------------|------------------|----------------------------------|---------------|
| ANNOUNCE   | leader     | proposed hash    | –                                | RLP block     |
| PREPARE    | validator  | block hash       | BLS sig over the hash (the vote) | –             |
| PREPARED   | leader     | block hash       | prepare certificate (sig‖bitmap) | optional      |
| COMMIT     | validator  | block hash       | BLS sig over the commit payload  | –             |
| COMMITTED  | leader     | block hash       | commit certificate (sig‖bitmap)  | –             |
| VIEWCHANGE | validator  | M1 hash or empty | M1 payload, or empty             | with M1 only  |
| NEWVIEW    | new leader | M1 hash or empty | M1 payload, or empty             | with M1 only  |

VIEWCHANGE also names ``new_leader`` and carries ``m2`` (the sender's signature over the M1 payload,
or over NIL when it prepared nothing) and ``m3`` (its signature over the view id). NEWVIEW carries
``m3``, the certificate that a quorum moved to the view, and ``m2``, the NIL certificate or empty.
An M1 payload is ``block hash ‖ uint64_LE(prepared view) ‖ prepare certificate``.

Encoding (``encode_message``): the RLP list ``[kind, shard_id, view_id, block_number, block_hash,
sender, payload, block, new_leader, m2, m3, signature]`` of byte strings and integers, canonical
only. ANNOUNCE, PREPARED, COMMITTED, VIEWCHANGE and NEWVIEW carry a message signature: the sender's
BLS signature over keccak256 of the encoding with ``signature`` empty. PREPARE and COMMIT need none:
the vote itself is a signature by the sender's key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

from consensus.quorum import Committee
from consensus.scheme import BLS_SCHEME, SignatureScheme
from consensus.signing import (
    M1_HEADER_SIZE,
    NIL_PAYLOAD,
    compute_commit_payload,
    compute_prepare_payload,
    compute_viewid_payload,
)
from crypto import bls
from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError, InvalidSignature, ValidationError
from harmony_node.types.rlp_codec import decode_flat_list, decode_uint, encode_item

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
"""Harmony's gossip MaxMessageSize; a block-carrying message must fit in it."""
MAX_FUTURE_BLOCKS = 2
"""Messages for heights further ahead than this are dropped (Harmony's consensusBlockNumBuffer)."""


class MessageKind(IntEnum):
    """Harmony's MessageType numbers for the FBFT kinds."""

    ANNOUNCE = 1
    PREPARE = 2
    PREPARED = 3
    COMMIT = 4
    COMMITTED = 5
    VIEWCHANGE = 6
    NEWVIEW = 7


SIGNED_KINDS = frozenset(
    {MessageKind.ANNOUNCE, MessageKind.PREPARED, MessageKind.COMMITTED, MessageKind.VIEWCHANGE, MessageKind.NEWVIEW}
)
_BLOCK_KINDS = frozenset({MessageKind.ANNOUNCE, MessageKind.PREPARED, MessageKind.VIEWCHANGE, MessageKind.NEWVIEW})


@dataclass(frozen=True, slots=True)
class ConsensusMessage:
    """One FBFT message of any kind; which fields a kind uses is checked by ``decode_message``."""

    kind: MessageKind
    shard_id: int
    view_id: int
    block_number: int
    block_hash: bytes
    sender: bytes
    payload: bytes = b""
    block: bytes = b""
    new_leader: bytes = b""
    m2: bytes = b""
    m3: bytes = b""
    signature: bytes = b""

    def compute_signing_hash(self) -> bytes:
        """What the message signature covers: keccak256 of the encoding with an empty signature field."""
        return keccak256(encode_message(replace(self, signature=b"")))


def encode_message(message: ConsensusMessage) -> bytes:
    """The canonical wire bytes of ``message``."""
    return encode_item(
        [int(message.kind), message.shard_id, message.view_id, message.block_number, message.block_hash,
         message.sender, message.payload, message.block, message.new_leader, message.m2, message.m3,
         message.signature]
    )


def decode_message(data: bytes) -> ConsensusMessage:
    """Parse a consensus message from a peer; DecodingError for anything malformed."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise DecodingError(f"consensus message is larger than {MAX_MESSAGE_BYTES} bytes")
    items = decode_flat_list(data, 12)
    kind_value, shard_id, view_id, block_number = (decode_uint(item) for item in items[:4])
    try:
        kind = MessageKind(kind_value)
    except ValueError as exc:
        raise DecodingError(f"unknown consensus message kind {kind_value}") from exc
    if shard_id >= 2**32 or view_id >= 2**64 or block_number >= 2**64:
        raise DecodingError("shard, view or block number out of range")
    message = ConsensusMessage(kind, shard_id, view_id, block_number, *items[4:])
    _validate_shape(message)
    return message


def _validate_shape(message: ConsensusMessage) -> None:
    """Field lengths each kind must have, so later code never meets a surprise."""
    kind = message.kind
    if len(message.sender) != bls.PUBLIC_KEY_SIZE:
        raise DecodingError("sender must be a 48-byte BLS public key")
    if len(message.block_hash) not in ((0, 32) if kind in (MessageKind.VIEWCHANGE, MessageKind.NEWVIEW) else (32,)):
        raise DecodingError("block hash must be 32 bytes")
    if message.block and kind not in _BLOCK_KINDS:
        raise DecodingError(f"{kind.name} carries no block")
    if kind == MessageKind.ANNOUNCE and not message.block:
        raise DecodingError("ANNOUNCE carries the proposed block")
    if kind in (MessageKind.VIEWCHANGE, MessageKind.NEWVIEW):
        _validate_m1_shape(message)
    if kind in (MessageKind.PREPARE, MessageKind.COMMIT) and len(message.payload) != bls.SIGNATURE_SIZE:
        raise DecodingError(f"{kind.name} payload is one 96-byte signature")
    if kind in (MessageKind.PREPARED, MessageKind.COMMITTED) and len(message.payload) <= bls.SIGNATURE_SIZE:
        raise DecodingError(f"{kind.name} payload is a certificate (signature followed by a bitmap)")
    if kind == MessageKind.VIEWCHANGE:
        if len(message.new_leader) != bls.PUBLIC_KEY_SIZE:
            raise DecodingError("VIEWCHANGE names the intended leader's 48-byte key")
        if len(message.m2) != bls.SIGNATURE_SIZE or len(message.m3) != bls.SIGNATURE_SIZE:
            raise DecodingError("VIEWCHANGE carries two 96-byte signatures")
    elif message.new_leader:
        raise DecodingError(f"{kind.name} names no new leader")
    if kind == MessageKind.NEWVIEW:
        # M3 (a quorum moved to this view) is the point of NEWVIEW; M2 is absent when nobody sent NIL.
        if len(message.m3) <= bls.SIGNATURE_SIZE:
            raise DecodingError("NEWVIEW carries the M3 certificate (signature followed by a bitmap)")
        if message.m2 and len(message.m2) <= bls.SIGNATURE_SIZE:
            raise DecodingError("NEWVIEW's M2 is empty or a certificate")
    if kind not in (MessageKind.VIEWCHANGE, MessageKind.NEWVIEW) and (message.m2 or message.m3):
        raise DecodingError(f"{kind.name} carries no view-change signatures")
    if kind in SIGNED_KINDS and len(message.signature) != bls.SIGNATURE_SIZE:
        raise DecodingError(f"{kind.name} must carry a 96-byte message signature")
    if kind not in SIGNED_KINDS and message.signature:
        raise DecodingError(f"{kind.name} carries no message signature")


def _validate_m1_shape(message: ConsensusMessage) -> None:
    """M1 (a prepared block) is all or nothing: hash ‖ prepare certificate, with the block it names."""
    if not message.payload:
        if message.block_hash or message.block:
            raise DecodingError(f"{message.kind.name} without an M1 payload names no block")
        return
    if len(message.payload) <= M1_HEADER_SIZE + bls.SIGNATURE_SIZE:
        raise DecodingError("M1 payload is a block hash, a view and a prepare certificate")
    if message.payload[:32] != message.block_hash:
        raise DecodingError("M1 payload names another block than the message")
    if not message.block:
        raise DecodingError(f"{message.kind.name} with an M1 payload carries the prepared block")


def sign_message(secret_key: int, message: ConsensusMessage, scheme: SignatureScheme = BLS_SCHEME) -> ConsensusMessage:
    """Add the sender's message signature (for the kinds that carry one)."""
    if message.kind not in SIGNED_KINDS:
        raise ValueError(f"{message.kind.name} messages are not signed; the vote is the signature")
    return replace(message, signature=scheme.sign(secret_key, message.compute_signing_hash()))


def validate_message_envelope(committee: Committee, message: ConsensusMessage, current_height: int) -> int:
    """The cheap checks, a dictionary lookup at most: shard, height window, membership.

    Returns the sender's committee index. Junk from outside costs no pairing.
    """
    if message.shard_id != committee.shard_id:
        raise ValidationError(f"message for shard {message.shard_id}, committee is shard {committee.shard_id}")
    if message.block_number > current_height + MAX_FUTURE_BLOCKS:
        raise ValidationError(f"message for block {message.block_number} is too far ahead of {current_height}")
    index = committee.index_of.get(message.sender)
    if index is None:
        raise ValidationError("sender is not in the committee")
    return index


def verify_message_signatures(message: ConsensusMessage, scheme: SignatureScheme = BLS_SCHEME) -> None:
    """The expensive check: the message signature, or the vote for PREPARE/COMMIT, or, for
    VIEWCHANGE, also its M3 view-id signature and its M1/M2 signature. InvalidSignature if not."""
    kind = message.kind
    if kind == MessageKind.PREPARE:
        payload = compute_prepare_payload(message.block_hash, message.view_id)
        valid = scheme.verify(message.sender, payload, message.payload)
    elif kind == MessageKind.COMMIT:
        payload = compute_commit_payload(message.block_number, message.block_hash, message.view_id)
        valid = scheme.verify(message.sender, payload, message.payload)
    else:
        valid = scheme.verify(message.sender, message.compute_signing_hash(), message.signature)
        if valid and kind == MessageKind.VIEWCHANGE:
            valid = scheme.verify(message.sender, compute_viewid_payload(message.view_id), message.m3) and scheme.verify(
                message.sender, message.payload or NIL_PAYLOAD, message.m2
            )
    if not valid:
        raise InvalidSignature(f"{kind.name} signature does not verify")


def validate_message_sender(
    committee: Committee, message: ConsensusMessage, current_height: int, scheme: SignatureScheme = BLS_SCHEME
) -> int:
    """Authenticate ``message`` against ``committee``; return the sender's committee index.

    The cheap checks (``validate_message_envelope``) come first, then the signatures.
    """
    index = validate_message_envelope(committee, message, current_height)
    try:
        verify_message_signatures(message, scheme)
    except InvalidSignature as exc:
        raise InvalidSignature(f"{message.kind.name} from committee member {index} does not verify") from exc
    return index
