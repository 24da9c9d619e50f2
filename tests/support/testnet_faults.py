"""The network side of the fault-injection harness (``testnet_harness``): the manifest, the faults
and the ``Testnet`` they are done to, driven through the real ``hmy-node localnet`` CLI.

A new fault is a ``Perturbation`` subclass whose ``inject`` does it with ``Testnet``'s means
(resolve a role to a node, signal a process group, hold, restart) and returns its ``FaultRecord``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from harmony_node.node.config import ConsensusSettings
from harmony_node.node.localnet import is_node_command, read_proc_cmdline
from localnet_runner import LocalnetCli, find_free_base_port
from node_cluster import read_metrics

RECOVERY_BLOCKS = 3
"""Recovery is over when every chain has made this many blocks after the last fault ended."""
BLOCKS_PER_LEADER = ConsensusSettings().blocks_per_leader
"""The localnet does not change the node's default: the leader of view v is (v // 4) % n."""


# --- the manifest and the schedule -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Manifest:
    """The network: ``hmy-node localnet up`` options (each shard also gets one RPC node)."""

    shards: int = 1
    validators_per_shard: int = 4
    epoch_blocks: int = 8
    block_time_ms: int = 1000
    netns: bool = False
    """Each node a host of its own (``localnet up --netns``): needed by ``Partition`` and ``Isolate``."""

    def get_up_options(self) -> tuple[str, ...]:
        return ("--shards", str(self.shards), "--validators-per-shard", str(self.validators_per_shard),
                "--epoch-blocks", str(self.epoch_blocks), "--block-time", str(self.block_time_ms),
                *(("--netns",) if self.netns else ()))

    @property
    def fault_tolerance(self) -> int:
        """f: the validators of one shard that may fail while 2f+1 of 3f+1 still commit."""
        return (self.validators_per_shard - 1) // 3


@dataclass(frozen=True, slots=True)
class Leader:
    """The node whose key leads ``shard`` when the fault is injected (``localnet status``).

    ``early_in_turn``: wait until the leader has at least two views of its turn ahead of it, so that
    taking it out certainly costs a view change (a leader taken out right after committing the last
    block of its turn is simply succeeded by the next one)."""

    shard: int = 0
    early_in_turn: bool = False

    def __str__(self) -> str:
        return f"leader of shard {self.shard}"


@dataclass(frozen=True, slots=True)
class Follower:
    """A validator of ``shard``'s genesis committee that is not its leader when the fault is injected."""

    shard: int = 0

    def __str__(self) -> str:
        return f"a non-leader validator of shard {self.shard}"


NodeTarget = Union[str, Leader, Follower]
"""A node by name (``s0-v2``, ``s0-rpc``) or by role, resolved at fault time."""


@dataclass(frozen=True, slots=True)
class Perturbation:
    """One fault of a schedule: ``inject`` does it to the network and returns once it is over."""

    def inject(self, net: Testnet) -> FaultRecord:
        raise TypeError(f"not a fault this harness injects: {self!r}")


@dataclass(frozen=True, slots=True)
class Kill(Perturbation):
    """kill -9 the node's process group, hold it down ``restart_after_s``, bring it back with ``up``.

    ``expect_view_change``: the checker requires a view change among the blocks made during the
    outage and the recovery (the node was leading)."""

    node: NodeTarget
    restart_after_s: float
    expect_view_change: bool = False

    def inject(self, net: Testnet) -> FaultRecord:
        name = net.resolve(self.node)
        record = net.begin(f"kill -9 {name} ({self.node}) for {self.restart_after_s:g} s, restart",
                           expect_view_change=self.expect_view_change, targets=[self.node])
        net.signal_group(name, signal.SIGKILL)
        net.wait_until_stopped([name])
        net.hold(self.restart_after_s - (net.now() - record.started_s))
        net.restart_stopped([name])
        return record


