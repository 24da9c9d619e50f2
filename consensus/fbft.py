"""FBFT as a pure state machine: ``engine.step(state, event, now) -> (state, actions)``.

One height at a time. In each view one leader proposes (ANNOUNCE); validators that accept the
block send PREPARE; a quorum of prepares is a prepare certificate (PREPARED), on which validators
lock and send COMMIT; a quorum of commits is the commit certificate (COMMITTED) that makes the
block final. A view that does not commit in time ends in a view change: every node sends
VIEWCHANGE to the next view carrying its lock (M1) or NIL (M2) and a signature over the view
(M3); the next leader gathers a quorum, sends NEWVIEW and proposes, re-proposing the highest
locked block it heard of.

Safety: the locking rule. A node's lock is the prepare certificate with the highest view it has
seen at this height; votes are bound to the view they are cast in (see ``signing``). A node
prepares a proposal only if it holds no lock, or the proposal is its locked block, or the NEWVIEW
that opened the view justifies the proposal with a certificate from a view at least as high as its
lock. It commits only a block whose prepare certificate of the current view it has seen.

Why this cannot fork: say a quorum commits B in view r. At least f+1 honest nodes among them are
locked on B from view r on. For any later view w, a prepare certificate needs one of them (two
quorums share f+1 members); by induction over w every certificate in views r..w-1 is for B, so
their lock stays on B and any justification with a view >= their lock's is for B too: they prepare
nothing else, and nothing else can be prepared, so nothing else committed, in any view >= r.
Harmony's FBFT lacks the view binding: its prepare vote signs only the hash and a re-proposed
block is committed under its old view, so a leader who withholds a prepare certificate in view 2
and replays it after others committed another block under the view-1 certificate in view 3 can
make honest nodes commit both (commit votes for one block from views 1 and 4 add up).

Liveness: views grow with exponential timeouts, but a node moves past a view only once a quorum
has reached it (otherwise it repeats its view change and waits, so no node runs ahead alone);
a node that sees view changes from at least a third of the voting power for later views joins
the highest view they all reached, so nodes scattered by a partition meet again. VIEWCHANGE
carries the lock to everyone, and a node raises its own lock to any higher valid certificate it
sees, so after the network heals the next honest leader's re-proposal is acceptable to all.

Views and leaders. Height h+1 begins in view c+1, where c is the view block h was committed in,
and the header of h+1 records that view in ``view_id`` (its parent's certificate verifies over
``view_id - 1``). The leader of view v is committee member ``(v // blocks_per_leader) % n``: a
leader keeps proposing for ``blocks_per_leader`` blocks while no view change happens, and a view
change goes to the first view of the next leader's turn. Being a function of the view alone, the
schedule needs no agreement on history beyond the view number.

The engine never touches the clock, the network or the disk. ``now`` (milliseconds) is passed in;
it returns actions, executed by the caller in order: a ``PersistSafetyRecord`` must be durable
before the messages after it are sent. Blocks are built, decoded and validated (executed) by the
chain through ``ChainAccess``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from consensus.evidence import DoubleSignEvidence, Vote
from consensus.messages import (
    MAX_FUTURE_BLOCKS,
    ConsensusMessage,
    MessageKind,
    decode_message,
    encode_message,
    sign_message,
    validate_message_envelope,
    verify_message_signatures,
)
from consensus.quorum import Committee, is_quorum
from consensus.safety import Lock, SafetyRecord, VotePhase
from consensus.scheme import BLS_SCHEME, SignatureScheme
from consensus.signing import (
    NIL_PAYLOAD,
    QuorumCertificate,
    aggregate_votes,
    compute_commit_payload,
    compute_prepare_payload,
    compute_viewchange_m1_payload,
    compute_viewid_payload,
    parse_viewchange_m1_payload,
    validate_certificate,
    validate_signers,
)
from harmony_node.exceptions import ConflictingVote, DecodingError, InvalidSignature, ValidationError

# --- what the engine needs from the chain ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockProposal:
    """What consensus reads of a block: its place in the chain, its parent's certificate, its bytes."""

    number: int
    hash: bytes
    parent_hash: bytes
    view_id: int
    last_commit: QuorumCertificate | None
    data: bytes


@dataclass(frozen=True, slots=True)
class ChainTip:
    """The last finalized block: number, hash, the view it was committed in and its certificate."""

    number: int
    hash: bytes
    commit_view: int
    certificate: QuorumCertificate | None  # None only for genesis, which nobody signs


class ChainAccess(Protocol):
    """The chain, as consensus sees it; the node passes in its chain, the simulator a fake."""

    def get_committee(self, number: int) -> Committee:
        """The committee that votes on block ``number``."""
        ...

    def build_block(self, tip: ChainTip, view_id: int, leader: bytes, now: int) -> BlockProposal:
        """A new block on ``tip`` proposed by ``leader``, header ``view_id`` as given.

        ValidationError if no block can be built now; the leader then proposes nothing this view.
        """
        ...

    def decode_block(self, data: bytes) -> BlockProposal:
        """Parse a block from a peer; DecodingError if malformed."""
        ...

    def validate_block(self, tip: ChainTip, block: BlockProposal, certified: bool = False) -> None:
        """Execute and check ``block`` on ``tip``; InvalidBlock (a ValidationError) if it breaks a rule.

        ``certified``: a quorum of the committee already committed it (a synced block). It is final
        whatever this node's clock says, so rules about the local time (a proposal dated too far
        ahead) do not apply; every other rule does."""
        ...


