"""Double-sign slashing: what a validator caught signing two blocks at one moment loses, and who pays.

Adapted from Harmony's ``staking/slash/double-sign.go`` (reference §6.7). A double sign is the one
fault that can break safety, so it costs the offender half its self-stake, bans it for good, and
also costs its delegators: they chose to back it, and without a cost to them a validator could
hide its stake behind theirs. The debt is measured on the record as it was at the evidence epoch
(the snapshot), so stake withdrawn after the offence cannot escape it: debts are paid from the
current stake first, then from undelegations made since the evidence epoch (still locked, so still
reachable), then from unclaimed rewards. Undelegations from before the offence are not touched:
that stake was already leaving when the validator misbehaved.

Half of everything slashed pays whoever reported the evidence (so watching for it is worth
someone's while); the rest is burned, and the supply counters record it, so total holdings and the
supply fall by exactly the burned amount.

The chain core has already verified the evidence's BLS signatures and derived ``evidence_id`` from
it; these rules only decide the money, and each evidence is applied at most once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harmony_node.exceptions import ValidationError
from harmony_node.types.staking_transaction import DEC_PRECISION, EPoSStatus
from staking.config import StakingConfig
from staking.ledger import StakingLedger
from staking.records import Delegation, Undelegation, ValidatorWrapper

ADDRESS_SIZE = 20
EVIDENCE_ID_SIZE = 32


@dataclass(frozen=True, slots=True)
class SlashRecord:
    """One verified double sign: who did it, who reported it, when, and the evidence's identity."""

    offender: bytes
    reporter: bytes
    epoch: int
    shard_id: int
    block_number: int
    view_id: int
    evidence_id: bytes
    """Hash identifying the evidence; the same evidence always yields the same id."""

    def __post_init__(self) -> None:
        if len(self.offender) != ADDRESS_SIZE or len(self.reporter) != ADDRESS_SIZE:
            raise ValidationError(f"offender and reporter must be {ADDRESS_SIZE}-byte addresses")
        if len(self.evidence_id) != EVIDENCE_ID_SIZE:
            raise ValidationError(f"evidence_id must be {EVIDENCE_ID_SIZE} bytes")
        if min(self.epoch, self.shard_id, self.block_number, self.view_id) < 0:
            raise ValidationError("epoch, shard, block number and view must not be negative")


@dataclass(frozen=True, slots=True)
class SlashOutcome:
    """Where the slashed stake went (all in atto)."""

    offender_loss: int
    """What the validator's own stake, undelegations and reward lost."""
    delegator_loss: int
    """What its delegators lost, all together."""
    total_slashed: int
    """``offender_loss + delegator_loss``, which is also ``reporter_reward + burned``."""
    reporter_reward: int
    burned: int


def _validated_records(
    ledger: StakingLedger, record: SlashRecord, current_epoch: int
) -> tuple[ValidatorWrapper, ValidatorWrapper]:
    """The offender's current record and its snapshot, once every rule allows the slash."""
    if ledger.is_slash_applied(record.evidence_id):
        raise ValidationError("slash evidence already applied")
    if record.reporter == record.offender:
        raise ValidationError("a validator cannot report its own double sign")
    if record.epoch > current_epoch:
        raise ValidationError(f"evidence epoch {record.epoch} is after the current epoch {current_epoch}")
    current = ledger.get_validator(record.offender)
    if current is None:
        raise ValidationError("offender is not a validator")
    if current.status == EPoSStatus.BANNED:
        raise ValidationError("offender is already banned")
    snapshot = ledger.get_snapshot(record.offender)
    if snapshot is None:
        raise ValidationError("no snapshot of the offender to measure the slash on")
    return current, snapshot


def validate_slash(ledger: StakingLedger, record: SlashRecord, current_epoch: int) -> None:
    """Raise ``ValidationError`` unless ``record`` may be applied to ``ledger`` now."""
    _validated_records(ledger, record, current_epoch)


