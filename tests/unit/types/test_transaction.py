"""Plain Harmony transactions: live agreement with pyhmy, the signing hash, field limits, refusals, fuzzing.

The stored pyhmy vectors (tests/vectors/transactions) are checked in test_transaction_vectors.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhmy.signing import sign_transaction as pyhmy_sign_transaction

from crypto.hash import keccak256
from crypto.secp256k1 import SECP256K1_N, compute_eip155_v
from harmony_node.exceptions import DecodingError, InvalidSignature
from harmony_node.types.rlp_codec import encode_item, encode_rlp_list
from harmony_node.types.transaction import Transaction, decode_transaction, encode_transaction, sign_transaction

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
KEY_HEX = "0x" + KEY.hex()
SENDER = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
CHAIN_ID = 2


def _pyhmy(fields: dict[str, Any]) -> tuple[bytes, bytes]:
    signed = pyhmy_sign_transaction(fields, KEY_HEX)
    return bytes(signed.rawTransaction), bytes(signed.hash)


def _pyhmy_fields(nonce: int, gas_price: int, gas: int, shard: int, to_shard: int, to: bytes | None, value: int,
                  data: bytes) -> dict[str, Any]:
    return {"nonce": nonce, "gasPrice": gas_price, "gas": gas, "shardID": shard, "toShardID": to_shard,
            "to": None if to is None else "0x" + to.hex(), "value": value, "data": "0x" + data.hex()}


def _check_against_pyhmy(fields: dict[str, Any], chain_id: int | None) -> Transaction:
    """pyhmy signs; we decode, recover, hash and re-encode as it does, and sign the same bytes."""
    if chain_id is not None:  # without a chain id pyhmy makes a pre-EIP-155 signature (v = 27 or 28)
        fields = {**fields, "chainId": chain_id}
    raw, tx_hash = _pyhmy(fields)
    tx = decode_transaction(raw)
    assert (tx.nonce, tx.gas_price, tx.gas_limit, tx.shard_id, tx.to_shard_id, tx.value) == (
        fields["nonce"], fields["gasPrice"], fields["gas"], fields["shardID"], fields["toShardID"], fields["value"])
    assert tx.to == (b"" if fields["to"] is None else bytes.fromhex(fields["to"][2:]))
    assert tx.data == bytes.fromhex(fields["data"][2:])
    assert tx.chain_id == chain_id and not tx.is_eth_compatible
    assert tx.recover_sender() == SENDER
    assert tx.hash == tx_hash and tx.eth_hash == tx_hash and keccak256(raw) == tx_hash
    assert encode_transaction(tx) == raw
    assert tx.is_cross_shard == (fields["shardID"] != fields["toShardID"])
    if chain_id is not None:
        ours = sign_transaction(nonce=tx.nonce, gas_price=tx.gas_price, gas_limit=tx.gas_limit, shard_id=tx.shard_id,
                                to_shard_id=tx.to_shard_id, to=tx.to, value=tx.value, data=tx.data, private_key=KEY,
                                chain_id=chain_id)
        assert encode_transaction(ours) == raw  # RFC 6979 on both sides: same key and fields, same bytes
    return tx


@pytest.mark.parametrize(
    ("shard", "to_shard", "to", "data"),
    [(0, 0, b"\x11" * 20, b""), (0, 1, b"\x22" * 20, b""), (1, 0, b"\x33" * 20, b"\x00\xff"), (2, 2, None, b"\x60")],
    ids=["same-shard", "cross-shard 0->1", "cross-shard 1->0 with data", "contract creation"],
)
def test_pyhmy_transactions(shard: int, to_shard: int, to: bytes | None, data: bytes) -> None:
    tx = _check_against_pyhmy(_pyhmy_fields(5, 100 * 10**9, 21000, shard, to_shard, to, 10**18, data), CHAIN_ID)
    assert tx.is_cross_shard == (shard != to_shard)


@settings(max_examples=20)
@given(
    nonce=st.integers(0, 2**64 - 1),
    gas_price=st.integers(0, 2**128),
    gas=st.integers(21000, 2**64 - 1),
    shards=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    to=st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
    value=st.integers(0, 2**200),
    data=st.binary(max_size=80),
    chain_id=st.one_of(st.none(), st.integers(1, 4)),
)
def test_pyhmy_and_we_agree_on_random_fields(
    nonce: int, gas_price: int, gas: int, shards: tuple[int, int], to: bytes | None, value: int, data: bytes,
    chain_id: int | None,
) -> None:
    _check_against_pyhmy(_pyhmy_fields(nonce, gas_price, gas, shards[0], shards[1], to, value, data), chain_id)


def test_signing_hash_is_harmony_eip155_over_the_shard_fields() -> None:
    tx = sign_transaction(nonce=3, gas_price=10**11, gas_limit=21000, shard_id=1, to_shard_id=2, to=b"\x11" * 20,
                          value=7, data=b"\x01", private_key=KEY, chain_id=CHAIN_ID)
    harmony_fields = [3, 10**11, 21000, 1, 2, b"\x11" * 20, 7, b"\x01"]
    assert tx.signing_hash(CHAIN_ID) == keccak256(rlp.encode([*harmony_fields, CHAIN_ID, 0, 0]))
    assert tx.signing_hash(None) == keccak256(rlp.encode(harmony_fields))
    # An Ethereum chain id selects the Ethereum fields, as Harmony's EIP155Signer.Hash does.
    eth_fields = [3, 10**11, 21000, b"\x11" * 20, 7, b"\x01", 1_666_700_000, 0, 0]
    assert tx.signing_hash(1_666_700_000) == keccak256(rlp.encode(eth_fields))
    assert tx.hash == keccak256(rlp.encode([*harmony_fields, tx.v, tx.r, tx.s]))


def test_pyhmy_with_an_ethereum_chain_id_signs_fields_harmony_does_not_check() -> None:
    """Harmony's IsEthCompatible (chain id >= 1666600000) verifies such a signature over the Ethereum
    fields; pyhmy signs the Harmony fields, so the sender recovered (by Harmony and by us) is not the key's."""
    raw, tx_hash = _pyhmy({**_pyhmy_fields(0, 1, 21000, 0, 0, b"\x11" * 20, 1, b""), "chainId": 1_666_600_000})
    tx = decode_transaction(raw)
    assert tx.is_eth_compatible and tx.hash == tx_hash
    assert tx.sender != SENDER


