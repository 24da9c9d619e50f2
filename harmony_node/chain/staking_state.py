"""The beacon chain's staking state: ``staking.ledger.StakingLedger`` over the state trie.

Balances are the accounts'; everything else is a record in the same trie (``StateDB.get_record``),
so the state root a block commits to covers validators, delegations, the key registry and the
supply counters, and a node that imports a block ends with exactly the staking state every other
node has. Records are RLP; the keys below never collide with each other or with accounts.

    staking/validators              RLP list of validator addresses, in creation order
    staking/validator/<address>     ValidatorWrapper.encode()
    staking/snapshot/<address>      the validator record as the current epoch began
    staking/key/<BLS public key>    the address of the validator whose slot key it is
    staking/delegations/<address>   RLP list of validators this delegator delegates to
    staking/supply                  RLP [genesis, minted, burned, issuance year, minted in year]
    staking/slash/<evidence id>     marks an applied double-sign slash
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import rlp

from harmony_node.exceptions import DatabaseError, DecodingError
from harmony_node.state.state_db import StateDB
from staking.ledger import Supply
from staking.records import ValidatorWrapper

_VALIDATORS = b"staking/validators"
_VALIDATOR = b"staking/validator/"
_SNAPSHOT = b"staking/snapshot/"
_KEY = b"staking/key/"
_DELEGATIONS = b"staking/delegations/"
_SUPPLY = b"staking/supply"
_SLASH = b"staking/slash/"


def _decode_addresses(data: bytes | None, what: str) -> list[bytes]:
    if data is None:
        return []
    try:
        items = rlp.decode(data)
    except rlp.DecodingError as exc:
        raise DatabaseError(f"corrupt {what}: {exc}") from exc
    if not isinstance(items, list) or not all(isinstance(i, bytes) and len(i) == 20 for i in items):
        raise DatabaseError(f"corrupt {what}")
    return list(items)


def _decode_wrapper(data: bytes | None, what: str) -> ValidatorWrapper | None:
    if data is None:
        return None
    try:
        return ValidatorWrapper.decode(data)
    except DecodingError as exc:
        raise DatabaseError(f"corrupt {what}: {exc}") from exc


class StateStakingLedger:
    """``StakingLedger`` on a beacon ``StateDB``; changes reach disk when the block's state is committed."""

    def __init__(self, state: StateDB, genesis_supply: int) -> None:
        self.state = state
        self.genesis_supply = genesis_supply

    def get_balance(self, address: bytes) -> int:
        return self.state.get_balance(address)

    def set_balance(self, address: bytes, amount: int) -> None:
        if amount < 0:
            raise ValueError("a balance cannot be negative")
        self.state.set_account(address, replace(self.state.get_account(address), balance=amount))

    def get_validator(self, address: bytes) -> ValidatorWrapper | None:
        return _decode_wrapper(self.state.get_record(_VALIDATOR + address), "validator record")

    def set_validator(self, wrapper: ValidatorWrapper) -> None:
        if self.state.get_record(_VALIDATOR + wrapper.address) is None:
            addresses = self.get_validator_addresses()
            self.state.set_record(_VALIDATORS, rlp.encode([*addresses, wrapper.address]))
        self.state.set_record(_VALIDATOR + wrapper.address, wrapper.encode())

    def get_validator_addresses(self) -> Sequence[bytes]:
        return _decode_addresses(self.state.get_record(_VALIDATORS), "validator list")

    def get_snapshot(self, address: bytes) -> ValidatorWrapper | None:
        return _decode_wrapper(self.state.get_record(_SNAPSHOT + address), "validator snapshot")

    def take_snapshots(self) -> None:
        """Record every validator as it is now: done when an epoch begins."""
        for address in self.get_validator_addresses():
            self.state.set_record(_SNAPSHOT + address, self.state.get_record(_VALIDATOR + address))

    def get_key_owner(self, public_key: bytes) -> bytes | None:
        return self.state.get_record(_KEY + public_key)

    def set_key_owner(self, public_key: bytes, owner: bytes | None) -> None:
        self.state.set_record(_KEY + public_key, owner)

    def get_delegated_validators(self, delegator: bytes) -> Sequence[bytes]:
        return _decode_addresses(self.state.get_record(_DELEGATIONS + delegator), "delegation index")

    def add_delegated_validator(self, delegator: bytes, validator: bytes) -> None:
        known = list(self.get_delegated_validators(delegator))
        if validator not in known:
            self.state.set_record(_DELEGATIONS + delegator, rlp.encode([*known, validator]))

    def get_supply(self) -> Supply:
        data = self.state.get_record(_SUPPLY)
        if data is None:
            return Supply(genesis=self.genesis_supply)
        try:
            values = [int.from_bytes(item, "big") for item in rlp.decode(data)]
            return Supply(*values)
        except (rlp.DecodingError, TypeError) as exc:
            raise DatabaseError(f"corrupt supply record: {exc}") from exc

    def set_supply(self, supply: Supply) -> None:
        self.state.set_record(_SUPPLY, rlp.encode([supply.genesis, supply.minted, supply.burned,
                                                   supply.issuance_year, supply.minted_in_year]))

    def is_slash_applied(self, evidence_id: bytes) -> bool:
        return self.state.get_record(_SLASH + evidence_id) is not None

    def mark_slash_applied(self, evidence_id: bytes) -> None:
        self.state.set_record(_SLASH + evidence_id, b"\x01")
