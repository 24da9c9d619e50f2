"""``hmy-node localnet``: a whole multi-shard network of ``hmy-node start`` processes on 127.0.0.1
(or, with ``--netns``, each in a network namespace of its own: ``harmony_node.node.netns``).

DESIGN.md §4 is the contract. A localnet lives in one directory (default ``./.localnet``):

    localnet.json       the manifest: settings and, per node, name, role, shard, ports, key file, peer id
    genesis.json        network ``localnet``, chain id 2, the funded localnet account, committees
    passphrase          unlocks every validator key (the keys are throwaway: light scrypt)
    node.toml           optional, yours: a node config (``hmy-node config dump``) every node starts
                        with; the localnet's own flags (ports, keys, bootnodes...) still override it
    s0-v0/ ... s0-rpc/  one directory per node: LevelDB chains, p2p.key, validator.key, node.log, node.pid
    x0/ x1/ ...         validators added later for keys of your own (``add-validator``): the key and
                        its passphrase are copied in, so the localnet restarts them like the others

Material is deterministic (BLS keys come from fixed strings), so every fresh localnet has the same
committees and genesis hashes and a wallet configured once keeps working after ``reset``. Nodes run
detached in their own sessions, so they outlive the command that started them; the pid file is only
a hint, trusted after /proc shows that the pid is an ``hmy-node`` with this node's ``--datadir``
(pids are reused, and a killed node leaves its pid file behind).

Ports, shifted together by ``base_port - 9000`` (global validator index ``i``, shard ``s``):

    validator  p2p 9000+i   rpc 9600+i    metrics 9800+i
    rpc node   p2p 9100+s   rpc 9500+2s   metrics 9900+s
    added k    p2p 9200+k   rpc 9700+k    metrics 9950+k
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crypto import bls
from crypto.bls_keyfile import LIGHT_SCRYPT_N, save_bls_key
from harmony_node.exceptions import HarmonyError
from harmony_node.node import netns
from harmony_node.node.netns import HostPlan

DEFAULT_DATADIR = "./.localnet"
DEFAULT_SHARDS = 3
DEFAULT_VALIDATORS_PER_SHARD = 4
DEFAULT_BLOCK_TIME_MS = 1000
DEFAULT_EPOCH_BLOCKS = 16
DEFAULT_BASE_PORT = 9000

MANIFEST_FILE = "localnet.json"
GENESIS_FILE = "genesis.json"
PASSPHRASE_FILE = "passphrase"
LOCK_FILE = ".lock"
LOG_FILE = "node.log"
PID_FILE = "node.pid"
KEY_FILE = "validator.key"
NODE_CONFIG_FILE = "node.toml"
MANIFEST_VERSION = 1

PASSPHRASE = "localnet"
CHAIN_ID = 2
ETH_CHAIN_ID_BASE = 1666700000
FUNDED_ADDRESS = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
FUNDED_ATTO = 10_000_000_000 * 10**18
GENESIS_TIMESTAMP = 1561734000  # the built-in localnet's, so the two look alike
MIN_VIEW_TIMEOUT_MS = 4000

METRICS_TIMEOUT_S = 1.0
READY_TIMEOUT_S = 90.0
"""How long ``up`` waits for started nodes to serve metrics; 15 processes importing libp2p on two
cores take a while, and a node that is merely slow is not an error."""
STOP_TIMEOUT_S = 20.0
"""How long ``down`` waits after SIGTERM; a node finishes the block it is writing before it exits."""


class LocalnetError(HarmonyError):
    """The localnet cannot do what was asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class LocalnetSettings:
    """What ``up`` builds a new localnet from; kept in the manifest and reused on later ``up``s."""

    shards: int = DEFAULT_SHARDS
    validators_per_shard: int = DEFAULT_VALIDATORS_PER_SHARD
    block_time_ms: int = DEFAULT_BLOCK_TIME_MS
    epoch_blocks: int = DEFAULT_EPOCH_BLOCKS
    """Written into the genesis config (``blocks_per_epoch``): fixed once the localnet exists."""
    base_port: int = DEFAULT_BASE_PORT
    netns_subnet: int | None = None
    """None: every node on 127.0.0.1; else each node is a host of its own in ``10.213.<n>.0/24``."""

    def validate(self) -> None:
        if self.shards < 1 or self.validators_per_shard < 1:
            raise LocalnetError("a localnet needs at least one shard and one validator per shard")
        if self.block_time_ms < 100:
            raise LocalnetError("--block-time must be at least 100 ms")
        if self.epoch_blocks < 1:
            raise LocalnetError("--epoch-blocks must be at least 1")


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node of the localnet as the manifest records it; paths are relative to the localnet directory."""

    name: str
    role: str  # "validator" or "rpc"
    shard: int
    p2p_port: int
    rpc_port: int
    metrics_port: int
    datadir: str
    key_file: str | None
    bls_public_key: str | None
    peer_id: str
    passphrase_file: str | None = None
    """Unlocks ``key_file`` when it is not the localnet's own passphrase (an added validator's key)."""
    host: str = "127.0.0.1"
    """The address the node listens on for peers, RPC and metrics (its namespace's, with ``--netns``)."""

    @property
    def ports(self) -> tuple[int, int, int]:
        return self.p2p_port, self.rpc_port, self.metrics_port

    @property
    def multiaddr(self) -> str:
        return f"/ip4/{self.host}/tcp/{self.p2p_port}/p2p/{self.peer_id}"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.rpc_port}"


