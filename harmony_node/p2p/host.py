"""Configuration of a node's libp2p host, and building the host: TCP, Noise, Yamux, a persistent Ed25519 id.

Only Noise and Yamux are offered, as Harmony deploys them; libp2p's defaults would also offer TLS,
SECIO and plaintext, which widens what a peer can negotiate us down to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import multiaddr
from libp2p import new_host
from libp2p.abc import IHost
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux

from harmony_node.exceptions import ValidationError
from harmony_node.p2p.envelope import MAX_MESSAGE_SIZE
from harmony_node.p2p.framing import MAX_FRAME_SIZE
from harmony_node.p2p.identity import load_or_create_identity

RPC_OVERHEAD = 64 * 1024
"""Room for the pubsub RPC around a maximum-size message: signature, key, seqno, topic, and control."""


@dataclass(frozen=True, slots=True)
class P2PConfig:
    """How one node joins the network. Defaults follow Harmony's gossipsub settings (reference §8)."""

    listen_host: str = "127.0.0.1"
    port: int = 0
    """TCP port; 0 picks a free one (then a restart gets a different address)."""
    key_file: Path | None = None
    """Where the identity is kept (created, mode 0600, if missing); None for a throwaway identity."""
    bootnodes: tuple[str, ...] = ()
    """Multiaddrs with peer ids (``/ip4/127.0.0.1/tcp/9876/p2p/12D3...``) kept connected for the node's life."""
    degree: int = 5
    degree_low: int = 4
    degree_high: int = 8
    heartbeat_interval: int = 1
    """Seconds between gossipsub heartbeats (mesh repair); libp2p's default is 120."""
    max_message_size: int = MAX_MESSAGE_SIZE
    max_frame_size: int = MAX_FRAME_SIZE
    """Largest request or response frame on a request/response stream (Harmony: 20 MiB)."""
    outbound_queue_size: int = 10_000
    """RPCs queued per peer before libp2p drops silently; libp2p's default of 32 loses bursts."""
    subscription_buffer: int = 10_000
    peer_messages_per_s: float = 200.0
    """Gossip messages one peer may forward to us per second (``peer_rate``); more are dropped.
    ``[p2p] peer_messages_per_s`` in the node's config."""
    peer_message_burst: int = 2_000
    peer_bytes_per_s: int = 256 * 1024
    """Bytes per second one peer's pubsub streams are read at once past ``peer_burst_bytes`` (the peer
    waits, nothing is dropped); far above an honest peer's share of a localnet under load."""
    peer_burst_bytes: int = MAX_MESSAGE_SIZE
    reconnect_initial_backoff: float = 0.25
    reconnect_max_backoff: float = 8.0
    connection_check_interval: float = 0.5
    dial_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValidationError(f"port must be in [0, 65535], got {self.port}")
        if not 1 <= self.degree_low <= self.degree <= self.degree_high:
            raise ValidationError("gossipsub degrees must satisfy 1 <= degree_low <= degree <= degree_high")
        if self.heartbeat_interval < 1:
            raise ValidationError("heartbeat_interval must be at least 1 second")
        if self.max_message_size < 1 or self.max_frame_size < 1 or self.outbound_queue_size < 1 or self.subscription_buffer < 1:
            raise ValidationError("message and frame sizes, queue size and subscription buffer must be positive")
        if self.peer_messages_per_s <= 0 or self.peer_message_burst < 1 or self.peer_bytes_per_s < 1 \
                or self.peer_burst_bytes < 1:
            raise ValidationError("the per-peer message rate and burst must be positive")
        if not 0 < self.reconnect_initial_backoff <= self.reconnect_max_backoff:
            raise ValidationError("reconnect backoffs must satisfy 0 < initial <= max")
        for address in self.bootnodes:
            parse_peer_multiaddr(address)

    def listen_multiaddrs(self) -> list[multiaddr.Multiaddr]:
        return [_parse(f"/ip4/{self.listen_host}/tcp/{self.port}")]


def _parse(address: str) -> multiaddr.Multiaddr:
    try:
        return multiaddr.Multiaddr(address)
    except Exception as exc:  # multiaddr raises several unrelated error types for bad input
        raise ValidationError(f"bad multiaddr {address!r}: {exc}") from exc


def parse_peer_multiaddr(address: str) -> multiaddr.Multiaddr:
    """A multiaddr that names its peer (ends in ``/p2p/<peer id>``), as bootnodes must."""
    parsed = _parse(address)
    try:
        info_from_p2p_addr(parsed)
    except Exception as exc:
        raise ValidationError(f"multiaddr {address!r} does not end in /p2p/<peer id>: {exc}") from exc
    return parsed


def build_host(config: P2PConfig) -> tuple[IHost, KeyPair]:
    """A libp2p host (not yet listening) for ``config``, with its identity."""
    key_pair = load_or_create_identity(config.key_file) if config.key_file is not None else create_new_key_pair()
    noise = NoiseTransport(key_pair, noise_privkey=create_new_x25519_key_pair().private_key)
    host = new_host(
        key_pair=key_pair,
        sec_opt={TProtocol(NOISE_PROTOCOL_ID): noise},
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
        listen_addrs=config.listen_multiaddrs(),
    )
    return host, key_pair
