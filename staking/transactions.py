"""The six staking directives: every check Harmony makes, then the state change.

Reference §4.3 and §6 (Harmony's ``core/staking_verifier.go`` and ``staking/types/validator.go``).
``process_staking_message`` validates completely before it writes anything, so a rejected message
changes nothing; each rejection is an ``InvalidTransaction`` whose reason names the broken rule.
Gas and fees are the chain core's business; these rules move stake only.

Where Harmony is silent or we differ, on purpose:
- A slot key's proof of possession signs ``keccak256(b"harmony-one" ‖ validator address)``, not the
  bare string, so a proof cannot be replayed by another validator (DESIGN.md §3).
- Commission below the network's minimum is refused at creation and edit rather than raised
  silently at the next election.
- Delegating to a banned validator is refused: the stake could never earn anything again.
- ``CompoundRewards`` (ours, directive 5) re-stakes each delegation's reward into that delegation;
  a reward that cannot be re-staked (banned validator, or the validator's max total delegation
  would be exceeded) is paid to the balance instead, so nothing is lost and no limit is broken.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from crypto import bls
from crypto.hash import keccak256
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
from staking.config import (
    MAX_DETAILS_LENGTH,
    MAX_IDENTITY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SECURITY_CONTACT_LENGTH,
    MAX_WEBSITE_LENGTH,
    StakingConfig,
)
from staking.ledger import StakingLedger
from staking.records import Delegation, Undelegation, ValidatorWrapper

PROOF_OF_POSSESSION_PREFIX = b"harmony-one"


@dataclass(frozen=True, slots=True)
class BlockContext:
    """Where a staking message executes: the beacon block's number and epoch."""

    block_number: int
    epoch: int


def compute_proof_of_possession_payload(validator_address: bytes) -> bytes:
    """What a slot key signs to prove it belongs to ``validator_address``."""
    return keccak256(PROOF_OF_POSSESSION_PREFIX + validator_address)


def sign_proof_of_possession(secret_key: int, validator_address: bytes) -> bytes:
    return bls.sign(secret_key, compute_proof_of_possession_payload(validator_address))


def _reject(reason: str) -> InvalidTransaction:
    return InvalidTransaction(reason)


def validate_description(description: Description) -> None:
    limits = (("name", description.name, MAX_NAME_LENGTH), ("identity", description.identity, MAX_IDENTITY_LENGTH),
              ("website", description.website, MAX_WEBSITE_LENGTH),
              ("security contact", description.security_contact, MAX_SECURITY_CONTACT_LENGTH),
              ("details", description.details, MAX_DETAILS_LENGTH))
    for what, text, limit in limits:
        # Harmony counts bytes (Go's len on a string), so multi-byte characters count for more.
        if len(text.encode()) > limit:
            raise _reject(f"description {what} is longer than {limit} bytes")


def merge_description(current: Description, update: Description) -> Description:
    """EditValidator's rule: every non-empty field of ``update`` replaces the current one."""
    return Description(
        update.name or current.name,
        update.identity or current.identity,
        update.website or current.website,
        update.security_contact or current.security_contact,
        update.details or current.details,
    )


def validate_commission_rates(rates: CommissionRates, config: StakingConfig) -> None:
    for what, value in (("rate", rates.rate), ("max rate", rates.max_rate), ("max change rate", rates.max_change_rate)):
        if not 0 <= value <= DEC_PRECISION:
            raise _reject(f"commission {what} must be between 0 and 1")
    if rates.rate > rates.max_rate:
        raise _reject("commission rate is larger than the max rate")
    if rates.max_change_rate > rates.max_rate:
        raise _reject("commission max change rate is larger than the max rate")
    if rates.rate < config.min_commission_rate:
        raise _reject(f"commission rate is below the network minimum {config.min_commission_rate / DEC_PRECISION:.2%}")


def _validate_identity_unique(ledger: StakingLedger, validator: bytes, identity: str) -> None:
    if not identity:
        return
    for address in ledger.get_validator_addresses():
        other = ledger.get_validator(address)
        if address != validator and other is not None and other.description.identity == identity:
            raise _reject("another validator already uses this identity")


