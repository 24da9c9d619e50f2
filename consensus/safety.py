"""The safety record: what a validator has signed, so that it never signs two conflicting votes.

A node signs at most one proposal (as leader), one prepare vote, one commit vote and one view-change
vote per (height, view), and never signs for a (height, view) earlier than its latest. It also
keeps its *lock*: the prepare certificate with the highest view it has seen at the current height,
which decides what it may prepare after a view change (see ``fbft``). Forgetting either after a
crash could make an honest node equivocate, so the node persists the record before any message
that depends on it leaves the process (``fbft`` emits the persist action first), and restores it
on start.

Only the latest (height, view) is kept: views never decrease, so everything earlier is refused
by comparison alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

import rlp
from rlp.exceptions import RLPException

from consensus.signing import QuorumCertificate
from harmony_node.exceptions import ConflictingVote, DecodingError
from harmony_node.types.rlp_codec import validate_rlp_depth


class VotePhase(Enum):
    """The four things a node signs in one view."""

    ANNOUNCE = "announced"
    PREPARE = "prepared"
    COMMIT = "committed"
    VIEWCHANGE = "view_changed"


@dataclass(frozen=True, slots=True)
class Lock:
    """A prepare certificate for ``block_hash`` formed in ``view``, with the block's wire bytes."""

    view: int
    block_hash: bytes
    certificate: QuorumCertificate
    block: bytes


@dataclass(frozen=True, slots=True)
class SafetyRecord:
    """The votes signed at the latest (height, view), and the lock held at that height."""

    height: int
    view: int
    announced: bytes = b""
    prepared: bytes = b""
    committed: bytes = b""
    view_changed: bytes = b""
    lock: Lock | None = None

    def is_at_or_before(self, height: int, view: int) -> bool:
        """Whether (height, view) is not earlier than this record's, so signing there may be allowed."""
        return (height, view) >= (self.height, self.view)

    def record_vote(self, height: int, view: int, phase: VotePhase, block_hash: bytes) -> SafetyRecord:
        """The record after signing ``phase`` for ``block_hash`` at (height, view).

        Signing the same thing again is allowed (a retransmission is not a conflict); anything
        else already signed there, or any earlier (height, view), raises ConflictingVote.
        """
        if (height, view) < (self.height, self.view):
            raise ConflictingVote(f"already signed at height {self.height} view {self.view}; refusing {height}/{view}")
        if (height, view) > (self.height, self.view):
            lock = self.lock if height == self.height else None
            base = SafetyRecord(height, view, lock=lock)
        else:
            base = self
        signed: bytes = getattr(base, phase.value)
        if signed and signed != block_hash:
            raise ConflictingVote(f"already signed {phase.name} for another block at height {height} view {view}")
        if phase == VotePhase.ANNOUNCE:
            return replace(base, announced=block_hash)
        if phase == VotePhase.PREPARE:
            return replace(base, prepared=block_hash)
        if phase == VotePhase.COMMIT:
            return replace(base, committed=block_hash)
        return replace(base, view_changed=block_hash)

    def with_lock(self, height: int, lock: Lock) -> SafetyRecord:
        """The record holding ``lock`` (a higher prepare certificate) at ``height``."""
        if height < self.height:
            raise ConflictingVote(f"a lock for height {height} is older than the record at {self.height}")
        if height > self.height:
            return SafetyRecord(height, 0, lock=lock)
        return replace(self, lock=lock)

    def encode(self) -> bytes:
        """RLP for the node's database."""
        lock: list[object] = []
        if self.lock is not None:
            lock = [self.lock.view, self.lock.block_hash, self.lock.certificate.encode(), self.lock.block]
        encoded: bytes = rlp.encode(
            [self.height, self.view, self.announced, self.prepared, self.committed, self.view_changed, lock]
        )
        return encoded

    @classmethod
    def decode(cls, data: bytes) -> SafetyRecord:
        """Read a record back; DecodingError if the bytes are not one."""
        try:
            validate_rlp_depth(data)
            height, view, announced, prepared, committed, view_changed, lock_items = rlp.decode(data, strict=True)
            lock = None
            if lock_items:
                lock_view, block_hash, certificate, block = lock_items
                lock = Lock(_to_int(lock_view), block_hash, QuorumCertificate.decode(certificate), block)
            return cls(_to_int(height), _to_int(view), announced, prepared, committed, view_changed, lock)
        except (RLPException, ValueError, TypeError) as exc:
            raise DecodingError(f"malformed safety record: {exc}") from exc


def _to_int(item: object) -> int:
    if not isinstance(item, bytes):
        raise DecodingError("expected an integer")
    value: int = rlp.sedes.big_endian_int.deserialize(item)
    return value
