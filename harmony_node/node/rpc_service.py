"""The node's JSON-RPC service: which shard it answers for, where the other shards answer, and the
``RPCBackend`` over the node's live chains that the methods read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib.metadata import version
from typing import TYPE_CHECKING

from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.genesis import Genesis
from harmony_node.exceptions import NotFound
from harmony_node.node.config import NodeConfig
from harmony_node.rpc.backend import ConsensusStatus, NodeInfo, RPCBackend, ShardEndpoint
from harmony_node.rpc.server import RPCServerConfig
from harmony_node.txpool import PoolTransaction, TxPool
from harmony_node.types.cx_receipt import CXReceiptsProof
from sharding.crosslink import CrossLink

if TYPE_CHECKING:
    from harmony_node.node.service import Node


def get_rpc_shard(config: NodeConfig, genesis: Genesis, public_keys: Sequence[bytes]) -> int:
    """The configured shard; else the genesis shard of the node's first listed key; else the beacon."""
    if config.consensus.shard >= 0:
        return config.consensus.shard
    for key in public_keys:
        for shard_id, committee in enumerate(genesis.committees):
            if key in committee:
                return shard_id
    return 0


def get_shard_endpoints(config: NodeConfig, genesis: Genesis, rpc_shard: int) -> tuple[ShardEndpoint, ...]:
    """Each shard's RPC URL: as configured, else the localnet layout (shard s on port 9500 + 2s,
    counted from this node's own port and shard)."""
    urls = list(config.rpc.shard_urls)
    if not urls:
        base = config.rpc.port - 2 * rpc_shard
        urls = [f"http://127.0.0.1:{base + 2 * s}" for s in range(genesis.config.num_shards)]
    return tuple(ShardEndpoint(s, url, "ws" + url[len("http"):]) for s, url in enumerate(urls))


def build_server_config(config: NodeConfig) -> RPCServerConfig:
    rate = config.rpc.requests_per_second
    return RPCServerConfig(host=config.rpc.host, port=config.rpc.port, rate_limit_per_s=float(rate) if rate else None)


def build_backend(node: Node) -> RPCBackend:
    """The RPC view of ``node``: every read goes through ``node.chains`` at call time."""

    def get_chain(shard_id: int) -> Blockchain | None:
        service = node.chains.get(shard_id)
        return None if service is None else service.chain

    def get_pool(shard_id: int) -> TxPool | None:
        service = node.chains.get(shard_id)
        return None if service is None else service.pool

    def get_consensus_status() -> ConsensusStatus | None:
        service = node.chains.get(node.rpc_shard)
        state = None if service is None else service.driver.state
        if service is None or state is None:
            return None
        leader = state.committee.public_keys[service.driver.engine.get_leader_index(state.committee, state.view)]
        return ConsensusStatus(state.view, leader in node.own_keys, leader, service.validating)

    def is_syncing(shard_id: int) -> bool:
        service = node.chains.get(shard_id)
        return service is None or service.sync_in_flight

    def resend_cx(tx_hash: bytes) -> bool:
        service = node.chains.get(node.rpc_shard)
        if service is None:
            return False
        try:
            number = service.chain.chain_store.get_tx_location(tx_hash).block_number
        except NotFound:
            return False
        return service.resend_receipts(number)

    def get_pending_crosslinks() -> list[CrossLink]:
        beacon = node.chains.get(0)
        return [] if beacon is None else list(beacon.crosslink_pool.values())

    def on_pending_transaction(tx: PoolTransaction) -> None:
        node.subscriptions.publish("newPendingTransactions", "0x" + tx.hash.hex())

    def get_pending_cx() -> list[CXReceiptsProof]:
        service = node.chains.get(node.rpc_shard)
        return [] if service is None else list(service.cx_pool.values())

    info = NodeInfo(version("harmony-node"), node.gossip.peer_id, "Validator" if node.secrets else "ExplorerNode",
                    tuple(node.secrets), int(time.time()))
    return RPCBackend(node.rpc_shard, node.genesis, info, get_shard_endpoints(node.config, node.genesis, node.rpc_shard),
                      get_chain, get_pool, get_peer_ids=node.gossip.get_peer_ids, get_pending_cx=get_pending_cx,
                      resend_cx=resend_cx, get_consensus_status=get_consensus_status, is_syncing=is_syncing,
                      get_pending_crosslinks=get_pending_crosslinks,
                      on_pending_transaction=on_pending_transaction)
