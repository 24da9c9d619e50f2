"""``hmy balances`` and ``hmy blockchain``: read-only questions to a node, answered as the node sends them.

Each command is one Harmony ``hmyv2_*`` method (reference §9) on the ``--node`` node, except
``balances``, which asks every shard. Staking queries go to ``--node`` as go-sdk sends them; every
node follows the beacon chain, where staking state lives.
"""

from __future__ import annotations

from typing import Any

import click

from cli.client_context import ClientContext, emit, emit_node_result, pass_client_context
from cli.denominations import format_one
from cli.network import Network, decode_int
from cli.param_types import ADDRESS, TX_HASH, ParamTypeBase
from crypto.address import to_bech32
from harmony_node.exceptions import NotFound


class BlockNumberType(ParamTypeBase):
    """``latest`` or a block number."""

    name = "number|latest"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int) or value == "latest":
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        self.fail(f"{value!r} is neither a block number nor 'latest'", param, ctx)


def _call_and_emit(context: ClientContext, method: str, params: list[Any], missing: str | None = None) -> None:
    """Print ``method(params)``; a null answer is NotFound when ``missing`` describes what was asked for."""
    client = context.get_client()
    result = client.call(method, params)
    if result is None and missing is not None:
        raise NotFound(f"node {client.url}: {missing} not found")
    emit_node_result(context, result)


@click.command("balances")
@click.argument("address", type=ADDRESS)
@pass_client_context
def balances_command(context: ClientContext, address: bytes) -> None:
    """Show ADDRESS's balance on every shard, in ONE."""
    network = Network(context.get_client())
    rows = []
    for shard in network.get_shards():
        client = network.get_shard_client(shard.shard_id)
        atto = decode_int(client.call("hmyv2_getBalance", [to_bech32(address)]), client, "hmyv2_getBalance")
        rows.append({"shard": shard.shard_id, "amount": format_one(atto), "atto": str(atto)})
    emit(context, rows, "\n".join(f"shard {row['shard']}: {row['amount']} ONE" for row in rows))


@click.group("blockchain")
def blockchain_group() -> None:
    """Read blocks, transactions, validators and delegations from the node."""


@blockchain_group.command("block")
@click.argument("number", type=BlockNumberType())
@click.option("--full", is_flag=True, help="Include whole transactions (plain and staking), not only hashes.")
@pass_client_context
def blockchain_block(context: ClientContext, number: int | str, full: bool) -> None:
    """Show block NUMBER (or the latest block)."""
    options = {"fullTx": full, "inclStaking": full, "withSigners": False}
    _call_and_emit(context, "hmyv2_getBlockByNumber", [number, options], f"block {number}")


@blockchain_group.command("transaction")
@click.argument("tx_hash", metavar="HASH", type=TX_HASH)
@pass_client_context
def blockchain_transaction(context: ClientContext, tx_hash: bytes) -> None:
    """Show a plain or staking transaction by HASH (pending or in a block)."""
    client = context.get_client()
    text = "0x" + tx_hash.hex()
    # One hash space for both kinds, as a user sees it; the node keeps them apart.
    result = client.call("hmyv2_getTransactionByHash", [text])
    if result is None:
        result = client.call("hmyv2_getStakingTransactionByHash", [text])
    if result is None:
        raise NotFound(f"node {client.url}: transaction {text} not found")
    emit_node_result(context, result)


@blockchain_group.command("receipt")
@click.argument("tx_hash", metavar="HASH", type=TX_HASH)
@pass_client_context
def blockchain_receipt(context: ClientContext, tx_hash: bytes) -> None:
    """Show the receipt of transaction HASH (absent until it is in a block)."""
    text = "0x" + tx_hash.hex()
    _call_and_emit(context, "hmyv2_getTransactionReceipt", [text], f"receipt of {text}")


@blockchain_group.command("cx-receipt")
@click.argument("tx_hash", metavar="HASH", type=TX_HASH)
@pass_client_context
def blockchain_cx_receipt(context: ClientContext, tx_hash: bytes) -> None:
    """Show the credit of cross-shard transfer HASH; ask the destination shard's node."""
    text = "0x" + tx_hash.hex()
    _call_and_emit(context, "hmyv2_getCXReceiptByHash", [text], f"cross-shard receipt of {text}")


@blockchain_group.command("latest-header")
@pass_client_context
def blockchain_latest_header(context: ClientContext) -> None:
    """Show the header of the node's latest block."""
    _call_and_emit(context, "hmyv2_latestHeader", [])


@blockchain_group.command("median-stake")
@pass_client_context
def blockchain_median_stake(context: ClientContext) -> None:
    """Show the median raw stake of the last election and the candidates' stakes."""
    _call_and_emit(context, "hmyv2_getMedianRawStakeSnapshot", [])


@blockchain_group.command("committees")
@pass_client_context
def blockchain_committees(context: ClientContext) -> None:
    """Show the current and previous epoch's committees of every shard."""
    _call_and_emit(context, "hmyv2_getSuperCommittees", [])


@blockchain_group.command("pool")
@pass_client_context
def blockchain_pool(context: ClientContext) -> None:
    """Show how many transactions wait in the node's pool."""
    _call_and_emit(context, "hmyv2_getPoolStats", [])


@blockchain_group.command("gas-price")
@pass_client_context
def blockchain_gas_price(context: ClientContext) -> None:
    """Show the gas price the node suggests, in atto."""
    _call_and_emit(context, "hmyv2_gasPrice", [])


@blockchain_group.group("validator")
def validator_group() -> None:
    """Validators: one's record, all of them, the elected ones."""


@validator_group.command("information")
@click.argument("address", type=ADDRESS)
@pass_client_context
def validator_information(context: ClientContext, address: bytes) -> None:
    """Show validator ADDRESS: its record, delegations, status and earnings."""
    _call_and_emit(context, "hmyv2_getValidatorInformation", [to_bech32(address)], f"validator {to_bech32(address)}")


@validator_group.command("all")
@pass_client_context
def validator_all(context: ClientContext) -> None:
    """List every validator's address."""
    _call_and_emit(context, "hmyv2_getAllValidatorAddresses", [])


@validator_group.command("elected")
@pass_client_context
def validator_elected(context: ClientContext) -> None:
    """List the validators elected for the current epoch."""
    _call_and_emit(context, "hmyv2_getElectedValidatorAddresses", [])


@blockchain_group.group("delegation")
def delegation_group() -> None:
    """Delegations: of one delegator, or to one validator."""


@delegation_group.command("by-delegator")
@click.argument("address", type=ADDRESS)
@pass_client_context
def delegation_by_delegator(context: ClientContext, address: bytes) -> None:
    """List ADDRESS's delegations, with their rewards and pending undelegations."""
    _call_and_emit(context, "hmyv2_getDelegationsByDelegator", [to_bech32(address)])


@delegation_group.command("by-validator")
@click.argument("address", type=ADDRESS)
@pass_client_context
def delegation_by_validator(context: ClientContext, address: bytes) -> None:
    """List the delegations to validator ADDRESS."""
    _call_and_emit(context, "hmyv2_getDelegationsByValidator", [to_bech32(address)])
