"""``hmy balances``, ``blockchain`` and ``utility``: the method and params each sends, its output, and how
failures of the node or the network reach the user (one line on stderr, exit status 1)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hmy_stub_node import LOCALNET_ONE, RpcFailure, StubNode, run_stub_network

from cli.client import main as hmy
from cli.rpc_client import normalize_node_url

TX_HASH = "0x" + "ab" * 32
VALIDATOR_HEX = "0x0B585F8DaEfBC68a311FbD4cB20d9174aD174016"
VALIDATOR_ONE = "one1pdv9lrdwl0rg5vglh4xtyrv3wjk3wsqket7zxy"


@pytest.fixture
def shards() -> Iterator[list[StubNode]]:
    with run_stub_network(shards=3) as nodes:
        yield nodes


def _hmy(node: StubNode | str, *args: str) -> Result:
    url = node.url if isinstance(node, StubNode) else node
    return CliRunner().invoke(hmy, ["--node", url, *args])


def test_balances_asks_every_shard(shards: list[StubNode]) -> None:
    for shard, atto in zip(shards, (10_000_000_000 * 10**18, 15 * 10**17, 0)):
        shard.answers["hmyv2_getBalance"] = atto
    result = _hmy(shards[1], "--json", "balances", "0xA5241513DA9F4463F1d4874b548dFBAC29D91f34")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"shard": 0, "amount": "10000000000", "atto": str(10_000_000_000 * 10**18)},
        {"shard": 1, "amount": "1.5", "atto": str(15 * 10**17)},
        {"shard": 2, "amount": "0", "atto": "0"},
    ]
    assert shards[1].methods == ["hmyv2_getShardingStructure", "hmyv2_getBalance"]
    for shard in shards:
        assert shard.params_of("hmyv2_getBalance") == [LOCALNET_ONE]
    readable = _hmy(shards[0], "balances", LOCALNET_ONE)
    assert readable.stdout.splitlines() == ["shard 0: 10000000000 ONE", "shard 1: 1.5 ONE", "shard 2: 0 ONE"]


QUERIES: list[tuple[list[str], str, list[Any]]] = [
    (["blockchain", "block", "12"], "hmyv2_getBlockByNumber",
     [12, {"fullTx": False, "inclStaking": False, "withSigners": False}]),
    (["blockchain", "block", "latest", "--full"], "hmyv2_getBlockByNumber",
     ["latest", {"fullTx": True, "inclStaking": True, "withSigners": False}]),
    (["blockchain", "transaction", TX_HASH], "hmyv2_getTransactionByHash", [TX_HASH]),
    (["blockchain", "receipt", TX_HASH.removeprefix("0x")], "hmyv2_getTransactionReceipt", [TX_HASH]),
    (["blockchain", "cx-receipt", TX_HASH], "hmyv2_getCXReceiptByHash", [TX_HASH]),
    (["blockchain", "latest-header"], "hmyv2_latestHeader", []),
    (["blockchain", "median-stake"], "hmyv2_getMedianRawStakeSnapshot", []),
    (["blockchain", "committees"], "hmyv2_getSuperCommittees", []),
    (["blockchain", "pool"], "hmyv2_getPoolStats", []),
    (["blockchain", "gas-price"], "hmyv2_gasPrice", []),
    (["blockchain", "validator", "information", VALIDATOR_HEX], "hmyv2_getValidatorInformation", [VALIDATOR_ONE]),
    (["blockchain", "validator", "all"], "hmyv2_getAllValidatorAddresses", []),
    (["blockchain", "validator", "elected"], "hmyv2_getElectedValidatorAddresses", []),
    (["blockchain", "delegation", "by-delegator", LOCALNET_ONE], "hmyv2_getDelegationsByDelegator", [LOCALNET_ONE]),
    (["blockchain", "delegation", "by-validator", VALIDATOR_ONE], "hmyv2_getDelegationsByValidator", [VALIDATOR_ONE]),
    (["utility", "metadata"], "hmyv2_getNodeMetadata", []),
    (["utility", "pending-crosslinks"], "hmy_getPendingCrossLinks", []),
    (["utility", "pending-cx-receipts"], "hmyv2_getPendingCXReceipts", []),
]


@pytest.mark.parametrize(("args", "method", "params"), QUERIES, ids=[" ".join(q[0][:3])[:40] for q in QUERIES])
def test_each_query_is_one_method(shards: list[StubNode], args: list[str], method: str, params: list[Any]) -> None:
    answer = {"answer-of": method, "big": 10**30, "nested": [{"shardID": 1}]}
    shards[0].answers[method] = answer
    machine = _hmy(shards[0], "--json", *args)
    assert machine.exit_code == 0, machine.output
    assert json.loads(machine.stdout) == answer and machine.stdout.count("\n") == 1
    assert shards[0].methods == [method] and shards[0].params_of(method) == params
    readable = _hmy(shards[0], *args)
    assert json.loads(readable.stdout) == answer and readable.stdout.count("\n") > 1  # indented


def test_address_lists_read_one_per_line(shards: list[StubNode]) -> None:
    shards[0].answers["hmyv2_getElectedValidatorAddresses"] = [LOCALNET_ONE, VALIDATOR_ONE]
    result = _hmy(shards[0], "blockchain", "validator", "elected")
    assert result.stdout.splitlines() == [LOCALNET_ONE, VALIDATOR_ONE]


def test_transaction_falls_back_to_staking_transactions(shards: list[StubNode]) -> None:
    shards[0].answers["hmyv2_getTransactionByHash"] = None
    shards[0].answers["hmyv2_getStakingTransactionByHash"] = {"type": "Delegate", "hash": TX_HASH}
    result = _hmy(shards[0], "--json", "blockchain", "transaction", TX_HASH)
    assert json.loads(result.stdout) == {"type": "Delegate", "hash": TX_HASH}
    assert shards[0].methods == ["hmyv2_getTransactionByHash", "hmyv2_getStakingTransactionByHash"]


@pytest.mark.parametrize(("args", "missing"), [
    (["blockchain", "block", "99"], "block 99 not found"),
    (["blockchain", "transaction", TX_HASH], f"transaction {TX_HASH} not found"),
    (["blockchain", "receipt", TX_HASH], f"receipt of {TX_HASH} not found"),
    (["blockchain", "validator", "information", VALIDATOR_ONE], f"validator {VALIDATOR_ONE} not found"),
])
def test_missing_objects_exit_1(shards: list[StubNode], args: list[str], missing: str) -> None:
    for method in ("hmyv2_getBlockByNumber", "hmyv2_getTransactionByHash", "hmyv2_getStakingTransactionByHash",
                   "hmyv2_getTransactionReceipt", "hmyv2_getValidatorInformation"):
        shards[0].answers[method] = None
    result = _hmy(shards[0], *args)
    assert result.exit_code == 1 and result.stderr == f"Error: node {shards[0].url}: {missing}\n"


def test_shards_lists_endpoints(shards: list[StubNode]) -> None:
    result = _hmy(shards[1], "utility", "shards")
    assert result.stdout.splitlines() == [
        f"shard 0: {shards[0].url}", f"shard 1: {shards[1].url}  (this node)", f"shard 2: {shards[2].url}"]
    machine = _hmy(shards[1], "--json", "utility", "shards")
    assert json.loads(machine.stdout) == shards[1].answers["hmyv2_getShardingStructure"]


@pytest.mark.parametrize("args", [
    ["blockchain", "block", "-1"],
    ["blockchain", "transaction", "0x1234"],
    ["blockchain", "validator", "information", "one1bad"],
    ["balances", "0x1234"],
])
def test_bad_arguments_are_usage_errors_and_send_nothing(shards: list[StubNode], args: list[str]) -> None:
    result = _hmy(shards[0], *args)
    assert result.exit_code == 2 and shards[0].calls == []


def test_json_rpc_error_is_one_line(shards: list[StubNode]) -> None:
    shards[0].answers["hmyv2_latestHeader"] = RpcFailure("header not found", code=-32000)
    result = _hmy(shards[0], "blockchain", "latest-header")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"Error: node {shards[0].url}: header not found\n"
    unknown = _hmy(shards[0], "blockchain", "pool")  # the stub has no answer: method not found
    assert unknown.exit_code == 1
    missing = "the method hmyv2_getPoolStats does not exist/is not available"
    assert unknown.stderr == f"Error: node {shards[0].url}: {missing}\n"


def test_connection_refused_is_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = _hmy(url, "blockchain", "latest-header")
    assert result.exit_code == 1
    assert result.stderr == f"Error: node {url}: connection refused (is a node running there?)\n"


class _BrokenNode:
    """An HTTP server that answers every POST with one fixed status and body."""

    def __init__(self, status: int, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.mark.parametrize(("status", "body", "message"), [
    (500, b"internal trouble", "HTTP 500 Internal Server Error"),
    (400, b'{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"request too large"}}', "request too large"),
    (200, b"<html>not json</html>", "reply is not JSON (is this a JSON-RPC endpoint?)"),
    (200, b'{"jsonrpc":"2.0","id":1}', "reply has neither a result nor an error"),
])
def test_broken_replies_are_one_line(status: int, body: bytes, message: str) -> None:
    node = _BrokenNode(status, body)
    try:
        result = _hmy(node.url, "blockchain", "latest-header")
    finally:
        node.close()
    assert result.exit_code == 1 and result.stderr == f"Error: node {node.url}: {message}\n"


def test_a_silent_node_times_out() -> None:
    # Listening without ever accepting: the request sits in the backlog and no reply comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = _hmy(url, "--timeout", "0.2", "blockchain", "latest-header")
    assert result.exit_code == 1 and result.stderr == f"Error: node {url}: no reply within 0.2 s\n"


@pytest.mark.parametrize(("given", "url"), [
    ("localhost", "http://localhost:9500"),
    ("10.0.0.5:9502", "http://10.0.0.5:9502"),
    ("https://api.s0.t.hmny.io/", "https://api.s0.t.hmny.io"),
    ("http://127.0.0.1:9504", "http://127.0.0.1:9504"),
])
def test_node_urls_as_go_sdk_reads_them(given: str, url: str) -> None:
    assert normalize_node_url(given) == url


@pytest.mark.parametrize("given", ["ftp://host", "http://", "two words", "http://[::1", "host:99999", ""])
def test_unusable_node_urls_are_usage_errors(given: str) -> None:
    result = CliRunner().invoke(hmy, ["--node", given, "blockchain", "pool"])
    assert result.exit_code == 2 and "invalid node URL" in result.stderr


def test_bare_host_and_port_reach_the_node(shards: list[StubNode]) -> None:
    shards[0].answers["hmyv2_gasPrice"] = 100_000_000_000
    result = _hmy(shards[0].url.removeprefix("http://"), "blockchain", "gas-price")
    assert result.exit_code == 0 and result.stdout.strip() == "100000000000"
