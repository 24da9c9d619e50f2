"""A seeded, deterministic simulation of an FBFT network, with faults, for the invariant tests.

N ``FbftEngine`` instances run in one process on a fake clock. Every message goes through its
wire encoding over a fake network that, while faults are on, drops, delays, duplicates and
reorders messages and can split the nodes into partitions. Nodes crash (at any point of executing
a step's actions, so a persisted safety record may or may not be followed by its message) and
restart from their "disk": the committed chain and the safety record. Byzantine nodes run the
honest engine with a twist: silent, equivocating leader, double-signing validator, invalid-block
proposer, or lying sync server. After ``heal_at`` every fault stops and every crashed node
restarts.

Checked on every run (``InvariantViolation`` otherwise): no two blocks finalized at one height;
only valid blocks finalized, each with a valid quorum commit certificate, each on its node's
previous block; (height, view) never decreases on any node, across restarts; no honest key signs
two different things in one phase at one (height, view); every double-sign evidence verifies and
accuses only a double signer; and, when at most f nodes are faulty, every honest node finalizes
new blocks after the heal. A seed fixes everything, so a failing seed replays exactly.

The signature scheme is ``LinearScheme``, a keyed linear tag with the sizes and aggregation
algebra of BLS: it makes a thousand runs take a minute. It is not a signature (anyone can compute
anyone's tag) and the Byzantine behaviours here never forge; runs with real BLS sit beside it.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

import rlp

from consensus.evidence import validate_double_sign_evidence
from consensus.fbft import (
    Action,
    BlockProposal,
    BlocksSynced,
    Broadcast,
    ChainTip,
    CommitBlock,
    ConflictingProposal,
    Event,
    FbftConfig,
    FbftEngine,
    FbftState,
    Justification,
    MessageReceived,
    PersistSafetyRecord,
    ReportEvidence,
    RequestSync,
    SendToLeader,
    SetTimer,
    SyncedBlock,
    TimerFired,
)
from consensus.messages import ConsensusMessage, MessageKind, decode_message, encode_message, sign_message
from consensus.quorum import Committee
from consensus.safety import SafetyRecord
from consensus.scheme import BLS_SCHEME, SignatureScheme
from consensus.bitmap import decode_bitmap
from consensus.signing import (
    NIL_PAYLOAD,
    QuorumCertificate,
    compute_commit_payload,
    compute_prepare_payload,
    validate_commit_certificate,
)
from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError, InvalidBlock, InvalidSignature

# --- a fast stand-in for BLS ---------------------------------------------------------------------

_P = 2**255 - 19
_PAD = bytes(64)


class LinearScheme:
    """sig = H(m)·x mod p: aggregates by addition and verifies like BLS, costs a hash."""

    def get_public_key(self, secret_key: int) -> bytes:
        x = secret_key % _P
        return x.to_bytes(32, "big") + keccak256(x.to_bytes(32, "big"))[:16]

    def __init__(self) -> None:
        self._xs: dict[bytes, int] = {}

    def _x(self, public_key: bytes) -> int:
        x = self._xs.get(public_key)
        if x is None:
            x = self._xs[public_key] = int.from_bytes(public_key[:32], "big")
        return x

    @staticmethod
    def _h(payload: bytes) -> int:
        return int.from_bytes(keccak256(payload), "big") % _P

    @staticmethod
    def _load(signature: bytes) -> int:
        if len(signature) != 96 or signature[32:] != _PAD:
            raise InvalidSignature("not a signature of this scheme")
        return int.from_bytes(signature[:32], "big")

    def sign(self, secret_key: int, payload: bytes) -> bytes:
        return (self._h(payload) * (secret_key % _P) % _P).to_bytes(32, "big") + _PAD

    def verify(self, public_key: bytes, payload: bytes, signature: bytes) -> bool:
        return self.verify_aggregate((public_key,), payload, signature)

    def aggregate_for_verification(self, signatures: Sequence[bytes]) -> bytes:
        if not signatures:
            raise InvalidSignature("nothing to aggregate")
        return (sum(self._load(s) for s in signatures) % _P).to_bytes(32, "big") + _PAD

    def verify_aggregate(self, public_keys: Sequence[bytes], payload: bytes, signature: bytes) -> bool:
        try:
            value = self._load(signature)
        except InvalidSignature:
            return False
        return bool(public_keys) and value == self._h(payload) * sum(map(self._x, public_keys)) % _P


# --- a fake chain ----------------------------------------------------------------------------------


class SimChain:
    """Blocks are RLP ``[number, parent, view_id, proposer, valid, last_sig, last_bitmap, salt]``."""

    def __init__(self, keys: Sequence[bytes], powers: Sequence[int], epoch_blocks: int, build_invalid: bool = False):
        self.keys = tuple(keys)
        self.powers = tuple(powers)
        self.epoch_blocks = epoch_blocks
        self.build_invalid = build_invalid
        self._committees: dict[int, Committee] = {}

    def get_committee(self, number: int) -> Committee:
        epoch = number // self.epoch_blocks
        committee = self._committees.get(epoch)
        if committee is None:
            # Each epoch reorders the committee, so bitmaps and leaders change at epoch boundaries.
            shift = epoch % len(self.keys)
            keys = self.keys[shift:] + self.keys[:shift]
            powers = self.powers[shift:] + self.powers[:shift]
            committee = self._committees[epoch] = Committee(0, epoch, keys, powers)
        return committee

    def build_block(self, tip: ChainTip, view_id: int, leader: bytes, now: int, salt: int = 0) -> BlockProposal:
        cert = tip.certificate
        fields = [tip.number + 1, tip.hash, view_id, leader, 0 if self.build_invalid else 1,
                  cert.signature if cert else b"", cert.bitmap if cert else b"", now * 1000 + salt]
        return self.decode_block(rlp.encode(fields))

    def decode_block(self, data: bytes) -> BlockProposal:
        try:
            number, parent, view_id, _proposer, _valid, sig, bitmap, _salt = rlp.decode(data, strict=True)
            last = QuorumCertificate(sig, bitmap) if sig else None
            return BlockProposal(_int(number), keccak256(data), parent, _int(view_id), last, data)
        except (rlp.exceptions.RLPException, ValueError, TypeError) as exc:
            raise DecodingError(f"not a simulated block: {exc}") from exc

    def validate_block(self, tip: ChainTip, block: BlockProposal, certified: bool = False) -> None:
        if not is_valid_block(block.data):
            raise InvalidBlock("block marked invalid")


def _int(item: object) -> int:
    if not isinstance(item, bytes):
        raise DecodingError("expected an integer")
    return int.from_bytes(item, "big")


def is_valid_block(data: bytes) -> bool:
    return bool(rlp.decode(data)[4] == b"\x01")


GENESIS = ChainTip(0, keccak256(b"simulated genesis"), 0, None)

# --- scenarios -------------------------------------------------------------------------------------


class Behaviour(Enum):
    HONEST = "honest"
    SILENT = "silent"
    EQUIVOCATOR = "equivocating leader"
    DOUBLE_SIGNER = "double-signing validator"
    INVALID_PROPOSER = "invalid-block proposer"
    LYING_SYNC = "lying sync server"
    WITHHOLDER = "withholding leader"
    TWIN = "key run on two nodes"


@dataclass(frozen=True)
class Scenario:
    seed: int
    nodes: int
    powers: tuple[int, ...]
    behaviours: tuple[Behaviour, ...]
    drop: float = 0.0
    duplicate: float = 0.0
    delay: tuple[int, int] = (2, 20)
    partitions: tuple[tuple[int, int, frozenset[int]], ...] = ()  # (from, to, one side)
    crashes: tuple[tuple[int, int, int], ...] = ()  # (node, down at, up at)
    heal_at: int = 0
    deadline: int = 60_000
    expect_progress: bool = True
    expect_evidence: bool = False
    blocks_after_heal: int = 3
    epoch_blocks: int = 7
    config: FbftConfig = FbftConfig(block_time=30, view_timeout=300, max_backoff_exponent=3, blocks_per_leader=2,
                                    sync_interval=200)

    def describe(self) -> str:
        faults = [b.value for b in self.behaviours if b != Behaviour.HONEST]
        if self.drop:
            faults.append(f"drop {self.drop:.2f} dup {self.duplicate:.2f}")
        if self.partitions:
            faults.append(f"{len(self.partitions)} partition(s)")
        if self.crashes:
            faults.append(f"{len(self.crashes)} crash(es)")
        return f"seed {self.seed}: {self.nodes} nodes powers {self.powers}: {', '.join(faults) or 'no faults'}"


FAULT_KINDS = (
    "none", "lossy", "partition", "crash", "silent", "equivocator", "double_signer", "invalid_proposer",
    "lying_sync", "mixed", "f_plus_one_down", "withholder",
)


def make_scenario(seed: int) -> Scenario:
    """The scenario a seed stands for: size, voting power and one family of faults."""
    rng = random.Random(seed)
    kind = FAULT_KINDS[seed % len(FAULT_KINDS)]
    n = rng.choice((4, 4, 4, 5, 7))
    powers = tuple(rng.randint(1, 3) for _ in range(n)) if rng.random() < 0.3 else (1,) * n
    faulty = _pick_faulty(rng, powers)
    behaviours = [Behaviour.HONEST] * n
    heal_at = rng.randint(1000, 3000)
    scenario = Scenario(seed, n, powers, tuple(behaviours), heal_at=heal_at, delay=(1, rng.randint(5, 40)))
    if kind == "lossy":
        scenario = replace(scenario, drop=rng.uniform(0.05, 0.4), duplicate=rng.uniform(0, 0.2),
                           delay=(1, rng.randint(20, 200)))
    elif kind == "partition":
        side = frozenset(rng.sample(range(n), rng.randint(1, n - 1)))
        start = rng.randint(0, heal_at // 2)
        scenario = replace(scenario, partitions=((start, heal_at, side),))
    elif kind == "crash":
        crashes = tuple((i, rng.randint(0, heal_at // 2), heal_at) for i in faulty)
        scenario = replace(scenario, crashes=crashes, drop=rng.uniform(0, 0.1))
    elif kind in ("silent", "equivocator", "double_signer", "invalid_proposer", "lying_sync", "withholder"):
        behaviour = Behaviour[kind.upper()]
        for i in faulty:
            behaviours[i] = behaviour
        scenario = replace(scenario, behaviours=tuple(behaviours), expect_evidence=kind == "double_signer")
        if kind == "withholder":  # losses make view changes, where a withholding leader does its work
            scenario = replace(scenario, drop=rng.uniform(0.05, 0.3), delay=(1, rng.randint(20, 150)))
        if kind == "lying_sync":  # somebody must fall behind and sync
            lagging = next(i for i in range(n) if i not in faulty)
            scenario = replace(scenario, partitions=((0, heal_at, frozenset({lagging})),))
    elif kind == "mixed":
        choices = [Behaviour.SILENT, Behaviour.EQUIVOCATOR, Behaviour.DOUBLE_SIGNER, Behaviour.INVALID_PROPOSER,
                   Behaviour.LYING_SYNC, Behaviour.WITHHOLDER]
        for i in faulty:
            behaviours[i] = rng.choice(choices)
        side = frozenset(rng.sample(range(n), rng.randint(1, n - 1)))
        scenario = replace(scenario, behaviours=tuple(behaviours), drop=rng.uniform(0, 0.2),
                           duplicate=rng.uniform(0, 0.1), partitions=((rng.randint(0, heal_at), heal_at, side),))
    elif kind == "f_plus_one_down":
        # More than a third of the power down: no quorum, so no progress, but never a fork.
        down = _pick_faulty(rng, powers, more_than_third=True)
        crashes = tuple((i, rng.randint(0, 500), heal_at) for i in down)
        scenario = replace(scenario, crashes=crashes, drop=rng.uniform(0, 0.1))
    return scenario


def _pick_faulty(rng: random.Random, powers: Sequence[int], more_than_third: bool = False) -> list[int]:
    """Members holding under a third of the power (or, if asked, just over a third)."""
    order = list(range(len(powers)))
    rng.shuffle(order)
    total, chosen, power = sum(powers), [], 0
    for i in order:
        if more_than_third:
            chosen.append(i)
            power += powers[i]
            if 3 * power > total:
                break
        elif 3 * (power + powers[i]) < total:
            chosen.append(i)
            power += powers[i]
    return chosen


# --- the simulation ----------------------------------------------------------------------------------


class InvariantViolation(AssertionError):
    """A safety or liveness property failed; the message names the seed's scenario."""


