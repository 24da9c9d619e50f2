"""Staking transactions sent to a running ``Cluster``'s beacon the way a wallet's node would: by gossip.

The senders return once the transactions are in finalized beacon blocks (counted from genesis
validator 0's "block finalized" log records), so the next step can rely on them.
"""

from __future__ import annotations

from harmony_node.types.staking_transaction import StakeMessage, encode_staking_transaction, sign_staking_transaction
from node_cluster import Cluster

GAS_PRICE = 100 * 10**9
GAS_LIMIT = 6_000_000
CHAIN_ID = 2


def count_staking_transactions(cluster: Cluster) -> int:
    """Staking transactions in the beacon blocks genesis validator 0 finalized."""
    return sum(int(str(record.get("staking_txs", 0))) for record in cluster.get_log_records(0)
               if record.get("msg") == "block finalized" and record.get("shard") == 0)


def sign_staking(message: StakeMessage, key: bytes, nonce: int) -> bytes:
    """The encoded staking transaction carrying ``message``, signed by ``key``."""
    tx = sign_staking_transaction(message, nonce=nonce, gas_price=GAS_PRICE, gas_limit=GAS_LIMIT, private_key=key,
                                  chain_id=CHAIN_ID)
    return encode_staking_transaction(tx)


def send_staking_batch(cluster: Cluster, raw_txs: list[bytes], timeout: float = 90) -> None:
    """Gossip ``raw_txs`` to the beacon in one message and wait until blocks include all of them."""
    included = count_staking_transactions(cluster) + len(raw_txs)
    cluster.submit_transactions(0, raw_txs, until=lambda: count_staking_transactions(cluster) >= included,
                                staking=True, timeout=timeout)


def send_staking(cluster: Cluster, message: StakeMessage, key: bytes, nonce: int, timeout: float = 90) -> None:
    """Sign ``message`` with ``key``, gossip it to the beacon and wait until a block includes it."""
    send_staking_batch(cluster, [sign_staking(message, key, nonce)], timeout)
