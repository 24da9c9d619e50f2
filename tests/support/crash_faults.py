"""Crash-point and clock-skew faults for the fault-injection testnet (``testnet_faults``, issue #9).

``CrashAt`` restarts a node with a failpoint armed (``HMY_FAILPOINT``, ``harmony_node.node.failpoints``),
waits until the node killed itself there (its log must say so: a death of anything else fails the
fault), keeps it down, and starts it again; the restarted node must hold every block it had reported
finalized before the kill. ``ClockSkew`` restarts a node with its wall clock shifted
(``HMY_CLOCK_OFFSET_MS``), watches it while the skew lasts, and restarts it with the true clock.

Role: every failpoint is passed by every validator, but some only matter on the leader (the one that
gathers the votes holds the only commit certificate when it writes the block). A ``Leader`` target
does not help there: the node is restarted to arm the failpoint and has usually lost its turn by
the time it is back. ``leading=True`` arms ``<point>:leader`` instead: the node dies at the point the
next time it passes it while leading, whatever role it had when the fault began.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crypto import bls
from harmony_node.chain.epochs import get_bls_address
from harmony_node.node.failpoints import FAILPOINT_ENV
from harmony_node.node.localnet import LOG_FILE, PID_FILE, get_validator_secret, is_node_command, read_proc_cmdline
from harmony_node.node.wall_clock import CLOCK_OFFSET_ENV
from node_cluster import read_metrics
from testnet_faults import FaultRecord, NodeTarget, Perturbation, Testnet, wait_until

DEATH_TIMEOUT_S = 90.0
"""An armed node may first have to wait for its turn as leader: a rotation of four leaders, with view changes."""
TURN_TIMEOUT_S = 60.0
LEADER_PREFIX = 'hmy_consensus_leader{shard="0",'
FINALIZED = re.compile(r"block finalized shard=0 number=(\d+)")
FOLLOWING = re.compile(r"following chain shard=0 head=(\d+)")
"""What a node's text log says when it finalizes a beacon block and when it opens its beacon chain."""


def _get_log(net: Testnet, name: str) -> Path:
    return Path(net.nodes[name]["datadir"]) / LOG_FILE


def _read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def _is_alive(pid: int, node_dir: Path) -> bool:
    args = read_proc_cmdline(pid)
    return args is not None and is_node_command(args, node_dir)


def _stop(net: Testnet, name: str) -> None:
    os.kill(net.nodes[name]["pid"], signal.SIGTERM)
    net.wait_until_stopped([name])


def _get_highest_head(text: str) -> int:
    """The highest beacon height a stretch of a node's log shows it holding (-1: none)."""
    return max((int(n) for n in FINALIZED.findall(text) + FOLLOWING.findall(text)), default=-1)


def get_validator_key(net: Testnet, name: str) -> bytes:
    """The BLS public key of validator ``s<shard>-v<i>`` (``localnet`` derives keys from global indices)."""
    match = re.fullmatch(r"s(\d+)-v(\d+)", name)
    assert match is not None, f"{name} is not a validator"
    index = int(match[1]) * net.manifest.validators_per_shard + int(match[2])
    return bls.secret_to_public(get_validator_secret(index))


def get_coinbase(net: Testnet, name: str) -> bytes:
    """The coinbase of the blocks validator ``name`` proposes."""
    return get_bls_address(get_validator_key(net, name))


@dataclass(frozen=True, slots=True)
class CrashAt(Perturbation):
    """Restart ``node`` with ``HMY_FAILPOINT=<failpoint>@<hit>`` (``:leader`` with ``leading``), wait
    until it killed itself there, hold it down ``down_for_s``, restart it without the failpoint.

    ``expect_view_change``: the checker requires one among the blocks made from the fault on (a
    leader killed before its COMMITTED left)."""

    node: NodeTarget
    failpoint: str
    hit: int = 1
    down_for_s: float = 3.0
    expect_view_change: bool = False
    leading: bool = False

    @property
    def spec(self) -> str:
        return f"{self.failpoint}@{self.hit}" + (":leader" if self.leading else "")

    def inject(self, net: Testnet) -> FaultRecord:
        name = net.resolve(self.node)
        record = net.begin(f"{name} ({self.node}) killed itself at failpoint {self.spec}, "
                           f"down {self.down_for_s:g} s, restart", expect_view_change=self.expect_view_change)
        log, node_dir = _get_log(net, name), Path(net.nodes[name]["datadir"])
        _stop(net, name)
        armed_at = log.stat().st_size
        self._start_armed(net, name, log, armed_at)
        pid = int((node_dir / PID_FILE).read_text())
        wait_until(lambda: not _is_alive(pid, node_dir), DEATH_TIMEOUT_S,
                   lambda: f"{name} to die at failpoint {self.spec}\n" + _read_from(log, armed_at)[-3000:])
        armed_run = _read_from(log, armed_at)
        mark = f"failpoint {self.failpoint} hit (n="
        assert armed_run.count(mark) == 1, \
            f"{name} exited, but not at failpoint {self.spec}; its log ends:\n{armed_run[-3000:]}"
        held = _get_highest_head(armed_run[:armed_run.index(mark)])
        net.hold(self.down_for_s)
        restarted_at = log.stat().st_size
        net.restart_stopped([name])
        heads: list[int] = []

        def reopened() -> bool:
            heads[:] = [int(n) for n in FOLLOWING.findall(_read_from(log, restarted_at))]
            return bool(heads)

        wait_until(reopened, 60, lambda: f"{name} to reopen its chain after the kill")
        # A block is finalized on a node once its write returned (the log line comes after it): none may be lost.
        assert heads[0] >= held, f"{name} lost finalized blocks in the kill: it held {held}, reopened at {heads[0]}"
        record.description += f" (held block {held} at the kill, reopened at {heads[0]})"
        return record

    def _start_armed(self, net: Testnet, name: str, log: Path, armed_at: int) -> None:
        """``localnet up`` with the failpoint armed. ``up`` fails if a node exits before it sees it serve:
        an early hit can do that, which counts as a start only if the log shows the failpoint."""
        result = net.cli.run("up", timeout=180, env={FAILPOINT_ENV: self.spec})
        output = result.stdout + result.stderr
        died_starting = f"node {name} exited while starting" in output and "failpoint" in _read_from(log, armed_at)
        assert result.returncode == 0 or died_starting, f"localnet up with {self.spec}: {output}"
        assert result.returncode != 0 or "started 1 nodes" in output, output
        net.get_status()


