"""``hmy staking``: create and edit validators, delegate, undelegate, collect or compound rewards.

Staking transactions execute only on the beacon chain (reference §4.3), so they are always sent to
shard 0's node. Flags follow go-sdk's ``cmd/subcommands/staking.go``; its local sanity checks
(description lengths, rate bounds, delegation limits) run before anything is signed, and the
network's own limits (minimum self-delegation, minimum commission) are left to the node.
Slot keys come from our encrypted BLS key files, whose secrets sign each key's proof of possession
for this validator (DESIGN.md §3).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cli.client_context import ClientContext, pass_client_context
from cli.denominations import format_one, format_rate
from cli.network import Network
from cli.param_types import ADDRESS, ONE_AMOUNT, RATE, HexBytesType
from cli.submission import (
    SignedTransaction,
    SigningOptions,
    deliver,
    get_nonce_and_chain_id,
    signing_options,
    summarize_fees,
    unlock_signer,
)
from crypto import bls
from crypto.address import to_bech32
from harmony_node.chain.gas import compute_staking_intrinsic_gas
from harmony_node.exceptions import ValidationError
from harmony_node.node.keys import load_validator_keys, read_passphrase_file
from harmony_node.types.staking_transaction import (
    CollectRewards,
    CommissionRates,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Description,
    EditValidator,
    EPoSStatus,
    StakeMessage,
    StakingTransaction,
    Undelegate,
    encode_staking_transaction,
    sign_staking_transaction,
)
from staking.config import StakingConfig
from staking.transactions import sign_proof_of_possession, validate_commission_rates, validate_description

F = TypeVar("F", bound=Callable[..., Any])

BEACON_SHARD = 0
_ANY_NETWORK = StakingConfig(min_commission_rate=0)
"""Rate rules that hold on every network; the network's minimum commission is the node's to check."""
_BLS_PUBLIC_KEY = HexBytesType("bls-public-key", bls.PUBLIC_KEY_SIZE)


def _description_options(command: F) -> F:
    for flag, text in reversed((
        ("--name", "Validator's name (140 bytes at most)."),
        ("--identity", "Identity, e.g. a keybase id (140 bytes)."),
        ("--website", "Website (140 bytes)."),
        ("--security-contact", "Security contact (140 bytes)."),
        ("--details", "Details (280 bytes)."),
    )):
        command = click.option(flag, default="", help=text)(command)
    return command


def _load_bls_secrets(key_files: tuple[str, ...], keys_dir: str | None, passphrase_file: str | None) -> list[int]:
    paths = [Path(path) for path in key_files]
    if keys_dir is not None:
        paths.extend(sorted(Path(keys_dir).glob("*.key")))
    if not paths:
        raise click.UsageError("give the validator's BLS keys with --bls-key-file or --bls-pubkeys-dir")
    if passphrase_file is not None:
        passphrase = read_passphrase_file(passphrase_file)
    else:
        passphrase = str(click.prompt("Passphrase for the BLS key files", hide_input=True, err=True))
    return load_validator_keys(paths, passphrase)


def _bls_passphrase_option(command: F) -> F:
    return click.option("--bls-passphrase-file", type=click.Path(dir_okay=False), default=None,
                        help="Unlock the BLS key files with the first line of this file instead of asking.")(command)


def _validate_delegation_limits(min_self: int | None, max_total: int | None, amount: int | None = None) -> None:
    """go-sdk's ``delegationAmountSanityCheck``."""
    if min_self is not None and max_total is not None and max_total < min_self:
        raise ValidationError("--max-total-delegation is below --min-self-delegation")
    if amount is not None and min_self is not None and max_total is not None and not min_self <= amount <= max_total:
        raise ValidationError("--amount must be between --min-self-delegation and --max-total-delegation")


def _sign_and_deliver(
    context: ClientContext, signing: SigningOptions, signer: bytes, message: StakeMessage, summary: dict[str, Any],
) -> None:
    private_key = unlock_signer(signer, signing)
    client = None if signing.offline_sign else Network(context.get_client()).get_shard_client(BEACON_SHARD)
    nonce, chain_id = get_nonce_and_chain_id(client, signer, signing)
    gas_limit = signing.gas_limit
    if gas_limit is None:
        # The node's own rule: 21000 (5,300,000 for CreateValidator) plus data gas over the stake message.
        unsigned = StakingTransaction(int(message.directive), message.to_rlp(), nonce, signing.gas_price, 0, 0, 0, 0)
        gas_limit = compute_staking_intrinsic_gas(unsigned)
    tx = sign_staking_transaction(
        message, nonce=nonce, gas_price=signing.gas_price, gas_limit=gas_limit, private_key=private_key,
        chain_id=chain_id,
    )
    summary = {"directive": message.directive.name, **summary, **summarize_fees(nonce, chain_id, signing.gas_price,
                                                                                gas_limit)}
    signed = SignedTransaction(encode_staking_transaction(tx), tx.hash, "hmyv2_sendRawStakingTransaction", summary)
    deliver(context, signing, client, signed)


