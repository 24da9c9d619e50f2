"""The reference BLS backend: py_ecc's G2ProofOfPossession (pure Python, ~0.3 s per verify).

Used as the oracle in tests; far too slow for a validator.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls import G2ProofOfPossession as _PoP
from py_ecc.bls.g2_primitives import signature_to_G2, subgroup_check

from crypto.bls.backend import (
    IDENTITY_PUBLIC_KEY,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    PublicKeyPoint,
    validate_secret,
)
from harmony_node.exceptions import InvalidKey, InvalidSignature


class _ValidatedKey(bytes):
    """A public key that passed KeyValidate (py_ecc works on bytes, so the 'point' is the bytes)."""


class PyEccBackend:
    name = "py_ecc"

    def secret_to_public(self, secret: int) -> bytes:
        validate_secret(secret)
        return bytes(_PoP.SkToPk(secret))

    def sign(self, secret: int, message: bytes) -> bytes:
        validate_secret(secret)
        return bytes(_PoP.Sign(secret, message))

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        try:
            return bool(_PoP.Verify(BLSPubkey(public_key), message, BLSSignature(signature)))
        except Exception:  # py_ecc raises assorted errors on malformed points; the contract is False
            return False

    def aggregate_signatures(self, signatures: Sequence[bytes]) -> bytes:
        if not signatures:
            raise InvalidSignature("cannot aggregate an empty list of signatures")
        for signature in signatures:
            if len(signature) != SIGNATURE_SIZE or not _is_valid_signature(signature):
                raise InvalidSignature("malformed BLS signature")
        return bytes(_PoP.Aggregate([BLSSignature(s) for s in signatures]))

    def aggregate_public_keys(self, public_keys: Sequence[bytes]) -> bytes:
        if not public_keys:
            raise InvalidKey("cannot aggregate an empty list of public keys")
        for public_key in public_keys:
            self.load_public_key(public_key)
        return bytes(_PoP._AggregatePKs([BLSPubkey(k) for k in public_keys]))

    def fast_aggregate_verify(self, public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
        if not public_keys:
            return False
        try:
            return bool(
                _PoP.FastAggregateVerify([BLSPubkey(k) for k in public_keys], message, BLSSignature(signature))
            )
        except Exception:  # malformed input: the contract is False, never an exception
            return False

    def load_public_key(self, public_key: bytes) -> PublicKeyPoint:
        if len(public_key) != PUBLIC_KEY_SIZE:
            raise InvalidKey(f"a BLS public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
        if public_key == IDENTITY_PUBLIC_KEY:
            raise InvalidKey("the identity point is not a valid BLS public key")
        try:
            valid = _PoP.KeyValidate(BLSPubkey(public_key))
        except Exception as exc:
            raise InvalidKey(f"malformed BLS public key: {exc}") from exc
        if not valid:
            raise InvalidKey("malformed BLS public key (not on the curve or not in the subgroup)")
        return _ValidatedKey(public_key)

    def fast_aggregate_verify_loaded(
        self, points: Sequence[PublicKeyPoint], message: bytes, signature: bytes
    ) -> bool:
        keys = [point for point in points if isinstance(point, _ValidatedKey)]
        if len(keys) != len(points):
            return False
        return self.fast_aggregate_verify(keys, message, signature)


def _is_valid_signature(signature: bytes) -> bool:
    try:
        return bool(subgroup_check(signature_to_G2(BLSSignature(signature))))
    except Exception:
        return False
