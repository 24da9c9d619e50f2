"""BLS: the fast backend is byte-identical to the py_ecc reference, and both reject bad input alike."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.bls.point_compression import compress_G1, compress_G2, modular_squareroot_in_FQ2
from py_ecc.optimized_bls12_381 import FQ, FQ2, b, b2, curve_order, field_modulus, is_inf, is_on_curve, multiply

from crypto import bls
from crypto.bls import get_backend
from crypto.bls.backend import BLSBackend
from harmony_node.exceptions import InvalidKey, InvalidSignature

BLST = get_backend("blst")
REFERENCE = get_backend("py_ecc")
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 5)]
MESSAGE = b"\x11" * 32
IDENTITY_SIGNATURE = b"\xc0" + bytes(95)


@cache
def non_subgroup_public_key() -> bytes:
    """A G1 point on the curve whose order is not r (not in the prime-order subgroup)."""
    x = 1
    while True:
        rhs = (x**3 + 4) % field_modulus
        if pow(rhs, (field_modulus - 1) // 2, field_modulus) == 1:
            point = (FQ(x), FQ(pow(rhs, (field_modulus + 1) // 4, field_modulus)), FQ(1))
            if is_on_curve(point, b) and not is_inf(multiply(point, curve_order)):
                return int(compress_G1(point)).to_bytes(48, "big")
        x += 1


@cache
def non_subgroup_signature() -> bytes:
    """A G2 point on the twist whose order is not r."""
    x0 = 1
    while True:
        x = FQ2([x0, 1])
        y = modular_squareroot_in_FQ2(x**3 + b2)
        if y is not None:
            point = (x, y, FQ2.one())
            if is_on_curve(point, b2) and not is_inf(multiply(point, curve_order)):
                z1, z2 = compress_G2(point)
                return int(z1).to_bytes(48, "big") + int(z2).to_bytes(48, "big")
        x0 += 1


@cache
def reference_material() -> tuple[list[bytes], list[bytes], bytes, bytes]:
    """Keys, signatures, aggregate signature and aggregate key from py_ecc, computed once (slow)."""
    public_keys = [REFERENCE.secret_to_public(s) for s in SECRETS]
    signatures = [REFERENCE.sign(s, MESSAGE) for s in SECRETS]
    return public_keys, signatures, REFERENCE.aggregate_signatures(signatures), REFERENCE.aggregate_public_keys(public_keys)


def test_fast_backend_is_byte_identical_to_the_reference() -> None:
    public_keys, signatures, aggregate, aggregate_key = reference_material()
    assert [BLST.secret_to_public(s) for s in SECRETS] == public_keys
    assert [BLST.sign(s, MESSAGE) for s in SECRETS] == signatures
    assert BLST.aggregate_signatures(signatures) == aggregate
    assert BLST.aggregate_public_keys(public_keys) == aggregate_key
    for backend in (BLST, REFERENCE):
        assert backend.fast_aggregate_verify(public_keys, MESSAGE, aggregate)
        assert not backend.fast_aggregate_verify(public_keys[:3], MESSAGE, aggregate)
        assert not backend.fast_aggregate_verify(public_keys, b"\x12" * 32, aggregate)
        assert backend.verify(public_keys[0], MESSAGE, signatures[0])
        assert not backend.verify(public_keys[1], MESSAGE, signatures[0])


@settings(max_examples=4)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64))
def test_keys_and_signatures_match_for_random_input(ikm: bytes, message: bytes) -> None:
    secret = bls.generate_secret_key(ikm)
    assert BLST.secret_to_public(secret) == REFERENCE.secret_to_public(secret)
    assert BLST.sign(secret, message) == REFERENCE.sign(secret, message)


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64))
def test_fast_backend_round_trips(ikm: bytes, message: bytes) -> None:
    secret = bls.generate_secret_key(ikm)
    public_key = bls.secret_to_public(secret)
    signature = bls.sign(secret, message)
    assert bls.verify(public_key, message, signature)
    assert bls.fast_aggregate_verify([public_key], message, signature)
    assert not bls.verify(public_key, message + b"x", signature)


BAD_PUBLIC_KEYS = {
    "identity": bls.IDENTITY_PUBLIC_KEY,
    "too short": b"\x80" * 47,
    "too long": b"\x80" * 49,
    "uncompressed flag": b"\x00" + bytes(47),
    "x not on curve": (0x80 << 376 | 1).to_bytes(48, "big"),  # 1 + 4 is not a square mod p
    "outside subgroup": b"",  # filled lazily below
}


def _bad_public_key(kind: str) -> bytes:
    return non_subgroup_public_key() if kind == "outside subgroup" else BAD_PUBLIC_KEYS[kind]


@pytest.mark.parametrize("backend", [BLST, REFERENCE], ids=lambda b: b.name)
@pytest.mark.parametrize("kind", list(BAD_PUBLIC_KEYS))
def test_bad_public_keys_are_rejected(backend: BLSBackend, kind: str) -> None:
    public_keys, signatures, aggregate, _ = reference_material()
    bad = _bad_public_key(kind)
    with pytest.raises(InvalidKey):
        backend.load_public_key(bad)
    with pytest.raises(InvalidKey):
        backend.aggregate_public_keys([public_keys[0], bad])
    assert not backend.verify(bad, MESSAGE, signatures[0])
    assert not backend.fast_aggregate_verify([*public_keys, bad], MESSAGE, aggregate)


@pytest.mark.parametrize("backend", [BLST, REFERENCE], ids=lambda b: b.name)
def test_identity_key_with_identity_signature_and_empty_lists_are_rejected(backend: BLSBackend) -> None:
    assert not backend.verify(bls.IDENTITY_PUBLIC_KEY, MESSAGE, IDENTITY_SIGNATURE)
    assert not backend.fast_aggregate_verify([], MESSAGE, IDENTITY_SIGNATURE)
    assert not backend.fast_aggregate_verify_loaded([], MESSAGE, IDENTITY_SIGNATURE)
    with pytest.raises(InvalidSignature):
        backend.aggregate_signatures([])
    with pytest.raises(InvalidKey):
        backend.aggregate_public_keys([])


@pytest.mark.parametrize("backend", [BLST, REFERENCE], ids=lambda b: b.name)
@pytest.mark.parametrize("kind", ["too short", "garbage", "outside subgroup"])
def test_bad_signatures_are_rejected(backend: BLSBackend, kind: str) -> None:
    public_keys, signatures, _, _ = reference_material()
    bad = {"too short": b"\xa0" * 95, "garbage": b"\xff" * 96, "outside subgroup": non_subgroup_signature()}[kind]
    assert not backend.verify(public_keys[0], MESSAGE, bad)
    with pytest.raises(InvalidSignature):
        backend.aggregate_signatures([signatures[0], bad])


def test_secret_key_bytes() -> None:
    secret = SECRETS[0]
    assert bls.secret_key_from_bytes(bls.secret_key_to_bytes(secret)) == secret
    for bad in (bytes(32), bls.CURVE_ORDER.to_bytes(32, "big"), b"\x01" * 31):
        with pytest.raises(InvalidKey):
            bls.secret_key_from_bytes(bad)
    with pytest.raises(InvalidKey):
        bls.generate_secret_key(b"short")


def test_public_key_cache_decodes_once_and_never_caches_invalid_keys() -> None:
    cache_ = bls.PublicKeyCache(BLST, max_keys=2)
    public_keys = [BLST.secret_to_public(s) for s in SECRETS[:3]]
    first = cache_.get_point(public_keys[0])
    assert cache_.get_point(public_keys[0]) is first
    cache_.get_point(public_keys[1])
    cache_.get_point(public_keys[2])
    assert len(cache_) == 2  # least recently used entry evicted
    with pytest.raises(InvalidKey):
        cache_.get_point(bls.IDENTITY_PUBLIC_KEY)
    assert len(cache_) == 2
