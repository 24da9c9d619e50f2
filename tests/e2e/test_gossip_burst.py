"""Gossip across 3 OS processes: a 1,000-message burst arrives whole, a request/response round trip works,
and a killed bootnode is found again.

These cover the ways py-libp2p loses messages silently with its defaults (rate limit, 32-slot queues,
32-message subscription buffers; reference building-blocks §7) and the bootnode redial loop. Every wait
is for a condition with a deadline; every process is killed (its whole group) whatever happens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gossip_peer_process import GossipPeer, free_port, ready_addr, until

TOPIC = "hmy/local/0.0.1/node/beacon"
BURST = 1000
MESSAGE_SIZE = 200


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[list[GossipPeer]]:
    started: list[GossipPeer] = []
    yield started
    for peer in started:
        peer.kill()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_burst_reaches_every_process_and_a_killed_bootnode_is_redialed(tmp_path: Path, peers: list[GossipPeer]) -> None:
    boot = GossipPeer("boot", tmp_path, free_port(), [], TOPIC, BURST)
    peers.append(boot)
    boot_addr = ready_addr(boot)
    publisher = GossipPeer("publisher", tmp_path, free_port(), [boot_addr], TOPIC, BURST)
    receiver = GossipPeer("receiver", tmp_path, free_port(), [boot_addr], TOPIC, BURST)
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
    boot = GossipPeer("boot", tmp_path, boot.port, [], TOPIC, BURST)
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
