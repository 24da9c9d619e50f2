"""``hmy``: the client CLI for accounts, transfers, staking and chain queries."""

from __future__ import annotations

from importlib.metadata import version

import click

from crypto.address import from_bech32, parse_address, to_bech32, to_checksum_hex
from harmony_node.exceptions import InvalidAddress


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version("harmony-node"), prog_name="hmy")
def main() -> None:
    """hmy: talk to a harmony-node network."""


@main.group()
def utility() -> None:
    """Offline helpers: address conversions."""


@utility.command("addr-to-bech32")
@click.argument("address")
def addr_to_bech32(address: str) -> None:
    """Print the one1… form of a 0x… address."""
    try:
        click.echo(to_bech32(parse_address(address)))
    except InvalidAddress as exc:
        raise click.ClickException(str(exc)) from exc


@utility.command("bech32-to-addr")
@click.argument("address")
def bech32_to_addr(address: str) -> None:
    """Print the 0x… (EIP-55 checksummed) form of a one1… address."""
    try:
        click.echo(to_checksum_hex(from_bech32(address)))
    except InvalidAddress as exc:
        raise click.ClickException(str(exc)) from exc
