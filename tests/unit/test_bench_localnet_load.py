"""The pure helpers of bench/localnet_load.py: rate schedule, percentiles, block intervals, step choice."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "localnet_load.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_localnet_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


load: Any = _load()


def test_parse_rates_accepts_increasing_positive_rates() -> None:
    assert load.parse_rates("5,10, 20,40.5") == [5.0, 10.0, 20.0, 40.5]


@pytest.mark.parametrize("text", ["", "10,5", "0,5", "5,5", "-1"])
def test_parse_rates_refuses_the_rest(text: str) -> None:
    with pytest.raises(ValueError):
        load.parse_rates(text)


def test_percentile_is_nearest_rank_and_infinite_sorts_last() -> None:
    assert load.percentile([], 95) is None
    assert load.percentile([3.0], 95) == 3.0
    values = [float(v) for v in range(1, 101)]
    assert load.percentile(values, 50) == 50.0
    assert load.percentile(values, 95) == 95.0
    assert load.percentile([1.0] * 19 + [math.inf], 95) == 1.0
    assert load.percentile([1.0] * 18 + [math.inf] * 2, 95) == math.inf


def test_plan_step_spreads_the_transfers_over_the_shards_in_due_order() -> None:
    plan = load.plan_step(10.0, 30.0, 3)
    assert len(plan) == 300
    assert [due for due, _ in plan] == sorted(due for due, _ in plan)
    assert plan[-1][0] == pytest.approx(29.9)
    assert [sum(1 for _, s in plan if s == shard) for shard in range(3)] == [100, 100, 100]


def test_one_transfer_in_ten_is_cross_shard_from_the_first() -> None:
    turns = [load.is_cross_shard_turn(index, 3) for index in range(100)]
    assert sum(turns) == 10 and turns[0] and turns[10]
    assert not any(load.is_cross_shard_turn(index, 1) for index in range(100))


def test_record_height_spreads_skipped_heights_and_intervals_follow() -> None:
    seen: dict[int, float] = {}
    load.record_height(seen, 10, 0.0)
    load.record_height(seen, 11, 1.0)
    load.record_height(seen, 11, 1.2)  # already seen: keeps the first time
    load.record_height(seen, 13, 3.0)  # 12 was skipped: it gets the middle
    assert seen == {10: 0.0, 11: 1.0, 12: 2.0, 13: 3.0}
    assert load.get_block_intervals(seen, 0.5, 2.5) == [1.0, 1.0]
    assert load.get_block_intervals(seen, 0.0, 10.0) == [1.0, 1.0, 1.0]


def _step(rate: float, tps: float, p95: float | None, finalized: int | None = None) -> Any:
    planned = int(rate * 10)
    return load.StepResult(rate, planned, planned, planned, planned if finalized is None else finalized, tps, p95,
                           p95, p95, [10], [1.0], [0], 0, 10.0, 1.0, 80.0)


def test_choose_best_takes_the_highest_rate_that_held() -> None:
    steps = [_step(5, 5.0, 1.5), _step(10, 9.5, 1.8), _step(20, 19.0, 2.5), _step(40, 20.0, 9.0)]
    assert load.choose_best(steps, 2.0) == (1, True)
    assert load.choose_best(steps, 3.0) == (2, True)


def test_choose_best_falls_back_to_the_highest_tps() -> None:
    steps = [_step(5, 5.0, 2.5), _step(10, 9.0, math.inf, finalized=50), _step(20, 7.0, 4.0)]
    assert load.choose_best(steps, 2.0) == (1, False)
