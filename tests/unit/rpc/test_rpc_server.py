"""The RPC server on 127.0.0.1 (port 0): HTTP and WebSocket, the limits, and hostile clients.

Each test runs one real server under ``trio.run``. HTTP clients are raw trio sockets (with h11 to
parse replies); WebSocket clients are the ``websockets`` sync client in a thread, or wsproto over a
raw socket where the test must see frames (pings). Waiting is on events with deadlines, never on
sleeps; the rate limiter runs on an injected clock.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import h11
import pytest
import trio
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Event, Ping, Request, TextMessage

from harmony_node.rpc.dispatch import CallContext, Dispatcher, Handler
from harmony_node.rpc.errors import InvalidParams
from harmony_node.rpc.server import Page, RPCServerConfig, serve_rpc
from harmony_node.rpc.subscriptions import Subscriptions, register_subscription_methods

TEST_DEADLINE_S = 20.0


def _fail(params: list[Any], context: CallContext) -> object:
    if params == ["params"]:
        raise InvalidParams("bad", data={"index": 0})
    raise RuntimeError("secret detail")


def _dispatcher(subscriptions: Subscriptions) -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.register("echo", lambda params, context: params)
    dispatcher.register("whoami", lambda params, context: [context.client, context.transport])
    dispatcher.register("fail", _fail)
    register_subscription_methods(dispatcher, subscriptions)
    return dispatcher


Scenario = Callable[[int, Subscriptions], Awaitable[None]]


def _run(scenario: Scenario, config: RPCServerConfig | None = None, pages: Mapping[str, Page] | None = None,
         clock: Callable[[], float] = time.monotonic,
         extra_methods: Callable[[Subscriptions], Mapping[str, Handler]] | None = None) -> None:
    async def main() -> None:
        subscriptions = Subscriptions()
        dispatcher = _dispatcher(subscriptions)
        for name, handler in (extra_methods(subscriptions) if extra_methods else {}).items():
            dispatcher.register(name, handler)
        server = partial(serve_rpc, dispatcher, config or RPCServerConfig(port=0), subscriptions, pages, clock=clock)
        with trio.fail_after(TEST_DEADLINE_S):
            async with trio.open_nursery() as nursery:
                port = await nursery.start(server)
                await scenario(port, subscriptions)
                nursery.cancel_scope.cancel()

    trio.run(main)


def _rpc(method: str, params: list[Any] | None = None, request_id: object = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpClient:
    """One keep-alive HTTP/1.1 connection, replies parsed by h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, port: int) -> HttpClient:
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def request(self, method: str, target: str = "/", body: bytes = b"",
                      headers: list[tuple[str, str]] | None = None) -> Reply:
        all_headers = [("Host", "test"), ("Content-Length", str(len(body))), *(headers or [])]
        data = self.conn.send(h11.Request(method=method, target=target, headers=all_headers)) or b""
        data += (self.conn.send(h11.Data(data=body)) or b"") if body else b""
        data += self.conn.send(h11.EndOfMessage()) or b""
        await self.stream.send_all(data)
        status, reply_headers, parts = 0, {}, []
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                reply_headers = {name.decode(): value.decode() for name, value in event.headers}
            elif isinstance(event, h11.Data):
                parts.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"unexpected {event}")
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        return Reply(status, reply_headers, b"".join(parts))

    async def post(self, payload: object) -> Reply:
        return await self.request("POST", body=json.dumps(payload).encode(),
                                  headers=[("Content-Type", "application/json")])

    async def aclose(self) -> None:
        await self.stream.aclose()


async def _request_once(port: int, method: str, target: str = "/", body: bytes = b"",
                        headers: list[tuple[str, str]] | None = None) -> Reply:
    client = await HttpClient.open(port)
    try:
        return await client.request(method, target, body, headers)
    finally:
        await client.aclose()


async def _post(port: int, payload: object) -> Reply:
    return await _request_once(port, "POST", body=json.dumps(payload).encode())


