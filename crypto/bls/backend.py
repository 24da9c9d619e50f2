"""The BLS interface every backend implements, and the registry that picks one by name.

Standard BLS12-381 with the IETF proof-of-possession ciphersuite (DESIGN.md §3): public keys in G1
(48-byte compressed), signatures in G2 (96-byte compressed), messages hashed to G2 with the DST
below. Secret keys are integers in [1, r-1], serialized as 32 bytes big-endian.

Contract shared by all backends, so callers never depend on which one runs:
- ``verify`` and the ``fast_aggregate_verify*`` family return False for ANY bad input (malformed or
  non-subgroup points, the identity public key, an empty key list, keys that sum to the identity)
  and never raise;
- ``load_public_key`` and the ``aggregate_*`` functions raise InvalidKey / InvalidSignature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from harmony_node.exceptions import InvalidKey

SECRET_KEY_SIZE = 32
PUBLIC_KEY_SIZE = 48
SIGNATURE_SIZE = 96
CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""r, the order of the G1 and G2 subgroups: secret keys live in [1, r-1]."""
DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
IDENTITY_PUBLIC_KEY = b"\xc0" + bytes(47)
"""The compressed point at infinity of G1: a public key no secret produces, always rejected."""
IDENTITY_SIGNATURE = b"\xc0" + bytes(95)
"""The compressed point at infinity of G2 (a valid signature encoding that verifies nothing)."""
G1_GENERATOR = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)
"""The standard generator of G1, compressed; public key = secret · G1_GENERATOR."""


class PublicKeyPoint(Protocol):
    """An opaque, already-validated public key a backend can use without decoding it again."""


class BLSBackend(Protocol):
    """What a BLS implementation provides (see the module docstring for the error contract)."""

    name: str

    def secret_to_public(self, secret: int) -> bytes:
        """The 48-byte compressed public key of ``secret``."""
        ...

    def sign(self, secret: int, message: bytes) -> bytes:
        """The 96-byte signature of ``message`` (hashed to G2 with ``DST``)."""
        ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True only if ``signature`` is ``public_key``'s signature of ``message``."""
        ...

    def aggregate_signatures(self, signatures: Sequence[bytes]) -> bytes:
        """The sum of ``signatures``; InvalidSignature if the list is empty or one is malformed."""
        ...

    def aggregate_signatures_unchecked(self, signatures: Sequence[bytes]) -> bytes:
        """The sum of ``signatures`` without checking each one's subgroup membership.

        Only for a sum that is verified next (FastAggregateVerify decodes it with the subgroup
        check): a vote outside the subgroup then fails the verification instead of being caught
        here. InvalidSignature if the list is empty or one is not a point on the curve.
        """
        ...

    def aggregate_public_keys(self, public_keys: Sequence[bytes]) -> bytes:
        """The sum of ``public_keys``; InvalidKey if the list is empty or one is invalid."""
        ...

    def fast_aggregate_verify(self, public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
        """True only if ``signature`` is the aggregate of every key's signature of ``message``."""
        ...

    def load_public_key(self, public_key: bytes) -> PublicKeyPoint:
        """Decode and KeyValidate ``public_key``; InvalidKey if malformed, off-subgroup or identity."""
        ...

    def fast_aggregate_verify_loaded(
        self, points: Sequence[PublicKeyPoint], message: bytes, signature: bytes
    ) -> bool:
        """``fast_aggregate_verify`` on keys already returned by this backend's ``load_public_key``."""
        ...


def validate_secret(secret: int) -> None:
    """Raise InvalidKey unless ``secret`` is a usable BLS secret key."""
    if not 0 < secret < CURVE_ORDER:
        raise InvalidKey("BLS secret key must be in [1, r-1]")


def get_backend(name: str) -> BLSBackend:
    """The backend called ``name``: "blst" (fast, native) or "py_ecc" (pure Python reference)."""
    # Imported on demand: py_ecc costs ~0.4 s and ~17 MB to import, which a node never needs.
    if name == "blst":
        from crypto.bls.blst_backend import BlstBackend

        return BlstBackend()
    if name == "py_ecc":
        from crypto.bls.py_ecc_backend import PyEccBackend

        return PyEccBackend()
    raise ValueError(f"unknown BLS backend {name!r} (expected 'blst' or 'py_ecc')")
