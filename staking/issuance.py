"""Supply accounting: block rewards minted under an annual cap, fees burned.

A year is ``blocks_per_year`` beacon blocks. Each reward event (a beacon block, or a shard block
crosslinked into one) mints at most ``block_reward``, and never past ``annual_issuance_cap`` within
the year, so the cap holds however many shards crosslink. Every transaction fee is burned: it
leaves the payer's balance and is added to ``Supply.burned``, so the total supply only grows by
what rewards mint and shrinks by what fees and slashes burn.
"""

from __future__ import annotations

from dataclasses import replace

from staking.config import StakingConfig
from staking.ledger import StakingLedger, Supply


def compute_issuance_allowance(supply: Supply, beacon_block_number: int, config: StakingConfig) -> tuple[int, Supply]:
    """The most one reward event may mint now, and the supply with the issuance year rolled over."""
    year = beacon_block_number // config.blocks_per_year
    if year != supply.issuance_year:
        supply = replace(supply, issuance_year=year, minted_in_year=0)
    return min(config.block_reward, max(0, config.annual_issuance_cap - supply.minted_in_year)), supply


def process_fee_burn(ledger: StakingLedger, amount: int) -> None:
    """Count ``amount`` of fees, already taken from the payer, as burned."""
    if amount < 0:
        raise ValueError("a burned amount cannot be negative")
    supply = ledger.get_supply()
    ledger.set_supply(replace(supply, burned=supply.burned + amount))
