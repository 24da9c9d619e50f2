"""FBFT under a seeded fault-injecting network: the invariants of ``fbft_sim`` over many seeds."""

from __future__ import annotations

import pytest

from fbft_sim import BLS_SCHEME, run_clean, run_seed, run_twin_seed


def test_clean_network_finalizes_blocks() -> None:
    result = run_clean(validators=4, blocks=20)
    assert min(result.heights) >= 20


def test_seeds(fbft_seeds: range) -> None:
    failures = []
    for seed in fbft_seeds:
        try:
            run_seed(seed)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} of {len(fbft_seeds)} seeds failed:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("seed", range(0, 11))
def test_seeds_with_real_bls(seed: int) -> None:
    """One seed of each fault family with BLS signatures instead of the linear stand-in."""
    run_seed(seed, BLS_SCHEME)


def test_twin_key_seeds(fbft_seeds: range) -> None:
    """One key on two honest nodes (``TwinSimulation``), over the seeds of the fault kinds without
    other Byzantine nodes: never a fork, never two commit votes of the key at one (height, view), so
    no double-sign evidence; the twins' conflicting proposals are reported (and some must be)."""
    failures, runs, conflicts = [], 0, 0
    for seed in fbft_seeds:
        try:
            simulation = run_twin_seed(seed)
        except AssertionError as exc:
            failures.append(str(exc))
            continue
        if simulation is not None:
            runs += 1
            conflicts += simulation.conflicting_proposals
            assert not simulation.evidence, f"seed {seed}: double-sign evidence against the twin key"
    assert not failures, f"{len(failures)} of {runs} twin runs failed:\n" + "\n".join(failures[:20])
    assert runs == 0 or conflicts > 0, f"{runs} runs and no conflicting proposal: the twins never both led"