@dataclass
class SimNode:
    index: int
    secret: int
    key: bytes
    behaviour: Behaviour
    engine: FbftEngine
    state: FbftState | None = None
    chain: list[tuple[BlockProposal, int, QuorumCertificate]] = field(default_factory=list)
    record: SafetyRecord | None = None
    incarnation: int = 0
    crash_pending: bool = False
    last_position: tuple[int, int] = (0, 0)

    @property
    def tip(self) -> ChainTip:
        if not self.chain:
            return GENESIS
        block, view, cert = self.chain[-1]
        return ChainTip(block.number, block.hash, view, cert)


@dataclass
class RunResult:
    scenario: Scenario
    heights: list[int]
    events: int
    rounds: int
    evidence: int
    end_time: int


class Simulation:
    def __init__(self, scenario: Scenario, scheme: SignatureScheme | None = None) -> None:
        self.scenario = scenario
        self.scheme: SignatureScheme = scheme or LinearScheme()
        self.rng = random.Random(scenario.seed * 7919 + 1)
        secrets = [random.Random(scenario.seed * 31 + i).randrange(1, 2**250) for i in range(scenario.nodes)]
        keys = [self.scheme.get_public_key(s) for s in secrets]
        self.chain = SimChain(keys, scenario.powers, scenario.epoch_blocks)
        self.nodes: list[SimNode] = []
        for i, (secret, key) in enumerate(zip(secrets, keys, strict=True)):
            behaviour = scenario.behaviours[i]
            chain = self.chain
            if behaviour == Behaviour.INVALID_PROPOSER:
                chain = SimChain(keys, scenario.powers, scenario.epoch_blocks, build_invalid=True)
            engine = FbftEngine(scenario.config, chain, [secret], self.scheme)
            self.nodes.append(SimNode(i, secret, key, behaviour, engine))
        self.by_key = {node.key: node for node in self.nodes}
        self.queue: list[tuple[int, int, int, int, Event | str]] = []
        self.seq = 0
        self.now = 0
        self.events = 0
        self.finalized: dict[int, bytes] = {}
        self.signed: dict[tuple[bytes, int, int, MessageKind], bytes] = {}
        self.latest_signed: dict[bytes, tuple[int, int]] = {}
        self.evidence: list[tuple[int, bytes]] = []
        self.double_signed: set[bytes] = set()
        self.nil_signatures: dict[bytes, bytes] = {}
        self.lowest_honest_height = 0  # kept up to date by _on_commit
        self.checked_certificates: set[tuple[int, bytes, int, bytes]] = set()
        self.hidden_locks = 0

    # -- plumbing --

    def _push(self, at: int, node: int, event: Event | str, incarnation: int | None = None) -> None:
        self.seq += 1
        inc = self.nodes[node].incarnation if incarnation is None else incarnation
        heapq.heappush(self.queue, (at, self.seq, node, inc, event))

    def _faults_on(self) -> bool:
        return self.now < self.scenario.heal_at

    def _linked(self, a: int, b: int) -> bool:
        for start, end, side in self.scenario.partitions:
            if start <= self.now < end and ((a in side) != (b in side)):
                return False
        return True

    def _send(self, source: int, target: int, data: bytes) -> None:
        if not self._linked(source, target):
            return
        low, high = self.scenario.delay
        copies = 1
        if self._faults_on():
            if self.rng.random() < self.scenario.drop:
                return
            if self.rng.random() < self.scenario.duplicate:
                copies = 2
        else:
            high = min(high, 20)
        for _ in range(copies):
            self._push(self.now + self.rng.randint(low, high), target, MessageReceived(data))

    def _honest(self, node: SimNode) -> bool:
        return node.behaviour == Behaviour.HONEST

    # -- running --

    def run(self) -> RunResult:
        scenario = self.scenario
        for node in self.nodes:
            self._boot(node)
        for index, down, up in scenario.crashes:
            self._push(down, index, "crash", incarnation=-1)
            self._push(up, index, "restart", incarnation=-1)
        goal: int | None = None
        while self.queue:
            at, _, index, incarnation, event = heapq.heappop(self.queue)
            if at > scenario.deadline:
                break
            self.now = at
            if goal is None and at >= scenario.heal_at:
                goal = max(self._heights()) + scenario.blocks_after_heal
            if goal is not None and self.lowest_honest_height >= goal:
                break
            node = self.nodes[index]
            if event == "crash":
                node.crash_pending = True
                continue
            if event == "restart":
                if node.state is None:
                    self._boot(node)
                continue
            if node.state is None or incarnation != node.incarnation:
                continue
            assert not isinstance(event, str)
            self.events += 1
            if node.behaviour == Behaviour.WITHHOLDER and isinstance(event, MessageReceived):
                if self._collect_nil(event.data) == MessageKind.COMMITTED:
                    continue  # plays ignorant of finality, to lead the view change that follows
            state, actions = node.engine.step(node.state, event, self.now)
            if node.behaviour == Behaviour.WITHHOLDER:
                actions = self._hide_locks(node, state, actions)
            self._check_position(node, state)
            self._execute(node, actions)
        self._check_end(goal)
        return RunResult(scenario, self._heights(), self.events, max(self._heights()), len(self.evidence), self.now)

    def _boot(self, node: SimNode) -> None:
        node.incarnation += 1
        node.crash_pending = False
        state, actions = node.engine.start(node.tip, node.record, self.now)
        node.state = state
        node.last_position = (state.height, state.view)  # a new incarnation; what it signs is checked
        self._execute(node, actions)

    def _heights(self) -> list[int]:
        return [len(node.chain) for node in self.nodes]

    def _honest_heights(self) -> list[int]:
        return [len(node.chain) for node in self.nodes if self._honest(node)]

    def _fail(self, what: str) -> None:
        raise InvariantViolation(f"{self.scenario.describe()}: at t={self.now}: {what}")

    def _check_position(self, node: SimNode, state: FbftState) -> None:
        position = (state.height, state.view)
        if position < node.last_position:
            self._fail(f"node {node.index} went back from (height, view) {node.last_position} to {position}")
        node.last_position = position

    def _execute(self, node: SimNode, actions: list[Action]) -> None:
        if node.crash_pending:  # killed part way through this step's actions
            actions = actions[: self.rng.randint(0, len(actions))]
        for action in actions:
            self._execute_one(node, action)
        if node.crash_pending:
            node.state = None
            node.incarnation += 1

    def _execute_one(self, node: SimNode, action: Action) -> None:
        if isinstance(action, SetTimer):
            self._push(action.at, node.index, TimerFired(action.kind, action.height, action.view))
        elif isinstance(action, PersistSafetyRecord):
            node.record = action.record
        elif isinstance(action, CommitBlock):
            self._on_commit(node, action)
        elif isinstance(action, Broadcast | SendToLeader):
            self._on_outgoing(node, action)
        elif isinstance(action, ReportEvidence):
            offenders = validate_double_sign_evidence(action.evidence, self.scheme)
            for key in offenders:
                if self.by_key[key].behaviour != Behaviour.DOUBLE_SIGNER:
                    self._fail(f"node {node.index} accused honest key of node {self.by_key[key].index}")
                self.evidence.append((node.index, key))
        elif isinstance(action, RequestSync):
            self._on_sync_request(node, action)

    def _on_commit(self, node: SimNode, action: CommitBlock) -> None:
        block = action.block
        if block.number != len(node.chain) + 1 or block.parent_hash != node.tip.hash:
            self._fail(f"node {node.index} finalized block {block.number} not on its chain of {len(node.chain)}")
        if not is_valid_block(block.data):
            self._fail(f"node {node.index} finalized invalid block {block.number}")
        committee = self.chain.get_committee(block.number)
        certificate = (block.number, block.hash, action.commit_view, action.certificate.encode())
        if certificate not in self.checked_certificates:
            try:
                validate_commit_certificate(committee, block.number, block.hash, action.commit_view,
                                            action.certificate, self.scheme)
            except Exception as exc:  # noqa: BLE001 - any failure is the violation being reported
                self._fail(f"node {node.index} finalized block {block.number} without a valid certificate: {exc}")
            self.checked_certificates.add(certificate)
        node.chain.append((block, action.commit_view, action.certificate))
        if self._honest(node) and block.number == self.lowest_honest_height + 1:
            self.lowest_honest_height = min(self._honest_heights())
        if self._honest(node):
            known = self.finalized.setdefault(block.number, block.hash)
            if known != block.hash:
                self._fail(f"FORK at height {block.number}: {known.hex()[:12]} vs {block.hash.hex()[:12]}")

    def _on_outgoing(self, node: SimNode, action: Broadcast | SendToLeader) -> None:
        behaviour = node.behaviour
        message = decode_message(action.data)
        if self._honest(node):
            self._check_signed(node, message)
        if behaviour == Behaviour.SILENT:
            return
        targets = [action.leader] if isinstance(action, SendToLeader) else [
            other.key for other in self.nodes if other is not node]
        if behaviour == Behaviour.WITHHOLDER and message.kind in (MessageKind.PREPARED, MessageKind.COMMITTED):
            targets = [t for t in targets if self.rng.random() < 0.5]  # certificates reach only some
        if behaviour == Behaviour.EQUIVOCATOR and message.kind == MessageKind.ANNOUNCE:
            self._equivocate(node, message, targets)
            return
        if behaviour == Behaviour.DOUBLE_SIGNER and message.kind == MessageKind.COMMIT:
            other = replace(message, block_hash=keccak256(message.block_hash))
            payload = compute_commit_payload(other.block_number, other.block_hash, other.view_id)
            other = replace(other, payload=self.scheme.sign(node.secret, payload))
            self.double_signed.add(node.key)
            first, second = (other, message) if self.rng.random() < 0.5 else (message, other)
            for target in targets:
                self._send(node.index, self.by_key[target].index, encode_message(first))
                self._send(node.index, self.by_key[target].index, encode_message(second))
            return
        for target in targets:
            self._send(node.index, self.by_key[target].index, action.data)

    def _collect_nil(self, data: bytes) -> MessageKind:
        """NIL view-change signatures sign a constant, so a Byzantine leader can keep and reuse them."""
        message = decode_message(data)
        if message.kind == MessageKind.VIEWCHANGE and not message.payload:
            if self.scheme.verify(message.sender, NIL_PAYLOAD, message.m2):
                self.nil_signatures[message.sender] = message.m2
        return message.kind

    def _hide_locks(self, node: SimNode, state: FbftState, actions: list[Action]) -> list[Action]:
        """As a new leader, claim with replayed NIL signatures that nobody prepared anything, and
        propose a fresh block instead of the locked one. Honest locks must refuse it."""
        kinds = [a.kind for a in actions if isinstance(a, Broadcast)]
        if MessageKind.NEWVIEW not in kinds or MessageKind.ANNOUNCE not in kinds:
            return actions
        newview = next(decode_message(a.data) for a in actions if isinstance(a, Broadcast) and a.kind == MessageKind.NEWVIEW)
        if not newview.payload:
            return actions
        committee = state.committee
        moved = QuorumCertificate.decode(newview.m3)
        signers = decode_bitmap(moved.bitmap, committee.size)
        keys = [committee.public_keys[i] for i in signers]
        self.nil_signatures[node.key] = self.scheme.sign(node.secret, NIL_PAYLOAD)
        if any(key not in self.nil_signatures for key in keys):
            return actions
        nil = self.scheme.aggregate_for_verification([self.nil_signatures[key] for key in keys])
        forged = replace(newview, payload=b"", block=b"", block_hash=b"", m2=nil + moved.bitmap)
        fresh = self.chain.build_block(state.tip, state.start_view, node.key, self.now, salt=3)
        announce = ConsensusMessage(MessageKind.ANNOUNCE, 0, state.view, state.height, fresh.hash, node.key,
                                    block=fresh.data)
        # Rewire the Byzantine node's own engine to collect votes for the fresh block.
        state.blocks[fresh.hash] = fresh
        state.proposal = fresh.hash
        state.justification = Justification(-1, b"")
        own = committee.index_of[node.key]
        state.prepare_votes = {own: self.scheme.sign(node.secret, compute_prepare_payload(fresh.hash, state.view))}
        self.hidden_locks += 1
        rewritten: list[Action] = []
        for action in actions:
            if isinstance(action, Broadcast) and action.kind == MessageKind.NEWVIEW:
                action = Broadcast(encode_message(sign_message(node.secret, forged, self.scheme)), action.kind)
            elif isinstance(action, Broadcast) and action.kind == MessageKind.ANNOUNCE:
                action = Broadcast(encode_message(sign_message(node.secret, announce, self.scheme)), action.kind)
            elif isinstance(action, Broadcast | SendToLeader) and action.kind == MessageKind.PREPARE:
                continue
            rewritten.append(action)
        return rewritten

    def _equivocate(self, node: SimNode, message: ConsensusMessage, targets: list[bytes]) -> None:
        """Send every other member another block for the same height and view."""
        assert node.state is not None
        other_block = self.chain.build_block(node.state.tip, node.state.start_view, node.key, self.now, salt=1)
        other = sign_message(
            node.secret, replace(message, block_hash=other_block.hash, block=other_block.data), self.scheme
        )
        variants = (encode_message(message), encode_message(other))
        for position, target in enumerate(targets):
            self._send(node.index, self.by_key[target].index, variants[position % 2])

    def _check_signed(self, node: SimNode, message: ConsensusMessage) -> None:
        """No honest key signs two different things in one phase at one (height, view)."""
        kind = message.kind
        if kind not in (MessageKind.ANNOUNCE, MessageKind.PREPARE, MessageKind.COMMIT, MessageKind.VIEWCHANGE):
            return
        slot = (message.sender, message.block_number, message.view_id, kind)
        what = message.block_hash if kind != MessageKind.VIEWCHANGE else message.payload[:32]
        known = self.signed.setdefault(slot, what)
        if known != what:
            self._fail(f"honest node {node.index} signed two different {kind.name} at {slot[1:3]}")
        position = (message.block_number, message.view_id)
        latest = self.latest_signed.setdefault(message.sender, position)
        if position < latest:
            self._fail(f"honest node {node.index} signed at {position} after signing at {latest}")
        self.latest_signed[message.sender] = position

    def _on_sync_request(self, node: SimNode, action: RequestSync) -> None:
        peers = [p for p in self.nodes if p is not node and p.state is not None and self._linked(node.index, p.index)]
        if not peers:
            return
        peer = self.rng.choice(peers)
        items = []
        for block, view, cert in peer.chain[action.from_number - 1: action.from_number - 1 + 16]:
            if peer.behaviour == Behaviour.LYING_SYNC:
                forged = self.chain.build_block(ChainTip(block.number - 1, block.parent_hash, 0, None), block.view_id,
                                                peer.key, self.now, salt=7)
                items.append(SyncedBlock(forged.data, view, cert))
            else:
                items.append(SyncedBlock(block.data, view, cert))
        if items:
            low, high = self.scenario.delay
            self._push(self.now + self.rng.randint(low, high) * 2, node.index, BlocksSynced(tuple(items)))

    def _check_end(self, goal: int | None) -> None:
        scenario = self.scenario
        if scenario.expect_progress:
            if goal is None or min(self._honest_heights()) < goal:
                self._fail(f"no progress after the heal: heights {self._heights()}, wanted {goal} by "
                           f"t={scenario.deadline}")
        if scenario.expect_evidence:
            missing = {n.index for n in self.nodes if n.key in self.double_signed} - {
                self.by_key[k].index for _, k in self.evidence}
            if missing:
                self._fail(f"double signers {sorted(missing)} have no evidence against them")


