"""The v3 header: tagged-RLP envelope, block hash, round trips, and rejection of malformed bytes."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from rlp.sedes import CountableList

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.header import Header, decode_header, encode_header, make_header

FIELD_NAMES = [name for name, _ in Header._meta.fields]

# The empty v3 header (Go's v3.NewHeader()) in its tagged envelope, laid out byte by byte the way
# harmony-one/harmony block/header_test.go TestHeader_EncodeRLP lays out v1 and v2: v3 is v2 without
# ShardStateHash (33 bytes) and with Slashes (1 byte), so the field list is 655 - 33 + 1 = 623 bytes.
EMPTY_V3_HEADER = b"".join(
    [
        b"\xf9\x02\x7d",  # 637-byte envelope
        b"\x87HmnyTgd",
        b"\x82v3",
        b"\xf9\x02\x6f",  # 623-byte field list
        b"\xa0" + bytes(32),  # ParentHash
        b"\x94" + bytes(20),  # Coinbase
        (b"\xa0" + bytes(32)) * 5,  # Root, TxHash, ReceiptHash, OutgoingReceiptHash, IncomingReceiptHash
        b"\xb9\x01\x00" + bytes(256),  # Bloom
        b"\x80" * 5,  # Number, GasLimit, GasUsed, Time, Extra
        b"\xa0" + bytes(32),  # MixDigest
        b"\x80" * 3,  # ViewID, Epoch, ShardID
        b"\xb8\x60" + bytes(96),  # LastCommitSignature
        b"\x80" * 6,  # LastCommitBitmap, Vrf, Vdf, ShardState, CrossLinks, Slashes
    ]
)

FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "parent_hash": st.binary(min_size=32, max_size=32),
    "coinbase": st.binary(min_size=20, max_size=20),
    "state_root": st.binary(min_size=32, max_size=32),
    "transactions_root": st.binary(min_size=32, max_size=32),
    "receipts_root": st.binary(min_size=32, max_size=32),
    "outgoing_receipts_root": st.binary(min_size=32, max_size=32),
    "incoming_receipts_root": st.binary(min_size=32, max_size=32),
    "bloom": st.binary(min_size=256, max_size=256),
    "number": st.integers(min_value=0, max_value=2**80),
    "gas_limit": st.integers(min_value=0, max_value=2**64 - 1),
    "gas_used": st.integers(min_value=0, max_value=2**64 - 1),
    "timestamp": st.integers(min_value=0, max_value=2**64),
    "extra_data": st.binary(max_size=70),
    "mix_digest": st.binary(min_size=32, max_size=32),
    "view_id": st.integers(min_value=0, max_value=2**64),
    "epoch": st.integers(min_value=0, max_value=2**64),
    "shard_id": st.integers(min_value=0, max_value=2**32 - 1),
    "last_commit_signature": st.binary(min_size=96, max_size=96),
    "last_commit_bitmap": st.binary(max_size=60),
    "vrf": st.binary(max_size=128),
    "vdf": st.binary(max_size=20),
    "shard_state": st.binary(max_size=200),
    "cross_links": st.binary(max_size=80),
    "slashes": st.binary(max_size=40),
}
headers = st.builds(Header, **FIELD_STRATEGIES)


def field_values(header: Header) -> list[object]:
    return [getattr(header, name) for name in FIELD_NAMES]


def tagged(values: object, signature: object = b"HmnyTgd", tag: object = b"v3") -> bytes:
    """The envelope built with the plain rlp library (ints encode as minimal big-endian)."""
    result: bytes = rlp.encode([signature, tag, values])
    return result


def assert_rejected(data: bytes) -> None:
    with pytest.raises(DecodingError):
        decode_header(data)


def test_field_order_is_harmonys_v3_order() -> None:
    assert FIELD_NAMES == [
        "parent_hash", "coinbase", "state_root", "transactions_root", "receipts_root",
        "outgoing_receipts_root", "incoming_receipts_root", "bloom", "number", "gas_limit", "gas_used",
        "timestamp", "extra_data", "mix_digest", "view_id", "epoch", "shard_id", "last_commit_signature",
        "last_commit_bitmap", "vrf", "vdf", "shard_state", "cross_links", "slashes",
    ]  # fmt: skip


def test_empty_header_encodes_like_harmonys_byte_layout() -> None:
    assert encode_header(make_header()) == EMPTY_V3_HEADER
    assert decode_header(EMPTY_V3_HEADER) == make_header()
    assert make_header().hash == keccak256(EMPTY_V3_HEADER)


@settings(max_examples=60)
@given(headers)
def test_encoding_is_the_tagged_envelope_with_a_nested_field_list(header: Header) -> None:
    expected = tagged(field_values(header))
    assert encode_header(header) == expected
    assert rlp.encode(header) == expected
    assert header.hash == keccak256(expected)


@settings(max_examples=60)
@given(headers)
def test_round_trip(header: Header) -> None:
    decoded = decode_header(encode_header(header))
    assert decoded == header
    assert decoded.hash == header.hash


def test_header_inside_a_list_keeps_its_envelope() -> None:
    header = make_header(number=7, extra_data=b"x")
    assert rlp.encode([header, header], sedes=CountableList(Header)) == rlp.encode(
        [[b"HmnyTgd", b"v3", field_values(header)]] * 2
    )


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_every_field_is_covered_by_the_hash(name: str) -> None:
    base = make_header()
    value = getattr(base, name)
    changed = base.copy(**{name: value + 1 if isinstance(value, int) else b"\x01" + value[1:]})
    assert changed.hash != base.hash
    assert decode_header(encode_header(changed)) == changed


def test_hash_is_stable_across_copies_and_decoding() -> None:
    header = make_header(number=42, epoch=3, shard_id=1, vrf=b"\x07" * 128, timestamp=1_561_734_000)
    assert header.hash == header.copy().hash == decode_header(encode_header(header)).hash
    assert header.hash == keccak256(tagged(field_values(header)))


# ---- malformed input: only DecodingError ------------------------------------------------------------


@pytest.mark.parametrize(
    ("signature", "tag"),
    [
        (b"HmnyTgd", b"v2"),
        (b"HmnyTgd", b"v1"),
        (b"HmnyTgd", b"v4"),
        (b"HmnyTgd", b""),
        (b"HmnyTgd", b"V3"),
        (b"HmnyTgD", b"v3"),
        (b"", b"v3"),
        (b"HmnyTgd\x00", b"v3"),
        ([], b"v3"),
        (b"HmnyTgd", [b"v3"]),
    ],
)
def test_wrong_signature_or_tag_is_rejected(signature: object, tag: object) -> None:
    assert_rejected(tagged(field_values(make_header()), signature=signature, tag=tag))


def test_legacy_untagged_field_list_is_rejected() -> None:
    assert_rejected(rlp.encode(field_values(make_header())))


def test_field_list_embedded_as_byte_string_is_rejected() -> None:
    assert_rejected(tagged(rlp.encode(field_values(make_header()))))


@pytest.mark.parametrize(
    "envelope",
    [
        [b"HmnyTgd", b"v3"],
        [b"HmnyTgd"],
        [],
        [b"HmnyTgd", b"v3", "FIELDS", b""],
        [b"HmnyTgd", b"v3", "FIELDS", "FIELDS"],
    ],
)
def test_wrong_envelope_item_count_is_rejected(envelope: list[object]) -> None:
    values = field_values(make_header())
    assert_rejected(rlp.encode([values if item == "FIELDS" else item for item in envelope]))


def test_wrong_field_count_is_rejected() -> None:
    values = field_values(make_header())
    assert_rejected(tagged(values[:-1]))
    assert_rejected(tagged([*values, b""]))
    assert_rejected(tagged([]))


FIXED_LENGTHS = {
    "parent_hash": 32, "coinbase": 20, "state_root": 32, "transactions_root": 32, "receipts_root": 32,
    "outgoing_receipts_root": 32, "incoming_receipts_root": 32, "bloom": 256, "mix_digest": 32,
    "last_commit_signature": 96,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FIXED_LENGTHS))
@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_fixed_length_is_rejected(name: str, delta: int) -> None:
    values = field_values(make_header())
    values[FIELD_NAMES.index(name)] = b"\x01" * (FIXED_LENGTHS[name] + delta)
    assert_rejected(tagged(values))


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("number", b"\x00"),  # non-canonical zero
        ("number", b"\x00\x01"),  # leading zero byte
        ("gas_limit", b"\x01" + bytes(8)),  # 2**64: overflows uint64
        ("gas_used", b"\x00\x05"),
        ("shard_id", b"\x01" + bytes(4)),  # 2**32: overflows uint32
        ("timestamp", []),  # list where an integer belongs
        ("epoch", [b"\x01"]),
        ("extra_data", []),  # list where bytes belong
        ("parent_hash", [bytes(32)]),
        ("slashes", [b""]),
    ],
)
def test_bad_field_value_is_rejected(name: str, raw: object) -> None:
    values: list[object] = field_values(make_header())
    values[FIELD_NAMES.index(name)] = raw
    assert_rejected(tagged(values))


def test_largest_fixed_width_integers_are_accepted() -> None:
    header = make_header(gas_limit=2**64 - 1, gas_used=2**64 - 1, shard_id=2**32 - 1)
    assert decode_header(encode_header(header)) == header


def test_every_truncation_and_any_trailing_byte_is_rejected() -> None:
    data = encode_header(make_header(number=1, extra_data=b"hello", vrf=b"\x02" * 128))
    for end in range(len(data)):
        assert_rejected(data[:end])
    assert_rejected(data + b"\x00")
    assert_rejected(data + data)


@settings(max_examples=200)
@given(st.binary(max_size=700))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    try:
        header = decode_header(data)
    except DecodingError:
        return
    assert encode_header(header) == data


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=len(EMPTY_V3_HEADER) - 1), st.integers(min_value=0, max_value=255))
def test_single_byte_corruption_raises_only_decoding_error(position: int, value: int) -> None:
    data = bytearray(EMPTY_V3_HEADER)
    data[position] = value
    try:
        header = decode_header(bytes(data))
    except DecodingError:
        return
    # Some corruptions stay valid (a changed hash byte): they must decode to exactly those bytes.
    assert encode_header(header) == bytes(data)