@dataclass(frozen=True, slots=True)
class Pause(Perturbation):
    """SIGSTOP the node's process group for ``duration_s``, then SIGCONT: a node that hangs and wakes up."""

    node: NodeTarget
    duration_s: float
    expect_view_change: bool = False

    def inject(self, net: Testnet) -> FaultRecord:
        name = net.resolve(self.node)
        record = net.begin(f"SIGSTOP {name} ({self.node}) for {self.duration_s:g} s, SIGCONT",
                           expect_view_change=self.expect_view_change, targets=[self.node])
        net.signal_group(name, signal.SIGSTOP)
        try:
            net.hold(self.duration_s)
        finally:
            net.signal_group(name, signal.SIGCONT)
        return record


@dataclass(frozen=True, slots=True)
class Restart(Perturbation):
    """A clean restart: SIGTERM, wait for the exit, ``up`` again."""

    node: NodeTarget

    def inject(self, net: Testnet) -> FaultRecord:
        name = net.resolve(self.node)
        record = net.begin(f"clean restart of {name} ({self.node})")
        os.kill(net.nodes[name]["pid"], signal.SIGTERM)
        net.wait_until_stopped([name])
        net.restart_stopped([name])
        return record


@dataclass(frozen=True, slots=True)
class KillMany(Perturbation):
    """kill -9 several nodes at once and restart them together after ``restart_after_s``.

    ``expect_halt``: more than f validators of a shard are down, so no block may be finalized while
    they are (after at most the one whose votes were already on the wire): the heights are polled
    through the outage and the result is an invariant of the scenario."""

    nodes: tuple[NodeTarget, ...]
    restart_after_s: float
    expect_halt: bool = False

    def inject(self, net: Testnet) -> FaultRecord:
        names: list[str] = []
        for target in self.nodes:
            names.append(net.resolve(target, names))
        record = net.begin(f"kill -9 {', '.join(names)} together for {self.restart_after_s:g} s, restart",
                           expect_halt=self.expect_halt, targets=self.nodes)
        for name in names:
            net.signal_group(name, signal.SIGKILL)
        net.wait_until_stopped(names)
        left = self.restart_after_s - (net.now() - record.started_s)
        if self.expect_halt:
            net.hold_expecting_halt(record, left)
        else:
            net.hold(left)
        net.restart_stopped(names)
        return record


@dataclass(frozen=True, slots=True)
class ColdRestart(Perturbation):
    """``hmy-node localnet down`` (every node, cleanly), ``down_for_s`` of silence, then ``up``."""

    down_for_s: float = 0.0

    def inject(self, net: Testnet) -> FaultRecord:
        record = net.begin(f"cold restart: localnet down, {self.down_for_s:g} s, up")
        net.down()
        net.hold(self.down_for_s)
        net.restart_stopped(list(net.nodes))
        return record


@dataclass(frozen=True, slots=True)
class Partition(Perturbation):
    """Cut the network between ``groups`` of nodes for ``duration_s``, then heal (``localnet partition``
    and ``heal``; a ``--netns`` localnet). Packets across the cut vanish; connections are not reset.

    ``expect_halt``: no group holds 2f+1 of a shard's validators, so no block may be finalized."""

    groups: tuple[tuple[NodeTarget, ...], ...]
    duration_s: float
    expect_halt: bool = False
    expect_view_change: bool = False

    def inject(self, net: Testnet) -> FaultRecord:
        taken: list[str] = []
        names: list[list[str]] = []
        for group in self.groups:
            names.append([])
            for target in group:
                names[-1].append(net.resolve(target, taken))
                taken.append(names[-1][-1])
        record = net.begin(f"partition {' | '.join(', '.join(group) for group in names)} for {self.duration_s:g} s, "
                           "heal", expect_view_change=self.expect_view_change, expect_halt=self.expect_halt,
                           targets=[target for group in self.groups for target in group])
        net.run_cli("partition", *(",".join(group) for group in names))
        try:
            if self.expect_halt:
                net.hold_expecting_halt(record, self.duration_s)
            else:
                net.hold(self.duration_s)
        finally:
            net.run_cli("heal")
        return record


