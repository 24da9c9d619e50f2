"""A Jepsen/CometBFT-style fault-injection testnet (issue #9): a manifest, a schedule of faults, load
recorded operation by operation, and a checker that reads every node's chain from disk afterwards.

How a scenario runs (``run_scenario``):

1. ``hmy-node localnet up`` (the real CLI, shifted ports, ``localnet_runner``) builds the network the
   ``Manifest`` describes, and the harness waits until every chain is live.
2. A ``LoadClient`` funds a few sender accounts per shard from the localnet account, then keeps a
   low, steady load of signed transfers going (a few per second) through each shard's RPC node. Every
   client operation is recorded: when it was invoked, its sender, nonce and hash, and its outcome
   (``ok``: a receipt was seen; ``failed``: no node can have accepted it; ``unknown``: it may or may
   not be included — a timeout, or accepted but no receipt by its deadline).
3. The ``Schedule`` runs while the load runs: each ``Scheduled`` fault at its offset, one after the
   other. A fault names its node(s) or a role (``Leader(shard)``, ``Follower(shard)``) that is
   resolved from ``localnet status --json`` at the moment the fault is injected.
4. After the last fault ends the harness measures the *recovery time*: until every chain has made
   ``RECOVERY_BLOCKS`` new blocks; then until every node (the faulted ones too) caught up.
5. The load stops, ``localnet down`` stops the network cleanly, and ``check_network`` verifies the
   invariants on the nodes' data directories (see its docstring for what each one means and why).
6. A ``ScenarioReport`` (scenario, faults injected, operations ok/failed/unknown, invariants checked,
   recovery time) is printed, and appended as one JSON line to ``$HARMONY_SCENARIO_REPORT`` if set.

Not here yet (later sessions): partitions and disconnects, clock skew, network namespaces, cross-shard
load. A new fault is a new ``Perturbation`` subclass plus a handler in ``Testnet.inject``.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Union

from consensus.safety import SafetyRecord
from crypto.secp256k1 import compute_address
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.genesis import Genesis, load_genesis
from harmony_node.chain.shard_flows import get_shard_flows
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.exceptions import HarmonyError, NotFound
from harmony_node.node.config import ConsensusSettings
from harmony_node.node.localnet import is_node_command, read_proc_cmdline
from harmony_node.types.transaction import encode_transaction, sign_transaction
from localnet_runner import LocalnetCli, find_free_base_port
from node_cluster import FUNDED_KEY, open_stopped_chain, read_metrics

GAS_PRICE = 100 * 10**9
GAS_LIMIT = 21_000
TRANSFER_VALUE = 10**12
SENDER_FUNDING = 5 * 10**18
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

    def get_up_options(self) -> tuple[str, ...]:
        return ("--shards", str(self.shards), "--validators-per-shard", str(self.validators_per_shard),
                "--epoch-blocks", str(self.epoch_blocks), "--block-time", str(self.block_time_ms))

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
    """One fault of a schedule. Subclasses say what is done; ``Testnet.inject`` does it."""


@dataclass(frozen=True, slots=True)
class Kill(Perturbation):
    """kill -9 the node's process group, hold it down ``restart_after_s``, bring it back with ``up``.

    ``expect_view_change``: the checker requires a view change among the blocks made during the
    outage and the recovery (the node was leading)."""

    node: NodeTarget
    restart_after_s: float
    expect_view_change: bool = False


@dataclass(frozen=True, slots=True)
class Pause(Perturbation):
    """SIGSTOP the node's process group for ``duration_s``, then SIGCONT: a node that hangs and wakes up."""

    node: NodeTarget
    duration_s: float
    expect_view_change: bool = False


@dataclass(frozen=True, slots=True)
class Restart(Perturbation):
    """A clean restart: SIGTERM, wait for the exit, ``up`` again."""

    node: NodeTarget


@dataclass(frozen=True, slots=True)
class KillMany(Perturbation):
    """kill -9 several nodes at once and restart them together after ``restart_after_s``.

    ``expect_halt``: more than f validators of a shard are down, so no block may be finalized while
    they are (after at most the one whose votes were already on the wire): the heights are polled
    through the outage and the result is an invariant of the scenario."""

    nodes: tuple[NodeTarget, ...]
    restart_after_s: float
    expect_halt: bool = False


