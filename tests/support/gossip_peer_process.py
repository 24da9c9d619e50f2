"""``tests/e2e/gossip_peer.py`` as a child process driven over stdin/stdout (the gossip e2e tests).

Each peer runs in a session of its own, so killing its group takes any children with it; its stdout
lines are read by a thread into a queue and waited on with deadlines.
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEER_SCRIPT = REPO / "tests" / "e2e" / "gossip_peer.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class GossipPeer:
    """One gossip_peer.py process; its stdout lines are read by a thread into a queue."""

    def __init__(self, name: str, workdir: Path, port: int, bootnodes: list[str], topic: str,
                 expect: int = 1000) -> None:
        self.name = name
        self.port = port
        self.topic = topic
        self.stderr_path = workdir / f"{name}.stderr"
        command = [sys.executable, str(PEER_SCRIPT), "--key", str(workdir / f"{name}.key"),
                   "--port", str(port), "--topic", topic, "--expect", str(expect)]
        for bootnode in bootnodes:
            command += ["--bootnode", bootnode]
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests' / 'support'}"}
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

    def drain_lines(self) -> list[str]:
        """The output lines read so far and not yet waited for."""
        lines = []
        while True:
            try:
                lines.append(self.lines.get_nowait())
            except queue.Empty:
                return lines

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


def ready_addr(peer: GossipPeer) -> str:
    return peer.wait_for(lambda line: line.startswith("READY "), 30).split()[1]
