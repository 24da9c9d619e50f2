"""Shard state: strict RLP round trips, committees with stake as voting power, the genesis state."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.exceptions import DecodingError, ValidationError
from sharding.shard_state import MAX_SHARDS, MAX_SLOTS_PER_SHARD, ShardState, Slot, compute_genesis_shard_state

KEYS = [bytes([i]) * 48 for i in range(1, 9)]
VALIDATOR = b"\x11" * 20


@st.composite
def shard_states(draw: st.DrawFn) -> ShardState:
    keys = draw(st.lists(st.binary(min_size=48, max_size=48), min_size=1, max_size=12, unique=True))
    num_shards = draw(st.integers(1, min(4, len(keys))))
    stakes = st.one_of(st.just(0), st.integers(0, 2**256 - 1))
    slots = [Slot(key, draw(st.binary(min_size=20, max_size=20)), draw(stakes)) for key in keys]
    return ShardState(draw(st.integers(0, 2**64 - 1)), tuple(tuple(slots[i::num_shards]) for i in range(num_shards)))


@given(shard_states())
def test_round_trip(state: ShardState) -> None:
    encoded = state.encode()
    decoded = ShardState.decode(encoded)
    assert decoded == state
    assert decoded.encode() == encoded
    for shard_id, slots in enumerate(state.shards):
        for slot in slots:
            assert decoded.get_shard_of_key(slot.public_key) == shard_id


@given(st.binary(max_size=300))
def test_random_bytes_fail_cleanly(data: bytes) -> None:
    try:
        state = ShardState.decode(data)
    except DecodingError:
        return
    assert state.encode() == data  # whatever decodes has exactly one encoding


@given(shard_states(), st.data())
def test_mutated_encodings_fail_cleanly(state: ShardState, data: st.DataObject) -> None:
    encoded = bytearray(state.encode())
    mutation = data.draw(st.sampled_from(["flip", "truncate", "append"]))
    if mutation == "flip":
        position = data.draw(st.integers(0, len(encoded) - 1))
        encoded[position] ^= data.draw(st.integers(1, 255))
    elif mutation == "truncate":
        del encoded[data.draw(st.integers(0, len(encoded) - 1)) :]
    else:
        encoded += data.draw(st.binary(min_size=1, max_size=8))
    try:
        decoded = ShardState.decode(bytes(encoded))
    except DecodingError:
        return
    assert decoded.encode() == bytes(encoded)


def _slot_item(key: bytes, stake: int = 0) -> list[object]:
    return [VALIDATOR, key, stake]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ([0, []], "1 to 64 shards"),
        ([0, [[0, []]]], "1 to 1024 slots"),
        ([0, [[1, [_slot_item(KEYS[0])]]]], "in order"),
        ([0, [[0, [_slot_item(KEYS[0])]], [0, [_slot_item(KEYS[1])]]]], "in order"),
        ([0, [[0, [_slot_item(KEYS[0]), _slot_item(KEYS[0])]]]], "more than one slot"),
        ([0, [[0, [_slot_item(KEYS[0])]], [1, [_slot_item(KEYS[0])]]]], "more than one slot"),
        ([0, [[0, [[VALIDATOR, KEYS[0][:47], 0]]]]], "key"),
        ([0, [[0, [[VALIDATOR[:19], KEYS[0], 0]]]]], "validator"),
        ([0, [[0, [[VALIDATOR, KEYS[0], b"\x00\x01"]]]]], "leading zero"),
        ([0, [[0, [[VALIDATOR, KEYS[0], 2**256]]]]], "256 bits"),
        ([0, [[0, [[VALIDATOR, KEYS[0]]]]]], "list of 3"),
        ([0, [[0, [_slot_item(KEYS[0])]]], b""], "list of 2"),
        ([2**64, [[0, [_slot_item(KEYS[0])]]]], "uint64"),
        ([[], [[0, [_slot_item(KEYS[0])]]]], "epoch"),
        ([0, [[0, [[VALIDATOR, [KEYS[0]], 0]]]]], "nested"),
        ([0, [[[], [_slot_item(KEYS[0])]]]], "shard 0 id"),
        (b"", "list of 2"),
    ],
)
def test_malformed_states(item: object, reason: str) -> None:
    with pytest.raises(DecodingError, match=reason):
        ShardState.decode(rlp.encode(item))


def test_bounds() -> None:
    with pytest.raises(DecodingError, match="shards"):
        ShardState.decode(rlp.encode([0, [[i, [_slot_item(bytes(47) + bytes([i]))]] for i in range(MAX_SHARDS + 1)]]))
    too_many = [_slot_item(i.to_bytes(48, "big")) for i in range(MAX_SLOTS_PER_SHARD + 1)]
    with pytest.raises(DecodingError, match="slots"):
        ShardState.decode(rlp.encode([0, [[0, too_many]]]))
    with pytest.raises(DecodingError, match="more than"):
        ShardState.decode(b"\x00" * (MAX_SHARDS * MAX_SLOTS_PER_SHARD * 128 + 1))
    with pytest.raises(DecodingError, match="nested"):
        ShardState.decode(bytes.fromhex("c9c8c7c6c5c4c3c2c1c0"))  # ten empty lists, each inside the next
    with pytest.raises(DecodingError, match="canonical"):
        ShardState.decode(rlp.encode([0, [[0, [_slot_item(KEYS[0])]]]]) + b"\x00")


def test_constructor_rejects_invalid_states() -> None:
    with pytest.raises(ValidationError):
        Slot(KEYS[0][:47], VALIDATOR, 0)
    with pytest.raises(ValidationError):
        Slot(KEYS[0], VALIDATOR, -1)
    with pytest.raises(ValidationError):
        ShardState(0, ())
    with pytest.raises(ValidationError):
        ShardState(0, ((Slot(KEYS[0], VALIDATOR, 0),), ()))
    with pytest.raises(ValidationError):
        ShardState(-1, ((Slot(KEYS[0], VALIDATOR, 0),),))


def test_committee_uses_stake_as_voting_power() -> None:
    state = ShardState(
        7,
        (
            (Slot(KEYS[0], VALIDATOR, 5), Slot(KEYS[1], VALIDATOR, 0), Slot(KEYS[2], VALIDATOR, 10)),
            (Slot(KEYS[3], VALIDATOR, 0), Slot(KEYS[4], VALIDATOR, 0)),
        ),
    )
    staked = state.get_committee(0)
    assert (staked.shard_id, staked.epoch) == (0, 7)
    assert staked.public_keys == (KEYS[0], KEYS[1], KEYS[2])
    assert staked.voting_power == (5, 0, 10)
    unstaked = state.get_committee(1)
    assert (unstaked.shard_id, unstaked.voting_power) == (1, (1, 1))
    assert state.num_shards == 2
    assert state.get_shard_of_key(KEYS[4]) == 1 and state.get_shard_of_key(KEYS[7]) is None
    for bad in (-1, 2):
        with pytest.raises(ValidationError, match="does not exist"):
            state.get_committee(bad)


def test_genesis_shard_state() -> None:
    state = compute_genesis_shard_state([[KEYS[0], KEYS[1]], [KEYS[2]]])
    assert state.epoch == 0
    assert [slot.public_key for slot in state.shards[0]] == [KEYS[0], KEYS[1]]
    assert all(slot.stake == 0 and slot.validator == bytes(20) for shard in state.shards for slot in shard)
    assert state.get_committee(0).voting_power == (1, 1)
    assert state.get_committee(1).public_keys == (KEYS[2],)
    assert ShardState.decode(state.encode()) == state
    with pytest.raises(ValidationError):
        compute_genesis_shard_state([[KEYS[0]], [KEYS[0]]])


def test_lists_are_normalized_to_tuples() -> None:
    slot = Slot(KEYS[0], VALIDATOR, 3)
    assert ShardState(1, [[slot]]) == ShardState(1, ((slot,),))  # type: ignore[arg-type]
