"""What the beacon chain executes beyond transfers: staking transactions, rewards, epoch ends.

After a beacon block's plain transactions and incoming receipts (Harmony's ``Finalize`` order,
reference §6.9, adapted):
1. its staking transactions, each paying gas like a transfer (the fee is burned) and applied by the
   staking rules; a staking transaction the rules refuse makes the block invalid (a leader leaves it
   out instead, as it does a bad transfer);
2. the block reward for the parent block, shared by the parent's signers (the header's last-commit
   bitmap), and one for every shard block the header crosslinks, shared by that block's signers;
3. the double-sign slashes the header carries: each evidence checked from its own signatures, its
   keys members of the committee of that block, owned by one staked validator; slashed once (the
   block's proposer, the header's coinbase, is the reporter paid half of it, as in Harmony);
4. at the epoch's last block: undelegation payouts, availability, the election, and the snapshots
   the next epoch measures against. Slashes come before the election (Harmony applies them after),
   so a validator caught in an epoch's last block is not elected by it.
Fees of the block's plain transfers are counted as burned in the supply too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import rlp

from consensus.bitmap import decode_bitmap
from consensus.evidence import DoubleSignEvidence, validate_double_sign_evidence
from consensus.quorum import Committee
from crypto.hash import keccak256
from crypto.vrf import VRF_OUTPUT_SIZE
from harmony_node.chain.config import ChainConfig
from harmony_node.chain.execution import EMPTY_BLOOM
from harmony_node.chain.gas import compute_staking_intrinsic_gas
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.exceptions import DecodingError, InvalidSignature, InvalidTransaction, NotFound, ValidationError
from harmony_node.state.state_db import StateDB
from harmony_node.types.header import Header
from harmony_node.types.receipt import RECEIPT_STATUS_SUCCESSFUL, Receipt
from harmony_node.types.rlp_codec import validate_rlp_depth
from harmony_node.types.staking_transaction import EPoSStatus, StakingTransaction
from sharding.crosslink import decode_crosslinks
from sharding.schedule import EpochSchedule
from staking.config import StakingConfig
from staking.election import ElectedSlot
from staking.epoch import process_epoch_end
from staking.issuance import process_fee_burn
from staking.rewards import SlotVote, process_block_reward
from staking.slashing import SlashRecord, process_slash
from staking.transactions import BlockContext, process_staking_message

MAX_SLASHES_PER_BLOCK = 8

CommitteeOf = Callable[[int, int], Committee]
"""(shard, block number) -> the committee that signed that block."""


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """The header fields the beacon rules read; a leader knows them before the header exists."""

    number: int
    epoch: int
    last_commit_bitmap: bytes
    cross_links: bytes
    vrf_output: bytes
    coinbase: bytes

    @classmethod
    def of(cls, header: Header) -> BlockInfo:
        return cls(header.number, header.epoch, header.last_commit_bitmap, header.cross_links,
                   header.vrf[:VRF_OUTPUT_SIZE], header.coinbase)


@dataclass(frozen=True, slots=True)
class BeaconRules:
    """The beacon chain's extra rules and what they need from outside the state."""

    staking: StakingConfig
    schedule: EpochSchedule
    genesis_supply: int
    get_committee: CommitteeOf
    get_slot_validators: Callable[[int, int], Sequence[bytes]]
    """(shard, block number) -> the validator address of each committee slot of that block."""
    compute_shard_state: Callable[[int, bytes, Sequence[ElectedSlot]], bytes]
    """(epoch, last block's VRF output, elected slots) -> the encoded assignment the block publishes."""
    lookahead: int = 2
    """The elected slots serve this many epochs after the election (epochs.GENESIS_EPOCHS)."""


