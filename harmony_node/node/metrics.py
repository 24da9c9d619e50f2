"""Prometheus metrics: a few gauges and counters, served as text on ``GET /metrics``.

What an operator watches on a validator: chain height, consensus view, peers, pool size, view
changes and the time between blocks. The registry is plain Python (no client library needed for
a handful of numbers); the server is a minimal HTTP/1.0 responder on trio that reads at most one
small request per connection, with a deadline, so a slow or hostile client cannot hold it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import trio

MAX_REQUEST_BYTES = 8192
REQUEST_TIMEOUT_S = 5.0

log = logging.getLogger("harmony_node.metrics")


@dataclass
class Metric:
    name: str
    help: str
    kind: str  # "gauge" or "counter"
    values: dict[str, float] = field(default_factory=dict)
    """Value per label set, rendered as written (``""`` or ``'shard="1"'``)."""


@dataclass
class Metrics:
    """The node's metrics; services set gauges and increment counters, the server renders them."""

    metrics: dict[str, Metric] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, kind, text in (
            ("hmy_chain_height", "gauge", "Number of the last finalized block"),
            ("hmy_chain_epoch", "gauge", "Epoch of the last finalized block"),
            ("hmy_consensus_view", "gauge", "Current consensus view id"),
            ("hmy_consensus_leader_index", "gauge", "Committee index of the current view's leader"),
            ("hmy_consensus_validating", "gauge", "1 if one of this node's keys is in the chain's committee"),
            ("hmy_consensus_leader", "gauge", "1, labelled with the BLS key of the current view's leader"),
            ("hmy_p2p_peers", "gauge", "Connected libp2p peers"),
            ("hmy_p2p_rate_limited_total", "counter", "Gossip messages dropped for exceeding their peer's rate"),
            ("hmy_txpool_size", "gauge", "Transactions in the pool"),
            ("hmy_tx_batches_dropped_total", "counter", "Gossiped transaction batches dropped: admission queue full"),
            ("hmy_consensus_view_changes_total", "counter", "View changes this node took part in"),
            ("hmy_block_interval_seconds", "gauge", "Seconds between the last two finalized blocks"),
            ("hmy_chain_block_time_seconds", "gauge", "Mean seconds between the blocks of the last 30 s"),
            ("hmy_chain_tps", "gauge", "Transactions finalized per second over the last 30 s"),
            ("hmy_blocks_finalized_total", "counter", "Blocks finalized since the node started"),
            ("hmy_messages_rejected_total", "counter", "Consensus messages and blocks refused"),
            ("hmy_consensus_conflicting_proposals_total", "counter", "Views whose leader key signed two blocks"),
        ):
            self.metrics[name] = Metric(name, text, kind)

    def set(self, name: str, value: float, shard: int | None = None) -> None:
        self.metrics[name].values[_labels(shard)] = value

    def increment(self, name: str, amount: float = 1.0, shard: int | None = None) -> None:
        values = self.metrics[name].values
        values[_labels(shard)] = values.get(_labels(shard), 0.0) + amount

    def set_leader(self, shard: int, public_key: bytes) -> None:
        """Name the current leader of ``shard`` (a label: Prometheus values are numbers only)."""
        values = self.metrics["hmy_consensus_leader"].values
        for labels in [k for k in values if k.startswith(_labels(shard) + ",")]:
            del values[labels]
        values[f'{_labels(shard)},key="0x{public_key.hex()}"'] = 1

    def get(self, name: str, shard: int | None = None) -> float:
        return self.metrics[name].values.get(_labels(shard), 0.0)

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4); per-chain values carry ``shard``."""
        lines = []
        for metric in self.metrics.values():
            lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {metric.kind}"]
            for labels, value in sorted(metric.values.items()) or [("", 0.0)]:
                shown = int(value) if float(value).is_integer() else value
                lines.append(f"{metric.name}{{{labels}}} {shown}" if labels else f"{metric.name} {shown}")
        return "\n".join(lines) + "\n"


def _labels(shard: int | None) -> str:
    return "" if shard is None else f'shard="{shard}"'


def _response(status: str, body: str, content_type: str = "text/plain; charset=utf-8") -> bytes:
    data = body.encode()
    head = f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    return head.encode() + data


async def _serve_one(metrics: Metrics, stream: trio.SocketStream) -> None:
    async with stream:
        request = b""
        with trio.move_on_after(REQUEST_TIMEOUT_S):
            while b"\r\n\r\n" not in request and b"\n\n" not in request and len(request) <= MAX_REQUEST_BYTES:
                try:
                    chunk = await stream.receive_some(4096)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return  # the client reset the connection
                if not chunk:
                    break
                request += chunk
        line = request.split(b"\n", 1)[0].decode("latin-1").strip().split()
        if len(request) > MAX_REQUEST_BYTES:
            reply = _response("431 Request Header Fields Too Large", "request too large\n")
        elif len(line) < 2 or line[0] != "GET":
            reply = _response("405 Method Not Allowed", "only GET /metrics\n")
        elif line[1].split("?", 1)[0] != "/metrics":
            reply = _response("404 Not Found", "see /metrics\n")
        else:
            reply = _response("200 OK", metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        try:
            await stream.send_all(reply)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away; nothing to do


class PortStarted(Protocol):
    """What ``nursery.start`` passes in; typed here because this mypy cannot see trio's TaskStatus."""

    def started(self, value: int) -> None:
        ...


async def serve_metrics(metrics: Metrics, host: str, port: int,
                        task_status: PortStarted = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until cancelled; reports the bound port (useful with port 0) once listening."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    log.info("metrics listening", extra={"host": host, "port": bound})
    task_status.started(bound)
    await trio.serve_listeners(lambda stream: _serve_one(metrics, stream), listeners)
