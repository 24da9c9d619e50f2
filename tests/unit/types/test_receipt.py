"""Receipts and logs (geth consensus encoding) and the 2048-bit log bloom, with geth's own vectors."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.receipt import (
    Log,
    Receipt,
    compute_bloom,
    compute_logs_bloom,
    compute_receipts_bloom,
    decode_receipt,
    encode_receipt,
    is_in_bloom,
    make_receipt,
)

DEAD = bytes(30) + b"\xde\xad"
BEEF = bytes(30) + b"\xbe\xef"

# ethereum/go-ethereum core/types/receipt_test.go TestReceiptMarshalBinary: `legacyReceipt` (failed,
# cumulative gas 1, two logs; Bloom = CreateBloom) must encode to `legacyWant`.
GETH_LEGACY_RECEIPT = bytes.fromhex(
    "f901c58001b9010000000000000010000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000500000000000000000000000000000000000014000"
    "000000000000000000000000000000000000000000000000000000000000000000000000010000080000000000000000"
    "000004000000000000000000000000000040000000000000000000000000000800000000000000000000000000000000"
    "000000000000000000000400000000000000000000000000000000000000000000000000000000000010000000000000"
    "000000000000000000000000000000000000000000000000f8bef85d9400000000000000000000000000000000000000"
    "11f842a0000000000000000000000000000000000000000000000000000000000000deada00000000000000000000000"
    "00000000000000000000000000000000000000beef830100fff85d940000000000000000000000000000000000000111"
    "f842a0000000000000000000000000000000000000000000000000000000000000deada0000000000000000000000000"
    "000000000000000000000000000000000000beef830100ff"
)
GETH_LEGACY_LOGS = [
    Log(address=bytes(19) + b"\x11", topics=[DEAD, BEEF], data=b"\x01\x00\xff"),
    Log(address=bytes(18) + b"\x01\x11", topics=[DEAD, BEEF], data=b"\x01\x00\xff"),
]

logs = st.builds(
    Log,
    address=st.binary(min_size=20, max_size=20),
    topics=st.lists(st.binary(min_size=32, max_size=32), max_size=4),
    data=st.binary(max_size=80),
)
receipts = st.builds(
    make_receipt,
    succeeded=st.booleans(),
    cumulative_gas_used=st.integers(min_value=0, max_value=2**64 - 1),
    logs=st.lists(logs, max_size=3),
)


def test_geth_bloom_extensively_vector() -> None:
    # go-ethereum core/types/bloom9_test.go TestBloomExtensively.
    bloom = compute_bloom(f"xxxxxxxxxx data {i} yyyyyyyyyyyyyy".encode() for i in range(100))
    assert keccak256(bloom).hex() == "c8d3ca65cdb4874300a9e39475508f23ed6da09fdbc487f89a2dcf50b09eb263"


def test_geth_bloom_membership() -> None:
    # go-ethereum / harmony core/types/bloom9_test.go TestBloom.
    bloom = compute_bloom([b"testtest", b"test", b"hallo", b"other"])
    for item in (b"testtest", b"test", b"hallo", b"other"):
        assert is_in_bloom(bloom, item)
    for item in (b"tes", b"lo"):
        assert not is_in_bloom(bloom, item)


def test_empty_bloom() -> None:
    assert compute_bloom([]) == bytes(256)
    assert compute_logs_bloom([]) == bytes(256)
    assert compute_receipts_bloom([]) == bytes(256)


def test_bloom_sets_three_bits_at_most_per_item() -> None:
    bloom = int.from_bytes(compute_bloom([b"x"]), "big")
    digest = keccak256(b"x")
    expected = {((digest[i] << 8) | digest[i + 1]) & 2047 for i in (0, 2, 4)}
    assert {bit for bit in range(2048) if bloom >> bit & 1} == expected


def test_geth_legacy_receipt_vector() -> None:
    receipt = make_receipt(succeeded=False, cumulative_gas_used=1, logs=GETH_LEGACY_LOGS)
    assert encode_receipt(receipt) == GETH_LEGACY_RECEIPT
    assert decode_receipt(GETH_LEGACY_RECEIPT) == receipt


def test_status_encoding() -> None:
    ok = make_receipt(succeeded=True, cumulative_gas_used=21000, logs=[])
    failed = make_receipt(succeeded=False, cumulative_gas_used=21000, logs=[])
    assert ok.status == 1
    assert failed.status == 0
    assert encode_receipt(ok) == rlp.encode([b"\x01", 21000, bytes(256), []])
    assert encode_receipt(failed) == rlp.encode([b"", 21000, bytes(256), []])


@settings(max_examples=60)
@given(receipts)
def test_encoding_matches_plain_rlp_and_round_trips(receipt: Receipt) -> None:
    expected = rlp.encode(
        [
            b"\x01" if receipt.status else b"",
            receipt.cumulative_gas_used,
            receipt.bloom,
            [[log.address, list(log.topics), log.data] for log in receipt.logs],
        ]
    )
    assert encode_receipt(receipt) == expected
    assert decode_receipt(expected) == receipt


@settings(max_examples=40)
@given(st.lists(logs, max_size=5))
def test_logs_bloom_holds_every_address_and_topic(log_list: list[Log]) -> None:
    bloom = compute_logs_bloom(log_list)
    assert bloom == compute_bloom([item for log in log_list for item in (log.address, *log.topics)])
    for log in log_list:
        assert is_in_bloom(bloom, log.address)
        for topic in log.topics:
            assert is_in_bloom(bloom, topic)


@settings(max_examples=30)
@given(st.lists(receipts, max_size=4))
def test_receipts_bloom_is_the_or_of_receipt_blooms(receipt_list: list[Receipt]) -> None:
    combined = 0
    for receipt in receipt_list:
        combined |= int.from_bytes(receipt.bloom, "big")
    assert compute_receipts_bloom(receipt_list) == combined.to_bytes(256, "big")


# ---- malformed input: only DecodingError ------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [bytes(32), 1, bytes(256), []],  # pre-Byzantium post-state root: not produced by this chain
        [b"\x02", 1, bytes(256), []],
        [b"\x00", 1, bytes(256), []],
        [[], 1, bytes(256), []],
        [b"\x01", b"\x00\x01", bytes(256), []],  # non-canonical integer
        [b"\x01", b"\x01" + bytes(8), bytes(256), []],  # overflows uint64
        [b"\x01", 1, bytes(255), []],
        [b"\x01", 1, bytes(257), []],
        [b"\x01", 1, bytes(256), b""],
        [b"\x01", 1, bytes(256), [[bytes(19), [], b""]]],  # short log address
        [b"\x01", 1, bytes(256), [[bytes(20), [bytes(31)], b""]]],  # short topic
        [b"\x01", 1, bytes(256), [[bytes(20), [], b"", b""]]],  # log with 4 fields
        [b"\x01", 1, bytes(256), [[bytes(20), b"", b""]]],  # topics not a list
        [b"\x01", 1, bytes(256)],
        [b"\x01", 1, bytes(256), [], b""],
    ],
)
def test_malformed_receipt_is_rejected(values: list[object]) -> None:
    with pytest.raises(DecodingError):
        decode_receipt(rlp.encode(values))


def test_truncations_are_rejected() -> None:
    for end in range(len(GETH_LEGACY_RECEIPT)):
        with pytest.raises(DecodingError):
            decode_receipt(GETH_LEGACY_RECEIPT[:end])


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    try:
        receipt = decode_receipt(data)
    except DecodingError:
        return
    assert encode_receipt(receipt) == data
