"""Double-sign evidence: two commit votes by one key for different blocks at one (height, view).

Modeled on Harmony's ``slash.Evidence`` (reference §6.7): the moment (epoch, shard, height, view)
and the two conflicting votes, each the signer keys, the block hash and the (aggregate) signature.
Anyone can check it from these bytes alone, because a commit vote signs
``uint64_LE(height) ‖ hash ‖ uint64_LE(view)``: two valid signatures by one key over two hashes at
one height and view cannot both come from an honest node. Which account owns the key, and the
slashing itself, are the staking rules' business.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from rlp.exceptions import RLPException

from consensus.scheme import BLS_SCHEME, SignatureScheme
from consensus.signing import compute_commit_payload
from crypto import bls
from harmony_node.exceptions import DecodingError, InvalidSignature, ValidationError
from harmony_node.types.rlp_codec import decode_rlp

MAX_EVIDENCE_BYTES = 64 * 1024
MAX_KEYS_PER_VOTE = 106
"""Harmony's MaxBLSPerValidator: one vote may aggregate at most one validator's keys."""


@dataclass(frozen=True, slots=True)
class Vote:
    """One commit vote: the keys that signed it, the block hash, and their aggregate signature."""

    signer_public_keys: tuple[bytes, ...]
    block_hash: bytes
    signature: bytes

    def to_rlp(self) -> list[object]:
        """``[keys, block hash, signature]``, the field order of Harmony's ``slash.Vote``."""
        return [list(self.signer_public_keys), self.block_hash, self.signature]


@dataclass(frozen=True, slots=True)
class DoubleSignEvidence:
    """The moment (shard, epoch, height, view) and two conflicting commit votes cast at it."""

    shard_id: int
    epoch: int
    block_number: int
    view_id: int
    first: Vote
    second: Vote

    def encode(self) -> bytes:
        """RLP ``[[epoch, shard, height, view], vote1, vote2]``, Harmony's Evidence nesting (Moment first)."""
        encoded: bytes = rlp.encode(
            [[self.epoch, self.shard_id, self.block_number, self.view_id], self.first.to_rlp(), self.second.to_rlp()]
        )
        return encoded

    @classmethod
    def decode(cls, data: bytes) -> DoubleSignEvidence:
        """Parse evidence received from a peer or a transaction; DecodingError for anything malformed."""
        if len(data) > MAX_EVIDENCE_BYTES:
            raise DecodingError("double-sign evidence is too large")
        try:
            moment, first, second = decode_rlp(data)  # linear; rlp.decode is quadratic in a list's items
            if not isinstance(moment, list) or not all(isinstance(item, bytes) for item in moment):
                # big_endian_int reads an empty list as 0: a second encoding of the same evidence.
                raise DecodingError("the evidence moment is a list of four integers")
            epoch, shard_id, number, view_id = (rlp.sedes.big_endian_int.deserialize(x) for x in moment)
            votes = [_decode_vote(item) for item in (first, second)]
        except (RLPException, DecodingError, ValueError, TypeError) as exc:
            raise DecodingError(f"malformed double-sign evidence: {exc}") from exc
        if shard_id >= 2**32 or max(epoch, number, view_id) >= 2**64:
            raise DecodingError("evidence moment out of range (shard is uint32, the rest uint64)")
        return cls(shard_id, epoch, number, view_id, votes[0], votes[1])


def _decode_vote(item: object) -> Vote:
    if not isinstance(item, list) or len(item) != 3:
        raise DecodingError("a vote is [keys, block hash, signature]")
    keys, block_hash, signature = item
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS_PER_VOTE:
        raise DecodingError(f"a vote lists 1 to {MAX_KEYS_PER_VOTE} keys")
    if any(not isinstance(k, bytes) or len(k) != bls.PUBLIC_KEY_SIZE for k in keys):
        raise DecodingError("vote keys are 48-byte BLS public keys")
    if not isinstance(block_hash, bytes) or len(block_hash) != 32:
        raise DecodingError("vote block hash is 32 bytes")
    if not isinstance(signature, bytes) or len(signature) != bls.SIGNATURE_SIZE:
        raise DecodingError("vote signature is 96 bytes")
    return Vote(tuple(keys), block_hash, signature)


def detect_double_sign(
    shard_id: int, epoch: int, block_number: int, view_id: int, earlier: Vote, later: Vote
) -> DoubleSignEvidence | None:
    """Evidence if ``later`` conflicts with ``earlier`` (a shared key, another hash), else None.

    The caller has already checked both votes' signatures (they came through the consensus
    pipeline); ``validate_double_sign_evidence`` is what everyone else runs.
    """
    if earlier.block_hash == later.block_hash:
        return None
    if not set(earlier.signer_public_keys) & set(later.signer_public_keys):
        return None
    return DoubleSignEvidence(shard_id, epoch, block_number, view_id, earlier, later)


def validate_double_sign_evidence(
    evidence: DoubleSignEvidence, scheme: SignatureScheme = BLS_SCHEME
) -> tuple[bytes, ...]:
    """Check evidence from its own bytes; return the key(s) that signed both votes.

    Raises ValidationError when the votes do not conflict and InvalidSignature when a vote's
    signature does not verify over its commit payload.
    """
    first, second = evidence.first, evidence.second
    if first.block_hash == second.block_hash:
        raise ValidationError("the two votes are for the same block: no double sign")
    offenders = tuple(sorted(set(first.signer_public_keys) & set(second.signer_public_keys)))
    if not offenders:
        raise ValidationError("no key signed both votes")
    for vote in (first, second):
        if len(set(vote.signer_public_keys)) != len(vote.signer_public_keys):
            raise ValidationError("a vote lists a key twice")
        payload = compute_commit_payload(evidence.block_number, vote.block_hash, evidence.view_id)
        if not scheme.verify_aggregate(vote.signer_public_keys, payload, vote.signature):
            raise InvalidSignature("a conflicting vote's signature does not verify")
    return offenders