@click.group("staking")
def staking_group() -> None:
    """Create and edit validators; delegate, undelegate, collect or compound rewards (sent to shard 0)."""


@staking_group.command("create-validator")
@click.option("--validator-addr", "validator", type=ADDRESS, required=True,
              help="The validator's account; its key must be in the keystore and it pays the self-stake.")
@_description_options
@click.option("--rate", type=RATE, required=True, help="Commission rate, 0.1 for 10%.")
@click.option("--max-rate", type=RATE, required=True, help="Highest commission rate ever allowed.")
@click.option("--max-change-rate", type=RATE, required=True, help="Most the rate may change in one epoch.")
@click.option("--min-self-delegation", type=ONE_AMOUNT, required=True, help="ONE the validator keeps staked itself.")
@click.option("--max-total-delegation", type=ONE_AMOUNT, required=True, help="Most ONE staked with it in total.")
@click.option("--amount", type=ONE_AMOUNT, required=True, help="Self-stake in ONE, sent with the transaction.")
@click.option("--bls-key-file", "bls_key_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Encrypted BLS key file of a slot key (hmy-node keys generate-bls); repeat for several.")
@click.option("--bls-pubkeys-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Directory whose *.key files are all slot keys.")
@_bls_passphrase_option
@signing_options
@pass_client_context
def create_validator(
    context: ClientContext, validator: bytes, name: str, identity: str, website: str, security_contact: str,
    details: str, rate: int, max_rate: int, max_change_rate: int, min_self_delegation: int,
    max_total_delegation: int, amount: int, bls_key_files: tuple[str, ...], bls_pubkeys_dir: str | None,
    bls_passphrase_file: str | None, signing: SigningOptions,
) -> None:
    """Register a validator with its slot keys and self-stake."""
    description = Description(name, identity, website, security_contact, details)
    validate_description(description)
    rates = CommissionRates(rate, max_rate, max_change_rate)
    validate_commission_rates(rates, _ANY_NETWORK)
    _validate_delegation_limits(min_self_delegation, max_total_delegation, amount)
    secrets = _load_bls_secrets(bls_key_files, bls_pubkeys_dir, bls_passphrase_file)
    message = CreateValidator(
        validator_address=validator, description=description, commission_rates=rates,
        min_self_delegation=min_self_delegation, max_total_delegation=max_total_delegation,
        slot_pub_keys=tuple(bls.secret_to_public(secret) for secret in secrets),
        slot_key_sigs=tuple(sign_proof_of_possession(secret, validator) for secret in secrets),
        amount=amount,
    )
    summary = {
        "validator": to_bech32(validator), "name": name, "rate": format_rate(rate), "max_rate": format_rate(max_rate),
        "max_change_rate": format_rate(max_change_rate), "min_self_delegation": format_one(min_self_delegation),
        "max_total_delegation": format_one(max_total_delegation), "amount": format_one(amount),
        "bls_public_keys": ["0x" + key.hex() for key in message.slot_pub_keys],
    }
    _sign_and_deliver(context, signing, validator, message, summary)


@staking_group.command("edit-validator")
@click.option("--validator-addr", "validator", type=ADDRESS, required=True, help="The validator's account.")
@_description_options
@click.option("--rate", type=RATE, default=None, help="New commission rate.")
@click.option("--min-self-delegation", type=ONE_AMOUNT, default=None, help="New min self-delegation in ONE.")
@click.option("--max-total-delegation", type=ONE_AMOUNT, default=None, help="New max total delegation in ONE.")
@click.option("--remove-bls-key", type=_BLS_PUBLIC_KEY, default=None, help="Slot public key (hex) to remove.")
@click.option("--add-bls-key-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Encrypted BLS key file of a slot key to add.")
@_bls_passphrase_option
@click.option("--active/--inactive", "active", default=None,
              help="Ask to be considered for election again (--active) or to stop (--inactive).")
