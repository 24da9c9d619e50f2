"""DESIGN.md §2: dependencies point one way, and the pure packages do no I/O and read no clock.

Walks every module's AST (imports anywhere in the file count, not only at the top) and fails on:
- a pure package (crypto, consensus, sharding, staking, harmony_node.types) importing an I/O or async
  library, or reading the wall clock;
- an import against the arrows: crypto <- harmony_node.types <- consensus/sharding/staking <- rest of
  harmony_node <- cli. ``harmony_node.exceptions`` imports nothing and is allowed everywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PURE = ("crypto", "consensus", "sharding", "staking", "harmony_node/types")
FORBIDDEN_IN_PURE = {
    "trio", "libp2p", "plyvel", "click", "aiohttp", "hypercorn", "starlette", "requests", "socket",
    "asyncio", "threading", "multiprocessing", "subprocess", "http", "urllib", "time", "datetime",
}
# crypto may read and write key files and draw key material from the OS; protocol rules may not.
FORBIDDEN_EXCEPT_CRYPTO = {"os", "random", "secrets", "tempfile"}
CLOCK_CALLS = {("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("datetime", "now")}

# What each layer may import from the project.
ALLOWED_PROJECT_IMPORTS = {
    "crypto": ("crypto", "harmony_node.exceptions"),
    "harmony_node/types": ("crypto", "harmony_node.exceptions", "harmony_node.types"),
    "consensus": ("crypto", "harmony_node.exceptions", "harmony_node.types", "consensus"),
    "sharding": ("crypto", "harmony_node.exceptions", "harmony_node.types", "sharding", "consensus"),
    "staking": ("crypto", "harmony_node.exceptions", "harmony_node.types", "staking"),
    "harmony_node": ("crypto", "harmony_node", "consensus", "sharding", "staking"),
}
PROJECT_ROOTS = {"crypto", "consensus", "sharding", "staking", "harmony_node", "cli"}


def _layer_of(path: Path) -> str:
    rel = path.relative_to(ROOT).as_posix()
    if rel.startswith("harmony_node/types/"):
        return "harmony_node/types"
    return rel.split("/", 1)[0]


def _imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _clock_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in CLOCK_CALLS:
                found.append(f"{node.value.id}.{node.attr}")
    return found


def _source_files() -> list[Path]:
    files: list[Path] = []
    for top in ("crypto", "consensus", "sharding", "staking", "harmony_node", "cli"):
        files.extend(sorted((ROOT / top).rglob("*.py")))
    return files


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_respects_layering(path: Path) -> None:
    layer = _layer_of(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    problems: list[str] = []
    for module in _imported_modules(tree):
        top = module.split(".", 1)[0]
        if layer in PURE:
            if top in FORBIDDEN_IN_PURE:
                problems.append(f"pure package imports {module}")
            if top in FORBIDDEN_EXCEPT_CRYPTO and layer != "crypto":
                problems.append(f"protocol rules import {module}")
        if top in PROJECT_ROOTS and layer in ALLOWED_PROJECT_IMPORTS:
            if module != "harmony_node.exceptions" and not module.startswith(
                ALLOWED_PROJECT_IMPORTS[layer]
            ):
                problems.append(f"{layer} may not import {module}")
    if layer in PURE:
        problems.extend(f"pure package reads the clock: {call}" for call in _clock_calls(tree))
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)


def test_exceptions_module_imports_nothing_from_the_project() -> None:
    tree = ast.parse((ROOT / "harmony_node" / "exceptions.py").read_text())
    assert [m for m in _imported_modules(tree) if m != "__future__"] == []


def test_node_code_does_not_load_py_ecc() -> None:
    """py_ecc is a test oracle only. Importing it raises the recursion limit to 100000 for the whole
    process, after which deeply nested JSON from a peer can segfault the interpreter instead of
    raising RecursionError. So no module a node runs may import it."""
    import subprocess
    import sys

    code = (
        "import sys, crypto.bls, crypto.vrf, crypto.keystore, crypto.bls_keyfile, consensus.signing, "
        "consensus.messages, consensus.evidence, harmony_node.chain.block_processing, "
        "harmony_node.chain.genesis, cli.node, cli.client; "
        "print(any(m.startswith('py_ecc') for m in sys.modules), sys.getrecursionlimit())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.split() == ["False", "1000"]
