"""Harmony staking transactions: ``[directive, stakeMsg, nonce, gasPrice, gasLimit, v, r, s]``.

Reference §4.3 (``staking/types/transaction.go``, ``messages.go``). The signature is EIP-155 over
``[directive, stakeMsg, nonce, gasPrice, gasLimit, chainID, 0, 0]`` with Harmony's chain id; the hash
is keccak256 of the signed RLP. Directives 0-4 are Harmony's; 5 (CompoundRewards) is ours and
carries the same message as CollectRewards.

Only the wire format lives here. Whether a message is allowed (limits, rates, stake) is decided
by the staking rules.

Rates (``numeric.Dec``) are integers scaled by 10**18 and encode as the one-element list ``[int]``.
EditValidator's optional fields are Go pointers tagged ``rlp:"nil"``: an absent rate encodes as the
empty list, absent amounts and keys as the empty string. Its trailing ``EPOSStatus`` byte is absent
in the 8-field form pyhmy emits; ``None`` keeps that form on re-encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import Union

import rlp
from rlp.sedes import raw

from crypto.hash import keccak256
from crypto.secp256k1 import decode_v
from harmony_node.exceptions import DecodingError, InvalidSignature
from harmony_node.types.eip155 import compute_signature, compute_signing_hash, recover_signer
from harmony_node.types.rlp_codec import Encodable, decode_rlp_string, split_rlp_list
from harmony_node.types.sedes import decode_field, uint, uint8, uint64

DEC_PRECISION = 10**18
"""``numeric.Dec`` fixed point: 1.0 is 10**18."""
MAX_MESSAGE_DEPTH = 3
"""Deepest list nesting inside a valid stakeMsg: message -> CommissionRates -> [rate]. Decoding stops
there, so a hostile, deeply nested message is refused before it can exhaust Python's recursion limit."""


class Directive(IntEnum):
    """The kind of a staking transaction; it selects the shape of ``stakeMsg``."""

    CREATE_VALIDATOR = 0
    EDIT_VALIDATOR = 1
    DELEGATE = 2
    UNDELEGATE = 3
    COLLECT_REWARDS = 4
    COMPOUND_REWARDS = 5


class EPoSStatus(IntEnum):
    """Validator eligibility as EditValidator sets it (``effective.Eligibility``)."""

    NIL = 0
    ACTIVE = 1
    INACTIVE = 2
    BANNED = 3


RawItem = Union[bytes, list["RawItem"]]


def _bytes(item: object, what: str, sizes: tuple[int, ...] | None = None) -> bytes:
    if not isinstance(item, bytes):
        raise DecodingError(f"{what} must be a byte string")
    if sizes is not None and len(item) not in sizes:
        raise DecodingError(f"{what} must be {' or '.join(map(str, sizes))} bytes, got {len(item)}")
    return item


def _int(item: object, what: str) -> int:
    data = _bytes(item, what)
    if data[:1] == b"\x00":
        raise DecodingError(f"{what} has leading zero bytes")
    return int.from_bytes(data, "big")


def _list(item: object, what: str, length: int | None = None) -> list[object]:
    # rlp.Serializable freezes nested lists into tuples; both mean an RLP list.
    if not isinstance(item, (list, tuple)):
        raise DecodingError(f"{what} must be a list")
    if length is not None and len(item) != length:
        raise DecodingError(f"{what} must have {length} items, got {len(item)}")
    return list(item)


def _text(item: object, what: str) -> str:
    try:
        return _bytes(item, what).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodingError(f"{what} is not valid UTF-8") from exc


def _dec(item: object, what: str) -> int:
    return _int(_list(item, what, 1)[0], what)


