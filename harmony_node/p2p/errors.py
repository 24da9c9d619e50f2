"""Errors of the p2p layer, under the project's one hierarchy so callers catch only our types."""

from __future__ import annotations

from harmony_node.exceptions import DecodingError, HarmonyError


class P2PError(HarmonyError):
    """The network layer could not do what was asked (bad key file, no route to a peer, closed node)."""


class RequestFailed(P2PError):
    """A request/response exchange did not produce a response: unreachable peer, timeout, reset stream."""


class FrameError(DecodingError):
    """A length-prefixed stream frame is oversize or the stream ended inside it."""


class FrameTooLarge(FrameError):
    """A frame, ours or the peer's, is over the size limit; retrying cannot help."""
