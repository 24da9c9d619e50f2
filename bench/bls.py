"""BLS costs per backend: sign, verify, aggregate N signatures from bytes, FastAggregateVerify.

    python bench/bls.py [--reference]

"FAV cached" starts from public keys decoded once (what a node holding its committee does).
``--reference`` also times py_ecc (pure Python, seconds per call) on small N.
Last line: ``bls_verify_ms=<n> fav400_cached_ms=<n>`` for the fast backend.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from crypto import bls
from crypto.bls import get_backend
from crypto.bls.backend import BLSBackend


def _ms(func: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat * 1000


def _measure(backend: BLSBackend, sizes: list[int], repeat: int) -> dict[str, float]:
    message = b"\x42" * 32
    secrets = [bls.generate_secret_key(i.to_bytes(32, "big")) for i in range(1, max(sizes) + 1)]
    public_keys = [backend.secret_to_public(s) for s in secrets]
    signatures = [backend.sign(s, message) for s in secrets]
    figures = {
        "sign": _ms(lambda: backend.sign(secrets[0], message), repeat),
        "verify": _ms(lambda: backend.verify(public_keys[0], message, signatures[0]), repeat),
    }
    for n in sizes:
        aggregate = backend.aggregate_signatures(signatures[:n])
        points = [backend.load_public_key(pk) for pk in public_keys[:n]]
        figures[f"agg{n}"] = _ms(lambda: backend.aggregate_signatures(signatures[:n]), max(1, repeat // 4))
        figures[f"fav{n}_bytes"] = _ms(lambda: backend.fast_aggregate_verify(public_keys[:n], message, aggregate), max(1, repeat // 4))
        figures[f"fav{n}_cached"] = _ms(lambda: backend.fast_aggregate_verify_loaded(points, message, aggregate), repeat)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", action="store_true", help="also time py_ecc on N=4")
    args = parser.parse_args()
    runs = [(get_backend("blst"), [4, 16, 100, 400], 40)]
    if args.reference:
        runs.append((get_backend("py_ecc"), [4], 2))
    results = {}
    for backend, sizes, repeat in runs:
        results[backend.name] = figures = _measure(backend, sizes, repeat)
        print(f"{backend.name}:")
        for name, value in figures.items():
            print(f"  {name:>14} {value:9.3f} ms")
    fast = results["blst"]
    print(f"bls_verify_ms={fast['verify']:.2f} fav400_cached_ms={fast['fav400_cached']:.2f}")


if __name__ == "__main__":
    main()
