"""Fuzzing the chain's wire types: transactions (Harmony, Ethereum, staking), headers, blocks, receipts,
cross-shard receipt proofs, crosslinks and shard states.

Each decoder gets arbitrary bytes and RLP-aware mutations of valid encodings (``fuzz_mutate``). It may
only return or raise the typed error it documents (``DecodingError`` here); what it accepts must
re-encode to exactly the bytes it came from, since every format here is canonical (a hash is taken
over the received bytes).
"""

from __future__ import annotations

from typing import Any

import rlp
from hypothesis import given
from hypothesis import strategies as st

from consensus.evidence import DoubleSignEvidence, Vote
from crypto.hash import keccak256
from harmony_node.types.block import Block, decode_block, encode_block
from harmony_node.types.cx_receipt import (
    CXMerkleProof,
    CXReceipt,
    CXReceiptsProof,
    decode_cx_receipts_proof,
    encode_cx_receipts_proof,
)
from harmony_node.types.eth_transaction import decode_eth_transaction, encode_eth_transaction, sign_eth_transaction
from harmony_node.types.header import decode_header, encode_header, make_header
from harmony_node.types.receipt import Log, Receipt, decode_receipt, encode_receipt, make_receipt
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CollectRewards,
    CommissionRates,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Description,
    EditValidator,
    StakeMessage,
    StakingTransaction,
    Undelegate,
    decode_staking_transaction,
    encode_staking_transaction,
    sign_staking_transaction,
)
from harmony_node.types.transaction import Transaction, decode_transaction, encode_transaction, sign_transaction
from sharding.crosslink import CrossLink, decode_crosslinks, encode_crosslinks
from sharding.shard_state import ShardState, Slot
from fuzzing import attempt, DEEP, draw_input, FUZZ, Mutate, Record



KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
CHAIN_ID = 2
ADDRESS = b"\x11" * 20
VALIDATOR = b"\x22" * 20
BLS_KEY = b"\x8a" + b"\x33" * 47
BLS_SIG = b"\xa4" + b"\x44" * 95










def reencode(obj: rlp.Serializable) -> bytes:
    """The RLP of a fresh copy of ``obj``: decoders keep the received bytes as rlp's cache."""
    fresh = type(obj)(**{name: getattr(obj, name) for name in obj._meta.field_names})
    encoded: bytes = rlp.encode(fresh)
    return encoded


# --- valid encodings ---------------------------------------------------------------------------------


def _tx(nonce: int, **overrides: Any) -> Transaction:
    fields: dict[str, Any] = {"nonce": nonce, "gas_price": 100 * 10**9, "gas_limit": 21_000, "shard_id": 0,
                              "to_shard_id": 0, "to": ADDRESS, "value": 10**18, "data": b"", "private_key": KEY,
                              "chain_id": CHAIN_ID}
    fields.update(overrides)
    return sign_transaction(**fields)


def _staking(message: StakeMessage, nonce: int) -> StakingTransaction:
    return sign_staking_transaction(message, nonce=nonce, gas_price=100 * 10**9, gas_limit=50_000,
                                    private_key=KEY, chain_id=CHAIN_ID)


DESCRIPTION = Description("name", "identity", "https://example.com", "sec@example.com", "détails")
STAKE_MESSAGES: list[StakeMessage] = [
    CreateValidator(VALIDATOR, DESCRIPTION, CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 100),
                    10**22, 10**24, (BLS_KEY,), (BLS_SIG,), 10**22),
    EditValidator(VALIDATOR, DESCRIPTION, DEC_PRECISION // 5, None, 10**25, BLS_KEY, None, None, 1),
    EditValidator(VALIDATOR, DESCRIPTION, None, 10**21, None, None, BLS_KEY, BLS_SIG),
    Delegate(ADDRESS, VALIDATOR, 10**20),
    Undelegate(ADDRESS, VALIDATOR, 1),
    CollectRewards(ADDRESS),
    CompoundRewards(ADDRESS),
]
TXS = [_tx(0), _tx(1, to_shard_id=1, data=b"\x00\x01\x02"), _tx(2**64 - 1, to=b"", data=b"\x60" * 70, value=0)]
STAKING_TXS = [_staking(message, nonce) for nonce, message in enumerate(STAKE_MESSAGES)]
ETH_TXS = [
    sign_eth_transaction(nonce=3, gas_price=10**11, gas_limit=21_000, to=ADDRESS, value=5, data=b"", private_key=KEY,
                         chain_id=1_666_700_000),
    sign_eth_transaction(nonce=0, gas_price=1, gas_limit=10**6, to=b"", value=0, data=b"\xfe" * 60, private_key=KEY,
                         chain_id=1_666_700_001),
]
CROSSLINKS = [CrossLink(b"\x01" * 32, 7, 9, BLS_SIG, b"\x0f", 1, 2), CrossLink(b"\x02" * 32, 8, 10, BLS_SIG, b"", 2, 2)]
SHARD_STATE = ShardState(3, ((Slot(BLS_KEY, VALIDATOR, 10**22), Slot(b"\x8b" + b"\x01" * 47, ADDRESS, 0)),
                             (Slot(b"\x8c" + b"\x02" * 47, bytes(20), 5),)))