@dataclass(frozen=True, slots=True)
class ColdRestart(Perturbation):
    """``hmy-node localnet down`` (every node, cleanly), ``down_for_s`` of silence, then ``up``."""

    down_for_s: float = 0.0


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

    def up(self, *options: str) -> str:
        result = self.cli.run("up", *options, timeout=180)
        assert result.returncode == 0, f"localnet up: {result.stdout}{result.stderr}\n{self.cli.get_log_tails()}"
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
            for name, value in read_metrics(node["metrics_port"]).items():
                if name.startswith('hmy_chain_height{shard="'):
                    shard = int(name.split('"')[1])
                    heights[shard] = max(heights.get(shard, -1), int(value))
        return heights

    def get_node_height(self, name: str, shard: int) -> int:
        return int(read_metrics(self.nodes[name]["metrics_port"]).get(f'hmy_chain_height{{shard="{shard}"}}', -1))

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

    def restart_stopped(self, names: Sequence[str]) -> None:
        """``localnet up``: starts exactly the stopped nodes, which must be ``names``."""
        out = self.up()
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
        started, heights = self.now(), self.get_heights()
        if isinstance(fault, Kill):
            name = self.resolve(fault.node)
            record = FaultRecord(f"kill -9 {name} ({fault.node}) for {fault.restart_after_s:g} s, restart",
                                 started, heights_at_start=heights, expect_view_change=fault.expect_view_change)
            self.signal_group(name, signal.SIGKILL)
            self.wait_until_stopped([name])
            self.hold(fault.restart_after_s - (self.now() - started))
            self.restart_stopped([name])
        elif isinstance(fault, KillMany):
            names: list[str] = []
            for target in fault.nodes:
                names.append(self.resolve(target, names))
            record = FaultRecord(f"kill -9 {', '.join(names)} together for {fault.restart_after_s:g} s, restart",
                                 started, heights_at_start=heights, expect_halt=fault.expect_halt)
            for name in names:
                self.signal_group(name, signal.SIGKILL)
            self.wait_until_stopped(names)
            if fault.expect_halt:
                self._hold_expecting_halt(record, fault.restart_after_s - (self.now() - started))
            else:
                self.hold(fault.restart_after_s - (self.now() - started))
            self.restart_stopped(names)
        elif isinstance(fault, Pause):
            name = self.resolve(fault.node)
            record = FaultRecord(f"SIGSTOP {name} ({fault.node}) for {fault.duration_s:g} s, SIGCONT",
                                 started, heights_at_start=heights, expect_view_change=fault.expect_view_change)
            self.signal_group(name, signal.SIGSTOP)
            try:
                self.hold(fault.duration_s)
            finally:
                self.signal_group(name, signal.SIGCONT)
        elif isinstance(fault, Restart):
            name = self.resolve(fault.node)
            record = FaultRecord(f"clean restart of {name} ({fault.node})", started, heights_at_start=heights)
            os.kill(self.nodes[name]["pid"], signal.SIGTERM)
            self.wait_until_stopped([name])
            self.restart_stopped([name])
        elif isinstance(fault, ColdRestart):
            record = FaultRecord(f"cold restart: localnet down, {fault.down_for_s:g} s, up", started,
                                 heights_at_start=heights)
            self.down()
            self.hold(fault.down_for_s)
            self.restart_stopped(list(self.nodes))
        else:
            raise TypeError(f"not a fault this harness injects: {fault!r}")
        record.ended_s = self.now()
        self.faults.append(record)
        return record

    def _hold_expecting_halt(self, record: FaultRecord, seconds: float) -> None:
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


# --- the load ------------------------------------------------------------------------------------------------


class Refused(Exception):
    """The request never reached a node (connection refused): it was certainly not accepted."""


class Rejected(Exception):
    """The node answered with a JSON-RPC error."""