def test_signature_for_another_chain_recovers_someone_else() -> None:
    tx = sign_transaction(nonce=1, gas_price=1, gas_limit=21000, shard_id=0, to_shard_id=0, to=b"\x11" * 20,
                          value=1, data=b"", private_key=KEY, chain_id=1)
    assert tx.sender == SENDER
    recovery_id = (tx.v - 35) % 2
    claimed = decode_transaction(encode_transaction(tx.copy(v=compute_eip155_v(recovery_id, CHAIN_ID))))
    assert claimed.chain_id == CHAIN_ID
    try:
        assert claimed.sender != SENDER
    except InvalidSignature:
        pass  # or no key recovers at all: either way the transaction is not the key holder's


@pytest.mark.parametrize("chain_id", [None, CHAIN_ID], ids=["pre-EIP-155", "EIP-155"])
def test_high_s_twin_is_rejected(chain_id: int | None) -> None:
    fields = _pyhmy_fields(0, 1, 21000, 0, 0, b"\x11" * 20, 1, b"")
    raw, _ = _pyhmy(fields if chain_id is None else {**fields, "chainId": chain_id})
    tx = decode_transaction(raw)
    assert tx.sender == SENDER
    flipped_v = tx.v + 1 if (tx.v - (27 if chain_id is None else 35)) % 2 == 0 else tx.v - 1
    twin = decode_transaction(encode_transaction(tx.copy(v=flipped_v, s=SECP256K1_N - tx.s)))
    with pytest.raises(InvalidSignature, match="high-s"):
        twin.recover_sender()


@pytest.mark.parametrize("v", [0, 29, 34], ids=["unsigned", "v=29", "v=34"])
def test_v_without_a_recovery_id_is_an_invalid_signature(v: int) -> None:
    tx = decode_transaction(encode_item([0, 1, 21000, 0, 0, b"\x11" * 20, 1, b"", v, 1, 1]))
    with pytest.raises(InvalidSignature):
        tx.recover_sender()


def _raw(**changes: Any) -> bytes:
    fields: dict[str, Any] = {"nonce": 0, "gas_price": 1, "gas": 21000, "shard": 0, "to_shard": 0,
                              "to": b"\x11" * 20, "value": 1, "data": b"", "v": 39, "r": 1, "s": 1}
    fields.update(changes)
    return encode_item(list(fields.values()))


