"""Ethereum legacy transactions: live agreement with eth-account, the Harmony form, and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.address import to_checksum_hex
from crypto.secp256k1 import compute_eip155_v, sign_hash
from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.types.eth_transaction import (
    MAX_RAW_SIZE,
    EthTransaction,
    decode_eth_transaction,
    encode_eth_transaction,
    sign_eth_transaction,
    to_harmony,
)
from harmony_node.types.rlp_codec import encode_item, encode_rlp_list
from harmony_node.types.transaction import decode_transaction, encode_transaction

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
SENDER = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
BASE = 1_666_700_000


def _eth_account_raw(fields: dict[str, Any]) -> tuple[bytes, bytes]:
    signed = Account.sign_transaction(fields, KEY)
    return bytes(signed.rawTransaction), bytes(signed.hash)


def _legacy_fields(shard: int = 0) -> dict[str, Any]:
    return {"nonce": 3, "gasPrice": 10**11, "gas": 21000, "to": "0x" + "44" * 20, "value": 10**18, "data": b"",
            "chainId": BASE + shard}


@settings(max_examples=20)
@given(
    nonce=st.integers(0, 2**64 - 1),
    gas_price=st.integers(0, 2**128),
    gas=st.integers(21000, 2**63),
    to=st.one_of(st.just(b""), st.binary(min_size=20, max_size=20)),
    value=st.integers(0, 2**200),
    data=st.binary(max_size=80),
    shard=st.integers(0, 3),
)
def test_eth_account_and_we_agree(
    nonce: int, gas_price: int, gas: int, to: bytes, value: int, data: bytes, shard: int
) -> None:
    fields: dict[str, Any] = {"nonce": nonce, "gasPrice": gas_price, "gas": gas, "value": value, "data": data,
                              "chainId": BASE + shard}
    if to:
        fields["to"] = to_checksum_hex(to)
    raw, eth_hash = _eth_account_raw(fields)
    tx = decode_eth_transaction(raw)
    assert (tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value, tx.data) == (nonce, gas_price, gas, to, value, data)
    assert tx.hash == eth_hash and tx.chain_id == BASE + shard
    assert tx.recover_sender() == SENDER
    assert encode_eth_transaction(tx) == raw
    ours = sign_eth_transaction(nonce=nonce, gas_price=gas_price, gas_limit=gas, to=to, value=value, data=data,
                                private_key=KEY, chain_id=BASE + shard)
    assert encode_eth_transaction(ours) == raw  # RFC 6979 on both sides: same bytes

    stored = to_harmony(tx)
    assert stored.shard_id == stored.to_shard_id == shard
    assert (stored.v, stored.r, stored.s) == (tx.v, tx.r, tx.s)
    assert stored.sender == SENDER and stored.eth_hash == eth_hash
    assert stored.hash != eth_hash  # the Harmony hash covers the shard fields too
    reloaded = decode_transaction(encode_transaction(stored))
    assert reloaded.sender == SENDER and reloaded.eth_hash == eth_hash


@pytest.mark.parametrize(
    "fields",
    [
        {"type": 2, "chainId": BASE, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1, "gas": 21000, "nonce": 0,
         "to": "0x" + "44" * 20, "value": 1, "data": b""},
        {"type": 1, "chainId": BASE, "gasPrice": 10**11, "gas": 21000, "nonce": 0, "to": "0x" + "44" * 20,
         "value": 1, "data": b"", "accessList": []},
    ],
    ids=["EIP-1559", "EIP-2930"],
)
def test_typed_transactions_are_refused_with_a_clear_message(fields: dict[str, Any]) -> None:
    raw, _ = _eth_account_raw(fields)
    with pytest.raises(DecodingError, match=rf"only legacy .*\(type {fields['type']}\)"):
        decode_eth_transaction(raw)


def test_chain_id_below_the_base_is_not_a_shard() -> None:
    tx = decode_eth_transaction(_eth_account_raw({**_legacy_fields(), "chainId": BASE - 1})[0])
    assert tx.sender == SENDER
    with pytest.raises(ValidationError, match="not an Ethereum chain id of this network"):
        to_harmony(tx)
    assert to_harmony(tx, eth_chain_id_base=BASE - 1).shard_id == 0


def test_pre_eip155_transaction_recovers_but_is_not_stored() -> None:
    unsigned = EthTransaction(0, 1, 21000, b"\x44" * 20, 1, b"", 0, 0, 0)
    recovery_id, r, s = sign_hash(unsigned.signing_hash(None), KEY)
    tx = decode_eth_transaction(EthTransaction(0, 1, 21000, b"\x44" * 20, 1, b"", 27 + recovery_id, r, s).encode())
    assert tx.chain_id is None and tx.sender == SENDER
    with pytest.raises(ValidationError, match="chain id None"):
        to_harmony(tx)


def test_signature_for_another_shard_recovers_someone_else() -> None:
    tx = decode_eth_transaction(_eth_account_raw(_legacy_fields(shard=0))[0])
    recovery_id = (tx.v - 35) % 2
    claimed = EthTransaction(tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value, tx.data,
                             compute_eip155_v(recovery_id, BASE + 1), tx.r, tx.s)
    assert claimed.recover_sender() != SENDER
    assert to_harmony(claimed).sender != SENDER


def _items(**changes: Any) -> bytes:
    fields: dict[str, Any] = {"nonce": 0, "gas_price": 1, "gas": 21000, "to": b"\x44" * 20, "value": 1,
                              "data": b"", "v": compute_eip155_v(0, BASE), "r": 1, "s": 1}
    fields.update(changes)
    return encode_item(list(fields.values()))


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "input ended"),
        (_items(to=b"\x44" * 19), "recipient must be 20 bytes or empty"),
        (_items(to=b"\x44" * 21), "recipient must be 20 bytes or empty"),
        (_items(nonce=2**64), "64 bits"),
        (_items(gas=2**64), "64 bits"),
        (encode_item([0, 1, 21000, b"\x44" * 20, 1, b"", 37, 1]), "expected a list of 9 items, got 8"),
        (encode_item([0, 1, 21000, [b"\x44" * 20], 1, b"", 37, 1, 1]), "expected an RLP string"),
        (_items()[:-1], "does not match"),
        (_items() + b"\x80", "does not match"),
        (_items(data=b"\x00" * MAX_RAW_SIZE), "larger than"),
    ],
    ids=["empty", "19-byte to", "21-byte to", "nonce 2^64", "gas 2^64", "8 items", "nested list", "truncated",
         "trailing byte", "oversized"],
)
def test_malformed_raw_transactions_are_decoding_errors(raw: bytes, match: str) -> None:
    with pytest.raises(DecodingError, match=match):
        decode_eth_transaction(raw)


def test_leading_zero_integer_is_not_canonical() -> None:
    items = [encode_item(item) for item in (0, 1, 21000, b"\x44" * 20, 1, b"", compute_eip155_v(0, BASE), 1, 1)]
    assert decode_eth_transaction(encode_rlp_list(b"".join(items))).value == 1
    items[4] = b"\x82\x00\x01"  # the value 1 written as two bytes
    with pytest.raises(DecodingError, match="value has leading zero bytes"):
        decode_eth_transaction(encode_rlp_list(b"".join(items)))
