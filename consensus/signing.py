"""What validators sign, and the quorum certificates that prove a block final (reference §2.3, §2.5, §2.6).

- prepare: the block hash (32 bytes);
- commit: ``uint64_LE(number) ‖ block hash ‖ uint64_LE(view_id)`` (48 bytes, Harmony's staking-era
  ``ConstructCommitPayload``), so a commit vote names one block at one height in one view;
- view change: M1 = block hash ‖ prepared aggregate signature ‖ prepared bitmap, M2 = ``NIL``
  (the byte 0x01), M3 = ``uint64_LE(view_id)``.

A certificate is an aggregate BLS signature plus the committee bitmap of who signed, laid out as
Harmony lays out commit signatures everywhere: ``signature(96) ‖ bitmap``. The certificate of block N
travels in header N+1 (``last_commit_signature``, ``last_commit_bitmap``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass

from consensus.bitmap import decode_bitmap, encode_bitmap
from consensus.quorum import Committee, is_quorum
from crypto import bls
from harmony_node.exceptions import DecodingError, InvalidSignature, ValidationError
from harmony_node.types.header import Header

NIL_PAYLOAD = b"\x01"
"""What an M2 view-change vote signs: "I prepared nothing at this height"."""


def _encode_uint64_le(value: int) -> bytes:
    # Headers carry these as big integers; a value Go's uint64 could not hold is invalid, not a crash.
    if not 0 <= value < 2**64:
        raise ValidationError(f"{value} does not fit a uint64")
    return value.to_bytes(8, "little")


def compute_prepare_payload(block_hash: bytes) -> bytes:
    """What a PREPARE vote signs: the block hash itself."""
    return block_hash


def compute_commit_payload(block_number: int, block_hash: bytes, view_id: int) -> bytes:
    """What a COMMIT vote signs; also verifies header LastCommitSig, crosslinks and slash evidence."""
    return _encode_uint64_le(block_number) + block_hash + _encode_uint64_le(view_id)


def compute_viewid_payload(view_id: int) -> bytes:
    """M3: what every view-change vote signs, so the new leader can prove a quorum moved to ``view_id``."""
    return _encode_uint64_le(view_id)


def compute_viewchange_m1_payload(block_hash: bytes, prepared: QuorumCertificate) -> bytes:
    """M1: "I hold this prepared block", with the prepare certificate that proves it."""
    return block_hash + prepared.encode()


@dataclass(frozen=True, slots=True)
class QuorumCertificate:
    """An aggregate signature and the bitmap of the committee members it aggregates."""

    signature: bytes
    bitmap: bytes

    def encode(self) -> bytes:
        """``signature(96) ‖ bitmap``: the layout of COMMITTED payloads, crosslinks and stored commit sigs."""
        return self.signature + self.bitmap

    @classmethod
    def decode(cls, data: bytes) -> QuorumCertificate:
        """Split ``sig(96) ‖ bitmap`` (Harmony's ParseCommitSigAndBitmap); validation checks the bitmap."""
        if len(data) < bls.SIGNATURE_SIZE:
            raise DecodingError(f"a certificate is a {bls.SIGNATURE_SIZE}-byte signature followed by a bitmap")
        return cls(data[: bls.SIGNATURE_SIZE], data[bls.SIGNATURE_SIZE :])


def validate_certificate(committee: Committee, payload: bytes, certificate: QuorumCertificate) -> tuple[int, ...]:
    """Check that a quorum of ``committee`` signed ``payload``; return the signer indices.

    The cheap checks run first (bitmap shape, quorum by voting power), then one FastAggregateVerify
    over the signers' cached public keys.
    """
    try:
        signers = decode_bitmap(certificate.bitmap, committee.size)
    except DecodingError as exc:
        raise ValidationError(f"bad signer bitmap: {exc}") from exc
    if not is_quorum(committee, signers):
        raise ValidationError(f"{len(signers)} of {committee.size} signers are not a quorum (> 2/3 of voting power)")
    cache = bls.get_public_key_cache()
    points = [cache.get_point(committee.public_keys[i]) for i in signers]
    if not cache.backend.fast_aggregate_verify_loaded(points, payload, certificate.signature):
        raise InvalidSignature("aggregate signature does not verify for the signers in the bitmap")
    return signers


def validate_commit_certificate(
    committee: Committee, block_number: int, block_hash: bytes, view_id: int, certificate: QuorumCertificate
) -> tuple[int, ...]:
    """Check that a quorum committed block ``(block_number, block_hash)`` in ``view_id``."""
    return validate_certificate(committee, compute_commit_payload(block_number, block_hash, view_id), certificate)


def validate_header_commit_signature(parent_committee: Committee, parent: Header, header: Header) -> tuple[int, ...]:
    """Header N+1 carries the commit certificate of block N: check it against N's committee.

    Block N was committed by the committee of N's shard and epoch, in N's view, so the certificate
    must verify over ``compute_commit_payload(N.number, N.hash, N.view_id)`` with a quorum of it.
    """
    if header.parent_hash != parent.hash or header.number != parent.number + 1:
        raise ValidationError("header does not extend the given parent")
    if (parent_committee.shard_id, parent_committee.epoch) != (parent.shard_id, parent.epoch):
        raise ValidationError(
            f"committee of shard {parent_committee.shard_id} epoch {parent_committee.epoch} did not sign "
            f"a block of shard {parent.shard_id} epoch {parent.epoch}"
        )
    certificate = QuorumCertificate(header.last_commit_signature, header.last_commit_bitmap)
    return validate_commit_certificate(parent_committee, parent.number, parent.hash, parent.view_id, certificate)


def aggregate_votes(
    committee: Committee, payload: bytes, votes: Mapping[int, bytes]
) -> tuple[QuorumCertificate, tuple[int, ...]]:
    """Aggregate votes (committee index -> signature over ``payload``) into a certificate.

    Returns the certificate and the indices of the votes left out. Quorum is not checked here:
    the caller decides whether the certificate is enough.
    """
    # Cost model (blst, keys cached; see bench/consensus.py): decoding a vote (G2 decompression and
    # subgroup check) costs ~0.1 ms, one FastAggregateVerify ~1.3 ms whatever the vote count, one
    # single verify ~1.3 ms. Optimistic: aggregate everything and verify once, so an honest round of
    # 267 votes costs ~28 ms instead of ~350 ms for checking each vote on arrival (as Harmony's
    # leader does). Only if the aggregate fails do we pay ~1.3 ms per vote to find and drop the bad
    # ones; the rejected indices tell the caller whom to ignore for the rest of the round. Bad votes
    # that cancel out (s1 + d, s2 - d) pass the single check, which is harmless: their sum is then
    # exactly the honest aggregate, so the certificate is valid.
    if not votes:
        raise ValidationError("no votes to aggregate")
    indices = sorted(votes)
    if indices[0] < 0 or indices[-1] >= committee.size:
        raise ValidationError("vote from an index outside the committee")
    cache = bls.get_public_key_cache()
    backend = cache.backend
    with suppress(InvalidSignature):  # a vote that is not a G2 point: the one-by-one pass drops it
        aggregate = backend.aggregate_signatures([votes[i] for i in indices])
        points = [cache.get_point(committee.public_keys[i]) for i in indices]
        if backend.fast_aggregate_verify_loaded(points, payload, aggregate):
            return QuorumCertificate(aggregate, encode_bitmap(indices, committee.size)), ()
    good: list[int] = []
    rejected: list[int] = []
    for i in indices:
        if backend.fast_aggregate_verify_loaded([cache.get_point(committee.public_keys[i])], payload, votes[i]):
            good.append(i)
        else:
            rejected.append(i)
    if not good:
        raise InvalidSignature("no vote verifies")
    aggregate = backend.aggregate_signatures([votes[i] for i in good])
    return QuorumCertificate(aggregate, encode_bitmap(good, committee.size)), tuple(rejected)
