"""``hmy transfer``: sign a plain transfer with a stored account and send it to the source shard.

A cross-shard transfer (``--from-shard`` ≠ ``--to-shard``) is debited on the source shard and
credited on the destination shard once that shard includes the receipt (reference §5); ``--wait``
waits for both.
"""

from __future__ import annotations

import click

from cli.client_context import ClientContext, pass_client_context
from cli.denominations import format_one
from cli.network import Network
from cli.param_types import ADDRESS, HEX_DATA, ONE_AMOUNT
from cli.submission import (
    SignedTransaction,
    SigningOptions,
    deliver,
    get_nonce_and_chain_id,
    signing_options,
    summarize_fees,
    unlock_signer,
)
from crypto.address import to_bech32
from harmony_node.chain.gas import compute_intrinsic_gas
from harmony_node.types.transaction import MAX_SHARD_ID, encode_transaction, sign_transaction

_SHARD = click.IntRange(0, MAX_SHARD_ID)


@click.command("transfer")
@click.option("--from", "sender", type=ADDRESS, required=True,
              help="Sender's address; its key must be in the keystore (hmy keys list).")
@click.option("--to", "recipient", type=ADDRESS, required=True, help="Recipient's address.")
@click.option("--amount", type=ONE_AMOUNT, required=True, help="Amount in ONE (up to 18 decimals).")
@click.option("--from-shard", type=_SHARD, required=True, help="Shard the amount leaves from.")
@click.option("--to-shard", type=_SHARD, required=True, help="Shard the amount arrives on.")
@click.option("--data", type=HEX_DATA, default="", help="Hex data to carry (adds 4/16 gas per zero/other byte).")
@signing_options
@pass_client_context
def transfer_command(
    context: ClientContext, sender: bytes, recipient: bytes, amount: int, from_shard: int, to_shard: int,
    data: bytes, signing: SigningOptions,
) -> None:
    """Send AMOUNT ONE from one address to another, on one shard or across shards."""
    private_key = unlock_signer(sender, signing)
    network = None if signing.offline_sign else Network(context.get_client())
    client = network.get_shard_client(from_shard) if network else None
    destination = network.get_shard_client(to_shard) if network else None
    nonce, chain_id = get_nonce_and_chain_id(client, sender, signing)
    gas_limit = signing.gas_limit if signing.gas_limit is not None else compute_intrinsic_gas(data)
    tx = sign_transaction(
        nonce=nonce, gas_price=signing.gas_price, gas_limit=gas_limit, shard_id=from_shard, to_shard_id=to_shard,
        to=recipient, value=amount, data=data, private_key=private_key, chain_id=chain_id,
    )
    summary = {
        "from": to_bech32(sender), "to": to_bech32(recipient), "from_shard": from_shard, "to_shard": to_shard,
        "amount": format_one(amount), **summarize_fees(nonce, chain_id, signing.gas_price, gas_limit),
    }
    signed = SignedTransaction(encode_transaction(tx), tx.hash, "hmyv2_sendRawTransaction", summary)
    deliver(context, signing, client, signed, destination if from_shard != to_shard else None)
