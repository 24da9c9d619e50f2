"""The fast BLS backend on pyblst (supranational blst), byte-identical to the py_ecc reference.

pyblst is a low-level binding: it gives points, scalar multiplication, hash-to-curve and pairings.
This wrapper adds what the IETF scheme requires on top: identity-key and empty-list rejection
(blst's ``uncompress`` checks encoding, curve and subgroup, but accepts the point at infinity).
"""

from __future__ import annotations

from collections.abc import Sequence

from py_ecc.bls.g2_primitives import G1_to_pubkey
from py_ecc.optimized_bls12_381 import G1
from pyblst import BlstP1Element, BlstP2Element, final_verify, miller_loop

from crypto.bls.backend import (
    DST,
    IDENTITY_PUBLIC_KEY,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    PublicKeyPoint,
    validate_secret,
)
from harmony_node.exceptions import InvalidKey, InvalidSignature

_GENERATOR = BlstP1Element().uncompress(G1_to_pubkey(G1))
_IDENTITY_G1 = BlstP1Element()
_IDENTITY_G2 = BlstP2Element()


def _load_signature(signature: bytes) -> BlstP2Element:
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidSignature(f"a BLS signature is {SIGNATURE_SIZE} bytes, got {len(signature)}")
    try:
        return BlstP2Element().uncompress(signature)
    except ValueError as exc:  # bad encoding, not on the curve, or outside the subgroup
        raise InvalidSignature(f"malformed BLS signature: {exc}") from exc


def _load_public_key(public_key: bytes) -> BlstP1Element:
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"a BLS public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    if public_key == IDENTITY_PUBLIC_KEY:
        raise InvalidKey("the identity point is not a valid BLS public key")
    try:
        point = BlstP1Element().uncompress(public_key)
    except ValueError as exc:
        raise InvalidKey(f"malformed BLS public key: {exc}") from exc
    if point == _IDENTITY_G1:  # another encoding of infinity would have failed above; belt and braces
        raise InvalidKey("the identity point is not a valid BLS public key")
    return point


class BlstBackend:
    """BLS on blst: ~0.4 ms to sign, ~1.2 ms to verify."""

    name = "blst"

    def secret_to_public(self, secret: int) -> bytes:
        validate_secret(secret)
        compressed: bytes = _GENERATOR.scalar_mul(secret).compress()
        return compressed

    def sign(self, secret: int, message: bytes) -> bytes:
        validate_secret(secret)
        signature: bytes = BlstP2Element().hash_to_group(message, DST).scalar_mul(secret).compress()
        return signature

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        try:
            point = _load_public_key(public_key)
        except InvalidKey:
            return False
        return self.fast_aggregate_verify_loaded([point], message, signature)

    def aggregate_signatures(self, signatures: Sequence[bytes]) -> bytes:
        if not signatures:
            raise InvalidSignature("cannot aggregate an empty list of signatures")
        total = _IDENTITY_G2
        for signature in signatures:
            total = total + _load_signature(signature)
        compressed: bytes = total.compress()
        return compressed

    def aggregate_public_keys(self, public_keys: Sequence[bytes]) -> bytes:
        if not public_keys:
            raise InvalidKey("cannot aggregate an empty list of public keys")
        total = _IDENTITY_G1
        for public_key in public_keys:
            total = total + _load_public_key(public_key)
        compressed: bytes = total.compress()
        return compressed

    def fast_aggregate_verify(self, public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
        try:
            points = [_load_public_key(public_key) for public_key in public_keys]
        except InvalidKey:
            return False
        return self.fast_aggregate_verify_loaded(points, message, signature)

    def load_public_key(self, public_key: bytes) -> PublicKeyPoint:
        return _load_public_key(public_key)

    def fast_aggregate_verify_loaded(
        self, points: Sequence[PublicKeyPoint], message: bytes, signature: bytes
    ) -> bool:
        if not points:
            return False
        try:
            sig = _load_signature(signature)
        except InvalidSignature:
            return False
        total = _IDENTITY_G1
        for point in points:
            if not isinstance(point, BlstP1Element):
                return False
            total = total + point
        # e(aggregate_pk, H(m)) == e(G1, sig)
        return bool(final_verify(miller_loop(total, BlstP2Element().hash_to_group(message, DST)), miller_loop(_GENERATOR, sig)))