@dataclass(slots=True)
class SkewRecord(FaultRecord):
    """A ``ClockSkew`` as injected, with what was seen while the clock was shifted."""

    node: str = ""
    skewed_from: int = 0
    skewed_until: int = 0
    """Beacon heights when the skewed node was up and when its true clock came back: the blocks
    after ``skewed_from`` up to ``skewed_until`` were finalized while its clock was shifted."""
    turns: int = 0
    """Samples in which the other validators named it the leader: its turn came while skewed."""
    max_lag: int = 0
    """The most blocks its beacon chain was behind the others' meanwhile."""


@dataclass(slots=True)
class _SkewWatch:
    """Samples the other validators' metrics every tick of the hold (cheap HTTP reads, no CLI)."""

    net: Testnet
    record: SkewRecord
    leader_series: str
    turn_over: bool = False

    def tick(self) -> None:
        others = [node for n, node in self.net.nodes.items()
                  if node["role"] == "validator" and n != self.record.node]
        samples = [read_metrics(node["metrics_port"]) for node in others]
        named = {series for sample in samples for series in sample if series.startswith(LEADER_PREFIX)}
        if self.leader_series in named:
            self.record.turns += 1
        elif named and self.record.turns:
            self.turn_over = True
        heights = [int(s.get('hmy_chain_height{shard="0"}', -1)) for s in samples]
        own = self.net.get_node_height(self.record.node, 0)
        if own >= 0 and heights:
            self.record.max_lag = max(self.record.max_lag, max(heights) - own)


@dataclass(frozen=True, slots=True)
class ClockSkew(Perturbation):
    """Restart ``node`` with its clock ``offset_ms`` off, hold ``duration_s``, restart it with the true clock.

    ``until_turn``: hold on past ``duration_s`` (to a deadline) until the node's turn as leader came and
    went while its clock was off, so that whatever it proposed is on the record."""

    node: NodeTarget
    offset_ms: int
    duration_s: float
    expect_view_change: bool = False
    until_turn: bool = False

    def inject(self, net: Testnet) -> SkewRecord:
        name = net.resolve(self.node)
        record = SkewRecord(f"clock of {name} ({self.node}) {self.offset_ms / 1000:+g} s for {self.duration_s:g} s",
                            net.now(), heights_at_start=net.get_heights(), expect_view_change=self.expect_view_change,
                            node=name)
        _stop(net, name)
        net.restart_stopped([name], env={CLOCK_OFFSET_ENV: str(self.offset_ms)})
        record.skewed_from = net.get_heights()[0]
        watch = _SkewWatch(net, record, f'{LEADER_PREFIX}key="0x{get_validator_key(net, name).hex()}"}}')
        net.hold(self.duration_s, watch.tick)
        if self.until_turn:
            wait_until(_tick_until(watch), TURN_TIMEOUT_S, lambda: f"the turn of {name} as leader to come and go")
        record.skewed_until = net.get_heights()[0]
        _stop(net, name)
        net.restart_stopped([name])
        record.description += (f" (blocks {record.skewed_from + 1}-{record.skewed_until}; named leader in "
                               f"{record.turns} samples; up to {record.max_lag} blocks behind)")
        return record


def _tick_until(watch: _SkewWatch) -> Callable[[], bool]:
    def turn_came_and_went() -> bool:
        watch.tick()
        return watch.turn_over

    return turn_came_and_went
