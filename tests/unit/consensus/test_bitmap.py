"""Committee bitmaps in Harmony's ``bls.Mask`` layout: bit order, canonical length, round trips, fuzz."""

from __future__ import annotations

from contextlib import suppress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.bitmap import compute_bitmap_length, count_signers, decode_bitmap, encode_bitmap
from harmony_node.exceptions import DecodingError


def test_harmony_bit_order() -> None:
    assert encode_bitmap([0], 9) == b"\x01\x00"
    assert encode_bitmap([7, 8], 9) == b"\x80\x01"
    assert encode_bitmap([], 0) == b""
    assert encode_bitmap([3, 3], 4) == b"\x08"
    assert decode_bitmap(b"\x05", 3) == (0, 2)
    assert [compute_bitmap_length(n) for n in (0, 1, 8, 9, 400)] == [0, 1, 1, 2, 50]


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_bitmap_round_trip(case: tuple[int, set[int]]) -> None:
    size, indices = case
    bitmap = encode_bitmap(indices, size)
    assert len(bitmap) == (size + 7) >> 3
    assert decode_bitmap(bitmap, size) == tuple(sorted(indices))
    assert count_signers(bitmap) == len(indices)


@pytest.mark.parametrize(
    ("bitmap", "size"),
    [(b"\x01", 9), (b"\x01\x00", 8), (b"\x08", 3), (b"\x00\x02", 9), (b"", 1), (b"\x01", 0)],
    ids=["short", "long", "bit past end", "bit past end, 2nd byte", "empty", "empty committee"],
)
def test_bad_bitmaps(bitmap: bytes, size: int) -> None:
    with pytest.raises(DecodingError):
        decode_bitmap(bitmap, size)


@pytest.mark.parametrize("index", [-1, 9])
def test_encode_rejects_indices_outside_the_committee(index: int) -> None:
    with pytest.raises(ValueError):
        encode_bitmap([0, index], 9)


@given(st.binary(max_size=60), st.integers(0, 480))
def test_random_bitmaps_decode_or_raise_decoding_error(bitmap: bytes, size: int) -> None:
    with suppress(DecodingError):  # the only exception allowed
        assert encode_bitmap(decode_bitmap(bitmap, size), size) == bitmap
