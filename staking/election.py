"""EPoS election: who holds the key slots of the next epoch, and with how much effective stake.

Reference §6.2 (Harmony's ``shard/committee/assignment.go`` and ``staking/effective/calculate.go``).
Run on the beacon's last block of an epoch. Each eligible validator's total delegation is spread
evenly over its slot keys (at most ``slots_limit_per_validator`` of them); the key slots with the
most stake per key win, up to ``external_slots``; each winner's effective stake is its raw stake
clamped to within ``effective_stake_bound`` of the winners' median, so a whale cannot buy
unbounded voting power. Which shard a slot serves is decided elsewhere (sharding).

Amounts are integers in atto. Harmony computes with 18-decimal fixed point; here the median of an
even count is the floored mean of the middle two, at most half an atto away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harmony_node.types.staking_transaction import DEC_PRECISION, EPoSStatus
from staking.config import StakingConfig
from staking.records import ValidatorWrapper


@dataclass(frozen=True, slots=True)
class ElectedSlot:
    """One won key slot."""

    validator: bytes
    public_key: bytes
    raw_stake: int
    """The validator's total delegation divided evenly over its counted keys."""
    effective_stake: int
    """``raw_stake`` clamped to the median band; this is the slot's voting power."""


def is_eligible(wrapper: ValidatorWrapper) -> bool:
    """Active validators with stake stand; inactive (unavailable, under-staked) and banned ones do not."""
    return wrapper.status == EPoSStatus.ACTIVE and wrapper.total_delegation > 0


def compute_median(values: Sequence[int]) -> int:
    """Median of ``values`` (not empty); of an even count, the floored mean of the middle two."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


def compute_effective_stake(raw_stake: int, median: int, bound: int) -> int:
    """``raw_stake`` clamped to ``[(1 - bound) · median, (1 + bound) · median]``."""
    low = median * (DEC_PRECISION - bound) // DEC_PRECISION
    high = median * (DEC_PRECISION + bound) // DEC_PRECISION
    return min(max(raw_stake, low), high)


def compute_election(candidates: Sequence[ValidatorWrapper], config: StakingConfig) -> tuple[ElectedSlot, ...]:
    """The winning key slots, best stake first (ties: validator address, then key order)."""
    slots: list[tuple[bytes, bytes, int]] = []
    # Address order first, then a stable sort by stake: equal stakes are ranked by address, so
    # the result does not depend on the order validators were created in.
    for wrapper in sorted((w for w in candidates if is_eligible(w)), key=lambda w: w.address):
        keys = wrapper.slot_pub_keys[: config.slots_limit_per_validator]
        per_key = wrapper.total_delegation // len(keys)
        if per_key > 0:
            slots.extend((wrapper.address, key, per_key) for key in keys)
    slots.sort(key=lambda slot: slot[2], reverse=True)
    winners = slots[: config.external_slots]
    if not winners:
        return ()
    median = compute_median([stake for _, _, stake in winners])
    return tuple(
        ElectedSlot(validator, key, stake, compute_effective_stake(stake, median, config.effective_stake_bound))
        for validator, key, stake in winners
    )
