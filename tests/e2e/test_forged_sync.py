"""A late joiner whose only peer serves forged blocks (issue #9): it takes none, stays up, then syncs.

Four validators (``node_cluster.Cluster``, 1 s blocks) make a real chain with a transfer in it. A
forging peer process (``tests/e2e/forging_peer.py``) gets that chain's real sync answer and the
committee's keys, and answers the sync requests of a fresh non-validating node, whose only bootnode
it is, with one forgery after another (``forged_blocks``): chains signed by other keys, real blocks
with tampered certificates, real certificates on changed blocks, malformed answers, a silent peer
and an oversized frame; it also announces forged blocks on the client topic. For each, the node must
have asked (the forger counts the requests it answered, so the test is not vacuous), refused the
forgery for its reason (log record and ``hmy_messages_rejected_total``; an empty, silent or oversized
answer is only dropped) and stayed at block 0, answering RPC all along. Last, a forged block after
real ones: the real ones may be taken, the forged one never.

Then the node restarts with an honest validator as a bootnode besides the forger: it must sync the
real chain, and its data directory must hold exactly the network's block hashes.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from forged_blocks import CONSENSUS_REFUSALS, NOT_FROM_THE_BLOCK_ASKED, UNDECODABLE
from forging_peer_process import ForgingPeer, fetch_sync_answer
from gossip_peer_process import free_port, ready_addr
from harmony_node.chain.config import ONE
from harmony_node.chain.genesis import load_genesis
from harmony_node.node.sync import decode_sync_response
from harmony_node.p2p.topics import Network, sync_protocol_id
from harmony_node.types.transaction import encode_transaction, sign_transaction
from node_cluster import FUNDED_KEY, HMY_NODE, Cluster, NodeProcess, call_rpc, read_chain_hashes, wait_for

pytestmark = pytest.mark.slow

PROTOCOL = sync_protocol_id(Network.LOCALNET, 0)
REJECTED = "hmy_messages_rejected_total"
REFUSAL_LOG = "sync peer served bad blocks"
SYNC_FORGERIES = (
    "foreign-committee", "certificate-of-another-block", "below-quorum", "transaction-added", "header-changed",
    "not-rlp", "many-items", "huge-block", "wrong-height", "stale-blocks", "silent", "oversized-frame",
)
"""In the order served; ``transaction-removed`` comes after them (it serves real blocks before its forgery).
Each family through a real node and its network; every one of ``forged_blocks``' kinds is also refused
in process (tests/unit/node/test_forged_sync_answers.py), which is cheaper than ~3 s of sync each here."""
REFUSALS = {**CONSENSUS_REFUSALS, **UNDECODABLE,
            "wrong-height": NOT_FROM_THE_BLOCK_ASKED, "stale-blocks": NOT_FROM_THE_BLOCK_ASKED}
"""A part of the reason the node logs for each forgery (the sync service refuses some before consensus does);
an empty, silent or oversized answer is no evidence of a lie (the peer may be behind, slow or cut off)."""
GOSSIP_FORGERIES = ("foreign-committee", "transaction-added", "many-items")
RPC_DEADLINE_S = 5.0
"""An RPC call unanswered this long means the node is wedged (it answers in milliseconds)."""


@dataclass
class RpcWatch:
    """Polls a node's ``hmyv2_blockNumber`` from a thread: the slowest answer, failures, heights seen."""

    url: str
    slowest_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    heights: set[int] = field(default_factory=set)
    stopped: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            started = time.monotonic()
            try:
                self.heights.add(int(call_rpc(self.url, "hmyv2_blockNumber", [])))
            except (OSError, AssertionError) as exc:  # call_rpc's urlopen times out after 5 s
                self.failures.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)


@contextmanager
def watch_rpc(node: NodeProcess) -> Iterator[RpcWatch]:
    watch = RpcWatch(f"http://127.0.0.1:{node.rpc_port}")
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        watch.stopped.set()
        thread.join(timeout=2 * RPC_DEADLINE_S)


def _launch(cluster: Cluster, node: NodeProcess, bootnodes: list[str]) -> None:
    """``Cluster.start`` with ``bootnodes`` as its only peers (the cluster still kills it at the end)."""
    command = [str(HMY_NODE), "start", "--datadir", str(node.datadir), "--genesis", str(cluster.genesis_file),
               "--p2p.port", str(node.p2p_port), "--metrics.port", str(node.metrics_port),
               "--rpc.port", str(node.rpc_port), "--shard", "0", "--block-time-ms", str(cluster.block_time_ms),
               "--view-timeout-ms", str(cluster.view_timeout_ms), "--log.level", "info"]
    for address in bootnodes:
        command += ["--bootnode", address]
    node.log_path = node.datadir / f"node-{time.monotonic_ns()}.log"
    with open(node.log_path, "wb") as log_file:
        node.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                        env=dict(os.environ, PYTHONUNBUFFERED="1"))


def _submit_transfer(cluster: Cluster, node: NodeProcess) -> int:
    """Send a transfer through ``node``'s RPC; the number of the block it lands in."""
    config = load_genesis(cluster.genesis_file).config
    tx = sign_transaction(nonce=0, gas_price=config.min_gas_price, gas_limit=21_000, shard_id=0, to_shard_id=0,
                          to=b"\x11" * 20, value=ONE, data=b"", private_key=FUNDED_KEY, chain_id=config.chain_id)
    tx_hash = node.call_rpc("hmyv2_sendRawTransaction", "0x" + encode_transaction(tx).hex())
    landed: list[int] = []

    def is_included() -> bool:
        found = node.call_rpc("hmyv2_getTransactionByHash", tx_hash)
        if found and found.get("blockNumber") is not None:
            landed.append(int(found["blockNumber"]))
        return bool(landed)

    wait_for(is_included, 30, "the transfer to be in a block", interval=0.5)
    return landed[0]


