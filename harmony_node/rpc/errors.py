"""JSON-RPC 2.0 errors: what a method raises to send the client an error object.

The codes are the JSON-RPC 2.0 ones plus geth's server range, because Harmony's RPC is geth's:
-32000 for a request the node refused (a rejected transaction, a missing block) and -32005 for
rate limiting. A method raises one of these; the dispatcher turns it into
``{"code": ..., "message": ..., "data": ...}`` and any other exception into a generic error, so
nothing but what is written here reaches a client.
"""

from __future__ import annotations

from typing import ClassVar

from harmony_node.exceptions import HarmonyError


class RPCError(HarmonyError):
    """An error object sent to the client; ``data`` (if not None) must be JSON-encodable."""

    def __init__(self, code: int, message: str, data: object | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json_object(self) -> dict[str, object]:
        """The ``error`` member of a response (``data`` left out when there is none)."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class _StandardError(RPCError):
    """An ``RPCError`` whose code its class fixes, so callers only say what went wrong."""

    CODE: ClassVar[int]
    DEFAULT_MESSAGE: ClassVar[str]

    def __init__(self, message: str | None = None, data: object | None = None) -> None:
        super().__init__(self.CODE, self.DEFAULT_MESSAGE if message is None else message, data)


class ParseError(_StandardError):
    """The request body is not JSON."""

    CODE = -32700
    DEFAULT_MESSAGE = "parse error"


class InvalidRequest(_StandardError):
    """The JSON is not a request: wrong shape, empty or oversized batch, too deep, too large."""

    CODE = -32600
    DEFAULT_MESSAGE = "invalid request"


class MethodNotFound(_StandardError):
    """No method of that name is registered."""

    CODE = -32601
    DEFAULT_MESSAGE = "method not found"


class InvalidParams(_StandardError):
    """The params are missing, too many, of the wrong type or out of range."""

    CODE = -32602
    DEFAULT_MESSAGE = "invalid params"


class InternalError(_StandardError):
    """A bug in the node; the client learns nothing more than that (the log has the traceback)."""

    CODE = -32603
    DEFAULT_MESSAGE = "internal error"


class ServerError(_StandardError):
    """The node refused a well-formed request (geth's default code: rejected tx, unknown block...)."""

    CODE = -32000
    DEFAULT_MESSAGE = "server error"


class RateLimited(_StandardError):
    """The client sent more requests than its rate limit allows (geth's "limit exceeded" code)."""

    CODE = -32005
    DEFAULT_MESSAGE = "request rate limit exceeded"
