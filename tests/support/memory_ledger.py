"""A dictionary-backed ``StakingLedger``: the test double for the pure staking rules.

It keeps exactly what the interface promises and can add up every coin it holds, which is what
the conservation checks need. The chain core's state implements the same interface on LevelDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from staking.ledger import Supply
from staking.records import ValidatorWrapper


@dataclass
class MemoryLedger:
    supply: Supply
    balances: dict[bytes, int] = field(default_factory=dict)
    validators: dict[bytes, ValidatorWrapper] = field(default_factory=dict)
    snapshots: dict[bytes, ValidatorWrapper] = field(default_factory=dict)
    key_owners: dict[bytes, bytes] = field(default_factory=dict)
    delegated: dict[bytes, list[bytes]] = field(default_factory=dict)
    applied_slashes: set[bytes] = field(default_factory=set)

    @classmethod
    def with_balances(cls, balances: dict[bytes, int]) -> MemoryLedger:
        return cls(Supply(genesis=sum(balances.values())), balances=dict(balances))

    def get_balance(self, address: bytes) -> int:
        return self.balances.get(address, 0)

    def set_balance(self, address: bytes, amount: int) -> None:
        assert amount >= 0, "a rule tried to make a balance negative"
        self.balances[address] = amount

    def get_validator(self, address: bytes) -> ValidatorWrapper | None:
        return self.validators.get(address)

    def set_validator(self, wrapper: ValidatorWrapper) -> None:
        self.validators[wrapper.address] = wrapper

    def get_validator_addresses(self) -> Sequence[bytes]:
        return list(self.validators)

    def get_snapshot(self, address: bytes) -> ValidatorWrapper | None:
        return self.snapshots.get(address)

    def take_snapshots(self) -> None:
        """What the chain does when an epoch begins."""
        self.snapshots = dict(self.validators)

    def get_key_owner(self, public_key: bytes) -> bytes | None:
        return self.key_owners.get(public_key)

    def set_key_owner(self, public_key: bytes, owner: bytes | None) -> None:
        if owner is None:
            self.key_owners.pop(public_key, None)
        else:
            self.key_owners[public_key] = owner

    def get_delegated_validators(self, delegator: bytes) -> Sequence[bytes]:
        return list(self.delegated.get(delegator, ()))

    def add_delegated_validator(self, delegator: bytes, validator: bytes) -> None:
        known = self.delegated.setdefault(delegator, [])
        if validator not in known:
            known.append(validator)

    def get_supply(self) -> Supply:
        return self.supply

    def set_supply(self, supply: Supply) -> None:
        self.supply = supply

    def is_slash_applied(self, evidence_id: bytes) -> bool:
        return evidence_id in self.applied_slashes

    def mark_slash_applied(self, evidence_id: bytes) -> None:
        self.applied_slashes.add(evidence_id)

    def compute_holdings(self) -> int:
        """Σ balances + Σ delegations + Σ unclaimed rewards + Σ pending undelegations."""
        staked = sum(d.amount + d.reward + d.pending_undelegation
                     for w in self.validators.values() for d in w.delegations)
        return sum(self.balances.values()) + staked