@dataclass(frozen=True, slots=True)
class Localnet:
    """A localnet directory and its manifest."""

    root: Path
    """Absolute: node processes are told absolute paths, and the running check compares them."""
    settings: LocalnetSettings
    nodes: tuple[NodeSpec, ...]

    @property
    def genesis_file(self) -> Path:
        return self.root / GENESIS_FILE

    @property
    def passphrase_file(self) -> Path:
        return self.root / PASSPHRASE_FILE

    def get_node_dir(self, node: NodeSpec) -> Path:
        return self.root / node.datadir

    def get_node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        raise LocalnetError(f"no node {name!r} in this localnet (nodes: {', '.join(n.name for n in self.nodes)})")

    def get_running_pid(self, node: NodeSpec) -> int | None:
        node_dir = self.get_node_dir(node)
        return get_running_pid(node_dir / PID_FILE, node_dir)

    def get_host_plan(self, node: NodeSpec) -> HostPlan | None:
        """The node's namespace and cable; None on a loopback localnet."""
        if self.settings.netns_subnet is None:
            return None
        return netns.plan_host(self.settings.netns_subnet, self.nodes.index(node), node.name)

    def get_host_plans(self) -> list[HostPlan]:
        return [plan for node in self.nodes if (plan := self.get_host_plan(node)) is not None]


# --- material ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortPlan:
    """Name, role, shard and ports of one node before any file exists."""

    name: str
    role: str
    shard: int
    p2p_port: int
    rpc_port: int
    metrics_port: int
    validator_index: int | None
    """Global index ``shard * validators_per_shard + v`` of a validator (its key seed); None for RPC nodes."""


def plan_nodes(settings: LocalnetSettings) -> list[PortPlan]:
    """Every node's name and ports, validators of a shard first, then its RPC node (see the module doc)."""
    offset = settings.base_port - DEFAULT_BASE_PORT
    plans = []
    for shard in range(settings.shards):
        for v in range(settings.validators_per_shard):
            i = shard * settings.validators_per_shard + v
            plans.append(PortPlan(f"s{shard}-v{v}", "validator", shard,
                                  offset + 9000 + i, offset + 9600 + i, offset + 9800 + i, i))
        plans.append(PortPlan(f"s{shard}-rpc", "rpc", shard,
                              offset + 9100 + shard, offset + 9500 + 2 * shard, offset + 9900 + shard, None))
    ports = [port for plan in plans for port in (plan.p2p_port, plan.rpc_port, plan.metrics_port)]
    if len(set(ports)) != len(ports):
        # The ranges are 100 apart (9000 / 9100, 9500 / 9600, 9800 / 9900): more nodes would overlap.
        raise LocalnetError(f"{settings.shards} shards x {settings.validators_per_shard} validators do not fit "
                            "the port layout (at most 100 validators and 50 shards)")
    if min(ports) < 1 or max(ports) > 65535:
        raise LocalnetError(f"--base-port {settings.base_port} puts ports outside 1-65535")
    return plans


def get_validator_secret(index: int) -> int:
    """The BLS secret key of global validator ``index``: from a fixed string, so localnets are reproducible."""
    return bls.generate_secret_key(hashlib.sha256(b"harmony-node localnet validator %d" % index).digest())


