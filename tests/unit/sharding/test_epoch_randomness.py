"""Epoch randomness chains the beacon VRF outputs; header VRFs verify against the proposer's key."""

from __future__ import annotations

import pytest

from crypto import bls
from crypto.hash import sha256
from crypto.vrf import compute_vrf
from harmony_node.exceptions import InvalidSignature, ValidationError
from harmony_node.types.header import make_header
from sharding.randomness import compute_epoch_randomness, compute_genesis_randomness, validate_header_vrf

SECRET = bls.generate_secret_key(bytes([1]) * 32)
OTHER = bls.generate_secret_key(bytes([2]) * 32)
PARENT = b"\x42" * 32


def test_genesis_randomness_is_domain_separated_hash() -> None:
    genesis_hash = b"\x01" * 32
    assert compute_genesis_randomness(genesis_hash) == sha256(b"harmony-node genesis randomness" + genesis_hash)
    assert compute_genesis_randomness(genesis_hash) != compute_genesis_randomness(b"\x02" * 32)
    with pytest.raises(ValidationError):
        compute_genesis_randomness(b"\x01" * 31)


def test_epoch_randomness_chains_in_order() -> None:
    seed, a, b = b"\x00" * 32, b"\xaa" * 32, b"\xbb" * 32
    assert compute_epoch_randomness(seed, []) == seed
    assert compute_epoch_randomness(seed, [a, b]) == sha256(sha256(seed + a) + b)
    assert compute_epoch_randomness(seed, [a, b]) != compute_epoch_randomness(seed, [b, a])
    # Equal outputs do not cancel (they would under XOR).
    assert compute_epoch_randomness(seed, [a, a]) != seed
    assert compute_epoch_randomness(b"\x01" * 32, [a]) != compute_epoch_randomness(seed, [a])


def test_epoch_randomness_rejects_bad_lengths() -> None:
    with pytest.raises(ValidationError, match="previous randomness"):
        compute_epoch_randomness(b"\x00" * 31, [])
    with pytest.raises(ValidationError, match="VRF output 1"):
        compute_epoch_randomness(b"\x00" * 32, [b"\x00" * 32, b"\x00" * 33])


def test_validate_header_vrf() -> None:
    vrf = compute_vrf(SECRET, PARENT)
    header = make_header(parent_hash=PARENT, number=5, vrf=vrf)
    assert validate_header_vrf(header, bls.secret_to_public(SECRET), PARENT) == vrf[:32]

    with pytest.raises(InvalidSignature, match="block 5"):
        validate_header_vrf(header, bls.secret_to_public(OTHER), PARENT)
    with pytest.raises(ValidationError, match="parent"):
        validate_header_vrf(header, bls.secret_to_public(SECRET), b"\x43" * 32)
    other_parent = make_header(parent_hash=b"\x43" * 32, number=5, vrf=vrf)
    with pytest.raises(InvalidSignature):  # proof made over another parent hash
        validate_header_vrf(other_parent, bls.secret_to_public(SECRET), b"\x43" * 32)
    for bad in (b"", vrf[:-1], b"\x00" * 32 + vrf[32:]):
        with pytest.raises(InvalidSignature):
            validate_header_vrf(make_header(parent_hash=PARENT, vrf=bad), bls.secret_to_public(SECRET), PARENT)
