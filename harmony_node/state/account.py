"""The account record stored in the state trie: ``[nonce, balance, storageRoot, codeHash]``."""

from __future__ import annotations

from dataclasses import dataclass

from crypto.hash import EMPTY_KECCAK
from harmony_node.exceptions import DatabaseError, DecodingError
from harmony_node.types.rlp_codec import (
    decode_flat_list,
    decode_uint,
    encode_rlp_list,
    encode_rlp_string,
    encode_uint,
)

BLANK_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
"""Root of an empty Merkle-Patricia trie: keccak256(rlp(b''))."""


@dataclass(frozen=True, slots=True)
class Account:
    """One account as geth's state_object stores it."""

    nonce: int = 0
    balance: int = 0
    storage_root: bytes = BLANK_ROOT
    code_hash: bytes = EMPTY_KECCAK

    def is_empty(self) -> bool:
        """EIP-161 emptiness: no nonce, no balance, no code. Empty accounts are not kept in the trie."""
        return self.nonce == 0 and self.balance == 0 and self.code_hash == EMPTY_KECCAK


EMPTY_ACCOUNT = Account()


def encode_account(account: Account) -> bytes:
    """RLP-encode an account for the state trie."""
    return encode_rlp_list(
        encode_uint(account.nonce)
        + encode_uint(account.balance)
        + encode_rlp_string(account.storage_root)
        + encode_rlp_string(account.code_hash)
    )


def decode_account(data: bytes) -> Account:
    """Decode an account read from our own database; failure means the database is corrupt."""
    try:
        nonce, balance, storage_root, code_hash = decode_flat_list(data, 4)
        return Account(decode_uint(nonce), decode_uint(balance), storage_root, code_hash)
    except DecodingError as exc:
        raise DatabaseError(f"corrupt account record: {exc}") from exc
