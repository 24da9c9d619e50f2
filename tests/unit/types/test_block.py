"""Blocks: the tagged "v2" extblock around a tagged v3 header, body roots, and malformed-input rejection."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import pytest
import rlp
from coincurve import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.block import (
    Block,
    compute_incoming_receipts_root,
    compute_receipts_root,
    compute_transactions_root,
    decode_block,
    encode_block,
)
from harmony_node.types.cx_receipt import CXMerkleProof, CXReceipt, CXReceiptsProof
from harmony_node.types.derive_sha import EMPTY_ROOT
from harmony_node.types.header import Header, encode_header, make_header
from harmony_node.types.receipt import make_receipt
from harmony_node.types.staking_transaction import StakingTransaction
from harmony_node.types.transaction import Transaction

CHAIN_ID = 2  # localnet
KEY = PrivateKey(bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"))
SENDER = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")


def sign(unsigned: list[object]) -> list[object]:
    """EIP-155 signature fields [v, r, s] over keccak256(RLP(unsigned + [chainID, 0, 0]))."""
    signature = KEY.sign_recoverable(keccak256(rlp.encode([*unsigned, CHAIN_ID, 0, 0])), hasher=None)
    r, s, recovery_id = signature[:32], signature[32:64], signature[64]
    return [recovery_id + 35 + 2 * CHAIN_ID, int.from_bytes(r, "big"), int.from_bytes(s, "big")]


def raw_transaction(nonce: int, to_shard: int = 0, data: bytes = b"") -> list[object]:
    """Harmony plain tx [nonce, gasPrice, gas, shardID, toShardID, to, value, data, v, r, s]."""
    unsigned: list[object] = [nonce, 100 * 10**9, 21000, 0, to_shard, b"\x11" * 20, 10**18 + nonce, data]
    return [*unsigned, *sign(unsigned)]


def raw_staking_transaction(nonce: int) -> list[object]:
    """A CollectRewards staking tx [directive 4, [delegator], nonce, gasPrice, gasLimit, v, r, s]."""
    unsigned: list[object] = [4, [SENDER], nonce, 100 * 10**9, 30000]
    return [*unsigned, *sign(unsigned)]


def transaction(nonce: int, to_shard: int = 0, data: bytes = b"") -> Transaction:
    tx: Transaction = rlp.decode(rlp.encode(raw_transaction(nonce, to_shard, data)), sedes=Transaction)
    return tx


def staking_transaction(nonce: int) -> StakingTransaction:
    tx: StakingTransaction = rlp.decode(rlp.encode(raw_staking_transaction(nonce)), sedes=StakingTransaction)
    return tx


def header_envelope(header: Header) -> list[object]:
    return [b"HmnyTgd", b"v3", [getattr(header, name) for name, _ in Header._meta.fields]]


PROOF = CXReceiptsProof(
    receipts=[CXReceipt(tx_hash=b"\x01" * 32, from_address=b"\x02" * 20, to_address=b"\x03" * 20, shard_id=1,
                        to_shard_id=0, amount=5)],  # fmt: skip
    merkle_proof=CXMerkleProof(block_number=9, block_hash=b"\x04" * 32, shard_id=1, cx_receipt_hash=b"\x05" * 32,
                               shard_ids=[0], cx_shard_hashes=[b"\x06" * 32]),  # fmt: skip
    header=make_header(number=9, shard_id=1),
    commit_signature=b"\x07" * 96,
    commit_bitmap=b"\x0f",
    commit_view=6,
)
PROOF_VALUES: list[object] = [
    [[b"\x01" * 32, b"\x02" * 20, b"\x03" * 20, 1, 0, 5]],
    [9, b"\x04" * 32, 1, b"\x05" * 32, [0], [b"\x06" * 32]],
    header_envelope(PROOF.header),
    b"\x07" * 96,
    b"\x0f",
    6,  # commit view
]


@cache
def full_block() -> Block:
    return Block(
        header=make_header(number=3, epoch=1, extra_data=b"block"),
        transactions=[transaction(0), transaction(1, to_shard=1, data=b"\x00\x01")],
        staking_transactions=[staking_transaction(2)],
        uncles=[],
        incoming_receipts=[PROOF],
    )


def test_empty_block_bytes() -> None:
    # Harmony core/types/block_test.go TestBlock_EncodeRLP lays out the v1 extblock as
    # [sig, tag, [tagged header, txs, uncles, incoming]]; extblockV2 adds staking txs after txs.
    header_bytes = encode_header(make_header())
    assert len(header_bytes) == 640
    expected = b"\xf9\x02\x92\x87HmnyTgd\x82v2\xf9\x02\x84" + header_bytes + b"\xc0" * 4
    block = Block(header=make_header(), transactions=[], staking_transactions=[], uncles=[], incoming_receipts=[])
    assert encode_block(block) == expected
    assert decode_block(expected) == block
    assert block.hash == make_header().hash == keccak256(header_bytes)


def test_full_block_matches_plain_rlp_layout() -> None:
    block = full_block()
    expected = rlp.encode(
        [
            b"HmnyTgd",
            b"v2",
            [
                header_envelope(block.header),
                [raw_transaction(0), raw_transaction(1, to_shard=1, data=b"\x00\x01")],
                [raw_staking_transaction(2)],
                [],
                [PROOF_VALUES],
            ],
        ]
    )
    assert encode_block(block) == expected
    decoded = decode_block(expected)
    assert decoded == block
    assert decoded.hash == block.header.hash


@settings(max_examples=30)
@given(
    st.integers(min_value=0, max_value=2**64),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=2),
    st.integers(min_value=0, max_value=2),
)
def test_round_trip(number: int, plain: int, staking: int, proofs: int, shard: int) -> None:
    block = Block(
        header=make_header(number=number, shard_id=shard),
        transactions=[transaction(i) for i in range(plain)],
        staking_transactions=[staking_transaction(plain + i) for i in range(staking)],
        uncles=[],
        incoming_receipts=[PROOF] * proofs,
    )
    decoded = decode_block(encode_block(block))
    assert decoded == block
    assert decoded.hash == block.hash == block.header.hash


def reference_root(*lists: Sequence[rlp.Serializable]) -> bytes:
    trie = HexaryTrie(db={})
    index = 0
    for items in lists:
        for item in items:
            trie.set(rlp.encode(index), rlp.encode(item))
            index += 1
    root: bytes = trie.root_hash
    return root


def test_transactions_root_shares_one_index_across_plain_and_staking() -> None:
    block = full_block()
    root = compute_transactions_root(block)
    assert root == reference_root([*block.transactions, *block.staking_transactions])
    # The staking tx sits at index 2, not 0: rooting the lists separately would give another trie.
    assert root != reference_root(block.staking_transactions, block.transactions)


def test_body_roots_against_py_trie() -> None:
    receipts = [make_receipt(succeeded=i % 2 == 0, cumulative_gas_used=21000 * (i + 1), logs=[]) for i in range(3)]
    assert compute_receipts_root(receipts) == reference_root(receipts)
    assert compute_incoming_receipts_root([PROOF, PROOF]) == reference_root([PROOF, PROOF])


def test_empty_body_roots() -> None:
    empty = Block(header=make_header(), transactions=[], staking_transactions=[], uncles=[], incoming_receipts=[])
    assert compute_transactions_root(empty) == EMPTY_ROOT
    assert compute_receipts_root([]) == EMPTY_ROOT
    assert compute_incoming_receipts_root([]) == EMPTY_ROOT


def test_a_block_with_uncles_cannot_be_encoded() -> None:
    block = Block(header=make_header(), transactions=[], staking_transactions=[], uncles=[make_header()],
                  incoming_receipts=[])  # fmt: skip
    with pytest.raises(rlp.SerializationError):
        encode_block(block)


# ---- malformed input: only DecodingError ------------------------------------------------------------

EMPTY_HEADER = header_envelope(make_header())
BODY: list[object] = [EMPTY_HEADER, [], [], [], []]

MALFORMED = {
    "tag v1 (extblockV1 layout)": rlp.encode([b"HmnyTgd", b"v1", [EMPTY_HEADER, [], [], []]]),
    "tag v1 with v2 layout": rlp.encode([b"HmnyTgd", b"v1", BODY]),
    "tag v3": rlp.encode([b"HmnyTgd", b"v3", BODY]),
    "legacy untagged": rlp.encode(BODY),
    "bad signature": rlp.encode([b"HmnyTgX", b"v2", BODY]),
    "body as encoded bytes": rlp.encode([b"HmnyTgd", b"v2", rlp.encode(BODY)]),
    "envelope of 2": rlp.encode([b"HmnyTgd", b"v2"]),
    "envelope of 4": rlp.encode([b"HmnyTgd", b"v2", BODY, []]),
    "body of 4": rlp.encode([b"HmnyTgd", b"v2", BODY[:4]]),
    "body of 6": rlp.encode([b"HmnyTgd", b"v2", [*BODY, []]]),
    "untagged header": rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER[2], [], [], [], []]]),
    "header tagged v2": rlp.encode([b"HmnyTgd", b"v2", [[b"HmnyTgd", b"v2", EMPTY_HEADER[2]], [], [], [], []]]),
    "uncles present": rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER, [], [], [EMPTY_HEADER], []]]),
    "txs not a list": rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER, b"", [], [], []]]),
    "tx with 10 fields": rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER, [raw_transaction(0)[:10]], [], [], []]]),
    "proof with 4 fields": rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER, [], [], [], [PROOF_VALUES[:4]]]]),
    "staking tx as bytes": rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER, [], [b"\x01"], [], []]]),
}


def with_tx_field(position: int, value: object) -> bytes:
    tx = raw_transaction(0)
    tx[position] = value
    return rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER, [tx], [], [], []]])


def with_staking_field(position: int, value: object) -> bytes:
    tx = raw_staking_transaction(0)
    tx[position] = value
    return rlp.encode([b"HmnyTgd", b"v2", [EMPTY_HEADER, [], [tx], [], []]])


# Embedded transactions get the same checks as a transaction decoded alone.
MALFORMED.update(
    {
        "tx nonce as a list": with_tx_field(0, [b"\x01"]),
        "tx nonce as empty list": with_tx_field(0, []),
        "tx nonce with leading zero": with_tx_field(0, b"\x00\x01"),
        "tx nonce overflows uint64": with_tx_field(0, 2**64),
        "tx shard id overflows uint32": with_tx_field(3, 2**32),
        "tx recipient of 5 bytes": with_tx_field(5, b"\x11" * 5),
        "tx data as a list": with_tx_field(7, [b"\x01"]),
        "staking tx unknown directive": with_staking_field(0, 99),
        "staking tx bad message": with_staking_field(1, [b"\x01" * 19]),
        "staking tx gas as a list": with_staking_field(4, [b"\x01"]),
    }
)


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_block_is_rejected(data: bytes) -> None:
    with pytest.raises(DecodingError):
        decode_block(data)


def test_truncations_and_trailing_bytes_are_rejected() -> None:
    data = encode_block(full_block())
    for end in range(0, len(data), 7):
        with pytest.raises(DecodingError):
            decode_block(data[:end])
    with pytest.raises(DecodingError):
        decode_block(data + b"\x80")


@settings(max_examples=200)
@given(st.binary(max_size=800))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    try:
        block = decode_block(data)
    except DecodingError:
        return
    assert encode_block(block) == data


@settings(max_examples=300)
@given(st.data())
def test_single_byte_corruption_raises_only_decoding_error(data: st.DataObject) -> None:
    original = bytearray(encode_block(full_block()))
    position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    original[position] = data.draw(st.integers(min_value=0, max_value=255))
    try:
        block = decode_block(bytes(original))
    except DecodingError:
        return
    assert encode_block(block) == bytes(original)
