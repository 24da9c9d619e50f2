"""Cross-shard receipt proofs: what a source shard sends, and what a destination shard checks.

A cross-shard transfer debits on the source shard and emits a ``CXReceipt``; the destination shard
credits it once it holds proof that the source block committed to it. The proof
(``CXReceiptsProof``, reference §5) carries the receipts for one destination shard, the source
block's per-destination receipt roots, the source header and the block's commit certificate.

Destination checks (Harmony's ``ValidateCXReceiptsProof``), each failure named by ``check``:

1. ``receipts``: every receipt goes from the source shard to my shard, and ``DeriveSha(receipts)``
   is the root listed for my shard;
2. ``shard roots``: ``keccak(Σ uint32_BE(ShardIDs[j]) ‖ CXShardHashes[j])`` is ``CXReceiptHash``
   (shard ids strictly ascending, as the source computes them);
3. ``header``: the header hashes to ``BlockHash``, commits to ``CXReceiptHash`` as its outgoing
   receipts root, and has the proof's block number and source shard;
4. ``commit signature``: a quorum of the source committee signed the commit payload of
   ``(number, hash, commit_view)``.

Two additions to Harmony's list. Check 3 also binds ``BlockNum`` and ``ShardID`` of the Merkle
proof to the header: Harmony does not, yet the spent-proof key is built from them, so a proof
could otherwise be replayed under another (shard, number) and credited twice. And the commit view
is an explicit argument: here a commit certificate signs the view it was formed in (see
``consensus.signing``), which after a view change is later than ``header.view_id``, and a
``CXReceiptsProof`` has no field for it (Harmony's commit payload uses the header's own view).
Whoever relays or stores a proof keeps the commit view next to it, as block sync keeps
``(block, commit_view, certificate)``; without view changes it equals ``header.view_id``. A proof
built from header N+1's ``LastCommitSig`` instead uses ``header(N+1).view_id - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

from consensus.quorum import Committee
from consensus.signing import QuorumCertificate, validate_commit_certificate
from crypto import bls
from harmony_node.exceptions import ValidationError
from harmony_node.types.cx_receipt import (
    CXMerkleProof,
    CXReceipt,
    CXReceiptsProof,
    compute_outgoing_receipts_root,
    compute_outgoing_receipts_root_from_shard_roots,
    compute_outgoing_shard_roots,
)
from harmony_node.types.derive_sha import derive_sha
from harmony_node.types.header import Header

PROOF_KEY_SIZE = 12


class InvalidCrossShardProof(ValidationError):
    """A cross-shard receipts proof failed a destination check; ``check`` names which one."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(f"cross-shard proof failed check '{check}': {reason}")
        self.check = check
        self.reason = reason


def build_cx_receipts_proof(
    source_header: Header,
    cx_receipts: Sequence[CXReceipt],
    destination_shard: int,
    commit_certificate: QuorumCertificate,
    commit_view: int,
) -> CXReceiptsProof | None:
    """The proof for ``destination_shard`` of the receipts a committed block emitted; None if none go there.

    ``cx_receipts`` are all the block's outgoing receipts in block order (every destination's roots
    go into the proof). The certificate is the block's own commit certificate, formed in
    ``commit_view``, which the proof carries.
    """
    if destination_shard == source_header.shard_id:
        raise ValidationError(f"shard {destination_shard} does not send cross-shard receipts to itself")
    if compute_outgoing_receipts_root(cx_receipts) != source_header.outgoing_receipts_root:
        raise ValidationError(f"receipts do not match block {source_header.number}'s outgoing receipts root")
    if any(receipt.shard_id != source_header.shard_id for receipt in cx_receipts):
        raise ValidationError(f"a receipt of block {source_header.number} names another source shard")
    receipts = [receipt for receipt in cx_receipts if receipt.to_shard_id == destination_shard]
    if not receipts:
        return None
    shard_roots = compute_outgoing_shard_roots(cx_receipts)
    merkle_proof = CXMerkleProof(
        block_number=source_header.number,
        block_hash=source_header.hash,
        shard_id=source_header.shard_id,
        cx_receipt_hash=source_header.outgoing_receipts_root,
        shard_ids=[shard for shard, _ in shard_roots],
        cx_shard_hashes=[root for _, root in shard_roots],
    )
    return CXReceiptsProof(
        receipts=receipts,
        merkle_proof=merkle_proof,
        header=source_header,
        commit_signature=commit_certificate.signature,
        commit_bitmap=commit_certificate.bitmap,
        commit_view=commit_view,
    )


