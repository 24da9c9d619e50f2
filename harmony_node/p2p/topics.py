"""Harmony's pubsub topic names and sync stream protocol ids.

Peers only meet on a topic if they spell it byte for byte the same, so the names follow Harmony's
``internal/configs/node/group.go`` and ``p2p/stream/types/utils.go`` exactly (reference §8).
"""

from __future__ import annotations

from enum import Enum

from harmony_node.exceptions import ValidationError

TOPIC_VERSION = "0.0.1"
BEACON_SHARD = 0
MAX_SHARD_ID = 2**32 - 1


class Network(Enum):
    """A network and its topic prefix; the name (``network.name.lower()``) goes into sync protocol ids."""

    MAINNET = "harmony"
    TESTNET = "hmy/testnet"
    LOCALNET = "hmy/local"
    DEVNET = "hmy/devnet"
    PANGAEA = "hmy/pangaea"
    PARTNER = "hmy/partner"
    STRESSNET = "hmy/stressnet"

    @property
    def prefix(self) -> str:
        return self.value

    @property
    def type_name(self) -> str:
        """Harmony's NetworkType string (``mainnet``, ``localnet``...), used in stream protocol ids."""
        return self.name.lower()


def _check_shard(shard_id: int) -> None:
    # bool is an int; a True shard id is a caller bug, not shard 1.
    if type(shard_id) is not int or not 0 <= shard_id <= MAX_SHARD_ID:
        raise ValidationError(f"shard id must be an integer in [0, 2**32-1], got {shard_id!r}")


def _group(network: Network, audience: str, shard_id: int) -> str:
    _check_shard(shard_id)
    where = "beacon" if shard_id == BEACON_SHARD else f"shard/{shard_id}"
    return f"{network.prefix}/{TOPIC_VERSION}/{audience}/{where}"


def node_topic(network: Network, shard_id: int) -> str:
    """The consensus-bound topic of a shard: blocks, votes and txs of that shard's validators."""
    return _group(network, "node", shard_id)


def client_topic(network: Network, shard_id: int) -> str:
    """The client topic of a shard; every node follows the beacon's to receive new beacon blocks."""
    return _group(network, "client", shard_id)


def sync_protocol_id(network: Network, shard_id: int, service: str = "sync", version: str = "1.0.0") -> str:
    """The stream protocol id of Harmony's staged sync, e.g. ``harmony/sync/localnet/0/1.0.0``."""
    _check_shard(shard_id)
    if not service or "/" in service or not version or "/" in version:
        raise ValidationError("service and version must be non-empty and contain no '/'")
    return f"harmony/{service}/{network.type_name}/{shard_id}/{version}"