# --- configuration, events, actions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FbftConfig:
    """Timing and rotation. Times are milliseconds of whatever clock the caller passes as ``now``."""

    shard_id: int = 0
    block_time: int = 1000
    view_timeout: int = 4000
    max_backoff_exponent: int = 5
    blocks_per_leader: int = 4
    sync_interval: int = 1000
    max_pending_per_sender: int = 8


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """Bytes of a consensus message from a peer."""

    data: bytes


class TimerKind(Enum):
    PROPOSE = "propose"
    VIEW = "view"


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer set by a ``SetTimer`` action is due."""

    kind: TimerKind
    height: int
    view: int


@dataclass(frozen=True, slots=True)
class SyncedBlock:
    """A finalized block served by block sync, with the view it was committed in and the certificate."""

    block: bytes
    commit_view: int
    certificate: QuorumCertificate


@dataclass(frozen=True, slots=True)
class BlocksSynced:
    """Blocks from a sync peer, ascending; each is checked against its certificate before import."""

    blocks: tuple[SyncedBlock, ...]


Event = MessageReceived | TimerFired | BlocksSynced


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send to every member of the shard's committee (gossip)."""

    data: bytes
    kind: MessageKind


@dataclass(frozen=True, slots=True)
class SendToLeader:
    """A vote for the leader; a gossiping node may broadcast it instead."""

    data: bytes
    kind: MessageKind
    leader: bytes


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Deliver ``TimerFired(kind, height, view)`` at time ``at``."""

    at: int
    kind: TimerKind
    height: int
    view: int


@dataclass(frozen=True, slots=True)
class PersistSafetyRecord:
    """Make ``record`` durable before executing the actions after this one."""

    record: SafetyRecord


@dataclass(frozen=True, slots=True)
class CommitBlock:
    """``block`` is final: a quorum committed it in ``commit_view`` (``certificate`` proves it)."""

    block: BlockProposal
    commit_view: int
    certificate: QuorumCertificate


@dataclass(frozen=True, slots=True)
class ReportEvidence:
    """A key signed two different blocks at one (height, view): hand the evidence to staking."""

    evidence: DoubleSignEvidence


@dataclass(frozen=True, slots=True)
class ConflictingProposal:
    """The leader's key signed two different blocks for one (height, view): the leader equivocates,
    or one key runs on two nodes. Only observed: Harmony slashes conflicting commit votes, not
    proposals, and quorum intersection keeps at most one of the two from being prepared."""

    leader: bytes
    height: int
    view: int
    first_hash: bytes
    second_hash: bytes


@dataclass(frozen=True, slots=True)
class RequestSync:
    """This node is behind: fetch finalized blocks from ``from_number`` on."""

    from_number: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message or block was refused; ``reason`` is for logs and metrics."""

    reason: str


Action = (
    Broadcast | SendToLeader | SetTimer | PersistSafetyRecord | CommitBlock | ReportEvidence | ConflictingProposal
    | RequestSync | Rejected
)


# --- state ------------------------------------------------------------------------------------------


class Phase(Enum):
    """Where the current view stands, from this node's side."""

    ANNOUNCE = "waiting for a proposal"
    PREPARE = "prepared, waiting for the prepare certificate"
    COMMIT = "committed, waiting for the commit certificate"
    VIEW_CHANGE = "waiting for NEWVIEW"


@dataclass(frozen=True, slots=True)
class Justification:
    """An accepted NEWVIEW: the view of the certificate it re-proposes (-1 if none) and that block."""

    view: int
    block_hash: bytes


@dataclass(slots=True)
class FbftState:
    """One node's consensus state. ``step`` updates it in place and returns it."""

    tip: ChainTip
    committee: Committee
    record: SafetyRecord
    view: int
    phase: Phase
    start_view: int
    blocks: dict[bytes, BlockProposal] = field(default_factory=dict)
    invalid_blocks: set[bytes] = field(default_factory=set)
    proposal: bytes = b""
    conflict_reported: bool = False  # one ConflictingProposal per view bounds what an equivocator costs
    justification: Justification | None = None
    # Leader side of the current view.
    prepare_votes: dict[int, bytes] = field(default_factory=dict)
    commit_votes: dict[int, bytes] = field(default_factory=dict)
    bad_voters: set[int] = field(default_factory=set)
    prepared_sent: bool = False
    committed_sent: bool = False
    # Commit votes seen, for double-sign evidence: (height, view, key) -> first (hash, signature).
    commit_votes_seen: dict[tuple[int, int, bytes], tuple[bytes, bytes]] = field(default_factory=dict)
    reported: set[tuple[int, int, bytes]] = field(default_factory=set)
    newview_sent: int = -1
    # View changes at this height: view -> sender index -> (message, M1 (view, hash) or None).
    view_changes: dict[int, dict[int, tuple[ConsensusMessage, tuple[int, bytes] | None]]] = field(default_factory=dict)
    latest_view_change: dict[int, int] = field(default_factory=dict)
    checked_m1: set[tuple[bytes, int]] = field(default_factory=set)
    own_view_changes: list[bytes] = field(default_factory=list)
    pending: list[ConsensusMessage] = field(default_factory=list)
    last_sync_request: int = -(2**62)
    # When the last proposal was made or accepted: the next one is due a block time after it, so
    # blocks come every block_time rather than every block_time plus the time a round takes.
    last_announce_at: int | None = None

    @property
    def height(self) -> int:
        """The height being decided."""
        return self.tip.number + 1


