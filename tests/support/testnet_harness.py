"""A Jepsen/CometBFT-style fault-injection testnet (issue #9): a manifest, a schedule of faults, load
recorded operation by operation, and a checker that reads every node's chain from disk afterwards.

How a scenario runs (``run_scenario``):

1. ``hmy-node localnet up`` (the real CLI, shifted ports, ``localnet_runner``) builds the network the
   ``Manifest`` describes, and the harness waits until every chain is live.
2. A ``LoadClient`` funds a few sender accounts per shard from the localnet account, then keeps a
   low, steady load of signed transfers going (a few per second) through each shard's RPC node. Every
   client operation is recorded: when it was invoked, its sender, nonce and hash, and its outcome
   (``ok``: a receipt was seen; ``failed``: no node can have accepted it; ``unknown``: it may or may
   not be included — a timeout, or accepted but no receipt by its deadline). ``LoadOptions`` add
   cross-shard transfers and double-spend attempts.
3. The ``Schedule`` runs while the load runs: each ``Scheduled`` fault at its offset, one after the
   other. A fault names its node(s) or a role (``Leader(shard)``, ``Follower(shard)``) that is
   resolved from ``localnet status --json`` at the moment the fault is injected.
4. After the last fault ends the harness measures the *recovery time*: until every chain has made
   ``RECOVERY_BLOCKS`` new blocks; then until every node (the faulted ones too) caught up.
5. The double spends asked for are made, the load stops, the acknowledged cross-shard transfers
   get ``CREDIT_TIMEOUT_S`` to be credited on their destinations, ``localnet down`` stops the
   network cleanly, and ``check_network`` verifies the invariants on the nodes' data directories
   (see its docstring for what each one means and why).
6. A ``ScenarioReport`` (scenario, faults injected, operations ok/failed/unknown, invariants checked,
   recovery time) is printed, and appended as one JSON line to ``$HARMONY_SCENARIO_REPORT`` if set.

The parts: ``testnet_faults`` (manifest, faults, the ``Testnet`` driven through the CLI),
``testnet_load`` (the recorded client operations), ``testnet_checker`` (the invariants); this module
runs a scenario and reports it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from harmony_node.exceptions import HarmonyError
from testnet_checker import InvariantResult, check_network
from testnet_faults import (
    RECOVERY_BLOCKS,
    ColdRestart,
    FaultRecord,
    Follower,
    Isolate,
    Kill,
    KillMany,
    Leader,
    Manifest,
    Partition,
    Pause,
    Perturbation,
    Restart,
    Schedule,
    Scheduled,
    Testnet,
)
from testnet_load import LoadClient, LoadOptions, Operation

CREDIT_TIMEOUT_S = 60.0
"""After the load stopped, how long the acknowledged cross-shard transfers get to be credited on their
destinations (a few blocks normally; the checker reports any still missing as lost)."""
DOUBLE_SPENDS_TIMEOUT_S = 120.0
"""After recovery, how long the double spends ``LoadOptions`` asks for get to be made and settled."""

__all__ = ["ColdRestart", "FaultRecord", "Follower", "InvariantResult", "Isolate", "Kill", "KillMany", "Leader",
           "LoadClient", "LoadOptions", "Manifest", "Operation", "Partition", "Pause", "Perturbation", "Restart",
           "ScenarioReport", "ScenarioRun", "Schedule", "Scheduled", "Testnet", "check_network", "format_report_table",
           "run_holding_scenario", "run_scenario"]


@dataclass(frozen=True, slots=True)
class ScenarioReport:
    scenario: str
    faults: tuple[str, ...]
    operations_ok: int
    operations_failed: int
    operations_unknown: int
    invariants: tuple[tuple[str, bool, str], ...]
    recovery_s: float | None
    duration_s: float

    resubmitted: int = 0
    """Transfers whose same signed bytes had to be sent more than once (refused, timed out, lost)."""

    @property
    def passed(self) -> bool:
        return all(passed for _, passed, _ in self.invariants)

    def format(self) -> str:
        lines = [f"scenario: {self.scenario} ({self.duration_s:.0f} s)",
                 "faults: " + "; ".join(self.faults),
                 f"operations: {self.operations_ok} ok, {self.operations_failed} failed, "
                 f"{self.operations_unknown} unknown ({self.resubmitted} resubmitted as the same transaction)",
                 "recovery: " + ("-" if self.recovery_s is None else f"{self.recovery_s:.1f} s"
                                 f" (until every chain made {RECOVERY_BLOCKS} new blocks)")]
        lines += [f"  [{'ok' if passed else 'FAILED'}] {name}: {detail}" for name, passed, detail in self.invariants]
        return "\n".join(lines)

    def publish(self) -> None:
        """Print, and append a JSON line to ``$HARMONY_SCENARIO_REPORT`` if it is set."""
        print("\n" + self.format())
        path = os.environ.get("HARMONY_SCENARIO_REPORT")
        if path:
            with open(path, "a") as out:
                out.write(json.dumps(asdict(self)) + "\n")


@dataclass(slots=True)
class ScenarioRun:
    """What ``run_scenario`` leaves for the test to look at beyond the report."""

    net: Testnet
    load: LoadClient
    report: ScenarioReport | None = None


@contextmanager
def run_scenario(name: str, manifest: Manifest, schedule: Schedule, root: Path,
                 load_options: LoadOptions = LoadOptions()) -> Iterator[ScenarioRun]:
    """Run a scenario (module docstring), yield once with the report filled in, clean up after.

    Used as ``with run_scenario(...) as run``: the caller asserts on ``run.report`` inside; every
    node process is killed on the way out whatever happened."""
    began = time.monotonic()
    net = Testnet(manifest, root)
    try:
        net.start()
        load = LoadClient(net, load_options)
        load.fund()
        net.t0 = time.monotonic()
        load.start()
        run = ScenarioRun(net, load)
        try:
            net.run_schedule(schedule)
            recovery = net.measure_recovery()
            load.wait_for_double_spends(DOUBLE_SPENDS_TIMEOUT_S)
        finally:
            load.stop()
        load.wait_for_credits(CREDIT_TIMEOUT_S)
        net.get_status()
        net.down()
        try:
            results = check_network(net.cli.datadir, manifest.shards, load.operations, net.faults)
        except (HarmonyError, ValueError) as exc:
            results = [InvariantResult("data directories readable", False, repr(exc))]
        counts = load.count()
        run.report = ScenarioReport(name, tuple(f"{f.description} at {f.started_s:.1f}-{f.ended_s:.1f} s"
                                                for f in net.faults),
                                    counts["ok"], counts["failed"], counts["unknown"],
                                    tuple((r.name, r.passed, r.detail) for r in results), round(recovery, 1),
                                    round(time.monotonic() - began, 1),
                                    sum(1 for op in load.operations if op.kind == "transfer" and op.submissions > 1))
        run.report.publish()
        yield run
    finally:
        net.close()


MIN_OK_TRANSFERS = 10
"""Transfers a scenario's load must get through for its checks to mean anything (a few a second over
~30 s makes far more)."""


def run_holding_scenario(name: str, manifest: Manifest, schedule: Schedule, root: Path,
                         load_options: LoadOptions = LoadOptions()) -> ScenarioRun:
    """``run_scenario`` in which every invariant must hold and at least ``MIN_OK_TRANSFERS`` transfers
    must succeed; the AssertionError shows the violations, the report and every node's log tail. The
    returned run's processes are gone; its data directories are left for further checks."""
    with run_scenario(name, manifest, schedule, root, load_options) as run:
        report = run.report
        assert report is not None
        failed = [f"{invariant}: {detail}" for invariant, passed, detail in report.invariants if not passed]
        assert not failed, "invariants violated:\n" + "\n".join(failed) + "\n" + report.format() + "\n" \
                           + run.net.cli.get_log_tails()
        assert report.operations_ok >= MIN_OK_TRANSFERS, report.format()
        return run


def format_report_table(lines: Sequence[str]) -> str:
    """The closing note's table (markdown) from ``$HARMONY_SCENARIO_REPORT`` JSON lines: invariants as
    passed/checked, naming only those that failed (every report lists them all)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| scenario | faults injected | operations ok / failed / unknown | invariants held | recovery (s) |",
            "|---|---|---|---|---|"]
    for line in lines:
        if not line.strip():
            continue
        report = json.loads(line)
        invariants = report["invariants"]
        passed = sum(1 for _, ok, _ in invariants if ok)
        failed = "; ".join(name for name, ok, _ in invariants if not ok)
        recovery = "-" if report["recovery_s"] is None else f"{report['recovery_s']:.1f}"
        rows.append(f"| {cell(report['scenario'])} | {cell('; '.join(report['faults']) or 'none')} | "
                    f"{report['operations_ok']} / {report['operations_failed']} / {report['operations_unknown']} | "
                    f"{passed}/{len(invariants)}" + (f" (**failed**: {cell(failed)})" if failed else "")
                    + f" | {recovery} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python tests/support/testnet_harness.py REPORT.jsonl
    import sys

    print(format_report_table(Path(sys.argv[1]).read_text().splitlines()))