def _validate_new_key(ledger: StakingLedger, validator: bytes, key: bytes, proof: bytes) -> None:
    owner = ledger.get_key_owner(key)
    if owner is not None:
        raise _reject("slot key is already used by " + ("this validator" if owner == validator else "another validator"))
    if not bls.verify(key, compute_proof_of_possession_payload(validator), proof):
        raise _reject("slot key proof of possession does not verify for this validator")


def _validate_wrapper(wrapper: ValidatorWrapper, config: StakingConfig) -> None:
    """The invariants every stored validator keeps (Harmony's SanityCheck)."""
    if not wrapper.slot_pub_keys:
        raise _reject("a validator needs at least one slot key")
    if len(set(wrapper.slot_pub_keys)) != len(wrapper.slot_pub_keys):
        raise _reject("slot keys must not repeat")
    if len(wrapper.slot_pub_keys) > config.max_keys_per_validator:
        raise _reject(f"more than {config.max_keys_per_validator} slot keys")
    if wrapper.min_self_delegation < config.min_self_delegation:
        raise _reject(f"min self delegation must be at least {config.min_self_delegation // 10**18} ONE")
    if wrapper.max_total_delegation < wrapper.min_self_delegation:
        raise _reject("max total delegation is below min self delegation")
    if wrapper.total_delegation > wrapper.max_total_delegation:
        raise _reject("total delegation would exceed the validator's max total delegation")
    if wrapper.status == EPoSStatus.ACTIVE and wrapper.self_delegation < wrapper.min_self_delegation:
        raise _reject("self delegation is below min self delegation")


def _get_validator(ledger: StakingLedger, address: bytes) -> ValidatorWrapper:
    wrapper = ledger.get_validator(address)
    if wrapper is None:
        raise _reject("no validator at this address")
    return wrapper


def _require_signer(sender: bytes, address: bytes, role: str) -> None:
    if sender != address:
        raise _reject(f"the transaction must be signed by the {role}")


def _debit(ledger: StakingLedger, address: bytes, amount: int) -> None:
    balance = ledger.get_balance(address)
    if balance < amount:
        raise _reject(f"insufficient balance: has {balance}, needs {amount}")
    ledger.set_balance(address, balance - amount)


def process_create_validator(
    ledger: StakingLedger, sender: bytes, message: CreateValidator, context: BlockContext, config: StakingConfig
) -> int:
    """Register the validator with its self-delegation; returns the amount staked."""
    address = message.validator_address
    _require_signer(sender, address, "validator")
    if ledger.get_validator(address) is not None:
        raise _reject("a validator already exists at this address")
    validate_description(message.description)
    _validate_identity_unique(ledger, address, message.description.identity)
    validate_commission_rates(message.commission_rates, config)
    if len(message.slot_pub_keys) != len(message.slot_key_sigs):
        raise _reject("every slot key needs exactly one proof of possession")
    wrapper = ValidatorWrapper(
        address=address,
        slot_pub_keys=message.slot_pub_keys,
        min_self_delegation=message.min_self_delegation,
        max_total_delegation=message.max_total_delegation,
        status=EPoSStatus.ACTIVE,
        rates=message.commission_rates,
        rate_update_height=context.block_number,
        description=message.description,
        creation_height=context.block_number,
        delegations=(Delegation(address, message.amount),),
    )
    _validate_wrapper(wrapper, config)  # also catches a stake below min self delegation
    for key, proof in zip(message.slot_pub_keys, message.slot_key_sigs):
        _validate_new_key(ledger, address, key, proof)
    if ledger.get_balance(address) < message.amount:
        raise _reject(f"insufficient balance to stake {message.amount}")
    _debit(ledger, address, message.amount)
    ledger.set_validator(wrapper)
    for key in wrapper.slot_pub_keys:
        ledger.set_key_owner(key, address)
    ledger.add_delegated_validator(address, address)
    return message.amount


