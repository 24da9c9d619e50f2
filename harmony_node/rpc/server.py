"""The JSON-RPC transport: HTTP/1.1 (h11) and WebSocket (wsproto) on one port, under trio.

A connection's first request decides its protocol: a GET with ``Upgrade: websocket`` becomes a
WebSocket whose text messages are JSON-RPC bodies (and which can receive subscription
notifications); anything else is HTTP with keep-alive, where a POST body is a JSON-RPC body, GET and
HEAD serve the optional pages, and OPTIONS answers CORS preflights. Both go to the same dispatcher.

Everything a client controls is bounded, because the port may face the internet: header and body
sizes (413 without reading the rest), the time to deliver a request (slowloris), idle keep-alive
time, the number of connections, requests per second per IP (429 / -32005), and a WebSocket
client's queue of unsent messages (a client that does not read is dropped rather than buffered
for). Nothing a client sends can stop the server: a failure in one connection closes that
connection only, and a bug is logged.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

import h11
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import RemoteProtocolError

from harmony_node.exceptions import ValidationError
from harmony_node.rpc.dispatch import CallContext, Dispatcher, encode_json
from harmony_node.rpc.errors import InvalidRequest, RateLimited, RPCError
from harmony_node.rpc.subscriptions import Subscriptions

MAX_HEAD_BYTES = 16 * 1024
"""Largest request line plus headers (h11's default): JSON-RPC needs a few hundred bytes."""
RECEIVE_BYTES = 64 * 1024
LINGER_S = 2.0
"""How long a connection closed after an error reply keeps discarding what the client still sends,
so the client reads the reply instead of a reset; the unread data is dropped, never buffered."""
MAX_TRACKED_CLIENTS = 10_000
"""Rate-limit buckets kept before idle (full) ones are forgotten."""

Page = Callable[[], tuple[str, bytes]]
"""A GET route: returns its content type and body."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RPCServerConfig:
    """Where the RPC server listens and the limits it puts on every client."""

    host: str = "127.0.0.1"
    port: int = 9500
    """Harmony's HTTP RPC port; 0 picks a free one (tests)."""
    max_body_bytes: int = 5 * 1024 * 1024
    """Largest HTTP request body or WebSocket message (geth's limit)."""
    max_batch: int = 100
    """Most requests in one batch."""
    max_depth: int = 32
    """Deepest JSON nesting accepted (decoding recurses once per level)."""
    rate_limit_per_s: float | None = None
    """Requests per second per client IP (token bucket, burst ``max(1, rate)``); None: unlimited."""
    max_connections: int = 256
    """Concurrent connections; further ones are closed at once."""
    max_connections_per_client: int = 64
    """Concurrent connections from one IP: one client holding idle connections (slowloris) must not take
    every slot of ``max_connections`` from the others."""
    read_timeout_s: float = 10.0
    """Time a client has to deliver a whole request once it starts one (slowloris)."""
    idle_timeout_s: float = 60.0
    """Time a keep-alive or WebSocket connection may stay silent; also bounds each write."""
    cors_origin: str = "*"
    """``Access-Control-Allow-Origin`` on every response; WebSocket Origins must match unless ``*``."""
    ws_queue_size: int = 1000
    """Messages queued to one WebSocket client before it is dropped as too slow."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValidationError("port must be between 0 and 65535")
        if min(self.max_body_bytes, self.max_batch, self.max_depth, self.max_connections,
               self.max_connections_per_client, self.ws_queue_size) < 1:
            raise ValidationError("RPC size and connection limits must be positive")
        if self.read_timeout_s <= 0 or self.idle_timeout_s <= 0:
            raise ValidationError("RPC timeouts must be positive")
        if self.rate_limit_per_s is not None and self.rate_limit_per_s <= 0:
            raise ValidationError("rate_limit_per_s must be positive (None for no limit)")


class RateLimiter:
    """A token bucket per client IP: ``rate`` requests a second on average, bursts of ``max(1, rate)``."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = max(1.0, rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        """client -> (tokens, time they were counted)."""

    def take_token(self, client: str) -> bool:
        """Spend one of ``client``'s tokens; False when it has none left (refuse the request)."""
        now = self._clock()
        tokens, counted_at = self._buckets.get(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - counted_at) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._forget_full_buckets(now)
        return allowed

    def _forget_full_buckets(self, now: float) -> None:
        # A full bucket is what a new client gets anyway, so forgetting it changes nothing.
        for client, (tokens, counted_at) in list(self._buckets.items()):
            if tokens + (now - counted_at) * self._rate >= self._burst:
                del self._buckets[client]
        if len(self._buckets) > MAX_TRACKED_CLIENTS:
            # Requests from more IPs than that at once: forget them all (each gets one fresh burst)
            # rather than let the table grow without bound.
            self._buckets.clear()


class PortStarted(Protocol):
    """What ``nursery.start`` passes in; typed here because this mypy cannot see trio's TaskStatus."""

    def started(self, value: int) -> None:
        ...


async def serve_rpc(dispatcher: Dispatcher, config: RPCServerConfig, subscriptions: Subscriptions,
                    pages: Mapping[str, Page] | None = None, *, clock: Callable[[], float] = time.monotonic,
                    task_status: PortStarted = trio.TASK_STATUS_IGNORED) -> None:
    """Serve JSON-RPC over HTTP and WebSocket until cancelled; reports the bound port once listening.

    ``pages`` maps GET paths to their content; ``clock`` drives the rate limiter (tests inject one).
    """
    listeners = await trio.open_tcp_listeners(config.port, host=config.host)
    bound = listeners[0].socket.getsockname()[1]
    limiter = RateLimiter(config.rate_limit_per_s, clock) if config.rate_limit_per_s is not None else None
    server = _Server(dispatcher, config, subscriptions, dict(pages or {}), limiter)
    log.info("RPC listening", extra={"host": config.host, "port": bound})
    task_status.started(bound)
    await trio.serve_listeners(server.on_connection, listeners)


class _ClientGone(Exception):
    """The client stopped reading or vanished: close without another word."""


class _WebSocketClient:
    """One WebSocket client as methods see it (``dispatch.Connection``): a bounded outbox.

    One writer task sends the outbox; everything else queues framed bytes without waiting. While a
    request is being handled, notifications are held back and queued after its response, so a
    client always learns a subscription id before the first notification for it (as geth does).
    """

    def __init__(self, ws: WSConnection, queue_size: int) -> None:
        self._ws = ws
        self._queue_size = queue_size
        self._outbox_in, self.outbox = trio.open_memory_channel[bytes](queue_size)
        self._held: list[bytes] | None = None
        self.cancel_scope = trio.CancelScope()
        self.is_closed = False

    def push(self, message: bytes) -> None:
        if self.is_closed:
            return
        if self._held is None:
            # Our JSON is ASCII (json.dumps escapes the rest), so it decodes for a text frame as is.
            self._queue_frame(self._frame(TextMessage(data=message.decode())))
        elif len(self._held) < self._queue_size:
            self._held.append(message)
        else:
            self._drop_slow_client()

    def hold(self) -> None:
        """Keep notifications back while a request is handled (until ``release``)."""
        self._held = []

    def release(self) -> None:
        """Queue the notifications held back, after the response that ``hold`` waited for."""
        held, self._held = self._held or [], None
        for message in held:
            self.push(message)

    async def send_response(self, message: bytes) -> None:
        """Queue a response, waiting for room: a client that does not read stops being read."""
        frame = self._frame(TextMessage(data=message.decode()))
        if frame and not self.is_closed:
            await self._outbox_in.send(frame)

    def send_control(self, event: Event) -> None:
        self._queue_frame(self._frame(event))

    def finish(self) -> None:
        """No more messages: the writer sends what is queued, then stops."""
        self.is_closed = True
        self._outbox_in.close()

    def abort(self) -> None:
        self.is_closed = True
        self.cancel_scope.cancel()

    def _frame(self, event: Event) -> bytes:
        # Nothing may be sent once the close handshake has begun (or the TCP connection is gone).
        return self._ws.send(event) if self._ws.state is ConnectionState.OPEN else b""

    def _queue_frame(self, frame: bytes) -> None:
        if not frame or self.is_closed:
            return
        try:
            self._outbox_in.send_nowait(frame)
        except trio.WouldBlock:
            self._drop_slow_client()

    def _drop_slow_client(self) -> None:
        log.info("dropping a WebSocket client that does not read its messages")
        self.abort()


class _Server:
    """The state shared by all connections: the methods, the limits and who is connected."""

    def __init__(self, dispatcher: Dispatcher, config: RPCServerConfig, subscriptions: Subscriptions,
                 pages: dict[str, Page], limiter: RateLimiter | None) -> None:
        self.dispatcher = dispatcher
        self.config = config
        self.subscriptions = subscriptions
        self.pages = pages
        self.limiter = limiter
        self.connection_count = 0
        self.connections_by_client: Counter[str] = Counter()

    def _get_token_taker(self, client: str) -> Callable[[], bool] | None:
        limiter = self.limiter
        return None if limiter is None else lambda: limiter.take_token(client)

    async def on_connection(self, stream: trio.SocketStream) -> None:
        """Serve one TCP connection; whatever happens stays inside it."""
        try:
            client = str(stream.socket.getpeername()[0])
        except OSError:  # reset before we looked
            await trio.aclose_forcefully(stream)
            return
        if (self.connection_count >= self.config.max_connections
                or self.connections_by_client[client] >= self.config.max_connections_per_client):
            await trio.aclose_forcefully(stream)
            return
        self.connection_count += 1
        self.connections_by_client[client] += 1
        # except*: a WebSocket's reader and writer run in a nursery, which wraps what they raise.
        try:
            await self._serve_connection(stream)
        except* (_ClientGone, trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass  # the client reset, stalled or went away: nothing to answer
        except* Exception:
            log.exception("RPC connection failed")
        finally:
            self.connection_count -= 1
            self.connections_by_client[client] -= 1
            if not self.connections_by_client[client]:
                del self.connections_by_client[client]  # bounded by the connections open now
            await trio.aclose_forcefully(stream)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        client = str(stream.socket.getpeername()[0])
        deadline = trio.current_time() + self.config.read_timeout_s
        head = b""
        is_eof = False
        with trio.move_on_at(deadline) as reading:
            while not _HEAD_END.search(head) and len(head) <= MAX_HEAD_BYTES:
                chunk = await stream.receive_some(RECEIVE_BYTES)
                if not chunk:
                    is_eof = True
                    break
                head += chunk
        if reading.cancelled_caught or not head:
            return  # slowloris (the headers did not arrive in time), or closed without a word
        if _is_websocket_upgrade(head):
            await self._serve_websocket(stream, client, head)
        else:
            await self._serve_http(stream, client, head, is_eof, deadline)

    # HTTP

    async def _serve_http(self, stream: trio.SocketStream, client: str, head: bytes, is_eof: bool,
                          deadline: float) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        conn.receive_data(head)
        if is_eof:
            conn.receive_data(b"")
        while True:
            try:
                with trio.move_on_at(deadline) as reading:
                    received = await self._read_request(stream, conn)
                if reading.cancelled_caught or received is None:
                    return  # slowloris (the request did not arrive in time), or closed between requests
                request, body = received
                if body is None:
                    await self._send(stream, conn, 413, _json_error(InvalidRequest("request body too large")),
                                     "application/json", close=True)
                    await _linger(stream)
                    return
                await self._process_http_request(stream, conn, client, request, body)
            except h11.RemoteProtocolError as exc:
                reply = self._encode_plain_response(exc.error_status_hint, f"bad request: {exc}\n")
                await _send_all(stream, reply, self.config.idle_timeout_s)
                await _linger(stream)
                return
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return  # one side asked to close (Connection: close, HTTP/1.0)
            conn.start_next_cycle()
            next_deadline = await self._wait_for_next_request(stream, conn)
            if next_deadline is None:
                return
            deadline = next_deadline

    async def _wait_for_next_request(self, stream: trio.SocketStream, conn: h11.Connection) -> float | None:
        """Wait up to the idle timeout for the next request to start; its read deadline, or None to close."""
        unprocessed, _ = conn.trailing_data
        if not unprocessed:  # else a pipelined request is already here
            with trio.move_on_after(self.config.idle_timeout_s):
                data = await stream.receive_some(RECEIVE_BYTES)
                if not data:
                    return None
                conn.receive_data(data)
        if not conn.trailing_data[0]:
            return None  # idle too long
        return trio.current_time() + self.config.read_timeout_s

    async def _read_request(self, stream: trio.SocketStream,
                            conn: h11.Connection) -> tuple[h11.Request, bytes | None] | None:
        """The next request and its body (None when over the limit: the rest is left unread), or None
        when the client closed the connection instead of sending one."""
        request = await _receive_event(stream, conn)
        if not isinstance(request, h11.Request):
            return None
        return request, await self._read_body(stream, conn, request)

    async def _read_body(self, stream: trio.SocketStream, conn: h11.Connection, request: h11.Request) -> bytes | None:
        """The request body, or None as soon as it is known to be over the limit (the rest unread)."""
        limit = self.config.max_body_bytes
        declared = dict(request.headers).get(b"content-length")
        if declared is not None and int(declared) > limit:
            return None
        if conn.they_are_waiting_for_100_continue:
            await _send_all(stream, conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b"",
                            self.config.idle_timeout_s)
        parts: list[bytes] = []
        size = 0
        while True:
            event = await _receive_event(stream, conn)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    return None  # chunked: only counting tells
                parts.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            else:
                raise _ClientGone()

    async def _process_http_request(self, stream: trio.SocketStream, conn: h11.Connection, client: str,
                                    request: h11.Request, body: bytes) -> None:
        method = request.method
        if method == b"OPTIONS":
            # The CORS preflight a browser sends before a cross-origin JSON POST; free of rate limits
            # because it costs nothing and is answered the same for everyone.
            await self._send(stream, conn, 204, b"", headers=[
                ("Access-Control-Allow-Methods", "POST, GET, HEAD, OPTIONS"),
                ("Access-Control-Allow-Headers", "Content-Type"),
                ("Access-Control-Max-Age", "600"),
            ])
            return
        if method not in (b"POST", b"GET", b"HEAD"):
            await self._send(stream, conn, 405, b"method not allowed\n",
                             headers=[("Allow", "POST, GET, HEAD, OPTIONS")])
            return
        if self.limiter is not None and not self.limiter.take_token(client):
            await self._send(stream, conn, 429, _json_error(RateLimited()), "application/json")
            return
        if method == b"POST":
            context = CallContext(client=client, transport="http")
            answer = await self.dispatcher.handle_body(body, context, max_batch=self.config.max_batch,
                                                       max_depth=self.config.max_depth,
                                                       take_token=self._get_token_taker(client))
            # Only notifications: geth answers 200 with an empty body, and so do we.
            await self._send(stream, conn, 200, answer or b"", "application/json")
            return
        page = self.pages.get(request.target.split(b"?", 1)[0].decode("ascii", "replace"))
        if page is None:
            await self._send(stream, conn, 404, b"not found\n", head_only=method == b"HEAD")
            return
        try:
            content_type, content = page()
        except Exception:
            log.exception("RPC page %s failed", request.target)
            await self._send(stream, conn, 500, b"internal error\n", head_only=method == b"HEAD")
            return
        await self._send(stream, conn, 200, content, content_type, head_only=method == b"HEAD")

    async def _send(self, stream: trio.SocketStream, conn: h11.Connection, status: int, body: bytes,
                    content_type: str = "text/plain; charset=utf-8", *, headers: list[tuple[str, str]] | None = None,
                    head_only: bool = False, close: bool = False) -> None:
        all_headers = [("Access-Control-Allow-Origin", self.config.cors_origin), *(headers or [])]
        if status != 204:  # RFC 9110 §8.6: a 204 carries no Content-Length
            all_headers += [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if close:
            all_headers.append(("Connection", "close"))
        events: list[h11.Event] = [h11.Response(status_code=status, headers=all_headers,
                                                reason=HTTPStatus(status).phrase)]
        if body and not head_only:
            events.append(h11.Data(data=body))
        events.append(h11.EndOfMessage())
        await _send_all(stream, b"".join(conn.send(event) or b"" for event in events), self.config.idle_timeout_s)

    def _encode_plain_response(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> bytes:
        """A whole HTTP/1.1 response that closes the connection, for when h11 has no request to answer
        (unparseable HTTP, a refused WebSocket handshake)."""
        data = body.encode()
        head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                f"Access-Control-Allow-Origin: {self.config.cors_origin}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n")
        return head.encode() + data

    # WebSocket

    async def _serve_websocket(self, stream: trio.SocketStream, client: str, head: bytes) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.receive_data(head)
            handshake = next((event for event in ws.events() if isinstance(event, Request)), None)
        except RemoteProtocolError as exc:
            handshake = None
            log.debug("bad WebSocket handshake: %s", exc)
        refusal = None
        if handshake is None:
            refusal = self._encode_plain_response(400, "bad WebSocket handshake\n")
        elif not self._is_allowed_origin(dict(handshake.extra_headers).get(b"origin")):
            refusal = self._encode_plain_response(403, "origin not allowed\n")
        elif self.limiter is not None and not self.limiter.take_token(client):
            refusal = self._encode_plain_response(429, _json_error(RateLimited()).decode(), "application/json")
        if refusal is not None:
            await _send_all(stream, refusal, self.config.idle_timeout_s)
            await _linger(stream)
            return
        await _send_all(stream, ws.send(AcceptConnection()), self.config.idle_timeout_s)
        connection = _WebSocketClient(ws, self.config.ws_queue_size)
        try:
            with connection.cancel_scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write_websocket, stream, connection)
                    await self._read_websocket(stream, ws, connection, client)
                    connection.finish()
                    # Let the writer flush what is queued (the close frame last), but not forever.
                    nursery.cancel_scope.deadline = trio.current_time() + LINGER_S
        finally:
            connection.is_closed = True
            self.subscriptions.remove_connection(connection)

    def _is_allowed_origin(self, origin: bytes | None) -> bool:
        # Browsers always send Origin, other clients need not: only a browser page can be refused.
        return self.config.cors_origin == "*" or origin is None or origin.decode("latin-1") == self.config.cors_origin

    async def _read_websocket(self, stream: trio.SocketStream, ws: WSConnection, connection: _WebSocketClient,
                              client: str) -> None:
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                with trio.move_on_after(self.config.idle_timeout_s) as idle:
                    data = await stream.receive_some(RECEIVE_BYTES)
            except trio.BrokenResourceError:
                data = b""  # a reset: the same as a close without the WebSocket goodbye
            if idle.cancelled_caught:
                connection.send_control(CloseConnection(code=CloseReason.GOING_AWAY, reason="idle"))
                return
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    part = event.data.encode() if isinstance(event, TextMessage) else bytes(event.data)
                    size += len(part)
                    if size > self.config.max_body_bytes:
                        connection.send_control(CloseConnection(code=CloseReason.MESSAGE_TOO_BIG,
                                                                reason="message too large"))
                        return
                    parts.append(part)
                    if event.message_finished:
                        await self._process_websocket_message(connection, client, b"".join(parts))
                        parts, size = [], 0
                elif isinstance(event, Ping):
                    connection.send_control(event.response())
                elif isinstance(event, CloseConnection):
                    connection.send_control(event.response())  # a no-op when the TCP connection is gone
                    return
            if not data:
                return

    async def _process_websocket_message(self, connection: _WebSocketClient, client: str, body: bytes) -> None:
        if self.limiter is not None and not self.limiter.take_token(client):
            await connection.send_response(_json_error(RateLimited()))
            return
        connection.hold()
        context = CallContext(client=client, transport="ws", connection=connection)
        answer = await self.dispatcher.handle_body(body, context, max_batch=self.config.max_batch,
                                                   max_depth=self.config.max_depth,
                                                   take_token=self._get_token_taker(client))
        if answer is not None:
            await connection.send_response(answer)
        connection.release()

    async def _write_websocket(self, stream: trio.SocketStream, connection: _WebSocketClient) -> None:
        """The one task that writes to the socket; pings a quiet client so it can prove it is alive."""
        ping_interval = self.config.idle_timeout_s / 2
        while True:
            with trio.move_on_after(ping_interval) as quiet:
                try:
                    frame = await connection.outbox.receive()
                except trio.EndOfChannel:
                    return
            if quiet.cancelled_caught:
                connection.send_control(Ping())
                continue
            try:
                await _send_all(stream, frame, self.config.idle_timeout_s)
            except (_ClientGone, trio.BrokenResourceError, trio.ClosedResourceError):
                connection.abort()
                return


_HEAD_END = re.compile(rb"\r?\n\r?\n")


def _is_websocket_upgrade(head: bytes) -> bool:
    """Whether a request's headers ask for a WebSocket (``Upgrade: websocket``, any case)."""
    header_lines = _HEAD_END.split(head, maxsplit=1)[0].split(b"\n")[1:]
    for line in header_lines:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and b"websocket" in value.lower():
            return True
    return False


async def _receive_event(stream: trio.SocketStream, conn: h11.Connection) -> h11.Event:
    """The next HTTP event, reading from the socket as h11 needs."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(RECEIVE_BYTES))
        elif event is h11.PAUSED:
            # Only after a request that proposed an upgrade mid-connection: not something we serve.
            raise _ClientGone()
        else:
            assert isinstance(event, h11.Event)  # for mypy: the sentinels are handled above
            return event


async def _send_all(stream: trio.SocketStream, data: bytes, timeout_s: float) -> None:
    """Write, giving up on a client that stops reading (it would hold the connection forever)."""
    with trio.move_on_after(timeout_s) as stalled:
        await stream.send_all(data)
    if stalled.cancelled_caught:
        raise _ClientGone()


async def _linger(stream: trio.SocketStream) -> None:
    """Close after an error reply: signal end of data, then discard what the client still sends."""
    with trio.move_on_after(LINGER_S):
        await stream.send_eof()
        while await stream.receive_some(RECEIVE_BYTES):
            pass


def _json_error(error: RPCError) -> bytes:
    """A JSON-RPC error body for a request refused before it was read (no id is known: null)."""
    return encode_json({"jsonrpc": "2.0", "id": None, "error": error.to_json_object()})


