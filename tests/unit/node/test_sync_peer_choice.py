"""Whom a following node asks for blocks, with a lying peer among its peers (``ChainService.sync_from_peer``).

The service's sync code runs for real (as in ``test_failpoints``: the unbound methods on a stand-in
holding what they use) against a real consensus driver and chain; the peers are functions answering
sync requests: an honest one serving real blocks two at a time, and a forger from ``forged_blocks``.
Whatever the order the peers are listed in, the node must reach the real head and count the lie.
Two ways it used to be held back: an answer of old blocks only passed unremarked, and as the peer
asked is chosen by the block number asked for, the node asked that peer for the same block for ever;
and the announcements of new blocks, which a node behind refuses, were blamed on its last sync peer,
so the honest peer was skipped and the forger asked at every round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import trio

from chain_factory import BLS_SECRETS, COMMITTEE, GENESIS, open_chain
from consensus.fbft import Action, BlocksSynced, FbftEngine, Rejected, SyncedBlock
from driver_network import CONFIG, Network
from forged_blocks import FORGERIES, Material
from harmony_node.chain.blockchain import Blockchain
from harmony_node.db.memory import MemoryStore
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.consensus_driver import ConsensusDriver
from harmony_node.node.metrics import Metrics
from harmony_node.node.service import ChainService
from harmony_node.node.sync import decode_sync_request, encode_sync_response, get_synced_blocks

NOW = 1_700_000_000_000
HONEST, FORGER = "honest", "forger"
Answer = Callable[[int], bytes]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Blockchain]:
    network = Network(tmp_path_factory.mktemp("net"))
    network.run_until(6)
    driver = network.drivers[0]
    assert driver is not None
    yield driver.chain
    network.close()


class Peers:
    """The gossip node as ``sync_from_peer`` uses it: peer ids, and a request answered by a function."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    def get_peer_ids(self) -> list[str]:
        return list(self.answers)

    async def request(self, peer: str, protocol: str, payload: bytes, timeout: float) -> bytes:
        from_number, _ = decode_sync_request(payload)
        self.asked.append((peer, from_number))
        return self.answers[peer](from_number)


class Follower:
    """What ``sync_from_peer``, ``process_event`` and ``execute`` use of a ``ChainService``."""

    shard_id = 0
    sync_protocol = "sync"

    def __init__(self, peers: Peers) -> None:
        self.chain = open_chain(MemoryStore())
        self.access = NodeChainAccess(self.chain, lambda: ((), ()), clock=lambda: NOW / 1000)
        self.driver = ConsensusDriver(FbftEngine(CONFIG, self.access, []), self.access)
        self.driver.start(NOW)
        clock = type("FakeClock", (), {"get_ms": staticmethod(lambda: NOW)})()
        self.node = type("FakeNode", (), {"gossip": peers, "own_keys": frozenset(), "clock": clock})()
        self.metrics = Metrics()
        self.bad_sync_peers: frozenset[str] = frozenset()
        self.sync_answers: dict[BlocksSynced, str] = {}
        self.last_sync_peer = ""
        self.sync_in_flight = False
        self.events_in, self.events_out = trio.open_memory_channel[Any](100)

    async def sync_once(self) -> None:
        """One watchdog round: ask a peer, then let consensus take what came (and react to it)."""
        await ChainService.sync_from_peer(cast(ChainService, self), self.chain.head.number + 1)
        await self.take_events()

    async def announce(self, block: SyncedBlock) -> None:
        """A leader's announcement on the client topic, as ``run_client_in`` hands it over."""
        self.events_in.send_nowait(BlocksSynced((block,)))
        await self.take_events()

    async def take_events(self) -> None:
        service = cast(ChainService, self)
        while True:
            try:
                event = self.events_out.receive_nowait()
            except trio.WouldBlock:
                return
            refusals: list[Action] = [a for a in ChainService.process_event(service, event) if isinstance(a, Rejected)]
            await ChainService.execute(service, refusals)  # its timers and messages are not for this test


def _follow(source: Blockchain, forgery: str, forger_first: bool, announce: bool) -> tuple[Follower, Peers]:
    """Twelve watchdog rounds against an honest peer serving two blocks at a time and a forger;
    with ``announce``, the network's newest block is announced after each round."""
    material = Material(GENESIS, get_synced_blocks(source, 1), COMMITTEE, BLS_SECRETS)
    honest: Answer = lambda from_number: encode_sync_response(get_synced_blocks(source, from_number, count=2))
    forged: Answer = lambda from_number: FORGERIES[forgery](material, from_number)
    answers = {FORGER: forged, HONEST: honest} if forger_first else {HONEST: honest, FORGER: forged}
    peers = Peers(answers)
    follower = Follower(peers)
    (newest,) = get_synced_blocks(source, source.head.number)

    async def follow() -> None:
        for _ in range(12):  # 3 rounds of two blocks are enough; every other one may go to the forger
            await follower.sync_once()
            if announce:
                await follower.announce(newest)

    trio.run(follow)
    return follower, peers


@pytest.mark.parametrize("forgery", ["stale-blocks", "wrong-height", "certificate-of-another-block", "not-rlp"])
@pytest.mark.parametrize("forger_first", [True, False])
def test_a_lying_peer_cannot_hold_the_node_back(source: Blockchain, forgery: str, forger_first: bool) -> None:
    follower, peers = _follow(source, forgery, forger_first, announce=False)
    assert follower.chain.head.hash == source.head.hash, peers.asked
    if any(peer == FORGER and number <= source.head.number for peer, number in peers.asked):
        assert follower.metrics.get("hmy_messages_rejected_total", 0) >= 1  # the lie was counted


@pytest.mark.parametrize("forgery", ["not-rlp", "stale-blocks"])
@pytest.mark.parametrize("forger_first", [True, False])
def test_announcements_the_node_is_behind_for_do_not_get_the_honest_peer_skipped(
        source: Blockchain, forgery: str, forger_first: bool) -> None:
    """A node behind refuses the announced blocks; that is no peer's lie, least of all its sync peer's."""
    follower, peers = _follow(source, forgery, forger_first, announce=True)
    assert follower.chain.head.hash == source.head.hash, peers.asked
