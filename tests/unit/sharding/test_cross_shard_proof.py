"""Cross-shard receipt proofs: building them on the source shard, checks 1–4 on the destination."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.quorum import Committee
from consensus.signing import QuorumCertificate, aggregate_votes, compute_commit_payload
from crypto import bls
from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.types.cx_receipt import (
    CXReceipt,
    CXReceiptsProof,
    compute_outgoing_receipts_root,
    decode_cx_receipts_proof,
    encode_cx_receipts_proof,
)
from harmony_node.types.header import Header, make_header
from sharding.cross_shard import (
    InvalidCrossShardProof,
    build_cx_receipts_proof,
    compute_proof_key,
    validate_cx_receipts_proof,
)

SOURCE_SHARD, EPOCH, NUMBER, VIEW = 1, 2, 10, 12
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 5)]
COMMITTEE = Committee.with_equal_power([bls.secret_to_public(s) for s in SECRETS], SOURCE_SHARD, EPOCH)


def make_receipt(index: int, to_shard: int, amount: int = 100) -> CXReceipt:
    return CXReceipt(
        tx_hash=bytes([index]) * 32,
        from_address=b"\x01" * 20,
        to_address=bytes([0x40 + index]) * 20,
        shard_id=SOURCE_SHARD,
        to_shard_id=to_shard,
        amount=amount + index,
    )


RECEIPTS = [make_receipt(0, 2), make_receipt(1, 0), make_receipt(2, 2), make_receipt(3, 3)]


def make_source_header(receipts: list[CXReceipt] = RECEIPTS, **fields: object) -> Header:
    values: dict[str, object] = {
        "number": NUMBER,
        "shard_id": SOURCE_SHARD,
        "epoch": EPOCH,
        "view_id": VIEW,
        "outgoing_receipts_root": compute_outgoing_receipts_root(receipts),
        "parent_hash": b"\x77" * 32,
    }
    return make_header(**{**values, **fields})


def certify(header: Header, view: int, signers: tuple[int, ...] = (0, 1, 2)) -> QuorumCertificate:
    payload = compute_commit_payload(header.number, header.hash, view)
    certificate, rejected = aggregate_votes(COMMITTEE, payload, {i: bls.sign(SECRETS[i], payload) for i in signers})
    assert not rejected
    return certificate


@cache
def make_proof(view: int = VIEW) -> CXReceiptsProof:
    header = make_source_header()
    proof = build_cx_receipts_proof(header, RECEIPTS, 2, certify(header, view), view)
    assert proof is not None
    return proof


def test_build_proof_for_one_destination() -> None:
    proof = make_proof()
    assert list(proof.receipts) == [RECEIPTS[0], RECEIPTS[2]]
    merkle = proof.merkle_proof
    assert list(merkle.shard_ids) == [0, 2, 3]
    assert (merkle.block_number, merkle.shard_id, merkle.block_hash) == (NUMBER, SOURCE_SHARD, proof.header.hash)
    assert merkle.cx_receipt_hash == proof.header.outgoing_receipts_root
    assert len(proof.commit_signature) == 96
    header = make_source_header()
    assert build_cx_receipts_proof(header, RECEIPTS, 4, certify(header, VIEW), VIEW) is None


def test_build_rejects_inconsistent_inputs() -> None:
    header = make_source_header()
    certificate = certify(header, VIEW)
    with pytest.raises(ValidationError, match="itself"):
        build_cx_receipts_proof(header, RECEIPTS, SOURCE_SHARD, certificate, VIEW)
    with pytest.raises(ValidationError, match="outgoing receipts root"):
        build_cx_receipts_proof(header, RECEIPTS[:3], 2, certificate, VIEW)
    foreign = [make_receipt(0, 2).copy(shard_id=3)]
    with pytest.raises(ValidationError, match="another source shard"):
        build_cx_receipts_proof(make_source_header(foreign), foreign, 2, certificate, VIEW)


def test_valid_proof_yields_its_receipts() -> None:
    proof = make_proof()
    assert validate_cx_receipts_proof(proof, 2, COMMITTEE) == (RECEIPTS[0], RECEIPTS[2])
    relayed = decode_cx_receipts_proof(encode_cx_receipts_proof(proof))
    assert validate_cx_receipts_proof(relayed, 2, COMMITTEE) == (RECEIPTS[0], RECEIPTS[2])


def test_commit_view_after_a_view_change() -> None:
    proof = make_proof(VIEW + 2)  # proposed in view 12, committed in view 14
    assert proof.commit_view == VIEW + 2
    assert len(validate_cx_receipts_proof(proof, 2, COMMITTEE)) == 2
    for wrong in (VIEW, VIEW + 1, VIEW + 3):  # a proof claiming another commit view
        with pytest.raises(InvalidCrossShardProof) as failure:
            validate_cx_receipts_proof(proof.copy(commit_view=wrong), 2, COMMITTEE)
        assert failure.value.check == "commit signature"
    with pytest.raises(InvalidCrossShardProof, match="precedes"):
        validate_cx_receipts_proof(make_proof().copy(commit_view=VIEW - 1), 2, COMMITTEE)


def _expect(check: str, proof: CXReceiptsProof, my_shard: int = 2, committee: Committee = COMMITTEE) -> None:
    with pytest.raises(InvalidCrossShardProof) as failure:
        validate_cx_receipts_proof(proof, my_shard, committee)
    assert failure.value.check == check, failure.value


def test_check_1_receipts() -> None:
    proof = make_proof()
    _expect("receipts", proof, my_shard=3)  # receipts are for shard 2
    _expect("receipts", proof, my_shard=SOURCE_SHARD)
    _expect("receipts", proof.copy(receipts=[]))
    _expect("receipts", proof.copy(receipts=[proof.receipts[0]]))  # one receipt withheld
    _expect("receipts", proof.copy(receipts=[proof.receipts[0], proof.receipts[1].copy(amount=10**30)]))
    _expect("receipts", proof.copy(receipts=list(reversed(proof.receipts))))
    _expect("receipts", proof.copy(receipts=[r.copy(shard_id=3) for r in proof.receipts]))
    merkle = proof.merkle_proof
    _expect("receipts", proof.copy(merkle_proof=merkle.copy(shard_ids=[0, 3])))
    _expect("receipts", proof.copy(merkle_proof=merkle.copy(shard_ids=[0, 1, 3])))


def test_check_2_shard_roots() -> None:
    proof = make_proof()
    merkle = proof.merkle_proof
    hashes = list(merkle.cx_shard_hashes)
    _expect("shard roots", proof.copy(merkle_proof=merkle.copy(cx_shard_hashes=[b"\x00" * 32] + hashes[1:])))
    _expect("shard roots", proof.copy(merkle_proof=merkle.copy(shard_ids=[3, 2, 0], cx_shard_hashes=hashes[::-1])))
    _expect("shard roots", proof.copy(merkle_proof=merkle.copy(cx_receipt_hash=b"\x00" * 32)))


def test_check_3_header() -> None:
    proof = make_proof()
    merkle = proof.merkle_proof
    _expect("header", proof.copy(header=proof.header.copy(timestamp=1)))
    # A header that hashes right but commits to other receipts.
    other = make_source_header([make_receipt(9, 2)])
    _expect("header", proof.copy(header=other, merkle_proof=merkle.copy(block_hash=other.hash)))
    # The proof's number and shard are bound to the header (they key spent-proof bookkeeping).
    _expect("header", proof.copy(merkle_proof=merkle.copy(block_number=NUMBER + 1)))
    _expect("header", proof.copy(merkle_proof=merkle.copy(shard_id=3)))


def test_check_4_commit_signature() -> None:
    proof = make_proof()
    header = proof.header
    _expect("commit signature", proof, committee=Committee.with_equal_power(COMMITTEE.public_keys, SOURCE_SHARD, 3))
    _expect("commit signature", proof, committee=Committee.with_equal_power(COMMITTEE.public_keys, 3, EPOCH))
    two = certify(header, VIEW, signers=(0, 1))  # not a quorum of 4
    _expect("commit signature", proof.copy(commit_signature=two.signature, commit_bitmap=two.bitmap))
    strangers = [bls.generate_secret_key(bytes([i]) * 32) for i in range(50, 54)]
    payload = compute_commit_payload(NUMBER, header.hash, VIEW)
    forged = QuorumCertificate(bls.aggregate_signatures([bls.sign(s, payload) for s in strangers[:3]]), b"\x07")
    _expect("commit signature", proof.copy(commit_signature=forged.signature, commit_bitmap=forged.bitmap))
    _expect("commit signature", proof.copy(commit_bitmap=b"\x0f"))  # claims a signer who did not sign
    _expect("commit signature", proof.copy(commit_bitmap=b"\x07\x00"))
    _expect("commit signature", proof.copy(commit_signature=proof.commit_signature[:95]))
    _expect("commit signature", proof.copy(commit_signature=bytes(96)))


def test_errors_are_validation_errors_with_the_check_named() -> None:
    with pytest.raises(ValidationError, match="check 'receipts'"):
        validate_cx_receipts_proof(make_proof(), 3, COMMITTEE)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_byte_mutation_is_rejected(data: st.DataObject) -> None:
    """Every field of a proof is bound by some check: a mutated relay message never validates."""
    encoded = bytearray(encode_cx_receipts_proof(make_proof()))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] ^= data.draw(st.integers(1, 255))
    try:
        mutated = decode_cx_receipts_proof(bytes(encoded))
    except DecodingError:
        return
    with pytest.raises(ValidationError):
        validate_cx_receipts_proof(mutated, 2, COMMITTEE)


def test_proof_key_identifies_the_source_block() -> None:
    proof = make_proof()
    assert compute_proof_key(proof) == SOURCE_SHARD.to_bytes(4, "big") + NUMBER.to_bytes(8, "big")
    later = proof.copy(header=proof.header.copy(number=NUMBER + 1))
    assert compute_proof_key(later) != compute_proof_key(proof)
    with pytest.raises(ValidationError):
        compute_proof_key(proof.copy(header=proof.header.copy(number=2**64)))
