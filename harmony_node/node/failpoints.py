"""Failpoints: a node started with ``HMY_FAILPOINT`` kills itself at one chosen point of finalizing a block.

For crash tests (issue #9), like etcd's gofail environment variable: ``HMY_FAILPOINT=<point>[@<n>][:leader]``
makes the node SIGKILL itself the n-th time (default: the first) execution passes ``<point>``; with
``:leader`` only the passes made while this node leads the view in question count. SIGKILL leaves what
a crash leaves: no cleanup, no flush, only what was handed to the OS. Just before it, the node writes
``failpoint <point> hit (n=<n>): killing the node`` to stderr (flushed), so that a harness can tell this
death from any other. The variable is read once at start; a bad one refuses the start.

The points, in the order one block's finalization passes them:

``vote-persisted``
    ``ConsensusDriver`` wrote a safety record: a vote is signed and recorded on disk, and no message
    of that step has left. Leading: the record's view is this node's (it recorded its own prepare vote
    on the block it proposes, before the ANNOUNCE).
``commit-vote-sent``
    The service handed a commit vote to the gossip layer. Whether the bytes left the process before
    the kill is not known: publishing queues them on the peers' streams. A leader counts its own
    votes inside the engine and sends none, so it passes this point only for the votes of its other
    keys, which the service hands back to its own engine (a node with several keys); with one key,
    ``:leader`` never fires here.
``block-write``
    During the LevelDB write of a finalized block (``FailpointStore``): a thread that SIGKILLs the
    process is started right before the store's ``write``. It runs as soon as the main thread lets go
    of the GIL, which plyvel does for every batch operation and for the write itself, so the kill lands
    while the batch is filled (nothing of the block reaches LevelDB), during LevelDB's write (its log
    record is whole or torn; recovery drops a torn one, so the block is all there or not at all), or
    just after it (the block is on disk, the head in memory not moved yet). Which one is not controlled,
    and all three must leave an intact chain; in practice the first dominates (the thread takes the GIL
    at the first put), so the restarted node usually lacks the block it was writing. A main thread
    descheduled for longer than the interpreter's switch interval (5 ms) can also be stopped a few
    bytecodes before the write: the same outcome as the first case.
``block-written``
    ``Blockchain.import_block`` returned: the block is on disk; ``on_commit`` and every message of that
    step (the leader's COMMITTED, the block for followers) have not happened. Leading: this node led
    the view the block was committed in (it gathered the commit votes).

Nothing here runs unless the variable is set: the node holds ``None`` and each point is a None check.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.node.config import ConfigError

FAILPOINT_ENV = "HMY_FAILPOINT"
VOTE_PERSISTED = "vote-persisted"
COMMIT_VOTE_SENT = "commit-vote-sent"
BLOCK_WRITE = "block-write"
BLOCK_WRITTEN = "block-written"
POINTS = (VOTE_PERSISTED, COMMIT_VOTE_SENT, BLOCK_WRITE, BLOCK_WRITTEN)

_SPEC = re.compile(r"(?P<point>[a-z-]+)(?:@(?P<hit>[0-9]+))?(?P<leader>:leader)?")


class FailpointError(ConfigError):
    """``HMY_FAILPOINT`` does not name a failpoint in the expected form."""


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass(slots=True)
class Failpoint:
    """One armed failpoint and how often execution passed it. ``die`` is replaced in unit tests."""

    point: str
    hit: int = 1
    leader_only: bool = False
    die: Callable[[], None] = field(default=kill_self, compare=False)
    passes: int = 0
    importing: bool | None = None
    """While ``ConsensusDriver`` imports a finalized block: whether this node leads its commit view."""

    def __str__(self) -> str:
        return f"{self.point}@{self.hit}" + (":leader" if self.leader_only else "")

    def _is_due(self, point: str, leading: bool) -> bool:
        """Count a pass of ``point``; True if it is the one to die at."""
        if point != self.point or (self.leader_only and not leading):
            return False
        self.passes += 1
        if self.passes != self.hit:
            return False
        print(f"failpoint {point} hit (n={self.passes}): killing the node", file=sys.stderr, flush=True)
        return True

    def pass_point(self, point: str, leading: bool) -> None:
        """Execution passes ``point``; ``leading``: this node leads the view the point belongs to."""
        if self._is_due(point, leading):
            self.die()

    @contextmanager
    def importing_block(self, leading: bool) -> Iterator[None]:
        """Marks the store writes inside as the write of a finalized block (the ``block-write`` point)."""
        self.importing = leading
        try:
            yield
        finally:
            self.importing = None

    def on_store_write(self) -> None:
        """Called right before the store writes a batch: during a block import, a pass of ``block-write``."""
        if self.importing is not None and self._is_due(BLOCK_WRITE, self.importing):
            threading.Thread(target=self.die, name="failpoint-kill", daemon=True).start()


def parse_failpoint(spec: str) -> Failpoint:
    """``<point>[@<n>][:leader]`` as a Failpoint; FailpointError naming the problem otherwise."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise FailpointError(f"{FAILPOINT_ENV}={spec!r}: expected <point>[@<n>][:leader], "
                             f"e.g. {BLOCK_WRITTEN}@2:leader")
    point = match["point"]
    if point not in POINTS:
        raise FailpointError(f"{FAILPOINT_ENV}={spec!r}: unknown failpoint {point!r}; one of {', '.join(POINTS)}")
    hit = int(match["hit"]) if match["hit"] is not None else 1
    if hit < 1:
        raise FailpointError(f"{FAILPOINT_ENV}={spec!r}: the hit count starts at 1")
    return Failpoint(point, hit, leader_only=match["leader"] is not None)


def get_failpoint(environ: Mapping[str, str]) -> Failpoint | None:
    """The failpoint ``environ`` arms (None: unset or empty, the normal case)."""
    spec = environ.get(FAILPOINT_ENV, "")
    return parse_failpoint(spec) if spec else None


class FailpointStore(KeyValueStore):
    """``store`` with the ``block-write`` failpoint in front of ``write``; every other call passes through."""

    def __init__(self, store: KeyValueStore, failpoint: Failpoint) -> None:
        self.store = store
        self.failpoint = failpoint

    def get(self, key: bytes) -> bytes | None:
        return self.store.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.store.put(key, value)

    def delete(self, key: bytes) -> None:
        self.store.delete(key)

    def __contains__(self, key: bytes) -> bool:
        return key in self.store

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        self.failpoint.on_store_write()
        self.store.write(batch, sync=sync)

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self.store.iterate_prefix(prefix)

    def close(self) -> None:
        self.store.close()
