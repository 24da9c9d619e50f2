"""Transactions made by outside code (pyhmy, eth-account) decode, recover, hash and re-encode as theirs do."""

from __future__ import annotations

from contextlib import suppress
import importlib.util
import json
from pathlib import Path

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.secp256k1 import SECP256K1_N
from harmony_node.exceptions import DecodingError, InvalidSignature, ValidationError
from harmony_node.types.eth_transaction import decode_eth_transaction, sign_eth_transaction, to_harmony
from harmony_node.types.staking_transaction import (
    CompoundRewards,
    Directive,
    EditValidator,
    decode_staking_transaction,
    encode_staking_transaction,
    sign_staking_transaction,
)
from harmony_node.types.transaction import decode_transaction, encode_transaction, sign_transaction

VECTORS_FILE = Path(__file__).resolve().parents[2] / "vectors" / "transactions" / "transactions.json"
VECTORS = json.loads(VECTORS_FILE.read_text())
KEY = bytes.fromhex(VECTORS["key"][2:])
SENDER = bytes.fromhex(VECTORS["sender"][2:])


def _raw(entry: dict[str, str]) -> bytes:
    return bytes.fromhex(entry["raw"].removeprefix("0x"))


def _hash(entry: dict[str, str]) -> bytes:
    return bytes.fromhex(entry["hash"].removeprefix("0x"))


@pytest.mark.parametrize("name", sorted(VECTORS["plain"]))
def test_pyhmy_plain_transactions(name: str) -> None:
    entry = VECTORS["plain"][name]
    tx = decode_transaction(_raw(entry))
    assert tx.sender == SENDER
    assert tx.hash == _hash(entry)
    assert encode_transaction(tx) == _raw(entry)
    assert tx.chain_id == 2 and not tx.is_eth_compatible
    assert tx.is_cross_shard == (name == "cross-shard")
    ours = sign_transaction(
        nonce=tx.nonce, gas_price=tx.gas_price, gas_limit=tx.gas_limit, shard_id=tx.shard_id,
        to_shard_id=tx.to_shard_id, to=tx.to, value=tx.value, data=tx.data, private_key=KEY, chain_id=2,
    )
    assert encode_transaction(ours) == _raw(entry)  # RFC 6979: same key + fields => same bytes


@pytest.mark.parametrize("name", sorted(VECTORS["staking"]))
def test_pyhmy_staking_transactions(name: str) -> None:
    entry = VECTORS["staking"][name]
    tx = decode_staking_transaction(_raw(entry))
    assert tx.sender == SENDER
    assert tx.hash == _hash(entry)
    assert encode_staking_transaction(tx) == _raw(entry)
    assert tx.directive == {"create-validator": 0, "edit-validator": 1, "delegate": 2, "undelegate": 3, "collect-rewards": 4}[name]
    ours = sign_staking_transaction(
        tx.stake_message, nonce=tx.nonce, gas_price=tx.gas_price, gas_limit=tx.gas_limit, private_key=KEY, chain_id=2
    )
    assert encode_staking_transaction(ours) == _raw(entry)


@pytest.mark.parametrize("name", sorted(VECTORS["eth"]))
def test_eth_account_transactions(name: str) -> None:
    entry = VECTORS["eth"][name]
    tx = decode_eth_transaction(_raw(entry))
    assert tx.sender == SENDER and tx.hash == _hash(entry) and tx.encode() == _raw(entry)
    stored = to_harmony(tx)
    assert stored.shard_id == stored.to_shard_id == tx.chain_id - 1_666_700_000  # type: ignore[operator]
    assert stored.sender == SENDER and stored.eth_hash == tx.hash and stored.is_eth_compatible
    assert decode_transaction(encode_transaction(stored)).sender == SENDER
    ours = sign_eth_transaction(
        nonce=tx.nonce, gas_price=tx.gas_price, gas_limit=tx.gas_limit, to=tx.to, value=tx.value, data=tx.data,
        private_key=KEY, chain_id=tx.chain_id,  # type: ignore[arg-type]
    )
    assert ours.encode() == _raw(entry)


