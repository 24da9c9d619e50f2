"""What the staking rules read and write: the interface the chain core's state implements.

The rules in this package are pure functions of a ``StakingLedger`` and their arguments; the chain
core passes its state object, tests pass a dictionary-backed double. Everything that must be the
same on every node (balances, validator records, the key registry, supply counters, applied
slashes) goes through this interface, so it is all part of the state the chain commits to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from staking.records import ValidatorWrapper


@dataclass(frozen=True, slots=True)
class Supply:
    """Counters the conservation law is checked against (all in atto)."""

    genesis: int
    minted: int = 0
    """Every block reward ever paid."""
    burned: int = 0
    """Transaction fees and the burned part of slashes."""
    issuance_year: int = 0
    minted_in_year: int = 0
    """Rewards minted in ``issuance_year``; the annual cap applies to this."""

    @property
    def total(self) -> int:
        return self.genesis + self.minted - self.burned


class StakingLedger(Protocol):
    """Beacon-chain state as the staking rules see it."""

    def get_balance(self, address: bytes) -> int:
        ...

    def set_balance(self, address: bytes, amount: int) -> None:
        ...

    def get_validator(self, address: bytes) -> ValidatorWrapper | None:
        """The current record of the validator at ``address``, or None if there is none."""
        ...

    def set_validator(self, wrapper: ValidatorWrapper) -> None:
        """Store ``wrapper``; the first store of an address adds it to the validator list."""
        ...

    def get_validator_addresses(self) -> Sequence[bytes]:
        """Every validator ever created, in creation order."""
        ...

    def get_snapshot(self, address: bytes) -> ValidatorWrapper | None:
        """The validator's record as it was when the current epoch began (None if created since)."""
        ...

    def get_key_owner(self, public_key: bytes) -> bytes | None:
        """The validator whose slot keys include ``public_key``, or None."""
        ...

    def set_key_owner(self, public_key: bytes, owner: bytes | None) -> None:
        ...

    def get_delegated_validators(self, delegator: bytes) -> Sequence[bytes]:
        """Validators ``delegator`` has (or had) a delegation with, in the order it first delegated."""
        ...

    def add_delegated_validator(self, delegator: bytes, validator: bytes) -> None:
        """Record that ``delegator`` delegates to ``validator``; a second call changes nothing."""
        ...

    def get_supply(self) -> Supply:
        ...

    def set_supply(self, supply: Supply) -> None:
        ...

    def is_slash_applied(self, evidence_id: bytes) -> bool:
        ...

    def mark_slash_applied(self, evidence_id: bytes) -> None:
        ...
