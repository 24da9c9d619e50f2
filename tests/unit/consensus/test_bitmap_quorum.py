"""Bitmaps in Harmony's layout and quorum by voting power."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.bitmap import count_signers, decode_bitmap, encode_bitmap
from consensus.quorum import Committee, compute_max_faulty, is_quorum

TOTAL = 10**18
from harmony_node.exceptions import DecodingError, ValidationError


def _keys(n: int) -> list[bytes]:
    return [i.to_bytes(48, "big") for i in range(1, n + 1)]


def test_harmony_bit_order() -> None:
    assert encode_bitmap([0], 9) == b"\x01\x00"
    assert encode_bitmap([7, 8], 9) == b"\x80\x01"
    assert encode_bitmap([], 0) == b""
    assert decode_bitmap(b"\x05", 3) == (0, 2)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_bitmap_round_trip(case: tuple[int, set[int]]) -> None:
    size, indices = case
    bitmap = encode_bitmap(indices, size)
    assert decode_bitmap(bitmap, size) == tuple(sorted(indices))
    assert count_signers(bitmap) == len(indices)


@pytest.mark.parametrize(("bitmap", "size"), [(b"\x01", 9), (b"\x01\x00", 8), (b"\x08", 3), (b"\x00\x02", 9)])
def test_bad_bitmaps(bitmap: bytes, size: int) -> None:
    with pytest.raises(DecodingError):
        decode_bitmap(bitmap, size)
    with pytest.raises(ValueError):
        encode_bitmap([size], size)


@pytest.mark.parametrize("n", list(range(1, 401)))
def test_equal_power_is_harmonys_one_node_one_vote_rule(n: int) -> None:
    committee = Committee.with_equal_power(_keys(n), shard_id=0, epoch=0)
    need = n * 2 // 3 + 1
    for signers in (range(need), range(n - need, n)):  # any members: all weigh the same
        assert is_quorum(committee, signers)
    for signers in (range(need - 1), range(n - need + 1, n)):
        assert not is_quorum(committee, signers)
    assert n - compute_max_faulty(n) >= need


def test_stake_weighted_quorum_is_strictly_more_than_two_thirds() -> None:
    third = TOTAL // 3
    committee = Committee(0, 0, tuple(_keys(3)), (third, third, TOTAL - 2 * third))
    assert not is_quorum(committee, [0, 1])  # exactly 2/3 is not enough
    assert is_quorum(committee, [0, 2])  # the last member holds the rounding remainder: just over 2/3
    whale = Committee(0, 0, tuple(_keys(4)), (TOTAL * 7 // 10, 10**17, 10**17, 10**17))
    assert is_quorum(whale, [0]) and not is_quorum(whale, [1, 2, 3])
    assert is_quorum(whale, [0, 0, 0]) and whale.compute_power([0, 0]) == whale.voting_power[0]


@pytest.mark.parametrize(
    ("keys", "power", "message"),
    [((), (), "at least one"), (tuple(_keys(2)), (TOTAL,), "every committee member"),
     ((b"\x01" * 48, b"\x01" * 48), (1, TOTAL - 1), "twice"),
     ((b"\x01" * 47,), (TOTAL,), "48-byte"), (tuple(_keys(2)), (0, 0), "positive total"), (tuple(_keys(2)), (-1, 2), "non-negative")],
)
def test_bad_committees(keys: tuple[bytes, ...], power: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Committee(0, 0, keys, power)