def build_genesis(num_shards: int, committees: Sequence[Sequence[bytes]],
                  epoch_blocks: int = DEFAULT_EPOCH_BLOCKS) -> dict[str, Any]:
    """The genesis document (the format ``harmony_node.chain.genesis`` reads) for these committees."""
    return {
        "network": "localnet",
        "config": {"chain_id": CHAIN_ID, "eth_chain_id_base": ETH_CHAIN_ID_BASE, "num_shards": num_shards,
                   "blocks_per_epoch": epoch_blocks},
        "timestamp": GENESIS_TIMESTAMP,
        "extra_data": "harmony-node localnet",
        "alloc": {FUNDED_ADDRESS: str(FUNDED_ATTO)},
        "committees": {str(shard): ["0x" + key.hex() for key in keys] for shard, keys in enumerate(committees)},
    }


def create_localnet(root: Path, settings: LocalnetSettings) -> Localnet:
    """Write keys, identities, genesis and manifest into ``root``; the manifest last, so it marks completion.

    Running it again over a half-written directory (an interrupted first ``up``) gives the same
    localnet: keys are re-derived, existing p2p identities are kept.
    """
    from harmony_node.p2p.identity import get_peer_id  # libp2p is slow to import; `status` does without it

    settings.validate()
    plans = plan_nodes(settings)
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / PASSPHRASE_FILE).write_text(PASSPHRASE + "\n")
    nodes = []
    committees: list[list[bytes]] = [[] for _ in range(settings.shards)]
    for index, plan in enumerate(plans):
        node_dir = root / plan.name
        node_dir.mkdir(exist_ok=True)
        host = "127.0.0.1"
        if settings.netns_subnet is not None:
            host = netns.plan_host(settings.netns_subnet, index, plan.name).address
        key_file = public_key = None
        if plan.validator_index is not None:
            secret = get_validator_secret(plan.validator_index)
            key = bls.secret_to_public(secret)
            committees[plan.shard].append(key)
            save_bls_key(node_dir / KEY_FILE, secret, PASSPHRASE, scrypt_n=LIGHT_SCRYPT_N)
            key_file, public_key = f"{plan.name}/{KEY_FILE}", "0x" + key.hex()
        nodes.append(NodeSpec(plan.name, plan.role, plan.shard, plan.p2p_port, plan.rpc_port, plan.metrics_port,
                              plan.name, key_file, public_key, get_peer_id(node_dir / "p2p.key"), host=host))
    (root / GENESIS_FILE).write_text(json.dumps(build_genesis(settings.shards, committees, settings.epoch_blocks), indent=2) + "\n")
    localnet = Localnet(root, settings, tuple(nodes))
    write_manifest(localnet)
    return localnet


