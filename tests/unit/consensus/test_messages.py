"""Consensus messages: deterministic round trips, per-kind shape rules, sender authentication, fuzzing."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.messages import (
    MAX_FUTURE_BLOCKS,
    ConsensusMessage,
    MessageKind,
    decode_message,
    encode_message,
    sign_message,
    validate_message_sender,
)
from consensus.quorum import Committee
from consensus.signing import NIL_PAYLOAD, compute_commit_payload, compute_prepare_payload, compute_viewid_payload
from crypto import bls
from harmony_node.exceptions import DecodingError, InvalidSignature, ValidationError

SECRETS = [bls.generate_secret_key(bytes([i + 60]) * 32) for i in range(4)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
COMMITTEE = Committee.with_equal_power(KEYS, shard_id=1, epoch=2)
OUTSIDER = bls.generate_secret_key(b"\x99" * 32)
HASH = b"\x5a" * 32
HEIGHT, VIEW = 10, 3
CERT = b"\x11" * 96 + b"\x0f"
M1_VIEW = (VIEW - 1).to_bytes(8, "little")


def _message(kind: MessageKind, signer: int = 0, secret: int | None = None) -> ConsensusMessage:
    secret = SECRETS[signer] if secret is None else secret
    sender = bls.secret_to_public(secret)
    base = ConsensusMessage(kind, 1, VIEW, HEIGHT, HASH, sender)
    if kind == MessageKind.PREPARE:
        return replace(base, payload=bls.sign(secret, compute_prepare_payload(HASH, VIEW)))
    if kind == MessageKind.COMMIT:
        return replace(base, payload=bls.sign(secret, compute_commit_payload(HEIGHT, HASH, VIEW)))
    if kind == MessageKind.ANNOUNCE:
        base = replace(base, block=b"\xc0block")
    elif kind in (MessageKind.PREPARED, MessageKind.COMMITTED):
        base = replace(base, payload=CERT, block=b"\xc0block" if kind == MessageKind.PREPARED else b"")
    elif kind == MessageKind.VIEWCHANGE:
        base = replace(base, block_hash=b"", new_leader=KEYS[1], m2=bls.sign(secret, NIL_PAYLOAD),
                       m3=bls.sign(secret, compute_viewid_payload(VIEW)))
    elif kind == MessageKind.NEWVIEW:
        base = replace(base, payload=HASH + M1_VIEW + CERT, block=b"\xc0block", m2=CERT, m3=CERT)
    return sign_message(secret, base)


@pytest.mark.parametrize("kind", list(MessageKind), ids=lambda k: k.name)
def test_round_trip_and_authentication(kind: MessageKind) -> None:
    message = _message(kind)
    raw = encode_message(message)
    assert decode_message(raw) == message and encode_message(decode_message(raw)) == raw
    assert validate_message_sender(COMMITTEE, decode_message(raw), current_height=HEIGHT) == 0


@pytest.mark.parametrize("kind", list(MessageKind), ids=lambda k: k.name)
def test_outsider_wrong_shard_and_far_future_are_dropped(kind: MessageKind) -> None:
    with pytest.raises(ValidationError, match="not in the committee"):
        validate_message_sender(COMMITTEE, _message(kind, secret=OUTSIDER), HEIGHT)
    message = _message(kind)
    with pytest.raises(ValidationError, match="shard"):
        validate_message_sender(Committee.with_equal_power(KEYS, shard_id=0, epoch=2), message, HEIGHT)
    with pytest.raises(ValidationError, match="too far ahead"):
        validate_message_sender(COMMITTEE, message, HEIGHT - MAX_FUTURE_BLOCKS - 1)


@pytest.mark.parametrize("kind", list(MessageKind), ids=lambda k: k.name)
def test_impersonation_fails(kind: MessageKind) -> None:
    """A member's key as sender, with someone else's signatures."""
    forged = replace(_message(kind, signer=1), sender=KEYS[0])
    with pytest.raises(InvalidSignature):
        validate_message_sender(COMMITTEE, forged, HEIGHT)


def test_viewchange_with_a_prepared_block() -> None:
    """M1: the payload names the prepared block, and M2 is the signature over that payload, not NIL."""
    secret = SECRETS[2]
    payload = HASH + M1_VIEW + CERT
    message = sign_message(secret, ConsensusMessage(
        MessageKind.VIEWCHANGE, 1, VIEW, HEIGHT, HASH, KEYS[2], payload=payload, block=b"\xc0block",
        new_leader=KEYS[1], m2=bls.sign(secret, payload), m3=bls.sign(secret, compute_viewid_payload(VIEW))))
    assert validate_message_sender(COMMITTEE, decode_message(encode_message(message)), HEIGHT) == 2
    nil_signed = sign_message(secret, replace(message, m2=bls.sign(secret, NIL_PAYLOAD)))
    with pytest.raises(InvalidSignature):
        validate_message_sender(COMMITTEE, nil_signed, HEIGHT)


def _shaped(kind: MessageKind, draw: st.DrawFn) -> ConsensusMessage:
    """A message of ``kind`` with random contents of the right shapes (signatures are not checked by decoding)."""
    sig = st.binary(min_size=96, max_size=96)
    cert = st.binary(min_size=97, max_size=160)
    block_hash = draw(st.binary(min_size=32, max_size=32))
    base = ConsensusMessage(kind, draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**64 - 1)),
                            draw(st.integers(0, 2**64 - 1)), block_hash, draw(st.binary(min_size=48, max_size=48)))
    block = draw(st.binary(min_size=1, max_size=300))
    if kind in (MessageKind.PREPARE, MessageKind.COMMIT):
        return replace(base, payload=draw(sig))
    if kind in (MessageKind.VIEWCHANGE, MessageKind.NEWVIEW):
        m1 = draw(st.booleans())
        base = replace(base, block_hash=block_hash if m1 else b"", payload=block_hash + M1_VIEW + draw(cert) if m1 else b"",
                       block=block if m1 else b"")
        if kind == MessageKind.VIEWCHANGE:
            base = replace(base, new_leader=draw(st.binary(min_size=48, max_size=48)), m2=draw(sig), m3=draw(sig))
        else:
            base = replace(base, m2=draw(st.one_of(st.just(b""), cert)), m3=draw(cert))
    elif kind == MessageKind.ANNOUNCE:
        base = replace(base, block=block)
    elif kind == MessageKind.PREPARED:
        base = replace(base, payload=draw(cert), block=draw(st.binary(max_size=300)))
    elif kind == MessageKind.COMMITTED:
        base = replace(base, payload=draw(cert))
    return replace(base, signature=draw(sig))


@st.composite
def _messages(draw: st.DrawFn) -> ConsensusMessage:
    return _shaped(draw(st.sampled_from(list(MessageKind))), draw)


@given(_messages())
def test_round_trip_of_any_well_shaped_message(message: ConsensusMessage) -> None:
    raw = encode_message(message)
    assert decode_message(raw) == message
    assert encode_message(decode_message(raw)) == raw


def test_tampered_signed_message_fails() -> None:
    announce = _message(MessageKind.ANNOUNCE)
    with pytest.raises(InvalidSignature):
        validate_message_sender(COMMITTEE, replace(announce, block=b"\xc0other"), HEIGHT)
    commit = _message(MessageKind.COMMIT)
    with pytest.raises(InvalidSignature):  # the commit vote binds the view
        validate_message_sender(COMMITTEE, replace(commit, view_id=VIEW + 1), HEIGHT)


@pytest.mark.parametrize(
    ("kind", "change", "why"),
    [
        (MessageKind.PREPARE, {"payload": b"\x01" * 95}, "one 96-byte signature"),
        (MessageKind.PREPARE, {"signature": b"\x01" * 96}, "no message signature"),
        (MessageKind.COMMIT, {"block": b"\xc0"}, "carries no block"),
        (MessageKind.COMMITTED, {"payload": b"\x01" * 96}, "certificate"),
        (MessageKind.ANNOUNCE, {"block_hash": b"\x01" * 31}, "32 bytes"),
        (MessageKind.ANNOUNCE, {"signature": b""}, "message signature"),
        (MessageKind.ANNOUNCE, {"m2": b"\x01"}, "no view-change"),
        (MessageKind.ANNOUNCE, {"new_leader": KEYS[1]}, "no new leader"),
        (MessageKind.VIEWCHANGE, {"new_leader": b""}, "intended leader"),
        (MessageKind.VIEWCHANGE, {"m3": b""}, "two 96-byte"),
        (MessageKind.PREPARE, {"sender": b"\x01" * 47}, "48-byte"),
        (MessageKind.ANNOUNCE, {"block": b""}, "proposed block"),
        (MessageKind.VIEWCHANGE, {"block_hash": HASH}, "names no block"),
        (MessageKind.VIEWCHANGE, {"block": b"\xc0"}, "names no block"),
        (MessageKind.NEWVIEW, {"payload": HASH + b"\x11" * 96}, "prepare certificate"),
        (MessageKind.NEWVIEW, {"payload": b"\x00" * 32 + M1_VIEW + CERT}, "another block"),
        (MessageKind.NEWVIEW, {"block": b""}, "prepared block"),
        (MessageKind.NEWVIEW, {"m3": b"\x11" * 96}, "M3 certificate"),
        (MessageKind.NEWVIEW, {"m2": b"\x11" * 96}, "M2 is empty or"),
    ],
)
def test_shape_rules(kind: MessageKind, change: dict[str, bytes], why: str) -> None:
    raw = encode_message(replace(_message(kind), **change))  # type: ignore[arg-type]
    with pytest.raises(DecodingError, match=why):
        decode_message(raw)


def test_unknown_kind_and_oversize() -> None:
    raw = encode_message(_message(MessageKind.PREPARE))
    header = 1 + (raw[0] - 0xF7 if raw[0] > 0xF7 else 0)  # the kind is the list's first item
    assert raw[header] == MessageKind.PREPARE
    with pytest.raises(DecodingError, match="unknown"):
        decode_message(raw[:header] + b"\x09" + raw[header + 1 :])
    with pytest.raises(DecodingError, match="larger than"):
        decode_message(b"\x00" * (2 * 1024 * 1024 + 1))


def test_votes_cannot_be_message_signed() -> None:
    with pytest.raises(ValueError):
        sign_message(SECRETS[0], _message(MessageKind.PREPARE))


RAWS = [encode_message(_message(kind)) for kind in MessageKind]


@settings(max_examples=300)
@given(st.sampled_from(RAWS), st.integers(min_value=0), st.integers(0, 255), st.booleans())
def test_mutations_raise_only_decoding_error(raw: bytes, position: int, byte: int, truncate: bool) -> None:
    position %= len(raw)
    mutated = raw[:position] if truncate else raw[:position] + bytes([byte]) + raw[position + 1 :]
    with suppress(DecodingError):  # the only exception allowed
        decode_message(mutated)


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    with suppress(DecodingError):  # the only exception allowed
        decode_message(data)
