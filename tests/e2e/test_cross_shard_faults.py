"""Fault-injection scenarios about money moving (issue #9): a nonce spent twice at once through two
nodes, and cross-shard transfers whose destination leader dies while they are in flight.

Each runs on a real localnet under recorded load (``testnet_harness``) and ends with the full
checker; besides the usual invariants these two lean on: a double spend puts at most one of its two
transactions on chain, and every acknowledged cross-shard transfer is credited on its destination
exactly once (the harness waits for the credits after recovery; one still missing was lost).

Set ``HARMONY_SCENARIO_REPORT=/path/file.jsonl`` to collect the reports; ``-s`` shows them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from testnet_harness import (
    Kill,
    Leader,
    LoadOptions,
    Manifest,
    Operation,
    ScenarioRun,
    Schedule,
    Scheduled,
    check_network,
    run_holding_scenario,
)

pytestmark = pytest.mark.slow
SMALL = Manifest(shards=1, validators_per_shard=4, epoch_blocks=8)
TWO_SHARDS = Manifest(shards=2, validators_per_shard=4, epoch_blocks=8)
DOUBLE_SPENDS = 6
CROSS_SHARD_INVARIANT = "cross-shard transfers credited exactly once"
DOUBLE_SPEND_INVARIANT = "a double spend puts at most one of its two transactions on chain"


def _run(name: str, manifest: Manifest, schedule: Schedule, options: LoadOptions, tmp_path: Path) -> ScenarioRun:
    return run_holding_scenario(name, manifest, schedule, tmp_path, options)


def _assert_lies_fail(run: ScenarioRun, shards: int, lies: dict[str, Operation], invariant: str) -> None:
    """Each forged operation added to the real history fails exactly ``invariant``: the checker bites."""
    for lie, forged in lies.items():
        results = check_network(run.net.cli.datadir, shards, [*run.load.operations, forged])
        assert [r.name for r in results if not r.passed] == [invariant], lie


@pytest.mark.timeout(300)
def test_double_spend_of_one_nonce_through_two_nodes(tmp_path: Path) -> None:
    """Two transfers signed with one sender and nonce, to different recipients, submitted at the same
    moment through the RPC node and through a validator (every node gossips what it admits, so each
    pool soon holds one and is offered the other; every second pair the validator's copy pays more, a
    valid replacement). Exactly one of each pair is included: its receipt is seen, and its rival is
    never on chain, its nonce taken."""
    run = _run(f"double spend of one nonce through two nodes ({DOUBLE_SPENDS} pairs)", SMALL, [],
               LoadOptions(double_spends=DOUBLE_SPENDS, double_spend_every_s=3.0), tmp_path)
    halves = [op for op in run.load.operations if op.kind == "double spend"]
    assert len(halves) == 2 * DOUBLE_SPENDS, halves
    by_pair: dict[tuple[str, ...], list[str | None]] = {}
    for op in halves:
        assert op.rival is not None
        by_pair.setdefault(tuple(sorted((op.tx_hash, op.rival))), []).append(op.outcome)
    assert all(sorted(outcomes, key=str) == ["lost", "ok"] for outcomes in by_pair.values()), by_pair

    first, second = [op for op in run.load.operations if op.kind == "transfer" and op.outcome == "ok"][:2]
    _assert_lies_fail(run, SMALL.shards, {
        "two transfers on chain that claim to be one double spend": replace(first, kind="double spend",
                                                                            rival=second.tx_hash),
    }, DOUBLE_SPEND_INVARIANT)


@pytest.mark.timeout(300)
def test_cross_shard_transfer_whose_destination_leader_dies(tmp_path: Path) -> None:
    """Two shards, every third transfer cross-shard both ways; shard 1's leader is killed early in its
    turn and restarted after 10 s, so receipts from shard 0 pile up while shard 1 changes view. Every
    acknowledged cross-shard transfer is credited once on its destination, in the block its RPC node
    reported; the source's re-sent proofs of receipts already credited are refused."""
    kill = Kill(Leader(1, early_in_turn=True), restart_after_s=10, expect_view_change=True)
    run = _run("cross-shard transfers while the destination leader dies (kill -9 shard 1's leader, 10 s)",
               TWO_SHARDS, [Scheduled(8, kill)], LoadOptions(active_per_shard=4, cross_shard_every=3), tmp_path)
    report = run.report
    assert report is not None
    fault = run.net.faults[0]
    view_change = next(detail for name, _, detail in report.invariants if name.startswith("a view change after"))
    assert "shard 1: view jumps" in view_change, view_change
    crossing = [op for op in run.load.operations if op.is_cross_shard and op.outcome == "ok"]
    assert {(op.shard, op.to_shard) for op in crossing} == {(0, 1), (1, 0)}, report.format()
    # Debited on shard 0 before the outage ended and credited on shard 1 after it began: in flight
    # while shard 1 lost its leader (the checker already requires every one credited exactly once).
    in_flight = [op for op in crossing if op.to_shard == 1 and op.completed_s is not None and op.credited_s is not None
                 and op.completed_s <= fault.ended_s and op.credited_s >= fault.started_s]
    assert in_flight, report.format()

    credited = next(op for op in crossing if op.credited_block is not None)
    assert credited.credited_block is not None
    same_shard = next(op for op in run.load.operations
                      if op.kind == "transfer" and op.outcome == "ok" and not op.is_cross_shard)
    _assert_lies_fail(run, TWO_SHARDS.shards, {
        "credited in another block than the destination said": replace(credited,
                                                                         credited_block=credited.credited_block + 1),
        "an acknowledged cross-shard transfer that no block credited": replace(same_shard,
                                                                               to_shard=1 - same_shard.shard),
    }, CROSS_SHARD_INVARIANT)
