"""BLS12-381 signatures (IETF proof-of-possession ciphersuite) behind one interface.

Module-level functions use the default backend (blst, native) and a shared public-key cache; tests
compare it with the py_ecc reference through ``get_backend("py_ecc")``. Importing this package
does not import py_ecc.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from crypto.bls.backend import (
    CURVE_ORDER,
    DST,
    G1_GENERATOR,
    IDENTITY_PUBLIC_KEY,
    IDENTITY_SIGNATURE,
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
    "CURVE_ORDER", "DST", "G1_GENERATOR", "IDENTITY_PUBLIC_KEY", "IDENTITY_SIGNATURE", "PUBLIC_KEY_SIZE",
    "SECRET_KEY_SIZE", "SIGNATURE_SIZE", "BLSBackend", "PublicKeyCache", "PublicKeyPoint",
    "aggregate_public_keys", "aggregate_signatures", "fast_aggregate_verify", "generate_secret_key",
    "get_backend", "get_default_backend", "get_public_key_cache", "secret_key_from_bytes",
    "secret_key_to_bytes", "secret_to_public", "set_default_backend", "sign", "validate_secret", "verify",
]

_backend: BLSBackend = get_backend("blst")
_cache = PublicKeyCache(_backend)

_KEYGEN_SALT = b"BLS-SIG-KEYGEN-SALT-"
_KEYGEN_OKM_SIZE = 48
"""L = ceil(3 * ceil(log2(r)) / 16): 128 bits more than r, so reducing mod r is unbiased."""


def set_default_backend(name: str) -> None:
    """Switch the module-level functions to another backend (and start a fresh key cache)."""
    global _backend, _cache
    _backend = get_backend(name)
    _cache = PublicKeyCache(_backend)


def get_default_backend() -> BLSBackend:
    """The backend the module-level functions use."""
    return _backend


def get_public_key_cache() -> PublicKeyCache:
    """The shared cache of validated committee keys (bound to the default backend)."""
    return _cache


def generate_secret_key(ikm: bytes | None = None) -> int:
    """A secret key from at least 32 bytes of input keying material (IETF KeyGen); random if None."""
    if ikm is None:
        ikm = os.urandom(32)
    if len(ikm) < 32:
        raise InvalidKey("BLS key generation needs at least 32 bytes of keying material")
    salt = _KEYGEN_SALT
    secret = 0
    while secret == 0:  # reached again with probability ~2**-255
        salt = hashlib.sha256(salt).digest()
        prk = hmac.new(salt, ikm + b"\x00", hashlib.sha256).digest()  # HKDF-Extract
        # HKDF-Expand with info = I2OSP(L, 2) (empty key_info): two blocks give 64 >= 48 bytes.
        info = _KEYGEN_OKM_SIZE.to_bytes(2, "big")
        block1 = hmac.new(prk, info + b"\x01", hashlib.sha256).digest()
        block2 = hmac.new(prk, block1 + info + b"\x02", hashlib.sha256).digest()
        secret = int.from_bytes((block1 + block2)[:_KEYGEN_OKM_SIZE], "big") % CURVE_ORDER
    return secret


def secret_key_from_bytes(data: bytes) -> int:
    """Parse a 32-byte big-endian secret key; InvalidKey unless it is in [1, r-1]."""
    if len(data) != SECRET_KEY_SIZE:
        raise InvalidKey(f"a BLS secret key is {SECRET_KEY_SIZE} bytes, got {len(data)}")
    secret = int.from_bytes(data, "big")
    validate_secret(secret)
    return secret


def secret_key_to_bytes(secret: int) -> bytes:
    """The 32-byte big-endian encoding of a secret key."""
    validate_secret(secret)
    return secret.to_bytes(SECRET_KEY_SIZE, "big")


def secret_to_public(secret: int) -> bytes:
    """The 48-byte compressed public key of ``secret``."""
    return _backend.secret_to_public(secret)


def sign(secret: int, message: bytes) -> bytes:
    """The 96-byte signature of ``message``."""
    return _backend.sign(secret, message)


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True only if ``signature`` is ``public_key``'s signature of ``message``; never raises."""
    return _backend.verify(public_key, message, signature)


def aggregate_signatures(signatures: Sequence[bytes]) -> bytes:
    """Sum signatures; InvalidSignature on an empty list or a malformed/non-subgroup signature."""
    return _backend.aggregate_signatures(signatures)


def aggregate_public_keys(public_keys: Sequence[bytes]) -> bytes:
    """Sum public keys; InvalidKey on an empty list or an invalid (incl. identity) key."""
    return _backend.aggregate_public_keys(public_keys)


def fast_aggregate_verify(public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    """Verify one signature by all ``public_keys`` over ``message``, decoding each key only once ever."""
    try:
        points = [_cache.get_point(public_key) for public_key in public_keys]
    except InvalidKey:
        return False
    return _backend.fast_aggregate_verify_loaded(points, message, signature)
