"""BLS12-381 signatures (IETF proof-of-possession ciphersuite) behind one interface.

Module-level functions use the default backend (blst, native) and a shared public-key cache; tests
compare it with the py_ecc reference through ``get_backend("py_ecc")``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from py_ecc.bls import G2ProofOfPossession as _PoP

from crypto.bls.backend import (
    CURVE_ORDER,
    DST,
    IDENTITY_PUBLIC_KEY,
    PUBLIC_KEY_SIZE,
    SECRET_KEY_SIZE,
    SIGNATURE_SIZE,
    BLSBackend,
    PublicKeyPoint,
    get_backend,
    validate_secret,
)
from crypto.bls.pubkey_cache import PublicKeyCache
from harmony_node.exceptions import InvalidKey

__all__ = [
    "CURVE_ORDER", "DST", "IDENTITY_PUBLIC_KEY", "PUBLIC_KEY_SIZE", "SECRET_KEY_SIZE", "SIGNATURE_SIZE",
    "BLSBackend", "PublicKeyCache", "PublicKeyPoint", "aggregate_public_keys", "aggregate_signatures",
    "fast_aggregate_verify", "generate_secret_key", "get_backend", "get_default_backend",
    "get_public_key_cache", "secret_key_from_bytes", "secret_key_to_bytes", "secret_to_public",
    "set_default_backend", "sign", "verify",
]

_backend: BLSBackend = get_backend("blst")
_cache = PublicKeyCache(_backend)


def set_default_backend(name: str) -> None:
    """Switch the module-level functions to another backend (and start a fresh key cache)."""
    global _backend, _cache
    _backend = get_backend(name)
    _cache = PublicKeyCache(_backend)


def get_default_backend() -> BLSBackend:
    return _backend


def get_public_key_cache() -> PublicKeyCache:
    """The shared cache of validated committee keys."""
    return _cache


def generate_secret_key(ikm: bytes | None = None) -> int:
    """A secret key from at least 32 bytes of input keying material (IETF KeyGen); random if None."""
    if ikm is None:
        ikm = os.urandom(32)
    if len(ikm) < 32:
        raise InvalidKey("BLS key generation needs at least 32 bytes of keying material")
    secret: int = _PoP.KeyGen(ikm)
    return secret


def secret_key_from_bytes(data: bytes) -> int:
    """Parse a 32-byte big-endian secret key."""
    if len(data) != SECRET_KEY_SIZE:
        raise InvalidKey(f"a BLS secret key is {SECRET_KEY_SIZE} bytes, got {len(data)}")
    secret = int.from_bytes(data, "big")
    validate_secret(secret)
    return secret


def secret_key_to_bytes(secret: int) -> bytes:
    validate_secret(secret)
    return secret.to_bytes(SECRET_KEY_SIZE, "big")


def secret_to_public(secret: int) -> bytes:
    return _backend.secret_to_public(secret)


def sign(secret: int, message: bytes) -> bytes:
    return _backend.sign(secret, message)


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    return _backend.verify(public_key, message, signature)


def aggregate_signatures(signatures: Sequence[bytes]) -> bytes:
    return _backend.aggregate_signatures(signatures)


def aggregate_public_keys(public_keys: Sequence[bytes]) -> bytes:
    return _backend.aggregate_public_keys(public_keys)


def fast_aggregate_verify(public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    """Verify one signature by all ``public_keys`` over ``message``, decoding each key only once ever."""
    try:
        points = [_cache.get_point(public_key) for public_key in public_keys]
    except InvalidKey:
        return False
    return _backend.fast_aggregate_verify_loaded(points, message, signature)
