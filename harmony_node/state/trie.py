"""The persistent Ethereum Merkle-Patricia trie with deferred hashing (the state trie's engine).

Roots are byte-identical to py-trie's ``HexaryTrie`` (tests prove it on random operation sequences), but
the work is arranged the way geth does it, because hashing on every write costs ~1 ms per transfer:

- ``get``/``set``/``delete`` only walk and rewrite node objects in memory; nothing is encoded or hashed.
- ``commit(batch)`` encodes and hashes each node changed since the last commit exactly once, puts the
  new nodes into the caller's ``WriteBatch`` (one atomic write per block) and returns the root hash.

Node objects are either *dirty* (``ref is None``: created by this trie since its last commit, reachable
only from its root, so mutated in place) or *clean* (``ref`` set: committed or loaded, possibly shared
through the ``NodeCache`` with other tries over the same store, so never mutated: a change copies
the node). A clean node holds its children only as encoded references (bytes), never as objects,
which is what lets the cache bound memory: nothing but the cache keeps clean nodes alive.

Trie nodes are content-addressed, so reopening a trie at an older root (to discard a failed block, or
to read an earlier state) only reads nodes by hash; old nodes are never deleted (no pruning yet).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Final, cast

from crypto.hash import keccak256
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import DatabaseError, DecodingError, ValidationError
from harmony_node.types.rlp_codec import (
    decode_rlp_string,
    encode_rlp_list,
    encode_rlp_string,
    split_rlp_list,
)
from harmony_node.types.trie_root import (
    BLANK_ROOT,
    EMPTY_REF,
    HASH_REF_PREFIX,
    compute_nibbles,
    decode_hex_prefix,
    encode_hex_prefix,
)

_HASH_REF_LENGTH: Final = 33
_EMPTY_CHILDREN: Final = (EMPTY_REF,) * 16


class _Leaf:
    __slots__ = ("path", "value", "ref", "path_item")

    def __init__(self, path: bytes, value: bytes, path_item: bytes | None = None) -> None:
        self.path = path
        self.value = value
        # The node's encoded reference once clean (inline encoding or 0xa0 ‖ hash); None while dirty.
        self.ref: bytes | None = None
        # RLP of the hex-prefixed path, kept because a balance update rewrites the value, not the path.
        self.path_item = path_item


class _Extension:
    __slots__ = ("path", "child", "ref", "path_item")

    def __init__(self, path: bytes, child: _Slot, path_item: bytes | None = None) -> None:
        self.path = path
        self.child = child
        self.ref: bytes | None = None
        self.path_item = path_item


class _Branch:
    __slots__ = ("children", "value", "ref", "dirty")

    def __init__(self, children: list[_Slot], value: bytes) -> None:
        self.children = children
        self.value = value
        self.ref: bytes | None = None
        # Bit i set: child i may be a node object. Commit visits those instead of all 16 (an int, not a
        # list, so a copied branch allocates nothing more for the garbage collector to track).
        self.dirty = 0

    def set_child(self, index: int, slot: _Slot) -> None:
        self.children[index] = slot
        if not isinstance(slot, bytes):
            self.dirty |= 1 << index


_Node = _Leaf | _Extension | _Branch
# A child slot: an encoded reference (EMPTY_REF, 0xa0 ‖ hash, or an inline encoding under 32 bytes)
# or, in dirty nodes only, a node object.
_Slot = bytes | _Node


class NodeCache:
    """Decoded clean trie nodes keyed by their encoded reference, shared by every trie over one store.

    Bounded to ``max_nodes`` with first-in-first-out eviction: a hit costs one dict lookup, and the hot
    upper nodes are rewritten (so re-inserted) every block anyway. A cached node costs about 850 bytes
    (100k accounts make ~140k nodes, ~120 MB): size it to the state that should stay warm. Nodes committed
    into a batch are cached at once, so the batch must reach the store before more than ``max_nodes``
    newer nodes pass through the cache. Not thread-safe: use it from one thread.
    """

    __slots__ = ("_nodes", "_max_nodes")

    def __init__(self, max_nodes: int = 100_000) -> None:
        if max_nodes < 1:
            raise ValueError("a node cache must hold at least one node")
        self._nodes: OrderedDict[bytes, _Node] = OrderedDict()
        self._max_nodes = max_nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def _put(self, ref: bytes, node: _Node) -> None:
        nodes = self._nodes
        nodes[ref] = node
        if len(nodes) > self._max_nodes:
            nodes.popitem(last=False)

    def _trim(self) -> None:
        """Evict the oldest nodes beyond the bound (after a commit added many at once)."""
        nodes = self._nodes
        while len(nodes) > self._max_nodes:
            nodes.popitem(last=False)


class MerklePatriciaTrie:
    """A hexary Merkle-Patricia trie over ``store``, opened at ``root_hash`` (nodes load lazily).

    Keys are used as given; ``SecureTrie`` hashes them first. Reads see uncommitted writes. A node missing
    from the store raises DatabaseError when a read or write first needs it.
    """

    __slots__ = ("_store", "_cache", "_nodes", "_root")

    def __init__(
        self, store: KeyValueStore, root_hash: bytes = BLANK_ROOT, node_cache: NodeCache | None = None
    ) -> None:
        if len(root_hash) != 32:
            raise ValidationError(f"a trie root is 32 bytes, got {len(root_hash)}")
        self._store = store
        self._cache = node_cache if node_cache is not None else NodeCache()
        self._nodes = self._cache._nodes
        self._root: _Slot = EMPTY_REF if root_hash == BLANK_ROOT else HASH_REF_PREFIX + root_hash

    @staticmethod
    def _compute_path(key: bytes) -> bytes:
        return compute_nibbles(key)

    @property
    def root_hash(self) -> bytes:
        """The root hash of the current contents; without a commit it re-encodes every changed node."""
        root = self._root
        if isinstance(root, bytes):
            return BLANK_ROOT if root == EMPTY_REF else root[1:]
        ref = root.ref if root.ref is not None else self._encode_reference(root, None)
        return ref[1:] if len(ref) == _HASH_REF_LENGTH else keccak256(ref)

    def get(self, key: bytes) -> bytes | None:
        """Return the value at ``key``, or None if absent."""
        path = self._compute_path(key)
        nodes = self._nodes
        slot = self._root
        pos = 0
        while True:
            node = nodes.get(slot) or self._load(slot) if isinstance(slot, bytes) else slot
            if node is None:
                return None
            if isinstance(node, _Branch):
                if pos == len(path):
                    return node.value or None
                slot = node.children[path[pos]]
                pos += 1
            elif isinstance(node, _Leaf):
                return node.value if node.path == path[pos:] else None
            else:
                if not path.startswith(node.path, pos):
                    return None
                pos += len(node.path)
                slot = node.child

    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` at ``key``; an empty value deletes the key, as in Ethereum's tries."""
        if not value:
            self.delete(key)
            return
        self._root = self._insert(self._root, self._compute_path(key), 0, value)

    def delete(self, key: bytes) -> None:
        """Remove ``key``; removing an absent key changes nothing."""
        self._root = self._remove(self._root, self._compute_path(key), 0)

    def commit(self, batch: WriteBatch) -> bytes:
        """Hash every changed node once, put the new nodes into ``batch`` and return the root hash.

        The trie keeps working on the committed root; the batch must be written for a trie reopened
        from the store (after the cache has forgotten the nodes) to find them.
        """
        root = self._root
        if isinstance(root, bytes):
            return BLANK_ROOT if root == EMPTY_REF else root[1:]
        ref = root.ref if root.ref is not None else self._encode_reference(root, batch)
        if len(ref) == _HASH_REF_LENGTH:
            root_hash = ref[1:]
        else:
            # A root under 32 bytes is inline by the child rule, but the root is always stored by hash.
            root_hash = keccak256(ref)
            batch.put(root_hash, ref)
        root_ref = HASH_REF_PREFIX + root_hash
        self._cache._put(root_ref, root)
        self._root = root_ref
        return root_hash

    # -- loading ---------------------------------------------------------------------------------------

    def _load(self, ref: bytes) -> _Node | None:
        """Resolve an encoded reference that missed the cache: None for EMPTY_REF, else decode and cache."""
        if ref == EMPTY_REF:
            return None
        if len(ref) == _HASH_REF_LENGTH:
            encoding = self._store.get(ref[1:])
            if encoding is None:
                raise DatabaseError(f"missing trie node {ref[1:].hex()}")
        else:
            encoding = ref
        try:
            node = _decode_node(encoding)
        except DecodingError as exc:
            raise DatabaseError(f"corrupt trie node {ref.hex()}: {exc}") from exc
        # As a child, a node under 32 bytes is embedded whole, even when it was stored by hash (a root).
        node.ref = encoding if len(encoding) < 32 else ref
        self._cache._put(ref, node)
        return node

    def _resolve(self, slot: _Slot) -> _Node | None:
        if isinstance(slot, bytes):
            return self._nodes.get(slot) or self._load(slot)
        return slot

    # -- writing ---------------------------------------------------------------------------------------
    # Both walks take the full nibble path and an offset into it, so no level copies the path.

    def _insert(self, slot: _Slot, path: bytes, pos: int, value: bytes) -> _Slot:
        """Return the slot for ``slot``'s subtrie with ``value`` at ``path[pos:]``; ``slot`` if unchanged."""
        node = self._nodes.get(slot) or self._load(slot) if isinstance(slot, bytes) else slot
        if isinstance(node, _Branch):
            if pos == len(path):
                if node.value == value:
                    return slot
                target = node if node.ref is None else _Branch(node.children.copy(), node.value)
                target.value = value
                return target
            index = path[pos]
            child = node.children[index]
            new_child = self._insert(child, path, pos + 1, value)
            if new_child is child:
                return slot
            target = node if node.ref is None else _Branch(node.children.copy(), node.value)
            target.children[index] = new_child
            target.dirty |= 1 << index  # _insert always returns a node object when something changed
            return target
        if node is None:
            return _Leaf(path[pos:], value)
        if isinstance(node, _Leaf):
            if node.path == path[pos:]:
                if node.value == value:
                    return slot
                if node.ref is None:
                    node.value = value
                    return node
                return _Leaf(node.path, value, node.path_item)
            return _split(node, path[pos:], value)
        node_path = node.path
        if path.startswith(node_path, pos):
            child = node.child
            new_child = self._insert(child, path, pos + len(node_path), value)
            if new_child is child:
                return slot
            if node.ref is None:
                node.child = new_child
                return node
            return _Extension(node_path, new_child, node.path_item)
        return _split(node, path[pos:], value)

    def _remove(self, slot: _Slot, path: bytes, pos: int) -> _Slot:
        """Return the slot for the subtrie at ``slot`` without ``path[pos:]``; ``slot`` if it was absent."""
        node = self._resolve(slot)
        if node is None:
            return slot
        if isinstance(node, _Leaf):
            return EMPTY_REF if node.path == path[pos:] else slot
        if isinstance(node, _Branch):
            if pos == len(path):
                if not node.value:
                    return slot
                target = node if node.ref is None else _Branch(node.children.copy(), node.value)
                target.value = b""
            else:
                index = path[pos]
                child = node.children[index]
                new_child = self._remove(child, path, pos + 1)
                if new_child is child:
                    return slot
                target = node if node.ref is None else _Branch(node.children.copy(), node.value)
                target.set_child(index, new_child)
            return self._collapse_branch(target)
        node_path = node.path
        if not path.startswith(node_path, pos):
            return slot
        child = node.child
        new_child = self._remove(child, path, pos + len(node_path))
        if new_child is child:
            return slot
        below = self._resolve(new_child)
        # The child was a branch; after a removal it may have shrunk to a leaf or extension to absorb.
        if below is None:
            return EMPTY_REF
        if isinstance(below, _Leaf):
            return _Leaf(node_path + below.path, below.value)
        if isinstance(below, _Extension):
            return _Extension(node_path + below.path, below.child)
        if node.ref is None:
            node.child = new_child
            return node
        return _Extension(node_path, new_child, node.path_item)

    def _collapse_branch(self, branch: _Branch) -> _Slot:
        """Restore the normal form of a dirty branch after a removal: a branch needs two entries."""
        live = [index for index, child in enumerate(branch.children) if child != EMPTY_REF]
        if branch.value:
            return branch if live else _Leaf(b"", branch.value)
        if len(live) != 1:
            return branch if live else EMPTY_REF
        index = live[0]
        slot = branch.children[index]
        only = self._resolve(slot)
        if isinstance(only, _Leaf):
            return _Leaf(bytes((index,)) + only.path, only.value)
        if isinstance(only, _Extension):
            return _Extension(bytes((index,)) + only.path, only.child)
        return _Extension(bytes((index,)), slot)

    # -- hashing ---------------------------------------------------------------------------------------

    def _encode_reference(self, root: _Node, batch: WriteBatch | None) -> bytes:
        """Encode the dirty nodes under ``root`` and return its reference.

        With a batch, each encoded node becomes clean: its children are replaced by their references, it
        is cached, and if hashed it is put into the batch. Without one (``root_hash`` before a commit)
        nothing is changed. Written as a closure over locals: this is the per-block hot loop.
        """
        persist = batch is not None
        put = batch.put if batch is not None else None
        cached = self._nodes

        def encode(node: _Node) -> bytes:
            if isinstance(node, _Branch):
                refs = node.children.copy()
                dirty = node.dirty
                while dirty:
                    index = (dirty & -dirty).bit_length() - 1
                    dirty &= dirty - 1
                    child = refs[index]
                    if not isinstance(child, bytes):
                        refs[index] = child.ref or encode(child)
                payload = b"".join(cast("list[bytes]", refs)) + encode_rlp_string(node.value)
                encoding = encode_rlp_list(payload)
                if persist:
                    # Clean nodes hold only references: committed subtrees stay reachable via the cache only.
                    node.children = refs
                    node.dirty = 0
            elif isinstance(node, _Leaf):
                path_item = node.path_item
                if path_item is None:
                    path_item = node.path_item = encode_rlp_string(encode_hex_prefix(node.path, True))
                encoding = encode_rlp_list(path_item + encode_rlp_string(node.value))
            else:
                path_item = node.path_item
                if path_item is None:
                    path_item = node.path_item = encode_rlp_string(encode_hex_prefix(node.path, False))
                child = node.child
                child_ref = child if isinstance(child, bytes) else child.ref or encode(child)
                encoding = encode_rlp_list(path_item + child_ref)
                if persist:
                    node.child = child_ref
            if len(encoding) < 32:
                ref = encoding
            else:
                node_hash = keccak256(encoding)
                ref = HASH_REF_PREFIX + node_hash
                if put is not None:
                    put(node_hash, encoding)
            if persist:
                node.ref = ref
                cached[ref] = node
            return ref

        try:
            root_ref = encode(root)
        finally:
            # encode refers to itself through its closure cell: break that cycle, or the function and the
            # batch it holds would live until a full garbage collection.
            del encode
        self._cache._trim()
        return root_ref