GOOD = _raw()


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "input ended"),
        (_raw(to=b"\x11" * 19), "to: recipient must be 20 bytes or empty, got 19"),
        (_raw(to=b"\x11" * 21), "to: recipient must be 20 bytes or empty, got 21"),
        (_raw(shard=2**32), "shard_id: 4294967296 does not fit in uint32"),
        (_raw(to_shard=2**32), "to_shard_id: 4294967296 does not fit in uint32"),
        (_raw(nonce=2**64), "nonce: 18446744073709551616 does not fit in uint64"),
        (_raw(gas=2**64), "gas_limit: 18446744073709551616 does not fit in uint64"),
        (encode_item([0] * 10), "expected a list of 11 items, got 10"),
        (encode_item([0] * 12), "expected a list of 11 items, got 12"),
        (encode_item([0, 1, 21000, 0, 0, [b"\x11" * 20], 1, b"", 39, 1, 1]), "expected an RLP string"),
        (encode_item(b"\x11" * 20), "expected an RLP list"),
        (GOOD[:-1], "does not match the input size"),
        (GOOD + b"\x80", "does not match the input size"),
        (encode_rlp_list(b"\x81\x05" + GOOD[2:]), "single byte below 0x80"),
        (encode_rlp_list(b"\x82\x00\x05" + GOOD[2:]), "nonce: uint64 has leading zero bytes"),
        (bytes([0xF8, len(GOOD) - 1]) + GOOD[1:], "long length form for a short item"),
    ],
    ids=["empty", "19-byte to", "21-byte to", "shard 2^32", "to shard 2^32", "nonce 2^64", "gas 2^64", "10 items",
         "12 items", "nested list", "a string", "truncated", "trailing byte", "wrapped single byte", "leading zero",
         "long form for a short list"],
)
def test_malformed_transactions_are_decoding_errors(raw: bytes, match: str) -> None:
    with pytest.raises(DecodingError, match=match):
        decode_transaction(raw)


def test_limits_themselves_decode() -> None:
    raw = _raw(nonce=2**64 - 1, gas=2**64 - 1, shard=2**32 - 1, to_shard=2**32 - 1, to=b"")
    tx = decode_transaction(raw)
    assert (tx.nonce, tx.gas_limit, tx.shard_id, tx.to_shard_id, tx.to) == (2**64 - 1, 2**64 - 1, 2**32 - 1,
                                                                           2**32 - 1, b"")
    assert encode_transaction(tx) == raw


@pytest.mark.parametrize("field", ["shard_id", "to_shard_id", "nonce", "gas_limit", "to"])
def test_out_of_range_fields_cannot_be_encoded(field: str) -> None:
    bad = {"shard_id": 2**32, "to_shard_id": 2**32, "nonce": 2**64, "gas_limit": 2**64, "to": b"\x11" * 5}[field]
    tx = decode_transaction(GOOD).copy(**{field: bad})
    with pytest.raises(rlp.SerializationError):
        encode_transaction(tx)


# ---- fuzzing: outside bytes raise DecodingError and nothing else; what decodes re-encodes exactly ----

def _decodes_canonically_or_is_refused(raw: bytes) -> None:
    try:
        tx = decode_transaction(raw)
    except DecodingError:
        return
    assert encode_transaction(tx) == raw and tx.hash == keccak256(raw)


signed_transactions = st.builds(
    lambda nonce, price, gas, shards, to, value, data: encode_transaction(sign_transaction(
        nonce=nonce, gas_price=price, gas_limit=gas, shard_id=shards[0], to_shard_id=shards[1], to=to, value=value,
        data=data, private_key=KEY, chain_id=CHAIN_ID)),
    st.integers(0, 2**64 - 1), st.integers(0, 2**80), st.integers(0, 2**64 - 1),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.sampled_from([b"", b"\x11" * 20]), st.integers(0, 2**80), st.binary(max_size=100),
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


rlp_leaves = st.sampled_from([b"", b"\x00", b"\x11" * 19, b"\x11" * 20, b"\x11" * 21]) | st.integers(0, 2**72)
rlp_trees = st.recursive(rlp_leaves, lambda children: st.lists(children, max_size=4), max_leaves=8)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    _decodes_canonically_or_is_refused(raw)


@settings(max_examples=300)
@given(mutations(signed_transactions))
def test_mutated_transactions(raw: bytes) -> None:
    _decodes_canonically_or_is_refused(raw)


@settings(max_examples=150)
@given(st.lists(rlp_trees, min_size=10, max_size=12))
def test_well_formed_rlp_of_other_shapes(items: list[Any]) -> None:
    """Lists of about the right length whose items are ints, short and long strings or nested lists."""
    _decodes_canonically_or_is_refused(rlp.encode(items))
