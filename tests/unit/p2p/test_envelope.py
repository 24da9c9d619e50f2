"""Harmony's gossip envelope and tx batches: exact bytes, round trips, and every malformed input refused."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.p2p.envelope import (
    MAX_MESSAGE_SIZE,
    Envelope,
    MessageKind,
    decode_envelope,
    pack_batch,
    pack_staking_transactions,
    pack_transactions,
    unpack_batch,
)

kinds = st.sampled_from(list(MessageKind))
payloads = st.binary(max_size=600)
raw_items = st.lists(st.binary(max_size=300), max_size=40)


def test_exact_bytes_of_a_transaction_message() -> None:
    encoded = pack_transactions([b"\x01\x02"]).encode()
    content = b"\x01\x00\x00" + rlp.encode([b"\x01\x02"])
    assert encoded == b"\x11" + len(content).to_bytes(4, "big") + content


def test_kind_prefixes_follow_harmony() -> None:
    assert MessageKind.CONSENSUS.prefix == b"\x00"
    assert MessageKind.TRANSACTION.prefix == b"\x01\x00\x00"
    assert MessageKind.BLOCK_SYNC.prefix == b"\x01\x01\x00"
    assert MessageKind.CROSSLINK.prefix == b"\x01\x01\x01"
    assert MessageKind.RECEIPT.prefix == b"\x01\x01\x02"
    assert MessageKind.SLASH_CANDIDATE.prefix == b"\x01\x01\x03"
    assert MessageKind.STAKING.prefix == b"\x01\x06\x00"
    assert pack_staking_transactions([]).kind is MessageKind.STAKING


@given(kinds, payloads)
def test_round_trip(kind: MessageKind, payload: bytes) -> None:
    envelope = Envelope(kind, payload)
    assert decode_envelope(envelope.encode()) == envelope


@given(raw_items)
def test_batch_round_trip_is_a_plain_rlp_list_of_byte_strings(items: list[bytes]) -> None:
    envelope = pack_transactions(items)
    assert rlp.decode(envelope.payload) == items
    assert unpack_batch(decode_envelope(envelope.encode())) == items


def test_wrong_magic_byte() -> None:
    data = bytearray(Envelope(MessageKind.CONSENSUS, b"vote").encode())
    data[0] = 0x12
    with pytest.raises(DecodingError, match="magic byte 0x12"):
        decode_envelope(bytes(data))


@given(kinds, payloads, st.integers(min_value=1, max_value=50))
def test_declared_length_longer_than_content(kind: MessageKind, payload: bytes, cut: int) -> None:
    data = Envelope(kind, payload).encode()
    truncated = data[: max(5, len(data) - cut)]
    if truncated == data:
        return
    with pytest.raises(DecodingError, match="truncated"):
        decode_envelope(truncated)


@given(kinds, payloads, st.binary(min_size=1, max_size=50))
def test_declared_length_shorter_than_content(kind: MessageKind, payload: bytes, extra: bytes) -> None:
    with pytest.raises(DecodingError, match="trailing bytes"):
        decode_envelope(Envelope(kind, payload).encode() + extra)


@pytest.mark.parametrize("data", [b"", b"\x11", b"\x11\x00\x00\x00"])
def test_shorter_than_header(data: bytes) -> None:
    with pytest.raises(DecodingError, match="shorter than the 5-byte"):
        decode_envelope(data)


def test_empty_content() -> None:
    with pytest.raises(DecodingError, match="empty envelope content"):
        decode_envelope(b"\x11\x00\x00\x00\x00")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x02", "unknown message category 0x02"),
        (b"\x01", "missing its type and subtype"),
        (b"\x01\x00", "missing its type and subtype"),
        (b"\x01\x00\x01", "type 0, subtype 1"),
        (b"\x01\x01\x07", "type 1, subtype 7"),
        (b"\x01\x05\x00", "type 5, subtype 0"),
    ],
)
def test_unknown_kind(content: bytes, reason: str) -> None:
    with pytest.raises(DecodingError, match=reason):
        decode_envelope(b"\x11" + len(content).to_bytes(4, "big") + content)


def test_oversize_is_refused_before_parsing() -> None:
    payload = bytes(MAX_MESSAGE_SIZE)
    data = Envelope(MessageKind.BLOCK_SYNC, payload).encode()
    with pytest.raises(DecodingError, match="exceeds the 2097152-byte limit"):
        decode_envelope(data)
    assert decode_envelope(data, max_size=len(data)).payload == payload
    # The limit covers the whole envelope: exactly at it passes.
    exact = Envelope(MessageKind.BLOCK_SYNC, bytes(MAX_MESSAGE_SIZE - 8)).encode()
    assert len(exact) == MAX_MESSAGE_SIZE
    decode_envelope(exact)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_decoding_error(data: bytes) -> None:
    try:
        envelope = decode_envelope(data)
    except DecodingError:
        return
    assert envelope.encode() == data


@given(st.binary(max_size=200))
def test_arbitrary_batch_payload_unpacks_or_raises_decoding_error(payload: bytes) -> None:
    try:
        items = unpack_batch(Envelope(MessageKind.TRANSACTION, payload))
    except DecodingError:
        return
    assert pack_transactions(items).payload == payload  # canonical: only one encoding decodes


def test_batch_items_must_be_bytes() -> None:
    with pytest.raises(ValidationError, match="item 1 is str"):
        pack_transactions([b"ok", "no"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="item 0 is bytearray"):
        pack_transactions([bytearray(b"no")])  # type: ignore[list-item]


def test_nested_list_item_is_refused() -> None:
    envelope = Envelope(MessageKind.TRANSACTION, rlp.encode([b"tx", [b"nested"]]))
    with pytest.raises(DecodingError, match="batch item 1"):
        unpack_batch(envelope)


def test_payload_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(DecodingError, match="expected an RLP list"):
        unpack_batch(Envelope(MessageKind.TRANSACTION, rlp.encode(b"just a string")))


def test_batch_count_is_capped_both_ways() -> None:
    with pytest.raises(ValidationError, match="exceeds the limit of 3"):
        pack_batch(MessageKind.TRANSACTION, [b"a"] * 4, max_items=3)
    envelope = pack_batch(MessageKind.TRANSACTION, [b"a"] * 4)
    with pytest.raises(DecodingError, match="exceeds the limit of 3"):
        unpack_batch(envelope, max_items=3)


def test_consensus_messages_are_not_batches() -> None:
    with pytest.raises(ValidationError):
        pack_batch(MessageKind.CONSENSUS, [b"x"])
    with pytest.raises(DecodingError):
        unpack_batch(Envelope(MessageKind.CONSENSUS, rlp.encode([b"x"])))
