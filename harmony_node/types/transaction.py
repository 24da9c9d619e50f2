"""Harmony's plain transaction: ``[nonce, gasPrice, gas, shardID, toShardID, to, value, data, v, r, s]``.

Reference §4.1 and §4.2 (``core/types/transaction.go``, ``transaction_signing.go``):
- the hash is keccak256 of this RLP, whatever kind of signature the transaction carries;
- a Harmony signature (EIP-155 over Harmony's chain id) signs
  ``[nonce, gasPrice, gas, shardID, toShardID, to, value, data, chainID, 0, 0]``;
- an Ethereum transaction received over ``eth_sendRawTransaction`` is stored in this form too, with
  its original ``v, r, s``. Its chain id (from ``v``) is Ethereum-compatible (>= 1666600000), and
  then the signature covers the Ethereum fields ``[nonce, gasPrice, gas, to, value, data, chainID,
  0, 0]`` and the transaction is known to Ethereum clients by ``eth_hash``.
"""

from __future__ import annotations

from functools import cached_property

import rlp

from crypto.hash import keccak256
from crypto.secp256k1 import decode_v
from harmony_node.types.eip155 import compute_signature, compute_signing_hash, recover_signer
from harmony_node.types.rlp_codec import Encodable, decode_flat_list, encode_item
from harmony_node.types.sedes import binary, decode_field, recipient, uint, uint32, uint64

ETH_COMPATIBLE_CHAIN_ID_MIN = 1_666_600_000
"""Chain ids at or above this are Ethereum chain ids (Harmony's ``IsEthCompatible``)."""
MAX_SHARD_ID = 2**32 - 1
"""Shard ids are Go ``uint32``."""


def is_eth_compatible_chain_id(chain_id: int | None) -> bool:
    """Whether ``chain_id`` marks an Ethereum-style signature."""
    return chain_id is not None and chain_id >= ETH_COMPATIBLE_CHAIN_ID_MIN


class Transaction(rlp.Serializable):
    """A plain (same-shard or cross-shard) Harmony transaction."""

    fields = [
        ("nonce", uint64),
        ("gas_price", uint),
        ("gas_limit", uint64),
        ("shard_id", uint32),
        ("to_shard_id", uint32),
        ("to", recipient),
        ("value", uint),
        ("data", binary),
        ("v", uint),
        ("r", uint),
        ("s", uint),
    ]

    @cached_property
    def hash(self) -> bytes:
        """keccak256 of the transaction's RLP (Harmony's ``Hash()``)."""
        return keccak256(rlp.encode(self))

    @property
    def chain_id(self) -> int | None:
        """The chain id the signature commits to; None for a pre-EIP-155 signature."""
        return decode_v(self.v)[1]

    @property
    def is_eth_compatible(self) -> bool:
        """Whether this is a converted Ethereum transaction (signed with an Ethereum chain id)."""
        return is_eth_compatible_chain_id(self.chain_id)

    @property
    def is_cross_shard(self) -> bool:
        """Whether the value is credited on another shard (through a cross-shard receipt)."""
        return self.shard_id != self.to_shard_id

    def signing_hash(self, chain_id: int | None) -> bytes:
        """The hash a signature for ``chain_id`` covers (None: a pre-EIP-155 Harmony signature).

        As Harmony's ``EIP155Signer.Hash``: an Ethereum chain id selects the Ethereum fields (no shard
        ids), so a converted Ethereum transaction verifies against what its wallet signed.
        """
        if is_eth_compatible_chain_id(chain_id):
            fields: list[Encodable] = [self.nonce, self.gas_price, self.gas_limit, self.to, self.value, self.data]
        else:
            fields = [
                self.nonce, self.gas_price, self.gas_limit, self.shard_id, self.to_shard_id,
                self.to, self.value, self.data,
            ]
        return compute_signing_hash(fields, chain_id)

    @cached_property
    def sender(self) -> bytes:
        """The 20-byte address that signed this transaction (raises InvalidSignature)."""
        return recover_signer(self)

    def recover_sender(self) -> bytes:
        """The signer's address; raises InvalidSignature. Computed once per object."""
        return self.sender

    @cached_property
    def eth_hash(self) -> bytes:
        """The hash an Ethereum client knows this transaction by (Harmony's ``HashByType``).

        For a Harmony-signed transaction this is the ordinary hash.
        """
        if not self.is_eth_compatible:
            return self.hash
        return keccak256(
            encode_item([self.nonce, self.gas_price, self.gas_limit, self.to, self.value, self.data, self.v, self.r, self.s])
        )


def sign_transaction(
    *,
    nonce: int,
    gas_price: int,
    gas_limit: int,
    shard_id: int,
    to_shard_id: int,
    to: bytes,
    value: int,
    data: bytes,
    private_key: bytes,
    chain_id: int,
) -> Transaction:
    """Build and sign a transaction (EIP-155 over ``chain_id``)."""
    unsigned = Transaction(nonce, gas_price, gas_limit, shard_id, to_shard_id, to, value, data, 0, 0, 0)
    v, r, s = compute_signature(unsigned, private_key, chain_id)
    return unsigned.copy(v=v, r=r, s=s)


_FIELD_SEDES = tuple(zip(Transaction._meta.field_names, Transaction._meta.sedes))


def decode_transaction(raw: bytes) -> Transaction:
    """Decode a transaction from its RLP; anything malformed raises DecodingError.

    Only the canonical encoding is accepted, so ``tx.hash`` (keccak of these bytes) is the hash any
    other node computes for the same transaction.
    """
    items = decode_flat_list(raw, len(_FIELD_SEDES))
    tx = Transaction(*[decode_field(sedes, item, name) for (name, sedes), item in zip(_FIELD_SEDES, items)])
    # rlp's own encoding cache: re-encoding (block bodies, DeriveSha, the hash) reuses these bytes.
    tx._cached_rlp = raw
    return tx


def encode_transaction(tx: Transaction) -> bytes:
    """The transaction's RLP bytes (what ``hmy_sendRawTransaction`` carries)."""
    encoded: bytes = rlp.encode(tx)
    return encoded
