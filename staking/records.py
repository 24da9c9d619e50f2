"""Validator and delegation records, as the beacon chain's state stores them.

Reference §6.1: a ``ValidatorWrapper`` holds the validator, its delegations (index 0 is always the
self-delegation), its signing counters and its lifetime reward. Records are immutable; a rule that
changes one returns a new one (``dataclasses.replace``), so a rejected transaction cannot leave a
half-edited record behind. The RLP encoding is ours (nothing outside a node reads it) and exact:
decoding what was encoded gives the same record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import rlp

from harmony_node.exceptions import DecodingError
from harmony_node.types.staking_transaction import CommissionRates, Description, EPoSStatus

RawItem = bytes | list["RawItem"]


def _encode_int(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _decode_int(item: object, what: str) -> int:
    if not isinstance(item, bytes):
        raise DecodingError(f"{what} must be a byte string")
    if item[:1] == b"\x00":
        raise DecodingError(f"{what} has leading zero bytes")
    return int.from_bytes(item, "big")


def _decode_list(item: object, what: str, length: int | None = None) -> list[object]:
    if not isinstance(item, list):
        raise DecodingError(f"{what} must be a list")
    if length is not None and len(item) != length:
        raise DecodingError(f"{what} must have {length} items, got {len(item)}")
    return item


def _decode_bytes(item: object, what: str, size: int) -> bytes:
    if not isinstance(item, bytes) or len(item) != size:
        raise DecodingError(f"{what} must be {size} bytes")
    return item


@dataclass(frozen=True, slots=True)
class Undelegation:
    """Stake withdrawn in ``epoch``; paid to the delegator once the lock period has passed."""

    amount: int
    epoch: int


@dataclass(frozen=True, slots=True)
class Delegation:
    """One delegator's stake with one validator, its accrued reward and its pending undelegations."""

    delegator: bytes
    amount: int
    reward: int = 0
    undelegations: tuple[Undelegation, ...] = ()

    @property
    def pending_undelegation(self) -> int:
        return sum(u.amount for u in self.undelegations)

    def to_rlp(self) -> RawItem:
        return [self.delegator, _encode_int(self.amount), _encode_int(self.reward),
                [[_encode_int(u.amount), _encode_int(u.epoch)] for u in self.undelegations]]

    @classmethod
    def from_rlp(cls, item: object) -> Delegation:
        f = _decode_list(item, "delegation", 4)
        undelegations = tuple(
            Undelegation(_decode_int(u[0], "undelegation amount"), _decode_int(u[1], "undelegation epoch"))
            for u in (_decode_list(x, "undelegation", 2) for x in _decode_list(f[3], "undelegations"))
        )
        return cls(_decode_bytes(f[0], "delegator", 20), _decode_int(f[1], "amount"),
                   _decode_int(f[2], "reward"), undelegations)


@dataclass(frozen=True, slots=True)
class ValidatorWrapper:
    """A validator with everything staked on it (Harmony's ``ValidatorWrapper``)."""

    address: bytes
    slot_pub_keys: tuple[bytes, ...]
    min_self_delegation: int
    max_total_delegation: int
    status: EPoSStatus
    rates: CommissionRates
    rate_update_height: int
    """Block of the last commission change (Harmony's ``Commission.UpdateHeight``)."""
    description: Description
    creation_height: int
    delegations: tuple[Delegation, ...]
    """Index 0 is the validator's own stake; it is never removed, even at zero."""
    last_epoch_in_committee: int = 0
    blocks_to_sign: int = 0
    blocks_signed: int = 0
    lifetime_reward: int = 0

    @property
    def total_delegation(self) -> int:
        return sum(d.amount for d in self.delegations)

    @property
    def self_delegation(self) -> int:
        return self.delegations[0].amount

    def find_delegation(self, delegator: bytes) -> int | None:
        """Index of ``delegator``'s delegation, or None."""
        for index, delegation in enumerate(self.delegations):
            if delegation.delegator == delegator:
                return index
        return None

    def with_delegation(self, index: int, delegation: Delegation) -> ValidatorWrapper:
        """This record with delegation ``index`` replaced (or appended when ``index`` is the length)."""
        delegations = list(self.delegations)
        if index == len(delegations):
            delegations.append(delegation)
        else:
            delegations[index] = delegation
        return replace(self, delegations=tuple(delegations))

    def with_delegations(self, delegations: Sequence[Delegation]) -> ValidatorWrapper:
        return replace(self, delegations=tuple(delegations))

    def encode(self) -> bytes:
        return rlp.encode([
            self.address,
            list(self.slot_pub_keys),
            _encode_int(self.min_self_delegation),
            _encode_int(self.max_total_delegation),
            _encode_int(self.status),
            self.rates.to_rlp(),
            _encode_int(self.rate_update_height),
            self.description.to_rlp(),
            _encode_int(self.creation_height),
            [d.to_rlp() for d in self.delegations],
            _encode_int(self.last_epoch_in_committee),
            _encode_int(self.blocks_to_sign),
            _encode_int(self.blocks_signed),
            _encode_int(self.lifetime_reward),
        ])

    @classmethod
    def decode(cls, data: bytes) -> ValidatorWrapper:
        try:
            item = rlp.decode(data)
        except rlp.DecodingError as exc:
            raise DecodingError(f"validator record is not RLP: {exc}") from exc
        f = _decode_list(item, "validator record", 14)
        status = _decode_int(f[4], "status")
        if status > max(EPoSStatus):
            raise DecodingError(f"unknown validator status {status}")
        delegations = tuple(Delegation.from_rlp(d) for d in _decode_list(f[9], "delegations"))
        if not delegations:
            raise DecodingError("a validator record has at least its self-delegation")
        return cls(
            address=_decode_bytes(f[0], "validator address", 20),
            slot_pub_keys=tuple(_decode_bytes(k, "slot key", 48) for k in _decode_list(f[1], "slot keys")),
            min_self_delegation=_decode_int(f[2], "min self delegation"),
            max_total_delegation=_decode_int(f[3], "max total delegation"),
            status=EPoSStatus(status),
            rates=CommissionRates.from_rlp(f[5]),
            rate_update_height=_decode_int(f[6], "rate update height"),
            description=Description.from_rlp(f[7]),
            creation_height=_decode_int(f[8], "creation height"),
            delegations=delegations,
            last_epoch_in_committee=_decode_int(f[10], "last epoch in committee"),
            blocks_to_sign=_decode_int(f[11], "blocks to sign"),
            blocks_signed=_decode_int(f[12], "blocks signed"),
            lifetime_reward=_decode_int(f[13], "lifetime reward"),
        )
