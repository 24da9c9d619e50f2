"""The one exception hierarchy of harmony-node.

Every failure the code expects (bad input from a peer, a user or a file) is a ``HarmonyError``.
Anything else escaping a function is a bug. Library errors (``rlp.DecodingError``, ``ValueError``
from a curve library, ``json.JSONDecodeError``) are translated to these at the edge where outside
bytes come in, so callers only ever catch our types.

This module imports nothing, so every package, ``crypto`` included, may import it.
"""

from __future__ import annotations


class HarmonyError(Exception):
    """Root of every error harmony-node raises on purpose."""


class ValidationError(HarmonyError):
    """Input broke a protocol rule; it was rejected and nothing changed."""


class DecodingError(ValidationError):
    """Bytes from outside did not decode into the expected wire type (malformed RLP, bad lengths)."""


class InvalidSignature(ValidationError):
    """A signature is malformed, non-canonical (high s) or does not verify."""


class InvalidAddress(ValidationError):
    """An address string is malformed or its bech32 checksum is wrong."""


class InvalidKey(ValidationError):
    """A key (secp256k1 private key, BLS secret or public key) is malformed or not allowed."""


class InvalidTransaction(ValidationError):
    """A transaction was rejected; ``reason`` says why in a few words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidBlock(ValidationError):
    """A block was rejected on import; ``reason`` names the broken rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConflictingVote(HarmonyError):
    """Signing this consensus vote would contradict one this node already signed (safety record)."""


class KeystoreError(HarmonyError):
    """A key file could not be read or written."""


class WrongPassphrase(KeystoreError):
    """The passphrase does not decrypt the key file (MAC or tag mismatch)."""


class NotFound(HarmonyError):
    """A requested object (block, transaction, account) is not in the database."""


class DatabaseError(HarmonyError):
    """The key-value store failed or holds data that does not decode (corruption)."""
