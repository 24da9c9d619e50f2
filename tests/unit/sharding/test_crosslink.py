"""Crosslinks: Harmony's field order, strict decoding, validation against a committee, selection."""

from __future__ import annotations

from dataclasses import replace

import pytest
import rlp
from hypothesis import given
from hypothesis import strategies as st

from consensus.quorum import Committee
from consensus.signing import QuorumCertificate, aggregate_votes, compute_commit_payload
from crypto import bls
from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.types.header import Header, make_header
from sharding.crosslink import (
    MAX_BITMAP_SIZE,
    CrossLink,
    InvalidCrossLink,
    build_crosslink,
    decode_crosslinks,
    encode_crosslinks,
    select_crosslinks,
    validate_crosslink,
)

SHARD, EPOCH = 2, 5
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 5)]
COMMITTEE = Committee.with_equal_power([bls.secret_to_public(s) for s in SECRETS], SHARD, EPOCH)

crosslinks = st.builds(
    CrossLink,
    hash=st.binary(min_size=32, max_size=32),
    block_number=st.integers(0, 2**64 - 1),
    view_id=st.integers(0, 2**64 - 1),
    signature=st.binary(min_size=96, max_size=96),
    bitmap=st.binary(max_size=MAX_BITMAP_SIZE),
    shard_id=st.integers(0, 2**32 - 1),
    epoch=st.integers(0, 2**64 - 1),
)


def make_block(number: int = 7, view: int = 9) -> Header:
    return make_header(number=number, shard_id=SHARD, epoch=EPOCH, view_id=view, parent_hash=bytes([number]) * 32)


def certify(header: Header, view: int, signers: tuple[int, ...] = (0, 1, 2)) -> QuorumCertificate:
    payload = compute_commit_payload(header.number, header.hash, view)
    certificate, _ = aggregate_votes(COMMITTEE, payload, {i: bls.sign(SECRETS[i], payload) for i in signers})
    return certificate


def make_link(shard: int, number: int, tag: int = 0) -> CrossLink:
    return CrossLink(bytes([tag]) * 32, number, number, b"\x00" * 96, b"\x0f", shard, 1)


@given(crosslinks)
def test_round_trip(crosslink: CrossLink) -> None:
    encoded = crosslink.encode()
    assert rlp.decode(encoded)[0] == crosslink.hash  # Harmony's field order: hash first
    assert CrossLink.decode(encoded) == crosslink
    assert decode_crosslinks(encode_crosslinks([crosslink, crosslink])) == (crosslink, crosslink)


@given(st.lists(crosslinks, max_size=16))
def test_list_round_trip(links: list[CrossLink]) -> None:
    encoded = encode_crosslinks(links)
    assert (encoded == b"") == (not links)
    assert decode_crosslinks(encoded) == tuple(links)


@given(st.binary(max_size=400))
def test_random_bytes_fail_cleanly(data: bytes) -> None:
    for decode in (CrossLink.decode, decode_crosslinks):
        try:
            decoded = decode(data)
        except DecodingError:
            continue
        if isinstance(decoded, CrossLink):
            assert decoded.encode() == data
        else:
            assert encode_crosslinks(decoded) == data


@given(crosslinks, st.data())
def test_mutated_encodings_fail_cleanly(crosslink: CrossLink, data: st.DataObject) -> None:
    encoded = bytearray(crosslink.encode())
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] ^= data.draw(st.integers(1, 255))
    try:
        decoded = CrossLink.decode(bytes(encoded))
    except DecodingError:
        return
    assert decoded.encode() == bytes(encoded) and decoded != crosslink


def _fields(**changes: object) -> list[object]:
    fields: dict[str, object] = {
        "hash": b"\x01" * 32, "number": 1, "view": 1, "signature": b"\x02" * 96,
        "bitmap": b"\x07", "shard": 1, "epoch": 1,
    }
    return list({**fields, **changes}.values())


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (_fields(hash=b"\x01" * 31), "hash"),
        (_fields(signature=b"\x02" * 95), "signature"),
        (_fields(number=2**64), "block number"),
        (_fields(view=b"\x00\x01"), "leading zero"),
        (_fields(shard=2**32), "shard id"),
        (_fields(epoch=[]), "nested"),
        (_fields(bitmap=b"\xff" * (MAX_BITMAP_SIZE + 1)), "bitmap"),
        (_fields()[:6], "7 items"),
        (_fields() + [b""], "7 items"),
        (b"\x01" * 32, "7 items"),
    ],
)
def test_malformed_crosslinks(item: object, reason: str) -> None:
    with pytest.raises(DecodingError, match=reason):
        CrossLink.decode(rlp.encode(item))


def test_malformed_crosslink_lists() -> None:
    link = make_link(1, 1)
    with pytest.raises(DecodingError, match="non-empty"):
        decode_crosslinks(b"\xc0")
    with pytest.raises(DecodingError, match="at most 2"):
        decode_crosslinks(encode_crosslinks([link] * 3), max_count=2)
    with pytest.raises(DecodingError, match="too long"):
        decode_crosslinks(b"\xc0" * 10_000)
    with pytest.raises(DecodingError, match="nested"):
        decode_crosslinks(rlp.encode([[_fields()]]))
    with pytest.raises(DecodingError, match="canonical"):
        decode_crosslinks(encode_crosslinks([link]) + b"\x00")
    with pytest.raises(DecodingError, match="crosslink 1"):
        decode_crosslinks(rlp.encode([_fields(), _fields()[:6]]))