class TwinSimulation(Simulation):
    """A scenario plus one more node that runs the key of node ``twin_of``: two honest engines behind
    one key, as when an operator starts a backup node without stopping the first.

    Both are marked ``TWIN`` (the fork and signing checks cover the honest nodes); on top of those:
    no twin finalizes a block the honest nodes did not, the twins never commit two different blocks
    at one (height, view) (the only thing a double-sign report could prove against the key), and
    evidence names no other key. When the key leads, each twin may propose its own block: the
    engines report those conflicting proposals, which are counted."""

    def __init__(self, scenario: Scenario, twin_of: int, scheme: SignatureScheme | None = None) -> None:
        behaviours = list(scenario.behaviours)
        behaviours[twin_of] = Behaviour.TWIN
        super().__init__(replace(scenario, behaviours=tuple(behaviours)), scheme)
        first = self.nodes[twin_of]
        engine = FbftEngine(self.scenario.config, self.chain, [first.secret], self.scheme)
        self.nodes.append(SimNode(len(self.nodes), first.secret, first.key, Behaviour.TWIN, engine))
        self.twin_key = first.key
        self.committed_at: dict[tuple[int, int], set[bytes]] = {}
        self.conflicting_proposals = 0

    def _execute_one(self, node: SimNode, action: Action) -> None:
        if node.behaviour == Behaviour.TWIN and isinstance(action, PersistSafetyRecord) and action.record.committed:
            record = action.record
            committed = self.committed_at.setdefault((record.height, record.view), set())
            committed.add(record.committed)
            if len(committed) > 1:
                self._fail(f"the twins committed {len(committed)} blocks at (height, view) "
                           f"{(record.height, record.view)}")
        if isinstance(action, ConflictingProposal):
            self.conflicting_proposals += 1
        if isinstance(action, ReportEvidence):
            offenders = validate_double_sign_evidence(action.evidence, self.scheme)
            if offenders != (self.twin_key,):
                self._fail(f"node {node.index} reported evidence against {len(offenders)} key(s) beside the twins'")
            self.evidence.append((node.index, self.twin_key))
            return
        super()._execute_one(node, action)

    def _on_commit(self, node: SimNode, action: CommitBlock) -> None:
        super()._on_commit(node, action)
        known = self.finalized.get(action.block.number)
        if node.behaviour == Behaviour.TWIN and known is not None and known != action.block.hash:
            self._fail(f"twin node {node.index} finalized another block than the honest nodes at "
                       f"{action.block.number}")

    def _on_outgoing(self, node: SimNode, action: Broadcast | SendToLeader) -> None:
        # One key, two nodes: a vote for the key's leadership reaches both of them.
        targets = [other for other in self.nodes if other is not node
                   and (not isinstance(action, SendToLeader) or other.key == action.leader)]
        for target in targets:
            self._send(node.index, target.index, action.data)


