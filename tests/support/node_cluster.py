"""Real ``hmy-node`` processes on 127.0.0.1 for the e2e tests: set-up, observation, clean-up.

A cluster gets its own temporary directory: a genesis whose shard 0 committee is the cluster's
BLS keys, light-encrypted key files and a passphrase file, a p2p identity per node (so every node
can list every other as a bootnode before any has started), and free ports. Nodes are observed
through their metrics endpoint and, once stopped, through their LevelDB. Every process is started
in its own session and killed (group-wide) when the cluster closes, whatever happened.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto import bls
from crypto.bls_keyfile import LIGHT_SCRYPT_N, save_bls_key
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.genesis import load_genesis
from harmony_node.db.level import LevelDBStore
from harmony_node.p2p.identity import get_peer_id

HMY_NODE = Path(sys.executable).with_name("hmy-node")
PASSPHRASE = "localnet"
FUNDED_KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")


_HANDED_OUT: set[int] = set()


def get_free_port() -> int:
    """A port nothing listens on now and this process has not handed out before (the kernel may
    offer a just-closed port twice, which would give two nodes one port)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def read_metrics(port: int, host: str = "127.0.0.1") -> dict[str, float]:
    """A node's metric values by full name (``hmy_chain_height{shard="0"}``); empty if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=1) as reply:
            text = reply.read().decode()
    except (OSError, http.client.HTTPException):
        return {}
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split()
            values[name] = float(value)
    return values


@contextmanager
def open_stopped_chain(node_dir: Path, genesis_file: Path, shard: int) -> Iterator[Blockchain | None]:
    """A stopped node's chain of ``shard``, read-only in spirit (None if the node never kept it)."""
    path = node_dir / f"shard{shard}"
    if not path.exists():
        yield None
        return
    genesis = load_genesis(genesis_file)
    with LevelDBStore(path) as store:
        yield Blockchain.open(store, genesis, shard)  # read only: no committees needed


def read_chain_hashes(node_dir: Path, genesis_file: Path, shard: int) -> list[bytes]:
    """Every finalized block hash of a stopped node's chain of ``shard``, from genesis (empty: not kept)."""
    with open_stopped_chain(node_dir, genesis_file, shard) as chain:
        if chain is None:
            return []
        return [chain.get_block_by_number(n).header.hash for n in range(chain.head.number + 1)]


