"""A node's gossip service: a libp2p host running gossipsub, with topics delivered on trio channels.

This wraps py-libp2p 0.8.1 so the rest of the node never sees it, and configures away the ways it
loses messages silently (reference building-blocks §7): spam protection, which drops more than 10
messages/s per peer and topic, is off; outbound queues and subscription buffers are raised
(``libp2p_tuning``); every subscription is drained at once into an unbounded channel, so a slow consumer
delays messages but never loses them. Flow control belongs to the consumer, which sees its backlog.

Invalid messages (a topic validator says no) are dropped inside libp2p before delivery and before
forwarding, so a bad message stops at the first honest node, and are counted per topic.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio
from google.protobuf.message import DecodeError
from libp2p.abc import INetStream, ISubscriptionAPI
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.tools.anyio_service import background_trio_service

from harmony_node.exceptions import ValidationError
from harmony_node.p2p.errors import P2PError
from harmony_node.p2p.flood_publish import FloodPublishGossipSub
from harmony_node.p2p.host import RPC_OVERHEAD, P2PConfig, build_host, parse_peer_multiaddr
from harmony_node.p2p.libp2p_tuning import (
    cut_per_message_costs,
    harden_streams,
    raise_pubsub_limits,
    route_libp2p_logs,
)
from harmony_node.p2p.peer_rate import PeerByteThrottle, PeerRateLimiter
from harmony_node.p2p.peering import DIAL_ERRORS, is_connected, keep_connected
from harmony_node.p2p.request import RequestHandler, RequestResponse, parse_peer_id

logger = logging.getLogger(__name__)

TopicValidator = Callable[[bytes], bool]
"""Runs before delivery and forwarding; False (or raising) drops the message. Must be fast and not block."""


@dataclass(frozen=True, slots=True)
class GossipMessage:
    topic: str
    data: bytes
    origin: str
    """Peer id of the publisher (signed by it), not of the peer that forwarded the message to us."""


class GuardedPubsub(Pubsub):
    """libp2p's Pubsub with per-peer limits (``peer_rate``) where a received message enters, and a
    stream handler that a peer's bytes cannot stop.

    Whatever a peer sends that does not decode ends that peer's pubsub stream and connection (a
    lying or broken peer is dropped, and redialed later if it is a bootnode): py-libp2p let
    protobuf's DecodeError through and it took the whole host down (six of fifteen localnet nodes
    under load, from streams garbled by interleaved writes, ``libp2p_tuning.harden_streams``). A
    message arriving while the node stops is dropped instead of failing the shutdown.

    libp2p's read loop starts a task per received message; a topic validator runs only once that
    task is scheduled, so a flood piles up tasks faster than they run (seen: +100 MB and one block in
    20 s under 1,000 messages/s) and a limit checked in the validator sees only the rate at which
    they drain. Checked first thing in the task, a dropped message costs microseconds, so the pile
    never forms. Messages over the limit are not marked seen: the same message from another peer
    within its own rate is still taken.
    """

    peer_rate: PeerRateLimiter
    byte_throttle: PeerByteThrottle
    rate_limited: int = 0

    async def stream_handler(self, stream: INetStream) -> None:
        peer_id = stream.muxed_conn.peer_id
        try:
            await super().stream_handler(stream)
        except DecodeError as exc:
            logger.warning("undecodable pubsub message; dropping the peer", extra={"peer": str(peer_id),
                                                                                   "reason": str(exc)})
            with contextlib.suppress(Exception):
                await stream.reset()
            self._handle_dead_peer(peer_id)
            with contextlib.suppress(Exception):
                await self.host.disconnect(peer_id)
        except RuntimeError as exc:
            # libp2p's read loop starts a task per received message and can still do so after its
            # task nursery closed: the node is stopping, and the message goes with it.
            if "closed to new arrivals" not in str(exc):
                raise

    async def continuously_read_stream(self, stream: INetStream) -> None:
        # Slowed where it is read: libp2p parses each RPC and starts a task per message before
        # push_msg can drop anything, so a flood read at full speed still swamped the node (no block
        # for 17 s under 20,000 messages, RSS +100 MB).
        peer = stream.muxed_conn.peer_id.to_bytes()
        await super().continuously_read_stream(_ThrottledStream(stream, self.byte_throttle, peer))  # type: ignore[arg-type]

    async def push_msg(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        if msg_forwarder != self.my_id:
            if self._is_msg_seen(msg):
                return  # a copy from another mesh peer: libp2p would drop it too, it costs no token
            if not self.peer_rate.allow(msg_forwarder.to_bytes(), time.monotonic()):
                self.rate_limited += 1
                return
        await super().push_msg(msg_forwarder, msg)


class _ThrottledStream:
    """A pubsub stream whose reads wait whenever its peer is past its byte budget (``PeerByteThrottle``)."""

    def __init__(self, stream: INetStream, throttle: PeerByteThrottle, peer: bytes) -> None:
        self._stream = stream
        self._throttle = throttle
        self._peer = peer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def read(self, n: int | None = None) -> bytes:
        data = await self._stream.read(n)
        wait = self._throttle.take(self._peer, len(data), time.monotonic())
        if wait > 0:
            await trio.sleep(wait)
        return data


class GossipNode:
    """One libp2p host with gossipsub and request/response. Use as ``async with node.run(): ...``."""

    def __init__(self, config: P2PConfig) -> None:
        self.config = config
        route_libp2p_logs()
        cut_per_message_costs()
        harden_streams()
        raise_pubsub_limits(
            config.outbound_queue_size, config.subscription_buffer, config.max_message_size + RPC_OVERHEAD
        )
        self._host, _ = build_host(config)
        self._gossipsub = FloodPublishGossipSub(
            # gossipsub v1.2 is not offered: its IDONTWANT control message is sent for every message
            # received (6.7% of a loaded validator's time in py-spy), and an idle default localnet took
            # 175-184% of a core with it against 129-153% without (bench note, session 4).
            protocols=[PROTOCOL_ID_V11, PROTOCOL_ID],
            degree=config.degree,
            degree_low=config.degree_low,
            degree_high=config.degree_high,
            heartbeat_interval=config.heartbeat_interval,
            spam_protection_enabled=False,
            # libp2p queues every message for each connected peer not (yet) known to be on its topic,
            # in case it subscribes soon; with nodes that follow some chains and validate others, that is
            # most peers for most messages. Keep the queue a couple of seconds deep instead of 100
            # messages, which overflowed with a warning per message.
            max_pending_messages_per_peer=10_000,
            pending_messages_ttl=2.0,
        )
        self._pubsub = GuardedPubsub(
            self._host, self._gossipsub, max_inbound_rpc_size=config.max_message_size + RPC_OVERHEAD
        )
        self._pubsub.peer_rate = PeerRateLimiter(config.peer_messages_per_s, config.peer_message_burst)
        self._pubsub.byte_throttle = PeerByteThrottle(config.peer_bytes_per_s, config.peer_burst_bytes)
        # libp2p seeds message sequence numbers with time.time() in whole seconds and ids messages by
        # (origin, seqno), so a node restarted N seconds after publishing more than N messages would reuse
        # seqnos its peers still remember as seen (for 120 s) and its messages would vanish. Go seeds with
        # nanoseconds, which a restart cannot catch up with.
        self._pubsub.counter = time.time_ns()
        self._requests = RequestResponse(self._host, config.max_frame_size)
        self._invalid: defaultdict[str, int] = defaultdict(int)
        self._user_validators: dict[str, TopicValidator] = {}
        self._subscribers: dict[str, list[trio.MemorySendChannel[GossipMessage]]] = {}
        self._drains: dict[str, trio.CancelScope] = {}
        self._nursery: trio.Nursery | None = None

    @property
    def peer_id(self) -> str:
        return self._host.get_id().to_base58()

    def listen_addrs(self) -> list[str]:
        """Full multiaddrs (with ``/p2p/<peer id>``) others can dial; valid once ``run`` has started."""
        return [f"{address}/p2p/{self.peer_id}" for address in self._host.get_transport_addrs()]

    @asynccontextmanager
    async def run(self) -> AsyncIterator[GossipNode]:
        """Listen, start gossipsub and the bootnode links; stop everything when the block exits."""
        async with self._host.run(listen_addrs=self.config.listen_multiaddrs()):
            async with background_trio_service(self._pubsub), background_trio_service(self._gossipsub):
                await self._pubsub.wait_until_ready()
                # Our tasks live in a nursery inside the services' blocks and are cancelled there. Cancelling
                # a scope around the services instead would make their shutdown raise Cancelled over an
                # exception leaving the block, and that scope would then swallow both.
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    for bootnode in self.config.bootnodes:
                        nursery.start_soon(self._keep_bootnode, bootnode)
                    try:
                        yield self
                    finally:
                        self._nursery = None
                        for senders in self._subscribers.values():
                            for sender in senders:
                                sender.close()
                        self._subscribers.clear()
                        nursery.cancel_scope.cancel()

    async def _keep_bootnode(self, address: str) -> None:
        await keep_connected(
            self._host,
            parse_peer_multiaddr(address),
            initial_backoff=self.config.reconnect_initial_backoff,
            max_backoff=self.config.reconnect_max_backoff,
            check_interval=self.config.connection_check_interval,
            dial_timeout=self.config.dial_timeout,
        )

    def _running_nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise P2PError("the node is not running; use `async with node.run():`")
        return self._nursery

    async def connect(self, address: str) -> str:
        """Dial a peer once (no redial; list it in ``bootnodes`` for that) and return its peer id."""
        info = info_from_p2p_addr(parse_peer_multiaddr(address))
        try:
            with trio.fail_after(self.config.dial_timeout):
                await self._host.connect(info)
        except DIAL_ERRORS as exc:
            raise P2PError(f"cannot connect to {address}: {exc}") from exc
        return info.peer_id.to_base58()

    async def subscribe(self, topic: str) -> trio.MemoryReceiveChannel[GossipMessage]:
        """A channel of the messages others publish on ``topic`` (our own are not echoed back)."""
        nursery = self._running_nursery()
        send, receive = trio.open_memory_channel[GossipMessage](float("inf"))
        if topic not in self._subscribers:
            self._subscribers[topic] = [send]
            subscription = await self._pubsub.subscribe(topic)
            scope = trio.CancelScope()
            self._drains[topic] = scope
            nursery.start_soon(self._drain, topic, subscription, scope)
        else:
            self._subscribers[topic].append(send)
        return receive

    async def unsubscribe(self, topic: str) -> None:
        """Leave ``topic``: its channels end, and peers stop sending us its messages."""
        for sender in self._subscribers.pop(topic, []):
            sender.close()
        scope = self._drains.pop(topic, None)
        if scope is not None:
            scope.cancel()
        await self._pubsub.unsubscribe(topic)

    async def _drain(self, topic: str, subscription: ISubscriptionAPI, scope: trio.CancelScope) -> None:
        with scope:
            await self._drain_into_channels(topic, subscription)

    async def _drain_into_channels(self, topic: str, subscription: ISubscriptionAPI) -> None:
        own_id = self._host.get_id().to_bytes()
        while True:
            message: rpc_pb2.Message = await subscription.get()
            if message.from_id == own_id:
                continue
            delivery = GossipMessage(topic, message.data, ID(message.from_id).to_base58())
            for sender in list(self._subscribers.get(topic, ())):
                try:
                    sender.send_nowait(delivery)  # unbounded: never blocks, never drops
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    self._subscribers[topic].remove(sender)

    async def publish(self, topic: str, data: bytes) -> None:
        """Gossip ``data`` on ``topic``; ValidationError if it is oversize or our own validator rejects it."""
        self._running_nursery()
        if len(data) > self.config.max_message_size:
            raise ValidationError(f"message of {len(data)} bytes exceeds the {self.config.max_message_size}-byte limit")
        validator = self._user_validators.get(topic)
        # libp2p would drop our own invalid message without a word; say so instead.
        if validator is not None and not validator(data):
            raise ValidationError(f"refusing to publish a message our own {topic} validator rejects")
        await self._pubsub.publish(topic, data)

    def set_topic_validator(self, topic: str, validator: TopicValidator) -> None:
        """Check every message on ``topic`` before it is delivered or forwarded."""
        own_id = self._host.get_id()
        self._user_validators[topic] = validator

        def validate(forwarder: ID, message: rpc_pb2.Message) -> bool:
            if forwarder == own_id:
                return True  # our own publish, already checked in publish()
            try:
                valid = len(message.data) <= self.config.max_message_size and bool(validator(message.data))
            except Exception:  # a validator bug must not let a message through, nor kill the read loop
                logger.exception("validator for %s raised; dropping the message", topic)
                valid = False
            if not valid:
                self._invalid[topic] += 1
            return valid

        self._pubsub.set_topic_validator(topic, validate, False)

    def invalid_count(self, topic: str) -> int:
        """How many messages on ``topic`` validation dropped."""
        return self._invalid[topic]

    def rate_limited_count(self) -> int:
        """How many messages were dropped for exceeding their forwarding peer's rate."""
        return self._pubsub.rate_limited

    def peer_count(self) -> int:
        """Peers with an open connection."""
        return len(self._host.get_connected_peers())

    def get_peer_ids(self) -> list[str]:
        """Peer ids with an open connection (for choosing whom to ask for blocks)."""
        return [peer.to_base58() for peer in self._host.get_connected_peers()]

    def is_connected(self, peer_id: str) -> bool:
        return is_connected(self._host, parse_peer_id(peer_id))

    def topic_peer_count(self, topic: str) -> int:
        """Connected peers known to be subscribed to ``topic``."""
        return len(self._pubsub.peer_topics.get(topic, ()))

    def mesh_peer_count(self, topic: str) -> int:
        """Peers in our gossipsub mesh for ``topic`` (the ones we forward full messages to)."""
        return len(self._gossipsub.mesh.get(topic, ()))

    def set_request_handler(self, protocol_id: str, handler: RequestHandler) -> None:
        self._requests.set_handler(protocol_id, handler)

    async def request(self, peer_id: str, protocol_id: str, payload: bytes, timeout: float = 10.0) -> bytes:
        """Send one framed request and return the response; RequestFailed on timeout or a broken stream."""
        return await self._requests.request(peer_id, protocol_id, payload, timeout)