def validate_cx_receipts_proof(
    proof: CXReceiptsProof, my_shard: int, source_committee: Committee
) -> tuple[CXReceipt, ...]:
    """Run the destination checks; return the receipts to credit. Raise InvalidCrossShardProof.

    ``source_committee`` is the committee of the source shard in the source block's epoch (from the
    beacon's shard state); the certificate must be a quorum of it in the proof's commit view.
    """
    merkle: CXMerkleProof = proof.merkle_proof
    header: Header = proof.header
    source_shard = header.shard_id
    if source_shard == my_shard:
        raise InvalidCrossShardProof("receipts", f"source shard {source_shard} is this shard")
    _validate_receipts(proof, merkle, my_shard, source_shard)
    _validate_shard_roots(merkle)
    _validate_header(merkle, header)
    _validate_commit(proof, header, source_committee, proof.commit_view)
    return tuple(proof.receipts)


def _validate_receipts(proof: CXReceiptsProof, merkle: CXMerkleProof, my_shard: int, source_shard: int) -> None:
    receipts: Sequence[CXReceipt] = proof.receipts
    if not receipts:
        raise InvalidCrossShardProof("receipts", "the proof carries no receipts")
    for index, receipt in enumerate(receipts):
        if receipt.to_shard_id != my_shard:
            raise InvalidCrossShardProof("receipts", f"receipt {index} goes to shard {receipt.to_shard_id}")
        if receipt.shard_id != source_shard:
            raise InvalidCrossShardProof("receipts", f"receipt {index} comes from shard {receipt.shard_id}")
    if len(merkle.shard_ids) != len(merkle.cx_shard_hashes):
        raise InvalidCrossShardProof("receipts", "shard ids and shard roots differ in number")
    if my_shard not in merkle.shard_ids:
        raise InvalidCrossShardProof("receipts", f"the source block lists no receipts for shard {my_shard}")
    expected = merkle.cx_shard_hashes[list(merkle.shard_ids).index(my_shard)]
    if derive_sha(receipts) != expected:
        raise InvalidCrossShardProof("receipts", f"receipts do not hash to shard {my_shard}'s root")


def _validate_shard_roots(merkle: CXMerkleProof) -> None:
    shard_ids: Sequence[int] = merkle.shard_ids
    # Ascending and unique, as the source computes them; otherwise one root list has many encodings.
    if any(a >= b for a, b in zip(shard_ids, shard_ids[1:])):
        raise InvalidCrossShardProof("shard roots", "shard ids are not strictly ascending")
    root = compute_outgoing_receipts_root_from_shard_roots(zip(shard_ids, merkle.cx_shard_hashes))
    if root != merkle.cx_receipt_hash:
        raise InvalidCrossShardProof("shard roots", "per-shard roots do not hash to CXReceiptHash")


def _validate_header(merkle: CXMerkleProof, header: Header) -> None:
    if header.hash != merkle.block_hash:
        raise InvalidCrossShardProof("header", "header does not hash to the proof's block hash")
    if header.outgoing_receipts_root != merkle.cx_receipt_hash:
        raise InvalidCrossShardProof("header", "header's outgoing receipts root is not CXReceiptHash")
    if (header.number, header.shard_id) != (merkle.block_number, merkle.shard_id):
        raise InvalidCrossShardProof(
            "header",
            f"proof names block {merkle.block_number} of shard {merkle.shard_id}, "
            f"header is block {header.number} of shard {header.shard_id}",
        )


def _validate_commit(proof: CXReceiptsProof, header: Header, committee: Committee, commit_view: int) -> None:
    if (committee.shard_id, committee.epoch) != (header.shard_id, header.epoch):
        raise InvalidCrossShardProof(
            "commit signature",
            f"committee of shard {committee.shard_id} epoch {committee.epoch} did not sign "
            f"a block of shard {header.shard_id} epoch {header.epoch}",
        )
    if commit_view < header.view_id:
        raise InvalidCrossShardProof(
            "commit signature", f"commit view {commit_view} precedes the block's view {header.view_id}"
        )
    if len(proof.commit_signature) != bls.SIGNATURE_SIZE:
        raise InvalidCrossShardProof("commit signature", f"signature must be {bls.SIGNATURE_SIZE} bytes")
    certificate = QuorumCertificate(proof.commit_signature, proof.commit_bitmap)
    try:
        validate_commit_certificate(committee, header.number, header.hash, commit_view, certificate)
    except ValidationError as error:
        raise InvalidCrossShardProof("commit signature", str(error)) from error


def compute_proof_key(proof: CXReceiptsProof) -> bytes:
    """``uint32_BE(source shard) ‖ uint64_BE(block number)``: marks a source block's proof as spent.

    One source block sends this shard at most one proof, so (source shard, number) identifies it,
    as Harmony's ``ReadCXReceiptsProofSpent(shard, blockNum)``. Taken from the header, which the
    commit signature covers; call it on validated proofs only.
    """
    header: Header = proof.header
    if header.number >= 2**64:
        raise ValidationError(f"block number {header.number} does not fit a uint64")
    return header.shard_id.to_bytes(4, "big") + header.number.to_bytes(8, "big")