def process_edit_validator(
    ledger: StakingLedger, sender: bytes, message: EditValidator, context: BlockContext, config: StakingConfig
) -> int:
    """Apply every field the message sets; returns 0 (no stake moves)."""
    address = message.validator_address
    _require_signer(sender, address, "validator")
    current = _get_validator(ledger, address)
    description = merge_description(current.description, message.description)
    validate_description(description)
    if description.identity != current.description.identity:
        _validate_identity_unique(ledger, address, description.identity)
    edited = replace(current, description=description)

    if message.commission_rate is not None:
        rates = replace(current.rates, rate=message.commission_rate)
        validate_commission_rates(rates, config)
        # The change is measured against the rate the epoch began with, so several edits in one
        # epoch cannot add up to more than the max change rate.
        snapshot = ledger.get_snapshot(address) or current
        if abs(rates.rate - snapshot.rates.rate) > rates.max_change_rate:
            raise _reject("commission rate changes by more than the max change rate in one epoch")
        if rates.rate != current.rates.rate:
            edited = replace(edited, rates=rates, rate_update_height=context.block_number)

    if message.min_self_delegation is not None:
        edited = replace(edited, min_self_delegation=message.min_self_delegation)
    if message.max_total_delegation is not None:
        edited = replace(edited, max_total_delegation=message.max_total_delegation)

    keys = list(current.slot_pub_keys)
    if message.slot_key_to_remove is not None:
        if message.slot_key_to_remove not in keys:
            raise _reject("slot key to remove is not one of this validator's keys")
        keys.remove(message.slot_key_to_remove)
    if message.slot_key_to_add is not None:
        if message.slot_key_to_add_sig is None:
            raise _reject("slot key to add needs its proof of possession")
        if message.slot_key_to_add in keys:
            raise _reject("slot key to add is already one of this validator's keys")
        if message.slot_key_to_add != message.slot_key_to_remove:
            _validate_new_key(ledger, address, message.slot_key_to_add, message.slot_key_to_add_sig)
        keys.append(message.slot_key_to_add)
    edited = replace(edited, slot_pub_keys=tuple(keys))

    if message.status not in (None, EPoSStatus.NIL):
        if current.status == EPoSStatus.BANNED:
            raise _reject("a banned validator stays banned")
        if message.status == EPoSStatus.BANNED:
            raise _reject("a validator cannot ban itself")
        edited = replace(edited, status=EPoSStatus(message.status))
    _validate_wrapper(edited, config)

    ledger.set_validator(edited)
    for key in set(current.slot_pub_keys) - set(keys):
        ledger.set_key_owner(key, None)
    for key in set(keys) - set(current.slot_pub_keys):
        ledger.set_key_owner(key, address)
    return 0


def process_delegate(
    ledger: StakingLedger, sender: bytes, message: Delegate, context: BlockContext, config: StakingConfig
) -> int:
    """Move ``amount`` from the delegator's balance into its delegation; returns the amount."""
    _require_signer(sender, message.delegator_address, "delegator")
    if message.amount < config.min_delegation:
        raise _reject(f"delegation must be at least {config.min_delegation // 10**18} ONE")
    wrapper = _get_validator(ledger, message.validator_address)
    if wrapper.status == EPoSStatus.BANNED:
        raise _reject("the validator is banned")
    if wrapper.total_delegation + message.amount > wrapper.max_total_delegation:
        raise _reject("delegation would exceed the validator's max total delegation")
    if ledger.get_balance(message.delegator_address) < message.amount:
        raise _reject(f"insufficient balance to delegate {message.amount}")
    index = wrapper.find_delegation(message.delegator_address)
    if index is None:
        updated = wrapper.with_delegation(len(wrapper.delegations), Delegation(message.delegator_address, message.amount))
    else:
        delegation = wrapper.delegations[index]
        updated = wrapper.with_delegation(index, replace(delegation, amount=delegation.amount + message.amount))
    _debit(ledger, message.delegator_address, message.amount)
    ledger.set_validator(updated)
    ledger.add_delegated_validator(message.delegator_address, message.validator_address)
    return message.amount


