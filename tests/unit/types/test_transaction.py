"""Plain Harmony transactions: live agreement with pyhmy over random fields, field limits, signatures.

The fixed pyhmy vectors (tests/vectors/transactions) are checked in test_transaction_vectors.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhmy.signing import sign_transaction as pyhmy_sign_transaction

from crypto.secp256k1 import SECP256K1_N, compute_eip155_v
from harmony_node.exceptions import DecodingError, InvalidSignature
from harmony_node.types.rlp_codec import encode_item
from harmony_node.types.transaction import decode_transaction, encode_transaction, sign_transaction

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
KEY_HEX = "0x" + KEY.hex()
SENDER = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")


def _pyhmy(fields: dict[str, Any]) -> tuple[bytes, bytes]:
    signed = pyhmy_sign_transaction(fields, KEY_HEX)
    return bytes(signed.rawTransaction), bytes(signed.hash)


@settings(max_examples=20)
@given(
    nonce=st.integers(0, 2**64 - 1),
    gas_price=st.integers(0, 2**128),
    gas=st.integers(21000, 2**63),
    shards=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    to=st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
    value=st.integers(0, 2**200),
    data=st.binary(max_size=80),
    chain_id=st.one_of(st.none(), st.integers(1, 4)),
)
def test_pyhmy_and_we_agree(
    nonce: int, gas_price: int, gas: int, shards: tuple[int, int], to: bytes | None, value: int, data: bytes,
    chain_id: int | None,
) -> None:
    fields: dict[str, Any] = {"nonce": nonce, "gasPrice": gas_price, "gas": gas, "shardID": shards[0],
                              "toShardID": shards[1], "to": None if to is None else "0x" + to.hex(),
                              "value": value, "data": "0x" + data.hex()}
    if chain_id is not None:  # without one pyhmy makes a pre-EIP-155 signature (v = 27 or 28)
        fields["chainId"] = chain_id
    raw, tx_hash = _pyhmy(fields)
    tx = decode_transaction(raw)
    assert (tx.nonce, tx.gas_price, tx.gas_limit, tx.shard_id, tx.to_shard_id, tx.to, tx.value, tx.data) == (
        nonce, gas_price, gas, shards[0], shards[1], to or b"", value, data,
    )
    assert tx.chain_id == chain_id and not tx.is_eth_compatible
    assert tx.recover_sender() == SENDER and tx.hash == tx_hash and tx.eth_hash == tx_hash
    assert encode_transaction(tx) == raw
    assert tx.is_cross_shard == (shards[0] != shards[1])
    if chain_id is not None:
        ours = sign_transaction(nonce=nonce, gas_price=gas_price, gas_limit=gas, shard_id=shards[0],
                                to_shard_id=shards[1], to=to or b"", value=value, data=data, private_key=KEY,
                                chain_id=chain_id)
        assert encode_transaction(ours) == raw


def test_pyhmy_with_an_ethereum_chain_id_signs_fields_harmony_does_not_check() -> None:
    """Harmony's IsEthCompatible (chain id >= 1666600000) verifies such a signature over the Ethereum
    fields; pyhmy signs the Harmony fields, so the sender recovered (by Harmony and by us) is not the key's."""
    raw, tx_hash = _pyhmy({"nonce": 0, "gasPrice": 1, "gas": 21000, "shardID": 0, "toShardID": 0,
                           "to": "0x" + "11" * 20, "value": 1, "data": "0x", "chainId": 1_666_600_000})
    tx = decode_transaction(raw)
    assert tx.is_eth_compatible and tx.hash == tx_hash
    assert tx.sender != SENDER


def test_signature_for_another_chain_recovers_someone_else() -> None:
    tx = sign_transaction(nonce=1, gas_price=1, gas_limit=21000, shard_id=0, to_shard_id=0, to=b"\x11" * 20,
                          value=1, data=b"", private_key=KEY, chain_id=1)
    assert tx.sender == SENDER
    recovery_id = (tx.v - 35) % 2
    claimed = decode_transaction(encode_transaction(tx.copy(v=compute_eip155_v(recovery_id, 2))))
    assert claimed.chain_id == 2 and claimed.sender != SENDER


def test_high_s_twin_of_a_pre_eip155_signature_is_rejected() -> None:
    raw, _ = _pyhmy({"nonce": 0, "gasPrice": 1, "gas": 21000, "shardID": 0, "toShardID": 0,
                     "to": "0x" + "11" * 20, "value": 1, "data": "0x"})
    tx = decode_transaction(raw)
    assert tx.v in (27, 28) and tx.sender == SENDER
    twin = decode_transaction(encode_transaction(tx.copy(v=55 - tx.v, s=SECP256K1_N - tx.s)))
    with pytest.raises(InvalidSignature, match="high-s"):
        twin.recover_sender()


def _raw(**changes: Any) -> bytes:
    fields: dict[str, Any] = {"nonce": 0, "gas_price": 1, "gas": 21000, "shard": 0, "to_shard": 0,
                              "to": b"\x11" * 20, "value": 1, "data": b"", "v": 39, "r": 1, "s": 1}
    fields.update(changes)
    return encode_item(list(fields.values()))


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (_raw(to=b"\x11" * 19), "recipient must be 20 bytes or empty"),
        (_raw(shard=2**32), "shard id does not fit in 32 bits"),
        (_raw(to_shard=2**32), "shard id does not fit in 32 bits"),
        (_raw(nonce=2**64), "64 bits"),
        (_raw(gas=2**64), "64 bits"),
        (encode_item([0] * 10), "expected a list of 11 items, got 10"),
        (encode_item([0] * 12), "expected a list of 11 items, got 12"),
        (encode_item([0, 1, 21000, 0, 0, [b"\x11" * 20], 1, b"", 39, 1, 1]), "expected an RLP string"),
        (encode_item(b"\x11" * 20), "expected an RLP list"),
    ],
    ids=["19-byte to", "shard 2^32", "to shard 2^32", "nonce 2^64", "gas 2^64", "10 items", "12 items",
         "nested list", "a string"],
)
def test_out_of_range_fields_are_decoding_errors(raw: bytes, match: str) -> None:
    with pytest.raises(DecodingError, match=match):
        decode_transaction(raw)


def test_limits_themselves_decode() -> None:
    tx = decode_transaction(_raw(nonce=2**64 - 1, gas=2**64 - 1, shard=2**32 - 1, to=b""))
    assert (tx.nonce, tx.gas_limit, tx.shard_id, tx.to) == (2**64 - 1, 2**64 - 1, 2**32 - 1, b"")