async def _raw_exchange(port: int, data: bytes, *, shut_write: bool = False) -> bytes:
    """Send ``data`` and read until the server closes (a reset after its reply counts as closed)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        try:
            await stream.send_all(data)
            if shut_write:
                await stream.send_eof()
        except trio.BrokenResourceError:
            pass
        reply = b""
        try:
            while chunk := await stream.receive_some(65536):
                reply += chunk
        except trio.BrokenResourceError:
            pass
    return reply


async def _wait_until_closed(stream: trio.SocketStream) -> None:
    """Read until the server closes the connection (EOF or reset); fails if it sends anything."""
    try:
        assert await stream.receive_some(65536) == b""
    except trio.BrokenResourceError:
        pass


async def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll a condition the server changes on its own schedule (the test deadline bounds it)."""
    while not condition():
        await trio.sleep(0.01)


# HTTP: the JSON-RPC exchange


def test_single_call_batch_and_notifications() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        reply = await _post(port, _rpc("whoami"))
        assert reply.status == 200 and reply.headers["content-type"] == "application/json"
        assert reply.headers["access-control-allow-origin"] == "*"
        assert reply.json() == {"jsonrpc": "2.0", "id": 1, "result": ["127.0.0.1", "http"]}

        batch = [_rpc("echo", [1], "a"), {"jsonrpc": "2.0", "method": "echo"}, _rpc("echo", [2], 2)]
        assert [item["id"] for item in (await _post(port, batch)).json()] == ["a", 2]

        # Only notifications: geth answers 200 with an empty body.
        reply = await _post(port, [{"jsonrpc": "2.0", "method": "echo"}, {"jsonrpc": "2.0", "method": "echo"}])
        assert (reply.status, reply.body, reply.headers["content-length"]) == (200, b"", "0")
        reply = await _post(port, {"jsonrpc": "2.0", "method": "echo"})
        assert (reply.status, reply.body) == (200, b"")

    _run(scenario)


def test_errors_are_json_rpc_errors_over_http() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        parse = await _request_once(port, "POST", body=b'{"jsonrpc":')
        assert parse.status == 200 and parse.json()["error"]["code"] == -32700 and parse.json()["id"] is None
        shapes = await _post(port, [{"jsonrpc": "2.0", "id": 3}, 5, {"jsonrpc": "2.0", "id": 4, "method": 1}])
        assert [(item["id"], item["error"]["code"]) for item in shapes.json()] == [(3, -32600), (None, -32600),
                                                                                    (4, -32600)]
        unknown = (await _post(port, _rpc("nope"))).json()["error"]
        assert unknown == {"code": -32601, "message": "the method nope does not exist/is not available"}
        assert (await _post(port, _rpc("fail", ["params"]))).json()["error"] == {
            "code": -32602, "message": "bad", "data": {"index": 0}}
        internal = await _post(port, _rpc("fail"))
        assert internal.json()["error"] == {"code": -32603, "message": "internal error"}
        assert b"secret" not in internal.body
        subscribe = (await _post(port, _rpc("eth_subscribe", ["newHeads"]))).json()["error"]
        assert subscribe == {"code": -32000, "message": "notifications not supported"}

    _run(scenario)


def test_depth_and_batch_limits_over_http() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        deep = b'{"jsonrpc":"2.0","id":1,"method":"echo","params":' + b"[" * 5 + b"]" * 5 + b"}"
        assert (await _request_once(port, "POST", body=deep)).json()["error"]["code"] == -32600
        assert (await _post(port, [_rpc("echo")] * 3)).json() == {
            "jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch too large (3 > 2)"}}
        assert len((await _post(port, [_rpc("echo")] * 2)).json()) == 2

    _run(scenario, RPCServerConfig(port=0, max_depth=4, max_batch=2))


def test_keep_alive_and_pipelining() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        client = await HttpClient.open(port)
        assert (await client.post(_rpc("echo", [1]))).json()["result"] == [1]
        assert (await client.post(_rpc("echo", [2]))).json()["result"] == [2]
        await client.aclose()

        body = json.dumps(_rpc("echo", ["p"])).encode()
        request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
        pipelined = request + b"\r\n" + body + request + b"Connection: close\r\n\r\n" + body
        replies = await _raw_exchange(port, pipelined)
        assert replies.count(b"HTTP/1.1 200 OK") == 2 and replies.count(b'"result":["p"]') == 2

    _run(scenario)