TWIN_KINDS = ("none", "lossy", "partition", "crash")
"""The scenario kinds whose faulty nodes only fail (crash, lose messages): the twin key is then the
one Byzantine key, and it is given to a node whose power stays under a third."""


def run_twin_seed(seed: int, scheme: SignatureScheme | None = None) -> TwinSimulation | None:
    """Run ``make_scenario(seed)`` with a twin key (``TwinSimulation``); None for a kind that already
    has Byzantine nodes. Raises InvariantViolation if a property fails."""
    scenario = make_scenario(seed)
    if FAULT_KINDS[seed % len(FAULT_KINDS)] not in TWIN_KINDS:
        return None
    crashed = sorted({index for index, _, _ in scenario.crashes})
    total = sum(scenario.powers)
    candidates = crashed or [i for i in range(scenario.nodes) if 3 * scenario.powers[i] < total]
    if not candidates:
        return None
    simulation = TwinSimulation(scenario, random.Random(seed).choice(candidates), scheme)
    simulation.run()
    return simulation


def run_seed(seed: int, scheme: SignatureScheme | None = None) -> RunResult:
    """Run the scenario of ``seed``; raises InvariantViolation if a property fails."""
    return Simulation(make_scenario(seed), scheme).run()


def run_clean(validators: int, blocks: int, scheme: SignatureScheme | None = None) -> RunResult:
    """A fault-free network of ``validators`` until every node finalized ``blocks`` blocks."""
    scenario = Scenario(0, validators, (1,) * validators, (Behaviour.HONEST,) * validators, heal_at=0,
                        blocks_after_heal=blocks, deadline=10**9, delay=(1, 5),
                        config=FbftConfig(block_time=0, view_timeout=10_000, blocks_per_leader=4))
    return Simulation(scenario, scheme).run()


__all__ = ["BLS_SCHEME", "InvariantViolation", "LinearScheme", "Scenario", "Simulation", "TwinSimulation",
           "make_scenario", "run_clean", "run_seed", "run_twin_seed"]
