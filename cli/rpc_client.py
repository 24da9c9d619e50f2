"""A JSON-RPC 2.0 client over HTTP for talking to a Harmony node (``hmyv2_*`` methods).

Every way a call can fail (nothing listening, a timeout, an HTTP error status, a reply that is not
JSON-RPC, a JSON-RPC error object) becomes one ``RpcError`` whose message starts with the node's
URL, so the CLI can print it as a single line a user can act on.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from harmony_node.exceptions import HarmonyError, ValidationError

DEFAULT_NODE = "http://localhost:9500"
DEFAULT_RPC_PORT = 9500
"""Harmony's HTTP RPC port; go-sdk appends it to a bare host name."""
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_REPLY_BYTES = 64 * 1024 * 1024
"""A block with every transaction in full is a few MB; more than this is not an answer we can use."""
_INTERNAL_ERROR = -32603
"""JSON-RPC's code for an error object that carries no valid code of its own."""


class RpcError(HarmonyError):
    """A call to a node failed; ``code`` is the JSON-RPC error code, None for transport failures."""

    def __init__(self, url: str, message: str, code: int | None = None) -> None:
        super().__init__(f"node {url}: {message}")
        self.url = url
        self.code = code


def normalize_node_url(node: str) -> str:
    """The URL for ``--node`` as go-sdk reads it.

    ``host`` → ``http://host:9500``, ``host:port`` → ``http://host:port``, a URL stays as it is.
    ValidationError for anything that is not an http(s) URL with a host.
    """
    node = node.strip()
    if "://" in node and not node.startswith(("http://", "https://")):
        raise ValidationError(f"invalid node URL {node!r}: only http:// and https:// are spoken")
    if not node.startswith(("http://", "https://")):
        node = "http://" + node if ":" in node else f"http://{node}:{DEFAULT_RPC_PORT}"
    try:
        parts = urllib.parse.urlsplit(node)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValidationError(f"invalid node URL {node!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in node):
        raise ValidationError(f"invalid node URL {node!r}: expected http(s)://host[:port]")
    return node.rstrip("/")


class RpcClient:
    """Calls methods on one node; each call is one HTTP POST with ``timeout`` seconds to answer."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.url = normalize_node_url(url)
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of ``method(params)``; RpcError for any failure."""
        request_id = next(self._ids)
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = response.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise self._describe_http_error(exc) from exc
        except urllib.error.URLError as exc:
            raise RpcError(self.url, self._describe_transport_failure(exc.reason)) from exc
        except (OSError, http.client.HTTPException) as exc:  # timeouts and resets while reading the reply
            raise RpcError(self.url, self._describe_transport_failure(exc)) from exc
        if len(reply) > MAX_REPLY_BYTES:
            raise RpcError(self.url, f"reply to {method} is larger than {MAX_REPLY_BYTES} bytes")
        return self._decode_reply(reply)

    def _describe_http_error(self, exc: urllib.error.HTTPError) -> RpcError:
        # Some servers send a JSON-RPC error with a 4xx/5xx status; its message is the useful part.
        try:
            self._decode_reply(exc.read(MAX_REPLY_BYTES + 1))
        except RpcError as decoded:
            if decoded.code is not None:
                return decoded
        except (OSError, http.client.HTTPException):
            pass  # the status line below is all there is to say
        return RpcError(self.url, f"HTTP {exc.code} {exc.reason}")

    def _describe_transport_failure(self, reason: object) -> str:
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused (is a node running there?)"
        if isinstance(reason, TimeoutError):
            return f"no reply within {self.timeout:g} s"
        if isinstance(reason, socket.gaierror):
            return f"unknown host ({reason.strerror})"
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror.lower()
        return str(reason) or type(reason).__name__

    def _decode_reply(self, reply: bytes) -> Any:
        try:
            document = json.loads(reply)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise RpcError(self.url, "reply is not JSON (is this a JSON-RPC endpoint?)") from exc
        if not isinstance(document, dict):
            raise RpcError(self.url, "reply is not a JSON-RPC response object")
        error = document.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise RpcError(self.url, str(error), _INTERNAL_ERROR)
            code = error.get("code")
            message = str(error.get("message", error))
            raise RpcError(self.url, message, code if isinstance(code, int) else _INTERNAL_ERROR)
        if "result" not in document:
            raise RpcError(self.url, "reply has neither a result nor an error")
        return document["result"]
