"""A small, strict RLP codec for the hot paths (transactions, accounts, trie nodes).

The ``rlp`` package infers a sedes for every value and spends most of its time in ``isinstance``
checks: encoding a 9-item list of ints and bytes costs ~25 µs there and ~3 µs here. The typed
wire classes still use ``rlp``; these functions serve the paths run once or more per transaction.

Decoding is strict: only the canonical encoding of a value is accepted (shortest length form, no
single byte below 0x80 wrapped in a string header, no leading zeros in lengths or integers). An
object decoded here therefore re-encodes to exactly the bytes it came from, so a hash taken over
the received bytes equals a hash over our own encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from harmony_node.exceptions import DecodingError

Encodable = Union[int, bytes, Sequence["Encodable"]]


def _encode_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    length_bytes = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(length_bytes),)) + length_bytes


# Headers for every length a trie node, transaction or value usually has (a full branch is 532
# bytes): indexing a table is several times cheaper than building the header.
_HEADER_TABLE_SIZE = 1024
_STRING_HEADERS = [_encode_length(length, 0x80) for length in range(_HEADER_TABLE_SIZE)]
_LIST_HEADERS = [_encode_length(length, 0xC0) for length in range(_HEADER_TABLE_SIZE)]


def encode_rlp_string(data: bytes) -> bytes:
    """RLP-encode a byte string."""
    length = len(data)
    if length == 1 and data[0] < 0x80:
        return data
    if length < _HEADER_TABLE_SIZE:
        return _STRING_HEADERS[length] + data
    return _encode_length(length, 0x80) + data


def encode_rlp_list(payload: bytes) -> bytes:
    """RLP-encode a list whose items are already encoded and concatenated into ``payload``."""
    length = len(payload)
    if length < _HEADER_TABLE_SIZE:
        return _LIST_HEADERS[length] + payload
    return _encode_length(length, 0xC0) + payload


def encode_uint(value: int) -> bytes:
    """RLP-encode a non-negative integer (minimal big-endian bytes; zero is the empty string)."""
    if value < 0x80:
        return b"\x80" if value == 0 else bytes((value,))
    return encode_rlp_string(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def encode_item(item: Encodable) -> bytes:
    """RLP-encode an int, a byte string, or a (nested) sequence of those."""
    if type(item) is bytes:
        return encode_rlp_string(item)
    if type(item) is int:
        if item < 0:
            raise ValueError("RLP cannot encode negative integers")
        return encode_uint(item)
    if isinstance(item, (bytes, bytearray)):
        return encode_rlp_string(bytes(item))
    if isinstance(item, int) and not isinstance(item, bool):
        return encode_uint(int(item))
    if isinstance(item, Sequence) and not isinstance(item, str):
        return encode_rlp_list(b"".join([encode_item(sub) for sub in item]))
    raise TypeError(f"cannot RLP-encode {type(item).__name__}")


def _read_header(data: bytes, pos: int) -> tuple[bool, int, int]:
    """Return ``(is_list, payload_start, payload_length)`` of the canonical item at ``pos``."""
    end = len(data)
    if pos >= end:
        raise DecodingError("RLP item expected, input ended")
    prefix = data[pos]
    if prefix < 0x80:
        return False, pos, 1
    if prefix < 0xB8:
        length = prefix - 0x80
        if length == 1 and pos + 1 < end and data[pos + 1] < 0x80:
            raise DecodingError("non-canonical RLP: single byte below 0x80 wrapped in a header")
        return False, pos + 1, length
    if prefix < 0xC0:
        return False, *_read_long_length(data, pos, prefix - 0xB7)
    if prefix < 0xF8:
        return True, pos + 1, prefix - 0xC0
    return True, *_read_long_length(data, pos, prefix - 0xF7)


def _read_long_length(data: bytes, pos: int, size_length: int) -> tuple[int, int]:
    start = pos + 1 + size_length
    if start > len(data):
        raise DecodingError("truncated RLP length")
    if data[pos + 1] == 0:
        raise DecodingError("non-canonical RLP: length with leading zero bytes")
    length = int.from_bytes(data[pos + 1 : start], "big")
    if length < 56:
        raise DecodingError("non-canonical RLP: long length form for a short item")
    return start, length


def split_rlp_list(data: bytes) -> list[bytes]:
    """Split ``data``, which must be exactly one RLP list, into its items, each still encoded."""
    is_list, start, length = _read_header(data, 0)
    if not is_list:
        raise DecodingError("expected an RLP list")
    end = start + length
    if end != len(data):
        raise DecodingError("RLP list length does not match the input size")
    items = []
    pos = start
    while pos < end:
        _, payload, size = _read_header(data, pos)
        stop = payload + size
        if stop > end:
            raise DecodingError("RLP item runs past the end of its list")
        items.append(data[pos:stop])
        pos = stop
    return items


def decode_rlp_string(item: bytes) -> bytes:
    """Decode one encoded RLP string (e.g. an item from ``split_rlp_list``)."""
    is_list, start, length = _read_header(item, 0)
    if is_list:
        raise DecodingError("expected an RLP string, found a list")
    if start + length != len(item):
        raise DecodingError("RLP string length does not match its item")
    return item[start:]


def decode_uint(data: bytes, what: str = "integer") -> int:
    """Interpret decoded string bytes as an RLP integer; leading zeros are not canonical."""
    if data[:1] == b"\x00":
        raise DecodingError(f"{what} has leading zero bytes")
    return int.from_bytes(data, "big")


def decode_flat_list(data: bytes, length: int) -> list[bytes]:
    """Decode exactly one list of ``length`` byte strings (no nested lists): a transaction or account."""
    items = split_rlp_list(data)
    if len(items) != length:
        raise DecodingError(f"expected a list of {length} items, got {len(items)}")
    return [decode_rlp_string(item) for item in items]


MAX_RLP_DEPTH = 16
"""Deepest list nesting any of our wire types has (a block's incoming receipt proof is ~8 deep)."""


def validate_rlp_depth(data: bytes, max_depth: int = MAX_RLP_DEPTH) -> None:
    """Raise DecodingError if ``data`` nests lists deeper than ``max_depth``.

    The ``rlp`` package decodes recursively, so a few kilobytes of ``[[[[...]]]]`` from a peer
    would raise RecursionError. This walk keeps an explicit stack and runs before it.
    """
    list_ends: list[int] = []
    pos, end = 0, len(data)
    while pos < end:
        while list_ends and pos >= list_ends[-1]:
            list_ends.pop()
        is_list, start, length = _read_header(data, pos)
        if is_list:
            if len(list_ends) >= max_depth:
                raise DecodingError(f"RLP lists nested deeper than {max_depth}")
            list_ends.append(start + length)
            pos = start
        else:
            pos = start + length


RlpItem = Union[bytes, list["RlpItem"]]


def decode_rlp(data: bytes, max_depth: int = MAX_RLP_DEPTH, max_items: int | None = None) -> RlpItem:
    """Decode exactly one canonical RLP item into byte strings and (nested) lists of them.

    For bytes from peers, in place of ``rlp.decode``: that rebuilds each list's encoding item by
    item, which is quadratic in a list's items (a 1 MB list of one-byte items costs it ~17 s, a
    2 MB one over two minutes, all on the node's one event loop). This walk is linear and keeps an
    explicit stack, so lists nested deeper than ``max_depth`` are refused instead of overflowing;
    ``max_items`` (items of every level, the outer list included) stops a walk that can only fail.
    """
    is_list, start, length = _read_header(data, 0)
    end = start + length
    if end != len(data):
        raise DecodingError(f"RLP item spans {end} bytes, the input {len(data)}")
    if not is_list:
        return data[start:end]
    root: list[RlpItem] = []
    open_lists: list[tuple[list[RlpItem], int]] = [(root, end)]
    pos, count = start, 1
    while open_lists:
        items, list_end = open_lists[-1]
        if pos == list_end:
            open_lists.pop()
            continue
        is_list, start, length = _read_header(data, pos)
        stop = start + length
        if stop > list_end:
            raise DecodingError("RLP item runs past the end of its list")
        count += 1
        if max_items is not None and count > max_items:
            raise DecodingError(f"RLP holds more than {max_items} items")
        if is_list:
            if len(open_lists) >= max_depth:
                raise DecodingError(f"RLP lists nested deeper than {max_depth}")
            child: list[RlpItem] = []
            items.append(child)
            open_lists.append((child, stop))
            pos = start
        else:
            items.append(data[start:stop])
            pos = stop
    return root
