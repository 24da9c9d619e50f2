"""Staking directives: each of Harmony's checks rejects with a reason and changes nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

import pytest

from crypto import bls
from harmony_node.exceptions import InvalidTransaction
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CollectRewards,
    CommissionRates,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Description,
    EditValidator,
    EPoSStatus,
    StakeMessage,
    Undelegate,
)
from memory_ledger import MemoryLedger
from staking.config import LOCALNET, ONE
from staking.records import Delegation, Undelegation
from staking.transactions import BlockContext, process_staking_message, sign_proof_of_possession

CONFIG = LOCALNET
VALIDATOR = b"\x01" * 20
OTHER_VALIDATOR = b"\x02" * 20
ALICE = b"\xaa" * 20
BOB = b"\xbb" * 20
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 6)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
RATES = CommissionRates(rate=DEC_PRECISION // 10, max_rate=DEC_PRECISION // 2, max_change_rate=DEC_PRECISION // 20)
CONTEXT = BlockContext(block_number=100, epoch=3)


def _description(name: str = "validator", identity: str = "") -> Description:
    return Description(name, identity, "https://example.org", "ops@example.org", "")


def _create(address: bytes = VALIDATOR, key_indices: tuple[int, ...] = (0,), amount: int = 20_000 * ONE,
            **changes: object) -> CreateValidator:
    message = CreateValidator(
        validator_address=address,
        description=_description(),
        commission_rates=RATES,
        min_self_delegation=10_000 * ONE,
        max_total_delegation=100_000 * ONE,
        slot_pub_keys=tuple(KEYS[i] for i in key_indices),
        slot_key_sigs=tuple(sign_proof_of_possession(SECRETS[i], address) for i in key_indices),
        amount=amount,
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def _edit(**changes: object) -> EditValidator:
    message = EditValidator(VALIDATOR, Description("", "", "", "", ""), None, None, None, None, None, None, None)
    return replace(message, **changes)  # type: ignore[arg-type]


def _ledger() -> MemoryLedger:
    return MemoryLedger.with_balances({VALIDATOR: 50_000 * ONE, OTHER_VALIDATOR: 50_000 * ONE,
                                       ALICE: 100_000 * ONE, BOB: 1_000 * ONE})


def _apply(ledger: MemoryLedger, sender: bytes, message: StakeMessage, context: BlockContext = CONTEXT) -> int:
    return process_staking_message(ledger, sender, message, context, CONFIG)


def _with_validator() -> MemoryLedger:
    ledger = _ledger()
    _apply(ledger, VALIDATOR, _create())
    ledger.take_snapshots()
    return ledger


def _assert_rejected(ledger: MemoryLedger, sender: bytes, message: StakeMessage, reason: str) -> None:
    before = copy.deepcopy(ledger)
    with pytest.raises(InvalidTransaction, match=reason):
        _apply(ledger, sender, message)
    assert ledger == before, "a rejected staking message changed the state"


def test_create_validator_stakes_and_registers_keys() -> None:
    ledger = _ledger()
    assert _apply(ledger, VALIDATOR, _create(key_indices=(0, 1))) == 20_000 * ONE
    wrapper = ledger.validators[VALIDATOR]
    assert wrapper.status == EPoSStatus.ACTIVE
    assert wrapper.delegations == (Delegation(VALIDATOR, 20_000 * ONE),)
    assert wrapper.creation_height == wrapper.rate_update_height == 100
    assert ledger.balances[VALIDATOR] == 30_000 * ONE
    assert ledger.key_owners == {KEYS[0]: VALIDATOR, KEYS[1]: VALIDATOR}
    assert ledger.get_delegated_validators(VALIDATOR) == [VALIDATOR]
    assert ledger.compute_holdings() == ledger.supply.total


CREATE_REJECTIONS: dict[str, tuple[Callable[[], CreateValidator], str]] = {
    "signer": (lambda: _create(address=OTHER_VALIDATOR), "signed by the validator"),
    "name length": (lambda: _create(description=_description(name="n" * 141)), "name is longer than 140"),
    "details length": (lambda: _create(description=replace(_description(), details="é" * 141)),
                       "details is longer than 280"),
    "rate above max": (lambda: _create(commission_rates=replace(RATES, rate=RATES.max_rate + 1)), "larger than the max"),
    "rate above one": (lambda: _create(commission_rates=CommissionRates(2 * DEC_PRECISION, 2 * DEC_PRECISION, 0)),
                       "between 0 and 1"),
    "change above max": (lambda: _create(commission_rates=replace(RATES, max_change_rate=RATES.max_rate + 1)),
                         "max change rate is larger"),
    "rate below minimum": (lambda: _create(commission_rates=replace(RATES, rate=DEC_PRECISION // 100)),
                           "below the network minimum"),
    "min self delegation": (lambda: _create(min_self_delegation=9_999 * ONE), "at least 10000 ONE"),
    "max below min": (lambda: _create(max_total_delegation=9_000 * ONE, min_self_delegation=10_000 * ONE),
                      "below min self delegation"),
    "stake below min self": (lambda: _create(amount=9_000 * ONE), "self delegation is below"),
    "stake above max total": (lambda: _create(amount=200_000 * ONE), "exceed the validator's max total"),
    "balance": (lambda: _create(amount=60_000 * ONE, max_total_delegation=100_000 * ONE), "insufficient balance"),
    "no keys": (lambda: _create(key_indices=()), "at least one slot key"),
    "duplicate keys": (lambda: _create(key_indices=(0, 0)), "must not repeat"),
    "missing proof": (lambda: replace(_create(key_indices=(0, 1)), slot_key_sigs=_create().slot_key_sigs),
                      "exactly one proof"),
    "proof for another address": (lambda: replace(_create(), slot_key_sigs=(sign_proof_of_possession(
        SECRETS[0], OTHER_VALIDATOR),)), "proof of possession does not verify"),
    "proof by another key": (lambda: replace(_create(), slot_key_sigs=(sign_proof_of_possession(
        SECRETS[1], VALIDATOR),)), "proof of possession does not verify"),
}


@pytest.mark.parametrize("case", list(CREATE_REJECTIONS))
def test_create_validator_rejections(case: str) -> None:
    build, reason = CREATE_REJECTIONS[case]
    _assert_rejected(_ledger(), VALIDATOR, build(), reason)


def test_keys_are_limited_to_a_third_of_the_external_slots() -> None:
    config = replace(CONFIG, external_slots=12)
    ledger = _ledger()
    with pytest.raises(InvalidTransaction, match="more than 4 slot keys"):
        process_staking_message(ledger, VALIDATOR, _create(key_indices=(0, 1, 2, 3, 4)), CONTEXT, config)
    assert not ledger.validators
    process_staking_message(ledger, VALIDATOR, _create(key_indices=(0, 1, 2, 3)), CONTEXT, config)


def test_keys_and_identity_are_unique_across_validators() -> None:
    ledger = _ledger()
    _apply(ledger, VALIDATOR, _create(description=_description(identity="keybase:v1")))
    _assert_rejected(ledger, OTHER_VALIDATOR, _create(address=OTHER_VALIDATOR), "used by another validator")
    _assert_rejected(ledger, OTHER_VALIDATOR, _create(address=OTHER_VALIDATOR, key_indices=(1,),
                                                      description=_description(identity="keybase:v1")),
                     "already uses this identity")
    _assert_rejected(ledger, VALIDATOR, _create(key_indices=(1,)), "already exists")


def test_edit_validator_changes_only_what_it_sets() -> None:
    ledger = _with_validator()
    before = ledger.validators[VALIDATOR]
    new_rate = RATES.rate + RATES.max_change_rate
    _apply(ledger, VALIDATOR, _edit(description=Description("renamed", "", "", "", "about"), commission_rate=new_rate,
                                    slot_key_to_add=KEYS[2], slot_key_to_add_sig=sign_proof_of_possession(
                                        SECRETS[2], VALIDATOR), max_total_delegation=50_000 * ONE),
           BlockContext(block_number=120, epoch=3))
    after = ledger.validators[VALIDATOR]
    assert after.description == replace(before.description, name="renamed", details="about")
    assert after.rates.rate == new_rate and after.rate_update_height == 120
    assert after.slot_pub_keys == (KEYS[0], KEYS[2]) and ledger.key_owners[KEYS[2]] == VALIDATOR
    assert after.max_total_delegation == 50_000 * ONE and after.min_self_delegation == before.min_self_delegation
    _apply(ledger, VALIDATOR, _edit(slot_key_to_remove=KEYS[0]))
    assert ledger.validators[VALIDATOR].slot_pub_keys == (KEYS[2],) and KEYS[0] not in ledger.key_owners


def test_edit_validator_rate_change_is_bounded_per_epoch() -> None:
    ledger = _with_validator()
    step = RATES.max_change_rate
    _apply(ledger, VALIDATOR, _edit(commission_rate=RATES.rate + step))
    # A second edit in the same epoch is measured from the epoch's starting rate.
    _assert_rejected(ledger, VALIDATOR, _edit(commission_rate=RATES.rate + 2 * step), "max change rate in one epoch")
    ledger.take_snapshots()
    _apply(ledger, VALIDATOR, _edit(commission_rate=RATES.rate + 2 * step))


def test_edit_validator_rejections() -> None:
    ledger = _with_validator()
    _apply(ledger, OTHER_VALIDATOR, _create(address=OTHER_VALIDATOR, key_indices=(1,),
                                            description=_description(identity="taken")))
    _assert_rejected(ledger, ALICE, _edit(), "signed by the validator")
    _assert_rejected(ledger, ALICE, _edit(validator_address=ALICE), "no validator")
    _assert_rejected(ledger, VALIDATOR, _edit(commission_rate=RATES.max_rate + 1), "larger than the max")
    _assert_rejected(ledger, VALIDATOR, _edit(slot_key_to_remove=KEYS[3]), "not one of this validator's keys")
    _assert_rejected(ledger, VALIDATOR, _edit(slot_key_to_remove=KEYS[0]), "at least one slot key")
    _assert_rejected(ledger, VALIDATOR, _edit(slot_key_to_add=KEYS[1], slot_key_to_add_sig=sign_proof_of_possession(
        SECRETS[1], VALIDATOR)), "used by another validator")
    _assert_rejected(ledger, VALIDATOR, _edit(slot_key_to_add=KEYS[3]), "needs its proof")
    _assert_rejected(ledger, VALIDATOR, _edit(slot_key_to_add=KEYS[3], slot_key_to_add_sig=sign_proof_of_possession(
        SECRETS[4], VALIDATOR)), "does not verify")
    _assert_rejected(ledger, VALIDATOR, _edit(description=_description(identity="taken")), "identity")
    _assert_rejected(ledger, VALIDATOR, _edit(max_total_delegation=15_000 * ONE), "exceed the validator's max total")
    _assert_rejected(ledger, VALIDATOR, _edit(min_self_delegation=30_000 * ONE), "self delegation is below")
    _assert_rejected(ledger, VALIDATOR, _edit(status=EPoSStatus.BANNED), "cannot ban itself")
    ledger.validators[VALIDATOR] = replace(ledger.validators[VALIDATOR], status=EPoSStatus.BANNED)
    _assert_rejected(ledger, VALIDATOR, _edit(status=EPoSStatus.ACTIVE), "stays banned")


def test_inactive_validator_reactivates_with_edit() -> None:
    ledger = _with_validator()
    _apply(ledger, VALIDATOR, _edit(status=EPoSStatus.INACTIVE))
    assert ledger.validators[VALIDATOR].status == EPoSStatus.INACTIVE
    _apply(ledger, VALIDATOR, _edit(status=EPoSStatus.ACTIVE))
    assert ledger.validators[VALIDATOR].status == EPoSStatus.ACTIVE


def test_delegate_and_undelegate() -> None:
    ledger = _with_validator()
    assert _apply(ledger, ALICE, Delegate(ALICE, VALIDATOR, 1_000 * ONE)) == 1_000 * ONE
    _apply(ledger, ALICE, Delegate(ALICE, VALIDATOR, 500 * ONE))
    wrapper = ledger.validators[VALIDATOR]
    assert wrapper.delegations[1] == Delegation(ALICE, 1_500 * ONE)
    assert ledger.balances[ALICE] == 98_500 * ONE and ledger.get_delegated_validators(ALICE) == [VALIDATOR]
    _apply(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 200 * ONE))
    _apply(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 300 * ONE))  # same epoch: merged
    _apply(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 1_000 * ONE), BlockContext(130, 4))  # leaves nothing
    assert ledger.validators[VALIDATOR].delegations[1] == Delegation(
        ALICE, 0, 0, (Undelegation(500 * ONE, 3), Undelegation(1_000 * ONE, 4)))
    assert ledger.compute_holdings() == ledger.supply.total


def test_delegation_rejections() -> None:
    ledger = _with_validator()
    _assert_rejected(ledger, BOB, Delegate(ALICE, VALIDATOR, 1_000 * ONE), "signed by the delegator")
    _assert_rejected(ledger, ALICE, Delegate(ALICE, VALIDATOR, 99 * ONE), "at least 100 ONE")
    _assert_rejected(ledger, ALICE, Delegate(ALICE, ALICE, 1_000 * ONE), "no validator")
    _assert_rejected(ledger, BOB, Delegate(BOB, VALIDATOR, 2_000 * ONE), "insufficient balance")
    _assert_rejected(ledger, ALICE, Delegate(ALICE, VALIDATOR, 90_000 * ONE), "max total delegation")
    _assert_rejected(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 1 * ONE), "no delegation")
    _apply(ledger, ALICE, Delegate(ALICE, VALIDATOR, 1_000 * ONE))
    _assert_rejected(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 1_001 * ONE), "only")
    _assert_rejected(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 0), "positive")
    _assert_rejected(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 950 * ONE), "0 or at least 100 ONE")
    ledger.validators[VALIDATOR] = replace(ledger.validators[VALIDATOR], status=EPoSStatus.BANNED)
    _assert_rejected(ledger, ALICE, Delegate(ALICE, VALIDATOR, 1_000 * ONE), "banned")


def test_self_undelegation_below_minimum_turns_validator_inactive() -> None:
    ledger = _with_validator()
    _apply(ledger, VALIDATOR, Undelegate(VALIDATOR, VALIDATOR, 15_000 * ONE))
    wrapper = ledger.validators[VALIDATOR]
    assert wrapper.status == EPoSStatus.INACTIVE and wrapper.self_delegation == 5_000 * ONE
    # It cannot make itself active again until it tops up its stake.
    _assert_rejected(ledger, VALIDATOR, _edit(status=EPoSStatus.ACTIVE), "self delegation is below")
    _apply(ledger, VALIDATOR, Delegate(VALIDATOR, VALIDATOR, 5_000 * ONE))
    _apply(ledger, VALIDATOR, _edit(status=EPoSStatus.ACTIVE))


def _give_rewards(ledger: MemoryLedger, delegator: bytes, amounts: dict[bytes, int]) -> None:
    for validator, reward in amounts.items():
        wrapper = ledger.validators[validator]
        index = wrapper.find_delegation(delegator)
        assert index is not None
        ledger.validators[validator] = wrapper.with_delegation(index, replace(wrapper.delegations[index],
                                                                              reward=reward))
        ledger.supply = replace(ledger.supply, minted=ledger.supply.minted + reward)


def test_collect_rewards_from_every_validator() -> None:
    ledger = _with_validator()
    _apply(ledger, OTHER_VALIDATOR, _create(address=OTHER_VALIDATOR, key_indices=(1,)))
    _apply(ledger, ALICE, Delegate(ALICE, VALIDATOR, 1_000 * ONE))
    _apply(ledger, ALICE, Delegate(ALICE, OTHER_VALIDATOR, 1_000 * ONE))
    _assert_rejected(ledger, ALICE, CollectRewards(ALICE), "no rewards")
    _give_rewards(ledger, ALICE, {VALIDATOR: 3 * ONE, OTHER_VALIDATOR: 4 * ONE})
    balance = ledger.balances[ALICE]
    assert _apply(ledger, ALICE, CollectRewards(ALICE)) == 7 * ONE
    assert ledger.balances[ALICE] == balance + 7 * ONE
    assert all(d.reward == 0 for w in ledger.validators.values() for d in w.delegations)
    _assert_rejected(ledger, ALICE, CollectRewards(ALICE), "no rewards")  # exactly once
    _assert_rejected(ledger, BOB, CollectRewards(ALICE), "signed by the delegator")
    assert ledger.compute_holdings() == ledger.supply.total


def test_compound_rewards_restakes_into_the_earning_delegations() -> None:
    ledger = _with_validator()
    _apply(ledger, OTHER_VALIDATOR, _create(address=OTHER_VALIDATOR, key_indices=(1,)))
    _apply(ledger, ALICE, Delegate(ALICE, VALIDATOR, 1_000 * ONE))
    _apply(ledger, ALICE, Delegate(ALICE, OTHER_VALIDATOR, 1_000 * ONE))
    _give_rewards(ledger, ALICE, {VALIDATOR: 3 * ONE, OTHER_VALIDATOR: 4 * ONE})
    balance = ledger.balances[ALICE]
    assert _apply(ledger, ALICE, CompoundRewards(ALICE)) == 7 * ONE
    assert ledger.balances[ALICE] == balance
    assert ledger.validators[VALIDATOR].delegations[1] == Delegation(ALICE, 1_003 * ONE)
    assert ledger.validators[OTHER_VALIDATOR].delegations[1] == Delegation(ALICE, 1_004 * ONE)
    _assert_rejected(ledger, ALICE, CompoundRewards(ALICE), "no rewards")
    assert ledger.compute_holdings() == ledger.supply.total


def test_compound_pays_out_what_cannot_be_restaked() -> None:
    ledger = _with_validator()
    _apply(ledger, OTHER_VALIDATOR, _create(address=OTHER_VALIDATOR, key_indices=(1,),
                                            max_total_delegation=21_002 * ONE))
    _apply(ledger, ALICE, Delegate(ALICE, VALIDATOR, 1_000 * ONE))
    _apply(ledger, ALICE, Delegate(ALICE, OTHER_VALIDATOR, 1_000 * ONE))
    _give_rewards(ledger, ALICE, {VALIDATOR: 3 * ONE, OTHER_VALIDATOR: 4 * ONE})
    ledger.validators[VALIDATOR] = replace(ledger.validators[VALIDATOR], status=EPoSStatus.BANNED)
    balance = ledger.balances[ALICE]
    assert _apply(ledger, ALICE, CompoundRewards(ALICE)) == 2 * ONE  # only the room left under the cap
    assert ledger.balances[ALICE] == balance + 5 * ONE
    assert ledger.validators[OTHER_VALIDATOR].total_delegation == 21_002 * ONE
    assert ledger.compute_holdings() == ledger.supply.total
