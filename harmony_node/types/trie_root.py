"""Merkle-Patricia trie root of a key/value set, and the node encoding every MPT here shares.

Ethereum's hexary Merkle-Patricia trie (Yellow Paper appendix D) keys nodes by the keccak256 of their
RLP encoding. Three node kinds exist:

- leaf ``[hex_prefix(path, leaf=True), value]``;
- extension ``[hex_prefix(path, leaf=False), child]``;
- branch ``[child_0, ..., child_15, value]``.

A child is referenced by ``keccak256(encoding)`` (an RLP string of 32 bytes) when its encoding is at least
32 bytes long, and embedded whole (inline) otherwise. The root hash is always ``keccak256`` of the root
node's encoding, whatever its length; the empty trie's root is ``keccak256(rlp(b""))``.

``compute_trie_root`` builds a root from scratch over sorted keys (Harmony's DeriveSha of a block's
transactions or receipts uses key ``rlp(index)``). The persistent trie in ``harmony_node.state.trie``
imports the encoding helpers below, so both produce byte-identical nodes.

Nibble paths are ``bytes`` holding one nibble (0..15) per byte: slicing, comparing and prefix tests
then run in C.
"""

from __future__ import annotations

from binascii import unhexlify
from collections.abc import Iterable, Sequence

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.rlp_codec import encode_rlp_list, encode_rlp_string

EMPTY_REF = b"\x80"
"""RLP of the empty string: an absent branch child or an absent branch value."""

BLANK_ROOT = keccak256(EMPTY_REF)
"""Root hash of the empty trie, 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421."""

HASH_REF_PREFIX = b"\xa0"
"""RLP header of a 32-byte string: a hashed child reference is this prefix followed by the hash."""

_HEX_TO_NIBBLE = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))
_NIBBLE_TO_HEX = bytes.maketrans(bytes(range(16)), b"0123456789abcdef")


def compute_nibbles(key: bytes) -> bytes:
    """Return the nibble path of ``key``: two bytes per key byte, high nibble first."""
    return key.hex().encode("ascii").translate(_HEX_TO_NIBBLE)


def encode_hex_prefix(nibbles: bytes, is_leaf: bool) -> bytes:
    """Hex-prefix encode a nibble path (Yellow Paper appendix C): flag nibble, padding, packed nibbles."""
    hex_digits = nibbles.translate(_NIBBLE_TO_HEX)
    if len(nibbles) & 1:
        return unhexlify((b"3" if is_leaf else b"1") + hex_digits)
    return unhexlify((b"20" if is_leaf else b"00") + hex_digits)


def decode_hex_prefix(data: bytes) -> tuple[bytes, bool]:
    """Decode a hex-prefix encoded path into ``(nibbles, is_leaf)``; raise DecodingError if malformed."""
    if not data:
        raise DecodingError("empty hex-prefix path")
    flag = data[0] >> 4
    if flag > 3:
        raise DecodingError(f"bad hex-prefix flag {flag}")
    nibbles = compute_nibbles(data)
    if flag & 1:
        return nibbles[1:], flag >= 2
    if data[0] & 0x0F:
        raise DecodingError("non-zero padding nibble in hex-prefix path")
    return nibbles[2:], flag >= 2


def encode_leaf(path: bytes, value: bytes) -> bytes:
    """Encode a leaf node holding ``value`` at the remaining nibble ``path``."""
    return encode_rlp_list(encode_rlp_string(encode_hex_prefix(path, True)) + encode_rlp_string(value))


def encode_extension(path: bytes, child_ref: bytes) -> bytes:
    """Encode an extension node: a shared nibble ``path`` then the (already encoded) child reference."""
    return encode_rlp_list(encode_rlp_string(encode_hex_prefix(path, False)) + child_ref)


def encode_branch(child_refs: Sequence[bytes], value: bytes) -> bytes:
    """Encode a branch node from its 16 encoded child references and its value (``b""`` if none)."""
    return encode_rlp_list(b"".join(child_refs) + encode_rlp_string(value))


def compute_node_reference(encoding: bytes) -> bytes:
    """Return how a parent embeds a node: inline if its encoding is under 32 bytes, else its hash.

    The result is already RLP-encoded, ready to be concatenated into the parent's payload.
    """
    if len(encoding) < 32:
        return encoding
    return HASH_REF_PREFIX + keccak256(encoding)


def compute_trie_root(items: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Return the MPT root hash of ``items`` (raw, unhashed keys).

    Later pairs override earlier ones with the same key, and an empty value means "absent", as when the
    pairs are set one by one into a trie. An empty input gives ``BLANK_ROOT``.
    """
    latest = dict(items)
    entries = sorted((compute_nibbles(key), value) for key, value in latest.items() if value)
    if not entries:
        return BLANK_ROOT
    return keccak256(_encode_subtrie(entries, 0, len(entries), 0))


def _encode_subtrie(entries: list[tuple[bytes, bytes]], lo: int, hi: int, depth: int) -> bytes:
    """Encode the node holding ``entries[lo:hi]`` (sorted, distinct) below nibble ``depth``."""
    if hi - lo == 1:
        key, value = entries[lo]
        return encode_leaf(key[depth:], value)
    # Sorted keys: the prefix shared by the first and the last is shared by all of them.
    first = entries[lo][0]
    last = entries[hi - 1][0]
    end = min(len(first), len(last))
    split = depth
    while split < end and first[split] == last[split]:
        split += 1
    if split > depth:
        branch = _encode_branch_over(entries, lo, hi, split)
        return encode_extension(first[depth:split], compute_node_reference(branch))
    return _encode_branch_over(entries, lo, hi, depth)


def _encode_branch_over(entries: list[tuple[bytes, bytes]], lo: int, hi: int, depth: int) -> bytes:
    value = b""
    if len(entries[lo][0]) == depth:
        # Sorting puts the key that ends here first; it becomes the branch value.
        value = entries[lo][1]
        lo += 1
    refs = [EMPTY_REF] * 16
    start = lo
    while start < hi:
        nibble = entries[start][0][depth]
        stop = start + 1
        while stop < hi and entries[stop][0][depth] == nibble:
            stop += 1
        refs[nibble] = compute_node_reference(_encode_subtrie(entries, start, stop, depth + 1))
        start = stop
    return encode_branch(refs, value)