def _encode_int(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass(frozen=True, slots=True)
class Description:
    """A validator's public profile: ``[Name, Identity, Website, SecurityContact, Details]``."""

    name: str
    identity: str
    website: str
    security_contact: str
    details: str

    def to_rlp(self) -> RawItem:
        return [s.encode() for s in (self.name, self.identity, self.website, self.security_contact, self.details)]

    @classmethod
    def from_rlp(cls, item: object) -> Description:
        fields = _list(item, "description", 5)
        return cls(*(_text(f, "description field") for f in fields))


@dataclass(frozen=True, slots=True)
class CommissionRates:
    """Rates scaled by 10**18 (0.1 == 10**17)."""

    rate: int
    max_rate: int
    max_change_rate: int

    def to_rlp(self) -> RawItem:
        return [[_encode_int(self.rate)], [_encode_int(self.max_rate)], [_encode_int(self.max_change_rate)]]

    @classmethod
    def from_rlp(cls, item: object) -> CommissionRates:
        rates = _list(item, "commission rates", 3)
        return cls(*(_dec(r, "commission rate") for r in rates))


@dataclass(frozen=True, slots=True)
class CreateValidator:
    """Register a validator with its first slot keys (each with its proof of possession) and self-stake."""

    validator_address: bytes
    description: Description
    commission_rates: CommissionRates
    min_self_delegation: int
    max_total_delegation: int
    slot_pub_keys: tuple[bytes, ...]
    slot_key_sigs: tuple[bytes, ...]
    amount: int

    directive = Directive.CREATE_VALIDATOR

    def to_rlp(self) -> RawItem:
        return [
            self.validator_address,
            self.description.to_rlp(),
            self.commission_rates.to_rlp(),
            _encode_int(self.min_self_delegation),
            _encode_int(self.max_total_delegation),
            list(self.slot_pub_keys),
            list(self.slot_key_sigs),
            _encode_int(self.amount),
        ]

    @classmethod
    def from_rlp(cls, item: object) -> CreateValidator:
        f = _list(item, "CreateValidator", 8)
        return cls(
            _bytes(f[0], "validator address", (20,)),
            Description.from_rlp(f[1]),
            CommissionRates.from_rlp(f[2]),
            _int(f[3], "min self delegation"),
            _int(f[4], "max total delegation"),
            tuple(_bytes(k, "slot public key", (48,)) for k in _list(f[5], "slot public keys")),
            tuple(_bytes(s, "slot key signature", (96,)) for s in _list(f[6], "slot key signatures")),
            _int(f[7], "amount"),
        )


@dataclass(frozen=True, slots=True)
class EditValidator:
    """Change a validator's profile, rates, limits, keys or status; every ``None`` field means "no change".

    As in Go, an absent amount and an amount of 0 share one encoding (the empty string), so 0 decodes
    as ``None``.
    """

    validator_address: bytes
    description: Description
    commission_rate: int | None
    min_self_delegation: int | None
    max_total_delegation: int | None
    slot_key_to_remove: bytes | None
    slot_key_to_add: bytes | None
    slot_key_to_add_sig: bytes | None
    status: int | None = None
    """EPOSStatus; None when the message has the 8-field form (no status field at all)."""

    directive = Directive.EDIT_VALIDATOR

    def to_rlp(self) -> RawItem:
        fields: list[RawItem] = [
            self.validator_address,
            self.description.to_rlp(),
            [] if self.commission_rate is None else [_encode_int(self.commission_rate)],
            b"" if self.min_self_delegation is None else _encode_int(self.min_self_delegation),
            b"" if self.max_total_delegation is None else _encode_int(self.max_total_delegation),
            self.slot_key_to_remove or b"",
            self.slot_key_to_add or b"",
            self.slot_key_to_add_sig or b"",
        ]
        if self.status is not None:
            fields.append(_encode_int(self.status))
        return fields

    @classmethod
    def from_rlp(cls, item: object) -> EditValidator:
        f = _list(item, "EditValidator")
        if len(f) not in (8, 9):
            raise DecodingError(f"EditValidator must have 8 or 9 items, got {len(f)}")
        rate_item = _list(f[2], "commission rate")
        if len(rate_item) > 1:
            raise DecodingError("commission rate must be empty or one number")
        status = None
        if len(f) == 9:
            status = _int(f[8], "EPoS status")
            if status > max(EPoSStatus):
                raise DecodingError(f"unknown EPoS status {status}")

        def optional_int(value: object, what: str) -> int | None:
            number = _int(value, what)
            return number if _bytes(value, what) else None

        def optional_bytes(value: object, what: str, size: int) -> bytes | None:
            data = _bytes(value, what, (0, size))
            return data or None

        return cls(
            _bytes(f[0], "validator address", (20,)),
            Description.from_rlp(f[1]),
            _int(rate_item[0], "commission rate") if rate_item else None,
            optional_int(f[3], "min self delegation"),
            optional_int(f[4], "max total delegation"),
            optional_bytes(f[5], "slot key to remove", 48),
            optional_bytes(f[6], "slot key to add", 48),
            optional_bytes(f[7], "slot key to add signature", 96),
            status,
        )


@dataclass(frozen=True, slots=True)
class Delegate:
    """Stake ``amount`` atto from the delegator with the validator."""

    delegator_address: bytes
    validator_address: bytes
    amount: int

    directive = Directive.DELEGATE

    def to_rlp(self) -> RawItem:
        return [self.delegator_address, self.validator_address, _encode_int(self.amount)]

    @classmethod
    def from_rlp(cls, item: object) -> Delegate:
        f = _list(item, cls.__name__, 3)
        return cls(
            _bytes(f[0], "delegator address", (20,)),
            _bytes(f[1], "validator address", (20,)),
            _int(f[2], "amount"),
        )


@dataclass(frozen=True, slots=True)
class Undelegate(Delegate):
    """Withdraw ``amount`` atto of the delegator's stake from the validator (unlocks after a delay)."""

    directive = Directive.UNDELEGATE


@dataclass(frozen=True, slots=True)
class CollectRewards:
    """Pay the delegator's accrued rewards, from every validator, to its balance."""

    delegator_address: bytes

    directive = Directive.COLLECT_REWARDS

    def to_rlp(self) -> RawItem:
        return [self.delegator_address]

    @classmethod
    def from_rlp(cls, item: object) -> CollectRewards:
        f = _list(item, cls.__name__, 1)
        return cls(_bytes(f[0], "delegator address", (20,)))


@dataclass(frozen=True, slots=True)
class CompoundRewards(CollectRewards):
    """Ours (directive 5): re-stake the delegator's accrued rewards into the delegations that earned them."""

    directive = Directive.COMPOUND_REWARDS


StakeMessage = Union[CreateValidator, EditValidator, Delegate, Undelegate, CollectRewards, CompoundRewards]

_MESSAGE_TYPES: dict[int, type[CreateValidator] | type[EditValidator] | type[Delegate] | type[CollectRewards]] = {
    Directive.CREATE_VALIDATOR: CreateValidator,
    Directive.EDIT_VALIDATOR: EditValidator,
    Directive.DELEGATE: Delegate,
    Directive.UNDELEGATE: Undelegate,
    Directive.COLLECT_REWARDS: CollectRewards,
    Directive.COMPOUND_REWARDS: CompoundRewards,
}


def decode_stake_message(directive: int, item: object) -> StakeMessage:
    """Parse the ``stakeMsg`` of a transaction with ``directive``; DecodingError if it does not fit."""
    message_type = _MESSAGE_TYPES.get(directive)
    if message_type is None:
        raise DecodingError(f"unknown staking directive {directive}")
    return message_type.from_rlp(item)


class StakingTransaction(rlp.Serializable):
    """A signed staking transaction; ``message`` holds the stakeMsg exactly as it was encoded."""

    fields = [
        ("directive", uint8),
        ("message", raw),
        ("nonce", uint64),
        ("gas_price", uint),
        ("gas_limit", uint64),
        ("v", uint),
        ("r", uint),
        ("s", uint),
    ]

    @cached_property
    def hash(self) -> bytes:
        return keccak256(rlp.encode(self))

    @cached_property
    def stake_message(self) -> StakeMessage:
        """The typed message (raises DecodingError; always succeeds on a decoded transaction)."""
        return decode_stake_message(self.directive, self.message)

    @property
    def chain_id(self) -> int | None:
        return decode_v(self.v)[1]

    def signing_hash(self, chain_id: int | None) -> bytes:
        fields: list[Encodable] = [self.directive, self.message, self.nonce, self.gas_price, self.gas_limit]
        return compute_signing_hash(fields, chain_id)

    @cached_property
    def sender(self) -> bytes:
        """The 20-byte address that signed this transaction (raises InvalidSignature).

        Harmony's staking signer is always EIP-155 (``staking/types/sign.go``): a pre-EIP-155 ``v`` of
        27/28 derives chain id 0, which matches no network, so such a signature is refused here too.
        """
        if self.chain_id is None:
            raise InvalidSignature("a staking transaction must be signed for a chain id (EIP-155)")
        return recover_signer(self)

    def recover_sender(self) -> bytes:
        """The signer's address; raises InvalidSignature. Computed once per object."""
        return self.sender


def sign_staking_transaction(
    message: StakeMessage, *, nonce: int, gas_price: int, gas_limit: int, private_key: bytes, chain_id: int
) -> StakingTransaction:
    """Build and sign a staking transaction carrying ``message``."""
    unsigned = StakingTransaction(int(message.directive), message.to_rlp(), nonce, gas_price, gas_limit, 0, 0, 0)
    v, r, s = compute_signature(unsigned, private_key, chain_id)
    return unsigned.copy(v=v, r=r, s=s)


def _decode_item(item: bytes, depth: int) -> RawItem:
    """Decode one encoded item into bytes / nested lists, refusing lists nested deeper than ``depth``."""
    if item[0] < 0xC0:
        return decode_rlp_string(item)
    if depth == 0:
        raise DecodingError("stake message is nested deeper than any staking message")
    return [_decode_item(sub, depth - 1) for sub in split_rlp_list(item)]


def decode_staking_transaction(raw_bytes: bytes) -> StakingTransaction:
    """Decode a staking transaction; DecodingError for bad RLP, unknown directives or bad messages.

    Only the canonical encoding is accepted, so ``tx.hash`` (keccak of these bytes) is the hash any
    other node computes for the same transaction.
    """
    items = split_rlp_list(raw_bytes)
    if len(items) != 8:
        raise DecodingError(f"expected a list of 8 items, got {len(items)}")
    tx = StakingTransaction(
        directive=decode_field(uint8, decode_rlp_string(items[0]), "directive"),
        message=_decode_item(items[1], MAX_MESSAGE_DEPTH),
        nonce=decode_field(uint64, decode_rlp_string(items[2]), "nonce"),
        gas_price=decode_field(uint, decode_rlp_string(items[3]), "gas price"),
        gas_limit=decode_field(uint64, decode_rlp_string(items[4]), "gas limit"),
        v=decode_field(uint, decode_rlp_string(items[5]), "v"),
        r=decode_field(uint, decode_rlp_string(items[6]), "r"),
        s=decode_field(uint, decode_rlp_string(items[7]), "s"),
    )
    tx.stake_message  # noqa: B018 - parse now so a bad message is rejected at the edge
    # rlp's own encoding cache: re-encoding (block bodies, DeriveSha, the hash) reuses these bytes.
    tx._cached_rlp = raw_bytes
    return tx


def encode_staking_transaction(tx: StakingTransaction) -> bytes:
    """The transaction's RLP bytes (what ``hmy_sendRawStakingTransaction`` carries)."""
    encoded: bytes = rlp.encode(tx)
    return encoded
