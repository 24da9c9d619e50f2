"""Process-wide settings py-libp2p 0.8.1 does not take as arguments: queue sizes and log routing.

With its defaults, libp2p drops most of a burst without an error (reference building-blocks §7):
each peer's outbound RPC queue holds 32 RPCs and a full queue makes ``publish`` discard the message
with only a debug log; each subscription channel holds 32 messages. The queue size is a default
argument bound when ``rpc_queue`` was imported, so it is patched in ``__init__.__defaults__`` (setting
the module constant would change nothing). The subscription size is a module global read at
``subscribe()`` time. These are process-wide, so each setting only ever grows: two nodes in one
process (tests) get the larger of their wishes, never a smaller queue than they asked for.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import libp2p.pubsub.pubsub as pubsub_module
from libp2p.pubsub.rpc_queue import PriorityQueue, RpcQueue

from harmony_node.p2p.errors import P2PError

_P2P_LOGGER = "harmony_node.p2p"


def raise_pubsub_limits(outbound_queue_size: int, subscription_buffer: int, max_rpc_size: int) -> None:
    """Make libp2p's per-peer outbound queues, subscription channels and RPC split size at least this big."""
    _raise_default(PriorityQueue.__init__, "max_size", outbound_queue_size)
    _raise_default(RpcQueue.__init__, "max_size", outbound_queue_size)
    _raise_default(RpcQueue.__init__, "max_message_size", max_rpc_size)
    pubsub_module.SUBSCRIPTION_CHANNEL_SIZE = max(pubsub_module.SUBSCRIPTION_CHANNEL_SIZE, subscription_buffer)


def _raise_default(function: Callable[..., Any], name: str, value: int) -> None:
    # Located by name, so a libp2p release that reorders or renames the parameter fails loudly here
    # instead of silently raising some other limit.
    positional = [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()
        if parameter.default is not inspect.Parameter.empty
        and parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    defaults = function.__defaults__
    if name not in positional or defaults is None or len(defaults) != len(positional):
        raise P2PError(f"libp2p changed {function.__qualname__}: no default argument {name!r} to raise")
    index = positional.index(name)
    patched = list(defaults)
    patched[index] = max(patched[index], value)
    function.__defaults__ = tuple(patched)


class _Forward(logging.Handler):
    """Hands libp2p's records to our logger, so they reach whatever handlers the application set up."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(_P2P_LOGGER).handle(record)


def route_libp2p_logs(level: int = logging.WARNING) -> None:
    """Send libp2p's warnings to ``harmony_node.p2p``'s handlers.

    libp2p clears its logger's handlers and sets ``propagate=False`` on import unless LIBP2P_DEBUG is
    set, so its warnings ("Rate limit exceeded", "fail to deliver message") otherwise reach only
    Python's last-resort stderr handler, or nowhere once an application configures logging.
    """
    libp2p_logger = logging.getLogger("libp2p")
    if not any(isinstance(handler, _Forward) for handler in libp2p_logger.handlers):
        libp2p_logger.addHandler(_Forward())
    libp2p_logger.setLevel(level)
    # Some modules pin their own logger to INFO at import (the auto-connector reports its state every
    # 30 s that way), which would bypass the level above.
    for name, child in list(logging.root.manager.loggerDict.items()):
        if name.startswith("libp2p.") and isinstance(child, logging.Logger) and 0 < child.level < level:
            child.setLevel(level)
