"""Our Merkle-Patricia tries against py-trie's HexaryTrie (the reference) on random operation sequences.

Roots are compared with HexaryTrie after every commit. Gets are compared with a dict model: HexaryTrie
itself raises on a key that ends inside an extension node (a py-trie limitation), which our short-key
sequences produce on purpose; for the fixed-length keys of the secure trie gets are compared with
HexaryTrie directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from crypto.hash import keccak256
from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import DatabaseError, ValidationError
from harmony_node.state.trie import MerklePatriciaTrie, NodeCache, SecureTrie
from harmony_node.types.trie_root import BLANK_ROOT, compute_trie_root

# Few distinct bytes make shared prefixes, keys that are prefixes of others, and the empty key likely.
short_keys = st.lists(st.sampled_from([0x00, 0x01, 0x02, 0x10, 0xFF]), max_size=4).map(bytes)
# Empty values delete; short values make nodes under 32 bytes (inline), long ones force hashing, and the
# sizes in between hit the 31/32-byte boundary of the inline rule.
values = st.integers(min_value=0, max_value=40).flatmap(lambda size: st.binary(min_size=size, max_size=size))
kinds = st.sampled_from(["set", "set", "set", "delete", "delete", "commit", "discard"])

Program = list[tuple[str, bytes, bytes]]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    """A random operation sequence over a small pool of keys, so keys are updated and deleted again."""
    pool = draw(st.lists(short_keys, min_size=1, max_size=8, unique=True))
    steps = draw(st.lists(st.tuples(kinds, st.sampled_from(pool), values), min_size=1, max_size=80))
    return [(kind, key, value if kind == "set" else b"") for kind, key, value in steps]


cache_sizes = st.sampled_from([1, 3, 100_000])


def run_against_reference(store: KeyValueStore, ops: Program, cache_size: int) -> None:
    """Apply ``ops`` to our trie, HexaryTrie and a dict; check roots and reads at every commit.

    "discard" commits into a batch that is dropped, then reopens at the last written root: what block
    import does with a block that fails validation.
    """
    cache = NodeCache(cache_size)
    ours = MerklePatriciaTrie(store, node_cache=cache)
    reference = HexaryTrie({})
    model: dict[bytes, bytes] = {}
    history = [(BLANK_ROOT, dict(model))]
    keys_seen: set[bytes] = set()
    for op, key, value in ops:
        keys_seen.add(key)
        if op == "set":
            ours.set(key, value)
            reference.set(key, value)
            if value:
                model[key] = value
            else:
                model.pop(key, None)
        elif op == "delete":
            ours.delete(key)
            reference.delete(key)
            model.pop(key, None)
        elif op == "commit":
            batch = WriteBatch()
            root = ours.commit(batch)
            store.write(batch)
            assert root == reference.root_hash
            assert ours.root_hash == root
            history.append((root, dict(model)))
            reopened = MerklePatriciaTrie(store, root, NodeCache(cache_size))
            for seen in keys_seen:
                assert ours.get(seen) == model.get(seen)
                assert reopened.get(seen) == model.get(seen)
        else:
            ours.commit(WriteBatch())
            last_root, last_model = history[-1]
            ours = MerklePatriciaTrie(store, last_root, cache)
            reference = HexaryTrie(reference.db, last_root)
            model = dict(last_model)
        for seen in keys_seen:
            assert ours.get(seen) == model.get(seen)
    # root_hash without a commit hashes the dirty nodes without persisting them.
    assert ours.root_hash == reference.root_hash
    # Old roots stay readable after later commits (no pruning), from a cold cache.
    for root, snapshot in history:
        old = MerklePatriciaTrie(store, root, NodeCache(cache_size))
        for seen in keys_seen:
            assert old.get(seen) == snapshot.get(seen)


@settings(max_examples=300)
@given(ops=programs(), cache_size=cache_sizes)
def test_matches_hexary_trie_in_memory(ops: Program, cache_size: int) -> None:
    run_against_reference(MemoryStore(), ops, cache_size)


@pytest.fixture(scope="module")
def leveldb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LevelDBStore]:
    # One database for every example: nodes are content-addressed, so examples cannot disturb each other.
    with LevelDBStore(tmp_path_factory.mktemp("trie") / "db") as store:
        yield store


@settings(max_examples=40)
@given(ops=programs(), cache_size=cache_sizes)
def test_matches_hexary_trie_on_leveldb(leveldb: LevelDBStore, ops: Program, cache_size: int) -> None:
    run_against_reference(leveldb, ops, cache_size)


@given(
    ops=st.lists(st.tuples(st.binary(max_size=40), st.binary(max_size=80)), max_size=40),
    commit_every=st.integers(min_value=1, max_value=10),
)
def test_secure_trie_matches_hexary_trie_with_hashed_keys(
    ops: list[tuple[bytes, bytes]], commit_every: int
) -> None:
    store = MemoryStore()
    ours = SecureTrie(store)
    reference = HexaryTrie({})
    for count, (key, value) in enumerate(ops, start=1):
        ours.set(key, value)
        reference.set(keccak256(key), value)
        if count % commit_every == 0:
            batch = WriteBatch()
            assert ours.commit(batch) == reference.root_hash
            store.write(batch)
    batch = WriteBatch()
    root = ours.commit(batch)
    store.write(batch)
    assert root == reference.root_hash
    reopened = SecureTrie(store, root, NodeCache())
    for key, _ in ops:
        expected = reference.get(keccak256(key)) or None
        assert ours.get(key) == expected
        assert reopened.get(key) == expected


@given(st.lists(st.tuples(st.binary(max_size=6), st.binary(max_size=40)), max_size=50))
def test_compute_trie_root_matches_hexary_trie(items: list[tuple[bytes, bytes]]) -> None:
    reference = HexaryTrie({})
    for key, value in items:
        reference.set(key, value)
    assert compute_trie_root(items) == reference.root_hash


@given(st.lists(st.binary(min_size=1, max_size=120), max_size=300))
def test_compute_trie_root_over_rlp_indexes(payloads: list[bytes]) -> None:
    # Harmony's DeriveSha: key rlp(index), value the item's encoding.
    items = [(rlp.encode(index), payload) for index, payload in enumerate(payloads)]
    reference = HexaryTrie({})
    for key, value in items:
        reference.set(key, value)
    assert compute_trie_root(items) == reference.root_hash


def test_known_roots() -> None:
    assert BLANK_ROOT.hex() == "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
    assert compute_trie_root([]) == BLANK_ROOT
    assert MerklePatriciaTrie(MemoryStore()).root_hash == BLANK_ROOT
    # ethereum/tests TrieTests trietest.json "puppy".
    puppy = [(b"do", b"verb"), (b"horse", b"stallion"), (b"doge", b"coin"), (b"dog", b"puppy")]
    expected = "5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84"
    assert compute_trie_root(puppy).hex() == expected
    trie = MerklePatriciaTrie(MemoryStore())
    for key, value in puppy:
        trie.set(key, value)
    assert trie.commit(WriteBatch()).hex() == expected


def test_old_root_survives_later_commits(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as store:
        cache = NodeCache()
        state = SecureTrie(store, node_cache=cache)
        for index in range(200):
            state.set(index.to_bytes(20, "big"), b"balance-%d" % index)
        batch = WriteBatch()
        first_root = state.commit(batch)
        store.write(batch)
        for index in range(0, 200, 3):
            state.set(index.to_bytes(20, "big"), b"")
        batch = WriteBatch()
        second_root = state.commit(batch)
        store.write(batch)
    with LevelDBStore(tmp_path / "db") as store:
        old = SecureTrie(store, first_root, NodeCache())
        new = SecureTrie(store, second_root, NodeCache())
        for index in range(200):
            key = index.to_bytes(20, "big")
            assert old.get(key) == b"balance-%d" % index
            assert new.get(key) == (None if index % 3 == 0 else b"balance-%d" % index)


def test_missing_node_is_a_database_error() -> None:
    trie = MerklePatriciaTrie(MemoryStore(), b"\x11" * 32)
    with pytest.raises(DatabaseError, match="missing trie node 1111"):
        trie.get(b"key")
    with pytest.raises(DatabaseError, match="missing trie node"):
        trie.set(b"key", b"value")


def test_root_must_be_32_bytes() -> None:
    with pytest.raises(ValidationError):
        MerklePatriciaTrie(MemoryStore(), b"\x00" * 31)


@given(garbage=st.binary(max_size=80), key=st.binary(max_size=4))
def test_corrupt_node_only_raises_database_error(garbage: bytes, key: bytes) -> None:
    store = MemoryStore()
    root = keccak256(garbage)
    store.put(root, garbage)
    trie = MerklePatriciaTrie(store, root)
    try:
        trie.get(key)
        trie.set(key, b"v" * 40)
        trie.delete(key)
    except DatabaseError:
        return


@given(st.lists(st.tuples(st.sampled_from([0x00, 0x01, 0x10]), st.binary(max_size=3)), max_size=8))
def test_inline_branch_children_decode(entries: list[tuple[int, bytes]]) -> None:
    # One-byte keys with short values: a root branch whose children are inline nodes, decoded on first read.
    store = MemoryStore()
    trie = MerklePatriciaTrie(store)
    reference = HexaryTrie({})
    for nibble_byte, value in entries:
        trie.set(bytes((nibble_byte,)), value)
        reference.set(bytes((nibble_byte,)), value)
    batch = WriteBatch()
    root = trie.commit(batch)
    store.write(batch)
    assert root == reference.root_hash
    reopened = MerklePatriciaTrie(store, root, NodeCache(1))
    for nibble_byte, _ in entries:
        assert reopened.get(bytes((nibble_byte,))) == (reference.get(bytes((nibble_byte,))) or None)
