"""Request/response over libp2p streams: one frame out, one frame back, for block sync and other queries.

Opening a stream costs 2-4 ms in py-libp2p and a round trip on an open stream ~0.5 ms (reference §7), so
streams are kept open and reused: the server answers frames on a stream until the requester closes it,
and the requester keeps a few idle streams per (peer, protocol). Requests are assumed idempotent (sync
queries are), so a request that fails on a reused stream, which the peer may have dropped while it sat
idle, is retried once on a fresh one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.exceptions import BaseLibp2pError
from libp2p.peer.id import ID

from harmony_node.exceptions import HarmonyError
from harmony_node.p2p.errors import FrameError, FrameTooLarge, P2PError, RequestFailed
from harmony_node.p2p.framing import MAX_FRAME_SIZE, read_frame, write_frame

logger = logging.getLogger(__name__)

RequestHandler = Callable[[str, bytes], Awaitable[bytes]]
"""``handler(peer_id, request) -> response``; raising resets the stream, which the requester sees as failure."""

MAX_IDLE_STREAMS = 4
_STREAM_ERRORS = (BaseLibp2pError, OSError, trio.BrokenResourceError, trio.ClosedResourceError)


def parse_peer_id(peer_id: str) -> ID:
    try:
        return ID.from_base58(peer_id)
    except Exception as exc:  # base58 and multihash raise assorted ValueError/KeyError subclasses
        raise P2PError(f"not a peer id: {peer_id!r}") from exc


class RequestResponse:
    """Serves and sends framed requests on one host."""

    def __init__(self, host: IHost, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self._host = host
        self._max_frame_size = max_frame_size
        self._idle: dict[tuple[ID, str], list[INetStream]] = {}

    def set_handler(self, protocol_id: str, handler: RequestHandler) -> None:
        async def serve(stream: INetStream) -> None:
            await self._serve(stream, handler)

        self._host.set_stream_handler(TProtocol(protocol_id), serve)

    async def _serve(self, stream: INetStream, handler: RequestHandler) -> None:
        peer = stream.muxed_conn.peer_id.to_base58()
        try:
            while True:
                request = await read_frame(stream, self._max_frame_size)
                if request is None:
                    await stream.close()
                    return
                await write_frame(stream, await handler(peer, request), self._max_frame_size)
        except (HarmonyError, *_STREAM_ERRORS) as exc:
            # A bad frame or a handler refusing the request: reset, so the requester fails fast
            # instead of waiting out its timeout.
            logger.debug("request stream from %s reset: %s", peer, exc)
            await _reset(stream)

    async def request(self, peer_id: str, protocol_id: str, payload: bytes, timeout: float) -> bytes:
        """Send ``payload`` to ``peer_id`` on ``protocol_id`` and return the response frame."""
        if len(payload) > self._max_frame_size:
            raise FrameTooLarge(f"request of {len(payload)} bytes exceeds the {self._max_frame_size}-byte limit")
        peer = parse_peer_id(peer_id)
        key = (peer, protocol_id)
        with trio.move_on_after(timeout) as scope:
            idle = self._idle.get(key)
            if idle:
                stream = idle.pop()
                try:
                    return await self._exchange(key, stream, payload)
                except FrameTooLarge as exc:
                    await _reset(stream)
                    raise RequestFailed(f"{protocol_id} request to {peer_id} failed: {exc}") from exc
                except (FrameError, *_STREAM_ERRORS) as exc:
                    logger.debug("reused stream to %s failed (%s); retrying on a new stream", peer_id, exc)
                    await _reset(stream)
            try:
                stream = await self._host.new_stream(peer, [TProtocol(protocol_id)])
            except _STREAM_ERRORS as exc:
                raise RequestFailed(f"cannot open {protocol_id} stream to {peer_id}: {exc}") from exc
            try:
                return await self._exchange(key, stream, payload)
            except (FrameError, *_STREAM_ERRORS) as exc:
                await _reset(stream)
                raise RequestFailed(f"{protocol_id} request to {peer_id} failed: {exc}") from exc
        assert scope.cancelled_caught
        raise RequestFailed(f"{protocol_id} request to {peer_id} timed out after {timeout} s")

    async def _exchange(self, key: tuple[ID, str], stream: INetStream, payload: bytes) -> bytes:
        try:
            await write_frame(stream, payload, self._max_frame_size)
            response = await read_frame(stream, self._max_frame_size)
        except trio.Cancelled:
            await _reset(stream)  # timed out mid-exchange: the stream may still deliver a stale response
            raise
        if response is None:
            raise FrameError("peer closed the stream without a response")
        idle = self._idle.setdefault(key, [])
        if len(idle) < MAX_IDLE_STREAMS:
            idle.append(stream)
        else:
            await stream.close()
        return response


async def _reset(stream: INetStream) -> None:
    # Shielded because it runs while a timeout is cancelling us; an unreset stream would linger half-read.
    with trio.CancelScope(shield=True), trio.move_on_after(1.0):
        try:
            await stream.reset()
        except _STREAM_ERRORS:
            pass
