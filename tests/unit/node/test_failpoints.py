"""Failpoints (``HMY_FAILPOINT``) and the clock offset (``HMY_CLOCK_OFFSET_MS``): parsing, counting, and
that the driver and the service pass each point where its docstring says.

``die`` is replaced by a callable that raises ``Killed``: the step stops there as the process would,
nothing after it runs, and the test then "restarts" the node from its data directory."""

from __future__ import annotations

import heapq
import threading
from pathlib import Path
from typing import Any, cast

import pytest
import trio

from chain_factory import open_chain
from consensus.fbft import BlocksSynced, Broadcast, FbftEngine, SendToLeader
from consensus.messages import MessageKind, decode_message
from consensus.safety import SafetyRecord
from driver_network import CONFIG, KEYS, Network
from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.config import ConfigError, NodeConfig
from harmony_node.node.consensus_driver import ConsensusDriver
from harmony_node.node.failpoints import (
    BLOCK_WRITE,
    BLOCK_WRITTEN,
    COMMIT_VOTE_SENT,
    VOTE_PERSISTED,
    Failpoint,
    FailpointError,
    FailpointStore,
    get_failpoint,
    parse_failpoint,
)
from harmony_node.node.service import ChainService, start_node
from harmony_node.node.sync import get_synced_blocks
from harmony_node.node.wall_clock import ClockOffsetError, WallClock, get_wall_clock, parse_clock_offset
from harmony_node.p2p.envelope import Envelope


class Killed(Exception):
    """What the fake ``die`` raises in place of SIGKILL."""


def _raise_killed() -> None:
    raise Killed


# --- parsing -----------------------------------------------------------------------------------------


def test_a_spec_names_the_point_the_hit_and_optionally_the_leader_role() -> None:
    assert parse_failpoint("vote-persisted") == Failpoint(VOTE_PERSISTED, 1, False)
    assert parse_failpoint("block-write@3") == Failpoint(BLOCK_WRITE, 3, False)
    assert parse_failpoint(" block-written@2:leader ") == Failpoint(BLOCK_WRITTEN, 2, True)
    assert parse_failpoint("commit-vote-sent:leader") == Failpoint(COMMIT_VOTE_SENT, 1, True)
    assert str(parse_failpoint("block-written@2:leader")) == "block-written@2:leader"
    assert get_failpoint({}) is None and get_failpoint({"HMY_FAILPOINT": ""}) is None
    assert get_failpoint({"HMY_FAILPOINT": "block-write"}) == Failpoint(BLOCK_WRITE)


@pytest.mark.parametrize("spec, reason", [
    ("vote-persist", "unknown failpoint 'vote-persist'"),
    ("block-write@0", "starts at 1"),
    ("block-write@", "expected <point>"),
    ("block-write@-1", "expected <point>"),
    ("block-write@two", "expected <point>"),
    ("block-write:follower", "expected <point>"),
    ("block-write:leader@2", "expected <point>"),
    ("BLOCK-WRITE", "expected <point>"),
])
def test_a_bad_spec_is_refused_with_the_reason(spec: str, reason: str) -> None:
    with pytest.raises(FailpointError, match=reason) as refused:
        parse_failpoint(spec)
    assert isinstance(refused.value, ConfigError)


def test_the_node_refuses_to_start_on_a_bad_fault_variable_before_doing_anything() -> None:
    with pytest.raises(FailpointError, match="unknown failpoint"):
        start_node(NodeConfig(), {"HMY_FAILPOINT": "blockwrite"})
    with pytest.raises(ClockOffsetError, match="whole number"):
        start_node(NodeConfig(), {"HMY_CLOCK_OFFSET_MS": "30s"})


# --- counting ----------------------------------------------------------------------------------------


def test_the_nth_pass_of_the_point_kills_once_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    deaths: list[int] = []
    failpoint = Failpoint(BLOCK_WRITTEN, hit=3)
    failpoint.die = lambda: deaths.append(failpoint.passes)
    for _ in range(2):
        failpoint.pass_point(BLOCK_WRITTEN, leading=False)
        failpoint.pass_point(VOTE_PERSISTED, leading=True)  # another point: not counted
    assert deaths == [] and capsys.readouterr().err == ""
    failpoint.pass_point(BLOCK_WRITTEN, leading=False)
    assert deaths == [3]
    assert capsys.readouterr().err == "failpoint block-written hit (n=3): killing the node\n"
    failpoint.pass_point(BLOCK_WRITTEN, leading=False)  # a fake die returned: it never fires twice
    assert deaths == [3]


