"""What the RPC methods read from a node: its chains, its pool and facts about the node itself.

The node builds one ``RPCBackend`` from callables over its live services (chains come and go as
committees move), so the methods never hold a chain object across requests. Tests build one over
a real ``Blockchain`` and ``TxPool`` without a running node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.genesis import Genesis
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.exceptions import NotFound
from harmony_node.txpool import PoolTransaction, TxPool
from harmony_node.types.cx_receipt import CXReceiptsProof
from harmony_node.rpc.errors import ServerError
from sharding.crosslink import CrossLink

BEACON_SHARD = 0


@dataclass(frozen=True, slots=True)
class ShardEndpoint:
    """Where a shard's RPC answers (``hmyv2_getShardingStructure``)."""

    shard_id: int
    http: str
    ws: str


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """Static facts ``hmyv2_getNodeMetadata`` reports."""

    version: str
    peer_id: str
    role: str
    """"Validator" or "ExplorerNode" (Harmony's names for a validating and a non-validating node)."""
    bls_public_keys: tuple[bytes, ...]
    start_time: int
    """Unix seconds the node started."""


@dataclass(frozen=True, slots=True)
class ConsensusStatus:
    """The consensus state of the RPC shard as this node sees it."""

    view: int
    is_leader: bool
    leader_key: bytes | None
    validating: bool


def _no_peers() -> Sequence[str]:
    return ()


def _no_proofs() -> Sequence[CXReceiptsProof]:
    return ()


@dataclass
class RPCBackend:
    """The node as the RPC methods see it; ``shard_id`` is the chain the RPC answers for."""

    shard_id: int
    genesis: Genesis
    node: NodeInfo
    endpoints: tuple[ShardEndpoint, ...]
    get_followed_chain: Callable[[int], Blockchain | None]
    get_followed_pool: Callable[[int], TxPool | None]
    get_peer_ids: Callable[[], Sequence[str]] = _no_peers
    get_pending_cx: Callable[[], Sequence[CXReceiptsProof]] = _no_proofs
    resend_cx: Callable[[bytes], bool] | None = None
    get_consensus_status: Callable[[], ConsensusStatus | None] = lambda: None
    is_syncing: Callable[[int], bool] = lambda shard_id: False
    get_pending_crosslinks: Callable[[], Sequence[CrossLink]] = lambda: ()
    on_pending_transaction: Callable[[PoolTransaction], None] = lambda tx: None
    """Called after the pool admitted a transaction sent over RPC (WebSocket subscriptions)."""
    genesis_supply: int = field(init=False)

    def __post_init__(self) -> None:
        # Every shard's genesis funds the same accounts (reference §10.2); the beacon's supply
        # counter starts from one shard's allocation, as the beacon's own state does.
        self.genesis_supply = sum(balance for _, balance in self.genesis.alloc)

    def get_chain(self) -> Blockchain:
        """The RPC shard's chain; while it is being (re)opened the request fails, it does not wait."""
        chain = self.get_followed_chain(self.shard_id)
        if chain is None:
            raise ServerError(f"shard {self.shard_id} is not open on this node yet; retry shortly")
        return chain

    def get_beacon(self) -> Blockchain:
        """The beacon chain, which every node follows (staking state, committees, supply)."""
        chain = self.get_followed_chain(BEACON_SHARD)
        if chain is None:
            raise ServerError("the beacon chain is not open on this node yet; retry shortly")
        return chain

    def get_pool(self) -> TxPool:
        pool = self.get_followed_pool(self.shard_id)
        if pool is None:
            raise ServerError(f"shard {self.shard_id} is not open on this node yet; retry shortly")
        return pool

    def get_staking_ledger(self) -> StateStakingLedger:
        """The beacon's staking records at its head (read only: nothing is committed)."""
        return StateStakingLedger(self.get_beacon().get_state(), self.genesis_supply)

    def get_endpoint(self, shard_id: int) -> ShardEndpoint:
        for endpoint in self.endpoints:
            if endpoint.shard_id == shard_id:
                return endpoint
        raise NotFound(f"no RPC endpoint known for shard {shard_id}")
