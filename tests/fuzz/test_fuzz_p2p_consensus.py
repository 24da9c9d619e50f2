"""Fuzzing what peers send: gossip envelopes and batches, consensus messages and their certificates,
block sync requests, responses and stream frames, slash evidence, and BLS keys and signatures.

Each decoder may only return or raise the typed error it documents; what it accepts re-encodes to the
same bytes where the format is canonical, and decodes to the same value again where it is not.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import rlp
import trio
from hypothesis import example, given
from hypothesis import strategies as st

from consensus.bitmap import decode_bitmap, encode_bitmap
from consensus.evidence import DoubleSignEvidence, Vote
from consensus.fbft import SyncedBlock
from consensus.messages import (
    ConsensusMessage,
    MessageKind,
    decode_message,
    encode_message,
    sign_message,
    verify_message_signatures,
)
from consensus.signing import (
    NIL_PAYLOAD,
    QuorumCertificate,
    compute_commit_payload,
    compute_prepare_payload,
    compute_viewchange_m1_payload,
    compute_viewid_payload,
    parse_viewchange_m1_payload,
)
from crypto import bls
from harmony_node.chain.beacon_execution import decode_slashes, encode_slashes
from harmony_node.exceptions import InvalidKey, InvalidSignature, ValidationError
from harmony_node.node.sync import (
    decode_sync_request,
    decode_sync_response,
    encode_sync_request,
    encode_sync_response,
)
from harmony_node.p2p.envelope import (
    Envelope,
    MessageKind as EnvelopeKind,
    decode_envelope,
    pack_batch,
    unpack_batch,
)
from harmony_node.p2p.errors import FrameError
from harmony_node.p2p.framing import encode_frame, read_frame
from fuzzing import attempt, build_depth_bomb, DEEP, draw_input, FUZZ, FUZZ_RANDOM, Mutate, Record












# --- valid encodings ---------------------------------------------------------------------------------

SECRETS = [bls.generate_secret_key(bytes([i + 60]) * 32) for i in range(3)]
KEYS = [bls.secret_to_public(secret) for secret in SECRETS]
HASH = b"\x5a" * 32
HEIGHT, VIEW = 10, 3
SIGNATURE = bls.sign(SECRETS[0], compute_commit_payload(HEIGHT, HASH, VIEW))
CERT = QuorumCertificate(SIGNATURE, b"\x01")
BLOCK = b"\xc4\x83abc"
M1 = compute_viewchange_m1_payload(HASH, VIEW - 1, CERT)


def _message(kind: MessageKind) -> ConsensusMessage:
    secret = SECRETS[0]
    base = ConsensusMessage(kind, 1, VIEW, HEIGHT, HASH, KEYS[0])
    if kind == MessageKind.PREPARE:
        return replace(base, payload=bls.sign(secret, compute_prepare_payload(HASH, VIEW)))
    if kind == MessageKind.COMMIT:
        return replace(base, payload=bls.sign(secret, compute_commit_payload(HEIGHT, HASH, VIEW)))
    if kind == MessageKind.ANNOUNCE:
        base = replace(base, block=BLOCK)
    elif kind in (MessageKind.PREPARED, MessageKind.COMMITTED):
        base = replace(base, payload=CERT.encode(), block=BLOCK if kind == MessageKind.PREPARED else b"")
    elif kind == MessageKind.VIEWCHANGE:
        base = replace(base, payload=M1, block=BLOCK, new_leader=KEYS[1], m2=bls.sign(secret, M1),
                       m3=bls.sign(secret, compute_viewid_payload(VIEW)))
    elif kind == MessageKind.NEWVIEW:
        base = replace(base, payload=M1, block=BLOCK, m2=CERT.encode(), m3=CERT.encode())
    return sign_message(secret, base)


MESSAGES = [encode_message(_message(kind)) for kind in MessageKind] + [
    encode_message(sign_message(SECRETS[1], ConsensusMessage(
        MessageKind.VIEWCHANGE, 1, VIEW, HEIGHT, b"", KEYS[1], new_leader=KEYS[2],
        m2=bls.sign(SECRETS[1], NIL_PAYLOAD), m3=bls.sign(SECRETS[1], compute_viewid_payload(VIEW)))))
]
EVIDENCE = DoubleSignEvidence(1, 2, HEIGHT, VIEW, Vote((KEYS[0],), HASH, SIGNATURE),
                              Vote((KEYS[0], KEYS[1]), b"\x5b" * 32, SIGNATURE))
SYNCED = (SyncedBlock(BLOCK, 4, CERT), SyncedBlock(b"\xc0", 2**64 - 1, QuorumCertificate(SIGNATURE, b"")))
ENVELOPES = [
    Envelope(EnvelopeKind.CONSENSUS, MESSAGES[0]),
    pack_batch(EnvelopeKind.TRANSACTION, [b"\xc3\x01\x02\x03", b"tx2", b""]),
    pack_batch(EnvelopeKind.STAKING, [b"\xc0"]),
    Envelope(EnvelopeKind.CROSSLINK, b"\xc2\x01\x02"),
    Envelope(EnvelopeKind.RECEIPT, b""),
    Envelope(EnvelopeKind.BLOCK_SYNC, encode_sync_response(SYNCED)),
    Envelope(EnvelopeKind.SLASH_CANDIDATE, EVIDENCE.encode()),
]


# --- gossip envelopes and batches ---------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzz_envelope(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [envelope.encode() for envelope in ENVELOPES])
    envelope = attempt(fuzz_record, "decode_envelope", decode_envelope, raw)
    if envelope is not None:
        assert envelope.encode() == raw


@FUZZ
@given(data=st.data())
def test_fuzz_unpack_batch(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    kind = data.draw(st.sampled_from(list(EnvelopeKind)), label="kind")
    payload = draw_input(data, fuzz_mutate, [envelope.payload for envelope in ENVELOPES[1:3]])
    items = attempt(fuzz_record, "unpack_batch", lambda raw: unpack_batch(Envelope(kind, raw)), payload)
    if items is not None:
        assert pack_batch(kind, items).payload == payload


# --- consensus --------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzz_consensus_message(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, MESSAGES)
    message = attempt(fuzz_record, "decode_message", decode_message, raw)
    if message is None:
        return
    assert encode_message(message) == raw
    # What a node does next with a decoded message from anyone: the signatures (bad keys included).
    attempt(fuzz_record, "verify_message_signatures", lambda _: verify_message_signatures(message), raw,
            allowed=InvalidSignature)
    if message.kind in (MessageKind.VIEWCHANGE, MessageKind.NEWVIEW) and message.payload:
        attempt(fuzz_record, "parse_viewchange_m1_payload", parse_viewchange_m1_payload, message.payload)


@FUZZ
@given(data=st.data())
def test_fuzz_certificate_and_bitmap(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [CERT.encode(), M1])
    certificate = attempt(fuzz_record, "QuorumCertificate.decode", QuorumCertificate.decode, raw)
    if certificate is not None:
        assert certificate.encode() == raw
    m1 = attempt(fuzz_record, "parse_viewchange_m1_payload", parse_viewchange_m1_payload, raw)
    if m1 is not None:
        assert compute_viewchange_m1_payload(*m1) == raw
    size = data.draw(st.integers(0, 1100), label="committee size")
    signers = attempt(fuzz_record, "decode_bitmap", lambda bitmap: decode_bitmap(bitmap, size), raw)
    if signers is not None:
        assert encode_bitmap(signers, size) == raw


@FUZZ
@given(data=st.data())
def test_fuzz_double_sign_evidence(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [EVIDENCE.encode()])
    evidence = attempt(fuzz_record, "DoubleSignEvidence.decode", DoubleSignEvidence.decode, raw)
    if evidence is not None:
        assert evidence.encode() == raw


# Found by this fuzzing: an empty list read as the integer 0 (rlp's big_endian_int), so one evidence had
# a second encoding, and so a second keccak256 identity in the slash record.
EVIDENCE_EPOCH_AS_LIST = rlp.encode([[[], 1, HEIGHT, VIEW], EVIDENCE.first.to_rlp(), EVIDENCE.second.to_rlp()])


@FUZZ_RANDOM
@given(raw=st.binary(max_size=300))
@example(raw=EVIDENCE_EPOCH_AS_LIST)
def test_fuzz_double_sign_evidence_arbitrary_bytes(raw: bytes, fuzz_record: Record) -> None:
    evidence = attempt(fuzz_record, "DoubleSignEvidence.decode", DoubleSignEvidence.decode, raw)
    if evidence is not None:
        assert evidence.encode() == raw


@FUZZ
@given(data=st.data())
def test_fuzz_slashes(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_slashes([EVIDENCE.encode(), b"\x01"]), encode_slashes([b""])])
    slashes = attempt(fuzz_record, "decode_slashes", decode_slashes, raw, allowed=ValidationError)
    if slashes is not None:
        assert decode_slashes(encode_slashes(slashes)) == slashes


@FUZZ_RANDOM
@given(raw=st.binary(max_size=300))
@example(raw=DEEP)  # found by this fuzzing: RecursionError before the fix
def test_fuzz_slashes_arbitrary_bytes(raw: bytes, fuzz_record: Record) -> None:
    attempt(fuzz_record, "decode_slashes", decode_slashes, raw, allowed=ValidationError)


# --- block sync ---------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzz_sync_request(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_sync_request(1), encode_sync_request(2**64 - 1, 0)])
    request = attempt(fuzz_record, "decode_sync_request", decode_sync_request, raw)
    if request is not None:
        # Not canonical (leading zeros are read as numbers), so the value, not the bytes, round-trips.
        assert decode_sync_request(encode_sync_request(*request)) == request


@FUZZ
@given(data=st.data())
def test_fuzz_sync_response(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_sync_response(SYNCED), encode_sync_response(())])
    blocks = attempt(fuzz_record, "decode_sync_response", decode_sync_response, raw)
    if blocks is not None:
        assert decode_sync_response(encode_sync_response(blocks)) == blocks


@FUZZ_RANDOM
@given(raw=st.binary(max_size=300))
@example(raw=DEEP)  # found by this fuzzing: RecursionError before the fix
@example(raw=build_depth_bomb(2))
def test_fuzz_sync_arbitrary_bytes(raw: bytes, fuzz_record: Record) -> None:
    attempt(fuzz_record, "decode_sync_request", decode_sync_request, raw)
    attempt(fuzz_record, "decode_sync_response", decode_sync_response, raw)


class _ChunkedStream:
    """The read side of a stream that delivers ``data`` in the given chunk sizes, then EOF."""

    def __init__(self, data: bytes, chunks: list[int]) -> None:
        self._data = data
        self._chunks = chunks

    async def read(self, n: int | None = None) -> bytes:
        size = self._chunks.pop(0) if self._chunks else len(self._data)
        size = min(size, n if n is not None else size)
        piece, self._data = self._data[:size], self._data[size:]
        return piece


@FUZZ
@given(data=st.data())
def test_fuzz_stream_frame(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = draw_input(data, fuzz_mutate, [encode_frame(encode_sync_request(5)), encode_frame(b"")])
    chunks = data.draw(st.lists(st.integers(1, 8), max_size=6), label="chunks")
    max_size = data.draw(st.sampled_from([16, 1024, 20 * 1024 * 1024]), label="max size")

    def read(stream_bytes: bytes) -> bytes | None:
        return trio.run(read_frame, _ChunkedStream(stream_bytes, list(chunks)), max_size)

    frame = attempt(fuzz_record, "read_frame", read, raw, allowed=FrameError)
    if frame is not None:
        assert raw.startswith(encode_frame(frame, max_size))


# --- BLS keys and signatures from peers -----------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzz_bls_keys_and_signatures(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    public_key = draw_input(data, fuzz_mutate, KEYS)
    signature = draw_input(data, fuzz_mutate, [SIGNATURE])
    payload = compute_commit_payload(HEIGHT, HASH, VIEW)
    outcome = attempt(fuzz_record, "bls.verify", lambda _: bls.verify(public_key, payload, signature), b"",
                      allowed=())
    assert outcome is True or outcome is False
    attempt(fuzz_record, "bls.fast_aggregate_verify",
            lambda _: bls.fast_aggregate_verify([public_key, KEYS[1]], payload, signature), b"", allowed=())
    attempt(fuzz_record, "bls.aggregate_public_keys", lambda _: bls.aggregate_public_keys([public_key]), b"",
            allowed=InvalidKey)
    attempt(fuzz_record, "bls.aggregate_signatures", lambda _: bls.aggregate_signatures([signature, SIGNATURE]), b"",
            allowed=InvalidSignature)
    secret_bytes = draw_input(data, fuzz_mutate, [bls.secret_key_to_bytes(secret) for secret in SECRETS])
    secret = attempt(fuzz_record, "bls.secret_key_from_bytes", bls.secret_key_from_bytes, secret_bytes,
                     allowed=InvalidKey)
    if secret is not None:
        assert bls.secret_key_to_bytes(secret) == secret_bytes