def apply_staking_transaction(
    ledger: StateStakingLedger, tx: StakingTransaction, header: BlockInfo, config: ChainConfig,
    rules: BeaconRules, gas_available: int, cumulative_gas: int,
) -> tuple[Receipt, int]:
    """Check and apply one staking transaction; its receipt and gas. InvalidTransaction changes nothing."""
    try:
        sender = tx.recover_sender()
    except InvalidSignature as exc:
        raise InvalidTransaction(f"invalid signature: {exc}") from exc
    if tx.chain_id != config.chain_id:
        raise InvalidTransaction(f"staking transactions are signed with chain id {config.chain_id}, not {tx.chain_id}")
    account = ledger.state.get_account(sender)
    if tx.nonce != account.nonce:
        raise InvalidTransaction(f"nonce {'too low' if tx.nonce < account.nonce else 'too high'}: got {tx.nonce}, "
                                 f"account nonce is {account.nonce}")
    if tx.gas_price < config.min_gas_price:
        raise InvalidTransaction(f"gas price {tx.gas_price} is below the minimum {config.min_gas_price}")
    gas = compute_staking_intrinsic_gas(tx)
    if tx.gas_limit < gas:
        raise InvalidTransaction(f"intrinsic gas too low: need {gas}, gas limit is {tx.gas_limit}")
    if tx.gas_limit > gas_available:
        raise InvalidTransaction(f"gas limit {tx.gas_limit} exceeds the gas left in the block ({gas_available})")
    fee = gas * tx.gas_price
    if account.balance < tx.gas_limit * tx.gas_price:
        raise InvalidTransaction(f"insufficient funds for gas: balance {account.balance}")
    # The rules check the amounts against what is left after the fee, and change nothing if they refuse.
    ledger.set_balance(sender, account.balance - fee)
    try:
        process_staking_message(ledger, sender, tx.stake_message, BlockContext(header.number, header.epoch),
                                rules.staking)
    except ValidationError:
        ledger.set_balance(sender, account.balance)
        raise
    ledger.state.set_account(sender, replace(ledger.state.get_account(sender), nonce=account.nonce + 1))
    process_fee_burn(ledger, fee)
    return Receipt(RECEIPT_STATUS_SUCCESSFUL, cumulative_gas + gas, EMPTY_BLOOM, []), gas


def compute_slot_votes(committee: Committee, bitmap: bytes, validators: Sequence[bytes]) -> list[SlotVote]:
    """One vote per committee slot: its validator, its voting power, whether the bitmap says it signed."""
    signed = set(decode_bitmap(bitmap, committee.size))
    return [SlotVote(validators[i], committee.voting_power[i], i in signed) for i in range(committee.size)]


def apply_staking_transactions(
    state: StateDB, block: BlockInfo, staking_txs: Sequence[StakingTransaction], config: ChainConfig,
    rules: BeaconRules, gas_available: int, cumulative_gas: int, skip_invalid: bool,
) -> tuple[list[StakingTransaction], list[Receipt], int]:
    """Step 1: the applied transactions, their receipts and gas. A refused one raises InvalidTransaction,
    or with ``skip_invalid`` (a leader building) is left out, having changed nothing."""
    ledger = StateStakingLedger(state, rules.genesis_supply)
    applied, receipts, used = [], [], 0
    for tx in staking_txs:
        try:
            receipt, gas = apply_staking_transaction(ledger, tx, block, config, rules, gas_available - used,
                                                     cumulative_gas + used)
        except InvalidTransaction:
            if skip_invalid:
                continue
            raise
        applied.append(tx)
        receipts.append(receipt)
        used += gas
    return applied, receipts, used


def encode_slashes(evidences: Sequence[bytes]) -> bytes:
    """The header's ``slashes`` field: RLP list of encoded evidences (empty bytes: none)."""
    return rlp.encode(list(evidences)) if evidences else b""


def decode_slashes(data: bytes) -> list[bytes]:
    if not data:
        return []
    try:
        validate_rlp_depth(data, max_depth=1)  # a flat list; deeper nesting would overflow rlp.decode's recursion
        items = rlp.decode(data)
    except (DecodingError, rlp.DecodingError) as exc:
        raise ValidationError(f"slashes field is not RLP: {exc}") from exc
    if not isinstance(items, list) or not items or not all(isinstance(i, bytes) for i in items):
        raise ValidationError("slashes field must be a non-empty list of evidences")
    if len(items) > MAX_SLASHES_PER_BLOCK:
        raise ValidationError(f"a block applies at most {MAX_SLASHES_PER_BLOCK} slashes")
    return list(items)


