"""Double-sign slashing: closed-form amounts, where the debt is taken from, rejections, conservation."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from memory_ledger import MemoryLedger

from harmony_node.exceptions import ValidationError
from harmony_node.types.staking_transaction import DEC_PRECISION, CommissionRates, Description, EPoSStatus
from staking.config import MAINNET_LIKE, ONE, StakingConfig
from staking.ledger import Supply
from staking.records import Delegation, Undelegation, ValidatorWrapper
from staking.slashing import SlashOutcome, SlashRecord, compute_slash, process_slash, validate_slash

OFFENDER = b"\x0a" * 20
REPORTER = b"\x0b" * 20
ALICE = b"\x0c" * 20
BOB = b"\x0d" * 20
CAROL = b"\x0e" * 20
EVIDENCE_ID = b"\xee" * 32
EVIDENCE_EPOCH = 5
CURRENT_EPOCH = 6


def make_validator(
    self_delegation: Delegation, delegations: Sequence[Delegation] = (), status: EPoSStatus = EPoSStatus.ACTIVE
) -> ValidatorWrapper:
    return ValidatorWrapper(
        address=OFFENDER,
        slot_pub_keys=(b"\x01" * 48,),
        min_self_delegation=10_000 * ONE,
        max_total_delegation=10**9 * ONE,
        status=status,
        rates=CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 20),
        rate_update_height=0,
        description=Description("offender", "", "", "", ""),
        creation_height=1,
        delegations=(self_delegation, *delegations),
    )


def make_record(**changes: object) -> SlashRecord:
    fields: dict[str, object] = dict(
        offender=OFFENDER, reporter=REPORTER, epoch=EVIDENCE_EPOCH, shard_id=0, block_number=100, view_id=3,
        evidence_id=EVIDENCE_ID,
    )
    fields.update(changes)
    return SlashRecord(**fields)  # type: ignore[arg-type]


def make_ledger(current: ValidatorWrapper, snapshot: ValidatorWrapper | None) -> MemoryLedger:
    """A ledger holding ``current`` (and ``snapshot`` as its epoch-start record) whose supply adds up."""
    ledger = MemoryLedger(Supply(genesis=0), balances={REPORTER: 7 * ONE, ALICE: 3 * ONE})
    ledger.set_validator(current)
    if snapshot is not None:
        ledger.snapshots[OFFENDER] = snapshot
    ledger.set_supply(Supply(genesis=ledger.compute_holdings()))
    return ledger


def holdings_of(delegation: Delegation) -> int:
    return delegation.amount + delegation.reward + delegation.pending_undelegation


def standard_validator() -> ValidatorWrapper:
    """Self-stake 20,000 ONE, Alice 10,000 ONE, Bob 30,000 ONE."""
    return make_validator(
        Delegation(OFFENDER, 20_000 * ONE),
        [Delegation(ALICE, 10_000 * ONE), Delegation(BOB, 30_000 * ONE)],
    )


def test_closed_form_amounts_and_ledger_writes() -> None:
    validator = standard_validator()
    ledger = make_ledger(validator, validator)
    holdings, total = ledger.compute_holdings(), ledger.get_supply().total

    outcome = process_slash(ledger, make_record(), CURRENT_EPOCH, MAINNET_LIKE)

    assert outcome == SlashOutcome(
        offender_loss=10_000 * ONE, delegator_loss=8_000 * ONE, total_slashed=18_000 * ONE,
        reporter_reward=9_000 * ONE, burned=9_000 * ONE,
    )
    slashed = ledger.get_validator(OFFENDER)
    assert slashed is not None
    assert slashed.status == EPoSStatus.BANNED
    assert [d.amount for d in slashed.delegations] == [10_000 * ONE, 8_000 * ONE, 24_000 * ONE]
    assert ledger.get_balance(REPORTER) == 7 * ONE + 9_000 * ONE
    assert ledger.get_supply().burned == 9_000 * ONE
    assert ledger.is_slash_applied(EVIDENCE_ID)
    assert ledger.compute_holdings() == holdings - 9_000 * ONE
    assert ledger.get_supply().total == total - 9_000 * ONE


def test_stake_undelegated_in_the_evidence_epoch_is_still_slashed() -> None:
    snapshot = make_validator(Delegation(OFFENDER, 20_000 * ONE))
    current = make_validator(
        Delegation(OFFENDER, 5_000 * ONE, undelegations=(Undelegation(15_000 * ONE, EVIDENCE_EPOCH),))
    )

    slashed, outcome = compute_slash(current, snapshot, EVIDENCE_EPOCH, MAINNET_LIKE)

    assert outcome.offender_loss == 10_000 * ONE
    assert slashed.delegations[0] == Delegation(
        OFFENDER, 0, undelegations=(Undelegation(10_000 * ONE, EVIDENCE_EPOCH),)
    )


def test_undelegation_older_than_the_evidence_is_untouched() -> None:
    old = Undelegation(6_000 * ONE, EVIDENCE_EPOCH - 3)
    snapshot = make_validator(Delegation(OFFENDER, 20_000 * ONE, undelegations=(old,)))
    current = make_validator(Delegation(
        OFFENDER, 2_000 * ONE, reward=4_000 * ONE,
        undelegations=(old, Undelegation(5_000 * ONE, EVIDENCE_EPOCH), Undelegation(4_000 * ONE, EVIDENCE_EPOCH + 1)),
    ))

    slashed, outcome = compute_slash(current, snapshot, EVIDENCE_EPOCH, MAINNET_LIKE)

    # 10,000 ONE owed: 2,000 from the stake, 5,000 + 3,000 from the two later undelegations (the one
    # emptied is dropped), none from the reward because the undelegations covered the rest.
    assert outcome.offender_loss == 10_000 * ONE
    assert slashed.delegations[0] == Delegation(
        OFFENDER, 0, reward=4_000 * ONE, undelegations=(old, Undelegation(1_000 * ONE, EVIDENCE_EPOCH + 1)),
    )


def test_offender_that_cannot_cover_its_debt_loses_what_it_has() -> None:
    old = Undelegation(15_000 * ONE, EVIDENCE_EPOCH - 1)
    snapshot = make_validator(Delegation(OFFENDER, 20_000 * ONE), [Delegation(ALICE, 10_000 * ONE)])
    current = make_validator(
        Delegation(OFFENDER, 1_000 * ONE, reward=500 * ONE, undelegations=(old,)),
        [Delegation(ALICE, 10_000 * ONE)],
    )

    slashed, outcome = compute_slash(current, snapshot, EVIDENCE_EPOCH, MAINNET_LIKE)

    # The delegators' debt follows what the offender actually lost, not what it owed.
    assert outcome.offender_loss == 1_500 * ONE
    assert outcome.delegator_loss == 1_200 * ONE
    assert slashed.delegations[0] == Delegation(OFFENDER, 0, undelegations=(old,))
    assert slashed.delegations[1] == Delegation(ALICE, 8_800 * ONE)


def test_delegators_who_left_pay_what_they_still_hold() -> None:
    snapshot = make_validator(
        Delegation(OFFENDER, 20_000 * ONE),
        [Delegation(ALICE, 10_000 * ONE), Delegation(BOB, 30_000 * ONE)],
    )
    current = make_validator(
        Delegation(OFFENDER, 20_000 * ONE),
        [
            # Alice left in the evidence epoch: her stake is still locked, so her 2,000 ONE come from it.
            Delegation(ALICE, 0, undelegations=(Undelegation(10_000 * ONE, EVIDENCE_EPOCH),)),
            # Bob had started leaving before the offence: only his reward is reachable.
            Delegation(BOB, 0, reward=1_000 * ONE, undelegations=(Undelegation(30_000 * ONE, EVIDENCE_EPOCH - 1),)),
            # Carol joined after the snapshot and backed no offence.
            Delegation(CAROL, 50_000 * ONE),
        ],
    )
    ledger = make_ledger(current, snapshot)
    holdings = ledger.compute_holdings()

    outcome = process_slash(ledger, make_record(), CURRENT_EPOCH, MAINNET_LIKE)

    slashed = ledger.get_validator(OFFENDER)
    assert slashed is not None
    assert slashed.delegations[1] == Delegation(ALICE, 0, undelegations=(Undelegation(8_000 * ONE, EVIDENCE_EPOCH),))
    assert slashed.delegations[2] == Delegation(BOB, 0, undelegations=(Undelegation(30_000 * ONE, EVIDENCE_EPOCH - 1),))
    assert slashed.delegations[3] == Delegation(CAROL, 50_000 * ONE)
    assert outcome.delegator_loss == 2_000 * ONE + 1_000 * ONE
    assert ledger.compute_holdings() == holdings - outcome.burned


def test_delegator_gone_from_the_record_owes_nothing() -> None:
    snapshot = standard_validator()
    current = make_validator(Delegation(OFFENDER, 20_000 * ONE), [Delegation(BOB, 30_000 * ONE)])

    slashed, outcome = compute_slash(current, snapshot, EVIDENCE_EPOCH, MAINNET_LIKE)

    assert outcome.delegator_loss == 6_000 * ONE
    assert [d.delegator for d in slashed.delegations] == [OFFENDER, BOB]


def test_duplicate_evidence_is_rejected_and_changes_nothing() -> None:
    validator = standard_validator()
    ledger = make_ledger(validator, validator)
    process_slash(ledger, make_record(), CURRENT_EPOCH, MAINNET_LIKE)
    before = copy.deepcopy(ledger)

    with pytest.raises(ValidationError, match="already applied"):
        process_slash(ledger, make_record(reporter=ALICE), CURRENT_EPOCH, MAINNET_LIKE)

    assert ledger == before


def test_unknown_offender_is_rejected() -> None:
    ledger = make_ledger(standard_validator(), standard_validator())
    before = copy.deepcopy(ledger)

    with pytest.raises(ValidationError, match="not a validator"):
        process_slash(ledger, make_record(offender=CAROL), CURRENT_EPOCH, MAINNET_LIKE)

    assert ledger == before


@pytest.mark.parametrize(
    ("status", "has_snapshot", "record", "reason"),
    [
        (EPoSStatus.BANNED, True, make_record(), "already banned"),
        (EPoSStatus.ACTIVE, True, make_record(reporter=OFFENDER), "own double sign"),
        (EPoSStatus.ACTIVE, True, make_record(epoch=CURRENT_EPOCH + 1), "after the current epoch"),
        (EPoSStatus.ACTIVE, False, make_record(), "no snapshot"),
    ],
    ids=["banned", "self-report", "future-epoch", "no-snapshot"],
)
def test_invalid_slash_is_rejected_and_changes_nothing(
    status: EPoSStatus, has_snapshot: bool, record: SlashRecord, reason: str
) -> None:
    validator = replace(standard_validator(), status=status)
    ledger = make_ledger(validator, validator if has_snapshot else None)
    before = copy.deepcopy(ledger)

    with pytest.raises(ValidationError, match=reason):
        validate_slash(ledger, record, CURRENT_EPOCH)
    with pytest.raises(ValidationError, match=reason):
        process_slash(ledger, record, CURRENT_EPOCH, MAINNET_LIKE)

    assert ledger == before


def test_evidence_from_the_current_epoch_is_accepted() -> None:
    validator = standard_validator()
    validate_slash(make_ledger(validator, validator), make_record(epoch=CURRENT_EPOCH), CURRENT_EPOCH)


@pytest.mark.parametrize(
    "changes",
    [{"offender": b"\x0a" * 19}, {"reporter": b"\x0b" * 21}, {"evidence_id": b"\xee" * 31}, {"epoch": -1}],
    ids=["short-offender", "long-reporter", "short-evidence-id", "negative-epoch"],
)
def test_malformed_record_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_record(**changes)


# --- properties -------------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**6 * ONE)
rates = st.integers(min_value=0, max_value=DEC_PRECISION)
undelegation_lists = st.lists(
    st.builds(Undelegation, amount=amounts, epoch=st.integers(min_value=0, max_value=2 * EVIDENCE_EPOCH)),
    max_size=3,
)
delegation_states = st.builds(
    lambda snap, amount, reward, undelegations, present: (snap, amount, reward, tuple(undelegations), present),
    amounts, amounts, amounts, undelegation_lists, st.booleans(),
)


def available_for_slash(delegation: Delegation) -> int:
    return delegation.amount + delegation.reward + sum(
        u.amount for u in delegation.undelegations if u.epoch >= EVIDENCE_EPOCH
    )


@given(
    snapshot_self=amounts,
    self_state=st.tuples(amounts, amounts, undelegation_lists),
    delegators=st.lists(delegation_states, max_size=5),
    slash_rate=rates,
    delegator_slash_rate=rates,
    reporter_share=rates,
)
def test_slash_conserves_coins_and_never_overcharges(
    snapshot_self: int,
    self_state: tuple[int, int, list[Undelegation]],
    delegators: list[tuple[int, int, int, tuple[Undelegation, ...], bool]],
    slash_rate: int,
    delegator_slash_rate: int,
    reporter_share: int,
) -> None:
    config = StakingConfig(
        slash_rate=slash_rate, delegator_slash_rate=delegator_slash_rate, reporter_share=reporter_share
    )
    addresses = [bytes([0x20 + i]) * 20 for i in range(len(delegators))]
    self_amount, self_reward, self_undelegations = self_state
    snapshot = make_validator(
        Delegation(OFFENDER, snapshot_self), [Delegation(a, d[0]) for a, d in zip(addresses, delegators)]
    )
    current = make_validator(
        Delegation(OFFENDER, self_amount, self_reward, tuple(self_undelegations)),
        [Delegation(a, amount, reward, undelegations)
         for a, (_, amount, reward, undelegations, present) in zip(addresses, delegators) if present],
    )
    ledger = make_ledger(current, snapshot)
    holdings, total = ledger.compute_holdings(), ledger.get_supply().total

    outcome = process_slash(ledger, make_record(), CURRENT_EPOCH, config)

    slashed = ledger.get_validator(OFFENDER)
    assert slashed is not None and slashed.status == EPoSStatus.BANNED
    assert ledger.compute_holdings() == holdings - outcome.burned
    assert ledger.get_supply().total == total - outcome.burned
    assert outcome.total_slashed == outcome.offender_loss + outcome.delegator_loss
    assert outcome.total_slashed == outcome.reporter_reward + outcome.burned
    assert min(outcome.reporter_reward, outcome.burned) >= 0
    for delegation in slashed.delegations:
        parts = (delegation.amount, delegation.reward, *(u.amount for u in delegation.undelegations))
        assert all(part >= 0 for part in parts)

    # Each party loses its debt, or everything it can reach if that is less, and nothing else.
    debt = snapshot_self * slash_rate // DEC_PRECISION
    assert outcome.offender_loss == min(debt, available_for_slash(current.delegations[0]))
    assert holdings_of(current.delegations[0]) - holdings_of(slashed.delegations[0]) == outcome.offender_loss
    delegator_debt = outcome.offender_loss * delegator_slash_rate // DEC_PRECISION
    backed = sum(d.amount for d in snapshot.delegations[1:])
    assert outcome.delegator_loss <= delegator_debt
    for before, after in zip(current.delegations[1:], slashed.delegations[1:], strict=True):
        index = snapshot.find_delegation(before.delegator)
        assert index is not None
        share = delegator_debt * snapshot.delegations[index].amount // backed if backed else 0
        assert holdings_of(before) - holdings_of(after) == min(share, available_for_slash(before))
        assert [u for u in before.undelegations if u.epoch < EVIDENCE_EPOCH] == [
            u for u in after.undelegations if u.epoch < EVIDENCE_EPOCH
        ]