def process_undelegate(
    ledger: StakingLedger, sender: bytes, message: Undelegate, context: BlockContext, config: StakingConfig
) -> int:
    """Lock ``amount`` of the delegation for the lock period; returns the amount."""
    _require_signer(sender, message.delegator_address, "delegator")
    wrapper = _get_validator(ledger, message.validator_address)
    index = wrapper.find_delegation(message.delegator_address)
    if index is None:
        raise _reject("no delegation with this validator to undelegate")
    delegation = wrapper.delegations[index]
    if message.amount <= 0:
        raise _reject("undelegation amount must be positive")
    if message.amount > delegation.amount:
        raise _reject(f"cannot undelegate {message.amount}: only {delegation.amount} is delegated")
    remaining = delegation.amount - message.amount
    if index != 0 and 0 < remaining < config.min_delegation:
        raise _reject(f"a delegation left behind must be 0 or at least {config.min_delegation // 10**18} ONE")
    undelegations = list(delegation.undelegations)
    if undelegations and undelegations[-1].epoch == context.epoch:  # one entry per epoch, as Harmony
        undelegations[-1] = Undelegation(undelegations[-1].amount + message.amount, context.epoch)
    else:
        undelegations.append(Undelegation(message.amount, context.epoch))
    updated = wrapper.with_delegation(index, replace(delegation, amount=remaining, undelegations=tuple(undelegations)))
    if index == 0 and updated.status == EPoSStatus.ACTIVE and remaining < updated.min_self_delegation:
        # Allowed, as in Harmony, but the validator stops being electable until it tops up.
        updated = replace(updated, status=EPoSStatus.INACTIVE)
    ledger.set_validator(updated)
    return message.amount


def _take_rewards(ledger: StakingLedger, delegator: bytes) -> list[tuple[ValidatorWrapper, int, int]]:
    """(validator, delegation index, reward) for every delegation of ``delegator`` holding a reward."""
    found = []
    for address in ledger.get_delegated_validators(delegator):
        wrapper = ledger.get_validator(address)
        index = None if wrapper is None else wrapper.find_delegation(delegator)
        if wrapper is not None and index is not None and wrapper.delegations[index].reward > 0:
            found.append((wrapper, index, wrapper.delegations[index].reward))
    if not found:
        raise _reject("no rewards to collect")
    return found


def process_collect_rewards(
    ledger: StakingLedger, sender: bytes, message: CollectRewards, context: BlockContext, config: StakingConfig
) -> int:
    """Pay every accrued reward of the delegator to its balance; returns the amount paid."""
    _require_signer(sender, message.delegator_address, "delegator")
    total = 0
    for wrapper, index, reward in _take_rewards(ledger, message.delegator_address):
        ledger.set_validator(wrapper.with_delegation(index, replace(wrapper.delegations[index], reward=0)))
        total += reward
    ledger.set_balance(message.delegator_address, ledger.get_balance(message.delegator_address) + total)
    return total


def process_compound_rewards(
    ledger: StakingLedger, sender: bytes, message: CompoundRewards, context: BlockContext, config: StakingConfig
) -> int:
    """Re-stake each accrued reward into the delegation that earned it; returns the amount re-staked."""
    _require_signer(sender, message.delegator_address, "delegator")
    restaked = paid_out = 0
    for wrapper, index, reward in _take_rewards(ledger, message.delegator_address):
        delegation = wrapper.delegations[index]
        room = max(0, wrapper.max_total_delegation - wrapper.total_delegation)
        stake = 0 if wrapper.status == EPoSStatus.BANNED else min(reward, room)
        ledger.set_validator(wrapper.with_delegation(index, replace(delegation, amount=delegation.amount + stake,
                                                                    reward=0)))
        restaked += stake
        paid_out += reward - stake
    if paid_out:
        ledger.set_balance(message.delegator_address, ledger.get_balance(message.delegator_address) + paid_out)
    return restaked


def process_staking_message(
    ledger: StakingLedger, sender: bytes, message: StakeMessage, context: BlockContext, config: StakingConfig
) -> int:
    """Validate and apply one staking message signed by ``sender``; InvalidTransaction changes nothing."""
    # CompoundRewards and Undelegate subclass CollectRewards and Delegate: test them first.
    if isinstance(message, CreateValidator):
        return process_create_validator(ledger, sender, message, context, config)
    if isinstance(message, EditValidator):
        return process_edit_validator(ledger, sender, message, context, config)
    if isinstance(message, Undelegate):
        return process_undelegate(ledger, sender, message, context, config)
    if isinstance(message, Delegate):
        return process_delegate(ledger, sender, message, context, config)
    if isinstance(message, CompoundRewards):
        return process_compound_rewards(ledger, sender, message, context, config)
    return process_collect_rewards(ledger, sender, message, context, config)
