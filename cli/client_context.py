"""What every ``hmy`` command shares: the node it talks to, the per-request timeout and the output format.

Readable text is the default; ``--json`` prints exactly one JSON document on stdout per command so
scripts can parse it. Messages about progress and errors go to stderr in both modes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click

from cli.rpc_client import RpcClient


@dataclass(frozen=True, slots=True)
class ClientContext:
    """The global options of ``hmy``."""

    node: str
    """Normalized URL of the node given with ``--node``."""
    as_json: bool
    timeout: float
    """Seconds each RPC request may take."""

    def get_client(self) -> RpcClient:
        """A client for the ``--node`` node."""
        return RpcClient(self.node, self.timeout)


pass_client_context = click.make_pass_decorator(ClientContext)


def emit(context: ClientContext, document: Any, text: str) -> None:
    """Print ``document`` as JSON under ``--json``, else the readable ``text``."""
    click.echo(json.dumps(document) if context.as_json else text)


def emit_node_result(context: ClientContext, result: Any) -> None:
    """Print a node's answer as it came: one line of JSON under ``--json``; else a list of strings
    (addresses) one per line, anything else as indented JSON."""
    if context.as_json:
        click.echo(json.dumps(result))
    elif isinstance(result, list) and all(isinstance(item, str) for item in result):
        click.echo("\n".join(result))
    else:
        click.echo(json.dumps(result, indent=2))
