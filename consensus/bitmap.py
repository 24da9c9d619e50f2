"""Committee bitmaps: which members of an ordered committee signed (Harmony's ``bls.Mask`` layout).

Length ``(n + 7) // 8`` bytes; member ``i`` is bit ``i & 7`` (least significant first) of byte
``i >> 3``. Unused high bits of the last byte must be zero, so each signer set has exactly one
encoding.
"""

from __future__ import annotations

from collections.abc import Iterable

from harmony_node.exceptions import DecodingError


def compute_bitmap_length(committee_size: int) -> int:
    """Bytes in a bitmap over ``committee_size`` members: ``(n + 7) >> 3``."""
    return (committee_size + 7) >> 3


def encode_bitmap(indices: Iterable[int], committee_size: int) -> bytes:
    """The bitmap with the given committee indices set."""
    bitmap = bytearray(compute_bitmap_length(committee_size))
    for index in indices:
        if not 0 <= index < committee_size:
            raise ValueError(f"committee index {index} outside a committee of {committee_size}")
        bitmap[index >> 3] |= 1 << (index & 7)
    return bytes(bitmap)


def decode_bitmap(bitmap: bytes, committee_size: int) -> tuple[int, ...]:
    """The committee indices set in ``bitmap``, ascending; DecodingError if it does not fit the committee."""
    if len(bitmap) != compute_bitmap_length(committee_size):
        raise DecodingError(
            f"bitmap is {len(bitmap)} bytes, a committee of {committee_size} "
            f"needs {compute_bitmap_length(committee_size)}"
        )
    if int.from_bytes(bitmap, "little") >> committee_size:
        raise DecodingError("bitmap marks members beyond the end of the committee")
    # Byte by byte, skipping zero bytes: a 400-member bitmap decodes in a few microseconds.
    return tuple(
        base + bit for base, byte in zip(range(0, 8 * len(bitmap), 8), bitmap) if byte for bit in range(8)
        if byte >> bit & 1
    )


def count_signers(bitmap: bytes) -> int:
    """How many bits are set (Harmony compares M2 and M3 signer counts this way)."""
    return sum(bin(byte).count("1") for byte in bitmap)