def test_expect_100_continue() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        body = json.dumps(_rpc("echo", [7])).encode()
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                  b"Content-Length: %d\r\n\r\n" % len(body))
            assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 100 ")
            await stream.send_all(body)
            reply = b""
            while b'"result"' not in reply:
                reply += await stream.receive_some(65536)
            assert reply.startswith(b"HTTP/1.1 200 OK") and b'"result":[7]' in reply

    _run(scenario)


# HTTP: routes


def test_preflight_405_404_and_pages() -> None:
    def failing_page() -> tuple[str, bytes]:
        raise RuntimeError("page bug")

    pages = {"/explorer": lambda: ("text/html; charset=utf-8", b"<h1>blocks</h1>"), "/broken": failing_page}

    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        preflight = await _request_once(port, "OPTIONS", headers=[
            ("Origin", "http://example.com"), ("Access-Control-Request-Method", "POST")])
        assert preflight.status == 204 and preflight.body == b""
        assert preflight.headers["access-control-allow-origin"] == "https://explorer.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "Content-Type" in preflight.headers["access-control-allow-headers"]

        not_allowed = await _request_once(port, "PUT", body=b"{}")
        assert not_allowed.status == 405 and "POST" in not_allowed.headers["allow"]
        assert not_allowed.headers["access-control-allow-origin"] == "https://explorer.example"
        assert (await _request_once(port, "DELETE")).status == 405

        missing = await _request_once(port, "GET", "/nothing")
        assert missing.status == 404 and missing.headers["access-control-allow-origin"] == "https://explorer.example"
        assert (await _request_once(port, "GET", "/")).status == 404

        page = await _request_once(port, "GET", "/explorer?block=1")
        assert (page.status, page.body, page.headers["content-type"]) == (
            200, b"<h1>blocks</h1>", "text/html; charset=utf-8")
        head = await _request_once(port, "HEAD", "/explorer")
        assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "15")
        assert (await _request_once(port, "GET", "/broken")).status == 500

    _run(scenario, RPCServerConfig(port=0, cors_origin="https://explorer.example"), pages=pages)


# HTTP: limits and hostile clients


def test_oversized_body_is_refused_without_reading_it() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        # Declares a gigabyte and sends a few bytes: the answer comes without the rest being sent.
        declared = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"
        reply = await _raw_exchange(port, declared + b"[" * 100)
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head.lower()
        assert json.loads(body) == {"jsonrpc": "2.0", "id": None,
                                    "error": {"code": -32600, "message": "request body too large"}}
        # Chunked bodies have no length up front: refused once the count passes the limit.
        chunk = b"400\r\n" + b" " * 0x400 + b"\r\n"
        chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        reply = await _raw_exchange(port, chunked + chunk * 3)
        assert reply.startswith(b"HTTP/1.1 413 ")
        # At the limit is fine.
        exact = json.dumps(_rpc("echo", ["x" * 100])).encode()
        exact += b" " * (2048 - len(exact))
        assert (await _request_once(port, "POST", body=exact)).status == 200
        assert (await _request_once(port, "POST", body=exact + b" ")).status == 413

    _run(scenario, RPCServerConfig(port=0, max_body_bytes=2048))


def test_rate_limit_then_recovery() -> None:
    now = [1000.0]

    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        client = await HttpClient.open(port)
        assert (await client.post(_rpc("echo"))).status == 200
        assert (await client.post(_rpc("echo"))).status == 200  # burst of 2
        limited = await client.post(_rpc("echo"))
        assert limited.status == 429 and limited.headers["access-control-allow-origin"] == "*"
        assert limited.json()["error"] == {"code": -32005, "message": "request rate limit exceeded"}
        assert (await client.request("OPTIONS")).status == 204  # preflights are not counted
        now[0] += 0.5  # one token back at 2 a second
        assert (await client.post(_rpc("echo", [1]))).json()["result"] == [1]
        assert (await client.post(_rpc("echo"))).status == 429
        now[0] += 10  # refills to the burst, not beyond
        assert [(await client.post(_rpc("echo"))).status for _ in range(3)] == [200, 200, 429]
        await client.aclose()

    _run(scenario, RPCServerConfig(port=0, rate_limit_per_s=2.0), clock=lambda: now[0])