def _get_hashes(node: NodeProcess, last: int) -> list[bytes]:
    return [bytes.fromhex(node.call_rpc("hmyv2_getBlockByNumber", n, {})["hash"][2:]) for n in range(last + 1)]


def _get_refusals(cluster: Cluster, index: int) -> list[str]:
    """The reasons of the node's "sync peer served bad blocks" records, oldest first."""
    return [str(record["reason"]) for record in cluster.get_log_records(index) if record.get("msg") == REFUSAL_LOG]


def _wait_for_refusal(cluster: Cluster, node: NodeProcess, before: int, what: str) -> str:
    """The reason of the node's refusal after the first ``before`` ones (waits for it)."""
    refusals: list[str] = []

    def refused() -> bool:
        refusals[:] = _get_refusals(cluster, node.index)
        return len(refusals) > before

    wait_for(refused, 20, f"the node to refuse {what}", interval=0.3)
    return refusals[before]


@pytest.mark.timeout(300)
def test_a_late_joiner_refuses_a_forging_peer_then_syncs_the_real_chain(tmp_path: Path) -> None:
    started = time.monotonic()
    cluster = Cluster(tmp_path / "net")
    forger: ForgingPeer | None = None
    try:
        for index in range(4):
            cluster.start(index)
        honest = cluster.nodes[0]
        cluster.wait_for_height(2, [0], timeout=90)
        transfer_block = _submit_transfer(cluster, honest)
        wait_for(lambda: honest.get_height() >= max(transfer_block, 4) + 1, 30, "blocks after the transfer")
        answer = fetch_sync_answer(honest.multiaddr, PROTOCOL, 1)
        assert len(decode_sync_response(answer)) > transfer_block

        forger = ForgingPeer(tmp_path, free_port(), cluster.genesis_file, answer, cluster.secrets, SYNC_FORGERIES[0])
        forger_address = ready_addr(forger)
        follower = cluster.add_node(None)
        _launch(cluster, follower, [forger_address])
        wait_for(lambda: follower.get_height() == 0, 60, "the new node to serve its metrics")
        forged_from = time.monotonic()

        with watch_rpc(follower) as rpc:
            for kind in SYNC_FORGERIES:
                refusals = len(_get_refusals(cluster, follower.index))
                forger.set_mode(kind)
                assert forger.wait_for_served(kind, timeout=30) == 1  # it asked for block 1 and got the forgery
                if kind in REFUSALS:
                    reason = _wait_for_refusal(cluster, follower, refusals, kind)
                    assert REFUSALS[kind] in reason, (kind, reason)
                assert follower.running, cluster.dump_logs()
                assert follower.get_height() == 0, kind
            forger.set_mode("empty")  # harmless answers while the gossip goes out

            get_topic_peers = forger.get_topic_peers
            wait_for(lambda: get_topic_peers() >= 1, 30, "the node to join the client topic")
            for kind in GOSSIP_FORGERIES:
                rejected = follower.get_chain_metric(REJECTED)
                assert forger.gossip(kind) >= 1
                if kind in CONSENSUS_REFUSALS:
                    wait_for(lambda: follower.get_chain_metric(REJECTED) > rejected, 20, f"the node to reject {kind}")
            assert follower.get_height() == 0

            # Real blocks, then the transfer's block without its transfer: the real ones are taken.
            refusals = len(_get_refusals(cluster, follower.index))
            forger.set_mode("transaction-removed")
            forger.wait_for_served("transaction-removed", timeout=30)
            reason = _wait_for_refusal(cluster, follower, refusals, "transaction-removed")
            assert CONSENSUS_REFUSALS["transaction-removed"] in reason, reason
            assert forger.wait_for_served("transaction-removed", timeout=30) == transfer_block  # asked again
            assert follower.get_height() == transfer_block - 1
            rejected_total = follower.get_chain_metric(REJECTED)
        forged_s = time.monotonic() - forged_from

        assert follower.running, cluster.dump_logs()
        assert not rpc.failures and rpc.slowest_s < RPC_DEADLINE_S, (rpc.slowest_s, rpc.failures)
        assert max(rpc.heights) == transfer_block - 1
        assert cluster.stop(follower.index) == 0
        real_hashes = _get_hashes(honest, transfer_block - 1)
        assert read_chain_hashes(follower.datadir, cluster.genesis_file, 0) == real_hashes  # nothing forged on disk

        # With an honest peer beside the forger, it syncs the real chain.
        forger.set_mode("stale-blocks")  # what it could once hold a node back with, honest peer or not
        forger.note_served()
        served_before = len(forger.served)
        target = honest.get_height()
        _launch(cluster, follower, [honest.multiaddr, forger_address])
        synced_from = time.monotonic()
        wait_for(lambda: follower.get_height() >= target, 90, f"the node to sync to block {target}")
        sync_s = time.monotonic() - synced_from
        assert cluster.stop(follower.index) == 0
        synced = read_chain_hashes(follower.datadir, cluster.genesis_file, 0)
        assert len(synced) > target and synced == _get_hashes(honest, len(synced) - 1)
        forger.note_served()
        print(f"\nforged answers served {len(forger.served)} ({served_before} before the honest peer came); "  # noqa: T201
              f"rejected {rejected_total:.0f}; forged phase {forged_s:.0f} s, slowest RPC {rpc.slowest_s:.2f} s; "
              f"synced {target} blocks in {sync_s:.1f} s; total {time.monotonic() - started:.0f} s")
    finally:
        if forger is not None:
            forger.kill()
        cluster.close()
