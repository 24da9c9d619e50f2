"""A leader key that signs two blocks for one (height, view): an equivocating leader, or one BLS key
running on two nodes ("twins"). Members report it, keep voting for the first block only, and quorum
intersection lets at most one of the two be prepared, so the twins never sign conflicting commit votes.
"""

from __future__ import annotations

from collections.abc import Iterable

import rlp

from consensus.fbft import (
    Action,
    BlockProposal,
    Broadcast,
    ChainTip,
    CommitBlock,
    ConflictingProposal,
    FbftConfig,
    FbftEngine,
    FbftState,
    MessageReceived,
    Rejected,
    ReportEvidence,
    SendToLeader,
    TimerFired,
    TimerKind,
)
from consensus.messages import ConsensusMessage, MessageKind, decode_message, encode_message, sign_message
from consensus.quorum import Committee
from consensus.scheme import BLS_SCHEME
from crypto import bls
from crypto.hash import keccak256

SECRETS = [bls.generate_secret_key(bytes([i + 70]) * 32) for i in range(4)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
COMMITTEE = Committee(0, 0, tuple(KEYS), (1, 1, 1, 1))
CONFIG = FbftConfig(block_time=0, view_timeout=10_000, blocks_per_leader=1)
GENESIS = ChainTip(0, keccak256(b"twin genesis"), 0, None)
LEADER = 1  # leads view 1, the first view of height 1


class FakeChain:
    """Blocks are RLP ``[number, parent, view_id, proposer, salt]``; every block is valid."""

    def get_committee(self, number: int) -> Committee:
        return COMMITTEE

    def build_block(self, tip: ChainTip, view_id: int, leader: bytes, now: int) -> BlockProposal:
        return self.decode_block(rlp.encode([tip.number + 1, tip.hash, view_id, leader, now]))

    def decode_block(self, data: bytes) -> BlockProposal:
        number, parent, view_id, _leader, _salt = rlp.decode(data)
        return BlockProposal(int.from_bytes(number, "big"), keccak256(data), parent, int.from_bytes(view_id, "big"),
                             None, data)

    def validate_block(self, tip: ChainTip, block: BlockProposal, certified: bool = False) -> None:
        pass


CHAIN = FakeChain()


def _announce(salt: int, secret: int = SECRETS[LEADER]) -> tuple[bytes, bytes]:
    """A signed ANNOUNCE by the leader key of view 1 (signed with ``secret``) and its block hash."""
    block = CHAIN.build_block(GENESIS, 1, KEYS[LEADER], salt)
    message = ConsensusMessage(MessageKind.ANNOUNCE, 0, 1, 1, block.hash, KEYS[LEADER], block=block.data)
    return encode_message(sign_message(secret, message, BLS_SCHEME)), block.hash


def _start(secret: int) -> tuple[FbftEngine, FbftState]:
    engine = FbftEngine(CONFIG, CHAIN, [secret], BLS_SCHEME)
    state, _ = engine.start(GENESIS, None, 0)
    return engine, state


def _votes(actions: Iterable[Action], kind: MessageKind) -> list[ConsensusMessage]:
    return [decode_message(a.data) for a in actions if isinstance(a, SendToLeader | Broadcast) and a.kind == kind]


def _conflicts(actions: Iterable[Action]) -> list[ConflictingProposal]:
    return [a for a in actions if isinstance(a, ConflictingProposal)]


def test_a_second_signed_proposal_is_reported_once_and_not_prepared() -> None:
    engine, state = _start(SECRETS[0])
    first, first_hash = _announce(salt=10)
    second, second_hash = _announce(salt=20)
    third, _ = _announce(salt=30)
    state, actions = engine.step(state, MessageReceived(first), 1)
    assert [v.block_hash for v in _votes(actions, MessageKind.PREPARE)] == [first_hash]

    state, actions = engine.step(state, MessageReceived(second), 2)
    assert _conflicts(actions) == [ConflictingProposal(KEYS[LEADER], 1, 1, first_hash, second_hash)]
    assert not _votes(actions, MessageKind.PREPARE)
    assert state.proposal == first_hash and state.record.prepared == first_hash

    for again in (first, second, third):  # a retransmission, or more blocks: one report per view is enough
        state, actions = engine.step(state, MessageReceived(again), 3)
        assert not _conflicts(actions) and not _votes(actions, MessageKind.PREPARE)


def test_a_second_proposal_not_signed_by_the_leader_proves_nothing() -> None:
    engine, state = _start(SECRETS[0])
    first, _ = _announce(salt=10)
    forged, _ = _announce(salt=20, secret=SECRETS[2])  # names the leader as sender, signed by another key
    state, _ = engine.step(state, MessageReceived(first), 1)
    state, actions = engine.step(state, MessageReceived(forged), 2)
    assert not _conflicts(actions)
    assert any(isinstance(a, Rejected) and "signature" in a.reason for a in actions)
    signed, _ = _announce(salt=30)  # the forgery did not use up the report of the real equivocation
    state, actions = engine.step(state, MessageReceived(signed), 3)
    assert len(_conflicts(actions)) == 1


class TwinNetwork:
    """Five engines: members 0, 2 and 3 and two nodes ("twins") both running the leader's key 1.

    A vote for the leader reaches both twins, as gossip would deliver it; delivery is in the order
    the test chooses, then first in, first out.
    """

    def __init__(self) -> None:
        self.nodes = {name: _start(SECRETS[key]) for name, key in (("0", 0), ("1a", 1), ("1b", 1), ("2", 2), ("3", 3))}
        self.sent: list[tuple[str, Action]] = []
        self.queue: list[tuple[str, bytes]] = []
        self.finalized: dict[str, bytes] = {}

    def step(self, name: str, event: MessageReceived | TimerFired, now: int) -> list[Action]:
        engine, state = self.nodes[name]
        state, actions = engine.step(state, event, now)
        self.nodes[name] = (engine, state)
        for action in actions:
            self.sent.append((name, action))
            if isinstance(action, CommitBlock):
                self.finalized[name] = action.block.hash
            elif isinstance(action, Broadcast | SendToLeader):
                self.queue.extend((other, action.data) for other in self.nodes if other != name)
        return actions

    def take_announce(self, twin: str) -> bytes:
        (data,) = [a.data for name, a in self.sent if name == twin and isinstance(a, Broadcast)
                   and a.kind == MessageKind.ANNOUNCE]
        self.queue = [(target, d) for target, d in self.queue if d != data]
        return data

    def run(self) -> None:
        while self.queue:
            target, data = self.queue.pop(0)
            self.step(target, MessageReceived(data), 100)


def test_twins_leading_one_view_finalize_one_block_without_conflicting_commit_votes() -> None:
    net = TwinNetwork()
    net.step("1a", TimerFired(TimerKind.PROPOSE, 1, 1), 10)  # each twin builds its own block
    net.step("1b", TimerFired(TimerKind.PROPOSE, 1, 1), 20)
    announce_a, announce_b = net.take_announce("1a"), net.take_announce("1b")
    for target, first, second in (("0", announce_a, announce_b), ("2", announce_a, announce_b),
                                  ("3", announce_b, announce_a), ("1b", announce_a, None), ("1a", announce_b, None)):
        for data in (first, second):
            if data is not None:
                net.step(target, MessageReceived(data), 50)
    net.run()

    block_a = decode_message(announce_a).block_hash
    assert {name: net.finalized.get(name) for name in ("0", "1a", "2", "3")} == dict.fromkeys(("0", "1a", "2", "3"),
                                                                                         block_a)
    reporters = {name for name, action in net.sent if isinstance(action, ConflictingProposal)}
    assert reporters == {"0", "1a", "1b", "2", "3"}  # the twins, too, see their key propose a block they did not
    prepared = {decode_message(a.data).block_hash for _, a in net.sent
                if isinstance(a, Broadcast) and a.kind == MessageKind.PREPARED}
    assert prepared == {block_a}  # key 1 counts once on each side: B gathers 2 of 4 prepare votes
    records = {twin: net.nodes[twin][1].record for twin in ("1a", "1b")}
    assert records["1a"].prepared == block_a and records["1b"].prepared == decode_message(announce_b).block_hash
    assert (records["1a"].committed, records["1b"].committed) == (block_a, b"")  # nothing slashable
    assert not [a for _, a in net.sent if isinstance(a, ReportEvidence)]
