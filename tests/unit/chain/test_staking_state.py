"""The staking rules on the real state trie give what they give on the test double, and persist.

The same staking history (validators, delegations, rewards, an epoch end, a slash, a collection)
runs on the dictionary ledger the staking tests use and on ``StateStakingLedger`` over LevelDB;
every record, balance and supply counter must match, survive a commit and a reopen, and move the
state root.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from crypto import bls
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.db.level import LevelDBStore
from harmony_node.db.store import WriteBatch
from harmony_node.state.account import Account
from harmony_node.state.state_db import StateDB
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CollectRewards,
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    Undelegate,
)
from memory_ledger import MemoryLedger
from staking.config import LOCALNET, ONE
from staking.epoch import process_epoch_end
from staking.ledger import StakingLedger
from staking.rewards import SlotVote, process_block_reward
from staking.slashing import SlashRecord, process_slash
from staking.transactions import BlockContext, process_staking_message, sign_proof_of_possession

VALIDATOR, ALICE, REPORTER = b"\x01" * 20, b"\xaa" * 20, b"\xbb" * 20
SECRET = bls.generate_secret_key(b"\x05" * 32)
BALANCES = {VALIDATOR: 50_000 * ONE, ALICE: 20_000 * ONE, REPORTER: 0}


def _history(ledger: StakingLedger, take_snapshots: Callable[[], None]) -> None:
    context = BlockContext(block_number=3, epoch=1)
    create = CreateValidator(VALIDATOR, Description("v", "id", "", "", ""),
                             CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 20),
                             10_000 * ONE, 100_000 * ONE, (bls.secret_to_public(SECRET),),
                             (sign_proof_of_possession(SECRET, VALIDATOR),), 20_000 * ONE)
    process_staking_message(ledger, VALIDATOR, create, context, LOCALNET)
    process_staking_message(ledger, ALICE, Delegate(ALICE, VALIDATOR, 5_000 * ONE), context, LOCALNET)
    take_snapshots()
    process_block_reward(ledger, [SlotVote(VALIDATOR, 1, True)], 4, LOCALNET)
    process_staking_message(ledger, ALICE, Undelegate(ALICE, VALIDATOR, 1_000 * ONE), context, LOCALNET)
    process_epoch_end(ledger, 1, LOCALNET)
    process_staking_message(ledger, ALICE, CollectRewards(ALICE), context, LOCALNET)
    process_slash(ledger, SlashRecord(VALIDATOR, REPORTER, 1, 0, 3, 1, b"\x09" * 32), 1, LOCALNET)


def test_state_ledger_matches_the_test_double_and_persists(tmp_path: Path) -> None:
    double = MemoryLedger.with_balances(BALANCES)
    _history(double, double.take_snapshots)

    with LevelDBStore(tmp_path / "beacon") as store:
        state = StateDB(store)
        for address, balance in BALANCES.items():
            if balance:
                state.set_account(address, Account(balance=balance))
        batch = WriteBatch()
        genesis_root = state.commit(batch)
        store.write(batch)
        ledger = StateStakingLedger(StateDB(store, genesis_root), genesis_supply=sum(BALANCES.values()))
        _history(ledger, ledger.take_snapshots)
        batch = WriteBatch()
        root = ledger.state.commit(batch)
        store.write(batch)
        assert root != genesis_root

        reopened = StateStakingLedger(StateDB(store, root), genesis_supply=sum(BALANCES.values()))
        assert list(reopened.get_validator_addresses()) == [VALIDATOR]
        assert reopened.get_validator(VALIDATOR) == double.validators[VALIDATOR]
        assert reopened.get_snapshot(VALIDATOR) == double.snapshots[VALIDATOR]
        assert reopened.get_supply() == double.supply
        assert reopened.get_key_owner(bls.secret_to_public(SECRET)) == VALIDATOR
        assert list(reopened.get_delegated_validators(ALICE)) == [VALIDATOR]
        assert reopened.is_slash_applied(b"\x09" * 32) and not reopened.is_slash_applied(b"\x08" * 32)
        for address in BALANCES:
            assert reopened.get_balance(address) == double.get_balance(address)
        wrapper = reopened.get_validator(VALIDATOR)
        assert wrapper is not None
        holdings = sum(reopened.get_balance(a) for a in BALANCES) + sum(
            d.amount + d.reward + d.pending_undelegation for d in wrapper.delegations)
        assert holdings == reopened.get_supply().total  # conservation holds on the real state too
