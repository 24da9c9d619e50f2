"""BLS-VRF: proofs verify, and every forgery or mismatch is rejected."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import bls
from crypto.hash import sha256
from crypto.vrf import VRF_FIELD_SIZE, compute_vrf, verify_vrf
from harmony_node.exceptions import InvalidSignature

SECRET = bls.generate_secret_key(b"\x07" * 32)
OTHER = bls.generate_secret_key(b"\x08" * 32)
PUBLIC = bls.secret_to_public(SECRET)
PARENT = b"\xaa" * 32


def test_round_trip_and_determinism() -> None:
    field = compute_vrf(SECRET, PARENT)
    assert len(field) == VRF_FIELD_SIZE == 128
    assert verify_vrf(PUBLIC, PARENT, field) == field[:32] == sha256(field[32:])
    assert compute_vrf(SECRET, PARENT) == field  # unique: the leader cannot grind outputs
    assert compute_vrf(SECRET, b"\xab" * 32)[:32] != field[:32]


def test_proof_is_the_standard_bls_signature_of_the_hashed_parent() -> None:
    """Checked against the py_ecc reference, so the construction does not hinge on one backend."""
    proof = bls.get_backend("py_ecc").sign(SECRET, sha256(PARENT))
    assert compute_vrf(SECRET, PARENT) == sha256(proof) + proof


@settings(max_examples=30)
@given(st.binary(min_size=32, max_size=32))
def test_any_parent_hash_round_trips(parent: bytes) -> None:
    field = compute_vrf(SECRET, parent)
    assert verify_vrf(PUBLIC, parent, field) == field[:32]


def _forged() -> bytes:
    """Another key's valid proof for the same parent, with its matching output: only the signature check catches it."""
    proof = bls.sign(OTHER, sha256(PARENT))
    return sha256(proof) + proof


def _flipped(field: bytes) -> bytes:
    proof = bytearray(field[32:])
    proof[-1] ^= 1
    return sha256(bytes(proof)) + bytes(proof)


@pytest.mark.parametrize(
    ("public_key", "parent", "make_field"),
    [
        (PUBLIC, PARENT, _forged),
        (PUBLIC, PARENT, lambda: _flipped(compute_vrf(SECRET, PARENT))),
        (bls.secret_to_public(OTHER), PARENT, lambda: compute_vrf(SECRET, PARENT)),
        (PUBLIC, b"\xbb" * 32, lambda: compute_vrf(SECRET, PARENT)),
        (PUBLIC, PARENT, lambda: b"\x00" * 32 + compute_vrf(SECRET, PARENT)[32:]),
        (PUBLIC, PARENT, lambda: compute_vrf(SECRET, PARENT)[:-1]),
        (PUBLIC, PARENT, lambda: compute_vrf(SECRET, PARENT) + b"\x00"),
        (PUBLIC, PARENT, lambda: b""),
        (PUBLIC, PARENT, lambda: sha256(bls.IDENTITY_SIGNATURE) + bls.IDENTITY_SIGNATURE),
        (bls.IDENTITY_PUBLIC_KEY, PARENT, lambda: compute_vrf(SECRET, PARENT)),
        (b"\x00" * 48, PARENT, lambda: compute_vrf(SECRET, PARENT)),
    ],
    ids=[
        "forged proof", "malformed proof", "wrong key", "wrong parent", "tampered output", "too short",
        "too long", "empty", "identity proof", "identity key", "garbage key",
    ],
)
def test_invalid_vrf_is_rejected(public_key: bytes, parent: bytes, make_field: Callable[[], bytes]) -> None:
    with pytest.raises(InvalidSignature):
        verify_vrf(public_key, parent, make_field())