def apply_slash(ledger: StateStakingLedger, block: BlockInfo, data: bytes, rules: BeaconRules) -> None:
    """Step 3 for one evidence; ValidationError (nothing changed) if it does not prove a slashable sign."""
    evidence = DoubleSignEvidence.decode(data)
    keys = validate_double_sign_evidence(evidence)
    committee = rules.get_committee(evidence.shard_id, evidence.block_number)
    if committee.epoch != evidence.epoch or any(key not in committee.public_keys for key in keys):
        raise ValidationError("the double-signing keys were not in that block's committee")
    owners = {ledger.get_key_owner(key) for key in keys}
    if len(owners) != 1 or None in owners:
        raise ValidationError("the double-signing keys are not one staked validator's")
    offender = owners.pop()
    assert offender is not None
    record = SlashRecord(offender, block.coinbase, evidence.epoch, evidence.shard_id, evidence.block_number,
                         evidence.view_id, keccak256(data))
    process_slash(ledger, record, block.epoch, rules.staking)


def is_slash_outstanding(ledger: StateStakingLedger, data: bytes) -> bool:
    """Whether checked evidence may still slash someone: its keys belong to one staked validator that
    is not banned. A banned validator's keys keep signing the epochs published before its ban, and
    such evidence never applies again, so a node's pool lets it go."""
    try:
        evidence = DoubleSignEvidence.decode(data)
    except ValidationError:
        return False
    keys = set(evidence.first.signer_public_keys) & set(evidence.second.signer_public_keys)
    owners = {ledger.get_key_owner(key) for key in keys}
    if len(owners) != 1:
        return False
    owner = owners.pop()
    wrapper = None if owner is None else ledger.get_validator(owner)
    return wrapper is not None and wrapper.status != EPoSStatus.BANNED


def apply_rewards_and_epoch_end(
    state: StateDB, block: BlockInfo, plain_fees: int, rules: BeaconRules, slashes: Sequence[bytes] = (),
    skip_invalid: bool = False,
) -> tuple[bytes, list[bytes]]:
    """Steps 2-4 (and the plain transfers' fees counted as burned).

    Returns the shard state the block must publish (the encoded assignment at an epoch's last block,
    decided by the election; else empty) and the evidences applied. A slash that does not apply
    raises ValidationError, or with ``skip_invalid`` (a leader building) is left out.
    """
    ledger = StateStakingLedger(state, rules.genesis_supply)
    if plain_fees:
        process_fee_burn(ledger, plain_fees)
    if block.number > 1:  # the parent's signers are in this header (genesis is signed by nobody)
        parent = block.number - 1
        committee = rules.get_committee(0, parent)
        votes = compute_slot_votes(committee, block.last_commit_bitmap, rules.get_slot_validators(0, parent))
        process_block_reward(ledger, votes, block.number, rules.staking)
    for link in decode_crosslinks(block.cross_links):
        committee = rules.get_committee(link.shard_id, link.block_number)
        votes = compute_slot_votes(committee, link.bitmap, rules.get_slot_validators(link.shard_id, link.block_number))
        process_block_reward(ledger, votes, block.number, rules.staking)
    applied: list[bytes] = []
    for data in slashes:
        if skip_invalid and len(applied) == MAX_SLASHES_PER_BLOCK:
            break  # a leader builds a valid block: the rest wait for the next one
        try:
            apply_slash(ledger, block, data, rules)
        except (ValidationError, NotFound) as exc:
            if not skip_invalid:
                raise ValidationError(f"slash: {exc}") from exc
            continue
        applied.append(data)
    if not rules.schedule.is_last_block(block.number):
        return b"", applied
    elected = process_epoch_end(ledger, block.epoch, rules.staking, rules.lookahead)
    ledger.take_snapshots()
    return rules.compute_shard_state(block.epoch, block.vrf_output, elected), applied
