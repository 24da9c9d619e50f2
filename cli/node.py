"""``hmy-node``: run and inspect a harmony-node full node."""

from __future__ import annotations

import json
from importlib.metadata import version

import click

from harmony_node.chain.genesis import Genesis, build_genesis_block, get_localnet_genesis, load_genesis
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.exceptions import HarmonyError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version("harmony-node"), prog_name="hmy-node")
def main() -> None:
    """harmony-node: a Harmony-style sharded proof-of-stake full node."""


@main.command("genesis")
@click.option(
    "--file",
    "genesis_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Genesis JSON file (default: the built-in localnet genesis).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def genesis_command(genesis_file: str | None, as_json: bool) -> None:
    """Show each shard's genesis block hash and state root for a genesis file.

    Nodes of one network must agree on these; compare them before connecting nodes.
    """
    try:
        genesis: Genesis = load_genesis(genesis_file) if genesis_file else get_localnet_genesis()
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    shards = []
    for shard_id in range(genesis.config.num_shards):
        block = build_genesis_block(genesis, shard_id, MemoryStore(), WriteBatch())
        shards.append(
            {
                "shard": shard_id,
                "hash": "0x" + block.header.hash.hex(),
                "state_root": "0x" + block.header.state_root.hex(),
            }
        )
    if as_json:
        click.echo(json.dumps({"network": genesis.network, "chain_id": genesis.config.chain_id, "shards": shards}))
        return
    click.echo(f"network {genesis.network}, chain id {genesis.config.chain_id}, {len(genesis.alloc)} funded accounts")
    for shard in shards:
        click.echo(f"shard {shard['shard']}: genesis {shard['hash']}  state root {shard['state_root']}")
