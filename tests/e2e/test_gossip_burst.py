"""Gossip across 3 OS processes: a 1,000-message burst arrives whole, a request/response round trip works,
and a killed bootnode is found again.

These cover the ways py-libp2p loses messages silently with its defaults (rate limit, 32-slot queues,
32-message subscription buffers; reference building-blocks §7) and the bootnode redial loop. Every wait
is for a condition with a deadline; every process is killed (its whole group) whatever happens.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PEER_SCRIPT = Path(__file__).with_name("gossip_peer.py")
REPO = Path(__file__).resolve().parents[2]
TOPIC = "hmy/local/0.0.1/node/beacon"
BURST = 1000
MESSAGE_SIZE = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Peer:
    """One gossip_peer.py process; its stdout lines are read by a thread into a queue."""

    def __init__(self, name: str, workdir: Path, port: int, bootnodes: list[str]) -> None:
        self.name = name
        self.port = port
        self.stderr_path = workdir / f"{name}.stderr"
        command = [sys.executable, str(PEER_SCRIPT), "--key", str(workdir / f"{name}.key"),
                   "--port", str(port), "--topic", TOPIC, "--expect", str(BURST)]
        for bootnode in bootnodes:
            command += ["--bootnode", bootnode]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with open(self.stderr_path, "ab") as stderr:
            # A session of its own, so killing the group takes any children with it.
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=REPO, env=env, start_new_session=True, text=True, bufsize=1,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def wait_for(self, match: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no matching line within {timeout} s; stderr:\n{self.stderr_tail()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if match(line):
                return line

    def status(self) -> tuple[int, int, int, int]:
        self.send("status")
        fields = self.wait_for(lambda line: line.startswith("STATUS "), 10).split()[1:]
        peers, topic_peers, mesh, invalid = (int(value) for value in fields)
        return peers, topic_peers, mesh, invalid

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)

    def stderr_tail(self) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""


def until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``condition`` until true; return the seconds it took, or fail after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[list[Peer]]:
    started: list[Peer] = []
    yield started
    for peer in started:
        peer.kill()


def ready_addr(peer: Peer) -> str:
    return peer.wait_for(lambda line: line.startswith("READY "), 30).split()[1]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_burst_reaches_every_process_and_a_killed_bootnode_is_redialed(tmp_path: Path, peers: list[Peer]) -> None:
    boot = Peer("boot", tmp_path, free_port(), [])
    peers.append(boot)
    boot_addr = ready_addr(boot)
    publisher = Peer("publisher", tmp_path, free_port(), [boot_addr])
    receiver = Peer("receiver", tmp_path, free_port(), [boot_addr])
    peers += [publisher, receiver]
    ready_addr(publisher)
    ready_addr(receiver)

    # The burst goes publisher -> boot -> receiver, so it needs both hops in the gossipsub mesh.
    until(lambda: boot.status()[2] >= 2 and publisher.status()[2] >= 1 and receiver.status()[2] >= 1,
          30, "the gossipsub mesh to form")

    publisher.send(f"burst {BURST} {MESSAGE_SIZE}")
    published = publisher.wait_for(lambda line: line.startswith("PUBLISHED "), 60).split()
    start = float(published[2])
    report = [f"publish loop: {float(published[3]) - start:.2f} s for {BURST} messages"]
    for peer in (boot, receiver):
        done = peer.wait_for(lambda line: line.startswith("BURST_DONE "), 60).split()
        assert int(done[1]) == BURST
        elapsed = float(done[3]) - start
        report.append(f"{peer.name}: all {BURST} in {elapsed:.2f} s = {BURST / elapsed:.0f} msg/s")
    assert boot.status()[3] == 0 and receiver.status()[3] == 0  # nothing well-formed was judged invalid

    # Request/response across processes: the first request opens the stream, the rest reuse it.
    boot_peer_id = boot_addr.rsplit("/", 1)[1]
    publisher.send(f"rtt {boot_peer_id} 200")
    first, median, p99 = (float(v) for v in publisher.wait_for(lambda line: line.startswith("RTT "), 30).split()[1:])
    report.append(f"request/response 64 B: first {first:.2f} ms, median {median:.2f} ms, p99 {p99:.2f} ms")

    # kill -9 the bootnode; it comes back with the same key and port, so the same multiaddr.
    boot.kill()
    restart_time = time.monotonic()
    boot = Peer("boot", tmp_path, boot.port, [])
    peers.append(boot)
    assert ready_addr(boot) == boot_addr

    # The other two must redial it on their own; publish until a message gets through both hops.
    attempt = 0

    def delivered_after_restart() -> bool:
        nonlocal attempt
        attempt += 1
        publisher.send(f"publish after-restart-{attempt}")
        try:
            boot.wait_for(lambda line: line.startswith("TAG after-restart-"), 0.5)
            receiver.wait_for(lambda line: line.startswith("TAG after-restart-"), 5)
        except AssertionError:
            return False
        return True

    until(delivered_after_restart, 30, "the restarted bootnode to be reconnected", interval=0)
    report.append(f"bootnode restart -> message through it: {time.monotonic() - restart_time:.2f} s")
    print("\n" + "\n".join(report))
