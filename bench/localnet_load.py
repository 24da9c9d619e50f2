"""Load on a live localnet: signed transfers over RPC at increasing rates on every shard, a tenth cross-shard.

Method:

1. Start a localnet (``hmy-node localnet up`` in a temporary directory, on the first free base port
   from ``--base-port``; it is stopped at the end) or, with ``--use-running DATADIR``, use the one
   running from that directory (left running).
2. Fund ``--senders`` fresh accounts per shard from the localnet account (batches of transfers,
   receipts awaited). One sender's nonces serialize, so the load is spread over many senders.
3. Pre-sign every transfer of the run, so signing never limits the offered rate. Step ``j`` offers
   ``rates[j]`` transfers/s network-wide for ``duration / len(rates)`` seconds: transfer ``k`` of the
   step is due at ``k / rate`` and goes out on shard ``k mod 3``. Every tenth transfer of a shard,
   counted over the whole run (its 1st, 11th, 21st...), is cross-shard (to the next shard). Per
   shard, transfers go round-robin over its senders with increasing nonces.
4. Timed phase: first ``--baseline`` s with no load (the table's offered-0 row: what an idle
   localnet costs), then the steps. Per shard a sender thread wakes every 50 ms and posts what is
   due as one JSON-RPC batch of ``hmyv2_sendRawTransaction`` (submission time taken just before the
   POST). A watcher
   polls ``hmyv2_blockNumber`` on every shard's RPC node every 0.2 s and notes when each height is
   first seen there; a poller asks ``hmyv2_getTransactionReceipt`` on the source shard and
   ``hmyv2_getCXReceiptByHash`` on the destination shard (batches). Finality = first time the
   including height (or the receipt) was seen at the RPC node - submission; the cross-shard time
   likewise with the crediting block on the destination shard. Resolution is the watch period (it
   adds ~0.1 s on average): this is the latency a client of the RPC node sees.
5. A sampler reads every node's ``/proc/<pid>/stat`` (utime + stime) and ``VmRSS`` every second, the
   client's own ticks and the machine's ``/proc/stat``; every 2 s it reads the nodes' metrics (pool
   size, view changes). After the last step the run waits up to ``--drain`` s for what is in flight.

Per step: transfers sent, accepted by the RPC node, finalized (included, eventually); achieved tps =
transfers of any step included during the step's window shifted by the step's median finality (the
pipeline delay does not count against a step), over the step's length; p50/p95 finality (a transfer
never included counts as infinite); cross-shard p95; blocks seen and p95 block interval per chain;
largest pool per chain; view changes; CPU of all nodes and of this client in % of one core (the machine has
``os.cpu_count()`` x 100 %); largest node RSS.

A step *holds* when at least 95 % of its planned transfers are finalized, its achieved tps is at least
90 % of the offered rate and its p95 finality is within ``--finality-target``. The last line reports
the highest-rate step that held; if none held, the step with the highest achieved tps (the line
before it says which). ``max_rss_mb`` is the largest node RSS over the whole run.

The default localnet changes epoch every 16 blocks, and each change reshuffles the committees;
``--epoch-blocks`` (new localnet only) sets a longer epoch to measure the load without those changes.

``--profile-node NAME`` (e.g. ``s0-v0``; ``localnet status`` names the leaders) runs
``py-spy record`` on that node during the load steps if ``py-spy`` is on PATH, and prints its hottest
functions (self and inclusive); without py-spy it says so and goes on.

    python bench/localnet_load.py --duration 60

Last line: ``tps=<n> p95_finality_s=<n> cx_p95_s=<n> max_rss_mb=<n>`` (DESIGN.md §5: 1 s blocks on
every chain, p95 finality <= 2 s, cross-shard p95 <= 3 s, RSS <= 150 MB; tps as high as the machine allows).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

from crypto.hash import keccak256  # noqa: E402
from crypto.secp256k1 import compute_address  # noqa: E402
from harmony_node.node.localnet import (  # noqa: E402
    CHAIN_ID,
    FUNDED_ADDRESS,
    LocalnetSettings,
    fetch_metrics,
    is_port_free,
    parse_metrics,
    plan_nodes,
)
from harmony_node.types.transaction import encode_transaction, sign_transaction  # noqa: E402

FUNDED_KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
GAS_PRICE = 100 * 10**9
GAS_LIMIT = 21_000
TRANSFER_VALUE = 10**12
FUNDING = 1_000 * 10**18
CROSS_SHARD_EVERY = 10
FUNDING_CHUNK = 50
"""Funding transfers in flight per shard (the pool keeps at most 64 per sender)."""
MAX_RPC_BATCH = 100
SEND_TICK_S = 0.05
WATCH_PERIOD_S = 0.2
POLL_PERIOD_S = 0.5
SAMPLE_PERIOD_S = 1.0
MAX_POLLED = 400
"""Receipts asked per shard and round (oldest first), so a backlog does not swamp the RPC node."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HMY_NODE = str(Path(sys.executable).with_name("hmy-node"))


