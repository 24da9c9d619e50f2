"""The staking methods of ``hmy_`` and ``hmyv2_``: validators, delegations, the election and supply.

Every node follows the beacon chain, so these answer on any node (Harmony answers them on beacon
nodes only); they read the beacon's staking records at its head, or at a given beacon block. Big
amounts are JSON integers in atto and rates are 18-decimal strings, in both versions, as Harmony's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crypto.address import to_bech32
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.exceptions import NotFound
from harmony_node.rpc import format as fmt
from harmony_node.rpc.backend import RPCBackend
from harmony_node.rpc.chain_reads import get_block
from harmony_node.rpc.dispatch import Dispatcher
from harmony_node.rpc.harmony_methods import bind_params
from harmony_node.rpc.errors import InvalidParams, ServerError
from harmony_node.rpc.params import PENDING, get_param, read_address, read_block_number, read_quantity
from harmony_node.types.staking_transaction import EPoSStatus
from sharding.schedule import EpochSchedule
from sharding.shard_state import ShardState
from staking.election import compute_election, compute_median, is_eligible
from staking.epoch import compute_signing_counts
from staking.ledger import Supply
from staking.records import Delegation, ValidatorWrapper

Params = list[Any]
PAGE_SIZE = 100  # Harmony's validators per page for getAllValidatorInformation
_ACTIVE_STATUS = {EPoSStatus.ACTIVE: "active", EPoSStatus.INACTIVE: "inactive", EPoSStatus.BANNED: "banned",
                  EPoSStatus.NIL: "inactive"}


def format_delegation(validator: bytes, delegation: Delegation) -> dict[str, Any]:
    """Harmony's ``rpc.Delegation`` (note the capitalised ``Undelegations`` / ``Amount`` / ``Epoch``)."""
    return {"validator_address": to_bech32(validator), "delegator_address": to_bech32(delegation.delegator),
            "amount": delegation.amount, "reward": delegation.reward,
            "Undelegations": [{"Amount": u.amount, "Epoch": u.epoch} for u in delegation.undelegations]}


def format_validator(wrapper: ValidatorWrapper) -> dict[str, Any]:
    """The ``validator`` object of Harmony's validator information (fields flattened, one1 addresses)."""
    return {
        "address": to_bech32(wrapper.address),
        "bls-public-keys": [key.hex() for key in wrapper.slot_pub_keys],
        "last-epoch-in-committee": wrapper.last_epoch_in_committee,
        "min-self-delegation": wrapper.min_self_delegation,
        "max-total-delegation": wrapper.max_total_delegation,
        "rate": fmt.to_dec(wrapper.rates.rate),
        "max-rate": fmt.to_dec(wrapper.rates.max_rate),
        "max-change-rate": fmt.to_dec(wrapper.rates.max_change_rate),
        "update-height": wrapper.rate_update_height,
        "name": wrapper.description.name,
        "identity": wrapper.description.identity,
        "website": wrapper.description.website,
        "security-contact": wrapper.description.security_contact,
        "details": wrapper.description.details,
        "creation-height": wrapper.creation_height,
        "delegations": [{"delegator-address": to_bech32(d.delegator), "amount": d.amount, "reward": d.reward,
                         "undelegations": [{"amount": u.amount, "epoch": u.epoch} for u in d.undelegations]}
                        for d in wrapper.delegations],
    }


