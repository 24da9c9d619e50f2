"""Block sync, the serving side: finalized blocks with the certificates that prove them.

A node that starts late or falls behind asks a peer for blocks from a number on; the answer is
each block's bytes, its commit view and its commit certificate, ascending. The receiving side
hands them to consensus as ``BlocksSynced``, which checks every certificate against the
committee before anything is imported, so a lying peer cannot make a node import a block.
"""

from __future__ import annotations

import rlp

from consensus.fbft import SyncedBlock
from consensus.signing import QuorumCertificate
from harmony_node.chain.blockchain import Blockchain
from harmony_node.exceptions import DecodingError
from harmony_node.types.rlp_codec import RlpItem, decode_rlp

MAX_BLOCKS_PER_REQUEST = 64
"""Harmony serves 10 per request; empty localnet blocks are small, so fewer round trips win."""
_SYNCED_BLOCK_FIELDS = 4
"""block, commit view, signature, bitmap"""


def get_synced_blocks(chain: Blockchain, from_number: int, count: int = MAX_BLOCKS_PER_REQUEST) -> tuple[SyncedBlock, ...]:
    """Up to ``count`` finalized blocks from ``from_number`` on (fewer at the head; none below 1)."""
    first = max(1, from_number)
    last = min(chain.head.number, first + min(count, MAX_BLOCKS_PER_REQUEST) - 1)
    blocks = []
    for number in range(first, last + 1):
        block_hash = chain.chain_store.get_canonical_hash(number)
        commit = chain.get_commit(number)
        blocks.append(SyncedBlock(chain.chain_store.get_block_bytes(block_hash), commit.view, commit.certificate))
    return tuple(blocks)


def encode_sync_request(from_number: int, count: int = MAX_BLOCKS_PER_REQUEST) -> bytes:
    return rlp.encode([from_number, count])


def decode_sync_request(data: bytes) -> tuple[int, int]:
    """(from number, count) of a request; DecodingError for anything else."""
    try:
        items = decode_rlp(data, max_depth=1, max_items=3)
    except DecodingError as exc:
        raise DecodingError(f"sync request is not RLP: {exc}") from exc
    first, count = _get_strings(items, 2, "sync request must be [from_number, count]")
    if len(first) > 8 or len(count) > 8:
        raise DecodingError("sync request must be [from_number, count]")
    return int.from_bytes(first, "big"), int.from_bytes(count, "big")


def encode_sync_response(blocks: tuple[SyncedBlock, ...]) -> bytes:
    return rlp.encode([[b.block, b.commit_view, b.certificate.signature, b.certificate.bitmap] for b in blocks])


def decode_sync_response(data: bytes, max_blocks: int = MAX_BLOCKS_PER_REQUEST) -> tuple[SyncedBlock, ...]:
    """The blocks of a response (unverified: consensus checks them); DecodingError if malformed."""
    try:
        # A list of flat lists. Bounded while walking: a peer's answer of a million tiny items is
        # refused after the first few hundred, not decoded first and counted after.
        items = decode_rlp(data, max_depth=2, max_items=1 + max_blocks * (1 + _SYNCED_BLOCK_FIELDS))
    except DecodingError as exc:
        raise DecodingError(f"sync response is not RLP: {exc}") from exc
    if not isinstance(items, list) or len(items) > max_blocks:
        raise DecodingError(f"sync response must be a list of at most {max_blocks} blocks")
    blocks = []
    for item in items:
        block, view, signature, bitmap = _get_strings(item, _SYNCED_BLOCK_FIELDS,
                                                      "a synced block must be [block, commit_view, signature, bitmap]")
        if len(view) > 8:
            raise DecodingError("commit view does not fit in 64 bits")
        blocks.append(SyncedBlock(block, int.from_bytes(view, "big"), QuorumCertificate(signature, bitmap)))
    return tuple(blocks)


def _get_strings(item: RlpItem, count: int, rule: str) -> list[bytes]:
    """``item`` as a list of ``count`` byte strings; DecodingError saying ``rule`` otherwise."""
    strings = [field for field in item if isinstance(field, bytes)] if isinstance(item, list) else []
    if not isinstance(item, list) or len(item) != count or len(strings) != count:
        raise DecodingError(rule)
    return strings


def handle_sync_request(chain: Blockchain, payload: bytes) -> bytes:
    """The server side: answer a request from the local chain (DecodingError for a bad request)."""
    from_number, count = decode_sync_request(payload)
    return encode_sync_response(get_synced_blocks(chain, from_number, max(1, count)))