def write_manifest(localnet: Localnet) -> None:
    """Replace the manifest atomically: a crash leaves the old one or the new one, never half of one."""
    manifest = {"version": MANIFEST_VERSION, "settings": asdict(localnet.settings),
                "nodes": [asdict(n) for n in localnet.nodes]}
    tmp = localnet.root / (MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(localnet.root / MANIFEST_FILE)


def load_localnet(root: Path) -> Localnet | None:
    """The localnet in ``root``; None if there is none yet; LocalnetError if the manifest is unreadable."""
    root = root.resolve()
    path = root / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
        if document.get("version") != MANIFEST_VERSION:
            raise LocalnetError(f"{path}: unsupported manifest version {document.get('version')!r}")
        settings = LocalnetSettings(**document["settings"])
        nodes = tuple(NodeSpec(**node) for node in document["nodes"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalnetError(f"cannot read localnet manifest {path}: {exc}; `localnet reset` starts afresh") from exc
    return Localnet(root, settings, nodes)


def build_start_command(localnet: Localnet, node: NodeSpec, executable: str) -> list[str]:
    """The ``hmy-node start`` command line of ``node``; every other node of the localnet is a bootnode."""
    block_time = localnet.settings.block_time_ms
    host_plan = localnet.get_host_plan(node)
    # `ip netns exec` execs the node in its namespace: same pid, so pid files and /proc checks still hold.
    command = ["ip", "netns", "exec", host_plan.netns] if host_plan is not None else []
    command += [executable, "start"]
    if (localnet.root / NODE_CONFIG_FILE).exists():
        command += ["--config", str(localnet.root / NODE_CONFIG_FILE)]
    command += ["--datadir", str(localnet.get_node_dir(node)),
                "--genesis", str(localnet.genesis_file),
                "--p2p.host", node.host, "--p2p.port", str(node.p2p_port),
                "--rpc.host", node.host, "--rpc.port", str(node.rpc_port),
                "--metrics.host", node.host, "--metrics.port", str(node.metrics_port),
                # The node's default view timeout (4 s) must stay above the block time when blocks are slow.
                "--block-time-ms", str(block_time),
                "--view-timeout-ms", str(max(MIN_VIEW_TIMEOUT_MS, 4 * block_time)),
                "--log.format", "text"]  # read by people through `localnet logs`
    for other in localnet.nodes:
        if other.name != node.name:
            command += ["--bootnode", other.multiaddr]
    for rpc_node in sorted((n for n in localnet.nodes if n.role == "rpc"), key=lambda n: n.shard):
        command += ["--rpc.shard-url", rpc_node.rpc_url]  # getShardingStructure
    # A validator's RPC answers for its genesis shard, which it keeps following as committees move.
    command += ["--shard", str(node.shard)]
    if node.key_file is not None:
        passphrase_file = localnet.root / node.passphrase_file if node.passphrase_file else localnet.passphrase_file
        command += ["--bls-key", str(localnet.root / node.key_file), "--passphrase-file", str(passphrase_file)]
    return command


# --- processes ----------------------------------------------------------------------------------------


def read_proc_cmdline(pid: int) -> list[str] | None:
    """The arguments of process ``pid``; None if there is no such process (a zombie has none either)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1] or None


def is_node_command(args: Sequence[str], datadir: Path) -> bool:
    """Whether ``args`` is an ``hmy-node`` run with ``--datadir`` exactly ``datadir``."""
    if not any(os.path.basename(arg) == "hmy-node" for arg in args):
        return False
    return any(args[i] == "--datadir" and args[i + 1] == str(datadir) for i in range(len(args) - 1))


def get_running_pid(pid_file: Path, datadir: Path,
                    read_cmdline: Callable[[int], list[str] | None] = read_proc_cmdline) -> int | None:
    """The pid in ``pid_file`` if that process is alive and is the node of ``datadir``; else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    args = read_cmdline(pid)
    return pid if args is not None and is_node_command(args, datadir) else None


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``port`` now.

    SO_REUSEADDR as the nodes' listeners use it: a port held only by TIME_WAIT connections of a node
    that just stopped counts as free, one with a listener does not.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_port_conflicts(nodes: Sequence[NodeSpec], is_free: Callable[[int], bool] = is_port_free) -> list[str]:
    """A line per taken port among the ports of ``nodes`` (the nodes about to start)."""
    return [f"port {port} of {node.name} is in use" for node in nodes for port in node.ports if not is_free(port)]


def find_hmy_node() -> str:
    """The ``hmy-node`` script beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("hmy-node")
    found = str(beside) if beside.exists() else shutil.which("hmy-node")
    if found is None:
        raise LocalnetError("cannot find the hmy-node executable (install harmony-node in this environment)")
    return found


def spawn_node(localnet: Localnet, node: NodeSpec, executable: str) -> int:
    """Start ``node`` in its own session (it outlives this command; Ctrl-C here does not reach it)."""
    node_dir = localnet.get_node_dir(node)
    with open(node_dir / LOG_FILE, "ab") as log_file:
        process = subprocess.Popen(build_start_command(localnet, node, executable), stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                   env=dict(os.environ, PYTHONUNBUFFERED="1"))
    (node_dir / PID_FILE).write_text(f"{process.pid}\n")
    return process.pid


@contextlib.contextmanager
def lock_localnet(root: Path) -> Iterator[None]:
    """Serialize ``up``, ``down`` and ``reset`` of one directory: two ``up``s must not both start a node."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LocalnetError(f"another localnet command is working on {root}") from None
        yield


@dataclass(frozen=True, slots=True)
class UpResult:
    """What ``up`` did, for the command to report (node names in manifest order)."""

    localnet: Localnet
    created: bool
    started: tuple[str, ...]
    already_running: tuple[str, ...]
    not_ready: tuple[str, ...]
    """Started and alive, but not serving metrics by the deadline (still starting, most likely)."""


def check_settings(localnet: Localnet, requested: dict[str, int | None]) -> None:
    """Refuse options that contradict the existing localnet's manifest (None: not given)."""
    for name, value in requested.items():
        if value is not None and value != getattr(localnet.settings, name):
            raise LocalnetError(f"the localnet in {localnet.root} was created with {name.replace('_', '-')}="
                                f"{getattr(localnet.settings, name)}; `localnet reset` first to change it")


def up(root: Path, requested: dict[str, int | None], ready_timeout: float = READY_TIMEOUT_S,
       use_netns: bool = False) -> UpResult:
    """Create the localnet if ``root`` has none, then start every node that is not running.

    ``requested`` maps ``LocalnetSettings`` fields to values given on the command line (None: not
    given); a new localnet uses them, an existing one must agree with them. ``use_netns``: a new
    localnet puts each node in a network namespace of its own (``netns``); an existing one must
    already be one.
    """
    root = root.resolve()
    if root.exists() and not (root / MANIFEST_FILE).exists() and any(p.name != LOCK_FILE for p in root.iterdir()):
        if not any(root.glob("s*-*/p2p.key")):  # not an interrupted `up` either: someone else's directory
            raise LocalnetError(f"{root} is not empty and holds no localnet; choose another --datadir")
    with lock_localnet(root):
        localnet = load_localnet(root)
        created = localnet is None
        if localnet is None:
            chosen: dict[str, Any] = {k: v for k, v in requested.items() if v is not None}
            if use_netns:
                netns.check_available()
                chosen["netns_subnet"] = netns.find_free_subnet()
            localnet = create_localnet(root, LocalnetSettings(**chosen))
        else:
            check_settings(localnet, requested)
            if use_netns and localnet.settings.netns_subnet is None:
                raise LocalnetError(f"the localnet in {root} runs on 127.0.0.1; `localnet reset` first to use --netns")
        if localnet.settings.netns_subnet is not None:
            netns.ensure_network(localnet.settings.netns_subnet, localnet.get_host_plans())
        running = {node.name for node in localnet.nodes if localnet.get_running_pid(node) is not None}
        if len(running) == len(localnet.nodes):
            raise LocalnetError(f"the localnet in {root} is already running ({len(running)} nodes)")
        to_start = [node for node in localnet.nodes if node.name not in running]
        # A namespaced node has a network stack of its own: no one else can hold its ports.
        conflicts = find_port_conflicts(to_start) if localnet.settings.netns_subnet is None else []
        if conflicts:
            raise LocalnetError("cannot start the localnet: " + "; ".join(conflicts) + " (by a process that is"
                                " not this localnet's node; stop it or use another --base-port)")
        executable = find_hmy_node()
        pids = {node.name: spawn_node(localnet, node, executable) for node in to_start}
        not_ready = wait_until_serving(localnet, to_start, ready_timeout)
    left = tuple(node.name for node in localnet.nodes if node.name in running)
    return UpResult(localnet, created, tuple(pids), left, tuple(not_ready))


MAX_ADDED_VALIDATORS = 50
"""Ports of added validators run 9200+k / 9700+k / 9950+k; the 50 above 9950 end at the range's end."""


def plan_added_validator(localnet: Localnet) -> PortPlan:
    """Name and ports of the next added validator (``x0``, ``x1``, ...)."""
    index = sum(1 for node in localnet.nodes if node.name.startswith("x"))
    if index >= MAX_ADDED_VALIDATORS:
        raise LocalnetError(f"a localnet holds at most {MAX_ADDED_VALIDATORS} added validators")
    offset = localnet.settings.base_port - DEFAULT_BASE_PORT
    # Its RPC answers for the beacon, which every node follows; it validates wherever its key is elected.
    return PortPlan(f"x{index}", "validator", 0, offset + 9200 + index, offset + 9700 + index,
                    offset + 9950 + index, None)


def add_validator(root: Path, key_file: Path, passphrase_file: Path,
                  ready_timeout: float = READY_TIMEOUT_S) -> tuple[NodeSpec, bool]:
    """Add a node running the BLS key in ``key_file`` to the localnet and start it.

    For a validator created on the localnet (``hmy staking create-validator``) with a key of your
    own: it signs once the beacon elects the key. The key and passphrase are copied into the node's
    directory, so ``down``/``up`` restart it and ``reset`` removes it with the rest. A key that a
    node of the localnet already runs is refused: two nodes signing with one key double-sign.
    Returns the node and whether it is serving by the deadline.
    """
    from harmony_node.node.keys import load_validator_keys, read_passphrase_file
    from harmony_node.p2p.identity import get_peer_id

    localnet = require_localnet(root)
    passphrase = read_passphrase_file(passphrase_file)
    [secret] = load_validator_keys([key_file], passphrase)
    public_key = "0x" + bls.secret_to_public(secret).hex()
    with lock_localnet(localnet.root):
        localnet = require_localnet(root)  # re-read under the lock: another command may have added one
        runner = next((node.name for node in localnet.nodes if node.bls_public_key == public_key), None)
        if runner is not None:
            raise LocalnetError(f"node {runner} already runs BLS key {public_key[:18]}...; "
                                "a key run by two nodes signs twice and is slashed")
        plan = plan_added_validator(localnet)
        subnet = localnet.settings.netns_subnet
        host = "127.0.0.1" if subnet is None else netns.plan_host(subnet, len(localnet.nodes), plan.name).address
        busy = [f"port {port} is in use" for port in (plan.p2p_port, plan.rpc_port, plan.metrics_port)
                if subnet is None and not is_port_free(port)]
        if busy:
            raise LocalnetError(f"cannot add {plan.name}: " + "; ".join(busy))
        node_dir = localnet.root / plan.name
        node_dir.mkdir(exist_ok=True)
        shutil.copyfile(key_file, node_dir / KEY_FILE)
        (node_dir / PASSPHRASE_FILE).write_text(passphrase + "\n")
        for secret_file in (node_dir / KEY_FILE, node_dir / PASSPHRASE_FILE):
            secret_file.chmod(0o600)
        node = NodeSpec(plan.name, plan.role, plan.shard, plan.p2p_port, plan.rpc_port, plan.metrics_port,
                        plan.name, f"{plan.name}/{KEY_FILE}", public_key, get_peer_id(node_dir / "p2p.key"),
                        passphrase_file=f"{plan.name}/{PASSPHRASE_FILE}", host=host)
        localnet = Localnet(localnet.root, localnet.settings, (*localnet.nodes, node))
        write_manifest(localnet)
        if subnet is not None:
            netns.ensure_network(subnet, localnet.get_host_plans())
        spawn_node(localnet, node, find_hmy_node())
        not_ready = wait_until_serving(localnet, [node], ready_timeout)
    return node, not not_ready


def wait_until_serving(localnet: Localnet, nodes: Sequence[NodeSpec], timeout: float) -> list[str]:
    """Wait until every node answers on its metrics port; LocalnetError with its log if one exits.

    Returns the names of nodes still starting at the deadline.
    """
    waiting = list(nodes)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        time.sleep(0.5)
        for node in list(waiting):
            if localnet.get_running_pid(node) is None:
                raise LocalnetError(f"node {node.name} exited while starting; its log ends:\n"
                                    + tail_log(localnet, node.name, 20))
            if fetch_metrics(node.host, node.metrics_port) is not None:
                waiting.remove(node)
    return [node.name for node in waiting]


def stop_nodes(localnet: Localnet, timeout: float = STOP_TIMEOUT_S) -> tuple[list[str], list[str]]:
    """SIGTERM every running node, SIGKILL the ones still alive at the deadline, remove pid files.

    Returns (stopped cleanly, killed).
    """
    running = {node.name: (node, pid) for node in localnet.nodes
               if (pid := localnet.get_running_pid(node)) is not None}
    for _, pid in running.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    alive = dict(running)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = {name: entry for name, entry in alive.items() if localnet.get_running_pid(entry[0]) is not None}
    for _, pid in alive.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # its own session: the group id is its pid
    for node in localnet.nodes:
        (localnet.get_node_dir(node) / PID_FILE).unlink(missing_ok=True)
    return [name for name in running if name not in alive], list(alive)


def down(root: Path, timeout: float = STOP_TIMEOUT_S) -> tuple[list[str], list[str]]:
    """Stop the localnet in ``root`` (data is kept); see ``stop_nodes``."""
    localnet = require_localnet(root)
    with lock_localnet(localnet.root):
        return stop_nodes(localnet, timeout)


def reset(root: Path) -> Localnet:
    """Stop the localnet and delete its directory; refuses a directory that holds no localnet."""
    localnet = require_localnet(root)
    with lock_localnet(localnet.root):
        stop_nodes(localnet)
        if localnet.settings.netns_subnet is not None:
            netns.remove_network(localnet.settings.netns_subnet, localnet.get_host_plans())
        shutil.rmtree(localnet.root)
    return localnet


def require_host_plans(localnet: Localnet) -> dict[str, HostPlan]:
    """Every node's namespace and cable by name; LocalnetError on a loopback localnet."""
    if localnet.settings.netns_subnet is None:
        raise LocalnetError(f"the localnet in {localnet.root} runs on 127.0.0.1: links and partitions need a "
                            "localnet created with `up --netns`")
    return {node.name: plan for node in localnet.nodes if (plan := localnet.get_host_plan(node)) is not None}


def set_node_link(root: Path, name: str, connected: bool) -> NodeSpec:
    """Plug in (``connected``) or pull out the cable of node ``name`` of a ``--netns`` localnet."""
    localnet = require_localnet(root)
    plans = require_host_plans(localnet)
    node = localnet.get_node(name)
    netns.set_link(plans[node.name], connected)
    return node


def set_partition(root: Path, groups: Sequence[Sequence[str]]) -> None:
    """Cut the named groups of nodes off from each other (``netns.set_partition``); no groups: heal
    every partition and plug every cable back in."""
    localnet = require_localnet(root)
    plans = require_host_plans(localnet)
    # get_node refuses a name the localnet does not have.
    netns.set_partition(list(plans.values()), [[plans[localnet.get_node(name).name] for name in group]
                                               for group in groups])
    if not groups:
        for plan in plans.values():
            netns.set_link(plan, True)


def require_localnet(root: Path) -> Localnet:
    """The localnet in ``root``, or LocalnetError telling how to create one."""
    localnet = load_localnet(root)
    if localnet is None:
        raise LocalnetError(f"no localnet in {root.resolve()} (create one with `hmy-node localnet up`)")
    return localnet


def run_in_foreground(localnet: Localnet, poll_s: float = 1.0) -> None:
    """Block until Ctrl-C or SIGTERM, then stop the localnet (``up --foreground``)."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        while True:
            time.sleep(poll_s)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        with lock_localnet(localnet.root):
            stop_nodes(localnet)


def tail_log(localnet: Localnet, name: str, lines: int) -> str:
    """The last ``lines`` lines of a node's log (reads only the end of a large file)."""
    path = localnet.get_node_dir(localnet.get_node(name)) / LOG_FILE
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max(lines, 1) * 1024))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:]) if lines > 0 else ""


