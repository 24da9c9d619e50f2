"""A token bucket per peer: how many gossip messages one peer may hand this node per second.

libp2p's own spam protection is off (it dropped honest bursts: 10 messages/s per peer and topic), so
without this a single peer could make the node decode, check and queue messages as fast as it can
send them. The limit counts messages a peer forwards to us, whoever published them; it is set far
above what an honest peer forwards (new messages on a localnet under 40 tx/s: about 80/s network-wide) and
its burst above the 1,000-message bursts the gossip tests send (defaults: 200/s after 2,000). Copies
of a message already seen cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IDLE_FORGET_S = 60.0
"""A peer silent this long starts again with a full bucket (and its entry is dropped)."""


@dataclass
class PeerRateLimiter:
    rate_per_s: float
    burst: float
    _buckets: dict[bytes, tuple[float, float]] = field(default_factory=dict)
    """Peer id -> (tokens, time they were counted)."""
    _last_sweep: float = 0.0

    def allow(self, peer: bytes, now: float) -> bool:
        """Whether ``peer`` may have one more message counted at ``now`` (monotonic seconds)."""
        tokens, then = self._buckets.get(peer, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate_per_s)
        allowed = tokens >= 1.0
        self._buckets[peer] = (tokens - 1.0 if allowed else tokens, now)
        if now - self._last_sweep > IDLE_FORGET_S:
            self._sweep(now)
        return allowed

    def _sweep(self, now: float) -> None:
        # A peer idle for IDLE_FORGET_S has refilled anyway: forgetting it changes nothing but memory.
        self._last_sweep = now
        for peer in [p for p, (_, then) in self._buckets.items() if now - then > IDLE_FORGET_S]:
            del self._buckets[peer]

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass
class PeerByteThrottle:
    """Bytes per second one peer's pubsub streams are read at: a reader that falls behind makes the
    peer wait (its yamux window fills), where ``PeerRateLimiter`` drops. libp2p parses every RPC and
    starts a task per message before any limit can look at it, so a flood has to be slowed where
    it is read. Reading ahead of the budget is allowed up to ``burst`` bytes; then each read waits
    until the budget is back to zero."""

    rate_bytes_per_s: float
    burst_bytes: float
    _budgets: dict[bytes, tuple[float, float]] = field(default_factory=dict)
    """Peer id -> (bytes still allowed, may be negative; time counted)."""

    def take(self, peer: bytes, size: int, now: float) -> float:
        """Count ``size`` bytes read from ``peer`` at ``now``; the seconds to wait before reading on."""
        budget, then = self._budgets.get(peer, (self.burst_bytes, now))
        budget = min(self.burst_bytes, budget + (now - then) * self.rate_bytes_per_s) - size
        self._budgets[peer] = (budget, now)
        if len(self._budgets) > 4096:  # peers come and go: forget the ones whose budget is full again
            for key in [k for k, (b, t) in self._budgets.items() if b + (now - t) * self.rate_bytes_per_s >= self.burst_bytes]:
                del self._budgets[key]
        return 0.0 if budget >= 0 else -budget / self.rate_bytes_per_s
