"""Runs the pure FBFT engine against the real chain and disk; hands network work back to the caller.

``handle(event, now)`` steps the engine and carries out, in order, the actions that touch this
node's own disk: the safety record is written (synced) and finalized blocks are imported, before
any message leaves. Only after the whole action list is done are the outgoing actions (messages,
timers, sync requests, evidence) returned to the caller, so a vote can never be sent before the
record that forbids signing a conflicting one is on disk: a node killed right after it votes
restarts knowing it voted.

No sockets and no clock here: the trio service feeds events and executes what comes back, and
tests drive several drivers in one process with a fake network.

With ``double_sign`` (fault injection for tests, see ``fault_injection``) each commit vote going
out is followed by a conflicting one; the engine and the safety record are unaffected. With a
``failpoint`` (crash tests, see ``failpoints``) the node kills itself at one of the points here:
after a safety record is written, during or after a finalized block's write.
"""

from __future__ import annotations

from collections.abc import Callable

from consensus.fbft import (
    Action,
    BlocksSynced,
    ChainTip,
    CommitBlock,
    Event,
    FbftEngine,
    FbftState,
    PersistSafetyRecord,
    Rejected,
)
from consensus.safety import SafetyRecord
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.chain_store import CommitRecord
from harmony_node.exceptions import DatabaseError, DecodingError
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.failpoints import BLOCK_WRITTEN, VOTE_PERSISTED, Failpoint
from harmony_node.node.fault_injection import compute_double_signed_actions
from harmony_node.types.block import Block

OnCommit = Callable[[Block], None]


def get_chain_tip(chain: Blockchain) -> ChainTip:
    commit = chain.head_commit
    if commit is None:
        return ChainTip(chain.head.number, chain.head.hash, 0, None)
    return ChainTip(chain.head.number, chain.head.hash, commit.view, commit.certificate)


class ConsensusDriver:
    """One node's consensus: engine state plus the chain it finalizes into."""

    def __init__(self, engine: FbftEngine, access: NodeChainAccess, on_commit: OnCommit | None = None,
                 double_sign: bool = False, failpoint: Failpoint | None = None) -> None:
        self.engine = engine
        self.access = access
        self.chain = access.chain
        self.on_commit = on_commit
        self.double_sign = double_sign
        self.failpoint = failpoint
        self.state: FbftState | None = None

    def _load_record(self) -> SafetyRecord | None:
        data = self.chain.chain_store.get_safety_record(self.chain.shard_id)
        if data is None:
            return None
        try:
            return SafetyRecord.decode(data)
        except DecodingError as exc:  # never vote on a guess about what was signed before
            raise DatabaseError(f"the consensus safety record is corrupt: {exc}") from exc

    def start(self, now: int) -> list[Action]:
        """(Re)start on the chain's head with the persisted safety record."""
        self.state, actions = self.engine.start(get_chain_tip(self.chain), self._load_record(), now)
        return self._carry_out(actions, durable=True)

    def handle(self, event: Event, now: int) -> list[Action]:
        if self.state is None:
            raise RuntimeError("start the driver before handling events")
        if isinstance(event, BlocksSynced) and len(event.blocks) > 1:
            # One block per step: the engine validates a synced block on the chain's head, so the
            # previous one must be imported (by ``_carry_out``) before the next is looked at.
            outgoing: list[Action] = []
            for item in event.blocks:
                actions = self.handle(BlocksSynced((item,)), now)
                outgoing.extend(actions)
                if any(isinstance(action, Rejected) for action in actions):  # the rest cannot follow it
                    break
            return outgoing
        self.state, actions = self.engine.step(self.state, event, now)
        return self._carry_out(actions, durable=not isinstance(event, BlocksSynced))

    def _is_leading(self, number: int, view: int) -> bool:
        """Whether one of this node's keys leads ``view`` at height ``number`` (for failpoints only)."""
        committee = self.access.get_committee(number)
        return committee.public_keys[self.engine.get_leader_index(committee, view)] in self.engine.keys

    def _carry_out(self, actions: list[Action], durable: bool) -> list[Action]:
        outgoing: list[Action] = []
        for action in actions:
            if isinstance(action, PersistSafetyRecord):
                self.chain.chain_store.put_safety_record(self.chain.shard_id, action.record.encode())
                if self.failpoint is not None:
                    record = action.record
                    self.failpoint.pass_point(VOTE_PERSISTED, self._is_leading(record.height, record.view))
            elif isinstance(action, CommitBlock):
                block = self.access.get_block(action.block.data)
                commit = CommitRecord(action.commit_view, action.certificate)
                if self.failpoint is None:
                    self.chain.import_block(block, commit, durable=durable)
                else:
                    leading = self._is_leading(block.header.number, action.commit_view)
                    with self.failpoint.importing_block(leading):
                        self.chain.import_block(block, commit, durable=durable)
                    self.failpoint.pass_point(BLOCK_WRITTEN, leading)
                if self.on_commit is not None:
                    self.on_commit(block)
            else:
                outgoing.append(action)
        if self.double_sign:  # added last, so a forged vote too leaves only after the record is on disk
            return compute_double_signed_actions(outgoing, self.engine.keys, self.engine.scheme)
        return outgoing
