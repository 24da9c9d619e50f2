"""EIP-155 signing shared by every transaction kind: sign a kind's signing hash, recover its sender.

A kind provides ``signing_hash(chain_id)`` (the fields it commits to) and carries ``v, r, s``; ``v``
encodes the recovery id and the chain id (None for a pre-EIP-155 signature).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from crypto.hash import keccak256
from crypto.secp256k1 import compute_eip155_v, decode_v, recover_address, sign_hash
from harmony_node.types.rlp_codec import Encodable, encode_item


class EIP155Signable(Protocol):
    @property
    def v(self) -> int: ...

    @property
    def r(self) -> int: ...

    @property
    def s(self) -> int: ...

    def signing_hash(self, chain_id: int | None) -> bytes: ...



def compute_signing_hash(fields: Sequence[Encodable], chain_id: int | None) -> bytes:
    """keccak256 of the signed fields, followed by ``chain_id, 0, 0`` under EIP-155."""
    if chain_id is not None:
        fields = [*fields, chain_id, 0, 0]
    return keccak256(encode_item(fields))


def recover_signer(tx: EIP155Signable) -> bytes:
    """The 20-byte address that signed ``tx``; raises InvalidSignature."""
    recovery_id, chain_id = decode_v(tx.v)
    return recover_address(tx.signing_hash(chain_id), recovery_id, tx.r, tx.s)


def compute_signature(tx: EIP155Signable, private_key: bytes, chain_id: int) -> tuple[int, int, int]:
    """``(v, r, s)`` signing ``tx``'s fields for ``chain_id`` with ``private_key``."""
    recovery_id, r, s = sign_hash(tx.signing_hash(chain_id), private_key)
    return compute_eip155_v(recovery_id, chain_id), r, s
