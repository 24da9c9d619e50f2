"""DeriveSha: trie root over rlp(index) -> item RLP, the index shared across lists, checked against py-trie."""

from __future__ import annotations

from collections.abc import Sequence

import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from harmony_node.types.derive_sha import EMPTY_ROOT, derive_sha
from harmony_node.types.receipt import Log

EMPTY_TRIE_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")

logs = st.builds(
    Log,
    address=st.binary(min_size=20, max_size=20),
    topics=st.lists(st.binary(min_size=32, max_size=32), max_size=2),
    data=st.binary(max_size=40),
)


def reference_root(*lists: Sequence[rlp.Serializable]) -> bytes:
    """Harmony's DeriveSha written out against py-trie: one key per item, counter across lists."""
    trie = HexaryTrie(db={})
    index = 0
    for items in lists:
        for item in items:
            trie.set(rlp.encode(index), rlp.encode(item))
            index += 1
    root: bytes = trie.root_hash
    return root


def test_empty_lists_give_the_empty_trie_root() -> None:
    assert EMPTY_ROOT == EMPTY_TRIE_ROOT
    assert derive_sha() == EMPTY_TRIE_ROOT
    assert derive_sha([]) == EMPTY_TRIE_ROOT
    assert derive_sha([], []) == EMPTY_TRIE_ROOT


@settings(max_examples=40)
@given(st.lists(logs, max_size=12), st.lists(logs, max_size=12))
def test_matches_py_trie(first: list[Log], second: list[Log]) -> None:
    assert derive_sha(first, second) == reference_root(first, second)


def test_matches_py_trie_across_the_two_byte_index_boundary() -> None:
    # Index 0 encodes as 0x80, 1..127 as one byte, 128 and up as 0x81xx: keys of different lengths.
    items = [Log(address=bytes([i % 256]) * 20, topics=(), data=i.to_bytes(2, "big")) for i in range(300)]
    assert derive_sha(items[:130], items[130:]) == reference_root(items)


@settings(max_examples=25)
@given(st.lists(logs, max_size=8), st.lists(logs, max_size=8))
def test_index_continues_across_lists(first: list[Log], second: list[Log]) -> None:
    assert derive_sha(first, second) == derive_sha(first + second)
    assert derive_sha(first, [], second) == derive_sha(first + second)


def test_order_matters() -> None:
    a = Log(address=b"\x01" * 20, topics=(), data=b"a")
    b = Log(address=b"\x02" * 20, topics=(), data=b"b")
    assert derive_sha([a, b]) != derive_sha([b, a])
