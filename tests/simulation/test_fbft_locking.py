"""The locking rule against the attack it exists for, scripted step by step on four nodes.

Leader L (node 1) gets block B prepared and committed, but its PREPARED reaches only nodes 0 and 2
and its COMMITTED reaches nobody, then L goes quiet on a later height. Node 2 is Byzantine and
leads the next view. NIL view-change signatures sign a constant, so it replays an old NIL
signature of node 0's and presents a NEWVIEW claiming nobody prepared anything, then proposes a
fresh block B'. Node 0 is locked on B and must refuse. Without the rule it prepares B', a quorum
(0, 2, 3) forms, and B' is finalized at the height where L finalized B: a fork.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fbft_sim import GENESIS, LinearScheme, SimChain

from consensus.bitmap import encode_bitmap
from consensus.fbft import (
    Action,
    Broadcast,
    CommitBlock,
    FbftConfig,
    FbftEngine,
    FbftState,
    MessageReceived,
    Rejected,
    SendToLeader,
    TimerFired,
    TimerKind,
)
from consensus.messages import ConsensusMessage, MessageKind, decode_message, encode_message, sign_message
from consensus.signing import NIL_PAYLOAD, QuorumCertificate, compute_commit_payload, compute_prepare_payload

SCHEME = LinearScheme()
SECRETS = [1000 + i for i in range(4)]
KEYS = [SCHEME.get_public_key(s) for s in SECRETS]
CONFIG = FbftConfig(block_time=0, view_timeout=100, blocks_per_leader=1)
L, W = 1, 2  # leader of view 1, Byzantine leader of view 2


class Network:
    def __init__(self) -> None:
        self.chain = SimChain(KEYS, (1, 1, 1, 1), epoch_blocks=1000)
        self.engines = [FbftEngine(CONFIG, self.chain, [s], SCHEME) for s in SECRETS]
        self.states: list[FbftState] = []
        self.outbox: list[tuple[int, Action]] = []
        self.finalized: dict[int, dict[int, bytes]] = {}
        for engine in self.engines:
            state, actions = engine.start(GENESIS, None, 0)
            self.states.append(state)
            self._collect(len(self.states) - 1, actions)

    def _collect(self, node: int, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, CommitBlock):
                self.finalized.setdefault(node, {})[action.block.number] = action.block.hash
            self.outbox.append((node, action))

    def step(self, node: int, event: MessageReceived | TimerFired) -> list[Action]:
        _, actions = self.engines[node].step(self.states[node], event, 0)
        self._collect(node, actions)
        return actions

    def take(self, node: int, kind: MessageKind) -> bytes:
        """Remove and return the next message of ``kind`` sent by ``node``."""
        for position, (sender, action) in enumerate(self.outbox):
            if sender == node and isinstance(action, Broadcast | SendToLeader) and action.kind == kind:
                del self.outbox[position]
                return action.data
        raise AssertionError(f"node {node} sent no {kind.name}")

    def deliver(self, data: bytes, *targets: int) -> None:
        for target in targets:
            self.step(target, MessageReceived(data))

    def fire_view_timer(self, node: int) -> None:
        state = self.states[node]
        self.step(node, TimerFired(TimerKind.VIEW, state.height, state.view))


def _finalize_b_quietly(net: Network) -> bytes:
    net.step(L, TimerFired(TimerKind.PROPOSE, 1, 1))
    net.deliver(net.take(L, MessageKind.ANNOUNCE), 0, 2, 3)
    for voter in (0, 2, 3):
        net.deliver(net.take(voter, MessageKind.PREPARE), L)
    prepared = net.take(L, MessageKind.PREPARED)
    net.deliver(prepared, 0, 2)  # node 3 never sees the prepare certificate
    for voter in (0, 2):
        net.deliver(net.take(voter, MessageKind.COMMIT), L)
    net.take(L, MessageKind.COMMITTED)  # lost on its way to everyone
    block_b = decode_message(prepared).block_hash
    assert net.finalized[L][1] == block_b
    assert net.states[0].record.lock is not None and net.states[0].record.lock.block_hash == block_b
    return block_b


def _forge_new_view(net: Network) -> tuple[bytes, bytes]:
    """Node 2's NEWVIEW for view 2 without M1, backed by replayed NIL signatures, and its ANNOUNCE of B'."""
    for node in (0, 2, 3):
        net.fire_view_timer(node)
    view_changes = {node: decode_message(net.take(node, MessageKind.VIEWCHANGE)) for node in (0, 2, 3)}
    assert view_changes[0].payload and view_changes[0].view_id == 2  # node 0 reports its lock (M1)
    for node in (0, 3):
        net.deliver(encode_message(view_changes[node]), W)
    signers = sorted(view_changes)
    bitmap = encode_bitmap(signers, 4)
    m3 = SCHEME.aggregate_for_verification([view_changes[i].m3 for i in signers])
    replayed_nil = SCHEME.aggregate_for_verification([SCHEME.sign(SECRETS[i], NIL_PAYLOAD) for i in signers])
    state = net.states[W]
    fresh = net.chain.build_block(state.tip, state.start_view, KEYS[W], 0, salt=99)
    new_view = ConsensusMessage(MessageKind.NEWVIEW, 0, 2, 1, b"", KEYS[W], m2=QuorumCertificate(replayed_nil, bitmap)
                                .encode(), m3=QuorumCertificate(m3, bitmap).encode())
    announce = ConsensusMessage(MessageKind.ANNOUNCE, 0, 2, 1, fresh.hash, KEYS[W], block=fresh.data)
    return (encode_message(sign_message(SECRETS[W], new_view, SCHEME)),
            encode_message(sign_message(SECRETS[W], announce, SCHEME)))


def test_locked_node_refuses_a_fresh_block_behind_replayed_nil_signatures() -> None:
    net = Network()
    _finalize_b_quietly(net)
    new_view, announce = _forge_new_view(net)
    net.deliver(new_view, 0, 3)
    actions = net.step(0, MessageReceived(announce))
    assert not [a for a in actions if isinstance(a, SendToLeader) and a.kind == MessageKind.PREPARE]
    assert any(isinstance(a, Rejected) and "locked" in a.reason for a in actions)
    net.deliver(announce, 3)  # the unlocked node may prepare B': with the Byzantine leader, 2 of 4 votes
    assert not [a for _, a in net.outbox if isinstance(a, Broadcast) and a.kind == MessageKind.PREPARED]


@contextmanager
def _without_locking() -> Iterator[None]:
    original = FbftEngine._may_prepare
    FbftEngine._may_prepare = lambda self, state, block_hash: True  # type: ignore[method-assign]
    try:
        yield
    finally:
        FbftEngine._may_prepare = original  # type: ignore[method-assign]


def test_the_same_script_forks_without_the_locking_rule() -> None:
    """Shows the test above exercises the rule: remove it and the attack finalizes two blocks."""
    with _without_locking():
        net = Network()
        block_b = _finalize_b_quietly(net)
        new_view, announce = _forge_new_view(net)
        net.deliver(new_view, 0, 3)
        net.deliver(announce, 0, 3)
        # Node 2's own engine re-proposes B, so the script plays its part: aggregate B' votes by hand.
        votes = {v: decode_message(net.take(v, MessageKind.PREPARE)) for v in (0, 3)}
        fresh_hash = votes[0].block_hash
        assert fresh_hash != block_b
        prepare_sigs = [m.payload for m in votes.values()] + [SCHEME.sign(SECRETS[W], compute_prepare_payload(
            fresh_hash, 2))]
        bitmap = encode_bitmap([0, 2, 3], 4)
        fresh_block = net.chain.decode_block(decode_message(announce).block)
        prepared = ConsensusMessage(MessageKind.PREPARED, 0, 2, 1, fresh_hash, KEYS[W], payload=QuorumCertificate(
            SCHEME.aggregate_for_verification(prepare_sigs), bitmap).encode(), block=fresh_block.data)
        net.deliver(encode_message(sign_message(SECRETS[W], prepared, SCHEME)), 0, 3)
        commit_sigs = [decode_message(net.take(v, MessageKind.COMMIT)).payload for v in (0, 3)]
        commit_sigs.append(SCHEME.sign(SECRETS[W], compute_commit_payload(1, fresh_hash, 2)))
        committed = ConsensusMessage(MessageKind.COMMITTED, 0, 2, 1, fresh_hash, KEYS[W], payload=QuorumCertificate(
            SCHEME.aggregate_for_verification(commit_sigs), bitmap).encode())
        net.deliver(encode_message(sign_message(SECRETS[W], committed, SCHEME)), 0)
        assert net.finalized[0][1] == fresh_hash != net.finalized[L][1]  # the fork the rule prevents
