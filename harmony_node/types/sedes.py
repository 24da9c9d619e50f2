"""Named RLP sedes shared by the wire types, so every type spells a field's encoding the same way."""

from __future__ import annotations

from rlp.sedes import BigEndianInt, Binary, big_endian_int

uint = big_endian_int
"""Unsigned integer of any size (Go ``*big.Int``, ``uint64``): minimal big-endian, 0 is empty."""
uint32 = BigEndianInt()
"""Shard ids: Go ``uint32``. Range is checked by the types that use it (``BigEndianInt(32)`` would
demand a fixed 4-byte encoding, which Go's RLP does not produce)."""
binary = Binary()
address = Binary.fixed_length(20)
"""A 20-byte account address."""
optional_address = Binary(min_length=0, max_length=20)
"""A recipient: 20 bytes, or empty for contract creation. Lengths 1-19 are rejected below."""
hash32 = Binary.fixed_length(32)
bls_public_key = Binary.fixed_length(48)
bls_signature = Binary.fixed_length(96)