@dataclass(frozen=True, slots=True)
class Isolate(Perturbation):
    """Pull out one node's cable for ``duration_s`` (``localnet link NODE down``), then plug it back in:
    the node keeps running, alone, and must rejoin without forking."""

    node: NodeTarget
    duration_s: float
    expect_view_change: bool = False

    def inject(self, net: Testnet) -> FaultRecord:
        name = net.resolve(self.node)
        record = net.begin(f"cut the link of {name} ({self.node}) for {self.duration_s:g} s",
                           expect_view_change=self.expect_view_change, targets=[self.node])
        net.run_cli("link", name, "down")
        try:
            net.hold(self.duration_s)
        finally:
            net.run_cli("link", name, "up")
        return record


@dataclass(frozen=True, slots=True)
class Scheduled:
    """``fault`` is injected ``at_s`` seconds after the load started (faults run one after another)."""

    at_s: float
    fault: Perturbation


Schedule = Sequence[Scheduled]


@dataclass(slots=True)
class FaultRecord:
    """A fault as injected: what, on which nodes, when (seconds since the load began)."""

    description: str
    started_s: float
    ended_s: float = 0.0
    heights_at_start: dict[int, int] = field(default_factory=dict)
    expect_view_change: bool = False
    leader_shards: tuple[int, ...] = ()
    """The shards whose leader the fault took out: where ``expect_view_change`` looks (empty: any shard)."""
    expect_halt: bool = False
    halt_observed: str | None = None
    """For ``expect_halt``: None if the chain held still, else what moved."""


# --- the network ------------------------------------------------------------------------------------------


def _pid_is_node(pid: int, datadir: Path) -> bool:
    args = read_proc_cmdline(pid)
    return args is not None and is_node_command(args, datadir)


