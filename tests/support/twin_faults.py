"""One BLS key running on two nodes (issue #9), as a fault of the ``testnet_harness``: ``TwinKey``.

An operator's fail-over gone wrong: a second ``hmy-node start`` with a validator's key, while the
validator's own node keeps running. Both nodes sign byte-identical votes when they follow the same
leader (votes bind (height, view, hash); BLS signatures are deterministic). When the key leads, each
twin builds its own block and announces it: two proposals signed by one key for one (height, view),
unless the two blocks are the same. They often are: a header's timestamp is in seconds and its VRF
is the key's deterministic signature over the parent hash, so twins that build within one second
from the same pool build one block, byte for byte, and announce it twice. ``clock_offset_ms`` (the
node's ``HMY_CLOCK_OFFSET_MS``) sets the twin's clock ahead, as a spare machine's may be; from
1000 ms on it dates every block it builds differently.

Quorum intersection lets at most one of two proposals be prepared, so the key never signs two commit
votes at one (height, view), the only thing Harmony slashes; the other members report the conflicting
proposals (``consensus.fbft.ConflictingProposal``: a log line and
``hmy_consensus_conflicting_proposals_total``). Not every view the key leads has two: a twin that
receives the other's block before its own propose timer fires votes for that block instead (the twin
whose block lost a view holds only its own, and may still be fetching the winner when the next view
opens). And the key's views come irregularly: the leader of view v is committee member (v // 4) % 4,
but the committee is reshuffled every epoch (``sharding.assignment``), so a key leads 0 to 4 views an
epoch. The fault therefore watches the key's turns and keeps the twin running until a node counted
conflicting proposals, or ``MAX_TURNS`` turns went by without.

``localnet add-validator`` refuses a key the localnet already runs, so the twin is started here
directly: the localnet's own ``build_start_command`` for a node that is not in the manifest (its own
empty directory inside the localnet's, free ports, every localnet node as a bootnode, the same
genesis). Its directory holds a ``node.log``, so the checker reads it with the others: its chain must
be a prefix of the network's, its log free of double signs, its safety record consistent. It also
holds a ``node.pid``, so the harness's clean-up kills it should anything here fail to.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from harmony_node.node.localnet import KEY_FILE, LOG_FILE, PID_FILE, STOP_TIMEOUT_S, build_start_command, load_localnet
from harmony_node.node.wall_clock import CLOCK_OFFSET_ENV
from localnet_runner import HMY_NODE
from node_cluster import call_rpc, get_free_port, read_metrics
from testnet_faults import FaultRecord, NodeTarget, Perturbation, Testnet, wait_until

SYNC_TIMEOUT_S = 90.0
"""How long the twin, started with an empty directory, gets to reach the network's height."""
TURN_TIMEOUT_S = 100.0
"""How long, once synced, the twin gets to live through its key's turns as leader: in each 8-block
epoch (8 s) three of the four members lead one view or more."""
MAX_TURNS = 3
"""Turns of the key as leader to wait at most for a conflicting proposal."""
SAMPLE_INTERVAL_S = 0.2
HEIGHT, VIEW, VIEW_CHANGES, CONFLICTS = (f'hmy_{name}{{shard="0"}}' for name in (
    "chain_height", "consensus_view", "consensus_view_changes_total", "consensus_conflicting_proposals_total"))
LEADER = 'hmy_consensus_leader{shard="0",key="'


@dataclass(slots=True)
class LeaderTurn:
    """A run of consecutive views led by the twin key, as a validator that is not the twin saw it."""

    views: tuple[int, int]
    heights: tuple[int, int]
    seconds: float
    view_changes: int

    def __str__(self) -> str:
        blocks = self.heights[1] - self.heights[0]
        return (f"views {self.views[0]}-{self.views[1]}: {blocks} blocks in {self.seconds:.1f} s, "
                f"{self.view_changes} view change(s)")


@dataclass(slots=True)
class TwinKeyRecord(FaultRecord):
    """A ``FaultRecord`` with what the twin saw and left behind."""

    twinned: str = ""
    """The node whose key the twin runs."""
    twin_dir: Path | None = None
    public_key: str = ""
    turns: list[LeaderTurn] = field(default_factory=list)
    conflicts: int = 0
    """The highest ``hmy_consensus_conflicting_proposals_total`` of any node while the twin ran."""
    exit_code: int | None = None
    staking_validators: list[str] | None = None
    """The beacon's staking validators after the twin stopped (None: its RPC node did not answer):
    which account a slash could even fall on."""


