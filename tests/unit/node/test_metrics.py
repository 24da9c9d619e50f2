"""The metrics endpoint: Prometheus text on GET /metrics, clear errors otherwise, bounded reads."""

from __future__ import annotations

import trio

from harmony_node.node.metrics import MAX_REQUEST_BYTES, Metrics, serve_metrics


def test_render_is_prometheus_text() -> None:
    metrics = Metrics()
    metrics.set("hmy_chain_height", 42, shard=0)
    metrics.set("hmy_chain_height", 7, shard=1)
    metrics.increment("hmy_consensus_view_changes_total", shard=2)
    metrics.set("hmy_block_interval_seconds", 1.25, shard=0)
    metrics.set("hmy_p2p_peers", 3)
    text = metrics.render()
    assert '# TYPE hmy_chain_height gauge\nhmy_chain_height{shard="0"} 42\nhmy_chain_height{shard="1"} 7\n' in text
    assert 'hmy_consensus_view_changes_total{shard="2"} 1\n' in text
    assert 'hmy_block_interval_seconds{shard="0"} 1.25\n' in text
    assert "hmy_p2p_peers 3\n" in text
    assert metrics.get("hmy_chain_height", 1) == 7
    metrics.set_leader(0, b"\x01" * 48)
    metrics.set_leader(0, b"\x02" * 48)
    metrics.set_leader(1, b"\x03" * 48)
    leaders = [line for line in metrics.render().splitlines() if line.startswith("hmy_consensus_leader{")]
    assert leaders == [f'hmy_consensus_leader{{shard="0",key="0x{"02" * 48}"}} 1',
                       f'hmy_consensus_leader{{shard="1",key="0x{"03" * 48}"}} 1']


async def _request(port: int, data: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        try:
            await stream.send_all(data)
        except trio.BrokenResourceError:  # the server stopped reading a too-large request
            pass
        reply = b""
        try:
            while chunk := await stream.receive_some(65536):
                reply += chunk
        except trio.BrokenResourceError:  # reset: the server closed with our excess bytes unread
            pass
    return reply


def test_server_answers_and_refuses() -> None:
    async def main() -> None:
        metrics = Metrics()
        metrics.set("hmy_p2p_peers", 3)
        async with trio.open_nursery() as nursery:
            port = await nursery.start(serve_metrics, metrics, "127.0.0.1", 0)
            ok = await _request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            assert ok.startswith(b"HTTP/1.0 200 OK") and b"hmy_p2p_peers 3" in ok
            assert (await _request(port, b"GET / HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.0 404")
            assert (await _request(port, b"POST /metrics HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.0 405")
            assert (await _request(port, b"garbage\r\n\r\n")).startswith(b"HTTP/1.0 405")
            huge = b"GET /metrics HTTP/1.1\r\nX: " + b"a" * (MAX_REQUEST_BYTES * 2)
            refused = await _request(port, huge)
            assert refused.startswith(b"HTTP/1.0 431") or not refused  # or reset before the reply arrived
            assert (await _request(port, b"GET /metrics HTTP/1.0\r\n\r\n")).startswith(b"HTTP/1.0 200")
            nursery.cancel_scope.cancel()

    trio.run(main)