# --- the engine ---------------------------------------------------------------------------------------


EVIDENCE_WINDOW = 4
"""Commit votes are remembered this many heights back, so a late conflicting vote is still caught."""


class FbftEngine:
    """FBFT for one node: its keys, its chain, its signature scheme. Holds no mutable state."""

    def __init__(
        self,
        config: FbftConfig,
        chain: ChainAccess,
        secret_keys: Iterable[int],
        scheme: SignatureScheme = BLS_SCHEME,
    ) -> None:
        self.config = config
        self.chain = chain
        self.scheme = scheme
        self.keys = {scheme.get_public_key(secret): secret for secret in secret_keys}

    # -- start and restart --

    def start(self, tip: ChainTip, record: SafetyRecord | None, now: int) -> tuple[FbftState, list[Action]]:
        """The state after (re)starting on ``tip`` with the persisted ``record`` (None on first start)."""
        height = tip.number + 1
        start_view = tip.commit_view + 1
        if record is None:
            record = SafetyRecord(height, start_view)
        view = record.view if record.height == height and record.view > start_view else start_view
        state = FbftState(
            tip=tip,
            committee=self.chain.get_committee(height),
            record=record,
            view=view,
            phase=Phase.ANNOUNCE if view == start_view else Phase.VIEW_CHANGE,
            start_view=start_view,
        )
        lock = record.lock if record.height == height else None
        if lock is not None:
            try:  # the locked block, to re-propose or forward after a restart
                state.blocks[lock.block_hash] = self.chain.decode_block(lock.block)
            except DecodingError:
                pass
        actions: list[Action] = []
        self._arm_view(state, now, actions)
        return state, actions

    # -- the step function --

    def step(self, state: FbftState, event: Event, now: int) -> tuple[FbftState, list[Action]]:
        """Apply one event; return the (updated) state and the actions to execute in order."""
        actions: list[Action] = []
        if isinstance(event, MessageReceived):
            try:
                message = decode_message(event.data)
            except DecodingError as exc:
                actions.append(Rejected(f"undecodable message: {exc}"))
            else:
                self._on_message(state, message, now, actions)
        elif isinstance(event, TimerFired):
            self._on_timer(state, event, now, actions)
        else:
            self._on_synced(state, event, now, actions)
        return state, actions

    # -- leaders and timers --

    def get_leader_index(self, committee: Committee, view: int) -> int:
        """The committee index of the leader of ``view``."""
        return (view // self.config.blocks_per_leader) % committee.size

    def compute_next_leader_view(self, view: int) -> int:
        """The view a view change from ``view`` goes to: the first of the next leader's turn."""
        return (view // self.config.blocks_per_leader + 1) * self.config.blocks_per_leader

    def _leader_key(self, state: FbftState, view: int) -> bytes:
        return state.committee.public_keys[self.get_leader_index(state.committee, view)]

    def _is_leader(self, state: FbftState, view: int) -> bool:
        return self._leader_key(state, view) in self.keys

    def _view_timeout(self, state: FbftState) -> int:
        turns = state.view // self.config.blocks_per_leader - state.start_view // self.config.blocks_per_leader
        return self.config.view_timeout << min(max(turns, 0), self.config.max_backoff_exponent)

    def _arm_view(self, state: FbftState, now: int, actions: list[Action]) -> None:
        wait = self._view_timeout(state)
        if state.view == state.start_view:
            wait += self.config.block_time
            if self._is_leader(state, state.view):
                due = now + self.config.block_time
                if state.last_announce_at is not None:
                    due = max(now, state.last_announce_at + self.config.block_time)
                actions.append(SetTimer(due, TimerKind.PROPOSE, state.height, state.view))
        actions.append(SetTimer(now + wait, TimerKind.VIEW, state.height, state.view))

    def _on_timer(self, state: FbftState, event: TimerFired, now: int, actions: list[Action]) -> None:
        if (event.height, event.view) != (state.height, state.view):
            return  # a timer of a view this node has left
        if event.kind == TimerKind.PROPOSE:
            if state.phase == Phase.ANNOUNCE and not state.proposal and self._is_leader(state, state.view):
                self._propose(state, now, actions)
            return
        if state.phase == Phase.VIEW_CHANGE and state.own_view_changes:
            moved = [index for index, view in state.latest_view_change.items() if view >= state.view]
            if not is_quorum(state.committee, moved):
                # Alone (with less than a quorum) in this view: moving on would only run ahead of the
                # others, who then never catch up. Repeat the view change (it may have been lost) and wait.
                actions.extend(Broadcast(data, MessageKind.VIEWCHANGE) for data in state.own_view_changes)
                actions.append(SetTimer(now + self._view_timeout(state), TimerKind.VIEW, state.height, state.view))
                return
        self._start_view_change(state, self.compute_next_leader_view(state.view), now, actions)

    # -- message dispatch --

    def _on_message(self, state: FbftState, message: ConsensusMessage, now: int, actions: list[Action]) -> None:
        if message.block_number > state.height + MAX_FUTURE_BLOCKS and message.sender in state.committee.index_of:
            self._request_sync(state, now, actions)  # far behind: too far to buffer, time to sync
            return
        try:
            index = validate_message_envelope(state.committee, message, state.height)
        except ValidationError as exc:
            actions.append(Rejected(str(exc)))
            return
        if message.kind == MessageKind.COMMIT:
            self._observe_commit_vote(state, message, actions)
        if message.block_number < state.height:
            return  # decided already
        if message.block_number > state.height:
            self._on_future_message(state, message, now, actions)
            return
        kind = message.kind
        if kind == MessageKind.COMMITTED:
            self._on_committed(state, message, now, actions)
            return
        if message.view_id < state.view:
            return  # a view this node has left
        if message.view_id > state.view and kind != MessageKind.VIEWCHANGE:
            if kind == MessageKind.ANNOUNCE or kind == MessageKind.NEWVIEW:
                if self._try_jump(state, message, now, actions):
                    return
            self._buffer(state, message)
            return
        try:
            if kind == MessageKind.ANNOUNCE:
                self._on_announce(state, message, index, now, actions)
            elif kind == MessageKind.PREPARE:
                self._on_prepare(state, message, index, now, actions)
            elif kind == MessageKind.PREPARED:
                self._on_prepared(state, message, index, now, actions)
            elif kind == MessageKind.COMMIT:
                self._on_commit(state, message, index, now, actions)
            elif kind == MessageKind.VIEWCHANGE:
                self._on_view_change(state, message, index, now, actions)
            else:
                self._on_new_view(state, message, index, now, actions)
        except ValidationError as exc:
            actions.append(Rejected(f"{kind.name} from member {index}: {exc}"))

    def _try_jump(self, state: FbftState, message: ConsensusMessage, now: int, actions: list[Action]) -> bool:
        """Follow a valid NEWVIEW, or a proposal opening its height's first view, into a later view."""
        try:
            if message.kind == MessageKind.NEWVIEW:
                self._on_new_view(state, message, self._sender_index(state, message), now, actions)
                return True
            index = self._sender_index(state, message)
            if index != self.get_leader_index(state.committee, message.view_id):
                raise ValidationError("ANNOUNCE from a member who does not lead that view")
            verify_message_signatures(message, self.scheme)
            if self._decode_proposal(state, message).view_id != message.view_id:
                return False  # a later view needs its NEWVIEW first
            self._enter_view(state, message.view_id, Phase.ANNOUNCE, now, actions)
            if state.view == message.view_id:
                self._on_announce(state, message, index, now, actions)
            return True
        except ValidationError as exc:
            actions.append(Rejected(f"{message.kind.name} for view {message.view_id}: {exc}"))
            return True

    def _sender_index(self, state: FbftState, message: ConsensusMessage) -> int:
        return validate_message_envelope(state.committee, message, state.height)

    def _buffer(self, state: FbftState, message: ConsensusMessage) -> None:
        """Keep an early message (bounded per sender) until this node reaches its view or height."""
        from_sender = [m for m in state.pending if m.sender == message.sender]
        if len(from_sender) >= self.config.max_pending_per_sender:
            state.pending.remove(from_sender[0])
        state.pending.append(message)

    def _replay_pending(self, state: FbftState, now: int, actions: list[Action]) -> None:
        pending, state.pending = state.pending, []
        for message in pending:
            if (message.block_number, message.view_id) <= (state.height, state.view):
                self._on_message(state, message, now, actions)
            elif message.block_number <= state.height + 2:
                state.pending.append(message)

    def _on_future_message(self, state: FbftState, message: ConsensusMessage, now: int, actions: list[Action]) -> None:
        """A message for a later height: catch up from its header if possible, else ask for sync."""
        if message.kind == MessageKind.ANNOUNCE and message.block_number == state.height + 1:
            try:
                block = self.chain.decode_block(message.block)
            except DecodingError:
                block = None
            parent = state.blocks.get(block.parent_hash) if block is not None else None
            if block is not None and parent is not None and block.last_commit is not None:
                try:
                    validate_certificate(
                        state.committee,
                        compute_commit_payload(parent.number, parent.hash, block.view_id - 1),
                        block.last_commit,
                        self.scheme,
                    )
                except ValidationError as exc:
                    actions.append(Rejected(f"catch-up header: {exc}"))
                else:
                    self._commit(state, parent, block.view_id - 1, block.last_commit, now, actions)
                    self._on_message(state, message, now, actions)
                    return
        self._buffer(state, message)
        self._request_sync(state, now, actions)

    def _request_sync(self, state: FbftState, now: int, actions: list[Action]) -> None:
        if now - state.last_sync_request >= self.config.sync_interval:
            state.last_sync_request = now
            actions.append(RequestSync(state.height))

    # -- blocks --

    def _decode_proposal(self, state: FbftState, message: ConsensusMessage) -> BlockProposal:
        """Decode and check the block a message carries: it must extend the tip in a view that
        its parent's certificate proves (the block's own ``view_id``), and the chain must accept it."""
        known = state.blocks.get(message.block_hash)
        if known is not None:
            return known
        if message.block_hash in state.invalid_blocks:
            raise ValidationError("block was already found invalid")
        block = self.chain.decode_block(message.block)
        if block.hash != message.block_hash:
            raise ValidationError("block does not hash to the message's block hash")
        tip = state.tip
        if block.number != state.height or block.parent_hash != tip.hash:
            raise ValidationError(f"block {block.number} does not extend the tip {tip.number}")
        if tip.number > 0:
            if block.last_commit is None or block.view_id < 1:
                raise ValidationError("block carries no certificate of its parent")
            parent_committee = self.chain.get_committee(tip.number)
            payload = compute_commit_payload(tip.number, tip.hash, block.view_id - 1)
            validate_certificate(parent_committee, payload, block.last_commit, self.scheme)
        elif block.view_id != state.start_view:
            raise ValidationError(f"the first block opens view {state.start_view}, not {block.view_id}")
        try:
            self.chain.validate_block(tip, block)
        except ValidationError:
            state.invalid_blocks.add(block.hash)
            raise
        state.blocks[block.hash] = block
        return block

    def _propose(self, state: FbftState, now: int, actions: list[Action]) -> None:
        """As leader of the current view: re-propose the justified block, or build a new one."""
        leader = self._leader_key(state, state.view)
        justification = state.justification
        if justification is not None and justification.block_hash:
            block = state.blocks.get(justification.block_hash)
            if block is None:
                return  # cannot happen for our own NEWVIEW; wait for the timeout otherwise
        else:
            # The header records the view its height began in (module docstring), not this view.
            try:
                block = self.chain.build_block(state.tip, state.start_view, leader, now)
            except ValidationError as exc:  # e.g. the next committee is not known yet: let the view time out
                actions.append(Rejected(f"cannot build a block: {exc}"))
                return
            state.blocks[block.hash] = block
        try:
            state.record = state.record.record_vote(state.height, state.view, VotePhase.ANNOUNCE, block.hash)
        except ConflictingVote as exc:
            actions.append(Rejected(str(exc)))
            return
        message = ConsensusMessage(
            MessageKind.ANNOUNCE, self.config.shard_id, state.view, state.height, block.hash, leader, block=block.data
        )
        actions.append(PersistSafetyRecord(state.record))
        actions.append(Broadcast(encode_message(sign_message(self.keys[leader], message, self.scheme)), message.kind))
        state.proposal = block.hash
        state.last_announce_at = now
        state.phase = Phase.PREPARE
        self._vote_prepare(state, block, now, actions)

    # -- normal path --

    def _on_announce(
        self, state: FbftState, message: ConsensusMessage, index: int, now: int, actions: list[Action]
    ) -> None:
        if index != self.get_leader_index(state.committee, message.view_id):
            raise ValidationError("ANNOUNCE from a member who does not lead this view")
        if state.proposal:
            if state.proposal != message.block_hash and not state.conflict_reported:
                # Only the leader's signature makes a second block proof of equivocation. This node
                # keeps its vote on the first: preparing both would break quorum intersection.
                verify_message_signatures(message, self.scheme)
                state.conflict_reported = True
                actions.append(
                    ConflictingProposal(message.sender, state.height, state.view, state.proposal, message.block_hash)
                )
            return
        verify_message_signatures(message, self.scheme)
        block = self._decode_proposal(state, message)
        if state.view != state.start_view and state.justification is None and block.view_id != state.view:
            self._buffer(state, message)  # the NEWVIEW of this view may still be on its way
            return
        justification = state.justification
        if justification is not None and justification.block_hash and block.hash != justification.block_hash:
            raise ValidationError("proposal is not the block the NEWVIEW re-proposes")
        if justification is None and block.view_id != state.view:
            raise ValidationError(f"a new proposal in view {state.view} must open that view")
        state.proposal = block.hash
        state.last_announce_at = now
        state.phase = Phase.PREPARE
        self._vote_prepare(state, block, now, actions)

    def _may_prepare(self, state: FbftState, block_hash: bytes) -> bool:
        """The locking rule (module docstring)."""
        lock = state.record.lock if state.record.height == state.height else None
        if lock is None or lock.block_hash == block_hash:
            return True
        justification = state.justification
        return justification is not None and justification.block_hash == block_hash and justification.view >= lock.view

    def _sign_votes(
        self, state: FbftState, phase: VotePhase, block_hash: bytes, payload: bytes, actions: list[Action]
    ) -> dict[int, bytes]:
        """Sign ``payload`` with each of this node's committee keys the safety record allows."""
        signatures: dict[int, bytes] = {}
        try:
            record = state.record.record_vote(state.height, state.view, phase, block_hash)
        except ConflictingVote as exc:
            actions.append(Rejected(str(exc)))
            return signatures
        for key, secret in self.keys.items():
            index = state.committee.index_of.get(key)
            if index is not None:
                signatures[index] = self.scheme.sign(secret, payload)
        if signatures and record != state.record:
            state.record = record
            actions.append(PersistSafetyRecord(record))
        return signatures

    def _vote_prepare(self, state: FbftState, block: BlockProposal, now: int, actions: list[Action]) -> None:
        if not self._may_prepare(state, block.hash):
            actions.append(Rejected(f"locked on another block; not preparing {block.hash.hex()[:8]}"))
            return
        payload = compute_prepare_payload(block.hash, state.view)
        votes = self._sign_votes(state, VotePhase.PREPARE, block.hash, payload, actions)
        leader = self._leader_key(state, state.view)
        for index, signature in votes.items():
            if leader in self.keys:
                self._add_prepare_vote(state, index, signature, now, actions)
            else:
                vote = ConsensusMessage(
                    MessageKind.PREPARE, self.config.shard_id, state.view, state.height, block.hash,
                    state.committee.public_keys[index], payload=signature,
                )
                actions.append(SendToLeader(encode_message(vote), vote.kind, leader))

    def _on_prepare(
        self, state: FbftState, message: ConsensusMessage, index: int, now: int, actions: list[Action]
    ) -> None:
        if not self._is_leader(state, state.view) or message.block_hash != state.proposal:
            return
        self._add_prepare_vote(state, index, message.payload, now, actions)

    def _add_prepare_vote(self, state: FbftState, index: int, signature: bytes, now: int, actions: list[Action]) -> None:
        if state.prepared_sent or index in state.prepare_votes or index in state.bad_voters:
            return
        state.prepare_votes[index] = signature
        if not is_quorum(state.committee, state.prepare_votes):
            return
        payload = compute_prepare_payload(state.proposal, state.view)
        certificate = self._aggregate(state, payload, state.prepare_votes)
        if certificate is None:
            return
        state.prepared_sent = True
        block = state.blocks[state.proposal]
        leader = self._leader_key(state, state.view)
        message = ConsensusMessage(
            MessageKind.PREPARED, self.config.shard_id, state.view, state.height, block.hash, leader,
            payload=certificate.encode(), block=block.data,
        )
        self._lock(state, Lock(state.view, block.hash, certificate, block.data))  # persisted with the commit vote
        actions.append(Broadcast(encode_message(sign_message(self.keys[leader], message, self.scheme)), message.kind))
        self._vote_commit(state, block, now, actions)

    def _aggregate(self, state: FbftState, payload: bytes, votes: dict[int, bytes]) -> QuorumCertificate | None:
        """Optimistic aggregation; bad votes are dropped and their senders ignored for the view."""
        try:
            certificate, rejected = aggregate_votes(state.committee, payload, votes, self.scheme)
        except InvalidSignature:
            rejected = tuple(votes)
            certificate = None
        for index in rejected:
            state.bad_voters.add(index)
            del votes[index]
        if certificate is None or not is_quorum(state.committee, votes):
            return None
        return certificate

    def _lock(self, state: FbftState, lock: Lock) -> None:
        current = state.record.lock if state.record.height == state.height else None
        if current is None or lock.view > current.view:
            state.record = state.record.with_lock(state.height, lock)

    def _on_prepared(
        self, state: FbftState, message: ConsensusMessage, index: int, now: int, actions: list[Action]
    ) -> None:
        if index != self.get_leader_index(state.committee, state.view):
            raise ValidationError("PREPARED from a member who does not lead this view")
        if state.phase == Phase.COMMIT or self._is_leader(state, state.view):
            return
        verify_message_signatures(message, self.scheme)
        certificate = QuorumCertificate.decode(message.payload)
        validate_certificate(
            state.committee, compute_prepare_payload(message.block_hash, state.view), certificate, self.scheme
        )
        block = state.blocks.get(message.block_hash)
        if block is None:
            if not message.block:
                raise ValidationError("PREPARED for an unknown block carries no block")
            block = self._decode_proposal(state, message)
        self._lock(state, Lock(state.view, block.hash, certificate, block.data))
        self._vote_commit(state, block, now, actions)

    def _vote_commit(self, state: FbftState, block: BlockProposal, now: int, actions: list[Action]) -> None:
        state.phase = Phase.COMMIT
        payload = compute_commit_payload(state.height, block.hash, state.view)
        votes = self._sign_votes(state, VotePhase.COMMIT, block.hash, payload, actions)
        leader = self._leader_key(state, state.view)
        for index, signature in votes.items():
            if leader in self.keys:
                self._add_commit_vote(state, index, block.hash, signature, now, actions)
            else:
                vote = ConsensusMessage(
                    MessageKind.COMMIT, self.config.shard_id, state.view, state.height, block.hash,
                    state.committee.public_keys[index], payload=signature,
                )
                actions.append(SendToLeader(encode_message(vote), vote.kind, leader))

    def _on_commit(
        self, state: FbftState, message: ConsensusMessage, index: int, now: int, actions: list[Action]
    ) -> None:
        if not self._is_leader(state, state.view):
            return
        self._add_commit_vote(state, index, message.block_hash, message.payload, now, actions)

    def _add_commit_vote(
        self, state: FbftState, index: int, block_hash: bytes, signature: bytes, now: int, actions: list[Action]
    ) -> None:
        if block_hash != state.proposal or not state.prepared_sent or state.committed_sent:
            return
        if index in state.commit_votes or index in state.bad_voters:
            return
        state.commit_votes[index] = signature
        if not is_quorum(state.committee, state.commit_votes):
            return
        payload = compute_commit_payload(state.height, block_hash, state.view)
        certificate = self._aggregate(state, payload, state.commit_votes)
        if certificate is None:
            return
        state.committed_sent = True
        leader = self._leader_key(state, state.view)
        message = ConsensusMessage(
            MessageKind.COMMITTED, self.config.shard_id, state.view, state.height, block_hash, leader,
            payload=certificate.encode(),
        )
        actions.append(Broadcast(encode_message(sign_message(self.keys[leader], message, self.scheme)), message.kind))
        self._commit(state, state.blocks[block_hash], state.view, certificate, now, actions)

    def _observe_commit_vote(self, state: FbftState, message: ConsensusMessage, actions: list[Action]) -> None:
        """Remember commit votes; two by one key for different blocks at one (height, view) are evidence."""
        if message.block_number + EVIDENCE_WINDOW < state.height:
            return
        slot = (message.block_number, message.view_id, message.sender)
        first = state.commit_votes_seen.setdefault(slot, (message.block_hash, message.payload))
        if first[0] == message.block_hash or slot in state.reported:
            return
        votes = []
        for block_hash, signature in (first, (message.block_hash, message.payload)):
            payload = compute_commit_payload(message.block_number, block_hash, message.view_id)
            if not self.scheme.verify(message.sender, payload, signature):
                if block_hash == first[0]:  # a forged first vote must not shield the key
                    state.commit_votes_seen[slot] = (message.block_hash, message.payload)
                return
            votes.append(Vote((message.sender,), block_hash, signature))
        state.reported.add(slot)
        epoch = self.chain.get_committee(message.block_number).epoch
        evidence = DoubleSignEvidence(
            self.config.shard_id, epoch, message.block_number, message.view_id, votes[0], votes[1]
        )
        actions.append(ReportEvidence(evidence))

    def _on_committed(self, state: FbftState, message: ConsensusMessage, now: int, actions: list[Action]) -> None:
        """A commit certificate proves itself, whoever relays it and whatever view it is from."""
        try:
            certificate = QuorumCertificate.decode(message.payload)
            payload = compute_commit_payload(state.height, message.block_hash, message.view_id)
            validate_certificate(state.committee, payload, certificate, self.scheme)
        except ValidationError as exc:
            actions.append(Rejected(f"COMMITTED: {exc}"))
            return
        block = state.blocks.get(message.block_hash)
        if block is None:
            self._request_sync(state, now, actions)
            return
        self._commit(state, block, message.view_id, certificate, now, actions)

    def _commit(
        self,
        state: FbftState,
        block: BlockProposal,
        commit_view: int,
        certificate: QuorumCertificate,
        now: int,
        actions: list[Action],
    ) -> None:
        actions.append(CommitBlock(block, commit_view, certificate))
        state.tip = ChainTip(block.number, block.hash, commit_view, certificate)
        state.committee = self.chain.get_committee(state.height)
        state.start_view = commit_view + 1
        state.blocks = {}
        state.invalid_blocks = set()
        state.view_changes = {}
        state.latest_view_change = {}
        state.checked_m1 = set()
        oldest = state.height - EVIDENCE_WINDOW
        state.commit_votes_seen = {k: v for k, v in state.commit_votes_seen.items() if k[0] >= oldest}
        state.reported = {slot for slot in state.reported if slot[0] >= oldest}
        self._enter_view(state, state.start_view, Phase.ANNOUNCE, now, actions)

    def _enter_view(self, state: FbftState, view: int, phase: Phase, now: int, actions: list[Action]) -> None:
        state.view = view
        state.phase = phase
        state.proposal = b""
        state.conflict_reported = False
        state.justification = None
        state.prepare_votes = {}
        state.commit_votes = {}
        state.bad_voters = set()
        state.prepared_sent = state.committed_sent = False
        state.own_view_changes = []
        for old in [v for v in state.view_changes if v < view]:
            del state.view_changes[old]
        self._arm_view(state, now, actions)
        self._replay_pending(state, now, actions)

    # -- view change --

    def _start_view_change(self, state: FbftState, view: int, now: int, actions: list[Action]) -> None:
        self._enter_view(state, view, Phase.VIEW_CHANGE, now, actions)
        if state.view != view:
            return  # replaying buffered messages already moved this node on
        lock = state.record.lock if state.record.height == state.height else None
        m1 = b""
        if lock is not None:
            m1 = compute_viewchange_m1_payload(lock.block_hash, lock.view, lock.certificate)
        try:
            record = state.record.record_vote(state.height, view, VotePhase.VIEWCHANGE, m1[:32] or NIL_PAYLOAD)
        except ConflictingVote as exc:
            actions.append(Rejected(str(exc)))
            return
        new_leader = self._leader_key(state, view)
        messages = []
        for key, secret in self.keys.items():
            index = state.committee.index_of.get(key)
            if index is None:
                continue
            message = ConsensusMessage(
                MessageKind.VIEWCHANGE, self.config.shard_id, view, state.height, m1[:32], key,
                payload=m1, block=lock.block if lock is not None else b"", new_leader=new_leader,
                m2=self.scheme.sign(secret, m1 or NIL_PAYLOAD), m3=self.scheme.sign(secret, compute_viewid_payload(view)),
            )
            messages.append((index, sign_message(secret, message, self.scheme)))
        if not messages:
            return
        state.record = record
        actions.append(PersistSafetyRecord(record))
        for index, message in messages:
            data = encode_message(message)
            state.own_view_changes.append(data)
            actions.append(Broadcast(data, message.kind))
            m1_info = (lock.view, lock.block_hash) if lock is not None else None
            state.view_changes.setdefault(view, {})[index] = (message, m1_info)
            state.latest_view_change[index] = view
        self._try_new_view(state, now, actions)

    def _check_m1(self, state: FbftState, message: ConsensusMessage) -> tuple[int, bytes] | None:
        """Validate an M1 (prepared block) carried by VIEWCHANGE or NEWVIEW; None if it carries NIL."""
        if not message.payload:
            return None
        block_hash, prepared_view, certificate = parse_viewchange_m1_payload(message.payload)
        if prepared_view >= message.view_id:
            raise ValidationError("M1 certificate is not from an earlier view")
        if (block_hash, prepared_view) not in state.checked_m1:
            payload = compute_prepare_payload(block_hash, prepared_view)
            validate_certificate(state.committee, payload, certificate, self.scheme)
            block = state.blocks.get(block_hash)
            if block is None:
                block = self.chain.decode_block(message.block)
                if block.hash != block_hash or block.number != state.height or block.parent_hash != state.tip.hash:
                    raise ValidationError("M1 block does not match its certificate or does not extend the tip")
                # A quorum prepared it, so honest members executed it: keep it without re-executing.
                state.blocks[block_hash] = block
            state.checked_m1.add((block_hash, prepared_view))
            self._lock(state, Lock(prepared_view, block_hash, certificate, block.data))
        return prepared_view, block_hash

    def _on_view_change(
        self, state: FbftState, message: ConsensusMessage, index: int, now: int, actions: list[Action]
    ) -> None:
        if state.latest_view_change.get(index, -1) >= message.view_id:
            return  # one view change per member and view; older ones are superseded
        verify_message_signatures(message, self.scheme)
        m1 = self._check_m1(state, message)
        state.view_changes.setdefault(message.view_id, {})[index] = (message, m1)
        state.latest_view_change[index] = message.view_id
        if message.view_id > state.view:
            target = self._compute_catch_up_view(state)
            if target > state.view:
                self._start_view_change(state, target, now, actions)
                return
        if message.view_id == state.view:
            self._try_new_view(state, now, actions)

    def _compute_catch_up_view(self, state: FbftState) -> int:
        """The highest view that members holding at least a third of the power have moved to.

        Faulty members hold less than a third (a quorum is more than two thirds), so at least one
        honest member is there and joining it is never premature; it is how nodes split by a
        partition end up in one view again.
        """
        committee = state.committee
        ahead = sorted(
            ((view, index) for index, view in state.latest_view_change.items() if view > state.view), reverse=True
        )
        power = 0
        for view, index in ahead:
            power += committee.voting_power[index]
            if 3 * power >= committee.total_power:
                return view
        return state.view

    def _try_new_view(self, state: FbftState, now: int, actions: list[Action]) -> None:
        view = state.view
        if state.newview_sent == view or not self._is_leader(state, view) or state.phase != Phase.VIEW_CHANGE:
            return
        collected = state.view_changes.get(view, {})
        if not is_quorum(state.committee, collected):
            return
        m3_votes = {index: message.m3 for index, (message, _) in collected.items()}
        nil_votes = {index: message.m2 for index, (message, m1) in collected.items() if m1 is None}
        m3, _ = aggregate_votes(state.committee, compute_viewid_payload(view), m3_votes, self.scheme)
        m2 = aggregate_votes(state.committee, NIL_PAYLOAD, nil_votes, self.scheme)[0].encode() if nil_votes else b""
        best = max(
            ((m1, message) for message, m1 in collected.values() if m1 is not None), default=None, key=lambda x: x[0]
        )
        leader = self._leader_key(state, view)
        payload = block_hash = block = b""
        if best is not None:
            (prepared_view, block_hash), source = best
            payload, block = source.payload, source.block
        message = ConsensusMessage(
            MessageKind.NEWVIEW, self.config.shard_id, view, state.height, block_hash, leader,
            payload=payload, block=block, m2=m2, m3=m3.encode(),
        )
        state.newview_sent = view
        actions.append(Broadcast(encode_message(sign_message(self.keys[leader], message, self.scheme)), message.kind))
        state.justification = Justification(best[0][0] if best is not None else -1, block_hash)
        state.phase = Phase.ANNOUNCE
        self._propose(state, now, actions)

    def _on_new_view(
        self, state: FbftState, message: ConsensusMessage, index: int, now: int, actions: list[Action]
    ) -> None:
        view = message.view_id
        if index != self.get_leader_index(state.committee, view):
            raise ValidationError("NEWVIEW from a member who does not lead that view")
        if view < state.view or (view == state.view and state.justification is not None):
            return
        if view == state.view and state.phase != Phase.VIEW_CHANGE:
            return
        verify_message_signatures(message, self.scheme)
        moved = validate_certificate(
            state.committee, compute_viewid_payload(view), QuorumCertificate.decode(message.m3), self.scheme
        )
        nil: tuple[int, ...] = ()
        if message.m2:
            nil = validate_signers(state.committee, NIL_PAYLOAD, QuorumCertificate.decode(message.m2), self.scheme)
        if not message.payload and set(moved) - set(nil):
            raise ValidationError("members who did not send NIL prepared something, but NEWVIEW carries no M1")
        m1 = self._check_m1(state, message)
        if view > state.view:
            self._enter_view(state, view, Phase.ANNOUNCE, now, actions)
            if state.view != view:
                return
        state.phase = Phase.ANNOUNCE
        state.justification = Justification(*m1) if m1 is not None else Justification(-1, b"")
        self._replay_pending(state, now, actions)

    # -- sync --

    def _on_synced(self, state: FbftState, event: BlocksSynced, now: int, actions: list[Action]) -> None:
        for item in event.blocks:
            try:
                block = self.chain.decode_block(item.block)
                if block.number < state.height:
                    continue
                if block.number != state.height or block.parent_hash != state.tip.hash:
                    raise ValidationError(f"synced block {block.number} does not extend the tip {state.tip.number}")
                payload = compute_commit_payload(block.number, block.hash, item.commit_view)
                validate_certificate(state.committee, payload, item.certificate, self.scheme)
                self.chain.validate_block(state.tip, block, certified=True)
            except ValidationError as exc:
                actions.append(Rejected(f"sync: {exc}"))
                return
            self._commit(state, block, item.commit_view, item.certificate, now, actions)
