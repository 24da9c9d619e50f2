"""``hmy utility``: address conversions (offline) and questions about the node and the network."""

from __future__ import annotations

import click

from cli.client_context import ClientContext, emit, emit_node_result, pass_client_context
from cli.network import decode_sharding_structure
from crypto.address import from_bech32, parse_address, to_bech32, to_checksum_hex


@click.group("utility")
def utility_group() -> None:
    """Address conversions, the shards' endpoints, node metadata, pending cross-shard work."""


@utility_group.command("addr-to-bech32")
@click.argument("address")
def addr_to_bech32(address: str) -> None:
    """Print the one1… form of a 0x… address."""
    click.echo(to_bech32(parse_address(address)))


@utility_group.command("bech32-to-addr")
@click.argument("address")
def bech32_to_addr(address: str) -> None:
    """Print the 0x… (EIP-55 checksummed) form of a one1… address."""
    click.echo(to_checksum_hex(from_bech32(address)))


@utility_group.command("shards")
@pass_client_context
def utility_shards(context: ClientContext) -> None:
    """List every shard's RPC endpoint (hmyv2_getShardingStructure)."""
    client = context.get_client()
    result = client.call("hmyv2_getShardingStructure", [])
    shards = decode_sharding_structure(result, client)
    lines = [f"shard {s.shard_id}: {s.http}" + ("  (this node)" if s.is_current else "") for s in shards]
    emit(context, result, "\n".join(lines))


@utility_group.command("metadata")
@pass_client_context
def utility_metadata(context: ClientContext) -> None:
    """Show the node's version, network, shard, role and chain config."""
    emit_node_result(context, context.get_client().call("hmyv2_getNodeMetadata", []))


@utility_group.command("pending-crosslinks")
@pass_client_context
def utility_pending_crosslinks(context: ClientContext) -> None:
    """List the crosslinks the beacon chain has received but not yet included."""
    emit_node_result(context, context.get_client().call("hmy_getPendingCrossLinks", []))


@utility_group.command("pending-cx-receipts")
@pass_client_context
def utility_pending_cx_receipts(context: ClientContext) -> None:
    """List cross-shard receipts waiting to be credited on this node's shard."""
    emit_node_result(context, context.get_client().call("hmyv2_getPendingCXReceipts", []))
