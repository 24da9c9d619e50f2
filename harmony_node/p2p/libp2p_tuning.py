"""Process-wide settings and repairs py-libp2p 0.8.1 does not offer: queues, per-message costs, stream
integrity, logs.

With its defaults, libp2p drops most of a burst without an error (reference building-blocks §7):
each peer's outbound RPC queue holds 32 RPCs and a full queue makes ``publish`` discard the message
with only a debug log; each subscription channel holds 32 messages. The queue size is a default
argument bound when ``rpc_queue`` was imported, so it is patched in ``__init__.__defaults__`` (setting
the module constant would change nothing). The subscription size is a module global read at
``subscribe()`` time. These are process-wide, so each setting only ever grows: two nodes in one
process (tests) get the larger of their wishes, never a smaller queue than they asked for.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import libp2p.pubsub.gossipsub as gossipsub_module
import libp2p.pubsub.pubsub as pubsub_module
import trio
from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.pubsub.pb.rpc_pb2 import RPC
from libp2p.pubsub.rpc_queue import PriorityQueue, RpcQueue
from libp2p.stream_muxer.exceptions import MuxedStreamError
from libp2p.stream_muxer.yamux.yamux import YamuxStream

from harmony_node.p2p.errors import P2PError

_P2P_LOGGER = "harmony_node.p2p"


def raise_pubsub_limits(outbound_queue_size: int, subscription_buffer: int, max_rpc_size: int) -> None:
    """Make libp2p's per-peer outbound queues, subscription channels and RPC split size at least this big."""
    _raise_default(PriorityQueue.__init__, "max_size", outbound_queue_size)
    _raise_default(RpcQueue.__init__, "max_size", outbound_queue_size)
    _raise_default(RpcQueue.__init__, "max_message_size", max_rpc_size)
    pubsub_module.SUBSCRIPTION_CHANNEL_SIZE = max(pubsub_module.SUBSCRIPTION_CHANNEL_SIZE, subscription_buffer)


