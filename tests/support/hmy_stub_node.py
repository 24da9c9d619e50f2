"""A stand-in Harmony JSON-RPC node for testing the ``hmy`` CLI without a network.

Each ``StubNode`` is an HTTP server on 127.0.0.1 (a free port) in a background thread. It answers
methods from a table (a fixed result, a function of the params, or an ``RpcFailure``), answers
unknown methods with JSON-RPC's "method not found", and records every call so tests can check
what the CLI asked. It knows nothing of Harmony beyond the answers a test gives it; the real node
is tested end to end against a localnet.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cli.keystore_dir import LIGHT_SCRYPT_N, StoredAccount, save_account
from crypto.hash import keccak256
from crypto.keystore import encrypt_keystore

LOCALNET_KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
LOCALNET_ONE = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
LOCALNET_ADDRESS = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")


@dataclass(frozen=True)
class RpcFailure:
    """An answer that is a JSON-RPC error object."""

    message: str
    code: int = -32000


@dataclass(frozen=True)
class Call:
    method: str
    params: list[Any]


class StubNode:
    """One JSON-RPC endpoint; set ``answers[method]`` before the CLI calls it: a result, an RpcFailure,
    or a function of the params returning either."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.calls: list[Call] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._make_handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval: shutdown() waits for the serving loop to look at its flag.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    @property
    def methods(self) -> list[str]:
        """The methods called so far, in order."""
        return [call.method for call in self.calls]

    def params_of(self, method: str) -> list[Any]:
        """The params of the only call of ``method``."""
        [params] = [call.params for call in self.calls if call.method == method]
        return params

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _reply(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params", [])
        self.calls.append(Call(method, params))
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        if method not in self.answers:
            reply["error"] = {"code": -32601, "message": f"the method {method} does not exist/is not available"}
            return reply
        answer = self.answers[method]
        result = answer(params) if callable(answer) else answer
        if isinstance(result, RpcFailure):
            reply["error"] = {"code": result.code, "message": result.message}
        else:
            reply["result"] = result
        return reply

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                data = json.dumps(stub._reply(json.loads(body))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
                pass

        return Handler


@contextmanager
def run_stub_network(shards: int = 2, chain_id: int = 2) -> Iterator[list[StubNode]]:
    """One stub per shard, each listing all of them in ``hmyv2_getShardingStructure`` (itself as current)
    and answering ``hmy_chainId`` as a v1 node does (hex)."""
    nodes = [StubNode() for _ in range(shards)]
    try:
        for node in nodes:
            node.answers["hmyv2_getShardingStructure"] = [
                {"current": other is node, "http": other.url, "shardID": shard, "ws": other.url.replace("http", "ws")}
                for shard, other in enumerate(nodes)
            ]
            node.answers["hmy_chainId"] = hex(chain_id)
        yield nodes
    finally:
        for node in nodes:
            node.close()


def compute_sent_hash(params: list[Any]) -> str:
    """Answer ``hmyv2_sendRaw*Transaction`` as a node does: the hash (keccak256) of the raw bytes sent."""
    return "0x" + keccak256(bytes.fromhex(params[0].removeprefix("0x"))).hex()


def store_account(name: str, private_key: bytes = LOCALNET_KEY, passphrase: str = "") -> StoredAccount:
    """Put an account in the ``HMY_CLI_HOME`` keystore directly (cheap scrypt), as ``hmy keys`` would."""
    return save_account(name, encrypt_keystore(private_key, passphrase, scrypt_n=LIGHT_SCRYPT_N))