# --- status ---------------------------------------------------------------------------------------------

_LABEL = re.compile(r'(\w+)="([^"]*)"')


def fetch_metrics(host: str, port: int, timeout: float = METRICS_TIMEOUT_S) -> str | None:
    """The metrics text of the node at ``host:port``; None if it does not answer in time."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=timeout) as reply:
            return str(reply.read().decode())
    except (OSError, ValueError):
        return None


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text as (name, labels, value) samples; comments and malformed lines are skipped."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name, _, labels = series.partition("{")
        try:
            samples.append((name, dict(_LABEL.findall(labels)), float(value)))
        except ValueError:
            continue
    return samples


@dataclass(frozen=True, slots=True)
class NodeFigures:
    """What one node's metrics say about its chain."""

    height: int | None = None
    epoch: int | None = None
    view: int | None = None
    leader_key: str | None = None
    peers: int | None = None
    block_time_s: float | None = None
    tps: float | None = None


def read_node_figures(samples: Sequence[tuple[str, dict[str, str], float]], shard: int) -> NodeFigures:
    """The figures of ``shard`` among a node's samples (``hmy_p2p_peers`` is per node, not per chain)."""
    values: dict[str, int] = {}
    rates: dict[str, float] = {}
    leader_key = None
    for name, labels, value in samples:
        if name == "hmy_p2p_peers":
            values[name] = int(value)
        elif labels.get("shard") == str(shard):
            if name == "hmy_consensus_leader" and value == 1:
                leader_key = labels.get("key")
            elif name in ("hmy_chain_height", "hmy_chain_epoch", "hmy_consensus_view"):
                values[name] = int(value)
            elif name in ("hmy_chain_block_time_seconds", "hmy_chain_tps"):
                rates[name] = value
    return NodeFigures(values.get("hmy_chain_height"), values.get("hmy_chain_epoch"),
                       values.get("hmy_consensus_view"), leader_key, values.get("hmy_p2p_peers"),
                       rates.get("hmy_chain_block_time_seconds"), rates.get("hmy_chain_tps"))


