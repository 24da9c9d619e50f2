"""The numbers EPoS runs on: limits, rates, lock period, rewards and the issuance cap.

Values follow Harmony (reference §6) unless noted. ``MAINNET_LIKE`` is the preset the issuance cap
is defined on; ``LOCALNET`` keeps every rule but uses smaller amounts and faster epochs so a test
network shows a whole validator life (election, rewards, undelegation after 7 epochs) in minutes.
Rates are ``numeric.Dec`` fixed point: integers scaled by ``DEC_PRECISION`` (10**18 == 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony_node.exceptions import ValidationError
from harmony_node.types.staking_transaction import DEC_PRECISION

ONE = 10**18
"""1 ONE in atto."""
SECONDS_PER_YEAR = 31_557_600
"""Julian year, as Harmony's issuance arithmetic uses (365.25 days)."""

MAX_NAME_LENGTH = 140
MAX_IDENTITY_LENGTH = 140
MAX_WEBSITE_LENGTH = 140
MAX_SECURITY_CONTACT_LENGTH = 140
MAX_DETAILS_LENGTH = 280


@dataclass(frozen=True, slots=True)
class StakingConfig:
    """EPoS parameters of one network (part of its genesis, so every node applies the same rules)."""

    min_self_delegation: int = 10_000 * ONE
    """Floor of a validator's declared MinSelfDelegation (Harmony: 10,000 ONE)."""
    min_delegation: int = 100 * ONE
    """Smallest Delegate amount, and smallest non-zero stake a delegator may leave behind."""
    min_commission_rate: int = 5 * DEC_PRECISION // 100
    """Harmony's 5% floor (7% after HIP-30); a validator below it is raised to it at election."""
    lock_period_epochs: int = 7
    """Undelegated stake is paid out once ``current epoch - undelegation epoch >= lock_period_epochs``."""
    external_slots: int = 396
    """Key slots elected each epoch (HIP-32 mainnet: 2 shards x (200 - 2) Harmony-operated)."""
    slots_limit_per_validator: int = 22
    """Most key slots one validator may win in an epoch (HIP-16 limit, all shards together)."""
    effective_stake_bound: int = 35 * DEC_PRECISION // 100
    """Effective stake is clamped to (1 - c) .. (1 + c) times the median of the elected slots."""
    availability_threshold: tuple[int, int] = (2, 3)
    """A validator that signed <= 2/3 of the blocks it should have signed in an epoch turns inactive."""
    block_reward: int = 7 * ONE
    """Minted for each beacon block and each crosslinked shard block, shared by its signers."""
    annual_issuance_cap: int = 441_000_000 * ONE
    """Most ONE minted by rewards in one year of beacon blocks (the 441M ONE/year of Harmony's docs)."""
    blocks_per_year: int = SECONDS_PER_YEAR // 2
    """Beacon blocks in an issuance year (2 s blocks on the mainnet-like preset)."""
    slash_rate: int = DEC_PRECISION // 2
    """Share of the offender's self-stake (at the evidence epoch) a double sign costs: 50%."""
    delegator_slash_rate: int = 8 * DEC_PRECISION // 10
    """Delegators together lose this share of what the validator actually lost: 80%."""
    reporter_share: int = DEC_PRECISION // 2
    """Share of everything slashed paid to the evidence's reporter; the rest is burned."""

    def __post_init__(self) -> None:
        if self.min_self_delegation <= 0 or self.min_delegation <= 0:
            raise ValidationError("minimum stakes must be positive")
        for name in ("min_commission_rate", "effective_stake_bound", "slash_rate", "delegator_slash_rate",
                     "reporter_share"):
            if not 0 <= getattr(self, name) <= DEC_PRECISION:
                raise ValidationError(f"{name} must be between 0 and 1")
        if self.lock_period_epochs < 0:
            raise ValidationError("lock_period_epochs must not be negative")
        if self.external_slots < 1 or self.slots_limit_per_validator < 1:
            raise ValidationError("there must be at least one slot, and a validator must be able to win one")
        numerator, denominator = self.availability_threshold
        if not 0 <= numerator <= denominator or denominator <= 0:
            raise ValidationError("availability_threshold must be a fraction between 0 and 1")
        if self.block_reward < 0 or self.annual_issuance_cap < 0 or self.blocks_per_year < 1:
            raise ValidationError("rewards and the issuance cap must not be negative; a year has blocks")

    @property
    def max_keys_per_validator(self) -> int:
        """Slot keys one validator may register: a third of the external slots (Harmony's rule)."""
        return max(1, self.external_slots // 3)


MAINNET_LIKE = StakingConfig()
"""Harmony mainnet's numbers after HIP-32: 7 ONE a block on 2 s blocks, 441M ONE a year at most."""

LOCALNET = StakingConfig(
    min_self_delegation=10_000 * ONE,
    min_delegation=100 * ONE,
    external_slots=24,
    slots_limit_per_validator=6,
    blocks_per_year=SECONDS_PER_YEAR,  # 1 s blocks
)
"""Harmony's localnet amounts with 1 s blocks and room for a few dozen elected keys."""
