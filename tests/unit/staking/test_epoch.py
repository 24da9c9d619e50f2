"""End of epoch: undelegation payout after the lock, availability, election."""

from __future__ import annotations

from dataclasses import replace

from harmony_node.types.staking_transaction import DEC_PRECISION, CommissionRates, Description, EPoSStatus
from memory_ledger import MemoryLedger
from staking.config import LOCALNET, ONE
from staking.epoch import is_below_availability, process_epoch_end, process_undelegation_payouts
from staking.ledger import Supply
from staking.records import Delegation, Undelegation, ValidatorWrapper

V1, V2, ALICE = b"\x01" * 20, b"\x02" * 20, b"\xaa" * 20


def _validator(address: bytes, stake: int, **changes: object) -> ValidatorWrapper:
    wrapper = ValidatorWrapper(
        address=address, slot_pub_keys=(address * 2 + address[:8],), min_self_delegation=10_000 * ONE,
        max_total_delegation=10**9 * ONE, status=EPoSStatus.ACTIVE,
        rates=CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 10), rate_update_height=0,
        description=Description("", "", "", "", ""), creation_height=0, delegations=(Delegation(address, stake),))
    return replace(wrapper, **changes)  # type: ignore[arg-type]


def test_undelegation_is_paid_after_seven_epochs_exactly_once() -> None:
    ledger = MemoryLedger(Supply(genesis=0))
    pending = Delegation(ALICE, 0, 0, (Undelegation(100 * ONE, 3), Undelegation(50 * ONE, 4)))
    ledger.set_validator(replace(_validator(V1, 20_000 * ONE), delegations=(Delegation(V1, 20_000 * ONE), pending)))
    ledger.supply = Supply(genesis=ledger.compute_holdings())
    assert process_undelegation_payouts(ledger, 9, LOCALNET) == 0  # 9 - 3 = 6 epochs: still locked
    assert process_undelegation_payouts(ledger, 10, LOCALNET) == 100 * ONE
    assert ledger.balances[ALICE] == 100 * ONE
    assert ledger.validators[V1].delegations[1].undelegations == (Undelegation(50 * ONE, 4),)
    assert process_undelegation_payouts(ledger, 10, LOCALNET) == 0  # never twice
    assert process_undelegation_payouts(ledger, 11, LOCALNET) == 50 * ONE
    assert ledger.balances[ALICE] == 150 * ONE and ledger.compute_holdings() == ledger.supply.total


def test_availability_threshold_is_two_thirds_inclusive() -> None:
    assert is_below_availability(2, 3, LOCALNET)  # exactly 2/3 is below
    assert not is_below_availability(3, 4, LOCALNET)
    assert not is_below_availability(0, 0, LOCALNET)  # nothing to sign: not below
    assert is_below_availability(0, 1, LOCALNET)


def test_epoch_end_turns_unavailable_members_inactive_and_elects_the_rest() -> None:
    ledger = MemoryLedger(Supply(genesis=0))
    ledger.set_validator(_validator(V1, 20_000 * ONE, last_epoch_in_committee=5))
    ledger.set_validator(_validator(V2, 30_000 * ONE, last_epoch_in_committee=5,
                                    rates=CommissionRates(DEC_PRECISION // 100, DEC_PRECISION // 50, 0)))
    ledger.take_snapshots()
    # During epoch 5, V1 signed 2 of 3 blocks (not more than 2/3) and V2 all 3.
    ledger.set_validator(replace(ledger.validators[V1], blocks_to_sign=3, blocks_signed=2))
    ledger.set_validator(replace(ledger.validators[V2], blocks_to_sign=3, blocks_signed=3))
    slots = process_epoch_end(ledger, 5, LOCALNET)
    assert ledger.validators[V1].status == EPoSStatus.INACTIVE
    assert [s.validator for s in slots] == [V2]
    v2 = ledger.validators[V2]
    assert v2.last_epoch_in_committee == 6
    assert v2.rates.rate == LOCALNET.min_commission_rate  # raised to the network minimum when elected
    assert v2.rates.max_rate == LOCALNET.min_commission_rate


def test_validator_not_in_the_committee_is_not_judged() -> None:
    ledger = MemoryLedger(Supply(genesis=0))
    ledger.set_validator(_validator(V1, 20_000 * ONE, last_epoch_in_committee=2, blocks_to_sign=9))
    ledger.take_snapshots()
    process_epoch_end(ledger, 5, LOCALNET)
    assert ledger.validators[V1].status == EPoSStatus.ACTIVE
    assert ledger.validators[V1].last_epoch_in_committee == 6
