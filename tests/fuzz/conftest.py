"""Fuzzing of every decoder that takes outside bytes: budget, shared mutations, and the per-decoder count.

Budget: each fuzz test runs ``HARMONY_FUZZ_EXAMPLES`` Hypothesis examples (default 300, what CI runs);
a long run sets it higher, e.g. ``HARMONY_FUZZ_EXAMPLES=100000 pytest tests/fuzz``. Test modules take
it from ``fuzz_settings`` (a fixture cannot decorate, so they read ``FUZZ_EXAMPLES`` the same way).

Every decoder call goes through the ``fuzz_record`` fixture, and the session ends with a table of
inputs tried per decoder: how many were accepted and how many refused, by error type.

The RLP-aware mutations (``fuzz_mutate``) start from a valid encoding and break it at every level:
bytes (bit flips, truncation, extension, splices), structure (items dropped, duplicated, swapped
between string and list, nested thousands deep) and length prefixes (non-canonical forms).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from typing import Any, Union

import pytest
import rlp
from _pytest.terminal import TerminalReporter
from hypothesis import strategies as st

from fuzzing import Mutate, Record

Tree = Union[bytes, list["Tree"]]

_COUNTS: dict[str, Counter[str]] = defaultdict(Counter)
ACCEPTED = "accepted"


@pytest.fixture(scope="session")
def fuzz_record() -> Record:
    """``record(decoder, error)``: count one input, accepted when ``error`` is None."""

    def record(decoder: str, error: BaseException | None) -> None:
        _COUNTS[decoder][ACCEPTED if error is None else type(error).__name__] += 1

    return record


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not _COUNTS:
        return
    examples = os.environ.get("HARMONY_FUZZ_EXAMPLES", "300 (default)")
    terminalreporter.section(f"fuzzing: inputs tried per decoder (HARMONY_FUZZ_EXAMPLES={examples})")
    width = max(len(name) for name in _COUNTS)
    total = 0
    for name in sorted(_COUNTS):
        counts = _COUNTS[name]
        tried = sum(counts.values())
        total += tried
        accepted = counts.get(ACCEPTED, 0)
        refused = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()) if kind != ACCEPTED)
        terminalreporter.write_line(
            f"{name:<{width}}  {tried:>8} inputs  {accepted:>7} accepted  {tried - accepted:>8} refused"
            + (f" ({refused})" if refused else "")
        )
    terminalreporter.write_line(f"{'total':<{width}}  {total:>8} inputs")


# --- RLP-aware mutation -----------------------------------------------------------------------------


def _decode_tree(data: bytes) -> Tree | None:
    try:
        tree: Tree = rlp.decode(data, strict=True)
    except (rlp.DecodingError, RecursionError):
        return None
    return tree


def _length_header(length: int, offset: int, style: int) -> bytes:
    """A length prefix; ``style`` 0 is canonical, 1 the long form always, 2 a long form with a leading zero."""
    if style == 0 and length < 56:
        return bytes((offset + length,))
    body = length.to_bytes(max(1, (length.bit_length() + 7) // 8), "big")
    if style == 2:
        body = b"\x00" + body
    return bytes((offset + 55 + len(body),)) + body


def _encode_tree(tree: Tree, noncanonical: set[int], counter: list[int]) -> bytes:
    """RLP of ``tree``; the items whose pre-order index is in ``noncanonical`` get a non-canonical prefix."""
    index = counter[0]
    counter[0] += 1
    style = 0
    if index in noncanonical:
        style = 1 + index % 2
    if isinstance(tree, bytes):
        if len(tree) == 1 and tree[0] < 0x80:
            return (b"\x81" + tree) if style else tree
        return _length_header(len(tree), 0x80, style) + tree
    payload = b"".join(_encode_tree(item, noncanonical, counter) for item in tree)
    return _length_header(len(payload), 0xC0, style) + payload


def _paths(tree: Tree, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    found = [prefix]
    if isinstance(tree, list):
        for index, item in enumerate(tree):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _get(tree: Tree, path: tuple[int, ...]) -> Tree:
    for index in path:
        assert isinstance(tree, list)
        tree = tree[index]
    return tree


def _replace(tree: Tree, path: tuple[int, ...], new: Tree) -> Tree:
    if not path:
        return new
    assert isinstance(tree, list)
    copy = list(tree)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


_INTERESTING_BYTES = [
    b"", b"\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"\x00\x01", b"\xff" * 8, b"\x01" + b"\x00" * 8,
    b"\xff" * 32, b"\x01" + b"\x00" * 32, b"\x00" * 20, b"\x00" * 32, b"\x00" * 48, b"\x00" * 96,
]


def _mutate_node(data: Any, node: Tree) -> Tree:
    """A changed version of one item of a decoded RLP tree."""
    if isinstance(node, bytes):
        op = data.draw(st.integers(0, 8), label="leaf op")
        if op == 0:
            return data.draw(st.sampled_from(_INTERESTING_BYTES), label="interesting")
        if op == 1:
            return data.draw(st.binary(max_size=max(2, 2 * len(node))), label="random leaf")
        if op == 2:
            return b"\x00" + node  # a leading zero: not minimal as an integer
        if op == 3:
            return node[:-1] if node else b"\x00"
        if op == 4:
            return node + data.draw(st.binary(min_size=1, max_size=4), label="longer leaf")
        if op == 5:
            return [node]  # a string where a list is not expected
        if op == 6:
            inner = _decode_tree(node)  # an RLP blob inside a field (a header's slashes, crosslinks, ...)
            if inner is not None and node:
                return _encode_tree(_mutate_tree(data, inner), set(), [0])
            return node
        if op == 7 and node:
            position = data.draw(st.integers(0, len(node) - 1), label="flip at")
            return node[:position] + bytes((node[position] ^ (1 << data.draw(st.integers(0, 7))),)) + node[position + 1:]
        return data.draw(st.integers(0, 2**300), label="int").to_bytes(38, "big").lstrip(b"\x00")
    op = data.draw(st.integers(0, 6), label="list op")
    if op == 0 and node:
        index = data.draw(st.integers(0, len(node) - 1), label="drop")
        return node[:index] + node[index + 1:]
    if op == 1 and node:
        index = data.draw(st.integers(0, len(node) - 1), label="duplicate")
        return node[: index + 1] + node[index:]
    if op == 2:
        return [*node, data.draw(st.sampled_from(_INTERESTING_BYTES), label="extra item")]
    if op == 3:
        return _encode_tree(node, set(), [0])  # the list as a byte string
    if op == 4:
        return [node]
    if op == 5:
        return []
    return [b"\x80"] * data.draw(st.integers(0, 70), label="many items")


def _mutate_tree(data: Any, tree: Tree) -> Tree:
    for _ in range(data.draw(st.integers(1, 3), label="tree mutations")):
        paths = _paths(tree)
        path = data.draw(st.sampled_from(paths), label="path")
        tree = _replace(tree, path, _mutate_node(data, _get(tree, path)))
    return tree


def _nest(data: Any, raw: bytes) -> bytes:
    """``raw`` wrapped in many list levels: a depth bomb for recursive decoders."""
    depth = data.draw(st.sampled_from([2, 17, 100, 1200, 3000]), label="depth")
    for _ in range(depth):
        raw = _length_header(len(raw), 0xC0, 0) + raw
    return raw


def _mutate_bytes(data: Any, raw: bytes) -> bytes:
    op = data.draw(st.integers(0, 6), label="byte op")
    size = len(raw)
    if op == 0 and raw:
        for _ in range(data.draw(st.integers(1, 4), label="flips")):
            position = data.draw(st.integers(0, size - 1), label="flip at")
            raw = raw[:position] + bytes((raw[position] ^ (1 << data.draw(st.integers(0, 7))),)) + raw[position + 1:]
        return raw
    if op == 1:
        return raw[: data.draw(st.integers(0, max(0, size - 1)), label="truncate to")]
    if op == 2:
        return raw + data.draw(st.binary(min_size=1, max_size=16), label="extension")
    if op == 3 and raw:
        position = data.draw(st.integers(0, size - 1), label="overwrite at")
        patch = data.draw(st.binary(min_size=1, max_size=8), label="patch")
        return raw[:position] + patch + raw[position + len(patch):]
    if op == 4 and raw:
        start = data.draw(st.integers(0, size - 1), label="cut start")
        end = data.draw(st.integers(start, size), label="cut end")
        return raw[:start] + raw[end:]
    if op == 5 and raw:
        position = data.draw(st.integers(0, size), label="insert at")
        return raw[:position] + data.draw(st.binary(min_size=1, max_size=8), label="insert") + raw[position:]
    return _nest(data, raw)


def mutate(data: Any, raw: bytes) -> bytes:
    """A mutation of the valid encoding ``raw``: structural (RLP), non-canonical, or byte-level."""
    kind = data.draw(st.integers(0, 9), label="mutation kind")
    tree = _decode_tree(raw) if kind < 6 else None
    if tree is not None and kind < 5:
        return _encode_tree(_mutate_tree(data, tree), set(), [0])
    if tree is not None:
        count = len(_paths(tree))
        noncanonical = set(data.draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=3), label="noncanon"))
        return _encode_tree(tree, noncanonical, [0])
    return _mutate_bytes(data, raw)


@pytest.fixture(scope="session")
def fuzz_mutate() -> Mutate:
    """``mutate(data, valid)``: draw (from ``st.data()``) a mutation of the valid encoding ``valid``."""
    return mutate
