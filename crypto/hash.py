"""Hash functions used by the protocol: keccak256 (Ethereum/Harmony) and sha256 (BLS-VRF)."""

from __future__ import annotations

import hashlib

from sha3 import keccak_256 as _keccak_256

# keccak is on every hot path (trie nodes, tx hashes, secure-trie keys, addresses). safe-pysha3's C
# object costs ~1.3 µs a call; pycryptodome's keccak.new costs ~5 µs, mostly object set-up.


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest (the pre-standard SHA-3 padding Ethereum uses)."""
    return _keccak_256(data).digest()


def sha256(data: bytes) -> bytes:
    """Return the 32-byte SHA-256 digest."""
    return hashlib.sha256(data).digest()


EMPTY_KECCAK = keccak256(b"")
"""keccak256 of the empty string: the code hash of an account without code."""
