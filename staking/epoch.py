"""What the beacon does at the last block of an epoch, in Harmony's order (reference §6.9).

1. Pay out undelegations whose lock period has passed (exactly once: the entry is removed).
2. Availability: a validator of this epoch's committee that signed <= 2/3 of the blocks it should
   have signed becomes inactive (it may make itself active again with EditValidator).
3. Election of the next epoch's key slots; winners raise a commission below the network minimum.

The chain then snapshots every validator record for the new epoch (reward shares, the commission
change limit and availability are measured against it).
"""

from __future__ import annotations

from dataclasses import replace

from harmony_node.types.staking_transaction import EPoSStatus
from staking.config import StakingConfig
from staking.election import ElectedSlot, compute_election
from staking.ledger import StakingLedger
from staking.records import ValidatorWrapper


def process_undelegation_payouts(ledger: StakingLedger, epoch: int, config: StakingConfig) -> int:
    """Pay every undelegation locked for ``lock_period_epochs`` to its delegator; returns the total."""
    total = 0
    for address in ledger.get_validator_addresses():
        wrapper = ledger.get_validator(address)
        if wrapper is None:
            continue
        delegations = list(wrapper.delegations)
        for index, delegation in enumerate(delegations):
            due = [u for u in delegation.undelegations if epoch - u.epoch >= config.lock_period_epochs]
            if not due:
                continue
            amount = sum(u.amount for u in due)
            kept = tuple(u for u in delegation.undelegations if epoch - u.epoch < config.lock_period_epochs)
            delegations[index] = replace(delegation, undelegations=kept)
            ledger.set_balance(delegation.delegator, ledger.get_balance(delegation.delegator) + amount)
            total += amount
        if delegations != list(wrapper.delegations):
            ledger.set_validator(wrapper.with_delegations(delegations))
    return total


def compute_signing_counts(wrapper: ValidatorWrapper, snapshot: ValidatorWrapper | None) -> tuple[int, int]:
    """(signed, to sign) during the current epoch: lifetime counters minus those at its start."""
    if snapshot is None:
        return wrapper.blocks_signed, wrapper.blocks_to_sign
    return wrapper.blocks_signed - snapshot.blocks_signed, wrapper.blocks_to_sign - snapshot.blocks_to_sign


def is_below_availability(signed: int, to_sign: int, config: StakingConfig) -> bool:
    """Signed at most the threshold (2/3) of its blocks; a validator with nothing to sign is not below."""
    numerator, denominator = config.availability_threshold
    return to_sign > 0 and signed * denominator <= numerator * to_sign


def process_availability(ledger: StakingLedger, epoch: int, config: StakingConfig) -> tuple[bytes, ...]:
    """Turn this epoch's under-signing committee members inactive; returns their addresses."""
    turned = []
    for address in ledger.get_validator_addresses():
        wrapper = ledger.get_validator(address)
        if wrapper is None or wrapper.last_epoch_in_committee != epoch or wrapper.status != EPoSStatus.ACTIVE:
            continue
        signed, to_sign = compute_signing_counts(wrapper, ledger.get_snapshot(address))
        if is_below_availability(signed, to_sign, config):
            ledger.set_validator(replace(wrapper, status=EPoSStatus.INACTIVE))
            turned.append(address)
    return tuple(turned)


def process_election(
    ledger: StakingLedger, epoch: int, config: StakingConfig, lookahead: int = 1
) -> tuple[ElectedSlot, ...]:
    """Elect the key slots of epoch ``epoch + lookahead`` and mark the winners as its committee members.

    Harmony's committees serve the next epoch; a network that publishes its assignment further ahead
    (for the lookahead sync) passes how far, so availability judges a validator in the epoch it served.
    """
    candidates = [w for w in (ledger.get_validator(a) for a in ledger.get_validator_addresses()) if w is not None]
    slots = compute_election(candidates, config)
    for address in dict.fromkeys(slot.validator for slot in slots):
        wrapper = ledger.get_validator(address)
        assert wrapper is not None  # elected from the ledger a moment ago
        rates = wrapper.rates
        if rates.rate < config.min_commission_rate:
            rates = replace(rates, rate=config.min_commission_rate, max_rate=max(rates.max_rate,
                                                                                config.min_commission_rate))
        ledger.set_validator(replace(wrapper, last_epoch_in_committee=epoch + lookahead, rates=rates))
    return slots


def process_epoch_end(
    ledger: StakingLedger, epoch: int, config: StakingConfig, lookahead: int = 1
) -> tuple[ElectedSlot, ...]:
    """Steps 1-3 above for the last beacon block of ``epoch``; returns the slots of ``epoch + lookahead``."""
    process_undelegation_payouts(ledger, epoch, config)
    process_availability(ledger, epoch, config)
    return process_election(ledger, epoch, config, lookahead)