@dataclass(frozen=True, slots=True)
class TwinKey(Perturbation):
    """Run ``node``'s BLS key on a second node for ``duration_s`` at least, and for as long as it takes
    (up to the timeouts above) to see conflicting proposals or ``MAX_TURNS`` turns of the key
    without any, then SIGTERM it."""

    node: NodeTarget
    duration_s: float
    clock_offset_ms: int = 0

    def inject(self, net: Testnet) -> FaultRecord:
        name = net.resolve(self.node)
        localnet = load_localnet(net.cli.datadir)
        assert localnet is not None, "no localnet manifest"
        spec = localnet.get_node(name)
        assert spec.key_file is not None and spec.bls_public_key is not None, f"{name} runs no BLS key"
        twin_name = f"twin-{name}"
        twin_dir = localnet.root / twin_name
        twin_dir.mkdir()
        shutil.copyfile(localnet.root / spec.key_file, twin_dir / KEY_FILE)
        (twin_dir / KEY_FILE).chmod(0o600)
        twin = replace(spec, name=twin_name, datadir=twin_name, key_file=f"{twin_name}/{KEY_FILE}", peer_id="",
                       p2p_port=get_free_port(), rpc_port=get_free_port(), metrics_port=get_free_port())
        clock = f", its clock {self.clock_offset_ms:+d} ms" if self.clock_offset_ms else ""
        base = net.begin(f"a second node ({twin_name}{clock}) running the BLS key of {name} ({self.node})",
                         targets=[self.node])
        record = TwinKeyRecord(**{f.name: getattr(base, f.name) for f in fields(FaultRecord)},
                               twinned=name, twin_dir=twin_dir, public_key=spec.bls_public_key)
        with open(twin_dir / LOG_FILE, "ab") as log_file:
            process = subprocess.Popen(build_start_command(localnet, twin, HMY_NODE), stdin=subprocess.DEVNULL,
                                       stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                       env=dict(os.environ, PYTHONUNBUFFERED="1",
                                                **{CLOCK_OFFSET_ENV: str(self.clock_offset_ms)}))
        (twin_dir / PID_FILE).write_text(f"{process.pid}\n")
        try:
            _Watch(net, name, twin.metrics_port, record).run(self.duration_s)
        finally:
            record.exit_code = _stop(process)
        try:
            record.staking_validators = call_rpc(net.cli.get_rpc_url(0), "hmyv2_getAllValidatorAddresses", [])
        except OSError:
            pass
        record.description += (f" for {net.now() - record.started_s:.0f} s; its key's turns: "
                               + ("; ".join(map(str, record.turns)) or "none")
                               + f"; conflicting proposals reported: {record.conflicts}")
        return record


def _stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM the twin's process group and wait for it (SIGKILL past the node's stop timeout)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


class _Watch:
    """Follows the twin key's leadership through the metrics of a validator that is not the twin."""

    def __init__(self, net: Testnet, twinned: str, twin_metrics_port: int, record: TwinKeyRecord) -> None:
        self.net = net
        self.twin_port = twin_metrics_port
        self.record = record
        observer = next(n for n, node in sorted(net.nodes.items()) if node["role"] == "validator" and n != twinned)
        self.observer = net.nodes[observer]

    def get_observer(self) -> tuple[int, int, str, int]:
        """The observer's (height, view, leader key, view changes so far); -1 and "" if it does not answer."""
        metrics = read_metrics(self.observer["metrics_port"], self.observer["host"])
        leader = next((name[len(LEADER):].rstrip('"}') for name in metrics if name.startswith(LEADER)), "")
        return (int(metrics.get(HEIGHT, -1)), int(metrics.get(VIEW, -1)), leader, int(metrics.get(VIEW_CHANGES, 0)))

    def get_twin_height(self) -> int:
        return int(read_metrics(self.twin_port).get(HEIGHT, -1))

    def get_conflicts(self) -> int:
        nodes = [(node["metrics_port"], node["host"]) for node in self.net.nodes.values()]
        return int(max(read_metrics(port, host).get(CONFLICTS, 0) for port, host in [*nodes, (self.twin_port,
                                                                                              "127.0.0.1")]))

    def run(self, duration_s: float) -> None:
        """Once the twin synced: until ``duration_s`` passed and, after a completed turn of the key, a
        node counted a conflicting proposal, or ``MAX_TURNS`` turns passed without; at most
        ``TURN_TIMEOUT_S`` (the test asserts on what the record then holds)."""
        began = time.monotonic()
        wait_until(lambda: self.get_twin_height() >= self.get_observer()[0] - 1 >= 0, SYNC_TIMEOUT_S,
                   lambda: f"the twin to sync: at {self.get_twin_height()}, network at {self.get_observer()[0]}")
        key = self.record.public_key
        deadline = time.monotonic() + TURN_TIMEOUT_S
        previous: str | None = None
        start: tuple[int, int, int, float] | None = None  # (view, height, view changes, time) when the turn began
        last_view = -1
        while time.monotonic() < deadline:
            height, view, leader, view_changes = self.get_observer()
            now = time.monotonic()
            if leader == key and previous not in (None, key) and start is None:
                start = (view, height, view_changes, now)
            elif leader not in ("", key) and start is not None:
                self.record.turns.append(LeaderTurn((start[0], last_view), (start[1], height), now - start[3],
                                                    view_changes - start[2]))
                start = None
                self.record.conflicts = self.get_conflicts()
            if leader == key:
                last_view = view
            previous = leader or previous
            turns = len(self.record.turns)
            if now - began >= duration_s and turns and (self.record.conflicts or turns >= MAX_TURNS):
                return
            time.sleep(SAMPLE_INTERVAL_S)
