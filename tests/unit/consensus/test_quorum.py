"""Committees and quorum by voting power: Harmony's one-node-one-vote rule and strict > 2/3 of stake."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.quorum import Committee, compute_max_faulty, compute_quorum_threshold, is_quorum
from harmony_node.exceptions import ValidationError

TOTAL = 10**18


def _keys(n: int) -> list[bytes]:
    return [i.to_bytes(48, "big") for i in range(1, n + 1)]


@pytest.mark.parametrize("n", list(range(1, 401)))
def test_equal_power_is_harmonys_one_node_one_vote_rule(n: int) -> None:
    committee = Committee.with_equal_power(_keys(n), shard_id=0, epoch=0)
    need = n * 2 // 3 + 1
    for signers in (range(need), range(n - need, n)):  # first or last members: all weigh the same
        assert is_quorum(committee, signers)
    for signers in (range(need - 1), range(n - need + 1, n)):
        assert not is_quorum(committee, signers)
    assert compute_quorum_threshold(committee) == need
    assert n - compute_max_faulty(n) >= need


def test_stake_weighted_quorum_is_strictly_more_than_two_thirds() -> None:
    third = TOTAL // 3
    committee = Committee(0, 0, tuple(_keys(3)), (third, third, TOTAL - 2 * third))
    assert not is_quorum(committee, [0, 1])  # exactly floor(2/3) is not enough
    assert is_quorum(committee, [0, 2])  # the last member holds the rounding remainder: just over 2/3
    exact = Committee(0, 0, tuple(_keys(3)), (TOTAL, TOTAL, TOTAL))
    assert not is_quorum(exact, [0, 1])  # exactly 2/3 is not a quorum
    whale = Committee(0, 0, tuple(_keys(4)), (TOTAL * 7 // 10, 10**17, 10**17, 10**17))
    assert is_quorum(whale, [0]) and not is_quorum(whale, [1, 2, 3])
    assert is_quorum(whale, [0, 0, 0]) and whale.compute_power([0, 0]) == whale.voting_power[0]


@given(st.lists(st.integers(0, 10**18), min_size=1, max_size=20).filter(any), st.data())
def test_threshold_agrees_with_is_quorum(power: list[int], data: st.DataObject) -> None:
    committee = Committee(0, 0, tuple(_keys(len(power))), tuple(power))
    signers = data.draw(st.sets(st.integers(0, len(power) - 1)))
    assert is_quorum(committee, signers) == (committee.compute_power(signers) >= compute_quorum_threshold(committee))


@pytest.mark.parametrize(
    ("keys", "power", "message"),
    [((), (), "at least one"), (tuple(_keys(2)), (TOTAL,), "every committee member"),
     ((b"\x01" * 48, b"\x01" * 48), (1, TOTAL - 1), "twice"),
     ((b"\x01" * 47,), (TOTAL,), "48-byte"), (tuple(_keys(2)), (0, 0), "positive total"),
     (tuple(_keys(2)), (-1, 2), "non-negative")],
)
def test_bad_committees(keys: tuple[bytes, ...], power: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Committee(0, 0, keys, power)


@pytest.mark.parametrize("keys", [[], [b"\x01" * 48, b"\x02" * 48, b"\x01" * 48], [b"\x01" * 49]])
def test_equal_power_committee_checks_its_keys(keys: list[bytes]) -> None:
    with pytest.raises(ValidationError):
        Committee.with_equal_power(keys, shard_id=0, epoch=0)