EVIDENCE = DoubleSignEvidence(1, 2, 7, 9, Vote((BLS_KEY,), b"\x01" * 32, BLS_SIG), Vote((BLS_KEY,), b"\x02" * 32, BLS_SIG))
HEADER = make_header(
    parent_hash=b"\x05" * 32, number=12, epoch=3, shard_id=0, view_id=14, timestamp=1_700_000_000, gas_limit=80_000_000,
    gas_used=21_000, extra_data=b"extra", last_commit_signature=BLS_SIG, last_commit_bitmap=b"\x07", vrf=b"\x09" * 96,
    shard_state=SHARD_STATE.encode(), cross_links=encode_crosslinks(CROSSLINKS),
    slashes=rlp.encode([EVIDENCE.encode()]),
)
LOGS = [Log(ADDRESS, (b"\x0a" * 32, b"\x0b" * 32), b"log data"), Log(VALIDATOR, (), b"")]
RECEIPTS = [make_receipt(succeeded=True, cumulative_gas_used=21_000, logs=LOGS),
            make_receipt(succeeded=False, cumulative_gas_used=0, logs=[])]
PROOF = CXReceiptsProof(
    receipts=[CXReceipt(b"\x01" * 32, ADDRESS, VALIDATOR, 1, 0, 5), CXReceipt(b"\x02" * 32, ADDRESS, ADDRESS, 1, 0, 0)],
    merkle_proof=CXMerkleProof(9, b"\x04" * 32, 1, b"\x05" * 32, [0, 2], [b"\x06" * 32, b"\x07" * 32]),
    header=make_header(number=9, shard_id=1),
    commit_signature=BLS_SIG,
    commit_bitmap=b"\x0f",
    commit_view=6,
)
BLOCK = Block(header=HEADER, transactions=TXS[:2], staking_transactions=STAKING_TXS[:3], uncles=[],
              incoming_receipts=[PROOF])
EMPTY_BLOCK = Block(header=make_header(), transactions=[], staking_transactions=[], uncles=[], incoming_receipts=[])


# --- transactions -------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzz_transaction(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_transaction(tx) for tx in TXS])
    tx = attempt(fuzz_record, "decode_transaction", decode_transaction, raw)
    if tx is not None:
        assert reencode(tx) == raw and tx.hash == keccak256(raw)


@FUZZ
@given(data=st.data())
def test_fuzz_eth_transaction(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_eth_transaction(tx) for tx in ETH_TXS])
    tx = attempt(fuzz_record, "decode_eth_transaction", decode_eth_transaction, raw)
    if tx is not None:
        assert reencode(tx) == raw and tx.hash == keccak256(raw)


@FUZZ
@given(data=st.data())
def test_fuzz_staking_transaction(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_staking_transaction(tx) for tx in STAKING_TXS])
    tx = attempt(fuzz_record, "decode_staking_transaction", decode_staking_transaction, raw)
    if tx is not None:
        assert reencode(tx) == raw
        # The typed message is a faithful reading of the raw one: it encodes back to the same RLP.
        assert rlp.encode(tx.stake_message.to_rlp()) == rlp.encode(tx.message)


# --- headers, blocks, receipts, proofs ----------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzz_header(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_header(HEADER), encode_header(make_header())])
    header = attempt(fuzz_record, "decode_header", decode_header, raw)
    if header is not None:
        assert reencode(header) == raw and header.hash == keccak256(raw)


@FUZZ
@given(data=st.data())
def test_fuzz_block(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_block(BLOCK), encode_block(EMPTY_BLOCK)])
    block = attempt(fuzz_record, "decode_block", decode_block, raw)
    if block is not None:
        assert reencode(block) == raw


@FUZZ
@given(data=st.data())
def test_fuzz_receipt(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_receipt(receipt) for receipt in RECEIPTS])
    receipt = attempt(fuzz_record, "decode_receipt", decode_receipt, raw)
    if receipt is not None:
        assert isinstance(receipt, Receipt) and reencode(receipt) == raw


@FUZZ
@given(data=st.data())
def test_fuzz_cx_receipts_proof(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_cx_receipts_proof(PROOF)])
    proof = attempt(fuzz_record, "decode_cx_receipts_proof", decode_cx_receipts_proof, raw)
    if proof is not None:
        assert reencode(proof) == raw


# --- beacon header fields: crosslinks, shard state ----------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzz_crosslink(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [link.encode() for link in CROSSLINKS])
    link = attempt(fuzz_record, "CrossLink.decode", CrossLink.decode, raw)
    if link is not None:
        assert link.encode() == raw


@FUZZ
@given(data=st.data())
def test_fuzz_crosslinks(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_crosslinks(CROSSLINKS), encode_crosslinks(CROSSLINKS[:1])])
    links = attempt(fuzz_record, "decode_crosslinks", decode_crosslinks, raw)
    if links is not None:
        assert encode_crosslinks(links) == raw


@FUZZ
@given(data=st.data())
def test_fuzz_shard_state(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [SHARD_STATE.encode()])
    state = attempt(fuzz_record, "ShardState.decode", ShardState.decode, raw)
    if state is not None:
        assert state.encode() == raw


def test_depth_bombs_are_refused_by_every_rlp_decoder(fuzz_record: Record) -> None:
    """3000 nested lists (8.8 kB): recursive RLP decoding would raise RecursionError."""
    for name, decode in (("decode_transaction", decode_transaction), ("decode_eth_transaction", decode_eth_transaction),
                         ("decode_staking_transaction", decode_staking_transaction), ("decode_header", decode_header),
                         ("decode_block", decode_block), ("decode_receipt", decode_receipt),
                         ("decode_cx_receipts_proof", decode_cx_receipts_proof), ("CrossLink.decode", CrossLink.decode),
                         ("decode_crosslinks", decode_crosslinks), ("ShardState.decode", ShardState.decode)):
        assert attempt(fuzz_record, name, decode, DEEP) is None
