"""Block rewards: minted under the annual cap, paid to a block's signers by voting power.

Reference §6.4. Every beacon block and every crosslinked shard block is one reward event. The
reward is shared by the slots that signed it in proportion to their voting power (absent slots get
nothing); a validator's share pays its commission first, then its delegators pro rata by the stake
they had when the epoch began, and the rounding dust goes to the validator's own delegation. Rewards
accrue in the delegations until collected or compounded. All fees are burned elsewhere; the only
new coins are the ones paid here, counted in ``Supply.minted``.

How much an event may mint is ``issuance``'s rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from harmony_node.types.staking_transaction import DEC_PRECISION, EPoSStatus
from staking.config import StakingConfig
from staking.issuance import compute_issuance_allowance
from staking.ledger import StakingLedger
from staking.records import ValidatorWrapper


@dataclass(frozen=True, slots=True)
class SlotVote:
    """One committee slot of a rewarded block: whose it is, its voting power, and whether it signed."""

    validator: bytes
    voting_power: int
    signed: bool


def compute_reward_split(wrapper: ValidatorWrapper, snapshot: ValidatorWrapper, due: int) -> list[int]:
    """Reward added to each of ``wrapper``'s delegations (same indices) when the validator earns ``due``.

    Commission at the current rate goes to the validator; the rest is split by the snapshot's
    delegation amounts, so stake added during the epoch earns from the next epoch on.
    """
    shares = [0] * len(wrapper.delegations)
    commission = due * wrapper.rates.rate // DEC_PRECISION
    remaining = due - commission
    staked = sum(d.amount for d in snapshot.delegations)
    if staked > 0:
        for delegation in snapshot.delegations:
            index = wrapper.find_delegation(delegation.delegator)
            if index is not None and delegation.amount > 0:
                shares[index] += remaining * delegation.amount // staked
    shares[0] += due - sum(shares)  # commission plus the rounding dust
    return shares


def process_block_reward(
    ledger: StakingLedger, votes: Sequence[SlotVote], beacon_block_number: int, config: StakingConfig
) -> int:
    """Count signatures and pay one block's reward to its signers; returns the amount minted."""
    allowance, supply = compute_issuance_allowance(ledger.get_supply(), beacon_block_number, config)
    to_sign: dict[bytes, int] = defaultdict(int)
    signed: dict[bytes, int] = defaultdict(int)
    power: dict[bytes, int] = defaultdict(int)
    for vote in votes:
        to_sign[vote.validator] += 1
        if vote.signed:
            signed[vote.validator] += 1
            power[vote.validator] += vote.voting_power
    total_power = sum(power.values())
    minted = 0
    for address in to_sign:  # first-seen order: deterministic for a given committee
        wrapper = ledger.get_validator(address)
        if wrapper is None:  # a slot no validator stakes on (a genesis key): not counted, not paid
            continue
        wrapper = replace(wrapper, blocks_to_sign=wrapper.blocks_to_sign + to_sign[address],
                          blocks_signed=wrapper.blocks_signed + signed[address])
        due = allowance * power[address] // total_power if total_power else 0
        if due > 0 and wrapper.status != EPoSStatus.BANNED:  # a banned validator's share is not minted
            shares = compute_reward_split(wrapper, ledger.get_snapshot(address) or wrapper, due)
            wrapper = wrapper.with_delegations(
                [replace(d, reward=d.reward + share) if share else d for d, share in zip(wrapper.delegations, shares)]
            )
            wrapper = replace(wrapper, lifetime_reward=wrapper.lifetime_reward + due)
            minted += due
        ledger.set_validator(wrapper)
    ledger.set_supply(replace(supply, minted=supply.minted + minted, minted_in_year=supply.minted_in_year + minted))
    return minted
