"""What validators sign, and the quorum certificates that prove a block final (reference §2.3, §2.5, §2.6).

- prepare: ``block hash ‖ uint64_LE(view_id)`` (40 bytes), where the view is the one the vote is cast in;
- commit: ``uint64_LE(number) ‖ block hash ‖ uint64_LE(view_id)`` (48 bytes, Harmony's staking-era
  ``ConstructCommitPayload``), again in the view the vote is cast in;
- view change: M1 = block hash ‖ uint64_LE(prepared view) ‖ prepare certificate, M2 = ``NIL`` (the
  byte 0x01), M3 = ``uint64_LE(view_id)``.

Where we differ from Harmony, and why. Harmony's prepare vote signs the bare block hash, and a
block re-proposed after a view change keeps the view of its first proposal in its commit payload.
Then neither certificate says in which view it was formed, so a new leader cannot tell a stale
prepared block from a fresh one, and commit votes for one block cast in different views add up
into one certificate. Both open a fork to a Byzantine leader who withholds a certificate and
replays it later (the scenario is spelled out in ``fbft``). Binding both votes to the view they
are cast in makes FBFT a locking protocol in the manner of PBFT/Tendermint, whose safety argument
is in ``fbft``'s docstring.

Consequence for headers: the commit certificate of block N (in header N+1) signs N's *commit*
view, which may be later than the view N was proposed in. Header N+1 therefore records, in its
``view_id``, the view its height began in, which is N's commit view + 1; the certificate is
verified over ``view_id - 1``. Without view changes this is Harmony's numbering exactly (each
block's view is its parent's + 1).

A certificate is an aggregate signature plus the committee bitmap of who signed, laid out as
Harmony lays out commit signatures everywhere: ``signature(96) ‖ bitmap``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass

from consensus.bitmap import decode_bitmap, encode_bitmap
from consensus.quorum import Committee, is_quorum
from consensus.scheme import BLS_SCHEME, SignatureScheme
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


def compute_prepare_payload(block_hash: bytes, view_id: int) -> bytes:
    """What a PREPARE vote signs: the block hash and the view the vote is cast in."""
    return block_hash + _encode_uint64_le(view_id)


def compute_commit_payload(block_number: int, block_hash: bytes, view_id: int) -> bytes:
    """What a COMMIT vote signs; also verifies header LastCommitSig, crosslinks and slash evidence."""
    return _encode_uint64_le(block_number) + block_hash + _encode_uint64_le(view_id)


def compute_viewid_payload(view_id: int) -> bytes:
    """M3: what every view-change vote signs, so the new leader can prove a quorum moved to ``view_id``."""
    return _encode_uint64_le(view_id)


def compute_viewchange_m1_payload(block_hash: bytes, prepared_view: int, prepared: QuorumCertificate) -> bytes:
    """M1: "I hold this block, prepared in ``prepared_view``", with the certificate that proves it."""
    return block_hash + _encode_uint64_le(prepared_view) + prepared.encode()


M1_HEADER_SIZE = 32 + 8
"""Block hash and prepared view before the certificate in an M1 payload."""


def parse_viewchange_m1_payload(payload: bytes) -> tuple[bytes, int, QuorumCertificate]:
    """Split an M1 payload into (block hash, prepared view, prepare certificate)."""
    if len(payload) <= M1_HEADER_SIZE + bls.SIGNATURE_SIZE:
        raise DecodingError("M1 payload is a block hash, a view and a prepare certificate")
    view = int.from_bytes(payload[32:M1_HEADER_SIZE], "little")
    return payload[:32], view, QuorumCertificate.decode(payload[M1_HEADER_SIZE:])


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


def validate_signers(
    committee: Committee, payload: bytes, certificate: QuorumCertificate, scheme: SignatureScheme = BLS_SCHEME
) -> tuple[int, ...]:
    """Check that the members in the bitmap signed ``payload``, whatever their power; return them."""
    try:
        signers = decode_bitmap(certificate.bitmap, committee.size)
    except DecodingError as exc:
        raise ValidationError(f"bad signer bitmap: {exc}") from exc
    if not signers:
        raise ValidationError("a certificate needs at least one signer")
    return _verify_signers(committee, signers, payload, certificate, scheme)


def _verify_signers(
    committee: Committee,
    signers: tuple[int, ...],
    payload: bytes,
    certificate: QuorumCertificate,
    scheme: SignatureScheme,
) -> tuple[int, ...]:
    if not scheme.verify_aggregate([committee.public_keys[i] for i in signers], payload, certificate.signature):
        raise InvalidSignature("aggregate signature does not verify for the signers in the bitmap")
    return signers


def validate_certificate(
    committee: Committee, payload: bytes, certificate: QuorumCertificate, scheme: SignatureScheme = BLS_SCHEME
) -> tuple[int, ...]:
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
    return _verify_signers(committee, signers, payload, certificate, scheme)


def validate_commit_certificate(
    committee: Committee,
    block_number: int,
    block_hash: bytes,
    view_id: int,
    certificate: QuorumCertificate,
    scheme: SignatureScheme = BLS_SCHEME,
) -> tuple[int, ...]:
    """Check that a quorum committed block ``(block_number, block_hash)`` in ``view_id``."""
    payload = compute_commit_payload(block_number, block_hash, view_id)
    return validate_certificate(committee, payload, certificate, scheme)


def validate_header_commit_signature(parent_committee: Committee, parent: Header, header: Header) -> tuple[int, ...]:
    """Header N+1 carries the commit certificate of block N: check it against N's committee.

    Block N was committed by the committee of N's shard and epoch in N's commit view, which header
    N+1 records as ``view_id - 1`` (see the module docstring), so the certificate must verify over
    ``compute_commit_payload(N.number, N.hash, header.view_id - 1)`` with a quorum of it.
    """
    if header.parent_hash != parent.hash or header.number != parent.number + 1:
        raise ValidationError("header does not extend the given parent")
    if (parent_committee.shard_id, parent_committee.epoch) != (parent.shard_id, parent.epoch):
        raise ValidationError(
            f"committee of shard {parent_committee.shard_id} epoch {parent_committee.epoch} did not sign "
            f"a block of shard {parent.shard_id} epoch {parent.epoch}"
        )
    if header.view_id <= parent.view_id:
        raise ValidationError(f"view {header.view_id} does not follow the parent's view {parent.view_id}")
    certificate = QuorumCertificate(header.last_commit_signature, header.last_commit_bitmap)
    return validate_commit_certificate(parent_committee, parent.number, parent.hash, header.view_id - 1, certificate)


def aggregate_votes(
    committee: Committee, payload: bytes, votes: Mapping[int, bytes], scheme: SignatureScheme = BLS_SCHEME
) -> tuple[QuorumCertificate, tuple[int, ...]]:
    """Aggregate votes (committee index -> signature over ``payload``) into a certificate.

    Returns the certificate and the indices of the votes left out. Quorum is not checked here:
    the caller decides whether the certificate is enough.
    """
    # Cost model (blst, keys cached; see bench/consensus.py): decoding a vote costs ~0.1 ms with its
    # subgroup check, one FastAggregateVerify ~1.3 ms whatever the vote count, one single verify
    # ~1.3 ms. Optimistic: aggregate everything and verify once, so an honest round of 267 votes
    # costs a fraction of checking each vote on arrival (as Harmony's leader does). Only if the
    # aggregate fails do we pay ~1.3 ms per vote to find and drop the bad ones; the rejected
    # indices tell the caller whom to ignore for the rest of the round. Bad votes that cancel out
    # (s1 + d, s2 - d) pass the single check, which is harmless: their sum is then exactly the
    # honest aggregate, so the certificate is valid.
    if not votes:
        raise ValidationError("no votes to aggregate")
    indices = sorted(votes)
    if indices[0] < 0 or indices[-1] >= committee.size:
        raise ValidationError("vote from an index outside the committee")
    keys = committee.public_keys
    with suppress(InvalidSignature):  # a vote that is not a curve point: the one-by-one pass drops it
        aggregate = scheme.aggregate_for_verification([votes[i] for i in indices])
        if scheme.verify_aggregate([keys[i] for i in indices], payload, aggregate):
            return QuorumCertificate(aggregate, encode_bitmap(indices, committee.size)), ()
    good = [i for i in indices if scheme.verify(keys[i], payload, votes[i])]
    if not good:
        raise InvalidSignature("no vote verifies")
    rejected = tuple(sorted(set(indices) - set(good)))
    aggregate = scheme.aggregate_for_verification([votes[i] for i in good])
    return QuorumCertificate(aggregate, encode_bitmap(good, committee.size)), rejected
