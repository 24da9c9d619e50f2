"""Ethereum legacy transactions: live agreement with eth-account, the Harmony form, refusals, fuzzing.

The stored eth-account vectors (tests/vectors/transactions) are checked in test_transaction_vectors.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.address import to_checksum_hex
from crypto.hash import keccak256
from crypto.secp256k1 import SECP256K1_N, compute_eip155_v, sign_hash
from harmony_node.exceptions import DecodingError, InvalidSignature, InvalidTransaction
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
MAINNET_BASE = 1_666_600_000


def _eth_account_raw(fields: dict[str, Any]) -> tuple[bytes, bytes]:
    signed = Account.sign_transaction(fields, KEY)
    return bytes(signed.rawTransaction), bytes(signed.hash)


def _legacy_fields(chain_id: int = BASE) -> dict[str, Any]:
    return {"nonce": 3, "gasPrice": 10**11, "gas": 21000, "to": "0x" + "44" * 20, "value": 10**18, "data": b"",
            "chainId": chain_id}


def _check_against_eth_account(fields: dict[str, Any], base: int = BASE) -> None:
    """eth-account signs; we decode, recover, hash, re-encode and sign as it does; the Harmony form agrees."""
    raw, eth_hash = _eth_account_raw(fields)
    tx = decode_eth_transaction(raw)
    to = bytes.fromhex(fields["to"][2:]) if "to" in fields else b""
    assert (tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value, tx.data) == (
        fields["nonce"], fields["gasPrice"], fields["gas"], to, fields["value"], fields["data"])
    assert tx.hash == eth_hash and tx.chain_id == fields["chainId"]
    assert tx.recover_sender() == SENDER
    assert encode_eth_transaction(tx) == raw
    ours = sign_eth_transaction(nonce=tx.nonce, gas_price=tx.gas_price, gas_limit=tx.gas_limit, to=tx.to,
                                value=tx.value, data=tx.data, private_key=KEY, chain_id=fields["chainId"])
    assert encode_eth_transaction(ours) == raw  # RFC 6979 on both sides: same bytes

    stored = to_harmony(tx, eth_chain_id_base=base)
    shard = fields["chainId"] - base
    assert stored.shard_id == stored.to_shard_id == shard and not stored.is_cross_shard
    assert (stored.nonce, stored.gas_price, stored.gas_limit, stored.to, stored.value, stored.data) == (
        tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value, tx.data)
    assert (stored.v, stored.r, stored.s) == (tx.v, tx.r, tx.s)
    assert stored.is_eth_compatible and stored.sender == SENDER and stored.eth_hash == eth_hash
    assert stored.hash != eth_hash  # the Harmony hash covers the shard fields too
    reloaded = decode_transaction(encode_transaction(stored))
    assert reloaded.sender == SENDER and reloaded.eth_hash == eth_hash and reloaded.hash == stored.hash


@pytest.mark.parametrize("chain_id", [BASE, BASE + 1], ids=["shard 0", "shard 1"])
def test_eth_account_legacy_transactions_on_localnet(chain_id: int) -> None:
    _check_against_eth_account(_legacy_fields(chain_id))


def test_contract_creation_and_mainnet_base() -> None:
    fields = {**_legacy_fields(MAINNET_BASE + 2), "data": b"\x60\x80\x60\x40"}
    del fields["to"]
    _check_against_eth_account(fields, base=MAINNET_BASE)


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
def test_eth_account_and_we_agree_on_random_fields(
    nonce: int, gas_price: int, gas: int, to: bytes, value: int, data: bytes, shard: int
) -> None:
    fields: dict[str, Any] = {"nonce": nonce, "gasPrice": gas_price, "gas": gas, "value": value, "data": data,
                              "chainId": BASE + shard}
    if to:
        fields["to"] = to_checksum_hex(to)
    _check_against_eth_account(fields)


def test_signing_hash_is_ethereum_eip155() -> None:
    tx = sign_eth_transaction(nonce=1, gas_price=2, gas_limit=21000, to=b"\x44" * 20, value=3, data=b"\x05",
                              private_key=KEY, chain_id=BASE)
    fields = [1, 2, 21000, b"\x44" * 20, 3, b"\x05"]
    assert tx.signing_hash(BASE) == keccak256(rlp.encode([*fields, BASE, 0, 0]))
    assert tx.signing_hash(None) == keccak256(rlp.encode(fields))
    assert tx.hash == keccak256(rlp.encode([*fields, tx.v, tx.r, tx.s]))


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


def test_a_string_is_not_a_transaction() -> None:
    with pytest.raises(DecodingError, match="only legacy .* not an RLP list"):
        decode_eth_transaction(encode_item(b"\x44" * 20))


def test_chain_id_outside_the_network_is_not_a_shard() -> None:
    tx = decode_eth_transaction(_eth_account_raw(_legacy_fields(BASE - 1))[0])
    assert tx.sender == SENDER
    with pytest.raises(InvalidTransaction, match="not an Ethereum chain id of this network"):
        to_harmony(tx)
    assert to_harmony(tx, eth_chain_id_base=BASE - 1).shard_id == 0
    with pytest.raises(InvalidTransaction, match="not an Ethereum chain id of this network"):
        to_harmony(tx, eth_chain_id_base=BASE - 1 - 2**32)  # shard 2^32 does not fit a uint32


def test_pre_eip155_transaction_recovers_but_is_not_stored() -> None:
    unsigned = EthTransaction(0, 1, 21000, b"\x44" * 20, 1, b"", 0, 0, 0)
    recovery_id, r, s = sign_hash(unsigned.signing_hash(None), KEY)
    tx = decode_eth_transaction(unsigned.copy(v=27 + recovery_id, r=r, s=s).encode())
    assert tx.chain_id is None and tx.sender == SENDER
    with pytest.raises(InvalidTransaction, match="chain id None"):
        to_harmony(tx)


def test_signature_for_another_shard_recovers_someone_else() -> None:
    tx = decode_eth_transaction(_eth_account_raw(_legacy_fields(BASE))[0])
    recovery_id = (tx.v - 35) % 2
    claimed = tx.copy(v=compute_eip155_v(recovery_id, BASE + 1))
    for moved in (claimed, to_harmony(claimed)):
        try:
            assert moved.recover_sender() != SENDER
        except InvalidSignature:
            pass  # or no key recovers at all: either way it is not the key holder's


def test_high_s_twin_is_rejected() -> None:
    tx = decode_eth_transaction(_eth_account_raw(_legacy_fields(BASE))[0])
    recovery_id = (tx.v - 35) % 2
    twin = decode_eth_transaction(tx.copy(v=compute_eip155_v(recovery_id ^ 1, BASE), s=SECP256K1_N - tx.s).encode())
    with pytest.raises(InvalidSignature, match="high-s"):
        twin.recover_sender()
    with pytest.raises(InvalidSignature, match="high-s"):
        to_harmony(twin).recover_sender()


def _items(**changes: Any) -> bytes:
    fields: dict[str, Any] = {"nonce": 0, "gas_price": 1, "gas": 21000, "to": b"\x44" * 20, "value": 1,
                              "data": b"", "v": compute_eip155_v(0, BASE), "r": 1, "s": 1}
    fields.update(changes)
    return encode_item(list(fields.values()))


GOOD = _items()


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "input ended"),
        (_items(to=b"\x44" * 19), "to: recipient must be 20 bytes or empty, got 19"),
        (_items(to=b"\x44" * 21), "to: recipient must be 20 bytes or empty, got 21"),
        (_items(nonce=2**64), "nonce: .* does not fit in uint64"),
        (_items(gas=2**64), "gas_limit: .* does not fit in uint64"),
        (encode_item([0, 1, 21000, b"\x44" * 20, 1, b"", 37, 1]), "expected a list of 9 items, got 8"),
        (encode_item([0, 1, 21000, [b"\x44" * 20], 1, b"", 37, 1, 1]), "expected an RLP string"),
        (GOOD[:-1], "does not match"),
        (GOOD + b"\x80", "does not match"),
        (encode_rlp_list(b"\x82\x00\x01" + GOOD[2:]), "nonce: uint64 has leading zero bytes"),
        (_items(data=b"\x00" * MAX_RAW_SIZE), "larger than"),
    ],
    ids=["empty", "19-byte to", "21-byte to", "nonce 2^64", "gas 2^64", "8 items", "nested list", "truncated",
         "trailing byte", "leading zero", "oversized"],
)
def test_malformed_raw_transactions_are_decoding_errors(raw: bytes, match: str) -> None:
    with pytest.raises(DecodingError, match=match):
        decode_eth_transaction(raw)


def test_leading_zero_in_value_is_not_canonical() -> None:
    items = [encode_item(item) for item in (0, 1, 21000, b"\x44" * 20, 1, b"", compute_eip155_v(0, BASE), 1, 1)]
    assert decode_eth_transaction(encode_rlp_list(b"".join(items))).value == 1
    items[4] = b"\x82\x00\x01"  # the value 1 written as two bytes
    with pytest.raises(DecodingError, match="value: integer has leading zero bytes"):
        decode_eth_transaction(encode_rlp_list(b"".join(items)))


# ---- fuzzing: outside bytes raise DecodingError and nothing else; what decodes re-encodes exactly ----

def _decodes_canonically_or_is_refused(raw: bytes) -> None:
    try:
        tx = decode_eth_transaction(raw)
    except DecodingError:
        return
    assert encode_eth_transaction(tx) == raw and tx.hash == keccak256(raw)


signed_transactions = st.builds(
    lambda nonce, price, gas, to, value, data, shard: encode_eth_transaction(sign_eth_transaction(
        nonce=nonce, gas_price=price, gas_limit=gas, to=to, value=value, data=data, private_key=KEY,
        chain_id=BASE + shard)),
    st.integers(0, 2**64 - 1), st.integers(0, 2**80), st.integers(0, 2**64 - 1),
    st.sampled_from([b"", b"\x44" * 20]), st.integers(0, 2**80), st.binary(max_size=100), st.integers(0, 3),
)


@st.composite
def mutations(draw: st.DrawFn, originals: st.SearchStrategy[bytes]) -> bytes:
    raw = draw(originals)
    position = draw(st.integers(0, len(raw) - 1))
    byte = bytes([draw(st.integers(0, 255))])
    kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    if kind == "replace":
        return raw[:position] + byte + raw[position + 1 :]
    if kind == "insert":
        return raw[:position] + byte + raw[position:]
    if kind == "delete":
        return raw[:position] + raw[position + 1 :]
    return raw[:position]


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    _decodes_canonically_or_is_refused(raw)


@settings(max_examples=300)
@given(mutations(signed_transactions))
def test_mutated_transactions(raw: bytes) -> None:
    _decodes_canonically_or_is_refused(raw)