def call_rpc(url: str, method: str, params: list[Any]) -> Any:
    """The result of one JSON-RPC call; OSError if the node does not answer, AssertionError on an error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        answer = json.loads(reply.read())
    if "error" in answer:
        raise AssertionError(f"{method} failed: {answer['error']}")
    return answer["result"]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class NodeProcess:
    index: int
    datadir: Path
    p2p_port: int
    metrics_port: int
    peer_id: str
    key_file: Path | None
    rpc_port: int
    shard: int = 0
    """The shard the node's RPC serves (validators also follow whatever their keys are assigned to)."""
    extra_args: tuple[str, ...] = ()
    """More ``hmy-node start`` flags (a hidden fault-injection switch, say)."""
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{self.peer_id}"

    def get_metrics(self) -> dict[str, float]:
        """Current metric values; empty if the node is not answering."""
        return read_metrics(self.metrics_port)

    def get_height(self, shard: int = 0) -> int:
        return int(self.get_metrics().get(f'hmy_chain_height{{shard="{shard}"}}', -1))

    def get_chain_metric(self, name: str, shard: int = 0) -> float:
        return self.get_metrics().get(f'{name}{{shard="{shard}"}}', 0.0)

    def call_rpc(self, method: str, *params: object) -> Any:
        return call_rpc(f"http://127.0.0.1:{self.rpc_port}", method, list(params))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Cluster:
    """``validators`` validator nodes per shard (node i has key i; shard s's genesis committee is
    keys s*validators .. s*validators + validators - 1)."""

    root: Path
    validators: int = 4
    shards: int = 1
    block_time_ms: int = 1000
    view_timeout_ms: int = 4000
    blocks_per_leader: int = 4
    blocks_per_epoch: int = 16
    extra_alloc: dict[str, int] = field(default_factory=dict)
    """More funded accounts (hex address -> atto) besides the localnet account."""
    secrets: list[int] = field(default_factory=list)
    nodes: list[NodeProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.passphrase_file = self.root / "passphrase"
        self.passphrase_file.write_text(PASSPHRASE + "\n")
        total = self.validators * self.shards
        self.secrets = [bls.generate_secret_key(bytes([i + 1]) * 32) for i in range(total)]
        keys = ["0x" + bls.secret_to_public(s).hex() for s in self.secrets]
        funded = "0x" + _address(FUNDED_KEY).hex()
        committees = {str(s): keys[s * self.validators:(s + 1) * self.validators] for s in range(self.shards)}
        genesis = {"network": "localnet", "config": {"num_shards": self.shards, "blocks_per_epoch": self.blocks_per_epoch},
                   "timestamp": 1_700_000_000, "alloc": {funded: str(10**27), **{a: str(v) for a, v in self.extra_alloc.items()}},
                   "committees": committees}
        self.genesis_file = self.root / "genesis.json"
        self.genesis_file.write_text(json.dumps(genesis))
        for secret in self.secrets:
            self.add_node(secret)

    def add_node(self, secret: int | None, shard: int = 0, extra_args: tuple[str, ...] = ()) -> NodeProcess:
        index = len(self.nodes)
        datadir = self.root / f"node{index}"
        datadir.mkdir()
        key_file = None
        if secret is not None:
            key_file = datadir / "validator.key"
            save_bls_key(key_file, secret, PASSPHRASE, scrypt_n=LIGHT_SCRYPT_N)
        node = NodeProcess(index, datadir, get_free_port(), get_free_port(), get_peer_id(datadir / "p2p.key"), key_file,
                           get_free_port(), shard, extra_args)
        self.nodes.append(node)
        return node

    def start(self, index: int) -> NodeProcess:
        node = self.nodes[index]
        command = [str(HMY_NODE), "start", "--datadir", str(node.datadir), "--genesis", str(self.genesis_file),
                   "--p2p.port", str(node.p2p_port), "--metrics.port", str(node.metrics_port),
                   "--rpc.port", str(node.rpc_port), "--shard", str(node.shard),
                   "--block-time-ms", str(self.block_time_ms), "--view-timeout-ms", str(self.view_timeout_ms),
                   "--log.level", "info", *node.extra_args]
        for other in self.nodes:
            if other is not node:
                command += ["--bootnode", other.multiaddr]
        if node.key_file is not None:
            command += ["--bls-key", str(node.key_file), "--passphrase-file", str(self.passphrase_file)]
        node.log_path = node.datadir / f"node-{time.monotonic_ns()}.log"
        with open(node.log_path, "wb") as log_file:
            node.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        return node

    def kill(self, index: int) -> None:
        """kill -9 the node's whole process group."""
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGKILL)
        if node.process is not None:
            node.process.wait()

    def stop(self, index: int, timeout: float = 20) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        node = self.nodes[index]
        assert node.process is not None
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
        try:
            return node.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(index)
            raise AssertionError(f"node {index} did not stop within {timeout} s of SIGTERM") from None

    def close(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait()

    def get_heights(self, shard: int = 0) -> list[int]:
        return [node.get_height(shard) if node.running else -1 for node in self.nodes]

    def wait_for_height(self, height: int, indices: list[int], timeout: float, shard: int = 0) -> None:
        wait_for(lambda: all(self.nodes[i].get_height(shard) >= height for i in indices), timeout,
                 f"nodes {indices} to reach height {height} on shard {shard} (heights {self.get_heights(shard)})")

    def get_log_records(self, index: int) -> list[dict[str, object]]:
        """Every JSON log record node ``index`` wrote (all its runs)."""
        records: list[dict[str, object]] = []
        for path in sorted(self.nodes[index].datadir.glob("node-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # a line cut by kill -9
        return records

    def find_log(self, message: str, **fields: object) -> list[tuple[int, dict[str, object]]]:
        """(node, record) for every record with ``msg == message`` whose fields include ``fields``."""
        found = []
        for node in self.nodes:
            for record in self.get_log_records(node.index):
                if record.get("msg") == message and all(record.get(k) == v for k, v in fields.items()):
                    found.append((node.index, record))
        return found

    def submit_transactions(self, shard: int, raw_txs: list[bytes], until: Callable[[], bool],
                            timeout: float = 60, staking: bool = False) -> None:
        """Gossip ``raw_txs`` on ``shard``'s topic from a throwaway libp2p host, as a client would,
        and keep the host up until ``until()`` holds (say, the transactions are in a block)."""
        import trio

        from harmony_node.p2p.envelope import pack_staking_transactions, pack_transactions
        from harmony_node.p2p.gossip import GossipNode
        from harmony_node.p2p.host import P2PConfig
        from harmony_node.p2p.topics import Network, node_topic

        topic = node_topic(Network.LOCALNET, shard)
        bootnodes = tuple(node.multiaddr for node in self.nodes if node.running)
        delivered = False

        async def send() -> None:
            nonlocal delivered
            with trio.fail_after(timeout):
                async with GossipNode(P2PConfig(bootnodes=bootnodes)).run() as client:
                    await client.subscribe(topic)
                    while client.mesh_peer_count(topic) == 0:  # someone on that shard must hear it
                        await trio.sleep(0.1)
                    pack = pack_staking_transactions if staking else pack_transactions
                    await client.publish(topic, pack(raw_txs).encode())
                    while not until():
                        await trio.sleep(0.2)
                    delivered = True

        try:
            trio.run(send)
        except BaseExceptionGroup:
            # py-libp2p 0.8.1 sometimes raises from its own tasks while a host shuts down ("Nursery is
            # closed to new arrivals"); once the transactions are in a block, that is not our failure.
            if not delivered:
                raise

    def dump_logs(self, tail: int = 40) -> str:
        parts = []
        for node in self.nodes:
            if node.log_path is not None and node.log_path.exists():
                lines = node.log_path.read_text(errors="replace").splitlines()[-tail:]
                parts.append(f"--- node {node.index} ---\n" + "\n".join(lines))
        return "\n".join(parts)


def _address(private_key: bytes) -> bytes:
    from crypto.secp256k1 import compute_address

    return compute_address(private_key)
