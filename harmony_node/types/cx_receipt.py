"""Cross-shard receipts, their Merkle proof, and the outgoing-receipts root of a block.

Field orders are Harmony's ``core/types/cx_receipt.go``:

- ``CXReceipt [TxHash, From, To, ShardID, ToShardID, Amount]``: a value debited on the source shard,
  to be credited once on the destination shard;
- ``CXMerkleProof [BlockNum, BlockHash, ShardID, CXReceiptHash, ShardIDs, CXShardHashes]``: the source
  block's per-destination-shard receipt roots, enough to recompute its OutgoingReceiptHash;
- ``CXReceiptsProof [Receipts, MerkleProof, Header, CommitSig, CommitBitmap, CommitView]``: what the
  destination shard receives and puts into its block; ``Header`` is the source header in its tagged
  form. ``CommitView`` is ours: the view the commit signature covers. Harmony's header ``ViewID`` is
  that view; ours is the view the height began in (consensus/signing.py), which differs after a view
  change, so the proof must say which view was signed.

The outgoing-receipts root (``CXReceipts.ComputeMerkleRoot``) is keccak256 over, for each destination
shard in ascending order that has receipts, ``uint32_BE(shard) || DeriveSha(receipts to that shard)``;
a block without outgoing receipts has the empty-trie root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import rlp
from rlp.exceptions import RLPException
from rlp.sedes import CountableList

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.derive_sha import EMPTY_ROOT, derive_sha
from harmony_node.types.header import Header
from harmony_node.types.sedes import address, binary, hash32, uint, uint32
from harmony_node.types.rlp_codec import decode_rlp


class CXReceipt(rlp.Serializable):
    """A cross-shard transfer of ``amount`` atto from ``from_address`` to ``to_address``."""

    fields = [
        ("tx_hash", hash32),
        ("from_address", address),
        # Go's ``To *common.Address`` has no ``rlp:"nil"`` tag, so geth only decodes 20 bytes here.
        ("to_address", address),
        ("shard_id", uint32),
        ("to_shard_id", uint32),
        ("amount", uint),
    ]


class CXMerkleProof(rlp.Serializable):
    """The source block's outgoing receipt roots per destination shard (``shard_ids`` ascending)."""

    fields = [
        ("block_number", uint),
        ("block_hash", hash32),
        ("shard_id", uint32),
        ("cx_receipt_hash", hash32),
        ("shard_ids", CountableList(uint32)),
        ("cx_shard_hashes", CountableList(hash32)),
    ]


class CXReceiptsProof(rlp.Serializable):
    """Receipts for one destination shard from one source block, with the proof they were committed."""

    fields = [
        ("receipts", CountableList(CXReceipt)),
        ("merkle_proof", CXMerkleProof),
        ("header", Header),
        ("commit_signature", binary),
        ("commit_bitmap", binary),
        ("commit_view", uint),
    ]


def compute_outgoing_shard_roots(receipts: Iterable[CXReceipt]) -> list[tuple[int, bytes]]:
    """Return ``(to_shard_id, DeriveSha(receipts to it))`` for each destination shard, ascending.

    Receipts keep their relative order within a shard. These are a CXMerkleProof's ``shard_ids`` and
    ``cx_shard_hashes``.
    """
    by_shard: dict[int, list[CXReceipt]] = {}
    for receipt in receipts:
        by_shard.setdefault(receipt.to_shard_id, []).append(receipt)
    return [(shard, derive_sha(by_shard[shard])) for shard in sorted(by_shard)]


def compute_outgoing_receipts_root_from_shard_roots(shard_roots: Iterable[tuple[int, bytes]]) -> bytes:
    """Return keccak256 of the concatenated ``uint32_BE(shard) || root`` pairs, or EMPTY_ROOT if none."""
    data = b"".join(shard.to_bytes(4, "big") + root for shard, root in shard_roots)
    if not data:
        return EMPTY_ROOT
    return keccak256(data)


def compute_outgoing_receipts_root(receipts: Sequence[CXReceipt]) -> bytes:
    """Return a block's OutgoingReceiptHash for its outgoing cross-shard ``receipts``."""
    return compute_outgoing_receipts_root_from_shard_roots(compute_outgoing_shard_roots(receipts))


def encode_cx_receipts_proof(proof: CXReceiptsProof) -> bytes:
    """Return the RLP encoding of ``proof`` (the cross-shard relay message payload)."""
    result: bytes = rlp.encode(proof)
    return result


def decode_cx_receipts_proof(data: bytes) -> CXReceiptsProof:
    """Decode a CXReceiptsProof; raise DecodingError for anything malformed."""
    try:
        proof: CXReceiptsProof = CXReceiptsProof.deserialize(decode_rlp(data))  # linear; rlp.decode is quadratic in a list's items
    except (RLPException, DecodingError) as error:
        raise DecodingError(f"malformed cross-shard receipts proof: {error}") from error
    proof._cached_rlp = data  # as rlp.decode does
    return proof
