"""secp256k1: signing, recovery, low-s enforcement, EIP-155 v values, key validation.

The outside reference is eth-keys' pure-Python backend (what eth-account builds on, without coincurve),
so agreement here is agreement with a second implementation, not with ourselves.
"""

from __future__ import annotations

import pytest
from eth_keys import KeyAPI
from eth_keys.backends import NativeECCBackend
from eth_keys.exceptions import BadSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.secp256k1 import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    compute_address,
    compute_address_from_public_key,
    compute_eip155_v,
    compute_public_key,
    decode_v,
    recover_address,
    sign_hash,
    validate_private_key,
)
from harmony_node.exceptions import InvalidKey, InvalidSignature

LOCALNET_KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
LOCALNET_ADDRESS = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
REFERENCE = KeyAPI(NativeECCBackend)
keys = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
hashes = st.binary(min_size=32, max_size=32)


def test_localnet_key_address() -> None:
    assert compute_address(LOCALNET_KEY) == LOCALNET_ADDRESS


@settings(max_examples=25)
@given(keys, hashes)
def test_signatures_and_keys_match_eth_keys(key: bytes, message_hash: bytes) -> None:
    """Same RFC 6979 nonce, same low-s normalisation, same public key and address as eth-keys."""
    reference_key = REFERENCE.PrivateKey(key)
    expected = reference_key.sign_msg_hash(message_hash)
    assert sign_hash(message_hash, key) == (expected.v, expected.r, expected.s)
    assert compute_public_key(key) == reference_key.public_key.to_bytes()
    assert compute_address(key) == reference_key.public_key.to_canonical_address()


@settings(max_examples=50)
@given(keys, hashes)
def test_sign_recover_round_trip_with_low_s(key: bytes, message_hash: bytes) -> None:
    recovery_id, r, s = sign_hash(message_hash, key)
    assert s <= SECP256K1_HALF_N
    assert recover_address(message_hash, recovery_id, r, s) == compute_address(key)
    assert sign_hash(message_hash, key) == (recovery_id, r, s)  # deterministic, also through the key cache


@settings(max_examples=25)
@given(hashes, st.integers(0, 1), st.integers(1, SECP256K1_N - 1), st.integers(1, SECP256K1_HALF_N))
def test_recovery_of_arbitrary_low_s_signatures_matches_eth_keys(
    message_hash: bytes, recovery_id: int, r: int, s: int
) -> None:
    """Either both recover the same address, or eth-keys finds no point and we raise InvalidSignature."""
    try:
        expected = REFERENCE.Signature(vrs=(recovery_id, r, s)).recover_public_key_from_msg_hash(message_hash)
    except BadSignature:  # r is not the x of any curve point: no key recovers from these values
        with pytest.raises(InvalidSignature):
            recover_address(message_hash, recovery_id, r, s)
    else:
        assert recover_address(message_hash, recovery_id, r, s) == expected.to_canonical_address()


@settings(max_examples=25)
@given(keys, hashes)
def test_high_s_twin_is_rejected_though_it_is_a_valid_ecdsa_signature(key: bytes, message_hash: bytes) -> None:
    recovery_id, r, s = sign_hash(message_hash, key)
    twin = (recovery_id ^ 1, r, SECP256K1_N - s)
    # Mathematically the twin verifies: eth-keys (no low-s rule at recovery) gets the same key back.
    recovered = REFERENCE.Signature(vrs=twin).recover_public_key_from_msg_hash(message_hash)
    assert recovered.to_canonical_address() == compute_address(key)
    with pytest.raises(InvalidSignature, match="high-s"):
        recover_address(message_hash, *twin)


def test_half_order_is_the_largest_accepted_s() -> None:
    with pytest.raises(InvalidSignature, match="high-s"):
        recover_address(b"\x01" * 32, 0, 1, SECP256K1_HALF_N + 1)
    try:  # s = n/2 passes the range checks; whether a point recovers depends on r
        recover_address(b"\x01" * 32, 0, 1, SECP256K1_HALF_N)
    except InvalidSignature as exc:
        assert "high-s" not in str(exc)