# --- pure helpers ---------------------------------------------------------------------------------------


def parse_rates(text: str) -> list[float]:
    """``"5,10,20"`` -> ``[5.0, 10.0, 20.0]``: positive and increasing."""
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or any(rate <= 0 for rate in rates) or rates != sorted(set(rates)):
        raise ValueError(f"rates must be positive and increasing: {text!r}")
    return rates


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values. Infinite values sort last."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def plan_step(rate: float, seconds: float, shards: int) -> list[tuple[float, int]]:
    """(due offset, source shard) of each transfer of a step, in due order."""
    return [(k / rate, k % shards) for k in range(round(rate * seconds))]


def is_cross_shard_turn(index: int, shards: int) -> bool:
    """Whether a shard's ``index``-th transfer of the run (from 0) goes to another shard: one in ten."""
    return shards > 1 and index % CROSS_SHARD_EVERY == 0


def record_height(seen: dict[int, float], height: int, now: float) -> None:
    """Note ``height`` first seen at ``now``; heights skipped since the last one get times spread evenly."""
    if height in seen:
        return
    last = max(seen, default=None)
    if last is None or height < last:
        seen[height] = now
        return
    for h in range(last + 1, height + 1):
        seen[h] = seen[last] + (now - seen[last]) * (h - last) / (height - last)


def get_block_intervals(seen: dict[int, float], start: float, end: float) -> list[float]:
    """Intervals between consecutive heights, for blocks first seen in ``[start, end)``."""
    return [t - seen[h - 1] for h, t in seen.items() if start <= t < end and h - 1 in seen]


# --- JSON-RPC -------------------------------------------------------------------------------------------


class RpcError(Exception):
    """A JSON-RPC call that failed (transport or error answer)."""


RPC_FAILURES = (OSError, http.client.HTTPException, RpcError, ValueError)


