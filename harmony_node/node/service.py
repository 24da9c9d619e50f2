"""``hmy-node start``: a full node of a sharded network, as trio services around the pure core.

A node runs one ``ChainService`` per chain it follows: always the beacon (shard 0), whose headers
fix every chain's committees; as a validator, every shard its keys are assigned to in the current
or the next two epochs (so a newly assigned shard is synced during the lookahead epoch, and a left
one is dropped); as a non-validating node, the shard it is configured for. Which chains run is
re-decided after every beacon block.

Per chain: one task owns the consensus engine and the chain and drains one channel of events
(peer messages, timers, blocks); a member of the chain's committee for the next block subscribes
to the chain's consensus topic, everyone else follows the chain's client topic, where the leader of
each commit publishes the block with its certificate (and asks peers over the sync protocol when
blocks stop coming). A transaction pool per chain gossips new transactions in batches.

Everything stops together on SIGTERM/SIGINT; a chain that is dropped closes its database.
Consensus time is wall-clock milliseconds (``wall_clock``; shifted in clock-skew tests); timers are
trio sleeps until that time. Crash tests arm a failpoint through the environment (``failpoints``).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import signal
import time
from collections.abc import Mapping, Sequence
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import trio

from consensus.fbft import (
    Action,
    BlocksSynced,
    Broadcast,
    ConflictingProposal,
    Event,
    FbftConfig,
    FbftEngine,
    MessageReceived,
    Rejected,
    ReportEvidence,
    RequestSync,
    SendToLeader,
    SetTimer,
    SyncedBlock,
    TimerFired,
)
from consensus.evidence import DoubleSignEvidence, validate_double_sign_evidence
from consensus.messages import MessageKind as ConsensusKind
from crypto import bls
from crypto.hash import keccak256
from harmony_node.chain.beacon_execution import decode_slashes, is_slash_outstanding
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.epochs import BEACON_SHARD, GENESIS_EPOCHS, ChainRules, NetworkEpochs
from harmony_node.chain.genesis import Genesis, build_genesis_block, get_localnet_genesis, load_genesis
from harmony_node.chain.incoming_receipts import validate_incoming_proof
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.exceptions import DecodingError, HarmonyError, NotFound, ValidationError
from harmony_node.node.chain_access import NodeChainAccess
from harmony_node.node.chain_pace import RecentBlocks
from harmony_node.node.config import ConfigError, NodeConfig
from harmony_node.node.consensus_driver import ConsensusDriver
from harmony_node.node.failpoints import BLOCK_WRITE, COMMIT_VOTE_SENT, Failpoint, FailpointStore, get_failpoint
from harmony_node.node.keys import load_validator_keys, read_passphrase_file
from harmony_node.node.metrics import Metrics, serve_metrics
from harmony_node.node.sync import (
    decode_sync_response,
    encode_sync_request,
    encode_sync_response,
    handle_sync_request,
)
from harmony_node.node.wall_clock import SYSTEM_CLOCK, WallClock, get_wall_clock
from harmony_node.p2p.envelope import Envelope, MessageKind, decode_envelope, pack_transactions, unpack_batch
from harmony_node.p2p.errors import P2PError
from harmony_node.p2p.gossip import GossipMessage, GossipNode
from harmony_node.p2p.host import P2PConfig
from harmony_node.node.rpc_service import build_backend, build_server_config, get_rpc_shard
from harmony_node.p2p.topics import Network, client_topic, node_topic, sync_protocol_id
from harmony_node.rpc.explorer import get_explorer_pages
from harmony_node.rpc.format import Flavour, format_block
from harmony_node.rpc.namespaces import build_dispatcher
from harmony_node.rpc.server import serve_rpc
from harmony_node.rpc.subscriptions import Subscriptions
from harmony_node.txpool import TxPool, TxPoolConfig, decode_pool_transaction
from harmony_node.types.block import Block
from harmony_node.types.cx_receipt import CXReceiptsProof, decode_cx_receipts_proof, encode_cx_receipts_proof
from harmony_node.types.staking_transaction import StakingTransaction
from harmony_node.types.transaction import Transaction
from sharding.cross_shard import build_cx_receipts_proof
from sharding.crosslink import CrossLink, build_crosslink
from sharding.schedule import EpochSchedule

log = logging.getLogger("harmony_node.node")

POOL_GOSSIP_INTERVAL_S = 0.1
MAX_QUEUED_TX_BATCHES = 1000
"""Gossiped transaction batches waiting for admission; past this they are dropped (and counted)."""
MAX_BLOCK_TRANSACTIONS = 2000
SYNC_TIMEOUT_S = 10.0
RESEND_INTERVAL_S = 5.0
RESEND_BLOCKS = 32
MAX_PENDING_SLASHES = 64
SHARD_LAG_EPOCHS = 3
"""How many epochs behind the beacon a shard we do not follow may be and still need our keys."""
FOLLOW_STALL_BLOCKS = 3
"""A following chain asks peers for blocks after this many block times without one."""


def get_network(genesis: Genesis) -> Network:
    """The topic namespace: a genesis names its network (``localnet``, ``testnet``, ``mainnet``)."""
    for network in Network:
        if network.name.lower() == genesis.network.lower():
            return network
    return Network.LOCALNET


def find_genesis_shard(genesis: Genesis, public_keys: Sequence[bytes]) -> int | None:
    """The shard whose genesis committee holds one of ``public_keys`` (None: none does)."""
    for shard in range(genesis.config.num_shards):
        if any(key in genesis.get_committee_keys(shard) for key in public_keys):
            return shard
    return None


class NodeStarted(Protocol):
    """What ``nursery.start`` passes in (typed here: this mypy cannot see trio's TaskStatus)."""

    def started(self, value: Node) -> None:
        ...


@dataclass
class ChainService:
    """One chain this node follows (and validates, while its keys are in the committee)."""

    node: Node
    shard_id: int
    store: LevelDBStore
    chain: Blockchain
    pool: TxPool
    access: NodeChainAccess
    driver: ConsensusDriver
    consensus_topic: str
    client_topic: str
    sync_protocol: str
    events_in: trio.MemorySendChannel[Event]
    events_out: trio.MemoryReceiveChannel[Event]
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    nursery: trio.Nursery | None = None
    validating: bool = False
    """A key of ours is in the committee of the next block."""
    joined: bool = False
    """Subscribed to the consensus topic (from an epoch before validating; see ``update_membership``)."""
    last_block_time: float = 0.0
    recent_blocks: RecentBlocks = field(default_factory=RecentBlocks)
    tx_batches: trio.MemorySendChannel[Envelope] | None = None
    last_block_monotonic: float = field(default_factory=time.monotonic)
    bad_sync_peers: frozenset[str] = frozenset()
    sync_in_flight: bool = False
    sync_answers: dict[BlocksSynced, str] = field(default_factory=dict)
    """Sync answers waiting for consensus, with the peer that gave each."""
    last_sync_peer: str = ""
    """The peer whose sync answer consensus is taking now ("" while it takes anything else)."""
    last_view: int = 0
    last_height: int = 0
    cx_pool: dict[bytes, CXReceiptsProof] = field(default_factory=dict)
    """Checked incoming cross-shard proofs not yet credited, by proof key (what a leader includes)."""
    crosslink_pool: dict[tuple[int, int], CrossLink] = field(default_factory=dict)
    """Beacon only: checked crosslinks of shard blocks not yet included, by (shard, number)."""
    slash_pool: dict[bytes, bytes] = field(default_factory=dict)
    """Beacon only: double-sign evidence (encoded) whose signatures check out, by evidence id."""

    @property
    def metrics(self) -> Metrics:
        return self.node.metrics

    async def run(self) -> None:
        """Follow the chain until ``scope`` is cancelled; the database is closed on the way out."""
        try:
            with self.scope:
                await self.node.wait_for_committee(self.shard_id, self.chain.head.number + 1)
                async with trio.open_nursery() as nursery:
                    self.nursery = nursery
                    batches_in, batches_out = trio.open_memory_channel[Envelope](MAX_QUEUED_TX_BATCHES)
                    self.tx_batches = batches_in  # before run_consensus, which joins the consensus topic
                    nursery.start_soon(self.run_transaction_admission, batches_out)
                    client = await self.node.gossip.subscribe(self.client_topic)
                    nursery.start_soon(self.run_client_in, client)
                    nursery.start_soon(self.run_consensus)
                    nursery.start_soon(self.run_pool_gossip)
                    nursery.start_soon(self.run_follow_watchdog)
                    nursery.start_soon(self.run_receipt_resend)
        finally:
            self.nursery = None
            with trio.CancelScope(shield=True):
                for topic in (self.client_topic, self.consensus_topic):
                    try:
                        await self.node.gossip.unsubscribe(topic)
                    except P2PError:
                        pass  # the gossip service is stopping too
            self.store.close()
            log.info("chain stopped", extra={"shard": self.shard_id, "head": self.chain.head.number})

    # --- consensus -------------------------------------------------------------------------------

    async def run_consensus(self) -> None:
        await self.execute(self.driver.start(self.node.clock.get_ms()))
        if self.driver.state is not None:  # views counted as view changes start from here
            self.last_view, self.last_height = self.driver.state.view, self.driver.state.tip.number
        await self.update_membership()
        async for event in self.events_out:
            try:
                actions = self.process_event(event)
            except ValidationError as exc:  # a synced batch that does not decode, for instance
                log.info("event refused", extra={"shard": self.shard_id, "reason": str(exc)})
                continue
            except NotFound as exc:  # a committee the beacon has not given us yet: start over later
                log.warning("consensus paused", extra={"shard": self.shard_id, "reason": str(exc)})
                await self.node.wait_for_committee(self.shard_id, self.chain.head.number + 1)
                await self.execute(self.driver.start(self.node.clock.get_ms()))
                continue
            await self.execute(actions)
            self.record_view()

    def process_event(self, event: Event) -> list[Action]:
        """Step consensus on ``event``, noting whose sync answer it is, if one, for ``execute`` to blame.

        Only the peer that gave an answer is to blame for it: a block announced on the client topic
        is refused by a node that is behind too, and blaming the last sync peer for that got an honest
        peer, which had just served the node, skipped at every request while announcements came in.
        """
        self.last_sync_peer = self.sync_answers.pop(event, "") if isinstance(event, BlocksSynced) else ""
        return self.driver.handle(event, self.node.clock.get_ms())

    def record_view(self) -> None:
        state = self.driver.state
        if state is None:
            return
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
                await self.publish(self.consensus_topic, Envelope(MessageKind.CONSENSUS, action.data))
            elif isinstance(action, SendToLeader):
                leading = action.leader in self.node.own_keys
                if leading:  # gossip does not echo our own messages back
                    self.events_in.send_nowait(MessageReceived(action.data))
                else:
                    await self.publish(self.consensus_topic, Envelope(MessageKind.CONSENSUS, action.data))
                if self.node.failpoint is not None and action.kind == ConsensusKind.COMMIT:
                    self.node.failpoint.pass_point(COMMIT_VOTE_SENT, leading)
            elif isinstance(action, SetTimer):
                assert self.nursery is not None
                self.nursery.start_soon(self.fire_timer, action)
            elif isinstance(action, RequestSync):
                self.request_sync(action.from_number)
            elif isinstance(action, ReportEvidence):
                log.warning("double sign observed", extra={"shard": self.shard_id,
                                                           "height": action.evidence.block_number,
                                                           "view": action.evidence.view_id})
                # The beacon slashes it: hand the evidence to the beacon's leaders.
                await self.publish(node_topic(self.node.network, BEACON_SHARD),
                                   Envelope(MessageKind.SLASH_CANDIDATE, action.evidence.encode()))
            elif isinstance(action, ConflictingProposal):
                # An equivocating leader, or one key on two nodes; not slashable (only commit votes are).
                self.metrics.increment("hmy_consensus_conflicting_proposals_total", shard=self.shard_id)
                log.warning("conflicting proposals observed", extra={
                    "shard": self.shard_id, "leader": "0x" + action.leader.hex(), "height": action.height,
                    "view": action.view, "first": "0x" + action.first_hash.hex(),
                    "second": "0x" + action.second_hash.hex(),
                    "count": int(self.metrics.get("hmy_consensus_conflicting_proposals_total", self.shard_id))})
            elif isinstance(action, Rejected):
                self.metrics.increment("hmy_messages_rejected_total", shard=self.shard_id)
                if action.reason.startswith("sync:") and self.last_sync_peer:
                    # It served a block its certificate does not prove: ask someone else from now on.
                    log.warning("sync peer served bad blocks", extra={"peer": self.last_sync_peer,
                                                                      "reason": action.reason})
                    self.bad_sync_peers |= {self.last_sync_peer}
                log.debug("rejected", extra={"shard": self.shard_id, "reason": action.reason})

    async def publish(self, topic: str, envelope: Envelope) -> None:
        try:
            await self.node.gossip.publish(topic, envelope.encode())
        except (P2PError, ValidationError) as exc:
            log.warning("publish failed", extra={"topic": topic, "reason": str(exc)})

    async def fire_timer(self, timer: SetTimer) -> None:
        await trio.sleep(max(0.0, (timer.at - self.node.clock.get_ms()) / 1000))
        self.events_in.send_nowait(TimerFired(timer.kind, timer.height, timer.view))

    def on_commit(self, block: Block) -> None:
        self.pool.reset(self.chain.get_state())
        self.last_block_monotonic = now = time.monotonic()
        if self.last_block_time:
            self.metrics.set("hmy_block_interval_seconds", round(now - self.last_block_time, 3), self.shard_id)
        self.last_block_time = now
        pace = self.recent_blocks.record(now, len(block.transactions) + len(block.staking_transactions))
        if pace is not None:
            self.metrics.set("hmy_chain_block_time_seconds", round(pace.block_time_s, 3), self.shard_id)
            self.metrics.set("hmy_chain_tps", round(pace.tps, 2), self.shard_id)
        header = block.header
        self.metrics.set("hmy_chain_height", header.number, self.shard_id)
        self.metrics.set("hmy_chain_epoch", header.epoch, self.shard_id)
        self.metrics.increment("hmy_blocks_finalized_total", shard=self.shard_id)
        self.metrics.set("hmy_txpool_size", len(self.pool), self.shard_id)
        log.info("block finalized", extra={"shard": self.shard_id, "number": header.number, "epoch": header.epoch,
                                           "hash": "0x" + header.hash.hex(), "txs": len(block.transactions),
                                           "staking_txs": len(block.staking_transactions), "view": header.view_id})
        if block.incoming_receipts:
            credited = [receipt.tx_hash.hex() for proof in block.incoming_receipts for receipt in proof.receipts]
            log.info("cross-shard receipts credited", extra={"shard": self.shard_id, "number": header.number,
                                                             "tx_hashes": ",".join(credited)})
        commit = self.chain.head_commit
        state = self.driver.state
        if self.nursery is not None and commit is not None and state is not None:
            committee = self.chain.get_committee(header.number)
            leader = committee.public_keys[self.driver.engine.get_leader_index(committee, commit.view)]
            if leader in self.node.own_keys:  # the commit's leader tells the followers and other shards
                payload = encode_sync_response((SyncedBlock(self.chain.chain_store.get_block_bytes(header.hash),
                                                            commit.view, commit.certificate),))
                self.nursery.start_soon(self.publish, self.client_topic, Envelope(MessageKind.BLOCK_SYNC, payload))
                self.nursery.start_soon(self.relay_receipts, header.number)
                if self.shard_id != BEACON_SHARD:
                    link = build_crosslink(header, commit.view, commit.certificate)
                    self.nursery.start_soon(self.publish, node_topic(self.node.network, BEACON_SHARD),
                                            Envelope(MessageKind.CROSSLINK, link.encode()))
            self.nursery.start_soon(self.update_membership)
        for key in [key for key in self.cx_pool if self.chain.is_spent(key)]:
            del self.cx_pool[key]
        if block.header.slashes:
            for data in decode_slashes(block.header.slashes):
                self.slash_pool.pop(keccak256(data), None)
        if self.slash_pool:
            ledger = StateStakingLedger(self.chain.get_state(), 0)  # read only: the supply is not used
            for key in [key for key, data in self.slash_pool.items() if not is_slash_outstanding(ledger, data)]:
                del self.slash_pool[key]
        for shard, number in list(self.crosslink_pool):
            if number <= self.chain.chain_store.get_last_linked(shard):
                del self.crosslink_pool[(shard, number)]
        if self.shard_id == self.node.rpc_shard and self.node.subscriptions.get_subscription_count("newHeads"):
            self.node.subscriptions.publish("newHeads", format_block(
                block, flavour=Flavour.ETH, full_tx=False, include_staking=False, signers=None))
        self.node.on_block(self.shard_id)

    # --- cross-shard receipts --------------------------------------------------------------------

    async def relay_receipts(self, number: int) -> None:
        """Send block ``number``'s outgoing receipts, with their proof, to each destination shard."""
        block = self.chain.get_block_by_number(number)
        outgoing = self.chain.chain_store.get_outgoing_receipts(block.header.hash)
        if not outgoing:
            return
        commit = self.chain.get_commit(number)
        for destination in sorted({receipt.to_shard_id for receipt in outgoing}):
            proof = build_cx_receipts_proof(block.header, outgoing, destination, commit.certificate, commit.view)
            if proof is not None:
                await self.publish(node_topic(self.node.network, destination),
                                   Envelope(MessageKind.RECEIPT, encode_cx_receipts_proof(proof)))

    def resend_receipts(self, number: int) -> bool:
        """Relay block ``number``'s outgoing receipts again (``hmy_resendCx``); False if it sent none."""
        block = self.chain.get_block_by_number(number)
        if self.nursery is None or not self.chain.chain_store.get_outgoing_receipts(block.header.hash):
            return False
        self.nursery.start_soon(self.relay_receipts, number)
        return True

    async def run_receipt_resend(self) -> None:
        """While leading, re-send the proofs of recent blocks: a lost relay must not strand a transfer.

        The source cannot see what the destination credited; the destination drops what it already
        has, so repeating is harmless, and at most ``RESEND_BLOCKS`` blocks are repeated each time.
        """
        while True:
            await trio.sleep(RESEND_INTERVAL_S)
            state = self.driver.state
            if state is None or not self.validating:
                continue
            leader = state.committee.public_keys[self.driver.engine.get_leader_index(state.committee, state.view)]
            if leader not in self.node.own_keys:
                continue
            head = self.chain.head.number
            for number in range(max(1, head - RESEND_BLOCKS + 1), head + 1):
                await self.relay_receipts(number)

    def admit_proof(self, envelope: Envelope) -> None:
        try:
            proof = decode_cx_receipts_proof(envelope.payload)
            key = validate_incoming_proof(proof, self.shard_id, self.chain)
        except ValidationError as exc:  # forged, replayed, or from an epoch the beacon has not shown us
            log.debug("cross-shard proof refused", extra={"shard": self.shard_id, "reason": str(exc)})
            return
        self.cx_pool.setdefault(key, proof)

    def admit_crosslink(self, envelope: Envelope) -> None:
        try:
            link = CrossLink.decode(envelope.payload)
        except ValidationError:
            return
        if self.chain.is_valid_crosslink(link):  # its quorum checks out and it is not linked yet
            self.crosslink_pool.setdefault((link.shard_id, link.block_number), link)

    def admit_evidence(self, envelope: Envelope) -> None:
        """Keep evidence whose two signatures prove a double sign; the leader's block decides the rest."""
        try:
            validate_double_sign_evidence(DoubleSignEvidence.decode(envelope.payload))
        except ValidationError:
            return
        if len(self.slash_pool) < MAX_PENDING_SLASHES:
            self.slash_pool.setdefault(keccak256(envelope.payload), envelope.payload)

    async def update_membership(self) -> None:
        """Validate while a key of ours is in the next block's committee; be on the consensus topic an epoch
        earlier too, and until the epoch after ours begins.

        Joining at the epoch boundary itself lost the first block of every epoch: the leader proposes
        as soon as the last block commits, before the new members have joined (or even committed that
        block) and before their subscriptions have reached it, so their votes were missing and the
        height needed view changes (4-42 s on a four-block-epoch localnet). Joining an epoch early
        also leaves gossipsub time to build the mesh; staying subscribed across a one-epoch gap
        avoids the leave/rejoin churn that its 60 s prune backoff punishes.
        """
        head = self.chain.head.number
        validating = self._has_key_in_committee(head + 1)
        schedule = self.node.epochs.schedule
        next_epoch_start = schedule.get_first_block(schedule.compute_epoch(head + 1) + 1)
        joined = validating or self._has_key_in_committee(next_epoch_start)
        self.metrics.set("hmy_consensus_validating", float(validating), self.shard_id)
        if validating != self.validating:
            self.validating = validating
            log.info("validating" if validating else "following", extra={"shard": self.shard_id, "from": head + 1})
        if joined == self.joined:
            return
        self.joined = joined
        if joined:
            messages = await self.node.gossip.subscribe(self.consensus_topic)
            assert self.nursery is not None
            self.nursery.start_soon(self.run_consensus_in, messages)
        else:
            await self.node.gossip.unsubscribe(self.consensus_topic)

    def _has_key_in_committee(self, number: int) -> bool:
        """Whether one of our keys signs block ``number`` (False while its committee is unpublished)."""
        try:
            committee = self.chain.get_committee(number)
        except NotFound:
            return False
        return any(key in self.node.own_keys for key in committee.public_keys)

    # --- gossip in and out -----------------------------------------------------------------------

    async def run_consensus_in(self, messages: trio.MemoryReceiveChannel[GossipMessage]) -> None:
        async for message in messages:
            try:
                envelope = decode_envelope(message.data)
            except DecodingError:
                continue  # the topic validator drops these; a race at subscribe time only
            if envelope.kind == MessageKind.CONSENSUS:
                self.events_in.send_nowait(MessageReceived(envelope.payload))
            elif envelope.kind in (MessageKind.TRANSACTION, MessageKind.STAKING):
                # Admitted by a task of their own: checking signatures of a batch must not hold up
                # the consensus messages behind it, and a flood of batches is dropped, not queued.
                try:
                    if self.tx_batches is not None:
                        self.tx_batches.send_nowait(envelope)
                except trio.WouldBlock:
                    self.metrics.increment("hmy_tx_batches_dropped_total", shard=self.shard_id)
            elif envelope.kind == MessageKind.RECEIPT:
                self.admit_proof(envelope)
            elif envelope.kind == MessageKind.CROSSLINK and self.shard_id == BEACON_SHARD:
                self.admit_crosslink(envelope)
            elif envelope.kind == MessageKind.SLASH_CANDIDATE and self.shard_id == BEACON_SHARD:
                self.admit_evidence(envelope)

    async def run_client_in(self, messages: trio.MemoryReceiveChannel[GossipMessage]) -> None:
        async for message in messages:
            try:
                envelope = decode_envelope(message.data)
                if envelope.kind != MessageKind.BLOCK_SYNC:
                    continue
                blocks = decode_sync_response(envelope.payload)
            except DecodingError:
                continue
            if blocks:
                self.events_in.send_nowait(BlocksSynced(blocks))

    async def run_transaction_admission(self, batches: trio.MemoryReceiveChannel[Envelope]) -> None:
        async for envelope in batches:
            self.admit_transactions(envelope)
            await trio.lowlevel.checkpoint()  # consensus messages get their turn between batches

    def admit_transactions(self, envelope: Envelope) -> None:
        try:
            raw_txs = unpack_batch(envelope)
        except DecodingError:
            return
        for raw in raw_txs:
            try:
                # Not relayed again: gossipsub forwards the message to every subscriber already, and a
                # re-publication by each of them multiplied a shard's transaction traffic by its size.
                tx_hash = self.pool.add(raw, relay=False)
            except ValidationError as exc:  # already known, nonce too low...: never forwarded
                log.debug("transaction refused", extra={"shard": self.shard_id, "reason": str(exc)})
                continue
            if self.shard_id == self.node.rpc_shard:
                self.node.subscriptions.publish("newPendingTransactions", "0x" + tx_hash.hex())
        self.metrics.set("hmy_txpool_size", len(self.pool), self.shard_id)

    async def run_pool_gossip(self) -> None:
        while True:
            await trio.sleep(POOL_GOSSIP_INTERVAL_S)
            batch = self.pool.drain_new_for_gossip()
            if batch:
                await self.publish(self.consensus_topic, pack_transactions(batch))

    # --- sync ------------------------------------------------------------------------------------

    async def run_follow_watchdog(self) -> None:
        """Ask peers for blocks when none came for a few block times (a lost client message)."""
        stall = FOLLOW_STALL_BLOCKS * self.node.config.consensus.block_time_ms / 1000
        while True:
            await trio.sleep(stall / 2)
            if time.monotonic() - self.last_block_monotonic > stall:
                self.request_sync(self.chain.head.number + 1)

    def request_sync(self, from_number: int) -> None:
        if not self.sync_in_flight and self.nursery is not None:
            self.sync_in_flight = True
            self.nursery.start_soon(self.sync_from_peer, from_number)

    async def serve_sync(self, peer_id: str, payload: bytes) -> bytes:
        if self.nursery is None:
            raise P2PError(f"shard {self.shard_id} is not served by this node now")
        return handle_sync_request(self.chain, payload)

    async def sync_from_peer(self, from_number: int) -> None:
        try:
            peers = [p for p in self.node.gossip.get_peer_ids() if p not in self.bad_sync_peers]
            if not peers:
                self.bad_sync_peers = frozenset()  # everyone failed once: give them another chance
                return
            peer = peers[from_number % len(peers)]
            try:
                response = await self.node.gossip.request(peer, self.sync_protocol, encode_sync_request(from_number),
                                                          timeout=SYNC_TIMEOUT_S)
            except P2PError as exc:
                log.debug("sync request failed", extra={"shard": self.shard_id, "peer": peer, "reason": str(exc)})
                self.bad_sync_peers |= {peer}
                return
            try:
                blocks = decode_sync_response(response)
                # Consensus passes over blocks it has without a word, so a peer answering with old
                # blocks only would be asked again for ever (the peer is chosen by ``from_number``).
                if blocks and self.access.get_block(blocks[0].block).header.number != from_number:
                    raise DecodingError(f"the answer does not start at block {from_number}")
            except DecodingError as exc:
                self.metrics.increment("hmy_messages_rejected_total", shard=self.shard_id)
                log.warning("sync peer served bad blocks", extra={"peer": peer, "reason": f"sync: {exc}"})
                self.bad_sync_peers |= {peer}
                return
            if blocks:
                answer = BlocksSynced(blocks)
                self.sync_answers[answer] = peer
                self.events_in.send_nowait(answer)
            else:  # it has nothing newer than we do: try another next time
                self.bad_sync_peers |= {peer}
        finally:
            self.sync_in_flight = False


@dataclass
class Node:
    """Everything one running node holds."""

    config: NodeConfig
    genesis: Genesis
    network: Network
    epochs: NetworkEpochs
    gossip: GossipNode
    secrets: dict[bytes, int]
    metrics: Metrics = field(default_factory=Metrics)
    chains: dict[int, ChainService] = field(default_factory=dict)
    rpc_shard: int = 0
    """The chain this node's RPC answers for (always followed while RPC is on)."""
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    nursery: trio.Nursery | None = None
    beacon_progress: trio.Event = field(default_factory=trio.Event)
    clock: WallClock = SYSTEM_CLOCK
    failpoint: Failpoint | None = None
    """Crash tests only (``HMY_FAILPOINT``): where this node kills itself."""

    @property
    def own_keys(self) -> frozenset[bytes]:
        return frozenset(self.secrets)

    def open_chain(self, shard_id: int) -> ChainService:
        """Open (creating if new) the database of ``shard_id`` and wire its services (not started)."""
        store = LevelDBStore(self.config.get_chain_path(shard_id))
        try:
            rules = ChainRules(self.epochs, shard_id)
            failpoint = self.failpoint
            chain_store = (FailpointStore(store, failpoint) if failpoint is not None and failpoint.point == BLOCK_WRITE
                           else store)
            chain = Blockchain.open(chain_store, self.genesis, shard_id, rules=rules)
        except BaseException:
            store.close()
            raise
        pool = TxPool(TxPoolConfig(), self.genesis.config, shard_id, chain.get_state(),
                      validate_staking=chain.validate_staking_message if shard_id == BEACON_SHARD else None)
        cx_pool: dict[bytes, CXReceiptsProof] = {}
        crosslink_pool: dict[tuple[int, int], CrossLink] = {}
        slash_pool: dict[bytes, bytes] = {}
        gas_limit = self.genesis.config.block_gas_limit

        def get_candidates() -> tuple[Sequence[Transaction], Sequence[StakingTransaction]]:
            if shard_id == BEACON_SHARD:
                return pool.get_executable_with_staking(MAX_BLOCK_TRANSACTIONS, gas_limit)
            return pool.get_executable(MAX_BLOCK_TRANSACTIONS, gas_limit), ()

        access = NodeChainAccess(chain, get_candidates, clock=self.clock.get_seconds,
                                 secrets=self.secrets, get_incoming=lambda: list(cx_pool.values()),
                                 get_crosslinks=lambda: list(crosslink_pool.values()),
                                 get_slashes=lambda: list(slash_pool.values()))
        consensus = self.config.consensus
        fbft = FbftConfig(shard_id=shard_id, block_time=consensus.block_time_ms,
                          view_timeout=consensus.view_timeout_ms, blocks_per_leader=consensus.blocks_per_leader)
        driver = ConsensusDriver(FbftEngine(fbft, access, list(self.secrets.values())), access,
                                 double_sign=consensus.debug_double_sign, failpoint=self.failpoint)
        # Unbounded: a consensus message is never dropped for lack of room; the backlog shows instead.
        events_in, events_out = trio.open_memory_channel[Event](math.inf)
        service = ChainService(self, shard_id, store, chain, pool, access, driver, node_topic(self.network, shard_id),
                               client_topic(self.network, shard_id), sync_protocol_id(self.network, shard_id),
                               events_in, events_out, cx_pool=cx_pool, crosslink_pool=crosslink_pool,
                               slash_pool=slash_pool)
        driver.on_commit = service.on_commit
        self.metrics.set("hmy_chain_height", chain.head.number, shard_id)
        self.metrics.set("hmy_chain_epoch", chain.head.epoch, shard_id)
        return service

    def start_chain(self, service: ChainService) -> None:
        assert self.nursery is not None
        self.chains[service.shard_id] = service
        validator = functools.partial(is_wellformed_envelope, eth_chain_id_base=self.genesis.config.eth_chain_id_base)
        self.gossip.set_topic_validator(service.consensus_topic, validator)
        self.gossip.set_topic_validator(service.client_topic, validator)
        self.gossip.set_request_handler(service.sync_protocol, service.serve_sync)
        self.nursery.start_soon(service.run)
        log.info("following chain", extra={"shard": service.shard_id, "head": service.chain.head.number})

    def get_wanted_shards(self) -> set[int]:
        """The beacon, the configured shard of a non-validator, and the shards of our keys from now on.

        Each chain counts epochs by its own blocks, so a shard may be behind the beacon: a shard we
        follow stays wanted while its own current or next epochs still name one of our keys, and we
        look ``SHARD_LAG_EPOCHS`` back for shards we do not follow, which may be as far behind.
        """
        wanted = {BEACON_SHARD}
        if self.config.rpc.enabled:
            wanted.add(self.rpc_shard)
        if not self.secrets:
            wanted.add(max(self.config.consensus.shard, 0))
            return wanted
        epoch = self.chains[BEACON_SHARD].chain.head.epoch
        for upcoming in range(max(0, epoch - SHARD_LAG_EPOCHS), epoch + GENESIS_EPOCHS + 1):
            wanted |= self._get_key_shards(upcoming)
        for shard_id, service in self.chains.items():
            own_epoch = service.chain.head.epoch
            if shard_id in wanted or shard_id == BEACON_SHARD:
                continue
            if any(shard_id in self._get_key_shards(e) for e in range(max(0, own_epoch - 1), own_epoch + 2)):
                wanted.add(shard_id)
        return wanted

    def _get_key_shards(self, epoch: int) -> set[int]:
        """The shards where one of our keys holds a slot in ``epoch`` (none if not published yet)."""
        try:
            state = self.epochs.get_shard_state(epoch)
        except NotFound:
            return set()
        return {shard for key in self.secrets if (shard := state.get_shard_of_key(key)) is not None}

    def update_chains(self) -> None:
        wanted = self.get_wanted_shards()
        for shard_id in sorted(wanted - set(self.chains)):
            self.start_chain(self.open_chain(shard_id))
        for shard_id in sorted(set(self.chains) - wanted):
            service = self.chains.pop(shard_id)
            service.scope.cancel()
            log.info("leaving chain", extra={"shard": shard_id})

    def on_block(self, shard_id: int) -> None:
        if shard_id == BEACON_SHARD:
            self.beacon_progress.set()
            self.beacon_progress = trio.Event()
            if self.nursery is not None:
                self.update_chains()

    async def wait_for_committee(self, shard_id: int, number: int) -> None:
        """Until the beacon here has published the committee of block ``number`` of ``shard_id``."""
        while True:
            try:
                self.epochs.get_committee(shard_id, number)
                return
            except NotFound:
                await self.beacon_progress.wait()

    async def run_peer_metrics(self) -> None:
        while True:
            self.metrics.set("hmy_p2p_peers", self.gossip.peer_count())
            self.metrics.set("hmy_p2p_rate_limited_total", self.gossip.rate_limited_count())
            await trio.sleep(1)


def is_wellformed_envelope(data: bytes, eth_chain_id_base: int) -> bool:
    """Gossip validator: a Harmony envelope of a kind this node reads, and for a transaction batch,
    items that all decode as transactions (cheap: no signature is checked).

    A message that fails is neither delivered nor forwarded, so a batch of junk stops at the first
    honest node instead of reaching, and being decoded by, every subscriber of the shard."""
    try:
        envelope = decode_envelope(data)
        if envelope.kind in (MessageKind.TRANSACTION, MessageKind.STAKING):
            for raw in unpack_batch(envelope):
                decode_pool_transaction(raw, eth_chain_id_base)
    except (DecodingError, ValidationError):
        return False
    return envelope.kind in (MessageKind.CONSENSUS, MessageKind.TRANSACTION, MessageKind.STAKING,
                             MessageKind.BLOCK_SYNC, MessageKind.RECEIPT, MessageKind.CROSSLINK,
                             MessageKind.SLASH_CANDIDATE)


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


def validate_node_setup(genesis: Genesis, public_keys: Sequence[bytes], config: NodeConfig) -> None:
    if not any(genesis.committees):
        raise ConfigError("the genesis names no committee for any shard (add \"committees\" to it)")
    if public_keys and find_genesis_shard(genesis, public_keys) is None and not genesis.committees:
        raise ConfigError("none of the BLS keys is a validator of this network")
    shard = config.consensus.shard
    if not public_keys and shard >= genesis.config.num_shards:
        raise ConfigError(f"shard {shard} does not exist ({genesis.config.num_shards} shards)")


async def run_node(config: NodeConfig, task_status: NodeStarted = trio.TASK_STATUS_IGNORED, *,
                   clock: WallClock = SYSTEM_CLOCK, failpoint: Failpoint | None = None) -> None:
    """Run until SIGTERM/SIGINT (or cancellation); everything is closed on the way out.

    ``clock`` and ``failpoint`` are test faults (``start_node`` reads them from the environment)."""
    genesis = load_genesis_for(config)
    secrets = {bls.secret_to_public(s): s for s in load_keys(config)}
    validate_node_setup(genesis, list(secrets), config)
    if config.consensus.debug_double_sign:
        log.warning("DEBUG DOUBLE SIGN IS ON: every commit vote of this node is followed by a conflicting one; "
                    "its validator WILL be slashed and banned. For tests only.",
                    extra={"validator_keys": len(secrets)})
    if failpoint is not None:
        log.warning("FAILPOINT ARMED: this node kills itself (SIGKILL) at the failpoint. For tests only.",
                    extra={"failpoint": str(failpoint)})
    if clock.offset_ms:
        log.warning("CLOCK OFFSET: this node's wall clock is shifted. For tests only.",
                    extra={"offset_ms": clock.offset_ms})
    Path(config.datadir).mkdir(parents=True, exist_ok=True)
    network = get_network(genesis)
    beacon_genesis = build_genesis_block(genesis, BEACON_SHARD, MemoryStore(), WriteBatch()).header.hash
    schedule = EpochSchedule(genesis.config.blocks_per_epoch)
    epochs = NetworkEpochs(genesis, schedule, beacon_genesis)
    gossip = GossipNode(P2PConfig(listen_host=config.p2p.host, port=config.p2p.port,
                                  key_file=config.p2p_key_file, bootnodes=config.p2p.bootnodes,
                                  peer_messages_per_s=config.p2p.peer_messages_per_s,
                                  peer_message_burst=config.p2p.peer_message_burst))
    node = Node(config, genesis, network, epochs, gossip, secrets,
                rpc_shard=get_rpc_shard(config, genesis, list(secrets)), clock=clock, failpoint=failpoint)
    beacon = node.open_chain(BEACON_SHARD)
    epochs.beacon = beacon.chain
    try:
        async with gossip.run():
            log.info("node started", extra={"peer_id": gossip.peer_id, "validator_keys": len(secrets),
                                            "listen": ",".join(gossip.listen_addrs())})
            async with trio.open_nursery() as nursery:
                node.nursery = nursery
                nursery.start_soon(stop_on_signal, nursery.cancel_scope)
                if config.metrics.enabled:
                    await nursery.start(serve_metrics, node.metrics, config.metrics.host, config.metrics.port)
                if config.rpc.enabled:
                    dispatcher = build_dispatcher(build_backend(node), node.subscriptions)
                    await nursery.start(serve_rpc, dispatcher, build_server_config(config), node.subscriptions,
                                        get_explorer_pages())
                    log.info("rpc started", extra={"shard": node.rpc_shard,
                                                   "url": f"http://{config.rpc.host}:{config.rpc.port}"})
                node.start_chain(beacon)
                node.update_chains()
                nursery.start_soon(node.run_peer_metrics)
                task_status.started(node)
    finally:
        if BEACON_SHARD not in node.chains:  # never started: close it here
            beacon.store.close()
    log.info("node stopped", extra={"heads": {s: c.chain.head.number for s, c in node.chains.items()}})


async def stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("stopping", extra={"signal": signal.Signals(signum).name})
            scope.cancel()
            return


def start_node(config: NodeConfig, environ: Mapping[str, str] = os.environ) -> None:
    """Blocking entry point for the CLI; HarmonyError for configuration and key problems, and for
    a bad test fault in ``environ`` (``HMY_FAILPOINT``, ``HMY_CLOCK_OFFSET_MS``)."""
    failpoint, clock = get_failpoint(environ), get_wall_clock(environ)
    try:
        trio.run(partial(run_node, config, clock=clock, failpoint=failpoint))
    except* HarmonyError as group:  # a setup error escaping the nursery: report the first plainly
        raise group.exceptions[0] from None
