"""The network behind ``--node``: each shard's RPC endpoint, the chain id, an account's nonce.

A node lists every shard's endpoint in ``hmyv2_getShardingStructure``; a command that works on
shard s asks the ``--node`` node once and then talks to shard s's endpoint (the ``--node`` node
itself when it reports that shard as ``current``, so the host name the user typed keeps working).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.rpc_client import RpcClient, RpcError
from crypto.address import to_bech32
from harmony_node.exceptions import ValidationError


@dataclass(frozen=True, slots=True)
class ShardEndpoint:
    """One entry of ``hmyv2_getShardingStructure``."""

    shard_id: int
    http: str
    is_current: bool


def decode_int(value: Any, client: RpcClient, what: str) -> int:
    """A number from a node: a JSON integer (hmyv2_), or hex / decimal text (hmy_)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            pass
    raise RpcError(client.url, f"{what} is not a number: {value!r}")


def decode_sharding_structure(result: Any, client: RpcClient) -> tuple[ShardEndpoint, ...]:
    """The shards of ``hmyv2_getShardingStructure``'s result, ordered by shard id."""
    if not isinstance(result, list) or not result:
        raise RpcError(client.url, "hmyv2_getShardingStructure returned no shards")
    shards = []
    for entry in result:
        if not isinstance(entry, dict) or not isinstance(entry.get("http"), str):
            raise RpcError(client.url, f"hmyv2_getShardingStructure entry without an http endpoint: {entry!r}")
        shard_id = decode_int(entry.get("shardID"), client, "shardID")
        shards.append(ShardEndpoint(shard_id, entry["http"], entry.get("current") is True))
    return tuple(sorted(shards, key=lambda shard: shard.shard_id))


class Network:
    """The shards reachable through one node; the sharding structure is asked for at most once."""

    def __init__(self, client: RpcClient) -> None:
        self.client = client
        self._shards: tuple[ShardEndpoint, ...] | None = None

    def get_shards(self) -> tuple[ShardEndpoint, ...]:
        """Every shard's endpoint (``hmyv2_getShardingStructure``)."""
        if self._shards is None:
            self._shards = decode_sharding_structure(self.client.call("hmyv2_getShardingStructure", []), self.client)
        return self._shards

    def get_shard_client(self, shard_id: int) -> RpcClient:
        """A client for shard ``shard_id``'s RPC node; ValidationError if the network has no such shard."""
        shards = self.get_shards()
        for shard in shards:
            if shard.shard_id == shard_id:
                return self.client if shard.is_current else RpcClient(shard.http, self.client.timeout)
        known = ", ".join(str(shard.shard_id) for shard in shards)
        raise ValidationError(f"shard {shard_id} does not exist: the network has shards {known}")


def get_chain_id(client: RpcClient) -> int:
    """The Harmony chain id the node's network signs with (``hmy_chainId``)."""
    return decode_int(client.call("hmy_chainId", []), client, "hmy_chainId")


def get_pending_nonce(client: RpcClient, address: bytes) -> int:
    """The next nonce of ``address``, counting its transactions still in the pool."""
    result = client.call("hmyv2_getTransactionCount", [to_bech32(address), "pending"])
    return decode_int(result, client, "hmyv2_getTransactionCount")
