"""keccak256 against pycryptodome's independent implementation, and known digests."""

from __future__ import annotations

from Crypto.Hash import keccak
from hypothesis import given
from hypothesis import strategies as st

from crypto.hash import EMPTY_KECCAK, keccak256, sha256


def test_known_digests() -> None:
    assert EMPTY_KECCAK.hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert sha256(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@given(st.binary(max_size=2048))
def test_keccak_matches_pycryptodome(data: bytes) -> None:
    assert keccak256(data) == keccak.new(digest_bits=256, data=data).digest()
