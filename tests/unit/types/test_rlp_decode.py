"""``decode_rlp``: the same answers as ``rlp.decode`` on any input, in linear time.

pyrlp rebuilds the encoding of a list item by item while decoding it, so a peer's 1 MB list of
one-byte items cost a node ~17 s of its only event loop (2 MB: over two minutes). The peer-facing
decoders (blocks, headers, receipts, cross-shard proofs, crosslinks, shard states, double-sign
evidence, sync messages) now use ``decode_rlp``; the timeouts here fail if one of them goes
quadratic again (it takes well under a second).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.fbft import SyncedBlock
from consensus.signing import QuorumCertificate
from harmony_node.exceptions import DecodingError
from harmony_node.node.sync import decode_sync_request, decode_sync_response, encode_sync_response
from consensus.evidence import DoubleSignEvidence
from harmony_node.types.block import decode_block
from harmony_node.types.cx_receipt import decode_cx_receipts_proof
from harmony_node.types.header import decode_header
from harmony_node.types.receipt import decode_receipt
from sharding.crosslink import decode_crosslinks
from sharding.shard_state import ShardState
from harmony_node.types.rlp_codec import RlpItem, decode_rlp

MILLION = 1_000_000
items: st.SearchStrategy[RlpItem] = st.recursive(
    st.binary(max_size=70), lambda children: st.lists(children, max_size=6), max_leaves=40)


def _list_of_one_byte_items(count: int) -> bytes:
    size = count.to_bytes((count.bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(size)]) + size + b"\x01" * count


@given(items)
def test_decodes_what_rlp_encodes(item: RlpItem) -> None:
    assert decode_rlp(rlp.encode(item), max_depth=64) == item


@settings(max_examples=500)
@given(st.one_of(items.map(rlp.encode), st.binary(max_size=80)), st.data())
def test_accepts_and_rejects_exactly_what_rlp_decode_does(encoded: bytes, data: st.DataObject) -> None:
    """Canonical RLP only: a byte flipped, dropped or added is refused by both or by neither."""
    if encoded and data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(encoded) - 1))
        encoded = encoded[:at] + data.draw(st.binary(max_size=2)) + encoded[at + 1:]
    try:
        expected: object = rlp.decode(encoded)
    except rlp.DecodingError:
        expected = DecodingError
    try:
        actual: object = decode_rlp(encoded, max_depth=64)
    except DecodingError:
        actual = DecodingError
    assert actual == expected


def test_depth_and_item_limits() -> None:
    nested = b"\xc2\xc1\xc0"  # [[[]]]
    assert decode_rlp(nested, max_depth=3) == [[[]]]
    with pytest.raises(DecodingError, match="deeper than 2"):
        decode_rlp(nested, max_depth=2)
    assert decode_rlp(b"\xc3\x01\x02\x03", max_items=4) == [b"\x01", b"\x02", b"\x03"]
    with pytest.raises(DecodingError, match="more than 3 items"):
        decode_rlp(b"\xc3\x01\x02\x03", max_items=3)


@pytest.mark.timeout(10)
def test_a_list_of_a_million_items_decodes_in_linear_time() -> None:
    assert len(decode_rlp(_list_of_one_byte_items(MILLION))) == MILLION


@pytest.mark.timeout(10)
def test_a_sync_answer_or_request_of_a_million_items_is_refused_without_decoding_it() -> None:
    with pytest.raises(DecodingError, match="more than"):
        decode_sync_response(_list_of_one_byte_items(MILLION))
    with pytest.raises(DecodingError, match="more than"):
        decode_sync_request(_list_of_one_byte_items(MILLION))


@pytest.mark.timeout(10)
def test_a_block_of_a_million_items_is_refused_in_linear_time() -> None:
    answer = encode_sync_response((SyncedBlock(_list_of_one_byte_items(MILLION), 1, QuorumCertificate(b"", b"")),))
    (synced,) = decode_sync_response(answer)
    with pytest.raises(DecodingError, match="malformed block.*more than 500000 items"):
        decode_block(synced.block)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("decode", [decode_header, decode_receipt, decode_cx_receipts_proof, decode_crosslinks,
                                    ShardState.decode, DoubleSignEvidence.decode],
                         ids=lambda f: getattr(f, "__qualname__", str(f)))
def test_every_peer_facing_decoder_refuses_a_million_items_in_linear_time(decode: Callable[[bytes], object]) -> None:
    """Gossip forwards a message before the topic's subscribers decode it, so one quadratic decoder
    would let a 2 MB message stall every validator of a shard for minutes."""
    with pytest.raises(DecodingError):
        decode(_list_of_one_byte_items(MILLION))
