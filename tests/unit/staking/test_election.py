"""EPoS election: eligibility, stake per key, slot limits, top slots, median clamp."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harmony_node.types.staking_transaction import DEC_PRECISION, CommissionRates, Description, EPoSStatus
from staking.config import LOCALNET, ONE, StakingConfig
from staking.election import compute_effective_stake, compute_election, compute_median
from staking.records import Delegation, ValidatorWrapper

RATES = CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 20)


def _validator(n: int, stake: int, keys: int = 1, status: EPoSStatus = EPoSStatus.ACTIVE) -> ValidatorWrapper:
    address = n.to_bytes(20, "big")
    return ValidatorWrapper(
        address=address,
        slot_pub_keys=tuple(bytes([n, k]) * 24 for k in range(keys)),
        min_self_delegation=10_000 * ONE,
        max_total_delegation=10**12 * ONE,
        status=status,
        rates=RATES,
        rate_update_height=0,
        description=Description("", "", "", "", ""),
        creation_height=0,
        delegations=(Delegation(address, stake),),
    )


def _config(slots: int, limit: int = 6) -> StakingConfig:
    return StakingConfig(external_slots=slots, slots_limit_per_validator=limit)


def test_median() -> None:
    assert compute_median([5, 1, 3]) == 3
    assert compute_median([4, 1, 3, 10]) == 3  # (3 + 4) // 2
    assert compute_median([7]) == 7


def test_effective_stake_is_clamped_to_the_median_band() -> None:
    bound = 35 * DEC_PRECISION // 100
    assert compute_effective_stake(100, 100, bound) == 100
    assert compute_effective_stake(1000, 100, bound) == 135
    assert compute_effective_stake(10, 100, bound) == 65


def test_top_slots_win_and_stake_is_spread_over_keys() -> None:
    candidates = [
        _validator(1, 90_000 * ONE, keys=3),  # 30k per key
        _validator(2, 50_000 * ONE),  # 50k
        _validator(3, 20_000 * ONE),  # 20k
        _validator(4, 10_000 * ONE),  # 10k: loses
        _validator(5, 900_000 * ONE, status=EPoSStatus.INACTIVE),
        _validator(6, 900_000 * ONE, status=EPoSStatus.BANNED),
    ]
    slots = compute_election(candidates, _config(5))
    assert [(s.validator[-1], s.raw_stake // ONE) for s in slots] == [(2, 50_000), (1, 30_000), (1, 30_000),
                                                                      (1, 30_000), (3, 20_000)]
    # The median is 30k: 50k is cut to 1.35 x 30k; 20k is above the 0.65 x 30k floor and stays.
    assert [s.effective_stake // ONE for s in slots] == [40_500, 30_000, 30_000, 30_000, 20_000]


def test_slot_limit_per_validator() -> None:
    slots = compute_election([_validator(1, 100_000 * ONE, keys=4), _validator(2, 1_000 * ONE)], _config(10, limit=2))
    # Only two keys count, and the stake is spread over those two.
    assert [(s.validator[-1], s.raw_stake // ONE) for s in slots] == [(1, 50_000), (1, 50_000), (2, 1_000)]


def test_ties_are_broken_by_address_not_creation_order() -> None:
    a, b = _validator(9, 10_000 * ONE), _validator(3, 10_000 * ONE)
    assert compute_election([a, b], _config(1)) == compute_election([b, a], _config(1))
    assert compute_election([a, b], _config(1))[0].validator == b.address


def test_no_candidates_elects_nobody() -> None:
    assert compute_election([], LOCALNET) == ()
    assert compute_election([_validator(1, 0)], LOCALNET) == ()


@given(st.lists(st.tuples(st.integers(1, 10**24), st.integers(1, 4)), min_size=1, max_size=30), st.integers(1, 20))
def test_election_properties(stakes: list[tuple[int, int]], slots: int) -> None:
    candidates = [_validator(i + 1, stake, keys) for i, (stake, keys) in enumerate(stakes)]
    config = _config(slots, limit=3)
    elected = compute_election(candidates, config)
    assert len(elected) <= slots
    assert len({s.public_key for s in elected}) == len(elected)
    # Winners are the best stakes per key: nobody left out had more per key than the last winner.
    if elected:
        lowest = min(s.raw_stake for s in elected)
        chosen = {s.public_key for s in elected}
        for wrapper in candidates:
            keys = wrapper.slot_pub_keys[:3]
            per_key = wrapper.total_delegation // len(keys)
            for key in keys:
                if key not in chosen:
                    assert per_key <= lowest
        median = compute_median([s.raw_stake for s in elected])
        for slot in elected:
            assert median * 65 // 100 <= slot.effective_stake <= median * 135 // 100 + 1
    for validator in {s.validator for s in elected}:
        assert sum(s.validator == validator for s in elected) <= 3
