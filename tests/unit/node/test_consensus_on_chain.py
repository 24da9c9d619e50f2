"""FBFT over real chains: four nodes, each with its own LevelDB, finalize the same blocks.

The network is an in-process queue with a fake clock (the multi-process version is in tests/e2e);
everything else is the node's real code: BLS, block building from a transaction source, execution
before voting, safety records and blocks on disk, and a restart from the data directory.
"""

from __future__ import annotations

import heapq
from dataclasses import replace
import itertools
from pathlib import Path

from chain_factory import BLS_SECRETS, SENDER, make_transfer, open_chain
from consensus.fbft import (
    Action,
    BlocksSynced,
    Broadcast,
    Event,
    FbftConfig,
    FbftEngine,
    MessageReceived,
    Rejected,
    RequestSync,
    SendToLeader,
    SetTimer,
    TimerFired,
)
from crypto import bls
from harmony_node.chain.blockchain import Blockchain
from harmony_node.db.level import LevelDBStore
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.consensus_driver import ConsensusDriver
from harmony_node.node.sync import get_synced_blocks
from harmony_node.types.block import Block
from harmony_node.types.transaction import Transaction

CONFIG = FbftConfig(block_time=1000, view_timeout=4000, blocks_per_leader=2)
KEYS = [bls.secret_to_public(s) for s in BLS_SECRETS]


class Network:
    """Delivers every message 5 ms after it is sent, in send order; fires timers on the fake clock."""

    def __init__(self, tmp_path: Path) -> None:
        self.now = 1_700_000_000_000
        self.queue: list[tuple[int, int, int, Event]] = []
        self.counter = itertools.count()
        self.pending: list[Transaction] = [make_transfer(n) for n in range(12)]
        self.paths = [tmp_path / f"node{i}" for i in range(4)]
        self.stores: list[LevelDBStore | None] = [None] * 4
        self.drivers: list[ConsensusDriver | None] = [None] * 4
        for i in range(4):
            self.boot(i)

    def _get_transactions(self, chain: Blockchain) -> list[Transaction]:
        nonce = chain.get_state().get_nonce(SENDER)
        return [tx for tx in self.pending if tx.nonce >= nonce][:3]

    def boot(self, index: int) -> None:
        store = LevelDBStore(self.paths[index])
        chain = open_chain(store)
        access = NodeChainAccess(chain, lambda: (self._get_transactions(chain), ()), clock=lambda: self.now / 1000)
        driver = ConsensusDriver(FbftEngine(CONFIG, access, [BLS_SECRETS[index]]), access)
        self.stores[index], self.drivers[index] = store, driver
        self.dispatch(index, driver.start(self.now))

    def crash(self, index: int) -> None:
        store = self.stores[index]
        assert store is not None
        store.close()
        self.stores[index] = self.drivers[index] = None

    def dispatch(self, index: int, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, SetTimer):
                self.push(action.at, index, TimerFired(action.kind, action.height, action.view))
            elif isinstance(action, SendToLeader):
                self.push(self.now + 5, KEYS.index(action.leader), MessageReceived(action.data))
            elif isinstance(action, RequestSync):  # the first live peer serves it
                peer = next(d for i, d in enumerate(self.drivers) if d is not None and i != index)
                self.push(self.now + 10, index, BlocksSynced(get_synced_blocks(peer.chain, action.from_number)))
            elif isinstance(action, Broadcast):
                for other in range(4):
                    if other != index:
                        self.push(self.now + 5, other, MessageReceived(action.data))

    def push(self, at: int, index: int, event: Event) -> None:
        heapq.heappush(self.queue, (at, next(self.counter), index, event))

    def run_until(self, height: int, limit_ms: int = 120_000) -> None:
        deadline = self.now + limit_ms
        while any(d is not None and d.chain.head.number < height for d in self.drivers):
            assert self.queue and self.now < deadline, "consensus stalled"
            at, _, index, event = heapq.heappop(self.queue)
            self.now = max(self.now, at)
            driver = self.drivers[index]
            if driver is not None:
                self.dispatch(index, driver.handle(event, self.now))

    def heads(self) -> list[Block]:
        return [d.chain.get_block_by_number(d.chain.head.number) for d in self.drivers if d is not None]


def test_four_nodes_finalize_the_same_blocks_and_a_restarted_node_rejoins(tmp_path: Path) -> None:
    network = Network(tmp_path)
    network.run_until(6)
    drivers = [d for d in network.drivers if d is not None]
    for number in range(1, 7):
        assert len({d.chain.get_block_by_number(number).header.hash for d in drivers}) == 1
    included = sum(len(drivers[0].chain.get_block_by_number(n).transactions) for n in range(1, 7))
    assert included == 12 and drivers[0].chain.get_state().get_nonce(SENDER) == 12
    assert len({d.chain.head.state_root for d in drivers}) == 1

    network.crash(3)
    network.run_until(9)  # three of four are a quorum
    network.boot(3)  # reopens its data directory and safety record, then catches up
    network.run_until(12)
    drivers = [d for d in network.drivers if d is not None]
    assert len({d.chain.get_block_by_number(12).header.hash for d in drivers}) == 1
    for open_store in network.stores:
        if open_store is not None:
            open_store.close()


def test_sync_imports_a_verified_batch_and_stops_at_a_forged_block(tmp_path: Path) -> None:
    network = Network(tmp_path / "net")
    network.run_until(5)
    source = network.drivers[0]
    assert source is not None
    good = get_synced_blocks(source.chain, 1)
    with LevelDBStore(tmp_path / "fresh") as store:
        chain = open_chain(store)
        access = NodeChainAccess(chain, lambda: ((), ()), clock=lambda: network.now / 1000)
        follower = ConsensusDriver(FbftEngine(CONFIG, access, []), access)
        follower.start(network.now)
        # Block 3 comes with block 2's certificate: everything up to block 2 is imported, nothing after.
        forged = (*good[:2], replace(good[2], certificate=good[1].certificate), *good[3:])
        actions = follower.handle(BlocksSynced(forged), network.now)
        assert chain.head.number == 2
        assert any(isinstance(a, Rejected) and "sync" in a.reason for a in actions)
        follower.handle(BlocksSynced(good), network.now)
        assert chain.head.hash == source.chain.head.hash
    for open_store in network.stores:
        if open_store is not None:
            open_store.close()
