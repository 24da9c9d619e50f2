"""Block sync, the serving side: finalized blocks with the certificates that prove them.

A node that starts late or falls behind asks a peer for blocks from a number on; the answer is
each block's bytes, its commit view and its commit certificate, ascending. The receiving side
hands them to consensus as ``BlocksSynced``, which checks every certificate against the
committee before anything is imported, so a lying peer cannot make a node import a block.
"""

from __future__ import annotations

from consensus.fbft import SyncedBlock
from harmony_node.chain.blockchain import Blockchain

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