def test_live_libraries_agree_with_stored_vectors() -> None:
    """The vectors are still what today's pyhmy and eth-account produce."""
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS_FILE.with_name("make_vectors.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == VECTORS


def test_high_s_twin_is_rejected() -> None:
    tx = decode_transaction(_raw(VECTORS["plain"]["same-shard"]))
    recovery_id = (tx.v - 35) % 2
    twin = tx.copy(s=SECP256K1_N - tx.s, v=tx.v + (1 if recovery_id == 0 else -1))
    with pytest.raises(InvalidSignature, match="high-s"):
        decode_transaction(encode_transaction(twin)).sender


def test_wrong_chain_id_recovers_someone_else() -> None:
    tx = decode_transaction(_raw(VECTORS["plain"]["same-shard"]))
    moved = tx.copy(v=tx.v + 2)  # the same signature claimed for chain id 3
    try:
        assert decode_transaction(encode_transaction(moved)).sender != SENDER
    except InvalidSignature:
        pass  # or no key recovers at all: either way it is not the sender


def test_typed_ethereum_transaction_is_refused_clearly() -> None:
    with pytest.raises(DecodingError, match="only legacy"):
        decode_eth_transaction(b"\x02" + _raw(VECTORS["eth"]["eth-shard-0"]))


def test_eth_chain_id_outside_the_network_is_refused() -> None:
    tx = sign_eth_transaction(nonce=0, gas_price=1, gas_limit=21000, to=b"\x01" * 20, value=0, data=b"",
                              private_key=KEY, chain_id=1)
    with pytest.raises(ValidationError, match="not an Ethereum chain id"):
        to_harmony(tx)


def test_non_canonical_encodings_are_rejected() -> None:
    good = _raw(VECTORS["plain"]["same-shard"])
    assert good[:3] == bytes([0xF8, 0x6E, 0x80])  # long-form list header, then nonce 0 as the empty string
    # Nonce 0 written as the one-byte string 0x00: an integer with a leading zero byte.
    with pytest.raises(DecodingError, match="leading zero"):
        decode_transaction(good[:2] + b"\x00" + good[3:])
    # A byte below 0x80 wrapped in a string header (0x81 0x05 instead of 0x05).
    with pytest.raises(DecodingError, match="single byte below 0x80"):
        decode_transaction(bytes.fromhex("cc") + bytes.fromhex("8105") + bytes.fromhex("80") * 10)
    # Long-form list length for a payload shorter than 56 bytes.
    with pytest.raises(DecodingError, match="long length form"):
        decode_transaction(bytes([0xF8, 11]) + bytes.fromhex("80") * 11)
    # Trailing bytes after the list.
    with pytest.raises(DecodingError, match="does not match"):
        decode_transaction(good + b"\x00")


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    for decoder in (decode_transaction, decode_staking_transaction, decode_eth_transaction):
        with suppress(DecodingError):  # the only exception allowed
            decoder(data)


RAWS = [_raw(e) for section in ("plain", "staking", "eth") for e in VECTORS[section].values()]


@settings(max_examples=300)
@given(st.sampled_from(RAWS), st.integers(min_value=0), st.integers(0, 255), st.booleans())
def test_mutated_transactions_raise_only_decoding_error(raw: bytes, position: int, byte: int, truncate: bool) -> None:
    position %= len(raw)
    mutated = raw[:position] if truncate else raw[:position] + bytes([byte]) + raw[position + 1 :]
    for decoder in (decode_transaction, decode_staking_transaction, decode_eth_transaction):
        with suppress(DecodingError):  # the only exception allowed
            decoder(mutated)


def test_edit_validator_with_status_and_compound_rewards_round_trip() -> None:
    edit = decode_staking_transaction(_raw(VECTORS["staking"]["edit-validator"])).stake_message
    assert isinstance(edit, EditValidator) and edit.status is None  # pyhmy's 8-field form
    for status in (None, 0, 1, 2):
        message = EditValidator(edit.validator_address, edit.description, None, None, None, None, None, None, status)
        tx = sign_staking_transaction(message, nonce=1, gas_price=1, gas_limit=50_000, private_key=KEY, chain_id=2)
        decoded = decode_staking_transaction(encode_staking_transaction(tx))
        assert decoded.stake_message == message and decoded.sender == SENDER
    compound = sign_staking_transaction(CompoundRewards(SENDER), nonce=5, gas_price=1, gas_limit=50_000,
                                        private_key=KEY, chain_id=2)
    decoded = decode_staking_transaction(encode_staking_transaction(compound))
    assert decoded.directive == Directive.COMPOUND_REWARDS and decoded.stake_message == CompoundRewards(SENDER)


@pytest.mark.parametrize(
    ("directive", "message"),
    [(9, [b"\x01" * 20]), (2, [b"\x01" * 20]), (4, [b"\x01" * 19]), (1, [b"\x01" * 20] * 10), (0, b"flat")],
    ids=["unknown directive", "short delegate", "bad address", "edit with 10 fields", "message not a list"],
)
def test_bad_staking_messages_are_rejected(directive: int, message: object) -> None:
    raw = rlp.encode([directive, message, 0, 1, 21000, 39, 1, 1])
    with pytest.raises(DecodingError):
        decode_staking_transaction(raw)