@pytest.mark.parametrize(
    ("recovery_id", "r", "s", "match"),
    [(2, 1, 1, "recovery id"), (-1, 1, 1, "recovery id"), (0, 0, 1, "r is out of range"),
     (0, SECP256K1_N, 1, "r is out of range"), (0, 1, 0, "s is out of range"),
     (0, 1, SECP256K1_N, "s is out of range"), (0, 2**256, 1, "r is out of range")],
)
def test_out_of_range_signatures(recovery_id: int, r: int, s: int, match: str) -> None:
    with pytest.raises(InvalidSignature, match=match):
        recover_address(b"\x01" * 32, recovery_id, r, s)


@pytest.mark.parametrize("message_hash", [b"", b"\x01" * 31, b"\x01" * 33])
def test_recovery_over_a_hash_of_the_wrong_size_is_invalid(message_hash: bytes) -> None:
    recovery_id, r, s = sign_hash(b"\x01" * 32, LOCALNET_KEY)
    with pytest.raises(InvalidSignature):
        recover_address(message_hash, recovery_id, r, s)


def test_a_signature_over_another_hash_recovers_another_address() -> None:
    recovery_id, r, s = sign_hash(b"\x01" * 32, LOCALNET_KEY)
    assert recover_address(b"\x02" * 32, recovery_id, r, s) != LOCALNET_ADDRESS
    assert recover_address(b"\x01" * 32, recovery_id ^ 1, r, s) != LOCALNET_ADDRESS


def test_eip155_v() -> None:
    assert compute_eip155_v(0, 2) == 39 and compute_eip155_v(1, 2) == 40
    assert decode_v(39) == (0, 2) and decode_v(40) == (1, 2)
    assert decode_v(27) == (0, None) and decode_v(28) == (1, None)
    assert decode_v(35) == (0, 0) and decode_v(36) == (1, 0)


def test_eip155_v_for_localnet_ethereum_chain_ids() -> None:
    assert compute_eip155_v(0, 1_666_700_000) == 3_333_400_035
    assert compute_eip155_v(1, 1_666_700_001) == 3_333_400_038
    assert decode_v(3_333_400_035) == (0, 1_666_700_000) and decode_v(3_333_400_038) == (1, 1_666_700_001)


@settings(max_examples=50)
@given(st.integers(0, 1), st.integers(0, 2**64))
def test_decode_v_inverts_compute_eip155_v(recovery_id: int, chain_id: int) -> None:
    assert decode_v(compute_eip155_v(recovery_id, chain_id)) == (recovery_id, chain_id)


@pytest.mark.parametrize("v", [0, 1, 26, 29, 30, 34])
def test_v_values_that_are_neither_legacy_nor_eip155(v: int) -> None:
    with pytest.raises(InvalidSignature, match="invalid signature v"):
        decode_v(v)


@pytest.mark.parametrize(
    "key",
    [bytes(32), SECP256K1_N.to_bytes(32, "big"), (2**256 - 1).to_bytes(32, "big"), b"\x01" * 31, b"\x01" * 33, b""],
    ids=["zero", "n", "2^256-1", "31 bytes", "33 bytes", "empty"],
)
def test_invalid_private_keys(key: bytes) -> None:
    with pytest.raises(InvalidKey):
        validate_private_key(key)
    with pytest.raises(InvalidKey):
        sign_hash(b"\x00" * 32, key)
    with pytest.raises(InvalidKey):
        compute_address(key)


def test_extreme_valid_private_keys() -> None:
    for key in (1, SECP256K1_N - 1):
        key_bytes = key.to_bytes(32, "big")
        validate_private_key(key_bytes)
        assert compute_address(key_bytes) == REFERENCE.PrivateKey(key_bytes).public_key.to_canonical_address()


def test_public_key_must_be_64_bytes() -> None:
    with pytest.raises(InvalidKey):
        compute_address_from_public_key(b"\x04" + compute_public_key(LOCALNET_KEY))