def _compute_payment(delegation: Delegation, debt: int, evidence_epoch: int) -> tuple[Delegation, int]:
    """``delegation`` after paying as much of ``debt`` as it can, and how much that was.

    Sources in order: the stake, then undelegations made at or after ``evidence_epoch`` (in stored
    order, oldest first, as Harmony does), then the unclaimed reward. An undelegation paid down to
    zero is dropped, so no empty entry waits out the lock period.
    """
    from_stake = min(debt, delegation.amount)
    remaining = debt - from_stake
    undelegations: list[Undelegation] = []
    for undelegation in delegation.undelegations:
        taken = min(remaining, undelegation.amount) if undelegation.epoch >= evidence_epoch else 0
        remaining -= taken
        if taken == 0:
            undelegations.append(undelegation)
        elif taken < undelegation.amount:
            undelegations.append(replace(undelegation, amount=undelegation.amount - taken))
    from_reward = min(remaining, delegation.reward)
    remaining -= from_reward
    paid = replace(
        delegation,
        amount=delegation.amount - from_stake,
        reward=delegation.reward - from_reward,
        undelegations=tuple(undelegations),
    )
    return paid, debt - remaining


def compute_slash(
    current: ValidatorWrapper, snapshot: ValidatorWrapper, evidence_epoch: int, config: StakingConfig
) -> tuple[ValidatorWrapper, SlashOutcome]:
    """The offender's record after the slash (banned, stakes paid down) and where the stake went.

    ``snapshot`` is the offender's record at the evidence epoch: the debts are measured on it,
    and paid from ``current``.
    """
    debt = snapshot.self_delegation * config.slash_rate // DEC_PRECISION
    self_delegation, offender_loss = _compute_payment(current.delegations[0], debt, evidence_epoch)
    delegations = [self_delegation, *current.delegations[1:]]

    # Delegators owe in proportion to what they had at stake when the validator misbehaved; whoever
    # joined since backed no offence and owes nothing.
    delegator_debt = offender_loss * config.delegator_slash_rate // DEC_PRECISION
    backers = snapshot.delegations[1:]
    backed = sum(d.amount for d in backers)
    index_of = {d.delegator: i for i, d in enumerate(delegations[1:], start=1)}
    delegator_loss = 0
    for backer in backers:
        index = index_of.get(backer.delegator)
        if index is None or backed == 0:
            continue
        share = delegator_debt * backer.amount // backed
        delegations[index], taken = _compute_payment(delegations[index], share, evidence_epoch)
        delegator_loss += taken

    total_slashed = offender_loss + delegator_loss
    reporter_reward = total_slashed * config.reporter_share // DEC_PRECISION
    outcome = SlashOutcome(
        offender_loss=offender_loss,
        delegator_loss=delegator_loss,
        total_slashed=total_slashed,
        reporter_reward=reporter_reward,
        burned=total_slashed - reporter_reward,
    )
    slashed = replace(current.with_delegations(delegations), status=EPoSStatus.BANNED)
    return slashed, outcome


def process_slash(
    ledger: StakingLedger, record: SlashRecord, current_epoch: int, config: StakingConfig
) -> SlashOutcome:
    """Apply ``record`` to ``ledger``: ban and slash the offender, pay the reporter, burn the rest.

    Every check runs before the first write, so a rejected slash leaves ``ledger`` untouched.
    """
    current, snapshot = _validated_records(ledger, record, current_epoch)
    slashed, outcome = compute_slash(current, snapshot, record.epoch, config)
    ledger.set_validator(slashed)
    ledger.set_balance(record.reporter, ledger.get_balance(record.reporter) + outcome.reporter_reward)
    supply = ledger.get_supply()
    ledger.set_supply(replace(supply, burned=supply.burned + outcome.burned))
    ledger.mark_slash_applied(record.evidence_id)
    return outcome