class RpcClient:
    """JSON-RPC over one keep-alive HTTP connection; one client per thread."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def _post(self, body: bytes) -> Any:
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._connection.request("POST", "/", body, {"Content-Type": "application/json"})
                reply = self._connection.getresponse()
                data = reply.read()
            except (OSError, http.client.HTTPException):
                self._connection.close()
                self._connection = None
                if attempt:
                    raise
                continue
            if reply.status != 200:
                raise RpcError(f"HTTP {reply.status} from {self.url}: {data[:200]!r}")
            return json.loads(data)
        raise AssertionError("unreachable")

    def call_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[tuple[Any, str | None]]:
        """(result, error message or None) of each call, in order; batches of at most 100."""
        answers: list[tuple[Any, str | None]] = []
        for first in range(0, len(calls), MAX_RPC_BATCH):
            chunk = calls[first:first + MAX_RPC_BATCH]
            body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": method, "params": params}
                               for i, (method, params) in enumerate(chunk)]).encode()
            reply = self._post(body)
            if not isinstance(reply, list):
                raise RpcError(f"batch refused by {self.url}: {reply}")
            by_id = {item.get("id"): item for item in reply}
            for i in range(len(chunk)):
                item = by_id.get(i, {"error": {"message": "no answer"}})
                error = item.get("error")
                answers.append((item.get("result"), None if error is None else str(error.get("message", error))))
        return answers

    def call(self, method: str, params: list[Any]) -> Any:
        result, error = self.call_batch([(method, params)])[0]
        if error is not None:
            raise RpcError(f"{method}: {error}")
        return result


def to_int(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


# --- the localnet ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    role: str
    shard: int
    pid: int
    metrics_port: int
    host: str = "127.0.0.1"


def run_localnet(datadir: Path, *args: str, timeout: float = 180) -> str:
    result = subprocess.run([HMY_NODE, "localnet", *args, "--datadir", str(datadir)],
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"hmy-node localnet {args[0]} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def read_status(datadir: Path) -> dict[str, Any]:
    status: dict[str, Any] = json.loads(run_localnet(datadir, "status", "--json", timeout=30))
    return status


def find_free_base_port(first: int) -> int:
    """A base port whose whole layout (base .. base+911) is free now."""
    for base in range(first, 60000, 1000):
        if all(is_port_free(port) for plan in plan_nodes(LocalnetSettings(base_port=base))
               for port in (plan.p2p_port, plan.rpc_port, plan.metrics_port)):
            return base
    raise RuntimeError("no free port range for the localnet")


def wait_until_live(datadir: Path, timeout: float) -> dict[str, Any]:
    """The status once every chain is at height 3 or more with a leader."""
    deadline = time.monotonic() + timeout
    while True:
        status = read_status(datadir)
        if status["chains"] and all(chain["height"] is not None and chain["height"] >= 3 and chain["leader"]
                                    for chain in status["chains"].values()):
            return status
        if time.monotonic() > deadline:
            raise RuntimeError(f"chains not live after {timeout:.0f} s: {status['chains']}")
        time.sleep(1)


def get_rpc_urls(status: dict[str, Any]) -> list[str]:
    urls = {node["shard"]: f"http://{node['host']}:{node['rpc_port']}"
            for node in status["nodes"] if node["role"] == "rpc"}
    return [urls[shard] for shard in sorted(urls)]


def get_nodes(status: dict[str, Any]) -> list[NodeInfo]:
    return [NodeInfo(node["name"], node["role"], node["shard"], node["pid"], node["metrics_port"],
                     node["host"])
            for node in status["nodes"] if node["pid"] is not None]


# --- transfers ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Transfer:
    raw: str
    tx_hash: str
    shard: int
    to_shard: int
    step: int
    due: float
    """Seconds from the start of the timed phase (as every time below)."""
    submitted: float | None = None
    error: str | None = None
    block: int | None = None
    receipt_seen: float | None = None
    credit_block: int | None = None
    credit_seen: float | None = None

    @property
    def is_cross_shard(self) -> bool:
        return self.shard != self.to_shard


def sign_transfer(key: bytes, nonce: int, shard: int, to_shard: int, to: bytes, value: int) -> tuple[str, str]:
    tx = sign_transaction(nonce=nonce, gas_price=GAS_PRICE, gas_limit=GAS_LIMIT, shard_id=shard, to_shard_id=to_shard,
                          to=to, value=value, data=b"", private_key=key, chain_id=CHAIN_ID)
    return "0x" + encode_transaction(tx).hex(), "0x" + tx.hash.hex()


def wait_for_receipts(client: RpcClient, hashes: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while hashes:
        answers = client.call_batch([("hmyv2_getTransactionReceipt", [h]) for h in hashes])
        hashes = [h for h, (result, _) in zip(hashes, answers) if result is None]
        if hashes and time.monotonic() > deadline:
            raise RuntimeError(f"{len(hashes)} funding transfers not included after {timeout:.0f} s on {client.url}")
        time.sleep(0.5)


def fund_senders(clients: list[RpcClient], senders: list[list[bytes]]) -> None:
    """Send FUNDING to every sender from the localnet account, shard by shard, and wait for the receipts."""
    for shard, client in enumerate(clients):
        nonce = to_int(client.call("hmyv2_getTransactionCount", [FUNDED_ADDRESS, "pending"]))
        keys = senders[shard]
        for first in range(0, len(keys), FUNDING_CHUNK):
            signed = [sign_transfer(FUNDED_KEY, nonce + first + i, shard, shard, compute_address(key), FUNDING)
                      for i, key in enumerate(keys[first:first + FUNDING_CHUNK])]
            answers = client.call_batch([("hmyv2_sendRawTransaction", [raw]) for raw, _ in signed])
            errors = [error for _, error in answers if error is not None]
            if errors:
                raise RuntimeError(f"funding on shard {shard} refused: {errors[0]}")
            wait_for_receipts(client, [tx_hash for _, tx_hash in signed], timeout=60)


def build_transfers(rates: list[float], step_seconds: float, senders: list[list[bytes]],
                    first_due: float) -> list[Transfer]:
    """Every transfer of the run, signed, in due order from ``first_due``; each shard's senders round-robin,
    nonces from 0."""
    shards = len(senders)
    recipients = [keccak256(b"localnet_load recipient %d" % i)[12:] for i in range(64)]
    nonces = [[0] * len(keys) for keys in senders]
    counters = [0] * shards
    transfers = []
    for step, rate in enumerate(rates):
        offset = first_due + step * step_seconds
        for due, shard in plan_step(rate, step_seconds, shards):
            sender = counters[shard] % len(senders[shard])
            to_shard = (shard + 1) % shards if is_cross_shard_turn(counters[shard], shards) else shard
            raw, tx_hash = sign_transfer(senders[shard][sender], nonces[shard][sender], shard, to_shard,
                                         recipients[counters[shard] % len(recipients)], TRANSFER_VALUE)
            nonces[shard][sender] += 1
            counters[shard] += 1
            transfers.append(Transfer(raw, tx_hash, shard, to_shard, step, offset + due))
    return transfers


# --- the timed phase: threads ---------------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    node_ticks: dict[str, int]
    node_rss_kb: dict[str, int]
    client_ticks: int
    machine_busy: int
    machine_total: int
    pool: dict[int, int] = field(default_factory=dict)
    """Chain -> largest pool among the nodes on it (only on samples that read the metrics)."""
    view_changes: dict[int, int] = field(default_factory=dict)
    """Chain -> largest view-change counter among its nodes (same)."""


@dataclass
class Run:
    start: float
    """time.monotonic() at the start of the timed phase."""
    clients: list[RpcClient]
    nodes: list[NodeInfo]
    transfers: list[Transfer]
    stop: threading.Event = field(default_factory=threading.Event)
    heads: list[dict[int, float]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.start


def send_loop(run: Run, shard: int) -> None:
    client = RpcClient(run.clients[shard].url)
    queue = [t for t in run.transfers if t.shard == shard]
    i = 0
    while i < len(queue) and not run.stop.is_set():
        now = run.now()
        if queue[i].due > now:
            time.sleep(max(queue[i].due - now, SEND_TICK_S))
            continue
        j = i
        while j < len(queue) and j - i < MAX_RPC_BATCH and queue[j].due <= now:
            j += 1
        batch = queue[i:j]
        sent_at = run.now()
        try:
            answers = client.call_batch([("hmyv2_sendRawTransaction", [t.raw]) for t in batch])
        except RPC_FAILURES as exc:
            answers = [(None, f"send failed: {exc}")] * len(batch)
        for transfer, (_, error) in zip(batch, answers):
            transfer.error = None if error is None or error.startswith("already known") else error
            transfer.submitted = sent_at
        i = j


def watch_heads(run: Run) -> None:
    clients = [RpcClient(client.url, timeout=2) for client in run.clients]
    while not run.stop.is_set():
        for shard, client in enumerate(clients):
            try:
                height = to_int(client.call("hmyv2_blockNumber", []))
            except RPC_FAILURES:
                continue
            record_height(run.heads[shard], height, run.now())
        run.stop.wait(WATCH_PERIOD_S)


def poll_round(run: Run, clients: list[RpcClient], sent: list[list[Transfer]], incoming: list[list[Transfer]]) -> bool:
    """Ask once for outstanding receipts (``sent`` per source shard) and credits (``incoming`` per
    destination shard); True when nothing is outstanding any more."""
    idle = True
    for shard, client in enumerate(clients):
        waiting = [t for t in sent[shard] if t.submitted is not None and t.error is None and t.block is None]
        crediting = [t for t in incoming[shard] if t.block is not None and t.credit_block is None]
        waiting, crediting = waiting[:MAX_POLLED], crediting[:MAX_POLLED]
        idle = idle and not waiting and not crediting
        try:
            receipts = client.call_batch([("hmyv2_getTransactionReceipt", [t.tx_hash]) for t in waiting])
            now = run.now()
            for transfer, (result, _) in zip(waiting, receipts):
                if result:
                    transfer.block, transfer.receipt_seen = to_int(result["blockNumber"]), now
            credits = client.call_batch([("hmyv2_getCXReceiptByHash", [t.tx_hash]) for t in crediting])
            now = run.now()
            for transfer, (result, _) in zip(crediting, credits):
                if result:
                    transfer.credit_block, transfer.credit_seen = to_int(result["blockNumber"]), now
        except RPC_FAILURES:
            idle = False
    return idle and all(t.submitted is not None for t in run.transfers)


def poll_receipts(run: Run, drained: threading.Event) -> None:
    clients = [RpcClient(client.url) for client in run.clients]
    sent = [[t for t in run.transfers if t.shard == shard] for shard in range(len(clients))]
    incoming = [[t for t in run.transfers if t.to_shard == shard and t.is_cross_shard] for shard in range(len(clients))]
    while not run.stop.is_set():
        if poll_round(run, clients, sent, incoming):
            drained.set()
        run.stop.wait(POLL_PERIOD_S)


def read_process_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def read_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def read_machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def read_node_metrics(nodes: list[NodeInfo]) -> tuple[dict[int, int], dict[int, int]]:
    pool: dict[int, int] = {}
    view_changes: dict[int, int] = {}
    for node in nodes:
        for name, labels, value in parse_metrics(fetch_metrics(node.host, node.metrics_port, timeout=0.5) or ""):
            if "shard" not in labels:
                continue
            shard = int(labels["shard"])
            if name == "hmy_txpool_size":
                pool[shard] = max(pool.get(shard, 0), int(value))
            elif name == "hmy_consensus_view_changes_total":
                view_changes[shard] = max(view_changes.get(shard, 0), int(value))
    return pool, view_changes


def take_sample(run: Run, with_metrics: bool) -> Sample:
    ticks = {node.name: read_process_ticks(node.pid) for node in run.nodes}
    rss = {node.name: read_rss_kb(node.pid) for node in run.nodes}
    busy, total = read_machine_ticks()
    sample = Sample(run.now(), {k: v for k, v in ticks.items() if v is not None},
                    {k: v for k, v in rss.items() if v is not None}, read_process_ticks(os.getpid()) or 0, busy, total)
    if with_metrics:
        sample.pool, sample.view_changes = read_node_metrics(run.nodes)
    return sample


def sample_loop(run: Run) -> None:
    count = 0
    while not run.stop.is_set():
        run.samples.append(take_sample(run, with_metrics=count % 2 == 0))
        count += 1
        run.stop.wait(SAMPLE_PERIOD_S)


# --- profiling ------------------------------------------------------------------------------------------


def start_profiler(node: NodeInfo | None, name: str, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy")
    if node is None:
        print(f"profile: no running node named {name!r}; skipped")
        return None
    if py_spy is None:
        print("profile: py-spy is not installed (pip install py-spy); skipped, CPU per process only")
        return None
    print(f"profile: py-spy record on {node.name} (pid {node.pid}) for {seconds:.0f} s -> {out}")
    return subprocess.Popen([py_spy, "record", "--pid", str(node.pid), "--duration", str(math.ceil(seconds)),
                             "--rate", "100", "--nonblocking", "--format", "raw", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_profile(path: Path, top: int = 15) -> list[str]:
    """Hottest functions of a py-spy raw (collapsed) profile: by self samples and inclusive."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame.rsplit(":", 1)[0] + ")" if ":" in frame else frame for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return ["profile: no samples"]
    lines = [f"profile: {total} samples while on CPU (100 Hz); self %, then inclusive %"]
    lines += [f"  self {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += [f"  incl {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return lines


# --- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepResult:
    rate: float
    planned: int
    sent: int
    accepted: int
    finalized: int
    tps: float
    p50: float | None
    p95: float | None
    cx_p95: float | None
    blocks: list[int]
    block_p95: list[float | None]
    pool_max: list[int | None]
    view_changes: int
    node_cpu: float
    client_cpu: float
    rss_mb: float

    def holds(self, finality_target: float) -> bool:
        return (self.finalized >= 0.95 * self.planned and self.tps >= 0.9 * self.rate
                and self.p95 is not None and self.p95 <= finality_target)


def get_inclusion_time(run: Run, transfer: Transfer) -> float:
    if transfer.block is None or transfer.receipt_seen is None:
        return math.inf
    return min(run.heads[transfer.shard].get(transfer.block, math.inf), transfer.receipt_seen)


def get_credit_time(run: Run, transfer: Transfer) -> float:
    if transfer.credit_block is None or transfer.credit_seen is None:
        return math.inf
    return min(run.heads[transfer.to_shard].get(transfer.credit_block, math.inf), transfer.credit_seen)


def get_samples_between(run: Run, start: float, end: float) -> tuple[Sample, Sample] | None:
    inside = [s for s in run.samples if start - SAMPLE_PERIOD_S / 2 <= s.at <= end + SAMPLE_PERIOD_S / 2]
    return (inside[0], inside[-1]) if len(inside) >= 2 and inside[-1].at > inside[0].at else None


def compute_cpu(first: Sample, last: Sample) -> tuple[dict[str, float], float, float]:
    """(per-node CPU %, client CPU %, machine busy % of all cores) between two samples."""
    seconds = last.at - first.at
    per_node = {name: 100 * (last.node_ticks[name] - ticks) / CLOCK_TICKS / seconds
                for name, ticks in first.node_ticks.items() if name in last.node_ticks}
    client = 100 * (last.client_ticks - first.client_ticks) / CLOCK_TICKS / seconds
    machine = 100 * (last.machine_busy - first.machine_busy) / max(1, last.machine_total - first.machine_total)
    return per_node, client, machine


def summarize_step(run: Run, step: int, rate: float, start: float, end: float) -> StepResult:
    mine = [t for t in run.transfers if t.step == step]
    accepted = [t for t in mine if t.submitted is not None and t.error is None]
    finality = [get_inclusion_time(run, t) - (t.submitted or 0.0) for t in accepted]
    cx = [get_credit_time(run, t) - (t.submitted or 0.0) for t in accepted if t.is_cross_shard]
    p50 = percentile(finality, 50)
    shift = p50 if p50 is not None and p50 < end - start else 0.0
    included = sum(1 for t in run.transfers if start + shift <= get_inclusion_time(run, t) < end + shift)
    window = [s for s in run.samples if start <= s.at <= end]
    pools = [[s.pool[shard] for s in window if shard in s.pool] for shard in range(len(run.heads))]
    views = [s.view_changes for s in window if s.view_changes]
    edges = get_samples_between(run, start, end)
    node_cpu, client_cpu = 0.0, 0.0
    if edges:
        per_node, client_cpu, _ = compute_cpu(*edges)
        node_cpu = sum(per_node.values())
    return StepResult(
        rate, len(mine), sum(1 for t in mine if t.submitted is not None), len(accepted),
        sum(1 for f in finality if f < math.inf), included / (end - start), p50, percentile(finality, 95),
        percentile(cx, 95), [sum(1 for t in seen.values() if start <= t < end) for seen in run.heads],
        [percentile(get_block_intervals(seen, start, end), 95) for seen in run.heads],
        [max(p) if p else None for p in pools],
        sum(views[-1].get(k, 0) - views[0].get(k, 0) for k in views[-1]) if views else 0,
        node_cpu, client_cpu, max((max(s.node_rss_kb.values(), default=0) for s in window), default=0) / 1024)


def choose_best(steps: Sequence[StepResult], finality_target: float) -> tuple[int, bool]:
    """Index of the highest-rate step that held, True; else of the highest achieved tps, False."""
    held = [i for i, step in enumerate(steps) if step.holds(finality_target)]
    if held:
        return max(held, key=lambda i: steps[i].rate), True
    return max(range(len(steps)), key=lambda i: steps[i].tps), False


def show(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else ("inf" if value == math.inf else f"{value:.{digits}f}")


def format_table(steps: Sequence[StepResult]) -> list[str]:
    lines = [f"{'offer/s':>7} {'sent':>5} {'acc':>5} {'final':>5} {'tps':>6} {'p50_s':>6} {'p95_s':>6} {'cx95_s':>6} "
             f"{'blocks':>9} {'blk_p95_s':>12} {'pool_max':>13} {'vc':>3} {'nodes%':>6} {'client%':>7} {'rss_mb':>6}"]
    for s in steps:
        blocks = "/".join(str(b) for b in s.blocks)
        intervals = "/".join(show(b, 1) for b in s.block_p95)
        pools = "/".join("-" if p is None else str(p) for p in s.pool_max)
        lines.append(f"{s.rate:>7.0f} {s.sent:>5} {s.accepted:>5} {s.finalized:>5} {s.tps:>6.1f} {show(s.p50):>6} "
                     f"{show(s.p95):>6} {show(s.cx_p95):>6} {blocks:>9} {intervals:>12} {pools:>13} "
                     f"{s.view_changes:>3} {s.node_cpu:>6.0f} {s.client_cpu:>7.0f} {s.rss_mb:>6.0f}")
    lines.append("(blocks, blk_p95_s, pool_max: per chain 0/1/2; vc: view changes; nodes%, client%: % of one core)")
    return lines


def split_cpu(run: Run, per_node: dict[str, float]) -> str:
    validators = sum(per_node.get(node.name, 0.0) for node in run.nodes if node.role == "validator")
    return f"validators {validators:.0f}%, rpc nodes {sum(per_node.values()) - validators:.0f}%"


def format_cpu_picture(run: Run, baseline: float, end: float) -> list[str]:
    edges = get_samples_between(run, baseline, end)
    if edges is None:
        return ["cpu: not enough samples"]
    per_node, client, machine = compute_cpu(*edges)
    rss = {name: max((s.node_rss_kb.get(name, 0) for s in run.samples), default=0) / 1024 for name in per_node}
    lines = []
    idle = get_samples_between(run, 0.0, baseline) if baseline > 0 else None
    if idle is not None:
        idle_nodes, idle_client, idle_machine = compute_cpu(*idle)
        lines.append(f"idle baseline ({idle[1].at - idle[0].at:.0f} s, no load): {split_cpu(run, idle_nodes)}, "
                     f"this client {idle_client:.0f}%; machine busy {idle_machine:.0f}% of all cores")
    lines += [f"cpu under load ({edges[1].at - edges[0].at:.0f} s), % of one core; "
              f"the machine has {os.cpu_count()} cores, busy {machine:.0f}% of all of them",
             f"{'process':<10} {'role':<10} {'chain':>5} {'cpu%':>6} {'max_rss_mb':>10}"]
    for node in sorted(run.nodes, key=lambda n: -per_node.get(n.name, 0.0)):
        lines.append(f"{node.name:<10} {node.role:<10} {node.shard:>5} {per_node.get(node.name, 0.0):>6.1f} "
                     f"{rss.get(node.name, 0.0):>10.0f}")
    lines.append(f"{'client':<10} {'load':<10} {'-':>5} {client:>6.1f}")
    lines.append(f"where the time goes under load: {split_cpu(run, per_node)}, this client {client:.0f}% "
                 f"(of {100 * (os.cpu_count() or 1)}%)")
    return lines


def format_rejections(run: Run) -> list[str]:
    reasons = Counter((t.error or "")[:90] for t in run.transfers if t.error is not None)
    return [f"rejected {n}: {reason}" for reason, n in reasons.most_common(5)]


# --- main -----------------------------------------------------------------------------------------------


def run_load(urls: list[str], nodes: list[NodeInfo], args: argparse.Namespace, rates: list[float]) -> list[str]:
    clients = [RpcClient(url) for url in urls]
    step_seconds = args.duration / len(rates)
    senders = [[os.urandom(32) for _ in range(args.senders)] for _ in urls]
    print(f"funding {args.senders} senders on each of {len(urls)} shards ...", flush=True)
    began = time.monotonic()
    fund_senders(clients, senders)
    print(f"funded in {time.monotonic() - began:.1f} s; signing ...", flush=True)
    began = time.monotonic()
    baseline = args.baseline
    transfers = build_transfers(rates, step_seconds, senders, baseline)
    print(f"signed {len(transfers)} transfers in {time.monotonic() - began:.1f} s; {baseline:g} s idle baseline, "
          f"then steps of {step_seconds:.1f} s at {', '.join(f'{r:g}' for r in rates)} tx/s", flush=True)
    run = Run(time.monotonic(), clients, nodes, transfers, heads=[{} for _ in urls])
    drained = threading.Event()
    threads = [threading.Thread(target=send_loop, args=(run, shard), daemon=True) for shard in range(len(urls))]
    threads += [threading.Thread(target=target, args=extra, daemon=True) for target, extra in
                ((watch_heads, (run,)), (poll_receipts, (run, drained)), (sample_loop, (run,)))]
    for thread in threads:
        thread.start()
    time.sleep(baseline)
    profile_out = Path(tempfile.gettempdir()) / f"localnet_load_profile_{os.getpid()}.txt"
    profiler = (start_profiler(next((n for n in nodes if n.name == args.profile_node), None), args.profile_node,
                               args.duration, profile_out) if args.profile_node else None)
    time.sleep(max(0.0, baseline + args.duration - run.now()))
    print(f"offered load done at {run.now():.1f} s; draining up to {args.drain:.0f} s ...", flush=True)
    drained.wait(args.drain)
    run.stop.set()
    for thread in threads:
        thread.join(timeout=15)
    lines = []
    if profiler is not None:
        profiler.wait(timeout=60)
        lines += summarize_profile(profile_out) if profile_out.exists() else ["profile: py-spy wrote nothing"]
    steps = [summarize_step(run, j, rate, baseline + j * step_seconds, baseline + (j + 1) * step_seconds)
             for j, rate in enumerate(rates)]
    idle = [summarize_step(run, -1, 0.0, 0.0, baseline)] if baseline > 0 else []
    lines += (format_table(idle + steps) + format_rejections(run)
              + format_cpu_picture(run, baseline, baseline + args.duration))
    best, held = choose_best(steps, args.finality_target)
    chosen = steps[best]
    max_rss = max((max(s.node_rss_kb.values(), default=0) for s in run.samples), default=0) / 1024
    lines.append(f"reported: {'the highest rate that held' if held else 'no step held; the highest achieved tps'}"
                 f" (offered {chosen.rate:g} tx/s)")
    lines.append(f"tps={chosen.tps:.1f} p95_finality_s={show(chosen.p95)} cx_p95_s={show(chosen.cx_p95)} "
                 f"max_rss_mb={max_rss:.0f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60, help="seconds of offered load, split over the steps")
    parser.add_argument("--rates", default="5,10,20,40,80", help="network-wide tx/s of each step, increasing")
    parser.add_argument("--senders", type=int, default=32, help="funded sender accounts per shard")
    parser.add_argument("--baseline", type=float, default=10,
                        help="seconds measured with no load first (the table's offered-0 row)")
    parser.add_argument("--drain", type=float, default=20, help="seconds to wait for in-flight transfers at the end")
    parser.add_argument("--finality-target", type=float, default=2.0, help="p95 finality (s) a held step needs")
    parser.add_argument("--use-running", metavar="DATADIR", help="use the localnet running from DATADIR")
    parser.add_argument("--base-port", type=int, default=25000, help="first base port tried for a new localnet")
    parser.add_argument("--epoch-blocks", type=int,
                        help="blocks per epoch of a new localnet (default: the localnet's, 16); a large value "
                             "keeps epoch changes (committee reshuffles) out of the measurement")
    parser.add_argument("--keep", action="store_true", help="keep the new localnet's directory (it is stopped)")
    parser.add_argument("--profile-node", metavar="NAME", help="py-spy this node (if installed), e.g. s0-v0")
    args = parser.parse_args()
    rates = parse_rates(args.rates)
    if args.use_running:
        if args.epoch_blocks:
            parser.error("--epoch-blocks applies to a new localnet, not with --use-running")
        datadir, started = Path(args.use_running), False
    else:
        datadir, started = Path(tempfile.mkdtemp(prefix="localnet_load_")) / "localnet", True
    try:
        if started:
            base = find_free_base_port(args.base_port)
            print(f"starting a localnet in {datadir} on base port {base} ...", flush=True)
            epoch_option = ["--epoch-blocks", str(args.epoch_blocks)] if args.epoch_blocks else []
            run_localnet(datadir, "up", "--base-port", str(base), *epoch_option)
        status = wait_until_live(datadir, timeout=120)
        urls, nodes = get_rpc_urls(status), get_nodes(status)
        print(f"localnet live: {len(nodes)} nodes, RPC {', '.join(urls)}", flush=True)
        lines = run_load(urls, nodes, args, rates)
    finally:
        if started:
            print(f"stopping the localnet in {datadir} ...", flush=True)
            run_localnet(datadir, "down", timeout=120)  # on failure the directory stays, for `localnet down`
            if not args.keep:
                shutil.rmtree(datadir.parent, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