class StakingMethods:
    """Staking reads over the backend's beacon chain; identical in hmy_ and hmyv2_."""

    def __init__(self, backend: RPCBackend) -> None:
        self.backend = backend

    def get_methods(self) -> dict[str, Callable[[Params], Any]]:
        return {
            "getTotalStaking": self.get_total_staking,
            "getMedianRawStakeSnapshot": self.get_median_raw_stake_snapshot,
            "getElectedValidatorAddresses": self.get_elected_validator_addresses,
            "getValidators": self.get_validators,
            "getValidatorKeys": self.get_validator_keys,
            "getAllValidatorAddresses": self.get_all_validator_addresses,
            "getValidatorInformation": self.get_validator_information,
            "getValidatorInformationByBlockNumber": self.get_validator_information_by_block_number,
            "getAllValidatorInformation": self.get_all_validator_information,
            "getAllValidatorInformationByBlockNumber": self.get_all_validator_information_by_block_number,
            "getValidatorSelfDelegation": self.get_validator_self_delegation,
            "getValidatorTotalDelegation": self.get_validator_total_delegation,
            "getAllDelegationInformation": self.get_all_delegation_information,
            "getDelegationsByDelegator": self.get_delegations_by_delegator,
            "getDelegationsByDelegatorByBlockNumber": self.get_delegations_by_delegator_by_block_number,
            "getDelegationsByValidator": self.get_delegations_by_validator,
            "getDelegationByDelegatorAndValidator": self.get_delegation_by_delegator_and_validator,
            "getSignedBlocks": self.get_signed_blocks,
            "getTotalSupply": self.get_total_supply,
            "getCirculatingSupply": self.get_circulating_supply,
            "getStakingNetworkInfo": self.get_staking_network_info,
        }

    def register(self, dispatcher: Dispatcher, namespace: str) -> None:
        for name, method in self.get_methods().items():
            dispatcher.register(f"{namespace}_{name}", bind_params(method))

    # --- reading the beacon ----------------------------------------------------------------------

    def _get_ledger(self, number: int | None = None) -> StateStakingLedger:
        if number is None:
            return self.backend.get_staking_ledger()
        beacon = self.backend.get_beacon()
        if number == PENDING:
            raise ServerError("requested block number greater than current block number")
        try:
            header = get_block(beacon, number).header
        except NotFound:
            raise ServerError("requested block number greater than current block number") from None
        return StateStakingLedger(beacon.get_state(bytes(header.state_root)), self.backend.genesis_supply)

    def _get_wrapper(self, ledger: StateStakingLedger, address: bytes) -> ValidatorWrapper:
        wrapper = ledger.get_validator(address)
        if wrapper is None:
            raise ServerError(f"validator {to_bech32(address)} not found")
        return wrapper

    def _get_shard_state(self, epoch: int | None = None) -> tuple[ShardState, frozenset[bytes]]:
        """The published committees of ``epoch`` (default: the beacon's current) and the genesis keys."""
        beacon = self.backend.get_beacon()
        if beacon.rules is None:
            raise ServerError("committees are not known on this node")
        epochs = beacon.rules.epochs
        if epoch is not None and epoch > int(beacon.head.epoch) + 1:
            # Its committees would be in a block past the head; a far-off epoch would not even fit a block number.
            raise ServerError(f"the committees of epoch {epoch} are not published yet")
        try:
            state = epochs.get_shard_state(int(beacon.head.epoch) if epoch is None else epoch)
        except NotFound:
            raise ServerError(f"the committees of epoch {epoch} are not published yet") from None
        return state, frozenset(slot.public_key for slot in epochs.slots)

    def _get_elected(self) -> set[bytes]:
        state, genesis_keys = self._get_shard_state()
        return {slot.validator for slots in state.shards for slot in slots if slot.public_key not in genesis_keys}

    def _format_information(self, ledger: StateStakingLedger, wrapper: ValidatorWrapper,
                            elected: set[bytes], number: int) -> dict[str, Any]:
        signed, to_sign = compute_signing_counts(wrapper, ledger.get_snapshot(wrapper.address))
        state, _ = self._get_shard_state()
        slots = [(shard_id, slot) for shard_id, slots in enumerate(state.shards) for slot in slots
                 if slot.validator == wrapper.address]
        in_committee = wrapper.address in elected
        if in_committee:
            epos_status = "currently elected"
        elif is_eligible(wrapper):
            epos_status = "eligible to be elected next epoch"
        else:
            epos_status = "not eligible to be elected next epoch"
        booted = {EPoSStatus.BANNED: "booted for double signing",
                  EPoSStatus.INACTIVE: "booted for insufficient uptime or by its operator"}.get(wrapper.status)
        return {
            "validator": format_validator(wrapper),
            "current-epoch-performance": {
                "current-epoch-signing-percent": {
                    "current-epoch-signed": signed, "current-epoch-to-sign": to_sign,
                    "current-epoch-signing-percentage": fmt.to_dec(signed * 10**18 // to_sign if to_sign else 0)},
                "epoch": int(self.backend.get_beacon().head.epoch), "block": number},
            "metrics": {"by-bls-key": [{
                "key": {"bls-public-key": slot.public_key.hex(), "shard-id": shard_id,
                        "earning-account": to_bech32(slot.validator), "effective-stake": fmt.to_dec(slot.stake)},
                "earned-reward": 0} for shard_id, slot in slots]} if slots else None,
            "total-delegation": wrapper.total_delegation,
            "currently-in-committee": in_committee,
            "epos-status": epos_status,
            "epos-winning-stake": fmt.to_dec(sum(slot.stake for _, slot in slots)) if slots else None,
            "booted-status": booted,
            "active-status": _ACTIVE_STATUS[wrapper.status],
            "lifetime": {"reward-accumulated": wrapper.lifetime_reward,
                         "blocks": {"to-sign": wrapper.blocks_to_sign, "signed": wrapper.blocks_signed},
                         "apr": fmt.to_dec(0), "epoch-apr": None},
        }

    # --- methods ---------------------------------------------------------------------------------

    def get_total_staking(self, params: Params) -> int:
        ledger = self._get_ledger()
        return sum(self._get_wrapper(ledger, a).total_delegation for a in ledger.get_validator_addresses())

    def get_median_raw_stake_snapshot(self, params: Params) -> dict[str, Any]:
        """The election as it would run now over the current records (Harmony: over the snapshot)."""
        ledger = self._get_ledger()
        wrappers = [self._get_wrapper(ledger, a) for a in ledger.get_validator_addresses()]
        config = self.backend.genesis.staking
        elected = compute_election(wrappers, config)
        median = compute_median([slot.raw_stake for slot in elected]) if elected else 0
        winners = [{"slot-owner": to_bech32(slot.validator), "bls-public-key": slot.public_key.hex(),
                    "raw-stake": fmt.to_dec(slot.raw_stake), "eposed-stake": fmt.to_dec(slot.effective_stake)}
                   for slot in elected]
        candidates = [{"validator": to_bech32(w.address), "keys-at-auction": [k.hex() for k in w.slot_pub_keys],
                       "stake": w.total_delegation} for w in wrappers if is_eligible(w)]
        return {"epos-median-stake": fmt.to_dec(median), "max-external-slots": config.external_slots,
                "epos-slot-winners": winners, "epos-slot-candidates": candidates}

    def get_elected_validator_addresses(self, params: Params) -> list[str]:
        return [to_bech32(address) for address in sorted(self._get_elected())]

    def get_validators(self, params: Params) -> dict[str, Any]:
        """The committee of this node's shard in ``epoch``, each member with its account balance."""
        epoch = read_quantity(get_param(params, 0, "epoch"), "epoch")
        state, _ = self._get_shard_state(epoch)
        chain = self.backend.get_chain()
        accounts = chain.get_state()
        validators = [{"address": to_bech32(slot.validator), "balance": accounts.get_balance(slot.validator)}
                      for slot in state.shards[self.backend.shard_id]]
        return {"shardID": self.backend.shard_id, "validators": validators}

    def get_validator_keys(self, params: Params) -> list[str]:
        epoch = read_quantity(get_param(params, 0, "epoch"), "epoch")
        state, _ = self._get_shard_state(epoch)
        return [slot.public_key.hex() for slot in state.shards[self.backend.shard_id]]

    def get_all_validator_addresses(self, params: Params) -> list[str]:
        return [to_bech32(address) for address in self._get_ledger().get_validator_addresses()]

    def get_validator_information(self, params: Params) -> dict[str, Any]:
        address = read_address(get_param(params, 0, "validator address"))
        ledger = self._get_ledger()
        number = int(self.backend.get_beacon().head.number)
        return self._format_information(ledger, self._get_wrapper(ledger, address), self._get_elected(), number)

    def get_validator_information_by_block_number(self, params: Params) -> dict[str, Any]:
        address = read_address(get_param(params, 0, "validator address"))
        number = read_block_number(get_param(params, 1, "block number"))
        ledger = self._get_ledger(number)
        return self._format_information(ledger, self._get_wrapper(ledger, address), self._get_elected(), number)

    def _get_page(self, ledger: StateStakingLedger, page: int) -> list[bytes]:
        addresses = list(ledger.get_validator_addresses())
        if page < -1:
            raise InvalidParams("page must be -1 (all) or a page number from 0")
        return addresses if page == -1 else addresses[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]

    def get_all_validator_information(self, params: Params) -> list[dict[str, Any]]:
        page = _read_page(get_param(params, 0, "page", required=False, default=-1))
        ledger = self._get_ledger()
        elected = self._get_elected()
        number = int(self.backend.get_beacon().head.number)
        return [self._format_information(ledger, self._get_wrapper(ledger, a), elected, number)
                for a in self._get_page(ledger, page)]

    def get_all_validator_information_by_block_number(self, params: Params) -> list[dict[str, Any]]:
        page = _read_page(get_param(params, 0, "page", required=False, default=-1))
        number = read_block_number(get_param(params, 1, "block number"))
        ledger = self._get_ledger(number)
        elected = self._get_elected()
        return [self._format_information(ledger, self._get_wrapper(ledger, a), elected, number)
                for a in self._get_page(ledger, page)]

    def get_validator_self_delegation(self, params: Params) -> int:
        address = read_address(get_param(params, 0, "validator address"))
        return self._get_wrapper(self._get_ledger(), address).self_delegation

    def get_validator_total_delegation(self, params: Params) -> int:
        address = read_address(get_param(params, 0, "validator address"))
        return self._get_wrapper(self._get_ledger(), address).total_delegation

    def get_all_delegation_information(self, params: Params) -> list[list[dict[str, Any]]]:
        page = _read_page(get_param(params, 0, "page", required=False, default=-1))
        ledger = self._get_ledger()
        return [[format_delegation(a, d) for d in self._get_wrapper(ledger, a).delegations]
                for a in self._get_page(ledger, page)]

    def _get_delegations_of(self, ledger: StateStakingLedger, delegator: bytes) -> list[dict[str, Any]]:
        found = []
        for validator in ledger.get_delegated_validators(delegator):
            wrapper = self._get_wrapper(ledger, validator)
            index = wrapper.find_delegation(delegator)
            if index is not None:
                found.append(format_delegation(validator, wrapper.delegations[index]))
        return found

    def get_delegations_by_delegator(self, params: Params) -> list[dict[str, Any]]:
        delegator = read_address(get_param(params, 0, "delegator address"))
        return self._get_delegations_of(self._get_ledger(), delegator)

    def get_delegations_by_delegator_by_block_number(self, params: Params) -> list[dict[str, Any]]:
        delegator = read_address(get_param(params, 0, "delegator address"))
        number = read_block_number(get_param(params, 1, "block number"))
        return self._get_delegations_of(self._get_ledger(number), delegator)

    def get_delegations_by_validator(self, params: Params) -> list[dict[str, Any]]:
        validator = read_address(get_param(params, 0, "validator address"))
        wrapper = self._get_ledger().get_validator(validator)
        return [] if wrapper is None else [format_delegation(validator, d) for d in wrapper.delegations]

    def get_delegation_by_delegator_and_validator(self, params: Params) -> dict[str, Any] | None:
        delegator = read_address(get_param(params, 0, "delegator address"))
        validator = read_address(get_param(params, 1, "validator address"))
        wrapper = self._get_ledger().get_validator(validator)
        index = None if wrapper is None else wrapper.find_delegation(delegator)
        if wrapper is None or index is None:
            return None
        return format_delegation(validator, wrapper.delegations[index])

    def get_signed_blocks(self, params: Params) -> int:
        address = read_address(get_param(params, 0, "validator address"))
        ledger = self._get_ledger()
        signed, _ = compute_signing_counts(self._get_wrapper(ledger, address), ledger.get_snapshot(address))
        return signed

    def _get_supply(self) -> tuple[Supply, int]:
        """The beacon's supply counters and what the staking system holds (stake, rewards, undelegations)."""
        ledger = self._get_ledger()
        locked = 0
        for address in ledger.get_validator_addresses():
            for d in self._get_wrapper(ledger, address).delegations:
                locked += d.amount + d.reward + d.pending_undelegation
        return ledger.get_supply(), locked

    def get_total_supply(self, params: Params) -> str:
        """Genesis plus minted minus burned, in ONE (18 decimals) as Harmony's ``numeric.Dec``.

        The counters are the beacon's: fees burned on other shards are not counted (the beacon
        does not learn them), so on a busy sharded network this slightly overstates the supply.
        """
        supply, _ = self._get_supply()
        return fmt.to_dec(supply.total)

    def get_circulating_supply(self, params: Params) -> str:
        """The total supply less what is held by staking (delegations, unclaimed rewards, undelegations)."""
        supply, locked = self._get_supply()
        return fmt.to_dec(max(0, supply.total - locked))

    def get_staking_network_info(self, params: Params) -> dict[str, Any]:
        supply, locked = self._get_supply()
        beacon = self.backend.get_beacon()
        schedule = EpochSchedule(self.backend.genesis.config.blocks_per_epoch)
        median = self.get_median_raw_stake_snapshot([])["epos-median-stake"]
        return {"total-supply": fmt.to_dec(supply.total), "circulating-supply": fmt.to_dec(max(0, supply.total - locked)),
                "epoch-last-block": schedule.get_last_block(int(beacon.head.epoch)),
                "total-staking": self.get_total_staking([]), "median-raw-stake": median}


def _read_page(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParams("page must be an integer (-1 for all)")
    return value
