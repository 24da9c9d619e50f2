"""secp256k1: signing, recovery, low-s enforcement, EIP-155 v values, key validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.secp256k1 import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    compute_address,
    compute_eip155_v,
    decode_v,
    recover_address,
    sign_hash,
    validate_private_key,
)
from harmony_node.exceptions import InvalidKey, InvalidSignature

LOCALNET_KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
LOCALNET_ADDRESS = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
keys = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))


def test_localnet_key_address() -> None:
    assert compute_address(LOCALNET_KEY) == LOCALNET_ADDRESS


@settings(max_examples=50)
@given(keys, st.binary(min_size=32, max_size=32))
def test_sign_recover_round_trip_with_low_s(key: bytes, message_hash: bytes) -> None:
    recovery_id, r, s = sign_hash(message_hash, key)
    assert s <= SECP256K1_HALF_N
    assert recover_address(message_hash, recovery_id, r, s) == compute_address(key)


def test_high_s_twin_is_rejected() -> None:
    message_hash = b"\x01" * 32
    recovery_id, r, s = sign_hash(message_hash, LOCALNET_KEY)
    with pytest.raises(InvalidSignature, match="high-s"):
        recover_address(message_hash, recovery_id ^ 1, r, SECP256K1_N - s)


@pytest.mark.parametrize(
    ("recovery_id", "r", "s", "match"),
    [(2, 1, 1, "recovery id"), (0, 0, 1, "r is out of range"), (0, SECP256K1_N, 1, "r is out of range"),
     (0, 1, 0, "s is out of range"), (0, 1, SECP256K1_N, "s is out of range")],
)
def test_out_of_range_signatures(recovery_id: int, r: int, s: int, match: str) -> None:
    with pytest.raises(InvalidSignature, match=match):
        recover_address(b"\x01" * 32, recovery_id, r, s)


def test_eip155_v() -> None:
    assert compute_eip155_v(0, 2) == 39 and compute_eip155_v(1, 2) == 40
    assert decode_v(39) == (0, 2) and decode_v(40) == (1, 2)
    assert decode_v(compute_eip155_v(1, 1_666_700_000)) == (1, 1_666_700_000)
    assert decode_v(27) == (0, None) and decode_v(28) == (1, None)
    with pytest.raises(InvalidSignature):
        decode_v(30)


@pytest.mark.parametrize("key", [bytes(32), SECP256K1_N.to_bytes(32, "big"), b"\x01" * 31, b"\x01" * 33])
def test_invalid_private_keys(key: bytes) -> None:
    with pytest.raises(InvalidKey):
        validate_private_key(key)
    with pytest.raises(InvalidKey):
        sign_hash(b"\x00" * 32, key)


def test_eip155_v_for_localnet_ethereum_chain_ids() -> None:
    assert compute_eip155_v(0, 1_666_700_000) == 3_333_400_035
    assert compute_eip155_v(1, 1_666_700_001) == 3_333_400_038
    assert decode_v(3_333_400_035) == (0, 1_666_700_000) and decode_v(3_333_400_038) == (1, 1_666_700_001)


def test_a_signature_over_another_hash_recovers_another_address() -> None:
    recovery_id, r, s = sign_hash(b"\x01" * 32, LOCALNET_KEY)
    assert recover_address(b"\x02" * 32, recovery_id, r, s) != LOCALNET_ADDRESS
    assert recover_address(b"\x01" * 32, recovery_id ^ 1, r, s) != LOCALNET_ADDRESS
