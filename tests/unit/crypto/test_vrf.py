"""BLS-VRF: proofs verify, and every forgery or mismatch is rejected."""

from __future__ import annotations

import pytest

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


def _forged(field: bytes) -> bytes:
    proof = bytearray(field[32:])
    proof[-1] ^= 1
    return sha256(bytes(proof)) + bytes(proof)


@pytest.mark.parametrize(
    ("public_key", "parent", "make_field"),
    [
        (PUBLIC, PARENT, lambda: _forged(compute_vrf(SECRET, PARENT))),
        (bls.secret_to_public(OTHER), PARENT, lambda: compute_vrf(SECRET, PARENT)),
        (PUBLIC, b"\xbb" * 32, lambda: compute_vrf(SECRET, PARENT)),
        (PUBLIC, PARENT, lambda: b"\x00" * 32 + compute_vrf(SECRET, PARENT)[32:]),
        (PUBLIC, PARENT, lambda: compute_vrf(SECRET, PARENT)[:-1]),
        (PUBLIC, PARENT, lambda: compute_vrf(OTHER, PARENT)),
        (bls.IDENTITY_PUBLIC_KEY, PARENT, lambda: compute_vrf(SECRET, PARENT)),
    ],
    ids=["forged proof", "wrong key", "wrong parent", "tampered output", "wrong length", "other signer", "identity key"],
)
def test_invalid_vrf_is_rejected(public_key: bytes, parent: bytes, make_field: object) -> None:
    with pytest.raises(InvalidSignature):
        verify_vrf(public_key, parent, make_field())  # type: ignore[operator]
