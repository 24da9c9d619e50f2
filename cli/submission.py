"""Sign a transaction with a stored account, then show it (``--dry-run``, ``--offline-sign``) or send it.

Shared by ``transfer`` and the ``staking`` commands. Everything that can be checked locally (the
signer's key, its passphrase, the options) is checked before the network is asked anything.
``--offline-sign`` never touches the network, so it needs ``--nonce`` and ``--chain-id``.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click

from cli.client_context import ClientContext, emit
from cli.confirmation import wait_for_cross_shard_credit, wait_for_receipt
from cli.denominations import ATTO_PER_GWEI, GWEI_DECIMALS, format_units
from cli.keystore_dir import find_account_by_address, unlock_account
from cli.network import get_chain_id, get_pending_nonce
from cli.param_types import CHAIN_ID, GWEI
from cli.passphrase import get_passphrase, passphrase_options
from cli.rpc_client import RpcClient, RpcError
from crypto.address import to_bech32

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_GAS_PRICE = 100 * ATTO_PER_GWEI
"""Harmony's transaction pool floor (``PriceLimit`` 100 Gwei) and go-sdk's default."""
DEFAULT_WAIT_SECONDS = 40.0
"""go-sdk's ``--timeout`` for a transfer confirmation."""


@dataclass(frozen=True, slots=True)
class SigningOptions:
    """The options every signing command takes."""

    nonce: int | None
    chain_id: int | None
    gas_price: int
    gas_limit: int | None
    dry_run: bool
    offline_sign: bool
    wait: bool
    wait_timeout: float
    passphrase_file: str | None
    no_passphrase: bool

    @property
    def is_sending(self) -> bool:
        """Whether the signed transaction goes to a node (neither a dry run nor offline signing)."""
        return not (self.dry_run or self.offline_sign)


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A signed transaction, ready to print or send."""

    raw: bytes
    hash: bytes
    send_method: str
    """``hmyv2_sendRawTransaction`` or ``hmyv2_sendRawStakingTransaction``."""
    summary: dict[str, Any]
    """What was signed, in the units people read (addresses as one1…, amounts in ONE)."""


_SIGNING_OPTIONS = (
    click.option("--nonce", type=click.IntRange(min=0), default=None,
                 help="Nonce to sign with. Default: the account's next nonce, asked from the node."),
    click.option("--chain-id", type=CHAIN_ID, default=None,
                 help="mainnet, testnet, localnet, … or a number. Default: asked from the node (hmy_chainId)."),
    click.option("--gas-price", type=GWEI, default=DEFAULT_GAS_PRICE,
                 help="Gas price in Gwei (nano ONE).  [default: 100]"),
    click.option("--gas-limit", type=click.IntRange(min=1), default=None,
                 help="Gas limit. Default: the transaction's intrinsic gas."),
    click.option("--dry-run", is_flag=True, help="Sign and print the raw transaction and its hash; do not send it."),
    click.option("--offline-sign", is_flag=True,
                 help="Like --dry-run but never contacts a node; needs --nonce and --chain-id."),
    click.option("--wait", is_flag=True, help="After sending, wait until the transaction is in a block."),
    click.option("--timeout", "wait_timeout", type=click.FloatRange(min=0), default=DEFAULT_WAIT_SECONDS,
                 show_default=True, help="Seconds --wait waits for confirmation."),
)


def signing_options(command: F) -> F:
    """Add the signing options to ``command``; it receives them as one ``signing: SigningOptions``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signing = SigningOptions(**{field.name: kwargs.pop(field.name) for field in dataclasses.fields(SigningOptions)})
        if signing.offline_sign and (signing.nonce is None or signing.chain_id is None):
            raise click.UsageError("--offline-sign needs --nonce and --chain-id (it never asks a node)")
        if signing.dry_run and signing.offline_sign:
            raise click.UsageError("give --dry-run or --offline-sign, not both")
        if signing.wait and not signing.is_sending:
            raise click.UsageError("--wait waits for a sent transaction; it cannot go with --dry-run or --offline-sign")
        return command(*args, signing=signing, **kwargs)

    for option in reversed(_SIGNING_OPTIONS):
        wrapper = option(wrapper)
    return cast(F, passphrase_options(wrapper))


def unlock_signer(address: bytes, signing: SigningOptions) -> bytes:
    """The private key of the stored account with ``address``; KeystoreError if absent or locked."""
    account = find_account_by_address(address)
    passphrase = get_passphrase(signing.passphrase_file, signing.no_passphrase,
                                f"{account.name} ({to_bech32(account.address)})")
    return unlock_account(account, passphrase)


def get_nonce_and_chain_id(client: RpcClient | None, address: bytes, signing: SigningOptions) -> tuple[int, int]:
    """The nonce and chain id to sign with: as given, else asked from ``client`` (None when offline)."""
    if signing.nonce is not None and signing.chain_id is not None:
        return signing.nonce, signing.chain_id
    if client is None:  # signing_options refuses --offline-sign without both; this keeps the promise local
        raise click.UsageError("signing offline needs --nonce and --chain-id")
    nonce = signing.nonce if signing.nonce is not None else get_pending_nonce(client, address)
    chain_id = signing.chain_id if signing.chain_id is not None else get_chain_id(client)
    return nonce, chain_id


def summarize_fees(nonce: int, chain_id: int, gas_price: int, gas_limit: int) -> dict[str, Any]:
    """The fee and replay-protection fields of a summary."""
    return {"nonce": nonce, "chain_id": chain_id, "gas_price_gwei": format_units(gas_price, GWEI_DECIMALS),
            "gas_limit": gas_limit}


def deliver(
    context: ClientContext,
    signing: SigningOptions,
    client: RpcClient | None,
    signed: SignedTransaction,
    destination: RpcClient | None = None,
) -> None:
    """Print ``signed`` (dry run, offline) or send it with ``client``; with --wait, wait for its receipt,
    then, for a cross-shard transfer, for the credit on the ``destination`` shard's node."""
    tx_hash = "0x" + signed.hash.hex()
    document: dict[str, Any] = {"hash": tx_hash, "sent": False, **signed.summary, "raw": "0x" + signed.raw.hex()}
    if not signing.is_sending or client is None:
        emit(context, document, f"signed, not sent: {tx_hash}\nraw: {document['raw']}")
        return
    deadline = time.monotonic() + signing.wait_timeout
    node_hash = client.call(signed.send_method, [document["raw"]])
    if not isinstance(node_hash, str) or node_hash.lower() != tx_hash:
        # The hash is keccak256 of the bytes sent; another answer means the node read something else.
        raise RpcError(client.url, f"accepted transaction {tx_hash} but reported its hash as {node_hash!r}")
    document["sent"] = True
    lines = [f"sent {tx_hash} to {client.url}"]
    if signing.wait:
        if not context.as_json:
            click.echo(lines.pop())  # say it was sent before the wait starts
        receipt = wait_for_receipt(client, tx_hash, deadline)
        document["receipt"] = receipt
        # Staking receipts carry no shardID (as Harmony's): staking only happens on the beacon.
        shard = receipt.get("shardID", 0 if signed.send_method.endswith("StakingTransaction") else "?")
        lines.append(f"confirmed in block {receipt.get('blockNumber')} (shard {shard})")
        if destination is not None:
            credit = wait_for_cross_shard_credit(destination, tx_hash, deadline)
            document["cx_receipt"] = credit
            lines.append(f"credited on shard {credit.get('toShardID', '?')} in block {credit.get('blockNumber')}")
    emit(context, document, "\n".join(lines))
