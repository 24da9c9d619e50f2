"""``hmy``: the client CLI for accounts, transfers, staking and chain queries (go-sdk's command tree).

The root group holds the global options and turns every expected failure (a HarmonyError: a node
error, an unreachable node, a wrong passphrase, a refused input) into one ``Error: …`` line on
stderr and exit status 1; click's usage errors exit with 2.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import click

from cli.blockchain_commands import balances_command, blockchain_group
from cli.client_context import ClientContext
from cli.keys_commands import keys_group
from cli.rpc_client import DEFAULT_NODE, DEFAULT_TIMEOUT_SECONDS, normalize_node_url
from cli.staking_commands import staking_group
from cli.transfer_command import transfer_command
from cli.utility_commands import utility_group
from harmony_node.exceptions import HarmonyError, ValidationError


class _ClientGroup(click.Group):
    """The root group: expected failures of any subcommand become one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarmonyError as exc:
            raise click.ClickException(str(exc)) from exc


def _parse_node(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return normalize_node_url(value)
    except ValidationError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


@click.group(cls=_ClientGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version("harmony-node"), prog_name="hmy")
@click.option("--node", "-n", default=DEFAULT_NODE, show_default=True, callback=_parse_node,
              help="RPC endpoint of a node; a bare host means http://HOST:9500.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of readable text.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT_SECONDS,
              show_default=True, help="Seconds each request to a node may take.")
@click.pass_context
def main(ctx: click.Context, node: str, as_json: bool, timeout: float) -> None:
    """hmy: talk to a harmony-node network."""
    ctx.obj = ClientContext(node=node, as_json=as_json, timeout=timeout)


for _command in (keys_group, balances_command, transfer_command, staking_group, blockchain_group, utility_group):
    main.add_command(_command)