def test_every_call_of_a_batch_counts_against_the_rate_limit() -> None:
    """A batch of 100 calls is 100 requests: otherwise batching multiplies the limit a hundredfold."""
    now = [1000.0]

    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        client = await HttpClient.open(port)
        answers = (await client.post([_rpc("echo", [i], i) for i in range(5)])).json()
        assert [a.get("result") for a in answers] == [[0], [1], [2], None, None]  # a burst of 3
        assert [a["id"] for a in answers] == [0, 1, 2, 3, 4]
        assert [a["error"]["code"] for a in answers[3:]] == [-32005, -32005]
        assert (await client.post(_rpc("echo"))).status == 429  # the batch spent the bucket
        now[0] += 1.0
        assert (await client.post(_rpc("echo", [9]))).json()["result"] == [9]
        await client.aclose()

    _run(scenario, RPCServerConfig(port=0, rate_limit_per_s=3.0), clock=lambda: now[0])


def test_slow_requests_are_cut_off() -> None:
    read_timeout_s = 0.3

    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        for partial_request in (b"", b"POST / HTTP/1.1\r\nHost: x\r\n",
                                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\""):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                started = trio.current_time()
                await stream.send_all(partial_request)
                await _wait_until_closed(stream)
                assert trio.current_time() - started >= read_timeout_s * 0.9
        assert (await _post(port, _rpc("echo"))).status == 200

    _run(scenario, RPCServerConfig(port=0, read_timeout_s=read_timeout_s))


def test_idle_keep_alive_connections_are_closed() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        client = await HttpClient.open(port)
        assert (await client.post(_rpc("echo"))).status == 200
        started = trio.current_time()
        await _wait_until_closed(client.stream)
        assert trio.current_time() - started >= 0.25

    _run(scenario, RPCServerConfig(port=0, idle_timeout_s=0.3))


