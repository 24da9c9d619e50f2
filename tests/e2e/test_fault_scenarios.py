"""Fault-injection scenarios on a real localnet (issue #9), each ending with the full checker.

A small network keeps CI time down: one shard of four validators plus its RPC node (five
processes, f = 1), eight-block epochs. Signed transfers run at a few per second through the RPC
node during every fault; each client operation is recorded ok / failed / unknown. After the last
fault the harness measures the recovery time (every chain makes three new blocks), waits until
every node caught up, stops the load and the network (``localnet down``), and checks on disk: one
chain per shard with identical hashes per height on every node, every acknowledged transfer in
exactly one block and no nonce used twice, view ids strictly increasing, no conflicting votes,
the conservation equation, and the scenario's own expectations (a view change after the leader
was taken out; no block at all while more than f validators were down).

Set ``HARMONY_SCENARIO_REPORT=/path/file.jsonl`` to collect the reports (one JSON line each) for
the table of the closing note; ``-s`` shows them as they come.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from testnet_harness import (
    ColdRestart,
    FaultRecord,
    Follower,
    Kill,
    KillMany,
    Leader,
    Manifest,
    Pause,
    ScenarioRun,
    Schedule,
    Scheduled,
    check_network,
    run_holding_scenario,
)

pytestmark = pytest.mark.slow
SMALL = Manifest(shards=1, validators_per_shard=4, epoch_blocks=8)


def _run(name: str, schedule: Schedule, tmp_path: Path) -> ScenarioRun:
    return run_holding_scenario(name, SMALL, schedule, tmp_path)


def _assert_checker_bites(run: ScenarioRun) -> None:
    """The checker is not vacuous: on the same data directories, a history that lies about what the
    client saw, or a view change or halt that did not happen, is reported as a violation."""
    operations = run.load.operations
    ok = next(op for op in operations if op.kind == "transfer" and op.outcome == "ok")
    assert ok.block is not None
    lies = {
        "an ok transfer in another block than its receipt said": replace(ok, block=ok.block + 1),
        "a failed transfer that is on chain": replace(ok, outcome="failed"),
        "an ok transfer that is on no chain": replace(ok, tx_hash="0x" + "ab" * 32),
    }
    for lie, forged in lies.items():
        results = check_network(run.net.cli.datadir, SMALL.shards, [*operations, forged])
        assert [r.name for r in results if not r.passed] == [
            "acknowledged transfers in exactly one block, failed in none, unknown in at most one"], lie
    heights = run.net.faults[0].heights_at_start
    quiet = FaultRecord("a leader fault that changed nothing", 0.0, 0.0, {0: 10**6}, expect_view_change=True)
    moved = FaultRecord("a halt that did not hold", 0.0, 0.0, heights, expect_halt=True, halt_observed="shard 0 moved")
    failed = [r.name for r in check_network(run.net.cli.datadir, SMALL.shards, operations, [quiet, moved])
              if not r.passed]
    assert failed == [f"a view change after: {quiet.description}",
                      f"no block while more than f were down: {moved.description}"], failed


@pytest.mark.timeout(240)
def test_kill_one_validator_and_restart(tmp_path: Path) -> None:
    """kill -9 a validator that is not leading, for 10 s: the other three (2f+1) go on without it;
    it comes back, syncs what it missed and agrees on every block."""
    run = _run("kill -9 one non-leader validator, restart after 10 s",
               [Scheduled(5, Kill(Follower(0), restart_after_s=10))], tmp_path)
    _assert_checker_bites(run)


@pytest.mark.timeout(240)
def test_kill_the_leader_and_restart(tmp_path: Path) -> None:
    """kill -9 the leader early in its turn: the others time out (4 s) and change view to the next
    leader; the headers must show that view change."""
    _run("kill -9 the leader, restart after 10 s",
         [Scheduled(5, Kill(Leader(0, early_in_turn=True), restart_after_s=10, expect_view_change=True))], tmp_path)


@pytest.mark.timeout(240)
def test_pause_the_leader_past_its_timeout(tmp_path: Path) -> None:
    """SIGSTOP the leader for 10 s (its view times out after 4 s), then SIGCONT: the others moved on
    under another leader; the woken node, with stale timers and a stale view, must rejoin without
    forking or signing anything conflicting."""
    _run("SIGSTOP the leader for 10 s, SIGCONT",
         [Scheduled(5, Pause(Leader(0, early_in_turn=True), duration_s=10, expect_view_change=True))], tmp_path)


@pytest.mark.timeout(240)
def test_kill_f_plus_one_halts_then_resumes(tmp_path: Path) -> None:
    """kill -9 f+1 = 2 of the 4 validators (the leader and one other): no quorum, so the chain must
    halt (polled through the outage: no block after the one already on the wire) without forking,
    and resume once both are back."""
    _run("kill -9 f+1 = 2 of 4 validators for 15 s, restart both",
         [Scheduled(5, KillMany((Leader(0), Follower(0)), restart_after_s=15, expect_halt=True))], tmp_path)


@pytest.mark.timeout(240)
def test_cold_restart_under_load(tmp_path: Path) -> None:
    """``localnet down`` then ``up`` of the whole network while transfers keep coming: the client sees
    refused connections (failed, or retried as the same transaction), and every node must reopen its
    chain, agree on the next blocks and go on."""
    _run("cold restart of the whole network under load (down, 2 s, up)",
         [Scheduled(8, ColdRestart(down_for_s=2))], tmp_path)
