from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.node.chain_pace import Pace, RecentBlocks


def test_pace_of_steady_blocks() -> None:
    recent = RecentBlocks(window_s=30)
    assert recent.record(100.0, 7) is None  # one block: no pace yet
    paces = [recent.record(100.0 + i, 10) for i in range(1, 11)]
    assert paces[-1] == Pace(1.0, 10.0)


def test_old_blocks_leave_the_window() -> None:
    recent = RecentBlocks(window_s=10)
    for i in range(20):
        recent.record(float(i), 100 if i < 5 else 0)
    pace = recent.record(40.0, 0)  # after a 21 s stall only the stalled block is left before it
    assert pace is None
    assert recent.record(42.0, 4) == Pace(2.0, 2.0)


@given(st.lists(st.tuples(st.floats(0.01, 5), st.integers(0, 500)), min_size=2, max_size=60))
def test_pace_is_consistent_with_the_blocks(gaps_and_counts: list[tuple[float, int]]) -> None:
    recent = RecentBlocks(window_s=30)
    at, pace = 0.0, None
    for gap, count in gaps_and_counts:
        at += gap
        pace = recent.record(at, count)
    kept = list(recent.blocks)
    assert all(at - t <= 30 for t, _ in kept)
    if pace is not None:
        span = kept[-1][0] - kept[0][0]
        assert pace.block_time_s == pytest.approx(span / (len(kept) - 1))
        assert pace.tps == pytest.approx(sum(c for _, c in kept[1:]) / span)
