"""The line protocol of the peer scripts that tests run as processes (``tests/e2e/gossip_peer.py``,
``tests/e2e/forging_peer.py``): commands in on stdin, one per line; answers out on stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator

import trio


def say(line: str) -> None:
    """One answer line, flushed at once: the test waits on it."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def read_commands() -> AsyncIterator[list[str]]:
    """The words of each non-empty command line on stdin, until it closes (without blocking trio)."""
    stdin = trio.lowlevel.FdStream(os.dup(0))
    buffer = b""
    while chunk := await stdin.receive_some():
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if words := line.decode().split():
                yield words
