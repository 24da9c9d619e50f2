"""Signing payloads, quorum certificates, header commit signatures and optimistic vote aggregation."""

from __future__ import annotations

from contextlib import suppress
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bls_points import non_subgroup_signature
from consensus.bitmap import compute_bitmap_length, encode_bitmap
from consensus.quorum import Committee
from consensus.signing import (
    NIL_PAYLOAD,
    QuorumCertificate,
    aggregate_votes,
    compute_commit_payload,
    compute_prepare_payload,
    compute_viewchange_m1_payload,
    compute_viewid_payload,
    parse_viewchange_m1_payload,
    validate_certificate,
    validate_commit_certificate,
    validate_header_commit_signature,
)
from crypto import bls
from harmony_node.exceptions import DecodingError, InvalidSignature, ValidationError
from harmony_node.types.header import make_header

SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 8)]
COMMITTEE = Committee.with_equal_power([bls.secret_to_public(s) for s in SECRETS], shard_id=0, epoch=1)
BLOCK_HASH = b"\xab" * 32


def test_payload_layouts() -> None:
    assert compute_prepare_payload(BLOCK_HASH, 7) == BLOCK_HASH + bytes.fromhex("0700000000000000")
    payload = compute_commit_payload(0x0102, BLOCK_HASH, 7)
    assert payload == bytes.fromhex("0201000000000000") + BLOCK_HASH + bytes.fromhex("0700000000000000")
    assert len(payload) == 48
    assert NIL_PAYLOAD == b"\x01" and compute_viewid_payload(258) == bytes.fromhex("0201000000000000")
    cert = QuorumCertificate(b"\x11" * 96, b"\x7f")
    m1 = compute_viewchange_m1_payload(BLOCK_HASH, 9, cert)
    assert m1 == BLOCK_HASH + bytes.fromhex("0900000000000000") + b"\x11" * 96 + b"\x7f"
    assert parse_viewchange_m1_payload(m1) == (BLOCK_HASH, 9, cert)
    with pytest.raises(DecodingError):
        parse_viewchange_m1_payload(m1[:32 + 8 + 96])
    assert QuorumCertificate.decode(cert.encode()) == cert
    with pytest.raises(DecodingError):
        QuorumCertificate.decode(b"\x11" * 95)
    for bad in (-1, 2**64):
        with pytest.raises(ValidationError, match="uint64"):
            compute_commit_payload(bad, BLOCK_HASH, 0)
        with pytest.raises(ValidationError, match="uint64"):
            compute_viewid_payload(bad)


@given(st.binary(min_size=96, max_size=96), st.integers(1, 400).flatmap(lambda n: st.binary(
    min_size=compute_bitmap_length(n), max_size=compute_bitmap_length(n))))
def test_certificate_round_trip(signature: bytes, bitmap: bytes) -> None:
    cert = QuorumCertificate(signature, bitmap)
    assert QuorumCertificate.decode(cert.encode()) == cert
    assert cert.encode()[:96] == signature  # ParseCommitSigAndBitmap: sig first, bitmap after


@given(st.binary(max_size=200))
def test_random_certificate_bytes_raise_only_typed_errors(data: bytes) -> None:
    with suppress(ValidationError):  # DecodingError, a bad bitmap, no quorum or a bad signature
        validate_certificate(COMMITTEE, b"payload", QuorumCertificate.decode(data))


@cache
def _votes(number: int = 5, view_id: int = 2) -> dict[int, bytes]:
    payload = compute_commit_payload(number, BLOCK_HASH, view_id)
    return {i: bls.sign(s, payload) for i, s in enumerate(SECRETS)}


def test_certificate_of_a_quorum_verifies() -> None:
    votes = dict(list(_votes().items())[:5])  # 5 of 7 > 2/3
    cert, rejected = aggregate_votes(COMMITTEE, compute_commit_payload(5, BLOCK_HASH, 2), votes)
    assert rejected == ()
    assert validate_commit_certificate(COMMITTEE, 5, BLOCK_HASH, 2, cert) == (0, 1, 2, 3, 4)
    for number, block_hash, view in ((6, BLOCK_HASH, 2), (5, b"\x00" * 32, 2), (5, BLOCK_HASH, 3)):
        with pytest.raises(InvalidSignature):
            validate_commit_certificate(COMMITTEE, number, block_hash, view, cert)