@signing_options
@pass_client_context
def edit_validator(
    context: ClientContext, validator: bytes, name: str, identity: str, website: str, security_contact: str,
    details: str, rate: int | None, min_self_delegation: int | None, max_total_delegation: int | None,
    remove_bls_key: bytes | None, add_bls_key_file: str | None, bls_passphrase_file: str | None,
    active: bool | None, signing: SigningOptions,
) -> None:
    """Change a validator's description, rate, delegation limits, slot keys or status; empty fields stay as they are."""
    description = Description(name, identity, website, security_contact, details)
    validate_description(description)
    _validate_delegation_limits(min_self_delegation, max_total_delegation)
    status = EPoSStatus.NIL if active is None else EPoSStatus.ACTIVE if active else EPoSStatus.INACTIVE
    changes = (name, identity, website, security_contact, details, rate, min_self_delegation, max_total_delegation,
               remove_bls_key, add_bls_key_file, active)
    if all(change in (None, "") for change in changes):
        raise click.UsageError("nothing to edit: give at least one field to change")
    key_to_add = proof = None
    if add_bls_key_file is not None:
        [secret] = _load_bls_secrets((add_bls_key_file,), None, bls_passphrase_file)
        key_to_add, proof = bls.secret_to_public(secret), sign_proof_of_possession(secret, validator)
    # Harmony's current 9-field form; EPOSStatus NIL (0) means "no change", as absent fields do.
    message = EditValidator(validator, description, rate, min_self_delegation, max_total_delegation,
                            remove_bls_key, key_to_add, proof, int(status))
    summary = {
        "validator": to_bech32(validator),
        "rate": None if rate is None else format_rate(rate),
        "min_self_delegation": None if min_self_delegation is None else format_one(min_self_delegation),
        "max_total_delegation": None if max_total_delegation is None else format_one(max_total_delegation),
        "remove_bls_key": None if remove_bls_key is None else "0x" + remove_bls_key.hex(),
        "add_bls_key": None if key_to_add is None else "0x" + key_to_add.hex(),
        "status": status.name,
    }
    _sign_and_deliver(context, signing, validator, message, summary)


def _delegation_options(command: F) -> F:
    command = click.option("--amount", type=ONE_AMOUNT, required=True, help="Amount in ONE.")(command)
    command = click.option("--validator-addr", "validator", type=ADDRESS, required=True,
                           help="The validator's address.")(command)
    return click.option("--delegator-addr", "delegator", type=ADDRESS, required=True,
                        help="The delegator's account; its key must be in the keystore.")(command)


def _sign_delegation(context: ClientContext, signing: SigningOptions, message: Delegate) -> None:
    if message.amount == 0:
        raise ValidationError("--amount must be more than 0")
    summary = {"delegator": to_bech32(message.delegator_address), "validator": to_bech32(message.validator_address),
               "amount": format_one(message.amount)}
    _sign_and_deliver(context, signing, message.delegator_address, message, summary)


@staking_group.command("delegate")
@_delegation_options
@signing_options
@pass_client_context
def delegate(context: ClientContext, delegator: bytes, validator: bytes, amount: int, signing: SigningOptions) -> None:
    """Stake AMOUNT ONE from the delegator with a validator."""
    _sign_delegation(context, signing, Delegate(delegator, validator, amount))


@staking_group.command("undelegate")
@_delegation_options
@signing_options
@pass_client_context
def undelegate(
    context: ClientContext, delegator: bytes, validator: bytes, amount: int, signing: SigningOptions,
) -> None:
    """Withdraw AMOUNT ONE of stake from a validator; it returns to the balance after the lock period (7 epochs)."""
    _sign_delegation(context, signing, Undelegate(delegator, validator, amount))


def _rewards_options(command: F) -> F:
    return click.option("--delegator-addr", "delegator", type=ADDRESS, required=True,
                        help="The delegator's account; its key must be in the keystore.")(command)


@staking_group.command("collect-rewards")
@_rewards_options
@signing_options
@pass_client_context
def collect_rewards(context: ClientContext, delegator: bytes, signing: SigningOptions) -> None:
    """Pay the delegator's accrued rewards, from every validator, to its balance."""
    _sign_and_deliver(context, signing, delegator, CollectRewards(delegator), {"delegator": to_bech32(delegator)})


@staking_group.command("compound-rewards")
@_rewards_options
@signing_options
@pass_client_context
def compound_rewards(context: ClientContext, delegator: bytes, signing: SigningOptions) -> None:
    """Re-stake the delegator's accrued rewards into the delegations that earned them (our directive 5)."""
    _sign_and_deliver(context, signing, delegator, CompoundRewards(delegator), {"delegator": to_bech32(delegator)})
