"""Block rewards: split by voting power, commission then delegators pro rata, issuance capped."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.types.staking_transaction import DEC_PRECISION, CommissionRates, Description, EPoSStatus
from memory_ledger import MemoryLedger
from staking.config import LOCALNET, ONE, StakingConfig
from staking.issuance import compute_issuance_allowance, process_fee_burn
from staking.ledger import Supply
from staking.records import Delegation, ValidatorWrapper
from staking.rewards import SlotVote, compute_reward_split, process_block_reward

V1, V2, ALICE, BOB = b"\x01" * 20, b"\x02" * 20, b"\xaa" * 20, b"\xbb" * 20


def _validator(address: bytes, rate: int, delegations: tuple[Delegation, ...]) -> ValidatorWrapper:
    return ValidatorWrapper(
        address=address, slot_pub_keys=(address * 2 + address[:8],), min_self_delegation=10_000 * ONE,
        max_total_delegation=10**9 * ONE, status=EPoSStatus.ACTIVE,
        rates=CommissionRates(rate, DEC_PRECISION, DEC_PRECISION), rate_update_height=0,
        description=Description("", "", "", "", ""), creation_height=0, delegations=delegations)


def _ledger() -> MemoryLedger:
    ledger = MemoryLedger(Supply(genesis=0))
    # V1: 10% commission, self 20k, Alice 30k, Bob 50k. V2: 20% commission, self 100k.
    ledger.set_validator(_validator(V1, DEC_PRECISION // 10, (Delegation(V1, 20_000 * ONE),
                                                             Delegation(ALICE, 30_000 * ONE),
                                                             Delegation(BOB, 50_000 * ONE))))
    ledger.set_validator(_validator(V2, DEC_PRECISION // 5, (Delegation(V2, 100_000 * ONE),)))
    ledger.take_snapshots()
    ledger.supply = Supply(genesis=ledger.compute_holdings())
    return ledger


def _rewards(ledger: MemoryLedger, address: bytes) -> list[int]:
    return [d.reward for d in ledger.validators[address].delegations]


def test_reward_goes_to_signers_by_power_commission_first() -> None:
    ledger = _ledger()
    votes = [SlotVote(V1, 3, True), SlotVote(V2, 1, True)]
    assert process_block_reward(ledger, votes, 10, LOCALNET) == 7 * ONE
    # V1 earns 3/4 of 7 ONE = 5.25: commission 0.525, the remaining 4.725 split 20/30/50.
    assert _rewards(ledger, V1) == [525 * ONE // 1000 + 945 * ONE // 1000, 14175 * ONE // 10000,
                                    23625 * ONE // 10000]
    assert _rewards(ledger, V2) == [175 * ONE // 100]
    assert ledger.supply.minted == 7 * ONE and ledger.compute_holdings() == ledger.supply.total
    assert ledger.validators[V1].lifetime_reward == 525 * ONE // 100


def test_absent_slots_earn_nothing_but_count_as_to_sign() -> None:
    ledger = _ledger()
    process_block_reward(ledger, [SlotVote(V1, 3, False), SlotVote(V2, 1, True)], 10, LOCALNET)
    assert _rewards(ledger, V1) == [0, 0, 0] and _rewards(ledger, V2) == [7 * ONE]
    v1, v2 = ledger.validators[V1], ledger.validators[V2]
    assert (v1.blocks_signed, v1.blocks_to_sign, v2.blocks_signed, v2.blocks_to_sign) == (0, 1, 1, 1)


def test_stake_added_during_the_epoch_earns_from_the_next() -> None:
    ledger = _ledger()
    wrapper = ledger.validators[V2]
    ledger.set_validator(wrapper.with_delegation(1, Delegation(ALICE, 100_000 * ONE)))
    process_block_reward(ledger, [SlotVote(V2, 1, True)], 10, LOCALNET)
    assert _rewards(ledger, V2) == [7 * ONE, 0]


def test_banned_signer_is_not_paid_and_nothing_is_minted_for_it() -> None:
    ledger = _ledger()
    ledger.set_validator(replace(ledger.validators[V1], status=EPoSStatus.BANNED))
    assert process_block_reward(ledger, [SlotVote(V1, 1, True), SlotVote(V2, 1, True)], 10, LOCALNET) == 35 * ONE // 10
    assert ledger.compute_holdings() == ledger.supply.total


def test_unknown_slots_are_neither_counted_nor_paid() -> None:
    ledger = _ledger()
    assert process_block_reward(ledger, [SlotVote(b"\x09" * 20, 1, True), SlotVote(V2, 1, True)], 10,
                                LOCALNET) == 35 * ONE // 10


def test_issuance_cap_and_year_rollover() -> None:
    config = StakingConfig(block_reward=7 * ONE, annual_issuance_cap=10 * ONE, blocks_per_year=100)
    ledger = _ledger()
    votes = [SlotVote(V2, 1, True)]
    assert process_block_reward(ledger, votes, 5, config) == 7 * ONE
    assert process_block_reward(ledger, votes, 6, config) == 3 * ONE  # only what is left of the cap
    assert process_block_reward(ledger, votes, 99, config) == 0
    assert process_block_reward(ledger, votes, 100, config) == 7 * ONE  # a new year
    assert ledger.supply.minted == 17 * ONE and ledger.supply.issuance_year == 1
    allowance, _ = compute_issuance_allowance(ledger.supply, 150, config)
    assert allowance == 3 * ONE


def test_fee_burn_is_counted() -> None:
    ledger = _ledger()
    ledger.balances[ALICE] = 5 * ONE
    ledger.supply = replace(ledger.supply, genesis=ledger.supply.genesis + 5 * ONE)
    ledger.balances[ALICE] -= ONE // 100
    process_fee_burn(ledger, ONE // 100)
    assert ledger.compute_holdings() == ledger.supply.total
    with pytest.raises(ValueError):
        process_fee_burn(ledger, -1)


@given(st.integers(0, 10**22), st.integers(0, DEC_PRECISION),
       st.lists(st.integers(0, 10**24), min_size=1, max_size=20))
def test_split_pays_exactly_the_due_and_respects_commission(due: int, rate: int, amounts: list[int]) -> None:
    delegations = tuple(Delegation(i.to_bytes(20, "big"), amount) for i, amount in enumerate(amounts))
    wrapper = _validator(delegations[0].delegator, rate, delegations)
    shares = compute_reward_split(wrapper, wrapper, due)
    assert sum(shares) == due and min(shares) >= 0
    assert shares[0] >= due * rate // DEC_PRECISION
    staked = sum(amounts)
    for index in range(1, len(amounts)):  # each delegator gets its pro-rata share, floored
        expected = (due - due * rate // DEC_PRECISION) * amounts[index] // staked if staked else 0
        assert shares[index] == expected
