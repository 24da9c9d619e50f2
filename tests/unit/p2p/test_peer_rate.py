from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harmony_node.p2p.peer_rate import IDLE_FORGET_S, PeerByteThrottle, PeerRateLimiter


def test_a_burst_passes_then_the_rate_holds() -> None:
    limiter = PeerRateLimiter(rate_per_s=10, burst=100)
    assert sum(limiter.allow(b"a", 0.0) for _ in range(150)) == 100
    assert sum(limiter.allow(b"a", 1.0) for _ in range(50)) == 10  # one second refills ten
    assert sum(limiter.allow(b"b", 1.0) for _ in range(150)) == 100, "each peer has its own bucket"


def test_idle_peers_are_forgotten() -> None:
    limiter = PeerRateLimiter(rate_per_s=10, burst=5)
    for index in range(100):
        limiter.allow(bytes([index]), 0.0)
    assert len(limiter) == 100
    limiter.allow(b"late", IDLE_FORGET_S + 1)
    assert len(limiter) == 1


@given(st.lists(st.tuples(st.floats(0, 2), st.integers(1, 50)), min_size=1, max_size=40))
def test_never_more_than_the_burst_plus_the_rate(steps: list[tuple[float, int]]) -> None:
    rate, burst = 20.0, 30.0
    limiter = PeerRateLimiter(rate, burst)
    now, allowed = 0.0, 0
    for gap, count in steps:
        now += gap
        allowed += sum(limiter.allow(b"p", now) for _ in range(count))
    assert allowed <= burst + rate * now + 1e-9


def test_a_peer_reading_past_its_byte_budget_waits_for_it() -> None:
    throttle = PeerByteThrottle(rate_bytes_per_s=1000, burst_bytes=5000)
    assert throttle.take(b"a", 4000, 0.0) == 0.0
    assert throttle.take(b"a", 3000, 0.0) == 2.0  # 2,000 bytes over: two seconds of rate
    assert throttle.take(b"a", 0, 2.0) == 0.0
    assert throttle.take(b"b", 5000, 0.0) == 0.0, "each peer has its own budget"


@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 20_000)), min_size=1, max_size=50))
def test_waiting_as_told_keeps_a_peer_to_the_rate(reads: list[tuple[float, int]]) -> None:
    rate, burst = 10_000.0, 50_000.0
    throttle = PeerByteThrottle(rate, burst)
    now, total = 0.0, 0
    for gap, size in reads:
        now += gap
        total += size
        now += throttle.take(b"p", size, now)
    assert total <= burst + rate * now + 1e-6
