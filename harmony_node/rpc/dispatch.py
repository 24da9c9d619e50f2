"""JSON-RPC 2.0 dispatch: one request body (a call or a batch) in, its encoded response out.

Transport-free: the HTTP and WebSocket server hand bodies here, and the method namespaces register
their handlers here. Everything a client can get wrong becomes a JSON-RPC error object with the
request's id (or null when there is no usable id), following the spec and geth's wording, so
Ethereum and Harmony client libraries see the errors they expect. A handler's own failures are
mapped as follows: ``RPCError`` is sent as raised, another ``HarmonyError`` (an expected refusal
from node code) as -32000 with its text, and anything else is a bug: -32603 to the client and the
traceback to the log only.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harmony_node.exceptions import HarmonyError
from harmony_node.rpc.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    RateLimited,
    RPCError,
    ServerError,
)

DEFAULT_MAX_BATCH = 100
DEFAULT_MAX_DEPTH = 32

log = logging.getLogger(__name__)


class Connection(Protocol):
    """A client that can be sent messages at any time (a WebSocket); what subscriptions push to."""

    def push(self, message: bytes) -> None:
        """Queue one JSON text message without blocking; a client too slow to take it is dropped."""
        ...


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling, and how: handed to every handler with its params."""

    client: str
    """The peer's IP address (the rate-limit key)."""
    transport: str
    """``"http"`` or ``"ws"``."""
    connection: Connection | None = None
    """The WebSocket connection, so subscriptions can push to it; None over HTTP."""


Handler = Callable[[list[Any], CallContext], Any]
"""A method: positional params and the call context in, a JSON-encodable result (or an awaitable
of one) out. It raises ``RPCError`` (or another ``HarmonyError``) to answer with an error."""


