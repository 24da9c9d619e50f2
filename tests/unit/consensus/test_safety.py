"""The safety record: one signature per phase per (height, view), never backwards, survives a restart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.safety import Lock, SafetyRecord, VotePhase
from consensus.signing import QuorumCertificate
from harmony_node.exceptions import ConflictingVote, DecodingError

A, B = b"\xaa" * 32, b"\xbb" * 32
LOCK = Lock(3, A, QuorumCertificate(b"\x11" * 96, b"\x07"), b"block bytes")


@pytest.mark.parametrize("phase", list(VotePhase))
def test_one_signature_per_phase_per_view(phase: VotePhase) -> None:
    record = SafetyRecord(5, 2).record_vote(5, 2, phase, A)
    assert record.record_vote(5, 2, phase, A) == record  # signing the same thing again is no conflict
    with pytest.raises(ConflictingVote, match=phase.name):
        record.record_vote(5, 2, phase, B)
    assert record.record_vote(5, 3, phase, B).view == 3  # a later view is a fresh slot
    assert record.record_vote(6, 0, phase, B).height == 6  # so is a later height


def test_never_backwards() -> None:
    record = SafetyRecord(5, 4).record_vote(5, 4, VotePhase.PREPARE, A)
    for height, view in ((5, 3), (4, 9)):
        with pytest.raises(ConflictingVote, match="refusing"):
            record.record_vote(height, view, VotePhase.COMMIT, A)


def test_lock_is_kept_within_a_height_and_dropped_at_the_next() -> None:
    record = SafetyRecord(5, 3).with_lock(5, LOCK)
    assert record.record_vote(5, 7, VotePhase.VIEWCHANGE, A).lock == LOCK
    assert record.record_vote(6, 0, VotePhase.PREPARE, B).lock is None
    with pytest.raises(ConflictingVote):
        record.with_lock(4, LOCK)


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.booleans(),
       st.sampled_from([b"", A, B]), st.sampled_from([b"", A]), st.sampled_from([b"", B]), st.sampled_from([b"", b"\x01"]))
def test_encoding_round_trip(height: int, view: int, locked: bool, announced: bytes, prepared: bytes,
                             committed: bytes, view_changed: bytes) -> None:
    record = SafetyRecord(height, view, announced, prepared, committed, view_changed, LOCK if locked else None)
    assert SafetyRecord.decode(record.encode()) == record


@pytest.mark.parametrize("data", [b"", b"\xc0", b"\x80", b"\xc1\xc0", b"\xc8" + b"\x80" * 7, b"[" * 5000])
def test_garbage_is_a_decoding_error(data: bytes) -> None:
    with pytest.raises(DecodingError):
        SafetyRecord.decode(data)
