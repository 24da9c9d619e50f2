"""Four consensus drivers over real chains, each with its own LevelDB, joined by an in-process queue.

Every message is delivered 5 ms after it is sent, in send order, and timers fire on a fake clock;
everything else is the node's real code: BLS, block building from a transaction source, execution
before voting, safety records and blocks on disk, and a restart from the data directory. A vote for
the leader reaches only the leader; a broadcast reaches every other node. Evidence the drivers
report is kept (by reporter) rather than sent anywhere.
"""

from __future__ import annotations

import heapq
import itertools
from pathlib import Path

from chain_factory import BLS_SECRETS, SENDER, make_transfer, open_chain
from consensus.evidence import DoubleSignEvidence
from consensus.fbft import (
    Action,
    BlocksSynced,
    Broadcast,
    Event,
    FbftConfig,
    FbftEngine,
    MessageReceived,
    ReportEvidence,
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
    """Four nodes (node i holds key i); those in ``double_signers`` run with the double-sign fault."""

    def __init__(self, tmp_path: Path, double_signers: frozenset[int] = frozenset()) -> None:
        self.now = 1_700_000_000_000
        self.queue: list[tuple[int, int, int, Event]] = []
        self.counter = itertools.count()
        self.pending: list[Transaction] = [make_transfer(n) for n in range(12)]
        self.paths = [tmp_path / f"node{i}" for i in range(4)]
        self.double_signers = double_signers
        self.stores: list[LevelDBStore | None] = [None] * 4
        self.drivers: list[ConsensusDriver | None] = [None] * 4
        self.evidence: list[tuple[int, DoubleSignEvidence]] = []
        """(reporting node, evidence) for every ``ReportEvidence`` a driver returned."""
        for i in range(4):
            self.boot(i)

    def _get_transactions(self, chain: Blockchain) -> list[Transaction]:
        nonce = chain.get_state().get_nonce(SENDER)
        return [tx for tx in self.pending if tx.nonce >= nonce][:3]

    def boot(self, index: int) -> None:
        store = LevelDBStore(self.paths[index])
        chain = open_chain(store)
        access = NodeChainAccess(chain, lambda: (self._get_transactions(chain), ()), clock=lambda: self.now / 1000)
        driver = ConsensusDriver(FbftEngine(CONFIG, access, [BLS_SECRETS[index]]), access,
                                 double_sign=index in self.double_signers)
        self.stores[index], self.drivers[index] = store, driver
        self.dispatch(index, driver.start(self.now))

    def crash(self, index: int) -> None:
        store = self.stores[index]
        assert store is not None
        store.close()
        self.stores[index] = self.drivers[index] = None

    def close(self) -> None:
        for store in self.stores:
            if store is not None:
                store.close()

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
            elif isinstance(action, ReportEvidence):
                self.evidence.append((index, action.evidence))

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