def _raise_default(function: Callable[..., Any], name: str, value: int) -> None:
    # Located by name, so a libp2p release that reorders or renames the parameter fails loudly here
    # instead of silently raising some other limit.
    positional = [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()
        if parameter.default is not inspect.Parameter.empty
        and parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    defaults = function.__defaults__
    if name not in positional or defaults is None or len(defaults) != len(positional):
        raise P2PError(f"libp2p changed {function.__qualname__}: no default argument {name!r} to raise")
    index = positional.index(name)
    patched = list(defaults)
    patched[index] = max(patched[index], value)
    function.__defaults__ = tuple(patched)


class _Forward(logging.Handler):
    """Hands libp2p's records to our logger, so they reach whatever handlers the application set up."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(_P2P_LOGGER).handle(record)


def route_libp2p_logs(level: int = logging.WARNING) -> None:
    """Send libp2p's warnings to ``harmony_node.p2p``'s handlers.

    libp2p clears its logger's handlers and sets ``propagate=False`` on import unless LIBP2P_DEBUG is
    set, so its warnings ("Rate limit exceeded", "fail to deliver message") otherwise reach only
    Python's last-resort stderr handler, or nowhere once an application configures logging.
    """
    libp2p_logger = logging.getLogger("libp2p")
    if not any(isinstance(handler, _Forward) for handler in libp2p_logger.handlers):
        libp2p_logger.addHandler(_Forward())
    libp2p_logger.setLevel(level)
    # Some modules pin their own logger to INFO at import (the auto-connector reports its state every
    # 30 s that way), which would bypass the level above.
    for name, child in list(logging.root.manager.loggerDict.items()):
        if name.startswith("libp2p.") and isinstance(child, logging.Logger) and 0 < child.level < level:
            child.setLevel(level)


# --- per-message costs ----------------------------------------------------------------------------

SENDER_RECORD_REUSE_S = 30.0
"""How long the signed peer record this node attaches to every RPC is reused before being rebuilt."""
VERIFIED_RECORD_TTL_S = 600.0
"""How long a peer's record, once verified, is taken as verified when it arrives again unchanged.
Well under libp2p's 2 h certified-address TTL, which re-consuming the record refreshes."""
VERIFIED_RECORD_CACHE = 4096


def cut_per_message_costs() -> None:
    """Make libp2p stop repeating per message work whose result does not change (a py-spy finding).

    Profiled under load (session 4), a validator spent 17.6% of its time in yamux window updates,
    9.7% verifying the signed peer record attached to every pubsub RPC (5.3% in ed25519) and 7.7%
    in ``get_addrs`` rebuilding its own record for every RPC it sends:

    - yamux: py-libp2p returns receive credit on nearly every read (its "partial slack" and
      release-on-read paths), one Noise-encrypted WINDOW_UPDATE frame per message received. go-yamux
      returns it only once half the window has been consumed; ``_send_window_update_like_go`` does that.
    - the peer record a node sends is the same bytes every time until its listen addresses change:
      it is rebuilt at most every ``SENDER_RECORD_REUSE_S``.
    - a peer's record arriving again unchanged is not verified again for ``VERIFIED_RECORD_TTL_S``;
      different bytes are verified as before, so a forged or changed record is still checked.
    """
    if getattr(pubsub_module.maybe_consume_signed_record, "_harmony_cached", False):
        return
    if not hasattr(YamuxStream, "_auto_tune_and_send_window_update"):
        raise P2PError("libp2p changed YamuxStream: no _auto_tune_and_send_window_update to replace")
    YamuxStream._auto_tune_and_send_window_update = _send_window_update_like_go  # type: ignore[method-assign]
    consume = _cache_record_verification(pubsub_module.maybe_consume_signed_record)
    build = _reuse_sender_record(pubsub_module.env_to_send_in_RPC)
    for module in (pubsub_module, gossipsub_module):
        if not hasattr(module, "maybe_consume_signed_record") or not hasattr(module, "env_to_send_in_RPC"):
            raise P2PError(f"libp2p changed {module.__name__}: the peer-record functions are gone")
        module.maybe_consume_signed_record = consume  # type: ignore[attr-defined]
        module.env_to_send_in_RPC = build  # type: ignore[attr-defined]


RECEIVE_WINDOW = 4 * 1024 * 1024
"""Receive window of every yamux stream (the protocol starts at 256 KiB; go-yamux grows to 16 MiB)."""


async def _send_window_update_like_go(self: YamuxStream, *, bytes_read: int = 0) -> None:
    """Return the receive credit the reader has consumed once it is half the window (go-yamux's
    ``sendWindowUpdate``): the sender keeps at least half a window to send, and a stream of small
    messages costs one WINDOW_UPDATE per half window instead of one per message.

    The window is ``RECEIVE_WINDOW``, granted at the first read: a sender that runs out of window
    waits, and py-libp2p gives up after 5 s mid-message; a node short of CPU under load must not
    make its peers hit that."""
    async with self.window_lock:
        self.target_recv_window = max(self.target_recv_window, RECEIVE_WINDOW)
        buffered = len(self.conn.stream_buffers.get(self.stream_id, b""))
        # Credit the peer still has, plus what it sent that waits unread: the rest was consumed.
        delta = self.target_recv_window - (self.recv_window + buffered)
        if delta < self.target_recv_window // 2:
            return
        self.recv_window += delta
    await self.send_window_update(delta, skip_lock=True)


# --- stream integrity -------------------------------------------------------------------------------


def harden_streams() -> None:
    """Keep one peer's broken stream from corrupting others' messages (``gossip.GuardedPubsub`` keeps
    an undecodable message from stopping the node).

    Found under load (40 tx/s on the localnet): pubsub streams carried garbage ("message length
    28153121866"), protobuf's DecodeError escaped py-libp2p's pubsub stream handler and took the
    whole libp2p host down with it, and six of fifteen nodes lost their listeners. Two causes:

    - ``YamuxStream.write`` holds its lock per frame, not per message: two tasks writing one
      stream (pubsub's send queue and gossipsub's direct writes) interleave the frames of messages
      longer than the send window, and the reader's length prefixes then point into the middle of
      other messages. Writes are serialized per message here.
    - a write that times out waiting for window (5 s) leaves half a message on the stream; the
      stream is reset then, so the reader drops it instead of misreading everything after.
    """
    if getattr(YamuxStream.write, "_harmony_whole", False):
        return
    write_frames = YamuxStream.write

    async def write_whole(self: YamuxStream, data: bytes) -> None:
        lock: trio.Lock | None = getattr(self, "_harmony_write_lock", None)
        if lock is None:
            lock = trio.Lock()
            self._harmony_write_lock = lock  # type: ignore[attr-defined]
        async with lock:
            try:
                await write_frames(self, data)
            except MuxedStreamError:
                with contextlib.suppress(Exception):
                    await self.reset()  # it may hold part of ``data``: unreadable from here on
                raise

    write_whole._harmony_whole = True  # type: ignore[attr-defined]
    YamuxStream.write = write_whole  # type: ignore[method-assign]


def _cache_record_verification(consume: Callable[[RPC, IHost, ID], bool]) -> Callable[[RPC, IHost, ID], bool]:
    verified: OrderedDict[tuple[bytes, bytes], float] = OrderedDict()

    def consume_once(message: RPC, host: IHost, peer_id: ID) -> bool:
        if not message.HasField("senderRecord"):
            return True
        key = (peer_id.to_bytes(), message.senderRecord)
        now = time.monotonic()
        seen = verified.get(key)
        if seen is not None and now - seen < VERIFIED_RECORD_TTL_S:
            return True
        if not consume(message, host, peer_id):
            return False
        verified[key] = now
        verified.move_to_end(key)
        while len(verified) > VERIFIED_RECORD_CACHE:
            verified.popitem(last=False)
        return True

    consume_once._harmony_cached = True  # type: ignore[attr-defined]
    return consume_once


def _reuse_sender_record(build: Callable[[IHost], tuple[bytes, bool]]) -> Callable[[IHost], tuple[bytes, bool]]:
    # Several hosts may share a process (tests); the peer id guards against a reused object id.
    built: dict[tuple[int, ID], tuple[float, bytes]] = {}

    def build_sometimes(host: IHost) -> tuple[bytes, bool]:
        now = time.monotonic()
        key = (id(host), host.get_id())
        cached = built.get(key)
        if cached is not None and now - cached[0] < SENDER_RECORD_REUSE_S:
            return cached[1], False
        record, created = build(host)
        built[key] = (now, record)
        return record, created

    return build_sometimes
