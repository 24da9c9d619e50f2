"""``hmy-node``: run and inspect a harmony-node full node."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import click

from crypto import bls
from crypto.bls_keyfile import DEFAULT_SCRYPT_N, LIGHT_SCRYPT_N, save_bls_key
from harmony_node.chain.genesis import Genesis, build_genesis_block, get_localnet_genesis, load_genesis
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.exceptions import HarmonyError
from harmony_node.node.config import NodeConfig, apply_overrides, dump_config, load_config
from harmony_node.node.keys import read_passphrase_file

F = TypeVar("F", bound=Callable[..., Any])

# (flag, parameter name, dotted setting, click type, help); the dotted names are the TOML keys.
_NODE_FLAGS: tuple[tuple[str, str, str, Any, str], ...] = (
    ("--datadir", "datadir", "datadir", str, "Data directory (chains, p2p key). Default ./.localnet/node0."),
    ("--genesis", "genesis", "genesis", str, "Genesis JSON file. Default: the built-in localnet."),
    ("--p2p.host", "p2p_host", "p2p.host", str, "Address to listen on for peers. Default 127.0.0.1."),
    ("--p2p.port", "p2p_port", "p2p.port", int, "TCP port for peers. Default 9000."),
    ("--p2p.key-file", "p2p_key_file", "p2p.key_file", str, "Peer identity key. Default <datadir>/p2p.key."),
    ("--shard", "shard", "consensus.shard", int,
     "Shard this node follows and its RPC serves (validators: also their keys' shards)."),
    ("--passphrase-file", "passphrase_file", "consensus.passphrase_file", str,
     "File whose first line unlocks the BLS keys (else asked on the terminal)."),
    ("--block-time-ms", "block_time_ms", "consensus.block_time_ms", int, "Target block time. Default 1000."),
    ("--view-timeout-ms", "view_timeout_ms", "consensus.view_timeout_ms", int,
     "Wait for a block before changing leader. Default 4000."),
    ("--metrics.host", "metrics_host", "metrics.host", str, "Address to serve /metrics on. Default 127.0.0.1."),
    ("--metrics.port", "metrics_port", "metrics.port", int, "Prometheus /metrics port. Default 9900."),
    ("--rpc.host", "rpc_host", "rpc.host", str,
     "Address to serve JSON-RPC on. Default 127.0.0.1 (other machines cannot reach it)."),
    ("--rpc.port", "rpc_port", "rpc.port", int, "JSON-RPC port. Default 9500."),
    ("--log.level", "log_level", "log.level", click.Choice(["debug", "info", "warning", "error"]), "Default info."),
    ("--log.format", "log_format", "log.format", click.Choice(["json", "text"]), "Default json."),
)


def _node_options(command: F) -> F:
    """The flags shared by ``start`` and ``config dump``: a config file, then overrides."""
    for flag, name, _, kind, text in reversed(_NODE_FLAGS):
        command = click.option(flag, name, type=kind, default=None, help=text)(command)
    command = click.option("--rpc.shard-url", "shard_urls", multiple=True,
                           help="Public RPC URL of shard 0, 1, ... in order (repeat; default: the localnet "
                                "layout, port 9500 + 2 x shard).")(command)
    command = click.option("--bootnode", "bootnodes", multiple=True,
                           help="Peer multiaddr to keep connected to (repeat for several).")(command)
    command = click.option("--bls-key", "bls_keys", multiple=True, type=click.Path(dir_okay=False),
                           help="Encrypted BLS key file of this validator (repeat for several).")(command)
    command = click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                           help="TOML config file (see `hmy-node config dump`).")(command)
    # Hidden: fault injection for the e2e tests, which a validator with real stake must never turn on.
    command = click.option("--debug.double-sign", "debug_double_sign", is_flag=True, default=None, hidden=True,
                           help="Also sign a conflicting commit vote with every vote (gets this validator "
                                "slashed and banned).")(command)
    return command


def _build_node_config(config_file: str | None, bootnodes: tuple[str, ...], bls_keys: tuple[str, ...],
                       shard_urls: tuple[str, ...], debug_double_sign: bool | None, **flags: Any) -> NodeConfig:
    overrides: dict[str, object] = {setting: flags[name] for _, name, setting, _, _ in _NODE_FLAGS}
    overrides["p2p.bootnodes"] = list(bootnodes) or None
    overrides["rpc.shard_urls"] = list(shard_urls) or None
    overrides["consensus.bls_key_files"] = list(bls_keys) or None
    overrides["consensus.debug_double_sign"] = debug_double_sign
    try:
        return apply_overrides(load_config(config_file), overrides)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc


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


@main.command("start")
@_node_options
def start_command(config_file: str | None, bootnodes: tuple[str, ...], bls_keys: tuple[str, ...],
                  shard_urls: tuple[str, ...], debug_double_sign: bool | None, **flags: Any) -> None:
    """Run a full node: a validator with --bls-key files, else a non-validating node of --shard.

    Settings come from --config (TOML), then the flags. The node runs until SIGINT or SIGTERM,
    finishing the block it is writing, and restarts from --datadir without losing finalized blocks.
    """
    config = _build_node_config(config_file, bootnodes, bls_keys, shard_urls, debug_double_sign, **flags)
    from harmony_node.node.log import configure_logging
    from harmony_node.node.service import start_node

    configure_logging(config.log.level, config.log.format)
    try:
        start_node(config)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass


@main.group("config")
def config_group() -> None:
    """Inspect the node configuration."""


@config_group.command("dump")
@_node_options
def config_dump(config_file: str | None, bootnodes: tuple[str, ...], bls_keys: tuple[str, ...],
                shard_urls: tuple[str, ...], debug_double_sign: bool | None, **flags: Any) -> None:
    """Print the effective configuration (file plus flags) as TOML; a good start for a config file."""
    config = _build_node_config(config_file, bootnodes, bls_keys, shard_urls, debug_double_sign, **flags)
    click.echo(dump_config(config), nl=False)


@main.group("keys")
def keys_group() -> None:
    """Create and import validator BLS keys and peer identities."""


def _passphrase(passphrase_file: str | None) -> str:
    try:
        if passphrase_file:
            return read_passphrase_file(passphrase_file)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    return str(click.prompt("Passphrase for the key file", hide_input=True, confirmation_prompt=True))


def _write_bls_key(secret: int, out_dir: str, passphrase_file: str | None, light: bool) -> None:
    public_key = bls.secret_to_public(secret)
    path = Path(out_dir) / f"{public_key.hex()}.key"
    if path.exists():
        raise click.ClickException(f"{path} already exists")
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        save_bls_key(path, secret, _passphrase(passphrase_file), scrypt_n=LIGHT_SCRYPT_N if light else DEFAULT_SCRYPT_N)
    except (HarmonyError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"public_key": "0x" + public_key.hex(), "file": str(path)}))


_KEY_OPTIONS = (
    click.option("--out-dir", default=".", type=click.Path(file_okay=False), show_default=True,
                 help="Directory for the <public key>.key file."),
    click.option("--passphrase-file", default=None, type=click.Path(dir_okay=False),
                 help="Encrypt with the first line of this file (else asked twice)."),
    click.option("--light", is_flag=True,
                 help="Cheap encryption (scrypt n=2**12) for throwaway localnet keys; never for real stake."),
)


def _key_options(command: F) -> F:
    for option in reversed(_KEY_OPTIONS):
        command = option(command)
    return command


@keys_group.command("generate-bls")
@_key_options
def generate_bls(out_dir: str, passphrase_file: str | None, light: bool) -> None:
    """Create a new BLS key and save it encrypted; prints its public key and file."""
    _write_bls_key(bls.generate_secret_key(), out_dir, passphrase_file, light)


@keys_group.command("import-bls")
@click.argument("secret_file", type=click.File("r"))
@_key_options
def import_bls(secret_file: Any, out_dir: str, passphrase_file: str | None, light: bool) -> None:
    """Encrypt an existing BLS secret key (hex, in SECRET_FILE, or - for stdin) into a key file."""
    try:
        secret = bls.secret_key_from_bytes(bytes.fromhex(secret_file.read().strip().removeprefix("0x")))
    except (ValueError, HarmonyError) as exc:
        raise click.ClickException(f"not a BLS secret key: {exc}") from exc
    _write_bls_key(secret, out_dir, passphrase_file, light)


@keys_group.command("generate-p2p")
@click.argument("key_file", type=click.Path(dir_okay=False))
def generate_p2p(key_file: str) -> None:
    """Create (or read) a peer identity key file and print its peer id, for bootnode addresses."""
    from harmony_node.p2p.identity import get_peer_id

    try:
        click.echo(get_peer_id(key_file))
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc


# --- localnet (DESIGN.md §4); the logic is in harmony_node.node.localnet --------------------------------------


def _datadir_option(command: F) -> F:
    return click.option("--datadir", default="./.localnet", show_default=True, type=click.Path(file_okay=False),
                        help="Directory of the localnet (several can live side by side).")(command)


@main.group("localnet")
def localnet_group() -> None:
    """Run a local multi-shard network: validators and an RPC node per shard, as separate processes."""


@localnet_group.command("up")
@_datadir_option
@click.option("--shards", type=click.IntRange(min=1), default=None,
              help="Number of chains, beacon included. Default 3 (new localnet only).")
@click.option("--validators-per-shard", type=click.IntRange(min=1), default=None,
              help="Validator nodes per chain. Default 4 (new localnet only).")
@click.option("--block-time", "block_time_ms", type=click.IntRange(min=100), default=None,
              help="Target block time in ms. Default 1000 (new localnet only).")
@click.option("--epoch-blocks", type=click.IntRange(min=1), default=None,
              help="Blocks per epoch (written into the genesis). Default 16 (new localnet only).")
@click.option("--base-port", type=click.IntRange(min=1, max=65535), default=None,
              help="Shift every port range so that validator 0 listens on this p2p port. Default 9000.")
@click.option("--netns", "use_netns", is_flag=True,
              help="Run each node as a host of its own: a Linux network namespace at 10.213.n.k behind a bridge "
                   "(needs root; new localnet only). Lets `localnet link` and `partition` cut the network.")
@click.option("--foreground", is_flag=True, help="Stay attached; Ctrl-C stops the localnet.")
def localnet_up(datadir: str, shards: int | None, validators_per_shard: int | None, block_time_ms: int | None,
                epoch_blocks: int | None, base_port: int | None, use_netns: bool, foreground: bool) -> None:
    """Create the localnet if DATADIR holds none, then start every node that is not running.

    Nodes run detached and keep running after this command returns; running `up` again restarts only
    nodes that stopped. Options other than --datadir and --foreground apply when the localnet is created.
    """
    from harmony_node.node import localnet

    requested = {"shards": shards, "validators_per_shard": validators_per_shard, "block_time_ms": block_time_ms,
                 "epoch_blocks": epoch_blocks, "base_port": base_port}
    try:
        result = localnet.up(Path(datadir), requested, use_netns=use_netns)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    net = result.localnet
    if result.created:
        click.echo(f"created localnet in {net.root}: {net.settings.shards} shards x "
                   f"{net.settings.validators_per_shard} validators + 1 RPC node each")
    click.echo(f"started {len(result.started)} nodes: {', '.join(result.started)}")
    if result.already_running:
        click.echo(f"left running: {', '.join(result.already_running)}")
    if result.not_ready:
        click.echo(f"still starting (not serving metrics yet): {', '.join(result.not_ready)}")
    rpc = ", ".join(f"shard {n.shard} {n.rpc_url}" for n in net.nodes if n.role == "rpc")
    click.echo(f"RPC nodes: {rpc}")
    if foreground:
        click.echo("running in the foreground; Ctrl-C stops the localnet")
        localnet.run_in_foreground(net)
        click.echo("localnet stopped")
    else:
        click.echo(f"`hmy-node localnet status --datadir {datadir}` shows the chains; `down` stops them")


@localnet_group.command("add-validator")
@_datadir_option
@click.option("--bls-key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Encrypted BLS key file of the validator (as `hmy-node keys generate-bls` writes it).")
@click.option("--passphrase-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="File whose first line unlocks the key.")
def localnet_add_validator(datadir: str, key_file: str, passphrase_file: str) -> None:
    """Run a node for a BLS key of your own in the localnet, next to its own nodes.

    For a validator created with `hmy staking create-validator`: the node signs once the beacon
    elects the key (at the end of an epoch). `down`, `up` and `reset` treat it like the others.
    """
    from harmony_node.node import localnet

    try:
        node, ready = localnet.add_validator(Path(datadir), Path(key_file), Path(passphrase_file))
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"started {node.name} for BLS key {node.bls_public_key} (p2p {node.p2p_port}, rpc {node.rpc_port}, "
               f"metrics {node.metrics_port})")
    if not ready:
        click.echo(f"{node.name} is still starting (not serving metrics yet)")


@localnet_group.command("link")
@_datadir_option
@click.argument("node")
@click.argument("state", type=click.Choice(["down", "up"]))
def localnet_link(datadir: str, node: str, state: str) -> None:
    """Pull out (down) or plug back in (up) the network cable of NODE (a --netns localnet)."""
    from harmony_node.node import localnet

    try:
        spec = localnet.set_node_link(Path(datadir), node, state == "up")
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{spec.name} ({spec.host}): link {state}")


@localnet_group.command("partition")
@_datadir_option
@click.argument("groups", nargs=-1, required=True)
def localnet_partition(datadir: str, groups: tuple[str, ...]) -> None:
    """Cut the network between GROUPS of nodes (a --netns localnet), e.g. `s0-v0,s0-v1 s0-v2,s0-v3`.

    Each group is a comma-separated list of node names; nodes of different groups no longer reach
    each other, nodes in no group reach everyone. Replaces any earlier partition; `heal` ends it.
    """
    from harmony_node.node import localnet

    names = [[name for name in group.split(",") if name] for group in groups]
    try:
        localnet.set_partition(Path(datadir), names)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("partitioned: " + " | ".join(", ".join(group) for group in names))


@localnet_group.command("heal")
@_datadir_option
def localnet_heal(datadir: str) -> None:
    """End every partition and plug every cable back in (a --netns localnet)."""
    from harmony_node.node import localnet

    try:
        localnet.set_partition(Path(datadir), [])
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("healed: every node reaches every other")


@localnet_group.command("status")
@_datadir_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object (for scripts).")
@click.option("--watch", is_flag=True, help="Refresh every 2 s until Ctrl-C.")
def localnet_status(datadir: str, as_json: bool, watch: bool) -> None:
    """Per chain: height, epoch, leader, view and peers; per node: pid, ports and whether it runs."""
    import time

    from harmony_node.node import localnet

    try:
        net = localnet.require_localnet(Path(datadir))
        while True:
            status = localnet.get_status(net)
            if as_json:
                click.echo(json.dumps(status))
            else:
                if watch:
                    click.clear()
                click.echo(localnet.format_status(status))
            if not watch:
                return
            time.sleep(2)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass


@localnet_group.command("logs")
@_datadir_option
@click.argument("node")
@click.option("--lines", "-n", type=click.IntRange(min=0), default=50, show_default=True, help="Lines to print.")
def localnet_logs(datadir: str, node: str, lines: int) -> None:
    """Print the end of NODE's log (node names as in `status`, e.g. s0-v1 or s1-rpc)."""
    from harmony_node.node import localnet

    try:
        text = localnet.tail_log(localnet.require_localnet(Path(datadir)), node, lines)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    if text:
        click.echo(text)


@localnet_group.command("down")
@_datadir_option
def localnet_down(datadir: str) -> None:
    """Stop every node (SIGTERM, SIGKILL after 20 s); chains and keys stay for the next `up`."""
    from harmony_node.node import localnet

    try:
        stopped, killed = localnet.down(Path(datadir))
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    if not stopped and not killed:
        click.echo("no node was running")
        return
    click.echo(f"stopped {len(stopped)} nodes")
    if killed:
        click.echo(f"killed after the deadline (check their logs): {', '.join(killed)}")


@localnet_group.command("reset")
@_datadir_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def localnet_reset(datadir: str, yes: bool) -> None:
    """Stop the localnet and delete DATADIR with every chain and key in it."""
    from harmony_node.node import localnet

    try:
        net = localnet.require_localnet(Path(datadir))
        if not yes:
            click.confirm(f"delete {net.root} and every chain in it?", abort=True)
        localnet.reset(net.root)
    except HarmonyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"deleted {net.root}")