def build_status(localnet: Localnet, pids: dict[str, int | None], metrics: dict[str, str | None]) -> dict[str, Any]:
    """The ``status --json`` document from each node's pid (None: not running) and metrics text (None: no answer).

    A chain's figures come from its running node with the highest height (the others may be syncing);
    the leader is named by matching the reported BLS key against the validators' keys.
    """
    names_by_key = {node.bls_public_key: node.name for node in localnet.nodes if node.bls_public_key}
    samples = {node.name: parse_metrics(metrics.get(node.name) or "") for node in localnet.nodes}
    # A node reports every chain it follows (the beacon, plus the shards its keys are assigned to,
    # which change with the epochs); its own shard is where its RPC answers.
    figures = {(node.name, shard): read_node_figures(samples[node.name], shard)
               for node in localnet.nodes for shard in range(localnet.settings.shards)}
    nodes = []
    for node in localnet.nodes:
        pid = pids.get(node.name)
        followed = [shard for shard in range(localnet.settings.shards)
                    if figures[(node.name, shard)].height is not None]
        nodes.append({"name": node.name, "role": node.role, "shard": node.shard, "chains": followed or [node.shard],
                      "pid": pid, "host": node.host, "p2p_port": node.p2p_port, "rpc_port": node.rpc_port,
                      "metrics_port": node.metrics_port, "datadir": str(localnet.get_node_dir(node)),
                      "running": pid is not None, "height": figures[(node.name, node.shard)].height,
                      "peers": figures[(node.name, node.shard)].peers})
    chains: dict[str, dict[str, Any]] = {}
    for shard in range(localnet.settings.shards):
        reporting = [figures[(n.name, shard)] for n in localnet.nodes
                     if pids.get(n.name) is not None and figures[(n.name, shard)].height is not None]
        # Highest chain first; at equal height prefer a node that has seen a leader.
        best = max(reporting, key=lambda f: (f.height or 0, f.leader_key is not None), default=NodeFigures())
        leader = names_by_key.get(best.leader_key, best.leader_key) if best.leader_key else None
        chains[str(shard)] = {"height": best.height, "epoch": best.epoch, "view": best.view, "leader": leader,
                              "peers": best.peers, "block_time_s": best.block_time_s, "tps": best.tps}
    return {"datadir": str(localnet.root), "nodes": nodes, "chains": chains}


