"""One BLS key running on two nodes (issue #9): an operator's fail-over gone wrong, and the same thing
as an equivocating leader, since whenever the key leads both nodes may propose a block in one view.

Four validators and an RPC node on one shard, transfers running; a second node starts with the key of
a non-leading validator (``twin_faults.TwinKey``), syncs, lives through the key's turns as leader until
conflicting proposals were seen, and is stopped. Votes bind (height, view, block hash) and BLS is
deterministic, so following another leader the twins sign identical votes; leading, each announces
its own block, and quorum intersection (the key counts once on each side) lets only one be prepared.
The twin's clock runs 2 s ahead: with the same clock, twins building within one second from one pool
build the very same block (timestamps are in seconds, the VRF is deterministic) and nothing conflicts.

So: the harness invariants hold (one chain, every transfer once, no double sign observed, safety
records consistent; the twin's directory is checked with the others), the twin's chain is a prefix of
the network's, members reported the conflicting proposals while the twin ran, and nothing was slashed:
Harmony slashes conflicting commit votes only, and the twins never sign two.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node_cluster import open_stopped_chain, read_chain_hashes
from testnet_harness import Follower, Manifest, Scheduled, run_holding_scenario
from twin_faults import TwinKey, TwinKeyRecord

pytestmark = pytest.mark.slow
SMALL = Manifest(shards=1, validators_per_shard=4, epoch_blocks=8)
REPORTED = "conflicting proposals observed"


@pytest.mark.timeout(300)
def test_one_bls_key_on_two_nodes_forks_nothing_and_is_reported(tmp_path: Path) -> None:
    schedule = [Scheduled(5, TwinKey(Follower(0), duration_s=20, clock_offset_ms=2000))]
    run = run_holding_scenario("one BLS key on two nodes (twins propose two blocks when the key leads)", SMALL,
                               schedule, tmp_path)
    [record] = run.net.faults
    assert isinstance(record, TwinKeyRecord) and record.twin_dir is not None
    assert record.turns and record.exit_code == 0, record.description

    datadir = run.net.cli.datadir
    genesis_file = datadir / "genesis.json"
    copies = {d.name: read_chain_hashes(d, genesis_file, 0) for d in sorted(datadir.iterdir())
              if (d / "node.log").exists()}
    twin = copies.pop(record.twin_dir.name)
    reference = max(copies, key=lambda name: len(copies[name]))
    assert len(twin) > record.heights_at_start[0] and twin == copies[reference][:len(twin)], \
        f"the twin's chain ({len(twin) - 1} blocks) is not a prefix of {reference}'s"

    assert record.conflicts > 0, f"no node counted conflicting proposals: {record.description}"
    reporters = {name for name in copies if REPORTED in (datadir / name / "node.log").read_text(errors="replace")}
    assert reporters - {record.twinned}, f"no member other than the twins logged {REPORTED!r}"

    with open_stopped_chain(datadir / reference, genesis_file, 0) as chain:
        assert chain is not None
        slashes = [n for n in range(1, chain.head.number + 1) if chain.get_header(n).slashes]
        views = {turn.views: [chain.get_header(n).view_id for n in range(turn.heights[0], turn.heights[1] + 1)]
                 for turn in record.turns}
    assert not slashes, f"blocks {slashes} slash someone"
    print(f"\ntwin key {record.public_key[:18]}... of {record.twinned}: {record.description}\n"
          f"header view ids of the blocks made in its turns: {views}\n"
          f"nodes that logged {REPORTED!r}: {sorted(reporters)}; staking validators on the beacon: "
          f"{record.staking_validators}; blocks with slashes: none")