def test_bad_http_gets_400_and_the_server_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        garbage = await _raw_exchange(port, b"\x00\x01\x02garbage\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400 ") and b"access-control-allow-origin: *" in garbage.lower()
        assert (await _raw_exchange(port, b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
        assert (await _raw_exchange(port, b"\xff" * 100, shut_write=True)).startswith(b"HTTP/1.1 400 ")
        too_long = await _raw_exchange(port, b"GET / HTTP/1.1\r\nX: " + b"a" * 40_000)
        assert too_long.startswith(b"HTTP/1.1 431 ") or not too_long  # or reset before the reply was read
        assert (await _raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")).startswith(
            b"HTTP/1.1 400 ")  # an upgrade without the WebSocket handshake headers
        assert (await _post(port, _rpc("echo", [1]))).json()["result"] == [1]

    with caplog.at_level(logging.WARNING, logger="harmony_node.rpc"):
        _run(scenario)
    assert not caplog.records  # hostile input is answered, not logged as a failure


def test_connections_over_the_limit_are_closed_at_once() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        first, second = await HttpClient.open(port), await HttpClient.open(port)
        assert (await first.post(_rpc("echo"))).status == 200  # both are being served now
        assert (await second.post(_rpc("echo"))).status == 200
        refused = await trio.open_tcp_stream("127.0.0.1", port)
        await _wait_until_closed(refused)
        await refused.aclose()
        await first.aclose()

        async def is_served() -> bool:
            try:
                return (await _post(port, _rpc("echo"))).status == 200
            except (trio.BrokenResourceError, h11.RemoteProtocolError):
                return False  # the server has not seen the first client leave yet

        while not await is_served():
            await trio.sleep(0.01)
        await second.aclose()

    _run(scenario, RPCServerConfig(port=0, max_connections=2))


def test_one_client_cannot_hold_every_connection() -> None:
    """A client (one IP) at its own cap is refused further connections while another IP is still served:
    a slowloris from one address does not lock everyone out."""
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        held = [await HttpClient.open(port) for _ in range(2)]
        for client in held:
            assert (await client.post(_rpc("echo"))).status == 200
        refused = await trio.open_tcp_stream("127.0.0.1", port)
        await _wait_until_closed(refused)
        await refused.aclose()
        other = trio.socket.socket()
        await other.bind(("127.0.0.2", 0))  # another client address on loopback
        await other.connect(("127.0.0.1", port))
        stream = trio.SocketStream(other)
        body = json.dumps(_rpc("echo", [7])).encode()
        await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        reply = b""
        while chunk := await stream.receive_some(65536):
            reply += chunk
        await stream.aclose()
        assert reply.startswith(b"HTTP/1.1 200 ") and b'"result":[7]' in reply.replace(b" ", b""), reply
        for client in held:
            await client.aclose()

    _run(scenario, RPCServerConfig(port=0, max_connections=10, max_connections_per_client=2))


# WebSocket


async def _ws_connect(port: int, **options: Any) -> ClientConnection:
    return await trio.to_thread.run_sync(partial(connect, f"ws://127.0.0.1:{port}/", open_timeout=5, **options))


async def _ws_call(ws: ClientConnection, payload: object) -> Any:
    await trio.to_thread.run_sync(ws.send, json.dumps(payload))
    return await _ws_receive(ws)


async def _ws_receive(ws: ClientConnection) -> Any:
    return json.loads(await trio.to_thread.run_sync(partial(ws.recv, timeout=5)))


def test_websocket_calls_and_subscriptions() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        ws = await _ws_connect(port)
        assert (await _ws_call(ws, _rpc("whoami")))["result"] == ["127.0.0.1", "ws"]
        assert [item["id"] for item in await _ws_call(ws, [_rpc("echo", [], 1), _rpc("echo", [], 2)])] == [1, 2]
        assert (await _ws_call(ws, _rpc("nope")))["error"]["code"] == -32601
        assert (await _ws_call(ws, "not a request"))["error"]["code"] == -32600

        subscription_id = (await _ws_call(ws, _rpc("eth_subscribe", ["newHeads"])))["result"]
        hmy_id = (await _ws_call(ws, _rpc("hmy_subscribe", ["newPendingTransactions"])))["result"]
        subscriptions.publish("newHeads", {"number": "0x5"})
        subscriptions.publish("newPendingTransactions", "0xfeed")
        assert await _ws_receive(ws) == {"jsonrpc": "2.0", "method": "eth_subscription",
                                         "params": {"subscription": subscription_id, "result": {"number": "0x5"}}}
        assert await _ws_receive(ws) == {"jsonrpc": "2.0", "method": "hmy_subscription",
                                         "params": {"subscription": hmy_id, "result": "0xfeed"}}

        assert (await _ws_call(ws, _rpc("eth_unsubscribe", [subscription_id])))["result"] is True
        subscriptions.publish("newHeads", {"number": "0x6"})
        # The next message is the answer to this call: no notification came after unsubscribing.
        assert (await _ws_call(ws, _rpc("echo", ["after"])))["result"] == ["after"]
        assert subscriptions.get_subscription_count() == 1

        await trio.to_thread.run_sync(ws.close)
        await _wait_for(lambda: subscriptions.get_subscription_count() == 0)

    _run(scenario)


def test_websocket_notifications_wait_for_the_subscribe_answer() -> None:
    def publish_now(subscriptions: Subscriptions) -> Mapping[str, Handler]:
        async def handler(params: list[Any], context: CallContext) -> object:
            # Published while the batch that subscribed is still being answered.
            subscriptions.publish("newHeads", "early")
            await trio.lowlevel.checkpoint()
            return True

        return {"publish_now": handler}

    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        ws = await _ws_connect(port)
        answer = await _ws_call(ws, [_rpc("eth_subscribe", ["newHeads"], 1), _rpc("publish_now", [], 2)])
        assert [item["id"] for item in answer] == [1, 2]
        assert (await _ws_receive(ws))["params"]["result"] == "early"
        await trio.to_thread.run_sync(ws.close)

    _run(scenario, extra_methods=publish_now)


def test_slow_websocket_consumer_is_dropped() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        slow = await _ws_connect(port)
        fine = await _ws_connect(port)
        assert "result" in await _ws_call(slow, _rpc("eth_subscribe", ["newHeads"]))
        for number in range(10):  # more than the queue holds, with no chance for the writer to send
            subscriptions.publish("newHeads", number)
        await _wait_for(lambda: subscriptions.get_subscription_count() == 0)
        with pytest.raises(ConnectionClosed):
            await trio.to_thread.run_sync(partial(slow.recv, timeout=5))
        assert (await _ws_call(fine, _rpc("echo", [1])))["result"] == [1]
        await trio.to_thread.run_sync(fine.close)

    _run(scenario, RPCServerConfig(port=0, ws_queue_size=4))


def test_websocket_limits() -> None:
    now = [0.0]

    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        ws = await _ws_connect(port)  # the upgrade takes the only token
        now[0] += 1
        assert (await _ws_call(ws, _rpc("echo")))["result"] == []
        assert (await _ws_call(ws, _rpc("echo")))["error"] == {"code": -32005, "message": "request rate limit exceeded"}
        now[0] += 1
        too_big = json.dumps(_rpc("echo", ["x" * 2000]))
        await trio.to_thread.run_sync(ws.send, too_big)
        with pytest.raises(ConnectionClosed) as closed:
            await trio.to_thread.run_sync(partial(ws.recv, timeout=5))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

        now[0] += 1
        with pytest.raises(InvalidStatus) as refused:
            await _ws_connect(port, origin="https://evil.example")
        assert refused.value.response.status_code == 403

    _run(scenario, RPCServerConfig(port=0, max_body_bytes=1024, rate_limit_per_s=1.0,
                                   cors_origin="https://explorer.example"), clock=lambda: now[0])


async def _raw_ws_connect(port: int) -> tuple[trio.SocketStream, WSConnection]:
    """A wsproto client on a raw socket, for tests that must see (or withhold) frames."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    client = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(client.send(Request(host="test", target="/")))
    events: list[Event] = []
    while not events:
        client.receive_data(await stream.receive_some(65536))
        events.extend(client.events())
    assert isinstance(events[0], AcceptConnection)
    return stream, client


def test_websocket_client_that_vanishes_loses_its_subscriptions(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        stream, client = await _raw_ws_connect(port)
        await stream.send_all(client.send(TextMessage(data=json.dumps(_rpc("hmy_subscribe", ["newHeads"])))))
        await _wait_for(lambda: subscriptions.get_subscription_count() == 1)
        await trio.aclose_forcefully(stream)  # no close frame
        await _wait_for(lambda: subscriptions.get_subscription_count() == 0)
        subscriptions.publish("newHeads", 1)

    with caplog.at_level(logging.WARNING, logger="harmony_node.rpc"):
        _run(scenario)
    assert not caplog.records


def test_quiet_websocket_is_pinged_then_closed_if_it_never_answers() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        stream, client = await _raw_ws_connect(port)
        seen: list[Event] = []
        while not any(isinstance(event, Ping) for event in seen):
            data = await stream.receive_some(65536)
            assert data, "closed before pinging"
            client.receive_data(data)
            seen.extend(client.events())
        # We never answer the ping: the server gives up after the idle timeout.
        while not any(isinstance(event, CloseConnection) for event in seen):
            try:
                data = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                break
            client.receive_data(data or None)
            seen.extend(client.events())
        await stream.aclose()

    _run(scenario, RPCServerConfig(port=0, idle_timeout_s=0.4))


def test_websocket_on_the_same_port_as_http() -> None:
    async def scenario(port: int, subscriptions: Subscriptions) -> None:
        ws = await _ws_connect(port)
        assert (await _post(port, _rpc("echo", ["http"]))).json()["result"] == ["http"]
        assert (await _ws_call(ws, _rpc("echo", ["ws"])))["result"] == ["ws"]
        await trio.to_thread.run_sync(ws.close)

    _run(scenario)
