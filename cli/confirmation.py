"""Waiting for a sent transaction: its receipt on the source shard, then a cross-shard credit.

A transfer is final once its block is committed (one block time on a healthy network); a
cross-shard transfer is credited when the destination shard includes its receipt, a block or two
later. Both are polled until one deadline passes. While waiting, a dot per poll goes to stderr, and
only when stderr is a terminal, so logs and pipes stay clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cli.rpc_client import RpcClient, RpcError
from harmony_node.exceptions import HarmonyError

T = TypeVar("T")

POLL_INTERVAL_SECONDS = 0.5
"""Half the localnet block time: a confirmation is seen at most half a block late."""


class ConfirmationError(HarmonyError):
    """A sent transaction failed, or was not confirmed before the deadline."""


def wait_for(poll: Callable[[], T | None], deadline: float, what: str) -> T:
    """Call ``poll`` until it returns something, or raise ConfirmationError at ``deadline`` (time.monotonic)."""
    show_progress = sys.stderr.isatty()
    try:
        while True:
            result = poll()
            if result is not None:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfirmationError(f"{what} not seen before the timeout")
            if show_progress:
                click.echo(".", nl=False, err=True)
            time.sleep(min(POLL_INTERVAL_SECONDS, remaining))
    finally:
        if show_progress:
            click.echo("", err=True)


def _get_object(client: RpcClient, method: str, tx_hash: str) -> dict[str, Any] | None:
    result = client.call(method, [tx_hash])
    if result is not None and not isinstance(result, dict):
        raise RpcError(client.url, f"{method} returned {type(result).__name__}, not an object")
    return result


def wait_for_receipt(client: RpcClient, tx_hash: str, deadline: float) -> dict[str, Any]:
    """The receipt of ``tx_hash`` (``hmyv2_getTransactionReceipt``); ConfirmationError if it failed."""
    receipt = wait_for(
        lambda: _get_object(client, "hmyv2_getTransactionReceipt", tx_hash), deadline,
        f"transaction {tx_hash} was sent, but its receipt was",
    )
    # Harmony's receipt status: 1 executed, 0 failed (the fee was still paid).
    if receipt.get("status") == 0:
        raise ConfirmationError(f"transaction {tx_hash} failed in block {receipt.get('blockNumber')} (status 0)")
    return receipt


def wait_for_cross_shard_credit(client: RpcClient, tx_hash: str, deadline: float) -> dict[str, Any]:
    """The destination shard's record of crediting ``tx_hash`` (``hmyv2_getCXReceiptByHash`` there)."""
    return wait_for(
        lambda: _get_object(client, "hmyv2_getCXReceiptByHash", tx_hash), deadline,
        f"the cross-shard credit of {tx_hash} on {client.url} was",
    )
