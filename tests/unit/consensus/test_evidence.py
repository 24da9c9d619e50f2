"""Double-sign evidence: built from conflicting votes, verifiable by anyone, robust to bad bytes."""

from __future__ import annotations

from contextlib import suppress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.evidence import DoubleSignEvidence, Vote, detect_double_sign, validate_double_sign_evidence
from consensus.signing import compute_commit_payload
from crypto import bls
from harmony_node.exceptions import DecodingError, InvalidSignature, ValidationError

SECRETS = [bls.generate_secret_key(bytes([i + 40]) * 32) for i in range(3)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
NUMBER, VIEW = 12, 4


def _vote(secret_indices: list[int], block_hash: bytes, number: int = NUMBER, view: int = VIEW) -> Vote:
    payload = compute_commit_payload(number, block_hash, view)
    signature = bls.aggregate_signatures([bls.sign(SECRETS[i], payload) for i in secret_indices])
    return Vote(tuple(KEYS[i] for i in secret_indices), block_hash, signature)


def test_double_sign_is_detected_and_verifiable_from_bytes_alone() -> None:
    first, second = _vote([0], b"\x01" * 32), _vote([0, 1], b"\x02" * 32)
    evidence = detect_double_sign(0, 3, NUMBER, VIEW, first, second)
    assert evidence is not None
    received = DoubleSignEvidence.decode(evidence.encode())
    assert received == evidence
    assert validate_double_sign_evidence(received) == (KEYS[0],)


def test_no_evidence_without_conflict() -> None:
    assert detect_double_sign(0, 3, NUMBER, VIEW, _vote([0], b"\x01" * 32), _vote([0], b"\x01" * 32)) is None
    assert detect_double_sign(0, 3, NUMBER, VIEW, _vote([0], b"\x01" * 32), _vote([1], b"\x02" * 32)) is None


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: (_vote([0], b"\x01" * 32), _vote([0], b"\x01" * 32)), ValidationError),  # same block
        (lambda: (_vote([0], b"\x01" * 32), _vote([1], b"\x02" * 32)), ValidationError),  # disjoint keys
        (lambda: (_vote([0], b"\x01" * 32), _vote([0], b"\x02" * 32, view=VIEW + 1)), InvalidSignature),  # other view
        (lambda: (_vote([0], b"\x01" * 32), _vote([0], b"\x02" * 32, number=NUMBER + 1)), InvalidSignature),
        (lambda: (_vote([0], b"\x01" * 32), Vote((KEYS[0],), b"\x02" * 32, _vote([1], b"\x02" * 32).signature)),
         InvalidSignature),  # someone else's signature framed on key 0
    ],
    ids=["same block", "disjoint keys", "different view", "different height", "framed key"],
)
def test_bad_evidence_is_rejected(make: object, error: type[Exception]) -> None:
    first, second = make()  # type: ignore[operator]
    with pytest.raises(error):
        validate_double_sign_evidence(DoubleSignEvidence(0, 3, NUMBER, VIEW, first, second))


_KEY = st.binary(min_size=48, max_size=48)
_VOTES = st.builds(Vote, st.lists(_KEY, min_size=1, max_size=5).map(tuple), st.binary(min_size=32, max_size=32),
                   st.binary(min_size=96, max_size=96))
_UINT64 = st.integers(0, 2**64 - 1)


@given(st.builds(DoubleSignEvidence, st.integers(0, 2**32 - 1), _UINT64, _UINT64, _UINT64, _VOTES, _VOTES))
def test_evidence_round_trip(evidence: DoubleSignEvidence) -> None:
    raw = evidence.encode()
    assert DoubleSignEvidence.decode(raw) == evidence
    assert DoubleSignEvidence.decode(raw).encode() == raw


@pytest.mark.parametrize("moment", [(2**32, 0, 0, 0), (0, 2**64, 0, 0), (0, 0, 2**64, 0), (0, 0, 0, 2**64)])
def test_moment_out_of_range_is_a_decoding_error(moment: tuple[int, int, int, int]) -> None:
    vote = Vote((KEYS[0],), b"\x01" * 32, b"\x02" * 96)
    with pytest.raises(DecodingError, match="out of range"):
        DoubleSignEvidence.decode(DoubleSignEvidence(*moment, vote, vote).encode())


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    with suppress(DecodingError):  # the only exception allowed
        DoubleSignEvidence.decode(data)


def test_mutations_raise_only_decoding_error() -> None:
    raw = DoubleSignEvidence(0, 3, NUMBER, VIEW, _vote([0], b"\x01" * 32), _vote([0], b"\x02" * 32)).encode()
    for position in range(len(raw)):
        for mutated in (raw[:position], raw[:position] + bytes([raw[position] ^ 0x40]) + raw[position + 1 :]):
            with suppress(DecodingError):  # the only exception allowed
                DoubleSignEvidence.decode(mutated)
