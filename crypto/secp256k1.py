"""secp256k1 accounts: signing with low s, sender recovery, addresses, and EIP-155 ``v`` values.

Signatures are ``(recovery_id, r, s)``. Like Ethereum since Homestead, a signature with
``s > n/2`` is rejected: each signature has exactly one valid form, so a transaction's hash cannot
be changed by flipping ``s`` (malleability). coincurve signs deterministically (RFC 6979) and
always produces low ``s``.
"""

from __future__ import annotations

from functools import lru_cache

from coincurve import PrivateKey, PublicKey

from crypto.hash import keccak256
from harmony_node.exceptions import InvalidKey, InvalidSignature

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Order of the secp256k1 group."""
SECP256K1_HALF_N = SECP256K1_N // 2

EIP155_V_OFFSET = 35
"""v = recovery_id + 35 + 2 * chain_id for EIP-155 signatures."""
LEGACY_V_OFFSET = 27
"""v = recovery_id + 27 for signatures that commit to no chain id (pre-EIP-155)."""


def validate_private_key(private_key: bytes) -> None:
    """Raise InvalidKey unless ``private_key`` is 32 bytes encoding an integer in [1, n-1]."""
    if len(private_key) != 32:
        raise InvalidKey(f"a secp256k1 private key is 32 bytes, got {len(private_key)}")
    if not 0 < int.from_bytes(private_key, "big") < SECP256K1_N:
        raise InvalidKey("secp256k1 private key is out of range")


# Building a coincurve PrivateKey validates the scalar and derives its public key (~40 µs here); a node or
# benchmark signs many transactions with a few keys, so keep the objects per key bytes.
@lru_cache(maxsize=4096)
def _load_private_key(private_key: bytes) -> PrivateKey:
    validate_private_key(private_key)
    return PrivateKey(private_key)


def compute_public_key(private_key: bytes) -> bytes:
    """The 64-byte uncompressed public key (x ‖ y) of ``private_key``."""
    return _load_private_key(private_key).public_key.format(compressed=False)[1:]


def compute_address_from_public_key(public_key: bytes) -> bytes:
    """The 20-byte account address: the last 20 bytes of keccak256 of the 64-byte public key."""
    if len(public_key) != 64:
        raise InvalidKey(f"an uncompressed public key is 64 bytes, got {len(public_key)}")
    return keccak256(public_key)[12:]


def compute_address(private_key: bytes) -> bytes:
    """The 20-byte account address of ``private_key``."""
    return compute_address_from_public_key(compute_public_key(private_key))


def sign_hash(message_hash: bytes, private_key: bytes) -> tuple[int, int, int]:
    """Sign a 32-byte hash; return ``(recovery_id, r, s)`` with low ``s``."""
    if len(message_hash) != 32:
        raise ValueError("sign_hash signs 32-byte hashes only")
    signature = _load_private_key(private_key).sign_recoverable(message_hash, hasher=None)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    return signature[64], r, s


def validate_signature_values(recovery_id: int, r: int, s: int) -> None:
    """Raise InvalidSignature unless r, s are in range, s is low and the recovery id is 0 or 1."""
    if recovery_id not in (0, 1):
        raise InvalidSignature(f"recovery id must be 0 or 1, got {recovery_id}")
    if not 0 < r < SECP256K1_N:
        raise InvalidSignature("signature r is out of range")
    if not 0 < s < SECP256K1_N:
        raise InvalidSignature("signature s is out of range")
    if s > SECP256K1_HALF_N:
        raise InvalidSignature("signature s is in the upper half of the curve order (high-s is not accepted)")


def recover_address(message_hash: bytes, recovery_id: int, r: int, s: int) -> bytes:
    """The address whose key made signature ``(recovery_id, r, s)`` over ``message_hash``."""
    validate_signature_values(recovery_id, r, s)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recovery_id])
    try:
        public_key = PublicKey.from_signature_and_message(signature, message_hash, hasher=None)
    except (ValueError, TypeError) as exc:  # coincurve: no point recovers from this signature
        raise InvalidSignature(f"signature does not recover a public key: {exc}") from exc
    return keccak256(public_key.format(compressed=False)[1:])[12:]


def compute_eip155_v(recovery_id: int, chain_id: int) -> int:
    """The ``v`` value of an EIP-155 signature for ``chain_id``."""
    return recovery_id + EIP155_V_OFFSET + 2 * chain_id


def decode_v(v: int) -> tuple[int, int | None]:
    """Split ``v`` into ``(recovery_id, chain_id)``; chain id is None for a pre-EIP-155 ``v`` of 27/28."""
    if v in (LEGACY_V_OFFSET, LEGACY_V_OFFSET + 1):
        return v - LEGACY_V_OFFSET, None
    if v < EIP155_V_OFFSET:
        raise InvalidSignature(f"invalid signature v value {v}")
    return (v - EIP155_V_OFFSET) % 2, (v - EIP155_V_OFFSET) // 2
