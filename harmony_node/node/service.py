"""``hmy-node start``: one shard's full node as trio services around the pure core.

Services (one nursery, stopped together on SIGTERM/SIGINT):
- gossip: the libp2p host; consensus and transaction messages of this shard's topic are routed
  in, outgoing consensus messages and transaction batches published;
- consensus: the only task that touches the engine and the chain; it drains one channel of events
  (peer messages, timers, synced blocks) and executes what ``ConsensusDriver`` hands back;
- sync: asks connected peers for finalized blocks when consensus says the node is behind, and
  answers other nodes' requests; a peer whose blocks are refused is skipped next time;
- pool gossip: every 100 ms, the transactions admitted since the last batch go out as one message;
- metrics: Prometheus text on ``[metrics]``.

Time for consensus is wall-clock milliseconds; timers are trio sleeps until that time.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import trio

from consensus.fbft import (
    Action,
    BlocksSynced,
    Broadcast,
    Event,
    FbftConfig,
    FbftEngine,
    MessageReceived,
    Rejected,
    ReportEvidence,
    RequestSync,
    SendToLeader,
    SetTimer,
    TimerFired,
)
from consensus.quorum import Committee
from crypto import bls
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.genesis import Genesis, get_localnet_genesis, load_genesis
from harmony_node.db.level import LevelDBStore
from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.config import ConfigError, NodeConfig
from harmony_node.node.consensus_driver import ConsensusDriver
from harmony_node.node.keys import load_validator_keys, read_passphrase_file
from harmony_node.node.metrics import Metrics, serve_metrics
from harmony_node.node.sync import decode_sync_response, encode_sync_request, handle_sync_request
from harmony_node.p2p.envelope import Envelope, MessageKind, decode_envelope, pack_transactions, unpack_batch
from harmony_node.p2p.errors import P2PError
from harmony_node.p2p.gossip import GossipNode
from harmony_node.p2p.host import P2PConfig
from harmony_node.p2p.topics import Network, node_topic, sync_protocol_id
from harmony_node.txpool import TxPool, TxPoolConfig
from harmony_node.types.block import Block

log = logging.getLogger("harmony_node.node")

POOL_GOSSIP_INTERVAL_S = 0.1
MAX_BLOCK_TRANSACTIONS = 2000
SYNC_TIMEOUT_S = 10.0


def get_wall_ms() -> int:
    return int(time.time() * 1000)


def get_network(genesis: Genesis) -> Network:
    """The topic namespace: a genesis names its network (``localnet``, ``testnet``, ``mainnet``)."""
    for network in Network:
        if network.name.lower() == genesis.network.lower():
            return network
    return Network.LOCALNET


def find_shard(genesis: Genesis, public_keys: Sequence[bytes], requested: int) -> int:
    """The shard a node serves: the one whose committee holds all its keys, else ``requested`` (or 0)."""
    if not public_keys:
        return max(requested, 0)
    shards = {shard for shard in range(genesis.config.num_shards)
              for key in public_keys if key in genesis.get_committee_keys(shard)}
    if len(shards) != 1 or any(key not in genesis.get_committee_keys(min(shards)) for key in public_keys):
        raise ConfigError("every BLS key of a validator must be in one shard's genesis committee "
                          f"(found in shards {sorted(shards) or 'none'})")
    shard = shards.pop()
    if requested not in (-1, shard):
        raise ConfigError(f"consensus.shard is {requested} but the keys belong to shard {shard}")
    return shard


@dataclass
class Node:
    """Everything one running node holds."""

    config: NodeConfig
    genesis: Genesis
    shard_id: int
    chain: Blockchain
    pool: TxPool
    driver: ConsensusDriver
    gossip: GossipNode
    metrics: Metrics
    own_keys: frozenset[bytes]
    topic: str
    sync_protocol: str
    events_in: trio.MemorySendChannel[Event]
    events_out: trio.MemoryReceiveChannel[Event]
    nursery: trio.Nursery | None = None
    last_block_time: float = 0.0
    bad_sync_peers: frozenset[str] = frozenset()
    sync_in_flight: bool = False
    last_sync_peer: str = ""
    last_view: int = 0
    last_height: int = 0

    # --- consensus task -------------------------------------------------------------------------

    async def run_consensus(self) -> None:
        await self.execute(self.driver.start(get_wall_ms()))
        if self.driver.state is not None:  # views counted as view changes start from here
            self.last_view, self.last_height = self.driver.state.view, self.driver.state.tip.number
        async for event in self.events_out:
            try:
                actions = self.driver.handle(event, get_wall_ms())
            except ValidationError as exc:  # a synced batch that does not decode, for instance
                log.info("event refused", extra={"reason": str(exc)})
                continue
            await self.execute(actions)
            state = self.driver.state
            if state is not None:
                # The view moved on without a new block: a view change.
                if state.view > self.last_view and state.tip.number == self.last_height:
                    self.metrics.increment("hmy_consensus_view_changes_total", state.view - self.last_view, self.shard_id)
                self.last_view, self.last_height = state.view, state.tip.number
                self.metrics.set("hmy_consensus_view", state.view, self.shard_id)
                leader = self.driver.engine.get_leader_index(state.committee, state.view)
                self.metrics.set("hmy_consensus_leader_index", leader, self.shard_id)
                self.metrics.set_leader(self.shard_id, state.committee.public_keys[leader])

    async def execute(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                await self.publish_consensus(action.data)
            elif isinstance(action, SendToLeader):
                if action.leader in self.own_keys:  # gossip does not echo our own messages back
                    self.events_in.send_nowait(MessageReceived(action.data))
                else:
                    await self.publish_consensus(action.data)
            elif isinstance(action, SetTimer):
                assert self.nursery is not None
                self.nursery.start_soon(self.fire_timer, action)
            elif isinstance(action, RequestSync):
                if not self.sync_in_flight:
                    self.sync_in_flight = True
                    assert self.nursery is not None
                    self.nursery.start_soon(self.sync_from_peer, action.from_number)
            elif isinstance(action, ReportEvidence):
                log.warning("double sign observed", extra={"height": action.evidence.block_number,
                                                           "view": action.evidence.view_id})
            elif isinstance(action, Rejected):
                self.metrics.increment("hmy_messages_rejected_total", shard=self.shard_id)
                if action.reason.startswith("sync:") and self.last_sync_peer:
                    # It served a block its certificate does not prove: ask someone else from now on.
                    log.warning("sync peer served bad blocks", extra={"peer": self.last_sync_peer,
                                                                      "reason": action.reason})
                    self.bad_sync_peers |= {self.last_sync_peer}
                log.debug("rejected", extra={"reason": action.reason})

    async def publish_consensus(self, data: bytes) -> None:
        try:
            await self.gossip.publish(self.topic, Envelope(MessageKind.CONSENSUS, data).encode())
        except (P2PError, ValidationError) as exc:
            log.warning("publish failed", extra={"reason": str(exc)})

    async def fire_timer(self, timer: SetTimer) -> None:
        await trio.sleep(max(0.0, (timer.at - get_wall_ms()) / 1000))
        self.events_in.send_nowait(TimerFired(timer.kind, timer.height, timer.view))

    def on_commit(self, block: Block) -> None:
        self.pool.reset(self.chain.get_state())
        now = time.monotonic()
        if self.last_block_time:
            self.metrics.set("hmy_block_interval_seconds", round(now - self.last_block_time, 3), self.shard_id)
        self.last_block_time = now
        self.metrics.set("hmy_chain_height", block.header.number, self.shard_id)
        self.metrics.set("hmy_chain_epoch", block.header.epoch, self.shard_id)
        self.metrics.increment("hmy_blocks_finalized_total", shard=self.shard_id)
        self.metrics.set("hmy_txpool_size", len(self.pool), self.shard_id)
        log.info("block finalized", extra={"number": block.header.number, "hash": "0x" + block.header.hash.hex(),
                                           "txs": len(block.transactions), "view": block.header.view_id})

    # --- gossip in and out -----------------------------------------------------------------------

    async def run_gossip_in(self) -> None:
        self.gossip.set_topic_validator(self.topic, is_wellformed_envelope)
        messages = await self.gossip.subscribe(self.topic)
        async for message in messages:
            try:
                envelope = decode_envelope(message.data)
            except DecodingError:
                continue  # the validator already dropped these; a race at subscribe time only
            if envelope.kind == MessageKind.CONSENSUS:
                self.events_in.send_nowait(MessageReceived(envelope.payload))
            elif envelope.kind in (MessageKind.TRANSACTION, MessageKind.STAKING):
                self.admit_transactions(envelope)

    def admit_transactions(self, envelope: Envelope) -> None:
        try:
            raw_txs = unpack_batch(envelope)
        except DecodingError:
            return
        for raw in raw_txs:
            try:
                self.pool.add(raw)
            except ValidationError as exc:  # already known, nonce too low...: never forwarded
                log.debug("transaction refused", extra={"reason": str(exc)})
        self.metrics.set("hmy_txpool_size", len(self.pool), self.shard_id)

    async def run_pool_gossip(self) -> None:
        while True:
            await trio.sleep(POOL_GOSSIP_INTERVAL_S)
            batch = self.pool.drain_new_for_gossip()
            if batch:
                try:
                    await self.gossip.publish(self.topic, pack_transactions(batch).encode())
                except (P2PError, ValidationError) as exc:
                    log.warning("transaction gossip failed", extra={"reason": str(exc)})

    # --- sync ------------------------------------------------------------------------------------

    async def serve_sync(self, peer_id: str, payload: bytes) -> bytes:
        return handle_sync_request(self.chain, payload)

    async def sync_from_peer(self, from_number: int) -> None:
        try:
            peers = [p for p in self.gossip.get_peer_ids() if p not in self.bad_sync_peers]
            if not peers:
                self.bad_sync_peers = frozenset()  # everyone failed once: give them another chance
                return
            peer = peers[from_number % len(peers)]
            try:
                response = await self.gossip.request(peer, self.sync_protocol, encode_sync_request(from_number),
                                                     timeout=SYNC_TIMEOUT_S)
                blocks = decode_sync_response(response)
            except (P2PError, DecodingError) as exc:
                log.info("sync request failed", extra={"peer": peer, "reason": str(exc)})
                self.bad_sync_peers |= {peer}
                return
            if blocks:
                self.last_sync_peer = peer
                self.events_in.send_nowait(BlocksSynced(blocks))
            else:  # consensus asks only when others are ahead: this peer is stale
                self.bad_sync_peers |= {peer}
        finally:
            self.sync_in_flight = False

    async def run_peer_metrics(self) -> None:
        while True:
            self.metrics.set("hmy_p2p_peers", self.gossip.peer_count())
            await trio.sleep(1)


def is_wellformed_envelope(data: bytes) -> bool:
    """Gossip validator: a Harmony envelope of a kind this node reads (cheap; no signatures)."""
    try:
        envelope = decode_envelope(data)
    except DecodingError:
        return False
    return envelope.kind in (MessageKind.CONSENSUS, MessageKind.TRANSACTION, MessageKind.STAKING)


def load_genesis_for(config: NodeConfig) -> Genesis:
    return load_genesis(config.genesis) if config.genesis else get_localnet_genesis()


def load_keys(config: NodeConfig) -> list[int]:
    if not config.is_validator:
        return []
    consensus = config.consensus
    if consensus.passphrase_file:
        passphrase = read_passphrase_file(consensus.passphrase_file)
    else:
        import getpass  # only a validator started by hand asks

        passphrase = getpass.getpass("BLS key passphrase: ")
    return load_validator_keys(consensus.bls_key_files, passphrase)


class NodeStarted(Protocol):
    """What ``nursery.start`` passes in (typed here: this mypy cannot see trio's TaskStatus)."""

    def started(self, value: Node) -> None:
        ...


async def run_node(config: NodeConfig, task_status: NodeStarted = trio.TASK_STATUS_IGNORED) -> None:
    """Run until SIGTERM/SIGINT (or cancellation); everything is closed on the way out."""
    genesis = load_genesis_for(config)
    secrets = load_keys(config)
    public_keys = [bls.secret_to_public(s) for s in secrets]
    shard_id = find_shard(genesis, public_keys, config.consensus.shard)
    committee_keys = genesis.get_committee_keys(shard_id)
    if not committee_keys:
        raise ConfigError(f"the genesis names no committee for shard {shard_id}")
    committee = Committee.with_equal_power(committee_keys, shard_id=shard_id, epoch=0)
    Path(config.datadir).mkdir(parents=True, exist_ok=True)
    network = get_network(genesis)
    with LevelDBStore(config.get_chain_path(shard_id)) as store:
        chain = Blockchain.open(store, genesis, shard_id, lambda number: committee)
        pool = TxPool(TxPoolConfig(), genesis.config, shard_id, chain.get_state())
        access = NodeChainAccess(chain, lambda: pool.get_executable(MAX_BLOCK_TRANSACTIONS,
                                                                    genesis.config.block_gas_limit))
        fbft_config = FbftConfig(shard_id=shard_id, block_time=config.consensus.block_time_ms,
                                 view_timeout=config.consensus.view_timeout_ms,
                                 blocks_per_leader=config.consensus.blocks_per_leader)
        driver = ConsensusDriver(FbftEngine(fbft_config, access, secrets), access)
        gossip = GossipNode(P2PConfig(listen_host=config.p2p.host, port=config.p2p.port,
                                      key_file=config.p2p_key_file, bootnodes=config.p2p.bootnodes))
        # Unbounded: a consensus message is never dropped for lack of room; the backlog is visible instead.
        events_in, events_out = trio.open_memory_channel[Event](math.inf)
        node = Node(config, genesis, shard_id, chain, pool, driver, gossip, Metrics(), frozenset(public_keys),
                    node_topic(network, shard_id), sync_protocol_id(network, shard_id), events_in, events_out)
        driver.on_commit = node.on_commit
        node.metrics.set("hmy_chain_height", chain.head.number, shard_id)
        node.metrics.set("hmy_consensus_validating", float(bool(set(public_keys) & set(committee_keys))), shard_id)
        async with gossip.run():
            gossip.set_request_handler(node.sync_protocol, node.serve_sync)
            log.info("node started", extra={"shard": shard_id, "peer_id": gossip.peer_id, "head": chain.head.number,
                                            "validator_keys": len(secrets), "listen": ",".join(gossip.listen_addrs())})
            async with trio.open_nursery() as nursery:
                node.nursery = nursery
                nursery.start_soon(stop_on_signal, nursery.cancel_scope)
                if config.metrics.enabled:
                    await nursery.start(serve_metrics, node.metrics, config.metrics.host, config.metrics.port)
                nursery.start_soon(node.run_gossip_in)
                nursery.start_soon(node.run_pool_gossip)
                nursery.start_soon(node.run_peer_metrics)
                nursery.start_soon(node.run_consensus)
                task_status.started(node)
        log.info("node stopped", extra={"head": chain.head.number})


async def stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("stopping", extra={"signal": signal.Signals(signum).name})
            scope.cancel()
            return


def start_node(config: NodeConfig) -> None:
    """Blocking entry point for the CLI; HarmonyError for configuration and key problems."""
    trio.run(run_node, config)