def test_a_leader_failpoint_counts_only_the_passes_made_while_leading() -> None:
    failpoint = Failpoint(COMMIT_VOTE_SENT, hit=2, leader_only=True, die=_raise_killed)
    failpoint.pass_point(COMMIT_VOTE_SENT, leading=True)
    for _ in range(5):
        failpoint.pass_point(COMMIT_VOTE_SENT, leading=False)
    with pytest.raises(Killed):
        failpoint.pass_point(COMMIT_VOTE_SENT, leading=True)


class RecordingStore(MemoryStore):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        self.log.append("write")
        super().write(batch, sync=sync)


def test_block_write_starts_the_killer_thread_right_before_a_block_import_writes() -> None:
    log: list[str] = []
    killed = threading.Event()

    def die() -> None:
        log.append(f"die in {threading.current_thread().name}")
        killed.set()

    store = FailpointStore(RecordingStore(log), Failpoint(BLOCK_WRITE, hit=2, die=die))
    batch = WriteBatch()
    batch.put(b"k", b"v")
    store.write(batch)  # outside a block import (a safety record, the genesis block): no pass
    with store.failpoint.importing_block(leading=False):
        store.write(batch)  # the first block: counted, not due
    assert log == ["write", "write"] and store.failpoint.passes == 1
    with store.failpoint.importing_block(leading=False):
        store.write(batch)
    assert killed.wait(10)
    assert sorted(log[2:]) == ["die in failpoint-kill", "write"]  # the kill races the write it interrupts
    assert store.get(b"k") == b"v" and store.failpoint.importing is None


# --- the points in the driver --------------------------------------------------------------------------


def _arm(network: Network, index: int, failpoint: Failpoint) -> ConsensusDriver:
    driver = network.drivers[index]
    assert driver is not None
    driver.failpoint = failpoint
    return driver


def _restart_and_agree(network: Network, index: int, height: int) -> None:
    """Reopen the killed node from its data directory; every node must finalize the same blocks."""
    network.crash(index)
    network.boot(index)
    network.run_until(height)
    drivers = [d for d in network.drivers if d is not None]
    for number in range(1, height + 1):
        assert len({d.chain.get_block_by_number(number).header.hash for d in drivers}) == 1, number
    network.close()


def test_vote_persisted_kills_after_the_record_is_on_disk_and_before_the_vote_leaves(tmp_path: Path) -> None:
    """The step that signed the vote never returns its actions, so nothing of it is sent; the
    restarted node reads the record and votes on without contradicting it."""
    network = Network(tmp_path)
    network.run_until(2)
    on_disk: list[SafetyRecord] = []

    def die() -> None:
        stored = driver.chain.chain_store.get_safety_record(0)
        assert stored is not None
        on_disk.append(SafetyRecord.decode(stored))
        raise Killed

    driver = _arm(network, 1, Failpoint(VOTE_PERSISTED, hit=2, die=die))
    with pytest.raises(Killed):
        network.run_until(6)
    assert driver.state is not None and on_disk == [driver.state.record]
    assert on_disk[0].prepared or on_disk[0].committed
    _restart_and_agree(network, 1, 8)


def test_block_written_on_the_leader_kills_before_on_commit_and_before_committed_leaves(tmp_path: Path) -> None:
    """The leader dies holding the only commit certificate: the others change view, re-propose the
    block they are locked on, and the restarted leader agrees with them."""
    network = Network(tmp_path)
    network.run_until(2)
    committed: list[int] = []
    driver = _arm(network, 0, Failpoint(BLOCK_WRITTEN, leader_only=True, die=_raise_killed))
    driver.on_commit = lambda block: committed.append(block.header.number)
    with pytest.raises(Killed):
        network.run_until(12)
    head = driver.chain.head
    assert driver.chain.head_commit is not None
    assert driver.engine.get_leader_index(driver.chain.get_committee(head.number),
                                          driver.chain.head_commit.view) == 0  # it led the view it committed in
    assert head.number not in committed  # on_commit did not run for the block written last
    others = [d for i, d in enumerate(network.drivers) if d is not None and i != 0]
    assert all(d.chain.head.number < head.number for d in others)  # COMMITTED never left
    _restart_and_agree(network, 0, head.number + 3)


