"""Staking transactions in beacon blocks: executed by the staking rules on the state trie.

A CreateValidator and a Delegate signed like pyhmy signs them go into a beacon block, pay gas
(burned, counted in the supply), move the stake out of the balances into the validator record,
and the epoch's last block snapshots the validators. A refused staking transaction is left out by
a leader and makes a block that carries it invalid; shard chains refuse staking transactions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from crypto import bls
from crypto.secp256k1 import compute_address
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.gas import compute_staking_intrinsic_gas
from harmony_node.chain.genesis import Genesis
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.exceptions import InvalidBlock
from harmony_node.types.block import Block, compute_transactions_root
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    StakeMessage,
    StakingTransaction,
    sign_staking_transaction,
)
from two_chains import build_next, finalize, open_two_chains
from sharding.shard_state import ShardState
from consensus.evidence import DoubleSignEvidence, Vote
from consensus.signing import compute_commit_payload
from harmony_node.chain.beacon_execution import decode_slashes, encode_slashes, is_slash_outstanding
from harmony_node.types.staking_transaction import EPoSStatus
from staking.transactions import sign_proof_of_possession

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
OPERATOR = compute_address(KEY)
DELEGATOR_KEY = b"\x07" * 32
DELEGATOR = compute_address(DELEGATOR_KEY)
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 9)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
NEW_KEY_SECRET = bls.generate_secret_key(b"\x42" * 32)
CONFIG = ChainConfig(num_shards=2, blocks_per_epoch=4)
GENESIS = Genesis("localnet", CONFIG, 1_700_000_000, b"", ((OPERATOR, 1_000_000 * ONE), (DELEGATOR, 10_000 * ONE)),
                  committees=(tuple(KEYS[:4]), tuple(KEYS[4:])))
PRICE = CONFIG.min_gas_price


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[tuple[Blockchain, Blockchain]]:
    with open_two_chains(tmp_path, GENESIS) as (_, beacon, shard):
        yield beacon, shard


def _staking(message: StakeMessage, key: bytes, nonce: int) -> StakingTransaction:
    return sign_staking_transaction(message, nonce=nonce, gas_price=PRICE, gas_limit=6_000_000, private_key=key,
                                    chain_id=CONFIG.chain_id)


def _create(amount: int = 20_000 * ONE) -> CreateValidator:
    return CreateValidator(OPERATOR, Description("operator", "", "", "", ""),
                           CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 20),
                           10_000 * ONE, 1_000_000 * ONE, (bls.secret_to_public(NEW_KEY_SECRET),),
                           (sign_proof_of_possession(NEW_KEY_SECRET, OPERATOR),), amount)


def _secret_of(public_key: bytes) -> int:
    return NEW_KEY_SECRET if public_key == bls.secret_to_public(NEW_KEY_SECRET) else SECRETS[KEYS.index(public_key)]


def _build(chain: Blockchain, staking: Sequence[StakingTransaction] = ()) -> tuple[Block, int]:
    return build_next(chain, _secret_of, staking=staking)


def _finalize(chain: Blockchain, block: Block, view: int) -> None:
    finalize(chain, block, view, _secret_of)


def _ledger(beacon: Blockchain) -> StateStakingLedger:
    return StateStakingLedger(beacon.get_state(), sum(balance for _, balance in GENESIS.alloc))


def test_validator_created_and_delegated_to_in_beacon_blocks(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, _ = chains
    create = _staking(_create(), KEY, 0)
    delegate = _staking(Delegate(DELEGATOR, OPERATOR, 1_000 * ONE), DELEGATOR_KEY, 0)
    block, view = _build(beacon, [create, delegate])
    assert list(block.staking_transactions) == [create, delegate]
    assert block.header.transactions_root == compute_transactions_root(block)
    _finalize(beacon, block, view)
    ledger = _ledger(beacon)
    wrapper = ledger.get_validator(OPERATOR)
    assert wrapper is not None and [d.amount for d in wrapper.delegations] == [20_000 * ONE, 1_000 * ONE]
    fees = (compute_staking_intrinsic_gas(create) + compute_staking_intrinsic_gas(delegate)) * PRICE
    assert ledger.get_balance(OPERATOR) == 1_000_000 * ONE - 20_000 * ONE - compute_staking_intrinsic_gas(create) * PRICE
    assert ledger.get_supply().burned == fees
    assert beacon.get_state().get_nonce(OPERATOR) == 1 and beacon.get_state().get_nonce(DELEGATOR) == 1
    assert len(beacon.chain_store.get_receipts(block.header.hash)) == 2
    holdings = ledger.get_balance(OPERATOR) + ledger.get_balance(DELEGATOR) + wrapper.total_delegation
    assert holdings == ledger.get_supply().total  # what the fees burned left the supply

    while not beacon.rules.schedule.is_last_block(beacon.head.number):  # type: ignore[union-attr]
        _finalize(beacon, *_build(beacon))
    assert _ledger(beacon).get_snapshot(OPERATOR) == _ledger(beacon).get_validator(OPERATOR)


def test_refused_staking_transactions_are_left_out_or_refuse_the_block(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, shard = chains
    too_small = _staking(_create(amount=5_000 * ONE), KEY, 0)  # below the 10,000 ONE minimum self-stake
    block, view = _build(beacon, [too_small])
    assert not block.staking_transactions
    forced = block.copy(staking_transactions=[too_small])
    forced = forced.copy(header=forced.header.copy(transactions_root=compute_transactions_root(forced)))
    with pytest.raises(InvalidBlock, match="staking transaction: self delegation is below"):
        beacon.execute_block(forced)
    shard_block, _ = _build(shard)
    on_shard = shard_block.copy(staking_transactions=[_staking(_create(), KEY, 0)])
    on_shard = on_shard.copy(header=on_shard.header.copy(transactions_root=compute_transactions_root(on_shard)))
    with pytest.raises(InvalidBlock, match="on the beacon chain only"):
        shard.execute_block(on_shard)


def test_an_elected_validator_joins_a_committee_and_earns(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, _ = chains
    new_key = bls.secret_to_public(NEW_KEY_SECRET)
    _finalize(beacon, *_build(beacon, [_staking(_create(), KEY, 0)]))
    while beacon.head.number < 4:  # block 4 ends epoch 1: its election picks the slots of epoch 3
        _finalize(beacon, *_build(beacon))
    state = ShardState.decode(beacon.get_header(4).shard_state)
    slots = {slot.public_key: slot for shard in state.shards for slot in shard}
    assert slots[new_key].validator == OPERATOR and slots[new_key].stake == 20_000 * ONE
    genesis_power = sum(slot.stake for key, slot in slots.items() if key != new_key)
    assert genesis_power * 100 // (genesis_power + slots[new_key].stake) >= 67  # the genesis nodes keep a quorum
    wrapper = _ledger(beacon).get_validator(OPERATOR)
    assert wrapper is not None and wrapper.last_epoch_in_committee == 3

    new_shard = state.get_shard_of_key(new_key)
    while beacon.head.number < 10:  # blocks 9 and 10 are in epoch 3; block 10 pays block 9's signers
        _finalize(beacon, *_build(beacon))
    ledger = _ledger(beacon)
    wrapper = ledger.get_validator(OPERATOR)
    assert wrapper is not None
    assert new_shard == 0  # fixed by these keys and seeds: its key signs beacon blocks, so the beacon pays it
    assert wrapper.delegations[0].reward > 0 and wrapper.blocks_signed > 0
    assert ledger.get_supply().minted == sum(d.reward for d in wrapper.delegations)  # only staked slots are paid
    holdings = ledger.get_balance(OPERATOR) + ledger.get_balance(DELEGATOR) + sum(
        d.amount + d.reward for d in wrapper.delegations)
    assert holdings == ledger.get_supply().total


def test_a_double_signer_is_slashed_once_banned_and_not_elected_again(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, _ = chains
    new_key = bls.secret_to_public(NEW_KEY_SECRET)
    _finalize(beacon, *_build(beacon, [_staking(_create(), KEY, 0),
                                       _staking(Delegate(DELEGATOR, OPERATOR, 1_000 * ONE), DELEGATOR_KEY, 0)]))
    while beacon.head.number < 10:  # elected at block 4; its key has a slot in epoch 3 (blocks 9-12)
        _finalize(beacon, *_build(beacon))
    # Its slot is on shard 1 (fixed by these keys and seeds). There it signs two different blocks at
    # height 9, view 9; the two signatures alone prove it, checked against the beacon's committee.
    shard = ShardState.decode(beacon.get_header(4).shard_state).get_shard_of_key(new_key)
    assert shard == 1
    votes = []
    for block_hash in (b"\x55" * 32, b"\x66" * 32):
        payload = compute_commit_payload(9, block_hash, 9)
        votes.append(Vote((new_key,), block_hash, bls.sign(NEW_KEY_SECRET, payload)))
    evidence = DoubleSignEvidence(shard, 3, 9, 9, votes[0], votes[1]).encode()
    before = _ledger(beacon)
    snapshot = before.get_snapshot(OPERATOR)
    assert snapshot is not None
    assert is_slash_outstanding(before, evidence)
    genesis_signer = DoubleSignEvidence(0, 3, 9, 9, *(Vote((KEYS[0],), h, b"\x00" * 96) for h in (b"\x01" * 32,
                                                                                           b"\x02" * 32))).encode()
    assert not is_slash_outstanding(before, genesis_signer)  # a genesis key has no stake to slash

    block, view = build_next(beacon, _secret_of, slashes=[evidence, evidence, b"not evidence"])
    assert decode_slashes(block.header.slashes) == [evidence]  # once, and only what proves something
    _finalize(beacon, block, view)
    ledger = _ledger(beacon)
    wrapper = ledger.get_validator(OPERATOR)
    assert wrapper is not None and wrapper.status == EPoSStatus.BANNED
    own_loss = snapshot.delegations[0].amount // 2
    delegator_loss = own_loss * 8 // 10 * snapshot.delegations[1].amount // snapshot.delegations[1].amount
    assert wrapper.delegations[0].amount == snapshot.delegations[0].amount - own_loss
    assert wrapper.delegations[1].amount == 1_000 * ONE - min(delegator_loss, 1_000 * ONE)
    slashed = own_loss + min(delegator_loss, 1_000 * ONE)
    reporter = block.header.coinbase  # the leader that included the evidence is paid half
    assert ledger.get_balance(reporter) - before.get_balance(reporter) == slashed // 2
    assert ledger.get_supply().burned - before.get_supply().burned == slashed - slashed // 2
    # Evidence against a banned validator (its key signs epochs published before the ban) is let go.
    assert not is_slash_outstanding(ledger, evidence)
    # Evidence is applied once: a block carrying it again is refused.
    again, view = build_next(beacon, _secret_of)
    forced = again.copy(header=again.header.copy(slashes=encode_slashes([evidence])))
    with pytest.raises(InvalidBlock, match="slash"):
        beacon.execute_block(forced)
    while not beacon.rules.schedule.is_last_block(beacon.head.number):  # type: ignore[union-attr]
        _finalize(beacon, *_build(beacon))
    state = ShardState.decode(beacon.get_header(beacon.head.number).shard_state)
    assert state.get_shard_of_key(new_key) is None, "a banned validator is never elected again"