def wait_until(condition: Callable[[], bool], timeout: float, what: Callable[[], str], interval: float = 0.5) -> float:
    """Poll ``condition`` until it holds; returns the seconds it took; AssertionError at the deadline."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what()}")
        time.sleep(interval)
    return time.monotonic() - began


class Testnet:
    """A localnet of ``manifest`` in ``root``, driven through the real CLI, and the faults done to it."""

    def __init__(self, manifest: Manifest, root: Path) -> None:
        self.manifest = manifest
        self.cli = LocalnetCli(root / "localnet", find_free_base_port())
        self.t0 = time.monotonic()
        self.faults: list[FaultRecord] = []
        self.nodes: dict[str, dict[str, Any]] = {}
        """The last status entry of every node (name -> status dict), for ports and pids."""

    def now(self) -> float:
        return time.monotonic() - self.t0

    # --- CLI ---

    def up(self, *options: str, env: dict[str, str] | None = None) -> str:
        """``localnet up``; the nodes it starts inherit ``env`` (fault switches such as a failpoint)."""
        result = self.cli.run("up", *options, timeout=180, env=env)
        assert result.returncode == 0, f"localnet up: {result.stdout}{result.stderr}\n{self.cli.get_log_tails()}"
        return result.stdout

    def run_cli(self, *args: str) -> str:
        """``hmy-node localnet ARGS``, which must succeed."""
        result = self.cli.run(*args, timeout=60)
        assert result.returncode == 0, f"localnet {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def start(self, live_timeout: float = 120) -> None:
        self.up("--base-port", str(self.cli.base_port), *self.manifest.get_up_options())
        self.wait_until_live(live_timeout)

    def down(self) -> None:
        result = self.cli.run("down", timeout=120)
        assert result.returncode == 0, f"localnet down: {result.stdout}{result.stderr}"
        assert "killed" not in result.stdout, f"a node did not stop on SIGTERM: {result.stdout}"
        left = [pid for pid, node_dir in self.cli.seen.items() if _pid_is_node(pid, node_dir)]
        assert left == [], f"node processes left behind after down: {left}"

    def close(self) -> None:
        """Kill every node process ever seen (pass or fail); SIGKILL also ends a SIGSTOPped one."""
        self.cli.kill_everything()

    def get_status(self) -> dict[str, Any]:
        status = self.cli.get_status()
        self.nodes = {node["name"]: node for node in status["nodes"]}
        return status

    def wait_until_live(self, timeout: float) -> None:
        """Every chain at height 3 or more, with a validator named as its leader."""
        last: dict[str, Any] = {}

        def live() -> bool:
            nonlocal last
            status = self.get_status()
            last = status["chains"]
            validators = {name for name, node in self.nodes.items() if node["role"] == "validator"}
            return len(status["chains"]) == self.manifest.shards and all(
                (chain["height"] or 0) >= 3 and chain["leader"] in validators for chain in status["chains"].values())

        wait_until(live, timeout, lambda: f"the chains to be live: {last}\n{self.cli.get_log_tails()}", interval=1)

    # --- observation (metrics straight from the nodes: cheaper than a status process) ---

    def get_heights(self) -> dict[int, int]:
        """Per chain, the highest height any node reports now (-1: nobody answers)."""
        heights = {shard: -1 for shard in range(self.manifest.shards)}
        for node in self.nodes.values():
            for name, value in read_metrics(node["metrics_port"], node["host"]).items():
                if name.startswith('hmy_chain_height{shard="'):
                    shard = int(name.split('"')[1])
                    heights[shard] = max(heights.get(shard, -1), int(value))
        return heights

    def get_node_height(self, name: str, shard: int) -> int:
        node = self.nodes[name]
        return int(read_metrics(node["metrics_port"], node["host"]).get(f'hmy_chain_height{{shard="{shard}"}}', -1))

    def is_caught_up(self, name: str, target: dict[int, int]) -> bool:
        """Whether the node reached ``target`` on the beacon (every node follows it) and, for an RPC
        node, on its own shard (a validator may have left its genesis shard when committees moved)."""
        node = self.nodes[name]
        shards = {0, node["shard"]} if node["role"] == "rpc" else {0}
        return all(self.get_node_height(name, s) >= target[s] for s in shards)

    def get_leader(self, shard: int) -> str | None:
        leader: str | None = self.get_status()["chains"][str(shard)]["leader"]
        return leader

    # --- faults ---

    def resolve(self, target: NodeTarget, taken: Sequence[str] = ()) -> str:
        """The node name ``target`` means now (not one of ``taken``)."""
        if isinstance(target, str):
            return target
        if isinstance(target, Leader):
            deadline = time.monotonic() + 60
            while True:
                status = self.get_status()
                chain = status["chains"][str(target.shard)]
                leader, view = chain["leader"], chain["view"]
                ready = view is not None and (not target.early_in_turn or view % BLOCKS_PER_LEADER <= 1)
                if leader is not None and leader not in taken and ready:
                    return str(leader)
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {target} to take out: {chain}")
                time.sleep(0.3)
        leader = self.get_leader(target.shard)
        for name, node in sorted(self.nodes.items()):
            if node["role"] == "validator" and node["shard"] == target.shard and name != leader and name not in taken:
                return name
        raise AssertionError(f"no {target} left")

    def signal_group(self, name: str, signum: signal.Signals) -> None:
        """Send ``signum`` to the node's process group (its own session: group id = its pid)."""
        pid = self.nodes[name]["pid"]
        assert pid is not None and _pid_is_node(pid, Path(self.nodes[name]["datadir"])), f"{name} is not running"
        os.killpg(pid, signum)

    def wait_until_stopped(self, names: Sequence[str], timeout: float = 30) -> None:
        pids = {name: (self.nodes[name]["pid"], Path(self.nodes[name]["datadir"])) for name in names}
        wait_until(lambda: not any(_pid_is_node(pid, d) for pid, d in pids.values()), timeout,
                   lambda: f"{', '.join(names)} to exit", interval=0.1)

    def restart_stopped(self, names: Sequence[str], env: dict[str, str] | None = None) -> None:
        """``localnet up``: starts exactly the stopped nodes, which must be ``names`` (with ``env``)."""
        out = self.up(env=env)
        assert f"started {len(names)} nodes" in out and all(n in out for n in names), out
        self.get_status()

    def hold(self, seconds: float, on_tick: Callable[[], None] | None = None) -> None:
        """Keep a fault in place for its scheduled duration (``on_tick`` every 0.5 s meanwhile)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if on_tick is not None:
                on_tick()
            time.sleep(min(0.5, max(left, 0.0)))

    def inject(self, fault: Perturbation) -> FaultRecord:
        """Do ``fault`` now and return once it is over (the nodes it stopped are started again)."""
        self.get_status()
        record = fault.inject(self)
        record.ended_s = self.now()
        self.faults.append(record)
        return record

    def begin(self, description: str, expect_view_change: bool = False, expect_halt: bool = False,
              targets: Sequence[NodeTarget] = ()) -> FaultRecord:
        """The record of a fault about to be injected: now, every chain's height now, and the shards
        whose leader is among ``targets``."""
        leader_shards = tuple(sorted({target.shard for target in targets if isinstance(target, Leader)}))
        return FaultRecord(description, self.now(), heights_at_start=self.get_heights(),
                           expect_view_change=expect_view_change, leader_shards=leader_shards,
                           expect_halt=expect_halt)

    def hold_expecting_halt(self, record: FaultRecord, seconds: float) -> None:
        """Hold the outage while checking that no chain moves: a block whose commit votes were already
        on the wire may land in the first 2 s; after that the heights must stay exactly where they are."""
        grace_end = time.monotonic() + 2.0
        self.hold(max(0.0, grace_end - time.monotonic()))
        baseline = self.get_heights()
        moved: list[str] = []

        def check() -> None:
            now = self.get_heights()
            moved.extend(f"shard {s}: {baseline[s]} -> {h} at {self.now():.1f} s"
                         for s, h in now.items() if h > baseline.get(s, -1))

        self.hold(seconds - 2.0, check)
        check()
        jumped = {s: baseline[s] - record.heights_at_start.get(s, -1) for s in baseline}
        record.halt_observed = "; ".join(moved[:5]) or None
        if any(j > 1 for j in jumped.values()):
            record.halt_observed = (record.halt_observed or "") + f" more than one block after the kill: {jumped}"

    def run_schedule(self, schedule: Schedule) -> None:
        for item in schedule:
            self.hold(item.at_s - self.now())  # the schedule's time, not a wait for a condition
            self.inject(item.fault)

    def measure_recovery(self, timeout: float = 120) -> float:
        """Seconds from the end of the last fault until every chain made ``RECOVERY_BLOCKS`` new blocks;
        then waits (untimed) until every node, the faulted ones too, reached that height."""
        end = self.faults[-1].ended_s if self.faults else self.now()
        self.get_status()
        target = {s: h + RECOVERY_BLOCKS for s, h in self.get_heights().items()}
        wait_until(lambda: all(self.get_heights()[s] >= h for s, h in target.items()), timeout,
                   lambda: f"{RECOVERY_BLOCKS} new blocks on every chain (target {target}, now {self.get_heights()})\n"
                           + self.cli.get_log_tails(), interval=0.2)
        recovery = self.now() - end
        wait_until(lambda: all(self.is_caught_up(name, target) for name in self.nodes), timeout,
                   lambda: f"every node to catch up to {target}: " + ", ".join(
                       f"{n}={self.get_node_height(n, 0)}" for n in self.nodes) + "\n" + self.cli.get_log_tails())
        return recovery