def test_constructor_bounds() -> None:
    with pytest.raises(ValidationError):
        CrossLink(b"\x01" * 32, -1, 0, b"\x00" * 96, b"", 1, 0)
    with pytest.raises(ValidationError):
        CrossLink(b"\x01" * 32, 1, 0, b"\x00" * 95, b"", 1, 0)


def test_build_and_validate() -> None:
    header = make_block()
    link = build_crosslink(header, 9, certify(header, 9))
    assert (link.hash, link.block_number, link.view_id, link.shard_id, link.epoch) == (header.hash, 7, 9, SHARD, EPOCH)
    validate_crosslink(link, COMMITTEE)
    validate_crosslink(CrossLink.decode(link.encode()), COMMITTEE)
    # Committed after a view change: the crosslink carries the commit view, which is what was signed.
    late = build_crosslink(header, 11, certify(header, 11))
    assert late.view_id == 11
    validate_crosslink(late, COMMITTEE)


def test_build_from_the_child_header() -> None:
    """Harmony builds crosslink N from header N+1's LastCommitSig, whose commit view is view_id - 1."""
    parent = make_block()
    certificate = certify(parent, 9)
    child = make_header(
        number=8, shard_id=SHARD, epoch=EPOCH, view_id=10, parent_hash=parent.hash,
        last_commit_signature=certificate.signature, last_commit_bitmap=certificate.bitmap,
    )
    carried = QuorumCertificate(child.last_commit_signature, child.last_commit_bitmap)
    link = build_crosslink(parent, child.view_id - 1, carried)
    validate_crosslink(link, COMMITTEE)


def test_build_rejects() -> None:
    header = make_block()
    certificate = certify(header, 9)
    with pytest.raises(ValidationError, match="precedes"):
        build_crosslink(header, 8, certificate)
    with pytest.raises(ValidationError, match="beacon"):
        build_crosslink(header.copy(shard_id=0), 9, certificate)
    with pytest.raises(ValidationError, match="genesis"):
        build_crosslink(header.copy(number=0), 9, certificate)


def _expect_invalid(link: CrossLink, reason: str, committee: Committee = COMMITTEE) -> None:
    with pytest.raises(InvalidCrossLink, match=reason):
        validate_crosslink(link, committee)


def test_validate_rejects_forgeries() -> None:
    header = make_block()
    link = build_crosslink(header, 9, certify(header, 9))
    _expect_invalid(link, "committee of shard 2 epoch 6", Committee.with_equal_power(COMMITTEE.public_keys, SHARD, 6))
    _expect_invalid(link, "committee of shard 3", Committee.with_equal_power(COMMITTEE.public_keys, 3, EPOCH))
    _expect_invalid(replace(link, block_number=0), "genesis")
    beacon = Committee.with_equal_power(COMMITTEE.public_keys, 0, EPOCH)
    _expect_invalid(replace(link, shard_id=0), "beacon", beacon)
    for forged in (
        replace(link, view_id=10),
        replace(link, block_number=8),
        replace(link, hash=b"\x00" * 32),
        replace(link, bitmap=b"\x0f"),  # claims a signer who did not sign
    ):
        _expect_invalid(forged, "commit certificate")
    two = certify(header, 9, signers=(0, 1))
    _expect_invalid(build_crosslink(header, 9, two), "not a quorum")
    with pytest.raises(ValidationError):  # InvalidCrossLink is a ValidationError
        validate_crosslink(replace(link, signature=bytes(96)), COMMITTEE)


def test_select_skips_dedupes_sorts_and_caps() -> None:
    pending = [
        make_link(2, 5), make_link(1, 3), make_link(1, 2), make_link(2, 4), make_link(1, 3),
        make_link(3, 1), make_link(1, 9),
    ]
    chosen = select_crosslinks(pending, {1: 2, 2: 4})
    assert [(link.shard_id, link.block_number) for link in chosen] == [(1, 3), (1, 9), (2, 5), (3, 1)]
    assert select_crosslinks(pending, {}, cap=2) == (make_link(1, 2), make_link(1, 3))
    assert select_crosslinks(pending, {1: 100, 2: 100, 3: 100}) == ()
    assert select_crosslinks([], {}) == ()
    with pytest.raises(ValidationError):
        select_crosslinks(pending, {}, cap=-1)


def test_select_is_independent_of_arrival_order() -> None:
    conflicting = [make_link(1, 3, tag=2), make_link(1, 3, tag=1), make_link(1, 4)]
    first = select_crosslinks(conflicting, {})
    assert first == select_crosslinks(list(reversed(conflicting)), {})
    assert [link.hash[0] for link in first] == [1, 0]


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 30)), max_size=40), st.integers(0, 20))
def test_select_properties(keys: list[tuple[int, int]], cap: int) -> None:
    last = {1: 10, 2: 0}
    chosen = select_crosslinks([make_link(shard, number) for shard, number in keys], last, cap)
    picked = [(link.shard_id, link.block_number) for link in chosen]
    expected = sorted({(s, n) for s, n in keys if n > last.get(s, 0)})[:cap]
    assert picked == expected