def test_block_write_counts_the_writes_of_synced_blocks_too(tmp_path: Path) -> None:
    network = Network(tmp_path / "net")
    network.run_until(4)
    source = network.drivers[0]
    assert source is not None
    deaths: list[str] = []
    failpoint = Failpoint(BLOCK_WRITE, hit=2, die=lambda: deaths.append(threading.current_thread().name))
    with LevelDBStore(tmp_path / "fresh") as store:
        chain = open_chain(FailpointStore(store, failpoint))
        access = NodeChainAccess(chain, lambda: ((), ()), clock=lambda: network.now / 1000)
        follower = ConsensusDriver(FbftEngine(CONFIG, access, []), access, failpoint=failpoint)
        follower.start(network.now)
        follower.handle(BlocksSynced(get_synced_blocks(source.chain, 1)), network.now)
        assert chain.head.number == 4  # the fake die let it go on
    network.close()
    for thread in threading.enumerate():
        if thread.name == "failpoint-kill":
            thread.join(10)
    assert deaths == ["failpoint-kill"] and failpoint.passes == 4


# --- the point in the service ----------------------------------------------------------------------------


class FakeService:
    """The parts of ``ChainService`` that ``execute`` uses for votes."""

    consensus_topic = "consensus"

    def __init__(self, failpoint: Failpoint, own_key: bytes) -> None:
        self.node = type("FakeNode", (), {"own_keys": frozenset({own_key}), "failpoint": failpoint})()
        self.events_in, self.events_out = trio.open_memory_channel[Any](10)
        self.published: list[bytes] = []

    async def publish(self, topic: str, envelope: Envelope) -> None:
        self.published.append(envelope.payload)


def _run_execute(service: FakeService, actions: list[Any]) -> None:
    trio.run(ChainService.execute, cast(ChainService, service), actions)


def _get_follower_votes(network: Network) -> tuple[SendToLeader, SendToLeader]:
    """A prepare and a commit vote of one follower, as its driver returns them."""
    found: dict[MessageKind, SendToLeader] = {}
    while len(found) < 2:
        at, _, index, event = heapq.heappop(network.queue)
        network.now = max(network.now, at)
        node = network.drivers[index]
        assert node is not None
        actions = node.handle(event, network.now)
        for action in actions:
            if isinstance(action, SendToLeader) and index == 1 and action.leader != KEYS[1]:
                found.setdefault(action.kind, action)
        network.dispatch(index, actions)
    return found[MessageKind.PREPARE], found[MessageKind.COMMIT]


def test_commit_vote_sent_kills_right_after_the_commit_vote_was_published(tmp_path: Path) -> None:
    network = Network(tmp_path)
    prepare, commit = _get_follower_votes(network)
    network.close()
    voter = decode_message(commit.data).sender
    follower = FakeService(Failpoint(COMMIT_VOTE_SENT, die=_raise_killed), voter)
    _run_execute(follower, [prepare])  # not a commit vote
    with pytest.raises(Killed):
        _run_execute(follower, [commit, Broadcast(b"never", MessageKind.PREPARED)])
    assert follower.published == [prepare.data, commit.data]  # the vote went, nothing after it
    # A node with several keys hands the votes of its other keys to its own engine when one of them
    # leads: that is the only commit vote a leader "sends", and with ``:leader`` the only one that counts.
    leader = FakeService(Failpoint(COMMIT_VOTE_SENT, leader_only=True, die=_raise_killed), voter)
    _run_execute(leader, [commit])
    assert leader.published == [commit.data] and leader.node.failpoint.passes == 0
    leader.node.own_keys = frozenset({commit.leader})
    with pytest.raises(Killed):
        _run_execute(leader, [commit])
    assert leader.events_out.receive_nowait() is not None and leader.published == [commit.data]


# --- the clock offset --------------------------------------------------------------------------------------


def test_the_clock_offset_shifts_every_wall_clock_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.time", lambda: 1_700_000_000.5)
    clock = get_wall_clock({"HMY_CLOCK_OFFSET_MS": "-30000"})
    assert clock == WallClock(-30_000)
    assert clock.get_ms() == 1_699_999_970_500 and clock.get_seconds() == 1_699_999_970.5
    assert get_wall_clock({}).get_ms() == 1_700_000_000_500
    assert parse_clock_offset(" +1500 ") == 1500


@pytest.mark.parametrize("text", ["30s", "1.5", "", "0x10", str(24 * 3600 * 1000 + 1)])
def test_a_bad_clock_offset_is_refused(text: str) -> None:
    with pytest.raises(ClockOffsetError):
        parse_clock_offset(text)
