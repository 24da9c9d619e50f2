"""Cross-shard receipts, proofs and the outgoing-receipts root (Harmony core/types/cx_receipt.go)."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.cx_receipt import (
    CXMerkleProof,
    CXReceipt,
    CXReceiptsProof,
    compute_outgoing_receipts_root,
    compute_outgoing_receipts_root_from_shard_roots,
    compute_outgoing_shard_roots,
    decode_cx_receipts_proof,
    encode_cx_receipts_proof,
)
from harmony_node.types.derive_sha import EMPTY_ROOT, derive_sha
from harmony_node.types.header import Header, make_header

hashes = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20)
cx_receipts = st.builds(
    CXReceipt,
    tx_hash=hashes,
    from_address=addresses,
    to_address=addresses,
    shard_id=st.integers(min_value=0, max_value=3),
    to_shard_id=st.integers(min_value=0, max_value=4),
    amount=st.integers(min_value=0, max_value=2**100),
)
merkle_proofs = st.builds(
    CXMerkleProof,
    block_number=st.integers(min_value=0, max_value=2**64),
    block_hash=hashes,
    shard_id=st.integers(min_value=0, max_value=2**32 - 1),
    cx_receipt_hash=hashes,
    shard_ids=st.lists(st.integers(min_value=0, max_value=2**32 - 1), max_size=4),
    cx_shard_hashes=st.lists(hashes, max_size=4),
)
proofs = st.builds(
    CXReceiptsProof,
    receipts=st.lists(cx_receipts, max_size=4),
    merkle_proof=merkle_proofs,
    header=st.builds(make_header, number=st.integers(min_value=0, max_value=2**40), shard_id=st.integers(0, 3)),
    commit_signature=st.binary(max_size=96),
    commit_bitmap=st.binary(max_size=8),
    commit_view=st.integers(min_value=0, max_value=2**64),
)


def receipt_values(receipt: CXReceipt) -> list[object]:
    return [receipt.tx_hash, receipt.from_address, receipt.to_address, receipt.shard_id, receipt.to_shard_id,
            receipt.amount]  # fmt: skip


def header_envelope(header: Header) -> list[object]:
    return [b"HmnyTgd", b"v3", [getattr(header, name) for name, _ in Header._meta.fields]]


def proof_values(proof: CXReceiptsProof) -> list[object]:
    mp = proof.merkle_proof
    return [
        [receipt_values(r) for r in proof.receipts],
        [mp.block_number, mp.block_hash, mp.shard_id, mp.cx_receipt_hash, list(mp.shard_ids),
         list(mp.cx_shard_hashes)],
        header_envelope(proof.header),
        proof.commit_signature,
        proof.commit_bitmap,
        proof.commit_view,
    ]  # fmt: skip


def reference_outgoing_root(receipts: list[CXReceipt]) -> bytes:
    """CXReceipts.ComputeMerkleRoot written out as Go does it: scan shards 0..max, skip empty ones."""
    buffer = b""
    for shard in range(max((r.to_shard_id for r in receipts), default=0) + 1):
        to_shard = [r for r in receipts if r.to_shard_id == shard]
        if to_shard:
            buffer += shard.to_bytes(4, "big") + derive_sha(to_shard)
    return keccak256(buffer) if buffer else EMPTY_ROOT


def make_cx(to_shard_id: int, tag: int) -> CXReceipt:
    return CXReceipt(tx_hash=bytes([tag]) * 32, from_address=b"\x01" * 20, to_address=b"\x02" * 20, shard_id=0,
                     to_shard_id=to_shard_id, amount=10**18 + tag)  # fmt: skip


@settings(max_examples=50)
@given(cx_receipts)
def test_cx_receipt_field_order(receipt: CXReceipt) -> None:
    encoded = rlp.encode(receipt)
    assert encoded == rlp.encode(receipt_values(receipt))
    assert rlp.decode(encoded, sedes=CXReceipt) == receipt


@settings(max_examples=50)
@given(proofs)
def test_proof_encoding_nests_the_tagged_header(proof: CXReceiptsProof) -> None:
    expected = rlp.encode(proof_values(proof))
    assert encode_cx_receipts_proof(proof) == expected
    assert decode_cx_receipts_proof(expected) == proof


def test_no_outgoing_receipts_give_the_empty_root() -> None:
    assert compute_outgoing_receipts_root([]) == EMPTY_ROOT
    assert compute_outgoing_receipts_root_from_shard_roots([]) == EMPTY_ROOT
    assert compute_outgoing_shard_roots([]) == []


def test_outgoing_root_formula_by_hand() -> None:
    a, b, c = make_cx(2, 1), make_cx(0, 2), make_cx(2, 3)
    expected = keccak256(b"\x00\x00\x00\x00" + derive_sha([b]) + b"\x00\x00\x00\x02" + derive_sha([a, c]))
    assert compute_outgoing_receipts_root([a, b, c]) == expected
    assert compute_outgoing_shard_roots([a, b, c]) == [(0, derive_sha([b])), (2, derive_sha([a, c]))]


def test_shard_id_is_four_bytes_big_endian() -> None:
    receipt = make_cx(258, 9)
    assert compute_outgoing_receipts_root([receipt]) == keccak256(b"\x00\x00\x01\x02" + derive_sha([receipt]))


def test_order_within_a_shard_matters_order_across_shards_does_not() -> None:
    a, b, c = make_cx(1, 1), make_cx(1, 2), make_cx(3, 3)
    assert compute_outgoing_receipts_root([a, b, c]) == compute_outgoing_receipts_root([c, a, b])
    assert compute_outgoing_receipts_root([a, b]) != compute_outgoing_receipts_root([b, a])


@settings(max_examples=50)
@given(st.lists(cx_receipts, max_size=10))
def test_outgoing_root_matches_gos_loop(receipts: list[CXReceipt]) -> None:
    assert compute_outgoing_receipts_root(receipts) == reference_outgoing_root(receipts)


# ---- malformed input: only DecodingError ------------------------------------------------------------

VALID = CXReceiptsProof(
    receipts=[make_cx(1, 1), make_cx(1, 2)],
    merkle_proof=CXMerkleProof(block_number=5, block_hash=b"\x05" * 32, shard_id=0, cx_receipt_hash=b"\x06" * 32,
                               shard_ids=[1], cx_shard_hashes=[b"\x07" * 32]),  # fmt: skip
    header=make_header(number=5),
    commit_signature=b"\x08" * 96,
    commit_bitmap=b"\x0f",
    commit_view=6,
)


def mutated(index: int, value: object) -> bytes:
    values = proof_values(VALID)
    values[index] = value
    return rlp.encode(values)


def broken_receipt(position: int, value: object) -> list[object]:
    values = receipt_values(VALID.receipts[0])
    values[position] = value
    return [values]


MALFORMED = {
    "nil To (Go encodes a nil pointer as the empty string)": mutated(0, broken_receipt(2, b"")),
    "short tx hash": mutated(0, broken_receipt(0, bytes(31))),
    "to shard overflows uint32": mutated(0, broken_receipt(4, b"\x01" + bytes(4))),
    "amount with leading zero": mutated(0, broken_receipt(5, b"\x00\x01")),
    "receipt with 5 fields": mutated(0, [receipt_values(VALID.receipts[0])[:5]]),
    "receipts not a list": mutated(0, b""),
    "proof with 5 fields": mutated(1, [5, b"\x05" * 32, 0, b"\x06" * 32, [1]]),
    "proof shard id overflow": mutated(1, [5, b"\x05" * 32, 0, b"\x06" * 32, [2**32], []]),
    "proof shard hash too long": mutated(1, [5, b"\x05" * 32, 0, b"\x06" * 32, [1], [bytes(33)]]),
    "untagged header": mutated(2, header_envelope(VALID.header)[2]),
    "header tagged v2": mutated(2, [b"HmnyTgd", b"v2", header_envelope(VALID.header)[2]]),
    "header as encoded bytes": mutated(2, rlp.encode(header_envelope(VALID.header))),
    "commit signature as list": mutated(3, [b"\x08"]),
    "four fields": rlp.encode(proof_values(VALID)[:4]),
    "seven fields": rlp.encode([*proof_values(VALID), b""]),
    "five fields (Harmony's, without the commit view)": rlp.encode(proof_values(VALID)[:5]),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_proof_is_rejected(data: bytes) -> None:
    with pytest.raises(DecodingError):
        decode_cx_receipts_proof(data)


def test_truncations_are_rejected() -> None:
    data = encode_cx_receipts_proof(VALID)
    assert decode_cx_receipts_proof(data) == VALID
    for end in range(len(data)):
        with pytest.raises(DecodingError):
            decode_cx_receipts_proof(data[:end])


@settings(max_examples=200)
@given(st.binary(max_size=500))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    try:
        proof = decode_cx_receipts_proof(data)
    except DecodingError:
        return
    assert encode_cx_receipts_proof(proof) == data
