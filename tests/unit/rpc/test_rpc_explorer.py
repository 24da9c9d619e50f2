"""The explorer page: the RPC server serves it at ``/`` and ``/explorer`` as HTML, it is self-contained
(no script, style or image from elsewhere: the machine may be offline), and every RPC method its
script calls is one the node registers, so a renamed method cannot silently blank the page.

The page's behaviour in a browser against a live localnet is ``tests/e2e/test_explorer_page.py``.
"""

from __future__ import annotations

import re

import h11
import trio

from harmony_node.chain.config import ChainConfig
from harmony_node.chain.genesis import Genesis
from harmony_node.rpc.backend import NodeInfo, RPCBackend, ShardEndpoint
from harmony_node.rpc.explorer import get_explorer_page, get_explorer_pages
from harmony_node.rpc.namespaces import build_dispatcher
from harmony_node.rpc.server import RPCServerConfig, serve_rpc
from harmony_node.rpc.subscriptions import Subscriptions

GENESIS = Genesis("localnet", ChainConfig(num_shards=3, blocks_per_epoch=4), 1_700_000_000, b"", ())
DEADLINE_S = 20.0


def _build_backend() -> RPCBackend:
    """A node with no chain open: enough to list methods and serve pages."""
    info = NodeInfo("0.1.0", "12D3KooWtest", "ExplorerNode", (), 1_700_000_000)
    endpoints = tuple(ShardEndpoint(s, f"http://127.0.0.1:{9500 + 2 * s}", f"ws://127.0.0.1:{9500 + 2 * s}")
                      for s in range(3))
    return RPCBackend(0, GENESIS, info, endpoints, lambda shard: None, lambda shard: None)


async def _get(port: int, method: str, target: str) -> tuple[h11.Response, bytes]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        conn = h11.Connection(h11.CLIENT)
        await stream.send_all(conn.send(h11.Request(method=method, target=target, headers=[("Host", "test")])) or b"")
        await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
        response: h11.Response | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                return response, body


def test_rpc_server_serves_the_page_at_root_and_explorer() -> None:
    subscriptions = Subscriptions()
    dispatcher = build_dispatcher(_build_backend(), subscriptions)
    replies: dict[str, tuple[h11.Response, bytes]] = {}

    async def main() -> None:
        with trio.fail_after(DEADLINE_S):
            async with trio.open_nursery() as nursery:
                port = await nursery.start(serve_rpc, dispatcher, RPCServerConfig(port=0), subscriptions,
                                           get_explorer_pages())
                for target in ("/", "/explorer", "/?refresh=1"):
                    replies[target] = await _get(port, "GET", target)
                replies["HEAD /"] = await _get(port, "HEAD", "/")
                nursery.cancel_scope.cancel()

    trio.run(main)
    expected = get_explorer_page()[1]
    for target in ("/", "/explorer", "/?refresh=1"):
        response, body = replies[target]
        headers = dict(response.headers)
        assert response.status_code == 200, target
        assert headers[b"content-type"] == b"text/html; charset=utf-8"
        assert headers[b"access-control-allow-origin"] == b"*"
        assert body == expected
    head, head_body = replies["HEAD /"]
    assert head.status_code == 200 and head_body == b""
    assert dict(head.headers)[b"content-length"] == str(len(expected)).encode()


def test_page_is_self_contained_html() -> None:
    content_type, body = get_explorer_page()
    page = body.decode("utf-8")
    assert content_type == "text/html; charset=utf-8"
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for section in ("chains", "committees", "view-changes", "cx-receipts", "tps-chart"):
        assert f'id="{section}"' in page
    # Nothing fetched from another origin: no src/href attributes, no @import, no absolute URLs.
    assert not re.search(r"""\b(src|href)\s*=|@import|url\(|https?://(?!www\.w3\.org/2000/svg)""", page)


def test_page_calls_only_methods_the_node_serves() -> None:
    page = get_explorer_page()[1].decode("utf-8")
    called = set(re.findall(r'"(hmyv2_\w+)"', page))
    assert {"hmyv2_getShardingStructure", "hmyv2_latestHeader", "hmyv2_getBlocks", "hmyv2_getBlockSignerKeys",
            "hmyv2_getSuperCommittees", "hmyv2_getPendingCXReceipts", "hmyv2_getNodeMetadata"} <= called
    dispatcher = build_dispatcher(_build_backend(), Subscriptions())
    assert sorted(name for name in called if not dispatcher.has(name)) == []
