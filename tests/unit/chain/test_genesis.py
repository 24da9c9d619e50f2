"""Genesis files: parsing, clear errors, and block 0 of each shard."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from crypto import bls
from crypto.address import from_bech32
from harmony_node.chain.genesis import (
    InvalidGenesis,
    build_genesis_block,
    get_localnet_genesis,
    load_genesis,
    parse_genesis,
)
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.state.state_db import StateDB
from harmony_node.types.block import decode_block, encode_block
from harmony_node.types.derive_sha import EMPTY_ROOT
from staking.config import LOCALNET as LOCALNET_STAKING
from staking.config import MAINNET_LIKE as MAINNET_LIKE_STAKING

LOCALNET_ACCOUNT = from_bech32("one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3")


def test_localnet_genesis_funds_the_well_known_account_on_every_shard() -> None:
    genesis = get_localnet_genesis()
    assert genesis.config.chain_id == 2
    assert LOCALNET_ACCOUNT == bytes.fromhex("A5241513DA9F4463F1d4874b548dFBAC29D91f34")
    assert dict(genesis.alloc)[LOCALNET_ACCOUNT] == 10_000_000_000 * 10**18
    hashes = set()
    for shard_id in range(genesis.config.num_shards):
        store = MemoryStore()
        batch = WriteBatch()
        block = build_genesis_block(genesis, shard_id, store, batch)
        store.write(batch)
        header = block.header
        assert (header.number, header.shard_id, header.epoch) == (0, shard_id, 0)
        assert header.transactions_root == header.receipts_root == EMPTY_ROOT
        state = StateDB(store, header.state_root)
        assert state.get_balance(LOCALNET_ACCOUNT) == 10_000_000_000 * 10**18
        assert decode_block(encode_block(block)).hash == block.hash
        hashes.add(block.hash)
    assert len(hashes) == genesis.config.num_shards  # shard id is in the header


def test_genesis_is_deterministic_and_order_independent() -> None:
    doc = {"alloc": {"0x" + "11" * 20: "5", "0x" + "22" * 20: 7}, "timestamp": 10}
    reordered = {"timestamp": 10, "alloc": {"0x" + "22" * 20: 7, "0x" + "11" * 20: "5"}}
    first = build_genesis_block(parse_genesis(json.dumps(doc)), 0, MemoryStore(), WriteBatch())
    second = build_genesis_block(parse_genesis(json.dumps(reordered)), 0, MemoryStore(), WriteBatch())
    assert first.hash == second.hash


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"alloc": {"one1bad": "1"}}', "alloc address"),
        ('{"alloc": {"0x' + "11" * 20 + '": "-1"}}', "must not be negative"),
        ('{"alloc": {"0x' + "11" * 20 + '": 1.5}}', "integer or a decimal string"),
        ('{"alloc": {"0x' + "11" * 20 + '": "ten"}}', "not a decimal integer"),
        ('{"config": {"num_shards": 0}}', "num_shards"),
        ('{"config": {"chain_id": true}}', "chain_id"),
        ('{"alloc": []}', "'alloc' must be an object"),
    ],
)
def test_bad_genesis_is_rejected_with_a_clear_message(document: str, message: str) -> None:
    with pytest.raises(InvalidGenesis, match=message):
        parse_genesis(document)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidGenesis, match="cannot read genesis file"):
        load_genesis(tmp_path / "absent.json")


def test_unknown_shard_is_rejected() -> None:
    with pytest.raises(InvalidGenesis, match="does not exist"):
        build_genesis_block(get_localnet_genesis(), 3, MemoryStore(), WriteBatch())


def test_committees_are_parsed_and_change_block_zero() -> None:
    keys = [bls.secret_to_public(bls.generate_secret_key(bytes([i]) * 32)) for i in (1, 2, 3)]
    doc = {"alloc": {}, "config": {"num_shards": 2}, "committees": {"0": ["0x" + keys[0].hex(), keys[1].hex()],
                                                                     "1": ["0x" + keys[2].hex()]}}
    genesis = parse_genesis(json.dumps(doc))
    assert genesis.get_committee_keys(0) == (keys[0], keys[1]) and genesis.get_committee_keys(1) == (keys[2],)
    plain = parse_genesis(json.dumps({"alloc": {}, "config": {"num_shards": 2}}))
    assert plain.committees == () and plain.get_committee_keys(0) == ()
    with_committee = build_genesis_block(genesis, 0, MemoryStore(), WriteBatch()).header
    without = build_genesis_block(plain, 0, MemoryStore(), WriteBatch()).header
    assert with_committee.hash != without.hash


@pytest.mark.parametrize(
    ("committees", "reason"),
    [
        ({"5": []}, "not a shard"),
        ({"x": []}, "not a shard"),
        ({"0": "abc"}, "list of hex"),
        ({"0": ["zz"]}, "not hex"),
        ({"0": ["0x" + "11" * 47]}, "48 bytes"),
        ({"0": ["0x" + "c0" + "00" * 47]}, "identity"),
        ([], "must be an object"),
    ],
)
def test_bad_committees_are_refused(committees: object, reason: str) -> None:
    with pytest.raises(InvalidGenesis, match=reason):
        parse_genesis(json.dumps({"alloc": {}, "committees": committees}))


def test_a_key_in_two_committees_is_refused() -> None:
    key = bls.secret_to_public(bls.generate_secret_key(b"\x07" * 32)).hex()
    with pytest.raises(InvalidGenesis, match="twice"):
        parse_genesis(json.dumps({"alloc": {}, "committees": {"0": [key], "1": [key]}}))


def test_staking_rules_come_from_the_genesis() -> None:
    assert parse_genesis("{}").staking == LOCALNET_STAKING  # the default
    genesis = parse_genesis(json.dumps({"staking": {
        "preset": "mainnet", "block_reward": "5000000000000000000", "lock_period_epochs": 2,
        "availability_threshold": [1, 2], "slash_rate": str(10**18 // 4)}}))
    assert genesis.staking == replace(MAINNET_LIKE_STAKING, block_reward=5 * 10**18, lock_period_epochs=2,
                                      availability_threshold=(1, 2), slash_rate=10**18 // 4)


@pytest.mark.parametrize("staking, reason", [
    ({"preset": "testnet"}, "staking preset"),
    ({"block_rewards": 1}, "unknown staking setting 'block_rewards'"),
    ({"block_reward": -1}, "must not be negative"),
    ({"slash_rate": str(2 * 10**18)}, "slash_rate must be between 0 and 1"),
    ({"availability_threshold": [3]}, "numerator, denominator"),
    ([], "must be an object"),
])
def test_bad_staking_rules_are_refused(staking: object, reason: str) -> None:
    with pytest.raises(InvalidGenesis, match=reason):
        parse_genesis(json.dumps({"staking": staking}))