def test_no_quorum_and_lying_bitmaps_are_rejected() -> None:
    payload = compute_commit_payload(5, BLOCK_HASH, 2)
    four = {i: v for i, v in _votes().items() if i < 4}
    cert, _ = aggregate_votes(COMMITTEE, payload, four)
    with pytest.raises(ValidationError, match="not a quorum"):
        validate_certificate(COMMITTEE, payload, cert)
    five, _ = aggregate_votes(COMMITTEE, payload, {i: v for i, v in _votes().items() if i < 5})
    claims_more = QuorumCertificate(five.signature, encode_bitmap(range(6), 7))
    with pytest.raises(InvalidSignature):
        validate_certificate(COMMITTEE, payload, claims_more)
    with pytest.raises(ValidationError, match="bitmap"):
        validate_certificate(COMMITTEE, payload, QuorumCertificate(five.signature, b"\x1f\x00"))


def test_one_forged_vote_is_dropped_exactly() -> None:
    payload = compute_commit_payload(5, BLOCK_HASH, 2)
    votes = dict(_votes())
    votes[4] = bls.sign(SECRETS[4], compute_commit_payload(5, BLOCK_HASH, 3))  # signs another view
    cert, rejected = aggregate_votes(COMMITTEE, payload, votes)
    assert rejected == (4,)
    assert validate_certificate(COMMITTEE, payload, cert) == (0, 1, 2, 3, 5, 6)


def test_forged_and_malformed_votes_are_dropped() -> None:
    payload = compute_commit_payload(5, BLOCK_HASH, 2)
    votes = dict(_votes())
    votes[3] = bls.sign(SECRETS[3], compute_commit_payload(5, b"\x00" * 32, 2))  # signs another block
    votes[6] = b"\xff" * 96  # not even a point
    cert, rejected = aggregate_votes(COMMITTEE, payload, votes)
    assert rejected == (3, 6)
    assert validate_certificate(COMMITTEE, payload, cert) == (0, 1, 2, 4, 5)


def test_a_vote_outside_the_subgroup_is_dropped() -> None:
    """Votes are summed without per-vote subgroup checks; the sum's verification catches this one."""
    payload = compute_commit_payload(5, BLOCK_HASH, 2)
    votes = dict(_votes())
    votes[2] = non_subgroup_signature()
    cert, rejected = aggregate_votes(COMMITTEE, payload, votes)
    assert rejected == (2,)
    assert validate_certificate(COMMITTEE, payload, cert) == (0, 1, 3, 4, 5, 6)


def test_header_carries_the_parent_commit_certificate() -> None:
    """Block 5 began in view 2 and was committed in view 4 (after view changes); header 6 says view 5."""
    parent = make_header(number=5, view_id=2, shard_id=0, epoch=1)
    payload = compute_commit_payload(5, parent.hash, 4)
    cert, _ = aggregate_votes(COMMITTEE, payload, {i: bls.sign(s, payload) for i, s in enumerate(SECRETS[:5])})
    child = make_header(number=6, parent_hash=parent.hash, view_id=5, last_commit_signature=cert.signature,
                        last_commit_bitmap=cert.bitmap)
    assert validate_header_commit_signature(COMMITTEE, parent, child) == (0, 1, 2, 3, 4)
    with pytest.raises(InvalidSignature):  # a header claiming another commit view
        validate_header_commit_signature(COMMITTEE, parent, child.copy(view_id=4))
    with pytest.raises(ValidationError, match="does not follow"):
        validate_header_commit_signature(COMMITTEE, parent, child.copy(view_id=2))
    with pytest.raises(ValidationError, match="does not extend"):
        validate_header_commit_signature(COMMITTEE, parent, child.copy(number=7))
    for other in (Committee(1, 1, COMMITTEE.public_keys, COMMITTEE.voting_power),
                  Committee(0, 2, COMMITTEE.public_keys, COMMITTEE.voting_power)):
        with pytest.raises(ValidationError, match="did not sign"):
            validate_header_commit_signature(other, parent, child)
    four = encode_bitmap(range(4), 7)
    with pytest.raises(ValidationError, match="not a quorum"):
        validate_header_commit_signature(COMMITTEE, parent, child.copy(last_commit_bitmap=four))


def test_aggregate_votes_rejects_outsiders_and_empty_input() -> None:
    with pytest.raises(ValidationError):
        aggregate_votes(COMMITTEE, b"x", {})
    with pytest.raises(ValidationError):
        aggregate_votes(COMMITTEE, b"x", {7: b"\x00" * 96})
    with pytest.raises(InvalidSignature):
        aggregate_votes(COMMITTEE, b"x", {0: b"\xff" * 96})
