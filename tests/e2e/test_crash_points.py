"""Kills at commit points and clock skew on a real localnet (issue #9), each ending with the full checker.

The network, the load and the checker are those of ``test_fault_scenarios`` (one shard of four
validators and its RPC node, eight-block epochs, transfers recorded ok / failed / unknown). Each
crash scenario restarts one validator with a failpoint armed (``HMY_FAILPOINT``): the node SIGKILLs
itself at that point of finalizing a block (``harmony_node.node.failpoints``), stays down a few
seconds and comes back; the fault checks the death was the failpoint's and that the node reopened
with every block it had finalized. The clock scenario shifts one validator's wall clock.

``HARMONY_SCENARIO_REPORT=/path/file.jsonl`` keeps the reports, as in ``test_fault_scenarios``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crash_faults import ClockSkew, CrashAt, SkewRecord, get_coinbase
from harmony_node.node.failpoints import BLOCK_WRITE, BLOCK_WRITTEN, COMMIT_VOTE_SENT, VOTE_PERSISTED
from node_cluster import open_stopped_chain
from testnet_harness import Follower, Manifest, ScenarioRun, Schedule, Scheduled, run_holding_scenario

pytestmark = pytest.mark.slow
SMALL = Manifest(shards=1, validators_per_shard=4, epoch_blocks=8)
MAX_SLOW_CLOCK_LAG = 4
"""Blocks a validator with a slow clock may trail: it refuses proposals, so it learns each block from
the leader's certificate or by sync, a block or two late (metrics are sampled twice a second)."""


def _run(name: str, schedule: Schedule, tmp_path: Path) -> ScenarioRun:
    return run_holding_scenario(name, SMALL, schedule, tmp_path)


@pytest.mark.timeout(240)
def test_kill_a_validator_right_after_its_vote_is_persisted(tmp_path: Path) -> None:
    """The vote is signed and in the safety record, but never sent. The other three commit without it;
    the restarted node reads its record and must not sign anything conflicting with the vote it never
    sent (the checker reads every log for double-sign reports and every safety record)."""
    _run("kill a validator after its vote is persisted (vote-persisted), restart",
         [Scheduled(5, CrashAt(Follower(0), VOTE_PERSISTED))], tmp_path)


@pytest.mark.timeout(240)
def test_kill_a_validator_right_after_its_commit_vote_was_sent(tmp_path: Path) -> None:
    """The commit vote is handed to gossip and the voter dies: the leader may finalize the block with
    it (the certificate then names a dead signer) or without it; either way the restarted node, whose
    safety record says it committed that block, must find it on the chain and follow on.

    Not on the leader: a leader (with one key) counts its own commit vote inside its engine and never
    sends it, so ``commit-vote-sent:leader`` would wait forever; ``block-written:leader`` below is the
    leader's crash with its vote cast."""
    _run("kill a validator after its commit vote was sent (commit-vote-sent), restart",
         [Scheduled(5, CrashAt(Follower(0), COMMIT_VOTE_SENT))], tmp_path)


@pytest.mark.timeout(240)
def test_kill_a_validator_during_a_block_write(tmp_path: Path) -> None:
    """The eighth block write after the armed restart (past the catch-up, so most likely a block
    finalized through consensus, with a synced write) is interrupted by SIGKILL from another thread:
    the batch is on disk whole or not at all, the node reopens at a complete head no lower than the
    last block it reported finalized, and catches up."""
    _run("kill a validator during a block write (block-write@8), restart",
         [Scheduled(5, CrashAt(Follower(0), BLOCK_WRITE, hit=8))], tmp_path)


@pytest.mark.timeout(240)
def test_kill_the_leader_right_after_it_wrote_a_block(tmp_path: Path) -> None:
    """A validator, armed with ``block-written:leader``, dies when it next leads, with the block it
    committed on its disk and the certificate only in its memory: COMMITTED never leaves. The others
    change view and commit the same block again (they are locked on it); the restarted node's copy,
    certified in another view, must agree with theirs at every height."""
    _run("kill the leader after its block write (block-written:leader), restart",
         [Scheduled(5, CrashAt(Follower(0), BLOCK_WRITTEN, leading=True, expect_view_change=True))], tmp_path)


@pytest.mark.timeout(240)
def test_a_validator_with_its_clock_30_s_fast_then_30_s_slow(tmp_path: Path) -> None:
    """Clock skew of one validator (``HMY_CLOCK_OFFSET_MS``); the chain goes on under the other three.

    30 s fast: it follows normally (honest blocks are in its past), but when its turn comes it dates
    its proposals 30 s ahead, and every other validator refuses a proposal dated more than 15 s after
    its own clock (``block_processing.MAX_FUTURE_SECONDS``, geth's allowedFutureBlockTime; Harmony's
    engine has no such bound). Its turn ends in a view change and none of its blocks is finalized
    while its clock is off (checked below on the chain).

    30 s slow: every honest proposal looks 30 s ahead to it, so it refuses them all and votes for
    nothing (the others are still a quorum). It follows the chain all the same: the blocks it fetches
    by sync carry their certificates, and a certified block is final whatever the local clock says
    (until this test found it, sync checked the local clock too and the node trailed by ~15 blocks)."""
    run = _run("one validator's clock 30 s fast until its turn as leader passed, then 30 s slow for 12 s",
               [Scheduled(5, ClockSkew(Follower(0), 30_000, duration_s=10, expect_view_change=True,
                                       until_turn=True)),
                Scheduled(0, ClockSkew(Follower(0), -30_000, duration_s=12))], tmp_path)
    skew = run.net.faults[0]
    assert isinstance(skew, SkewRecord)
    assert skew.turns > 0, skew.description
    assert skew.skewed_until > skew.skewed_from, skew.description
    datadir = run.net.cli.datadir
    with open_stopped_chain(datadir / "s0-rpc", datadir / "genesis.json", 0) as chain:
        assert chain is not None
        proposers = {chain.get_block_by_number(n).header.coinbase
                     for n in range(skew.skewed_from + 1, skew.skewed_until + 1)}
    assert get_coinbase(run.net, skew.node) not in proposers, skew.description
    slow = run.net.faults[1]
    assert isinstance(slow, SkewRecord)
    assert slow.max_lag <= MAX_SLOW_CLOCK_LAG, slow.description
