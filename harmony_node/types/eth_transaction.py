"""Ethereum legacy transactions (``eth_sendRawTransaction``): ``[nonce, gasPrice, gas, to, value, data, v, r, s]``.

Reference §4.2: only untyped (legacy) transactions, EIP-155 signed with an Ethereum chain id, one
per shard (localnet shard s: 1666700000 + s). A node stores such a transaction as a Harmony
``Transaction`` with shard = to_shard = chain id − base and the original signature; that form
recovers the same sender (``Transaction.signing_hash`` uses the Ethereum fields for Ethereum chain
ids) and reports this transaction's hash as its ``eth_hash``.
"""

from __future__ import annotations

from functools import cached_property

import rlp

from crypto.hash import keccak256
from crypto.secp256k1 import decode_v
from harmony_node.exceptions import DecodingError, InvalidTransaction
from harmony_node.types.eip155 import compute_signature, compute_signing_hash, recover_signer
from harmony_node.types.rlp_codec import Encodable, decode_flat_list
from harmony_node.types.sedes import binary, decode_field, recipient, uint, uint64
from harmony_node.types.transaction import MAX_SHARD_ID, Transaction

LOCALNET_ETH_CHAIN_ID_BASE = 1_666_700_000
"""Ethereum chain id of localnet shard 0; shard s uses base + s."""
MAX_RAW_SIZE = 128 * 1024
"""Refuse larger raw transactions before parsing them (geth's txMaxSize is 128 KiB)."""


class EthTransaction(rlp.Serializable):
    """A signed legacy Ethereum transaction as it came over ``eth_sendRawTransaction``."""

    fields = [
        ("nonce", uint64),
        ("gas_price", uint),
        ("gas_limit", uint64),
        ("to", recipient),
        ("value", uint),
        ("data", binary),
        ("v", uint),
        ("r", uint),
        ("s", uint),
    ]

    def encode(self) -> bytes:
        """The transaction's RLP bytes."""
        encoded: bytes = rlp.encode(self)
        return encoded

    @cached_property
    def hash(self) -> bytes:
        """The Ethereum transaction hash (keccak256 of the RLP)."""
        return keccak256(self.encode())

    @property
    def chain_id(self) -> int | None:
        """The chain id the signature commits to; None for a pre-EIP-155 signature (v of 27/28)."""
        return decode_v(self.v)[1]

    def signing_hash(self, chain_id: int | None) -> bytes:
        """keccak256 of ``[nonce, gasPrice, gas, to, value, data]`` (+ ``chainId, 0, 0`` under EIP-155)."""
        fields: list[Encodable] = [self.nonce, self.gas_price, self.gas_limit, self.to, self.value, self.data]
        return compute_signing_hash(fields, chain_id)

    @cached_property
    def sender(self) -> bytes:
        """The 20-byte address that signed this transaction (raises InvalidSignature)."""
        return recover_signer(self)

    def recover_sender(self) -> bytes:
        """The signer's address; raises InvalidSignature. Computed once per object."""
        return self.sender


def sign_eth_transaction(
    *, nonce: int, gas_price: int, gas_limit: int, to: bytes, value: int, data: bytes, private_key: bytes, chain_id: int
) -> EthTransaction:
    """Build and sign a legacy Ethereum transaction (EIP-155 over ``chain_id``)."""
    unsigned = EthTransaction(nonce, gas_price, gas_limit, to, value, data, 0, 0, 0)
    v, r, s = compute_signature(unsigned, private_key, chain_id)
    return unsigned.copy(v=v, r=r, s=s)


_FIELD_SEDES = tuple(zip(EthTransaction._meta.field_names, EthTransaction._meta.sedes))


def decode_eth_transaction(raw: bytes) -> EthTransaction:
    """Decode a legacy Ethereum transaction; DecodingError for anything else."""
    if len(raw) > MAX_RAW_SIZE:
        raise DecodingError(f"transaction is larger than {MAX_RAW_SIZE} bytes")
    if raw and raw[0] < 0x80:  # EIP-2718: a type byte 0x00-0x7f, then the typed payload
        raise DecodingError(
            "only legacy (untyped) Ethereum transactions are accepted; "
            f"this is a typed transaction (type {raw[0]}) such as EIP-1559 or EIP-2930"
        )
    if raw and raw[0] < 0xC0:
        raise DecodingError("only legacy (untyped) Ethereum transactions are accepted; this is not an RLP list")
    items = decode_flat_list(raw, len(_FIELD_SEDES))
    tx = EthTransaction(*[decode_field(sedes, item, name) for (name, sedes), item in zip(_FIELD_SEDES, items)])
    tx._cached_rlp = raw  # rlp's encoding cache: the hash is taken over exactly the received bytes
    return tx


def encode_eth_transaction(tx: EthTransaction) -> bytes:
    """The transaction's RLP bytes (what ``eth_sendRawTransaction`` carries)."""
    return tx.encode()


def to_harmony(tx: EthTransaction, *, eth_chain_id_base: int = LOCALNET_ETH_CHAIN_ID_BASE) -> Transaction:
    """The Harmony form a node stores (Go ``ConvertToHmy``): same fields and signature, shard from the chain id.

    Raises InvalidTransaction if the chain id is not ``eth_chain_id_base + shard`` (mainnet's base is
    1666600000, localnet's and testnet's 1666700000).
    """
    chain_id = tx.chain_id
    if chain_id is None or not 0 <= chain_id - eth_chain_id_base <= MAX_SHARD_ID:
        raise InvalidTransaction(
            f"chain id {chain_id} is not an Ethereum chain id of this network (base {eth_chain_id_base})"
        )
    shard = chain_id - eth_chain_id_base
    return Transaction(tx.nonce, tx.gas_price, tx.gas_limit, shard, shard, tx.to, tx.value, tx.data, tx.v, tx.r, tx.s)
