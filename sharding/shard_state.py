"""The shard state: which BLS key slots serve on which shard in one epoch, and with what stake.

The beacon publishes it in the header of an epoch's last block (``Header.shard_state``); every
shard reads its committee for the next epoch from there. Its RLP follows Harmony's staking
``shard.State`` (reference §3.1)::

    [epoch, [[shard_id, [[validator_address(20), bls_public_key(48), stake], ...]], ...]]

with one difference: ``stake`` is an integer in atto, where Harmony stores ``EffectiveStake`` as an
18-decimal ``numeric.Dec`` (and nil, encoded as the empty string, for Harmony-operated slots: our 0).

Decoding is strict because these bytes come from a block: canonical RLP only, shard ids exactly
``0, 1, 2, ...`` in order, every shard non-empty, no key twice in the whole state, and bounded
counts, so a malicious header cannot make a node allocate without limit. Anything else is a
DecodingError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import rlp
from rlp.exceptions import RLPException

from consensus.quorum import Committee
from crypto.bls import PUBLIC_KEY_SIZE
from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.types.rlp_codec import decode_rlp
from harmony_node.types.sedes import address, bls_public_key, decode_field, uint, uint32, uint64

ADDRESS_SIZE = 20
MAX_SHARDS = 64
"""More shards than any Harmony network has had (mainnet: 4); bounds decoding."""
MAX_SLOTS_PER_SHARD = 1024
"""Harmony mainnet runs 250 slots per shard; four times that leaves room while bounding decoding."""
MAX_STAKE = 2**256 - 1
"""Stakes are atto amounts; total ONE supply is below 2**100, so this only refuses absurd encodings."""
MAX_SHARD_STATE_SIZE = MAX_SHARDS * MAX_SLOTS_PER_SHARD * 128
"""Upper bound on the encoded size (a slot encodes to < 128 bytes), checked before parsing."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One elected key slot: the BLS key that votes, the validator that owns it, its stake (atto)."""

    public_key: bytes
    validator: bytes
    stake: int

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, bytes) or len(self.public_key) != PUBLIC_KEY_SIZE:
            raise ValidationError(f"a slot key must be a {PUBLIC_KEY_SIZE}-byte BLS public key")
        if not isinstance(self.validator, bytes) or len(self.validator) != ADDRESS_SIZE:
            raise ValidationError(f"a slot's validator must be a {ADDRESS_SIZE}-byte address")
        if type(self.stake) is not int or not 0 <= self.stake <= MAX_STAKE:
            raise ValidationError(f"slot stake must be an integer in [0, 2**256), got {self.stake!r}")