class Dispatcher:
    """The table of methods, and the JSON-RPC 2.0 request rules around calling them."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        """Add a method; registering a name twice is a wiring bug, so it raises ``ValueError``."""
        if name in self._handlers:
            raise ValueError(f"method {name} is already registered")
        self._handlers[name] = handler

    def has(self, name: str) -> bool:
        return name in self._handlers

    def method_names(self) -> list[str]:
        return sorted(self._handlers)

    async def handle_body(self, body: bytes, context: CallContext, *, max_batch: int = DEFAULT_MAX_BATCH,
                          max_depth: int = DEFAULT_MAX_DEPTH,
                          take_token: Callable[[], bool] | None = None) -> bytes | None:
        """Answer one request or batch; None when nothing needs an answer (only notifications).

        Batch members run one after another and their answers keep the batch order. ``take_token``
        (the client's rate limit) is asked once per batch member after the first, which the
        transport paid for: a batch of 100 calls costs 100 requests, not one, and the members over
        the limit are answered -32005 each.
        """
        try:
            validate_json_depth(body, max_depth)
            message = decode_json(body)
        except RPCError as exc:
            return _encode_error(None, exc)
        if not isinstance(message, list):
            return await self._process_message(message, context)
        if not message:
            return _encode_error(None, InvalidRequest("empty batch"))
        if len(message) > max_batch:
            return _encode_error(None, InvalidRequest(f"batch too large ({len(message)} > {max_batch})"))
        answers: list[bytes | None] = []
        for index, item in enumerate(message):
            if index and take_token is not None and not take_token():
                request_id = item.get("id") if isinstance(item, dict) and _is_valid_id(item.get("id")) else None
                answers.append(_encode_error(request_id, RateLimited()))
            else:
                answers.append(await self._process_message(item, context))
        present = [answer for answer in answers if answer is not None]
        return b"[" + b",".join(present) + b"]" if present else None

    async def _process_message(self, message: object, context: CallContext) -> bytes | None:
        if not isinstance(message, dict):
            return _encode_error(None, InvalidRequest("invalid request: not an object"))
        request_id = message.get("id")
        if not _is_valid_id(request_id):
            return _encode_error(None, InvalidRequest("invalid request: id must be a string, a number or null"))
        method = message.get("method")
        if message.get("jsonrpc") != "2.0":
            return _encode_error(request_id, InvalidRequest('invalid request: "jsonrpc" must be "2.0"'))
        if not isinstance(method, str):
            return _encode_error(request_id, InvalidRequest('invalid request: "method" must be a string'))
        # A notification (no "id" at all; an explicit null is a call) gets no answer, not even an
        # error (JSON-RPC 2.0 §4.1).
        is_notification = "id" not in message
        try:
            result = await self._call(method, message.get("params"), context)
        except RPCError as exc:
            return None if is_notification else _encode_error(request_id, exc)
        return None if is_notification else _encode_result(request_id, result)

    async def _call(self, method: str, params: object, context: CallContext) -> object:
        """Run one method, turning every failure into the ``RPCError`` the client will see."""
        handler = self._handlers.get(method)
        if handler is None:
            raise MethodNotFound(f"the method {method} does not exist/is not available")
        if params is None:
            params = []
        if not isinstance(params, list):
            # Harmony's methods are all positional, as geth's: an object cannot be mapped to them.
            raise InvalidParams("params must be an array")
        try:
            result = handler(params, context)
            if inspect.isawaitable(result):
                result = await result
        except RPCError:
            raise
        except HarmonyError as exc:
            raise ServerError(str(exc)) from exc
        except Exception as exc:
            log.exception("RPC method %s failed", method)
            raise InternalError() from exc
        return result


_STRING = re.compile(rb'"[^"\\]*(?:\\[\s\S][^"\\]*)*"')
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_CURLY_TO_SQUARE = bytes.maketrans(b"{}", b"[]")


def validate_json_depth(body: bytes, max_depth: int) -> None:
    """Refuse JSON nested deeper than ``max_depth`` before ``json.loads`` recurses into it.

    The C decoder recurses once per level: a few megabytes of ``[`` exhaust the stack (or, with a
    raised recursion limit, crash the process). Strings are cut out first so brackets inside them
    do not count; then each round deletes every innermost ``[]`` pair, which peels exactly one
    level, all at C speed. Raises ``InvalidRequest`` when too deep, ``ParseError`` when the brackets
    do not balance (not JSON at all).
    """
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return  # cannot nest deeper than it has openers: the common, small request
    brackets = _STRING.sub(b"", body).translate(_CURLY_TO_SQUARE, _NOT_BRACKETS)
    for _ in range(max_depth):
        peeled = brackets.replace(b"[]", b"")
        if peeled == brackets:
            break
        brackets = peeled
    if b"[]" in brackets:
        raise InvalidRequest(f"invalid request: JSON nested deeper than {max_depth} levels")
    if brackets:
        raise ParseError("parse error: unbalanced brackets")


def decode_json(body: bytes) -> object:
    """Parse a request body; ``ParseError`` for anything that is not strict JSON (NaN, or a number past a double)."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_parse_finite_float)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ParseError(f"parse error: {exc}") from exc


def encode_json(value: object) -> bytes:
    """Compact strict JSON (no NaN or Infinity, which JSON lacks and many clients reject)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _parse_finite_float(text: str) -> float:
    # A literal such as 1e400 overflows to inf, which no answer can echo back (an id) or use (a param).
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:32]} is out of range")
    return value


def _is_valid_id(request_id: object) -> bool:
    # bool is an int in Python but not a JSON-RPC id.
    return request_id is None or (isinstance(request_id, (str, int, float)) and not isinstance(request_id, bool))


def _encode_result(request_id: object, result: object) -> bytes:
    try:
        return encode_json({"jsonrpc": "2.0", "id": request_id, "result": result})
    except (TypeError, ValueError, RecursionError):
        log.exception("RPC result is not JSON-encodable")
        return _encode_error(request_id, InternalError())


def _encode_error(request_id: object, error: RPCError) -> bytes:
    try:
        return encode_json({"jsonrpc": "2.0", "id": request_id, "error": error.to_json_object()})
    except (TypeError, ValueError, RecursionError):
        log.exception("RPC error data is not JSON-encodable")
        return encode_json({"jsonrpc": "2.0", "id": request_id, "error": InternalError().to_json_object()})
