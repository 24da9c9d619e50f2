"""BLS: the fast backend is byte-identical to the py_ecc reference, and both reject bad input alike."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from eth_typing import BLSPubkey, BLSSignature

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.bls import G2ProofOfPossession
from py_ecc.bls.g2_primitives import pubkey_to_G1, signature_to_G2, subgroup_check
from py_ecc.bls.point_compression import modular_squareroot_in_FQ2
from py_ecc.optimized_bls12_381 import FQ2, b2, field_modulus

from crypto import bls
from crypto.bls import get_backend
from bls_points import is_square as _is_square, non_subgroup_public_key, non_subgroup_signature
from crypto.bls.backend import BLSBackend
from harmony_node.exceptions import InvalidKey, InvalidSignature

BLST = get_backend("blst")
REFERENCE = get_backend("py_ecc")
BACKENDS = pytest.mark.parametrize("backend", [BLST, REFERENCE], ids=lambda backend: backend.name)
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 5)]
SECRET_PUBLIC_KEY = BLST.secret_to_public(SECRETS[0])
MESSAGE = b"\x11" * 32
COMPRESSED = 0x80  # the c flag: compressed encoding
INFINITY = 0x40  # the b flag: point at infinity
SORT = 0x20  # the a flag: which of the two y values


def _public_key_x_off_curve() -> bytes:
    x = next(x for x in range(1, 100) if not _is_square((x**3 + 4) % field_modulus))
    return (COMPRESSED << 376 | x).to_bytes(48, "big")


def _signature_x_off_curve() -> bytes:
    x0 = next(x0 for x0 in range(1, 100) if modular_squareroot_in_FQ2(FQ2([x0, 1]) ** 3 + b2) is None)
    # z1 carries the flags and the imaginary part of x, z2 the real part.
    return (COMPRESSED << 376 | 1).to_bytes(48, "big") + x0.to_bytes(48, "big")


def _negate(encoded: bytes) -> bytes:
    """The negated point: same x, the other y (flip the sort flag)."""
    return bytes([encoded[0] ^ SORT]) + encoded[1:]


def _clear_compression_flag(encoded: bytes) -> bytes:
    return bytes([encoded[0] & ~COMPRESSED]) + encoded[1:]


@cache
def reference_material() -> tuple[list[bytes], list[bytes], bytes, bytes]:
    """Keys, signatures, aggregate signature and aggregate key from py_ecc, computed once (slow)."""
    public_keys = [REFERENCE.secret_to_public(s) for s in SECRETS]
    signatures = [REFERENCE.sign(s, MESSAGE) for s in SECRETS]
    aggregate_key = REFERENCE.aggregate_public_keys(public_keys)
    return public_keys, signatures, REFERENCE.aggregate_signatures(signatures), aggregate_key


def test_fast_backend_is_byte_identical_to_the_reference() -> None:
    public_keys, signatures, aggregate, aggregate_key = reference_material()
    assert [BLST.secret_to_public(s) for s in SECRETS] == public_keys
    assert [BLST.sign(s, MESSAGE) for s in SECRETS] == signatures
    assert BLST.aggregate_signatures(signatures) == aggregate
    assert BLST.aggregate_public_keys(public_keys) == aggregate_key
    assert BLST.secret_to_public(1) == bls.G1_GENERATOR == REFERENCE.secret_to_public(1)
    for backend in (BLST, REFERENCE):
        points = [backend.load_public_key(k) for k in public_keys]
        assert backend.fast_aggregate_verify(public_keys, MESSAGE, aggregate)
        assert backend.fast_aggregate_verify_loaded(points, MESSAGE, aggregate)
        assert backend.verify(aggregate_key, MESSAGE, aggregate)
        assert not backend.fast_aggregate_verify(public_keys[:3], MESSAGE, aggregate)
        assert not backend.fast_aggregate_verify_loaded(points[:3], MESSAGE, aggregate)
        assert not backend.fast_aggregate_verify(public_keys, b"\x12" * 32, aggregate)
        assert backend.verify(public_keys[0], MESSAGE, signatures[0])
        assert not backend.verify(public_keys[1], MESSAGE, signatures[0])


@settings(max_examples=3)
@given(
    st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=3, unique=True),
    st.binary(max_size=64),
)
def test_backends_agree_on_random_committees(ikms: list[bytes], message: bytes) -> None:
    secrets = [bls.generate_secret_key(ikm) for ikm in ikms]
    public_keys = [BLST.secret_to_public(s) for s in secrets]
    signatures = [BLST.sign(s, message) for s in secrets]
    assert [REFERENCE.secret_to_public(s) for s in secrets] == public_keys
    assert [REFERENCE.sign(s, message) for s in secrets] == signatures
    aggregate = BLST.aggregate_signatures(signatures)
    assert REFERENCE.aggregate_signatures(signatures) == aggregate
    assert REFERENCE.aggregate_public_keys(public_keys) == BLST.aggregate_public_keys(public_keys)
    wrong = message + b"\x00"
    for msg, expected in ((message, True), (wrong, False)):
        assert REFERENCE.fast_aggregate_verify(public_keys, msg, aggregate) is expected
        assert BLST.fast_aggregate_verify(public_keys, msg, aggregate) is expected
        assert bls.fast_aggregate_verify(public_keys, msg, aggregate) is expected


@settings(max_examples=50)
@given(st.binary(min_size=32, max_size=80))
def test_key_generation_is_ietf_keygen(ikm: bytes) -> None:
    assert bls.generate_secret_key(ikm) == G2ProofOfPossession.KeyGen(ikm)


@settings(max_examples=100)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64))
def test_fast_backend_round_trips(ikm: bytes, message: bytes) -> None:
    secret = bls.generate_secret_key(ikm)
    public_key = bls.secret_to_public(secret)
    signature = bls.sign(secret, message)
    assert bls.verify(public_key, message, signature)
    assert bls.fast_aggregate_verify([public_key], message, signature)
    assert not bls.verify(public_key, message + b"x", signature)
    assert not bls.verify(_negate(public_key), message, signature)


BAD_PUBLIC_KEYS: dict[str, Callable[[], bytes]] = {
    "identity": lambda: bls.IDENTITY_PUBLIC_KEY,
    "empty": lambda: b"",
    "too short": lambda: SECRET_PUBLIC_KEY[:47],
    "too long": lambda: SECRET_PUBLIC_KEY + b"\x00",
    "compression flag unset": lambda: _clear_compression_flag(SECRET_PUBLIC_KEY),
    "infinity flag on a real x": lambda: bytes([SECRET_PUBLIC_KEY[0] | INFINITY]) + SECRET_PUBLIC_KEY[1:],
    "infinity with nonzero bits": lambda: bytes([COMPRESSED | INFINITY]) + bytes(46) + b"\x01",
    "infinity with sort flag": lambda: bytes([COMPRESSED | INFINITY | SORT]) + bytes(47),
    "x not below p": lambda: (COMPRESSED << 376 | field_modulus).to_bytes(48, "big"),
    "x not on curve": _public_key_x_off_curve,
    "outside subgroup": non_subgroup_public_key,
}


@BACKENDS
@pytest.mark.parametrize("kind", list(BAD_PUBLIC_KEYS))
def test_bad_public_keys_are_rejected(backend: BLSBackend, kind: str) -> None:
    public_keys, signatures, aggregate, _ = reference_material()
    bad = BAD_PUBLIC_KEYS[kind]()
    with pytest.raises(InvalidKey):
        backend.load_public_key(bad)
    with pytest.raises(InvalidKey):
        backend.aggregate_public_keys([public_keys[0], bad])
    assert not backend.verify(bad, MESSAGE, signatures[0])
    assert not backend.fast_aggregate_verify([*public_keys, bad], MESSAGE, aggregate)
    assert not bls.fast_aggregate_verify([*public_keys, bad], MESSAGE, aggregate)
    assert bad not in bls.get_public_key_cache()


def test_outside_subgroup_points_are_on_the_curve() -> None:
    """The subgroup cases above test the subgroup check, not the curve check."""
    # py_ecc decodes them (decoding checks the curve equation) but they fail the subgroup check.
    assert not subgroup_check(pubkey_to_G1(BLSPubkey(non_subgroup_public_key())))
    assert not subgroup_check(signature_to_G2(BLSSignature(non_subgroup_signature())))


BAD_SIGNATURES: dict[str, Callable[[], bytes]] = {
    "empty": lambda: b"",
    "too short": lambda: reference_material()[1][0][:95],
    "too long": lambda: reference_material()[1][0] + b"\x00",
    "all ones": lambda: b"\xff" * 96,
    "compression flag unset": lambda: _clear_compression_flag(reference_material()[1][0]),
    "infinity with nonzero bits": lambda: bytes([COMPRESSED | INFINITY]) + bytes(94) + b"\x01",
    "x not on twist": _signature_x_off_curve,
    "outside subgroup": non_subgroup_signature,
}


@BACKENDS
@pytest.mark.parametrize("kind", list(BAD_SIGNATURES))
def test_bad_signatures_are_rejected(backend: BLSBackend, kind: str) -> None:
    public_keys, signatures, _, _ = reference_material()
    bad = BAD_SIGNATURES[kind]()
    assert not backend.verify(public_keys[0], MESSAGE, bad)
    assert not backend.fast_aggregate_verify(public_keys[:1], MESSAGE, bad)
    assert not backend.fast_aggregate_verify_loaded([backend.load_public_key(public_keys[0])], MESSAGE, bad)
    with pytest.raises(InvalidSignature):
        backend.aggregate_signatures([signatures[0], bad])
    if kind == "outside subgroup" and backend is BLST:  # a curve point: only the sum's verification fails
        unchecked = backend.aggregate_signatures_unchecked([signatures[0], bad])
        assert not backend.fast_aggregate_verify(public_keys[:1], MESSAGE, unchecked)
    else:  # py_ecc checks everything anyway
        with pytest.raises(InvalidSignature):
            backend.aggregate_signatures_unchecked([signatures[0], bad])


@BACKENDS
def test_unchecked_aggregation_matches_the_checked_one(backend: BLSBackend) -> None:
    public_keys, signatures, aggregate, _ = reference_material()
    assert backend.aggregate_signatures_unchecked(signatures) == aggregate
    assert backend.aggregate_signatures_unchecked([signatures[0], bls.IDENTITY_SIGNATURE]) == signatures[0]
    with pytest.raises(InvalidSignature):
        backend.aggregate_signatures_unchecked([])


@BACKENDS
def test_identity_points_and_empty_lists(backend: BLSBackend) -> None:
    public_keys, signatures, _, _ = reference_material()
    identity_sig = bls.IDENTITY_SIGNATURE
    assert not backend.verify(bls.IDENTITY_PUBLIC_KEY, MESSAGE, identity_sig)
    assert not backend.verify(public_keys[0], MESSAGE, identity_sig)
    assert not backend.fast_aggregate_verify([], MESSAGE, identity_sig)
    assert not backend.fast_aggregate_verify_loaded([], MESSAGE, identity_sig)
    with pytest.raises(InvalidSignature):
        backend.aggregate_signatures([])
    with pytest.raises(InvalidKey):
        backend.aggregate_public_keys([])
    # The identity signature is a valid encoding; adding it changes nothing.
    assert backend.aggregate_signatures([signatures[0], identity_sig]) == signatures[0]


@BACKENDS
def test_keys_summing_to_the_identity_verify_nothing(backend: BLSBackend) -> None:
    """P and -P are each valid keys (whoever holds sk holds -sk); their sum must not verify the identity sig."""
    key = reference_material()[0][0]
    pair = [key, _negate(key)]
    assert backend.aggregate_public_keys(pair) == bls.IDENTITY_PUBLIC_KEY
    assert not backend.fast_aggregate_verify(pair, MESSAGE, bls.IDENTITY_SIGNATURE)
    points = [backend.load_public_key(k) for k in pair]
    assert not backend.fast_aggregate_verify_loaded(points, MESSAGE, bls.IDENTITY_SIGNATURE)
    assert not bls.fast_aggregate_verify(pair, MESSAGE, bls.IDENTITY_SIGNATURE)


def test_points_from_another_backend_are_refused() -> None:
    public_keys, _, aggregate, _ = reference_material()
    assert not BLST.fast_aggregate_verify_loaded([REFERENCE.load_public_key(public_keys[0])], MESSAGE, aggregate)
    assert not REFERENCE.fast_aggregate_verify_loaded([BLST.load_public_key(public_keys[0])], MESSAGE, aggregate)


def test_secret_key_bytes() -> None:
    secret = SECRETS[0]
    assert bls.secret_key_from_bytes(bls.secret_key_to_bytes(secret)) == secret
    assert bls.secret_key_to_bytes(1) == bytes(31) + b"\x01"
    for bad in (bytes(32), bls.CURVE_ORDER.to_bytes(32, "big"), b"\xff" * 32, b"\x01" * 31, b"\x01" * 33):
        with pytest.raises(InvalidKey):
            bls.secret_key_from_bytes(bad)
    for bad_secret in (0, -1, bls.CURVE_ORDER):
        with pytest.raises(InvalidKey):
            bls.secret_key_to_bytes(bad_secret)
        with pytest.raises(InvalidKey):
            bls.sign(bad_secret, MESSAGE)
        with pytest.raises(InvalidKey):
            REFERENCE.secret_to_public(bad_secret)
    with pytest.raises(InvalidKey):
        bls.generate_secret_key(b"short")
    assert bls.generate_secret_key() != bls.generate_secret_key()


def test_default_backend_can_be_switched() -> None:
    assert bls.get_default_backend().name == "blst"
    assert bls.get_public_key_cache().backend is bls.get_default_backend()
    try:
        bls.set_default_backend("py_ecc")
        assert bls.get_default_backend().name == "py_ecc"
        assert bls.get_public_key_cache().backend is bls.get_default_backend()
        assert bls.secret_to_public(SECRETS[0]) == SECRET_PUBLIC_KEY
    finally:
        bls.set_default_backend("blst")
    with pytest.raises(ValueError, match="unknown BLS backend"):
        get_backend("mcl")


def test_public_key_cache_decodes_once_evicts_least_recent_and_never_caches_invalid_keys() -> None:
    keys_cache = bls.PublicKeyCache(BLST, max_keys=2)
    public_keys = [BLST.secret_to_public(s) for s in SECRETS[:3]]
    first = keys_cache.get_point(public_keys[0])
    assert keys_cache.get_point(public_keys[0]) is first
    keys_cache.get_point(public_keys[1])
    keys_cache.get_point(public_keys[0])  # now public_keys[1] is the least recently used
    keys_cache.get_point(public_keys[2])
    assert len(keys_cache) == 2
    assert public_keys[0] in keys_cache and public_keys[2] in keys_cache
    assert public_keys[1] not in keys_cache
    with pytest.raises(InvalidKey):
        keys_cache.get_point(bls.IDENTITY_PUBLIC_KEY)
    assert len(keys_cache) == 2 and bls.IDENTITY_PUBLIC_KEY not in keys_cache
    with pytest.raises(ValueError):
        bls.PublicKeyCache(BLST, max_keys=0)
