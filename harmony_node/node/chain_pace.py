"""A chain's recent pace: mean block time and finalized transactions per second over a sliding window.

What ``localnet status`` and the metrics show as "recent block time and throughput". The window is
counted in seconds of this node's clock (the times blocks were finalized here), so a stalled chain
shows its stall: with one block left in the window there is no pace to report.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

PACE_WINDOW_S = 30.0


@dataclass(frozen=True, slots=True)
class Pace:
    block_time_s: float
    """Mean seconds between the window's blocks."""
    tps: float
    """Transactions of the window's blocks after its first, per second of the window."""


@dataclass
class RecentBlocks:
    """Finalization times and transaction counts of the blocks of the last ``window_s`` seconds."""

    window_s: float = PACE_WINDOW_S
    blocks: deque[tuple[float, int]] = field(default_factory=deque)

    def record(self, at: float, transactions: int) -> Pace | None:
        """Note a block finalized at ``at`` (monotonic seconds); the pace, once two blocks are in the window."""
        self.blocks.append((at, transactions))
        while self.blocks and self.blocks[0][0] < at - self.window_s:
            self.blocks.popleft()
        if len(self.blocks) < 2:
            return None
        span = at - self.blocks[0][0]
        if span <= 0:
            return None
        # The first block's transactions were finalized before the window opened.
        finalized = sum(count for _, count in self.blocks) - self.blocks[0][1]
        return Pace(span / (len(self.blocks) - 1), finalized / span)