class SecureTrie(MerklePatriciaTrie):
    """A trie keyed by ``keccak256(key)``, as Ethereum's account and storage tries are."""

    __slots__ = ()

    @staticmethod
    def _compute_path(key: bytes) -> bytes:
        return _compute_secure_path(key)


@lru_cache(maxsize=16_384)
def _compute_secure_path(key: bytes) -> bytes:
    # A transfer reads then writes the same accounts: memoising saves a keccak (~5 us) per repeat.
    return compute_nibbles(keccak256(key))


def _split(old: _Leaf | _Extension, path: bytes, value: bytes) -> _Node:
    """Build the nodes where a new key's ``path`` leaves the path of an existing leaf or extension."""
    old_path = old.path
    common = 0
    limit = min(len(old_path), len(path))
    while common < limit and old_path[common] == path[common]:
        common += 1
    branch = _Branch(list(_EMPTY_CHILDREN), b"")
    if isinstance(old, _Leaf):
        if common == len(old_path):
            branch.value = old.value
        else:
            branch.set_child(old_path[common], _Leaf(old_path[common + 1 :], old.value))
    else:
        # The new path does not start with the extension's path, so the extension ends below the branch.
        rest = old_path[common + 1 :]
        branch.set_child(old_path[common], _Extension(rest, old.child) if rest else old.child)
    if common == len(path):
        branch.value = value
    else:
        branch.set_child(path[common], _Leaf(path[common + 1 :], value))
    if common == 0:
        return branch
    return _Extension(path[:common], branch)