@dataclass(frozen=True, slots=True)
class ShardState:
    """Every shard's slots for one epoch; ``shards[i]`` is shard ``i``'s committee, in voting order."""

    epoch: int
    shards: tuple[tuple[Slot, ...], ...]
    _shard_of: dict[bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.epoch) is not int or not 0 <= self.epoch < 2**64:
            raise ValidationError(f"epoch must be a uint64, got {self.epoch!r}")
        # Callers may pass lists; equality and hashing need the tuples the annotation promises.
        object.__setattr__(self, "shards", tuple(tuple(slots) for slots in self.shards))
        if not 1 <= len(self.shards) <= MAX_SHARDS:
            raise ValidationError(f"a shard state has 1 to {MAX_SHARDS} shards, got {len(self.shards)}")
        shard_of: dict[bytes, int] = {}
        for shard_id, slots in enumerate(self.shards):
            # A committee needs a member; a key in two places would vote twice.
            if not 1 <= len(slots) <= MAX_SLOTS_PER_SHARD:
                raise ValidationError(f"shard {shard_id} must have 1 to {MAX_SLOTS_PER_SHARD} slots, got {len(slots)}")
            for slot in slots:
                if slot.public_key in shard_of:
                    raise ValidationError(f"BLS key {slot.public_key.hex()[:16]}… holds more than one slot")
                shard_of[slot.public_key] = shard_id
        object.__setattr__(self, "_shard_of", shard_of)

    @property
    def num_shards(self) -> int:
        """How many shards (committees) this state has."""
        return len(self.shards)

    def get_committee(self, shard_id: int) -> Committee:
        """The voting committee of ``shard_id``: slot keys in order, voting power = stake.

        When every slot of the shard has stake 0 (genesis, or Harmony-operated keys only) each
        key gets power 1, so the quorum rule is Harmony's one-key-one-vote.
        """
        if not 0 <= shard_id < len(self.shards):
            raise ValidationError(f"shard {shard_id} does not exist (the state has {len(self.shards)})")
        slots = self.shards[shard_id]
        keys = tuple(slot.public_key for slot in slots)
        stakes = tuple(slot.stake for slot in slots)
        if not any(stakes):
            return Committee.with_equal_power(keys, shard_id, self.epoch)
        return Committee(shard_id, self.epoch, keys, stakes)

    def get_shard_of_key(self, public_key: bytes) -> int | None:
        """The shard whose committee holds ``public_key``, or None if it holds no slot."""
        return self._shard_of.get(public_key)

    def encode(self) -> bytes:
        """The RLP bytes that go into ``Header.shard_state``."""
        shards = [
            [shard_id, [[slot.validator, slot.public_key, slot.stake] for slot in slots]]
            for shard_id, slots in enumerate(self.shards)
        ]
        encoded: bytes = rlp.encode([self.epoch, shards])
        return encoded

    @classmethod
    def decode(cls, data: bytes) -> ShardState:
        """Parse ``encode``'s output; DecodingError for anything malformed or out of bounds."""
        if len(data) > MAX_SHARD_STATE_SIZE:
            raise DecodingError(f"shard state is {len(data)} bytes, more than {MAX_SHARD_STATE_SIZE}")
        try:
            # Linear, unlike rlp.decode (quadratic in a list's items); 5 deep: state, shards, shard, slots, slot.
            item = decode_rlp(data, max_depth=5)
        except (RLPException, DecodingError) as error:
            raise DecodingError(f"shard state is not canonical RLP: {error}") from error
        epoch_item, shard_items = _decode_list(item, 2, "shard state")
        epoch = decode_field(uint64, epoch_item, "shard state epoch")
        if not isinstance(shard_items, list) or not 1 <= len(shard_items) <= MAX_SHARDS:
            raise DecodingError(f"shard state needs a list of 1 to {MAX_SHARDS} shards")
        shards = tuple(_decode_shard(shard_item, shard_id) for shard_id, shard_item in enumerate(shard_items))
        try:
            return cls(epoch, shards)
        except ValidationError as error:  # duplicate keys: well-formed bytes, invalid content
            raise DecodingError(f"invalid shard state: {error}") from error


def _decode_list(item: object, length: int, what: str) -> list[object]:
    if not isinstance(item, list) or len(item) != length:
        raise DecodingError(f"{what} must be a list of {length} items")
    return item


def _decode_shard(item: object, expected_shard_id: int) -> tuple[Slot, ...]:
    shard_id_item, slot_items = _decode_list(item, 2, f"shard {expected_shard_id}")
    shard_id = decode_field(uint32, shard_id_item, f"shard {expected_shard_id} id")
    if shard_id != expected_shard_id:
        raise DecodingError(f"shard ids must be 0, 1, 2, … in order: found {shard_id} at {expected_shard_id}")
    if not isinstance(slot_items, list) or not 1 <= len(slot_items) <= MAX_SLOTS_PER_SHARD:
        raise DecodingError(f"shard {shard_id} needs a list of 1 to {MAX_SLOTS_PER_SHARD} slots")
    return tuple(_decode_slot(slot_item, shard_id, index) for index, slot_item in enumerate(slot_items))


def _decode_slot(item: object, shard_id: int, index: int) -> Slot:
    where = f"shard {shard_id} slot {index}"
    validator_item, key_item, stake_item = _decode_list(item, 3, where)
    validator = decode_field(address, validator_item, f"{where} validator")
    public_key = decode_field(bls_public_key, key_item, f"{where} key")
    stake = decode_field(uint, stake_item, f"{where} stake")
    if stake > MAX_STAKE:
        raise DecodingError(f"{where} stake does not fit 256 bits")
    return Slot(public_key, validator, stake)


def compute_genesis_shard_state(committees: Sequence[Sequence[bytes]]) -> ShardState:
    """Epoch 0's shard state: ``committees[i]`` are shard ``i``'s genesis BLS keys, in voting order.

    Genesis keys have no staking record yet: their validator address is all zeros and their stake
    0, so every key has equal voting power (see ``ShardState.get_committee``).
    """
    return ShardState(
        0, tuple(tuple(Slot(key, bytes(ADDRESS_SIZE), 0) for key in keys) for keys in committees)
    )
