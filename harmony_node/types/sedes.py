"""Named RLP sedes shared by the wire types, so every type spells a field's encoding the same way.

Each sedes checks both directions like geth's RLP does for the Go field type: integers are minimal
big-endian (no leading zero byte, zero is the empty string) and bounded by their Go width, byte arrays
have their exact length. Encoding a value out of range raises ``rlp.SerializationError``; decoding one
raises ``rlp.DeserializationError`` (decoders translate it to our ``DecodingError``).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from rlp.exceptions import DeserializationError, SerializationError
from rlp.sedes import Binary

from harmony_node.exceptions import DecodingError

T_co = TypeVar("T_co", covariant=True)


class FieldSedes(Protocol[T_co]):
    """What decoders need of a sedes: turn one decoded RLP item into a field value."""

    def deserialize(self, serial: object) -> T_co: ...


class UnsignedInt:
    """A Go unsigned integer of ``bits`` bits (``None``: ``*big.Int``, unbounded)."""

    def __init__(self, bits: int | None) -> None:
        self.bits = bits
        self.limit = None if bits is None else 1 << bits
        self._name = "integer" if bits is None else f"uint{bits}"

    def serialize(self, obj: object) -> bytes:
        """Minimal big-endian bytes of ``obj``; SerializationError unless it is an int in range."""
        if type(obj) is not int:  # bool is an int subclass, never a field value
            raise SerializationError(f"{self._name} field needs an int", obj)
        if obj < 0 or (self.limit is not None and obj >= self.limit):
            raise SerializationError(f"{obj} does not fit in {self._name}", obj)
        return obj.to_bytes((obj.bit_length() + 7) // 8, "big")

    def deserialize(self, serial: object) -> int:
        """The integer ``serial`` encodes; DeserializationError if not canonical or out of range."""
        if not isinstance(serial, bytes):
            raise DeserializationError(f"{self._name} expected, got a list", serial)
        if serial[:1] == b"\x00":
            raise DeserializationError(f"{self._name} has leading zero bytes", serial)
        value = int.from_bytes(serial, "big")
        if self.limit is not None and value >= self.limit:
            raise DeserializationError(f"{value} does not fit in {self._name}", serial)
        return value


class Recipient:
    """A transaction's ``to`` (Go ``*common.Address`` tagged ``rlp:"nil"``): 20 bytes, or empty to create a contract."""

    def serialize(self, obj: object) -> bytes:
        """``obj`` itself; SerializationError unless it is 0 or 20 bytes."""
        if not isinstance(obj, bytes) or len(obj) not in (0, 20):
            raise SerializationError("recipient must be 20 bytes or empty", obj)
        return obj

    def deserialize(self, serial: object) -> bytes:
        """The recipient bytes; DeserializationError unless they are 0 or 20 bytes."""
        if not isinstance(serial, bytes):
            raise DeserializationError("recipient expected, got a list", serial)
        if len(serial) not in (0, 20):
            raise DeserializationError(f"recipient must be 20 bytes or empty, got {len(serial)}", serial)
        return serial


uint = UnsignedInt(None)
"""Go ``*big.Int``: gas price, value, amounts, signature values."""
uint64 = UnsignedInt(64)
"""Go ``uint64``: nonces and gas limits."""
uint32 = UnsignedInt(32)
"""Go ``uint32``: shard ids."""
uint8 = UnsignedInt(8)
"""Go ``byte``: the staking directive."""
binary = Binary()
"""Go ``[]byte``: any length."""
address = Binary.fixed_length(20)
"""A 20-byte account address (Go ``common.Address``)."""
recipient = Recipient()
hash32 = Binary.fixed_length(32)
"""A 32-byte hash (Go ``common.Hash``)."""
bloom = Binary.fixed_length(256)
"""A 2048-bit log bloom (Go ``types.Bloom``)."""
bls_public_key = Binary.fixed_length(48)
"""A serialized BLS public key (Go ``bls.SerializedPublicKey``)."""
bls_signature = Binary.fixed_length(96)
"""A serialized BLS signature (Go ``bls.SerializedSignature``)."""


def decode_field(sedes: FieldSedes[T_co], item: object, what: str) -> T_co:
    """``sedes.deserialize(item)``, with a value the sedes refuses reported as DecodingError naming ``what``."""
    try:
        return sedes.deserialize(item)
    except DeserializationError as exc:
        raise DecodingError(f"{what}: {exc}") from exc