def call_rpc(url: str, method: str, params: list[Any], timeout: float = 5.0) -> Any:
    """One JSON-RPC call. Refused: nothing received it; Rejected: an error answer; any other OSError or
    HTTPException (timeout, reset): the node may or may not have acted on it."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    try:
        try:
            connection.connect()
        except ConnectionRefusedError as exc:
            raise Refused(str(exc)) from exc
        connection.request("POST", "/", body, {"Content-Type": "application/json"})
        reply = connection.getresponse()
        data = reply.read()
    finally:
        connection.close()
    if reply.status != 200:
        raise Rejected(f"HTTP {reply.status}: {data[:200]!r}")
    answer = json.loads(data)
    if "error" in answer:
        raise Rejected(str(answer["error"].get("message", answer["error"])))
    return answer["result"]


def _to_int(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


@dataclass(slots=True)
class Operation:
    """One client operation: a signed transfer, submitted (the same bytes, again if need be) until a
    receipt shows it or its deadline passes."""

    kind: str  # "fund" or "transfer"
    shard: int
    sender: str
    nonce: int
    tx_hash: str
    invoked_s: float
    completed_s: float | None = None
    outcome: str | None = None
    """ok: a receipt was seen; failed: no node can have accepted it; unknown: it may be included."""
    block: int | None = None
    error: str | None = None
    submissions: int = 0


@dataclass(slots=True)
class _Sender:
    key: bytes
    address: bytes
    nonce: int = 0


class LoadClient:
    """Low-rate transfers on every shard through its RPC node; one thread per active sender.

    A sender's next nonce is used only after its previous transfer's receipt was seen. A transfer
    that ends failed or unknown is never replaced by another transaction with its nonce (if it was
    silently dropped, a successor would wait behind the gap; if not, it would be a double spend
    attempt): its sender retires and a spare takes its place."""

    OP_TIMEOUT_S = 45.0
    RESUBMIT_S = 4.0
    POLL_S = 0.7

    def __init__(self, net: Testnet, active_per_shard: int = 6, spares_per_shard: int = 8, pace_s: float = 0.5) -> None:
        self.net = net
        self.active = active_per_shard
        self.pace_s = pace_s
        self.urls = [net.cli.get_rpc_url(shard) for shard in range(net.manifest.shards)]
        self.genesis = load_genesis(net.cli.datadir / "genesis.json")
        self.pools: list[list[_Sender]] = []
        for _ in range(net.manifest.shards):
            keys = [secrets.token_bytes(32) for _ in range(active_per_shard + spares_per_shard)]
            self.pools.append([_Sender(key, compute_address(key)) for key in keys])
        self.operations: list[Operation] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.drain_deadline = float("inf")
        self.threads: list[threading.Thread] = []

    def sign(self, sender: _Sender, shard: int, to: bytes, value: int) -> tuple[str, str]:
        tx = sign_transaction(nonce=sender.nonce, gas_price=GAS_PRICE, gas_limit=GAS_LIMIT, shard_id=shard,
                              to_shard_id=shard, to=to, value=value, data=b"", private_key=sender.key,
                              chain_id=self.genesis.config.chain_id)
        return "0x" + encode_transaction(tx).hex(), "0x" + tx.hash.hex()

    def fund(self, timeout: float = 60) -> None:
        """Fund every sender on its shard from the localnet account; raises unless all are included."""
        for shard, pool in enumerate(self.pools):
            funder = _Sender(FUNDED_KEY, compute_address(FUNDED_KEY))
            funder.nonce = _to_int(call_rpc(self.urls[shard], "hmyv2_getTransactionCount",
                                            ["0x" + funder.address.hex(), "latest"]))
            pending: list[Operation] = []
            for sender in pool:
                raw, tx_hash = self.sign(funder, shard, sender.address, SENDER_FUNDING)
                op = Operation("fund", shard, "0x" + funder.address.hex(), funder.nonce, tx_hash, self.net.now())
                call_rpc(self.urls[shard], "hmyv2_sendRawTransaction", [raw])
                op.submissions = 1
                funder.nonce += 1
                pending.append(op)
                self.record(op)

            def all_included(pending: list[Operation] = pending, shard: int = shard) -> bool:
                for op in pending:
                    if op.outcome is None:
                        receipt = call_rpc(self.urls[shard], "hmyv2_getTransactionReceipt", [op.tx_hash])
                        if receipt is not None:
                            op.outcome, op.block = "ok", _to_int(receipt["blockNumber"])
                            op.completed_s = self.net.now()
                return all(op.outcome == "ok" for op in pending)

            wait_until(all_included, timeout, lambda: f"the senders of shard {shard} to be funded")

    def record(self, op: Operation) -> None:
        with self.lock:
            self.operations.append(op)

    def start(self) -> None:
        for shard in range(len(self.pools)):
            for _ in range(self.active):
                thread = threading.Thread(target=self._run_sender_slot, args=(shard,), daemon=True)
                thread.start()
                self.threads.append(thread)

    def stop(self, drain_s: float = 20.0) -> None:
        """No new operations; those in flight get ``drain_s`` to finish, then end unknown (or failed)."""
        self.drain_deadline = time.monotonic() + drain_s
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=drain_s + 15)
        assert not any(thread.is_alive() for thread in self.threads), "a load thread did not stop"

    def _take_sender(self, shard: int) -> _Sender | None:
        with self.lock:
            return self.pools[shard].pop() if self.pools[shard] else None

    def _run_sender_slot(self, shard: int) -> None:
        sender = self._take_sender(shard)
        recipient = secrets.token_bytes(20)
        while sender is not None and not self.stopping.is_set():
            raw, tx_hash = self.sign(sender, shard, recipient, TRANSFER_VALUE)
            op = Operation("transfer", shard, "0x" + sender.address.hex(), sender.nonce, tx_hash, self.net.now())
            self.record(op)
            self._run_operation(op, raw)
            if op.outcome == "ok":
                sender.nonce += 1
                self.stopping.wait(self.pace_s)
            else:
                sender = self._take_sender(shard)  # this sender's nonce is in doubt: retire it

    def _run_operation(self, op: Operation, raw: str) -> None:
        url = self.urls[op.shard]
        deadline = time.monotonic() + self.OP_TIMEOUT_S
        maybe_accepted = False
        next_submit = time.monotonic()
        while op.outcome is None:
            now = time.monotonic()
            if now >= next_submit:
                next_submit = now + self.RESUBMIT_S
                op.submissions += 1
                try:
                    call_rpc(url, "hmyv2_sendRawTransaction", [raw])
                    maybe_accepted = True
                except Refused as exc:
                    op.error = f"refused: {exc}"
                except Rejected as exc:
                    message = str(exc)
                    op.error = message
                    # In the pool already, or its nonce used: by this very transaction (no other has it).
                    maybe_accepted |= "already known" in message or "nonce too low" in message
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    op.error = f"no answer: {exc!r}"
                    maybe_accepted = True
            if maybe_accepted:
                try:
                    receipt = call_rpc(url, "hmyv2_getTransactionReceipt", [op.tx_hash])
                except (Refused, Rejected, OSError, http.client.HTTPException, ValueError):
                    receipt = None
                if receipt is not None:
                    op.outcome, op.block, op.error = "ok", _to_int(receipt["blockNumber"]), None
                    break
            if time.monotonic() > min(deadline, self.drain_deadline):
                op.outcome = "unknown" if maybe_accepted else "failed"
                break
            time.sleep(self.POLL_S)
        op.completed_s = self.net.now()

    def count(self) -> Counter[str]:
        return Counter(op.outcome or "unknown" for op in self.operations if op.kind == "transfer")


# --- the checker ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvariantResult:
    name: str
    passed: bool
    detail: str = ""


def _open_chains(node_dirs: Sequence[Path], genesis_file: Path, shard: int,
                 stack: ExitStack) -> dict[str, Blockchain]:
    chains = {}
    for node_dir in node_dirs:
        chain = stack.enter_context(open_stopped_chain(node_dir, genesis_file, shard))
        if chain is not None:
            chains[node_dir.name] = chain
    return chains


def check_network(datadir: Path, shards: int, operations: Sequence[Operation],
                  faults: Sequence[FaultRecord] = ()) -> list[InvariantResult]:
    """Every invariant, on the data directories of a stopped localnet. Each result says what differed.

    (a) **identical hashes per height**: every node's copy of each chain is a prefix of the longest
        copy. FBFT blocks are final; two nodes holding different blocks at one height is a fork.
    (b) **transactions**: an ``ok`` transfer (its receipt was seen) is in exactly one block of its
        shard, the block its receipt named; a ``failed`` one (no node can have accepted it) is in no
        block; an ``unknown`` one in at most one. No (sender, nonce) and no transaction hash appears
        twice anywhere on a chain: a replayed or double-spent transaction.
    (c) **view ids never decrease**: along each chain the header view ids strictly increase (height
        h+1 starts in the view after the one h was committed in, ``consensus.fbft``); a view going
        back would mean a node voted in a view it had already left.
    (d) **no conflicting votes**: no node logged ``double sign observed`` (an engine saw two commit
        votes of one key for different blocks at one height and view); and each node's persisted
        safety record (only its latest height and view are kept, ``consensus.safety``) never says it
        committed a different block at the (height, view) in which the chain finalized another one.
    (e) **progress resumed** is checked while the network runs (``Testnet.measure_recovery``); here:
        the faults that expected a view change (a leader taken out) show one in the headers (a view
        id that jumps by more than one) among the blocks made from the fault's start, and those that
        expected a halt (more than f validators down) saw no block finalized during the outage.
    (f) **conservation** (``shard_flows``): Σ shards' genesis alloc + minted − burned (the beacon's
        supply, plus every other shard's fees) = Σ balances of every account any block touched +
        stakes, unclaimed rewards and pending undelegations + Σ (cross-shard sent − credited, in
        flight). Cross-shard receipts: none credited more than once.
    """
    genesis_file = datadir / "genesis.json"
    genesis = load_genesis(genesis_file)
    node_dirs = sorted(path for path in datadir.iterdir() if path.is_dir() and (path / "node.log").exists())
    results: list[InvariantResult] = []
    with ExitStack() as stack:
        references: dict[int, Blockchain] = {}
        copies_by_shard: dict[int, dict[str, Blockchain]] = {}
        fork_problems: list[str] = []
        for shard in range(shards):
            chains = copies_by_shard[shard] = _open_chains(node_dirs, genesis_file, shard, stack)
            copies = {name: [chain.get_block_by_number(n).header.hash for n in range(chain.head.number + 1)]
                      for name, chain in chains.items()}
            longest_node = max(copies, key=lambda name: len(copies[name]))
            longest = copies[longest_node]
            references[shard] = chains[longest_node]
            for name, hashes in copies.items():
                if hashes != longest[:len(hashes)]:
                    height = next(h for h, (a, b) in enumerate(zip(hashes, longest)) if a != b)
                    fork_problems.append(f"shard {shard}: {name} has 0x{hashes[height].hex()[:16]} at height {height},"
                                         f" {longest_node} has 0x{longest[height].hex()[:16]}")
            heads = ", ".join(f"{name}={len(h) - 1}" for name, h in sorted(copies.items()))
            results.append(InvariantResult(f"identical hashes per height (shard {shard})", not fork_problems,
                                           "; ".join(fork_problems) or f"heads {heads}"))
            fork_problems = []
        results += _check_transactions(references, operations)
        results += _check_views(references, faults)
        results += _check_votes(node_dirs, copies_by_shard, references)
        results += _check_halts(faults)
        results += _check_conservation(references, genesis)
    return results


def _check_transactions(chains: dict[int, Blockchain], operations: Sequence[Operation]) -> list[InvariantResult]:
    included: dict[str, list[tuple[int, int]]] = defaultdict(list)
    nonces: dict[tuple[int, bytes, int], list[str]] = defaultdict(list)
    for shard, chain in chains.items():
        for number in range(1, chain.head.number + 1):
            block = chain.get_block_by_number(number)
            for tx in (*block.transactions, *block.staking_transactions):
                tx_hash = "0x" + tx.hash.hex()
                included[tx_hash].append((shard, number))
                nonces[(shard, tx.recover_sender(), tx.nonce)].append(tx_hash)
    problems: list[str] = []
    for op in operations:
        places = included.get(op.tx_hash, [])
        if op.outcome == "ok" and (len(places) != 1 or places[0] != (op.shard, op.block)):
            problems.append(f"ok {op.kind} {op.tx_hash[:18]} (receipt: shard {op.shard} block {op.block}) is in "
                            f"{places or 'no block'}")
        elif op.outcome == "failed" and places:
            problems.append(f"failed {op.kind} {op.tx_hash[:18]} ({op.error}) is in {places}")
        elif op.outcome not in ("ok", "failed") and len(places) > 1:
            problems.append(f"unknown {op.kind} {op.tx_hash[:18]} is in {places}")
    twice = [f"shard {s} sender 0x{sender.hex()[:10]} nonce {nonce}: {hashes}"
             for (s, sender, nonce), hashes in nonces.items() if len(hashes) > 1]
    hashes_twice = [f"{h[:18]} in {places}" for h, places in included.items() if len(places) > 1]
    counts = Counter(op.outcome for op in operations if op.kind == "transfer")
    funding = sum(1 for op in operations if op.kind == "fund")
    unknown_in = sum(1 for op in operations if op.outcome == "unknown" and included.get(op.tx_hash))
    return [
        InvariantResult("acknowledged transfers in exactly one block, failed in none, unknown in at most one",
                        not problems, "; ".join(problems[:8]) or
                        f"transfers {counts['ok']} ok, {counts['failed']} failed, {counts['unknown']} unknown "
                        f"({unknown_in} of those included); {funding} funding transfers"),
        InvariantResult("no (sender, nonce) or transaction twice", not twice and not hashes_twice,
                        "; ".join((twice + hashes_twice)[:8]) or f"{len(included)} transactions on chain"),
    ]


def _check_views(chains: dict[int, Blockchain], faults: Sequence[FaultRecord]) -> list[InvariantResult]:
    results = []
    for shard, chain in chains.items():
        views = [chain.get_header(n).view_id for n in range(chain.head.number + 1)]
        back = [f"block {n}: view {views[n - 1]} -> {views[n]}" for n in range(1, len(views)) if views[n] <= views[n - 1]]
        jumps = sum(1 for n in range(1, len(views)) if views[n] > views[n - 1] + 1)
        results.append(InvariantResult(f"view ids strictly increase (shard {shard})", not back,
                                       "; ".join(back[:8]) or f"{len(views)} headers, last view {views[-1]}, "
                                                              f"{jumps} view changes"))
        for fault in faults:
            if not fault.expect_view_change:
                continue
            start = fault.heights_at_start.get(shard, 0)
            changed = [n for n in range(start + 1, len(views)) if views[n] > views[n - 1] + 1]
            results.append(InvariantResult(f"a view change after: {fault.description} (shard {shard})", bool(changed),
                                           f"view jumps at blocks {changed[:5]}" if changed else
                                           f"views from block {start}: {views[start:start + 12]}"))
    return results


def _check_votes(node_dirs: Sequence[Path], copies_by_shard: dict[int, dict[str, Blockchain]],
                 references: dict[int, Blockchain]) -> list[InvariantResult]:
    observed = []
    for node_dir in node_dirs:
        for line in (node_dir / "node.log").read_text(errors="replace").splitlines():
            if "double sign observed" in line:
                observed.append(f"{node_dir.name}: {line.strip()[:200]}")
    conflicts: list[str] = []
    records = 0
    for shard, copies in copies_by_shard.items():
        reference = references[shard]
        for name, chain in copies.items():
            data = chain.chain_store.get_safety_record(shard)
            if data is None:
                continue
            record = SafetyRecord.decode(data)
            records += 1
            if not record.committed or record.height > reference.head.number:
                continue
            try:
                commit_view = reference.get_commit(record.height).view
            except NotFound:
                continue
            final = reference.get_block_by_number(record.height).header.hash
            if commit_view == record.view and record.committed != final:
                conflicts.append(f"shard {shard} {name}: committed 0x{record.committed.hex()[:16]} at height "
                                 f"{record.height} view {record.view}, the chain finalized 0x{final.hex()[:16]} there")
    return [
        InvariantResult("no node observed a double sign", not observed, "; ".join(observed[:5])
                        or f"{len(node_dirs)} node logs read"),
        InvariantResult("safety records agree with the finalized chain", not conflicts,
                        "; ".join(conflicts[:5]) or f"{records} safety records read"),
    ]


def _check_halts(faults: Sequence[FaultRecord]) -> list[InvariantResult]:
    return [InvariantResult(f"no block while more than f were down: {fault.description}", fault.halt_observed is None,
                            fault.halt_observed or f"heights at the kill {fault.heights_at_start}, held through")
            for fault in faults if fault.expect_halt]


def _check_conservation(chains: dict[int, Blockchain], genesis: Genesis) -> list[InvariantResult]:
    alloc = sum(balance for _, balance in genesis.alloc)
    beacon_state = chains[0].get_state()
    ledger = StateStakingLedger(beacon_state, alloc)
    supply = ledger.get_supply()
    staked = 0
    accounts: dict[int, set[bytes]] = {shard: {address for address, _ in genesis.alloc} for shard in chains}
    for validator in ledger.get_validator_addresses():
        accounts[0].add(validator)
        wrapper = ledger.get_validator(validator)
        if wrapper is not None:
            for delegation in wrapper.delegations:
                accounts[0].add(delegation.delegator)
                staked += delegation.amount + delegation.reward + delegation.pending_undelegation
    credited: Counter[bytes] = Counter()
    for shard, chain in chains.items():
        for number in range(1, chain.head.number + 1):
            block = chain.get_block_by_number(number)
            for tx in (*block.transactions, *block.staking_transactions):
                accounts[shard].add(tx.recover_sender())
                to = getattr(tx, "to", b"")
                if to:
                    accounts[tx.to_shard_id if hasattr(tx, "to_shard_id") else shard].add(to)
            for proof in block.incoming_receipts:
                for receipt in proof.receipts:
                    credited[receipt.tx_hash] += 1
                    accounts[shard].add(receipt.to_address)
    holdings, in_flight, other_fees = staked, 0, 0
    for shard, chain in chains.items():
        state = chain.get_state()
        holdings += sum(state.get_balance(address) for address in accounts[shard])
        flows = get_shard_flows(state)
        in_flight += flows.cx_sent - flows.cx_credited
        if shard != 0:
            other_fees += flows.fees_burned
    left = len(chains) * alloc + supply.minted - supply.burned - other_fees
    right = holdings + in_flight
    twice = [f"0x{h.hex()[:16]} x{n}" for h, n in credited.items() if n > 1]
    return [
        InvariantResult("conservation: alloc + minted - burned = holdings + in flight", left == right,
                        f"{left} vs {right} (difference {left - right}; minted {supply.minted}, burned "
                        f"{supply.burned + other_fees}, in flight {in_flight})"),
        InvariantResult("cross-shard receipts credited at most once", not twice,
                        "; ".join(twice[:5]) or f"{sum(credited.values())} receipts credited"),
    ]


# --- the scenario report ----------------------------------------------------------------------------------


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
def run_scenario(name: str, manifest: Manifest, schedule: Schedule, root: Path) -> Iterator[ScenarioRun]:
    """Run a scenario (module docstring), yield once with the report filled in, clean up after.

    Used as ``with run_scenario(...) as run``: the caller asserts on ``run.report`` inside; every
    node process is killed on the way out whatever happened."""
    began = time.monotonic()
    net = Testnet(manifest, root)
    try:
        net.start()
        load = LoadClient(net)
        load.fund()
        net.t0 = time.monotonic()
        load.start()
        run = ScenarioRun(net, load)
        try:
            net.run_schedule(schedule)
            recovery = net.measure_recovery()
        finally:
            load.stop()
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


def format_report_table(lines: Sequence[str]) -> str:
    """The closing note's table (markdown) from ``$HARMONY_SCENARIO_REPORT`` JSON lines."""
    rows = ["| scenario | faults injected | operations ok / failed / unknown | invariants checked | recovery (s) |",
            "|---|---|---|---|---|"]
    for line in lines:
        if not line.strip():
            continue
        report = json.loads(line)
        invariants = report["invariants"]
        passed = sum(1 for _, ok, _ in invariants if ok)
        names = "; ".join(name + ("" if ok else " **FAILED**") for name, ok, _ in invariants)
        recovery = "-" if report["recovery_s"] is None else f"{report['recovery_s']:.1f}"
        rows.append(f"| {report['scenario']} | {'; '.join(report['faults'])} | {report['operations_ok']} / "
                    f"{report['operations_failed']} / {report['operations_unknown']} | {passed}/{len(invariants)}: "
                    f"{names} | {recovery} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python tests/support/testnet_harness.py REPORT.jsonl
    import sys

    print(format_report_table(Path(sys.argv[1]).read_text().splitlines()))