def _decode_node(encoding: bytes) -> _Node:
    """Decode a stored node encoding into a node object (its ``ref`` left for the caller to set)."""
    items = split_rlp_list(encoding)
    if len(items) == 17:
        for item in items[:16]:
            _validate_child_reference(item)
        children: list[_Slot] = [*items[:16]]
        return _Branch(children, decode_rlp_string(items[16]))
    if len(items) != 2:
        raise DecodingError(f"a node has 2 or 17 items, not {len(items)}")
    path, is_leaf = decode_hex_prefix(decode_rlp_string(items[0]))
    if is_leaf:
        return _Leaf(path, decode_rlp_string(items[1]), items[0])
    if not path:
        raise DecodingError("extension with an empty path")
    _validate_child_reference(items[1])
    if items[1] == EMPTY_REF:
        raise DecodingError("extension without a child")
    return _Extension(path, items[1], items[0])


def _validate_child_reference(item: bytes) -> None:
    # EMPTY_REF, a 32-byte hash, or an inline node: an RLP list shorter than 32 bytes.
    if item == EMPTY_REF or (len(item) == _HASH_REF_LENGTH and item[0] == HASH_REF_PREFIX[0]):
        return
    if len(item) < 32 and item[0] >= 0xC0:
        return
    raise DecodingError("bad child reference")