def get_status(localnet: Localnet) -> dict[str, Any]:
    """``build_status`` with live pids and metrics (fetched in parallel, each with a short timeout)."""
    pids = {node.name: localnet.get_running_pid(node) for node in localnet.nodes}
    running = [node for node in localnet.nodes if pids[node.name] is not None]
    with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
        texts = dict(zip((n.name for n in running), pool.map(lambda n: fetch_metrics(n.host, n.metrics_port), running)))
    return build_status(localnet, pids, dict(texts))


def format_status(status: dict[str, Any]) -> str:
    """``status`` for people: a table of chains, then a line per node."""
    def show(value: object) -> str:
        return "-" if value is None else str(value)

    nodes = status["nodes"]
    lines = [f"localnet {status['datadir']}: {sum(n['running'] for n in nodes)} of {len(nodes)} nodes running", "",
             f"{'chain':<6}{'height':>8}{'epoch':>7}{'view':>7}  {'leader':<10}{'peers':>6}{'block_s':>9}{'tx/s':>8}"]
    for shard, chain in status["chains"].items():
        lines.append(f"{shard:<6}{show(chain['height']):>8}{show(chain['epoch']):>7}{show(chain['view']):>7}  "
                     f"{show(chain['leader']):<10}{show(chain['peers']):>6}{show(chain['block_time_s']):>9}"
                     f"{show(chain['tps']):>8}")
    # Hosts only when nodes have addresses of their own (--netns); on loopback they are all 127.0.0.1.
    hosts = any(node["host"] != "127.0.0.1" for node in nodes)
    lines += ["", f"{'node':<10}{'role':<11}{'shard':>5}{'pid':>9}" + (f"{'host':>13}" if hosts else "")
              + f"{'p2p':>7}{'rpc':>7}{'metrics':>9}{'height':>8}  state"]
    for node in nodes:
        lines.append(f"{node['name']:<10}{node['role']:<11}{node['shard']:>5}{show(node['pid']):>9}"
                     + (f"{node['host']:>13}" if hosts else "")
                     + f"{node['p2p_port']:>7}{node['rpc_port']:>7}{node['metrics_port']:>9}{show(node['height']):>8}  "
                     + ("running" if node["running"] else "stopped"))
    return "\n".join(lines)
