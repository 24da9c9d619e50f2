"""Conservation over random staking histories.

After every step: genesis + minted − burned = Σ balances + Σ delegations + Σ unclaimed rewards
+ Σ pending undelegations (cross-shard receipts in flight are the chain core's term and zero here).
A rejected step must change nothing at all. Histories mix every directive, block rewards, fee
burns, epoch ends (payouts, availability, election) and double-sign slashes.
"""

from __future__ import annotations

import copy
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import bls
from harmony_node.exceptions import ValidationError
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
    Undelegate,
)
from memory_ledger import MemoryLedger
from staking.config import ONE, StakingConfig
from staking.epoch import process_epoch_end
from staking.issuance import process_fee_burn
from staking.rewards import SlotVote, process_block_reward
from staking.slashing import SlashRecord, process_slash
from staking.transactions import BlockContext, process_staking_message, sign_proof_of_possession

CONFIG = StakingConfig(external_slots=9, slots_limit_per_validator=2, lock_period_epochs=2,
                       annual_issuance_cap=50 * ONE, blocks_per_year=40)
ACCOUNTS = [bytes([i]) * 20 for i in range(1, 7)]
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 13)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
PROOFS = {(k, a): sign_proof_of_possession(SECRETS[k], a) for k in range(len(SECRETS)) for a in ACCOUNTS}


def _amount(rng: random.Random) -> int:
    return rng.choice((50, 100, 500, 5_000, 12_000, 30_000)) * ONE + rng.randrange(ONE)


def _random_message(rng: random.Random, ledger: MemoryLedger) -> tuple[bytes, object]:
    sender = rng.choice(ACCOUNTS)
    # Mostly aim at validators that exist, so most steps get past the first check.
    validators = list(ledger.validators)
    validator = rng.choice(validators) if validators and rng.random() < 0.9 else rng.choice(ACCOUNTS)
    kind = rng.randrange(7) if validators else 0
    if kind == 0:
        keys = rng.sample(range(len(KEYS)), rng.randint(1, 2))
        rates = CommissionRates(rng.choice((5, 10, 50)) * DEC_PRECISION // 100, DEC_PRECISION // 2,
                                DEC_PRECISION // 10)
        return sender, CreateValidator(sender, Description("v", "", "", "", ""), rates, 10_000 * ONE,
                                       rng.choice((50_000, 10**6)) * ONE, tuple(KEYS[k] for k in keys),
                                       tuple(PROOFS[(k, sender)] for k in keys),
                                       rng.choice((5_000, 10_000, 20_000, 40_000)) * ONE)
    if kind == 1:
        status = rng.choice((None, EPoSStatus.ACTIVE, EPoSStatus.INACTIVE))
        rate = rng.choice((None, 6 * DEC_PRECISION // 100, 30 * DEC_PRECISION // 100))
        sender = validator
        return sender, EditValidator(sender, Description("", "", "", "", ""), rate, None, None, None, None, None,
                                     status)
    if kind in (2, 3):
        return sender, Delegate(sender, validator, _amount(rng))
    if kind == 4:
        wrapper = ledger.validators.get(validator)
        index = None if wrapper is None else wrapper.find_delegation(sender)
        if wrapper is not None and index is not None and rng.random() < 0.9:
            held = wrapper.delegations[index].amount
            return sender, Undelegate(sender, validator, rng.choice((held, held // 2, held // 10, held + 1)))
        return sender, Undelegate(sender, validator, _amount(rng))
    if kind == 5:
        return sender, CollectRewards(sender)
    return sender, CompoundRewards(sender)


def _check(ledger: MemoryLedger) -> None:
    assert ledger.compute_holdings() == ledger.supply.total
    assert min(ledger.balances.values(), default=0) >= 0
    for wrapper in ledger.validators.values():
        for delegation in wrapper.delegations:
            assert delegation.amount >= 0 and delegation.reward >= 0
            assert all(u.amount >= 0 for u in delegation.undelegations)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_histories_conserve_supply(seed: int) -> None:
    rng = random.Random(seed)
    ledger = MemoryLedger.with_balances({a: 200_000 * ONE for a in ACCOUNTS})
    epoch, number, evidence = 0, 0, 0
    committee: list[SlotVote] = []
    slashed: set[bytes] = set()
    for _ in range(80):
        before = copy.deepcopy(ledger)
        step = rng.random()
        try:
            if step < 0.55:
                sender, message = _random_message(rng, ledger)
                process_staking_message(ledger, sender, message,  # type: ignore[arg-type]
                                        BlockContext(number, epoch), CONFIG)
            elif step < 0.8:
                votes = [SlotVote(v.validator, v.voting_power, rng.random() < 0.8) for v in committee]
                process_block_reward(ledger, votes, number, CONFIG)
                number += 1
            elif step < 0.87:
                payer = rng.choice(ACCOUNTS)
                fee = min(ledger.get_balance(payer), rng.randrange(ONE))
                ledger.set_balance(payer, ledger.get_balance(payer) - fee)
                process_fee_burn(ledger, fee)
            elif step < 0.95 or not committee and step < 0.97:
                slots = process_epoch_end(ledger, epoch, CONFIG)
                committee = [SlotVote(s.validator, s.effective_stake, True) for s in slots]
                ledger.take_snapshots()
                epoch += 1
            else:
                evidence += 1
                offender = rng.choice(ACCOUNTS)
                process_slash(ledger, SlashRecord(offender, rng.choice(ACCOUNTS), epoch, 0, number, 0,
                                                  evidence.to_bytes(32, "big")), epoch, CONFIG)
                slashed.add(offender)
        except ValidationError:
            assert ledger == before, "a rejected step changed the state"
        _check(ledger)
    # Everything locked eventually comes out: run out the lock period and nothing stays pending
    # beyond what was undelegated within it.
    for _ in range(CONFIG.lock_period_epochs + 1):
        process_epoch_end(ledger, epoch, CONFIG)
        epoch += 1
        _check(ledger)
    assert all(not d.undelegations for w in ledger.validators.values() for d in w.delegations)
    # A slashed validator is banned for good and never elected again.
    assert all(ledger.validators[a].status == EPoSStatus.BANNED for a in slashed)
    assert not slashed & {s.validator for s in process_epoch_end(ledger, epoch, CONFIG)}
