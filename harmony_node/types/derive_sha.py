"""DeriveSha: the Merkle-Patricia root that commits a block header to an ordered list of items.

Harmony's ``core/types/derive_sha.go DeriveSha(lists...)`` puts every item of every list into a fresh
trie under key ``rlp(uint(index))``, the index running on across the lists (so a block's plain and
staking transactions share one counter), with the item's RLP as value. Header roots built this way:
TxHash (plain then staking transactions), ReceiptHash, IncomingReceiptHash and, per destination shard,
the parts of OutgoingReceiptHash.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import rlp

from harmony_node.types.trie_root import BLANK_ROOT, compute_trie_root

EMPTY_ROOT = BLANK_ROOT
"""DeriveSha of no items (Harmony's ``EmptyRootHash``): keccak256(rlp(b""))."""


def derive_sha(*lists: Sequence[rlp.Serializable]) -> bytes:
    """Return the trie root of the items of ``lists`` in order, keyed by their running index."""
    return compute_trie_root(_indexed_encodings(lists))


def _indexed_encodings(lists: Sequence[Sequence[rlp.Serializable]]) -> Iterator[tuple[bytes, bytes]]:
    index = 0
    for items in lists:
        for item in items:
            yield rlp.encode(index), rlp.encode(item)
            index += 1
