"""Cross-shard transfers between validator processes: 0→1, 1→2 and 2→0, each credited exactly once.

Transfers are gossiped to the source shard as a wallet's node would; the source block debits and
relays the receipts with their proof; the destination credits them once. The destination's leader
is killed as soon as the first transfer is debited, so a view change (and another leader) must
carry the credit; the source keeps re-sending its proofs, which the destination must refuse as
spent. At the end, on disk, each recipient holds exactly what was sent to it and, over all shards,
the funded account and the recipients hold the genesis supply minus the fees that were burned, and
every chain's own counters (fees burned, cross-shard sent and credited, the beacon's supply) close
the network's books.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from harmony_node.chain.config import ONE
from harmony_node.chain.genesis import load_genesis
from harmony_node.chain.shard_flows import get_shard_flows
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.state.state_db import StateDB
from crypto import bls
from harmony_node.types.transaction import encode_transaction, sign_transaction
from node_cluster import FUNDED_KEY, Cluster, open_stopped_chain, wait_for

pytestmark = pytest.mark.slow
SHARDS = 3
ROUTES = ((0, 1), (1, 2), (2, 0))
VALUE = 7 * ONE
GAS_PRICE = 100 * 10**9
GAS = 21_000
T = TypeVar("T")


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Cluster]:
    created = Cluster(tmp_path / "net", shards=SHARDS)
    try:
        yield created
    finally:
        created.close()


def _recipient(source: int, destination: int) -> bytes:
    return bytes([0x50 + source * 4 + destination]) * 20


def _read(cluster: Cluster, shard: int, read: Callable[[StateDB], T]) -> T:
    """``read`` of the head state of ``shard`` from the node with the longest copy of it: every copy is
    a prefix of the longest (see the other tests), and a validator that stopped following the shard
    when committees moved keeps a shorter one."""
    best: tuple[int, Path] | None = None
    for node in cluster.nodes:
        with open_stopped_chain(node.datadir, cluster.genesis_file, shard) as chain:
            if chain is not None and chain.head.number > 0 and (best is None or chain.head.number > best[0]):
                best = (chain.head.number, node.datadir)
    assert best is not None, f"no node kept shard {shard}"
    with open_stopped_chain(best[1], cluster.genesis_file, shard) as chain:
        assert chain is not None
        return read(chain.get_state())


def _balance(cluster: Cluster, shard: int, address: bytes) -> int:
    return _read(cluster, shard, lambda state: state.get_balance(address))


def _leader_of(cluster: Cluster, shard: int) -> int | None:
    """The node whose key leads ``shard`` now, from a validator's metrics."""
    keys = {"0x" + bls.secret_to_public(s).hex(): i for i, s in enumerate(cluster.secrets)}
    for node in cluster.nodes:
        if not node.running:
            continue
        for name in node.get_metrics():
            if name.startswith(f'hmy_consensus_leader{{shard="{shard}",key="'):
                return keys.get(name.split('key="')[1].rstrip('"}'))
    return None


@pytest.mark.timeout(420)
def test_transfers_are_credited_once_even_when_the_destination_leader_dies(network: Cluster) -> None:
    for index in range(len(network.nodes)):
        network.start(index)
    for shard in range(SHARDS):
        network.wait_for_height(2, [v for v in range(len(network.nodes)) if v // 4 == shard], timeout=90, shard=shard)

    genesis = load_genesis(network.genesis_file)
    txs = {route: sign_transaction(nonce=0, gas_price=GAS_PRICE, gas_limit=GAS, shard_id=route[0],
                                   to_shard_id=route[1], to=_recipient(*route), value=VALUE, data=b"",
                                   private_key=FUNDED_KEY, chain_id=genesis.config.chain_id) for route in ROUTES}
    killed: list[int] = []
    for route, tx in txs.items():
        def debited(source: int = route[0]) -> bool:
            return any(record.get("txs", 0) for _, record in network.find_log("block finalized", shard=source))

        network.submit_transactions(route[0], [encode_transaction(tx)], until=debited)
        if not killed:  # the first transfer: its destination's leader dies before it can credit
            leader = _leader_of(network, route[1])
            if leader is not None:
                network.kill(leader)
                killed.append(leader)

    def credited(tx_hash: bytes) -> bool:
        return any(tx_hash.hex() in str(r.get("tx_hashes", ""))
                   for _, r in network.find_log("cross-shard receipts credited"))

    wait_for(lambda: all(credited(tx.hash) for tx in txs.values()), timeout=120,
             what=f"every transfer to be credited\n{network.dump_logs(8)}", interval=1)
    # Let the sources re-send their proofs at least once more: the destinations must refuse them.
    resends = len(network.find_log("block finalized", shard=0)) + 8
    wait_for(lambda: len(network.find_log("block finalized", shard=0)) >= resends, timeout=60, what="more blocks")
    for index in range(len(network.nodes)):
        if index not in killed:
            assert network.stop(index) == 0, network.dump_logs()

    for source, destination in ROUTES:  # credited once: not zero, not twice after the re-sends
        assert _balance(network, destination, _recipient(source, destination)) == VALUE, (source, destination)
    funded = next(address for address, _ in genesis.alloc)
    alloc = dict(genesis.alloc)[funded]
    total = sum(_balance(network, s, funded) for s in range(SHARDS))
    total += sum(_balance(network, d, _recipient(s, d)) for s, d in ROUTES)
    fees = len(ROUTES) * GAS * GAS_PRICE
    assert total == SHARDS * alloc - fees, "supply is not conserved across shards"
    # The network's books, from each chain's own counters: genesis + minted − burned equals what the
    # accounts hold plus what is in flight between shards (nothing, once every receipt is credited).
    flows = [_read(network, s, get_shard_flows) for s in range(SHARDS)]
    supply = _read(network, 0, lambda state: StateStakingLedger(state, alloc).get_supply())
    assert sum(f.cx_sent for f in flows) == sum(f.cx_credited for f in flows) == len(ROUTES) * VALUE
    assert [f.fees_burned for f in flows] == [GAS * GAS_PRICE] * SHARDS
    burned = supply.burned + sum(f.fees_burned for f in flows[1:])  # the beacon's own fees are in its supply
    assert SHARDS * alloc + supply.minted - burned == total + sum(f.cx_sent - f.cx_credited for f in flows)
