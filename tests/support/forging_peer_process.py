"""``tests/e2e/forging_peer.py`` as a child process, and what it is given: a real sync answer.

The process plumbing (own session, stdout lines read by a thread, waits with deadlines, group kill)
is ``GossipPeer``'s; only the command line and the commands differ.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import trio

from gossip_peer_process import REPO, GossipPeer
from harmony_node.node.sync import encode_sync_request
from harmony_node.p2p.gossip import GossipNode
from harmony_node.p2p.host import P2PConfig

FORGER_SCRIPT = REPO / "tests" / "e2e" / "forging_peer.py"


class ForgingPeer(GossipPeer):
    """One forging_peer.py process answering sync requests with forgeries."""

    def __init__(self, workdir: Path, port: int, genesis_file: Path, blocks: bytes, secrets: Sequence[int],
                 mode: str) -> None:
        self.name = "forger"
        self.port = port
        self.topic = ""
        self.stderr_path = workdir / "forger.stderr"
        blocks_file, secrets_file = workdir / "forger.blocks", workdir / "forger.secrets"
        blocks_file.write_bytes(blocks)
        secrets_file.write_text("".join(f"{secret:x}\n" for secret in secrets))
        command = [sys.executable, str(FORGER_SCRIPT), "--key", str(workdir / "forger.key"), "--port", str(port),
                   "--genesis", str(genesis_file), "--blocks", str(blocks_file), "--secrets", str(secrets_file),
                   "--mode", mode]
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests' / 'support'}"}
        with open(self.stderr_path, "ab") as stderr:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=REPO, env=env, start_new_session=True, text=True, bufsize=1,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        self.served: list[tuple[str, int]] = []
        """(kind, from number) of every sync request answered, as far as ``wait_for`` has read."""
        threading.Thread(target=self._read, daemon=True).start()

    def wait_for_served(self, kind: str, timeout: float) -> int:
        """Until a sync request is answered with ``kind``; the block number it asked from."""
        line = self._wait(lambda text: text.startswith(f"SERVED {kind} "), timeout)
        return int(line.split()[2])

    def count_served(self, kinds: Sequence[str]) -> int:
        return sum(1 for kind, _ in self.served if kind in kinds)

    def set_mode(self, kind: str) -> None:
        self.send(f"mode {kind}")
        self._wait(lambda text: text == f"MODE {kind}", 10)

    def gossip(self, kind: str) -> int:
        """Announce the forgery on the client topic; how many peers were on the topic."""
        self.send(f"gossip {kind}")
        return int(self._wait(lambda text: text.startswith(f"GOSSIPED {kind} "), 30).split()[2])

    def get_topic_peers(self) -> int:
        self.send("status")
        return int(self._wait(lambda text: text.startswith("STATUS "), 10).split()[2])

    def note_served(self) -> None:
        """Record the requests answered since the last wait."""
        for line in self.drain_lines():
            self._note(line)

    def _wait(self, match: Callable[[str], bool], timeout: float) -> str:
        def note_and_match(line: str) -> bool:
            self._note(line)
            return match(line)

        return self.wait_for(note_and_match, timeout)

    def _note(self, line: str) -> None:
        if line.startswith("SERVED "):
            _, kind, from_number, _ = line.split()
            self.served.append((kind, int(from_number)))

def fetch_sync_answer(address: str, protocol: str, from_number: int, timeout: float = 30) -> bytes:
    """What an honest peer at ``address`` answers to a sync request for blocks from ``from_number``."""
    answer = b""

    async def fetch() -> None:
        nonlocal answer
        with trio.fail_after(timeout):
            async with GossipNode(P2PConfig()).run() as client:
                peer = await client.connect(address)
                answer = await client.request(peer, protocol, encode_sync_request(from_number), timeout=timeout)

    try:
        trio.run(fetch)
    except BaseExceptionGroup:
        # py-libp2p 0.8.1 sometimes raises from its own tasks while a host shuts down ("Nursery is
        # closed to new arrivals"); once the answer is in, that is not our failure.
        if not answer:
            raise
    return answer
