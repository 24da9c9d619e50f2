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
from harmony_node.types.rlp_codec import validate_rlp_depth

MAX_BLOCKS_PER_REQUEST = 64
"""Harmony serves 10 per request; empty localnet blocks are small, so fewer round trips win."""


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
    validate_rlp_depth(data, max_depth=1)  # a flat list; deeper nesting would overflow rlp.decode's recursion
    try:
        items = rlp.decode(data)
    except rlp.DecodingError as exc:
        raise DecodingError(f"sync request is not RLP: {exc}") from exc
    if not isinstance(items, list) or len(items) != 2 or not all(isinstance(i, bytes) and len(i) <= 8 for i in items):
        raise DecodingError("sync request must be [from_number, count]")
    return int.from_bytes(items[0], "big"), int.from_bytes(items[1], "big")


def encode_sync_response(blocks: tuple[SyncedBlock, ...]) -> bytes:
    return rlp.encode([[b.block, b.commit_view, b.certificate.signature, b.certificate.bitmap] for b in blocks])


def decode_sync_response(data: bytes, max_blocks: int = MAX_BLOCKS_PER_REQUEST) -> tuple[SyncedBlock, ...]:
    """The blocks of a response (unverified: consensus checks them); DecodingError if malformed."""
    validate_rlp_depth(data, max_depth=2)  # a list of flat lists; deeper nesting would overflow rlp.decode's recursion
    try:
        items = rlp.decode(data)
    except rlp.DecodingError as exc:
        raise DecodingError(f"sync response is not RLP: {exc}") from exc
    if not isinstance(items, list) or len(items) > max_blocks:
        raise DecodingError(f"sync response must be a list of at most {max_blocks} blocks")
    blocks = []
    for item in items:
        if not isinstance(item, list) or len(item) != 4 or not all(isinstance(f, bytes) for f in item):
            raise DecodingError("a synced block must be [block, commit_view, signature, bitmap]")
        block, view, signature, bitmap = item
        if len(view) > 8:
            raise DecodingError("commit view does not fit in 64 bits")
        blocks.append(SyncedBlock(block, int.from_bytes(view, "big"), QuorumCertificate(signature, bitmap)))
    return tuple(blocks)


def handle_sync_request(chain: Blockchain, payload: bytes) -> bytes:
    """The server side: answer a request from the local chain (DecodingError for a bad request)."""
    from_number, count = decode_sync_request(payload)
    return encode_sync_response(get_synced_blocks(chain, from_number, max(1, count)))
