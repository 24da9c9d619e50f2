"""BLS costs per backend: sign, verify, key decoding, aggregation of N signatures, FastAggregateVerify.

    python bench/bls.py [--skip-reference]

"agg N" aggregates N signatures given as bytes (decoding and the G2 subgroup check included).
"FAV N bytes" passes the keys as bytes, so each is decoded and subgroup-checked on every call;
"FAV N cached" starts from keys decoded once, which is what a node holding its committee does.
py_ecc (pure Python, about a second per call) is timed on N = 4 and 16 only.
Last line: ``bls_verify_ms=<n> fav400_cached_ms=<n>`` for the blst backend.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from crypto import bls
from crypto.bls import get_backend
from crypto.bls.backend import BLSBackend


def _ms(func: Callable[[], object], repeat: int) -> float:
    """Mean wall time of one call, in milliseconds."""
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat * 1000


def _measure(backend: BLSBackend, sizes: list[int], repeat: int) -> dict[str, float]:
    message = b"\x42" * 32
    secrets = [bls.generate_secret_key(i.to_bytes(32, "big")) for i in range(1, max(sizes) + 1)]
    public_keys = [backend.secret_to_public(s) for s in secrets]
    signatures = [backend.sign(s, message) for s in secrets]
    few = max(1, repeat // 4)
    figures = {
        "sign": _ms(lambda: backend.sign(secrets[0], message), repeat),
        "verify": _ms(lambda: backend.verify(public_keys[0], message, signatures[0]), repeat),
        "load_pk": _ms(lambda: backend.load_public_key(public_keys[0]), repeat),
    }
    for n in sizes:
        aggregate = backend.aggregate_signatures(signatures[:n])
        points = [backend.load_public_key(pk) for pk in public_keys[:n]]
        if not backend.fast_aggregate_verify_loaded(points, message, aggregate):
            raise SystemExit(f"{backend.name}: aggregate of {n} signatures does not verify")
        keys, sigs = public_keys[:n], signatures[:n]
        figures[f"agg{n}"] = _ms(lambda: backend.aggregate_signatures(sigs), few)
        figures[f"fav{n}_bytes"] = _ms(lambda: backend.fast_aggregate_verify(keys, message, aggregate), few)
        cached = _ms(lambda: backend.fast_aggregate_verify_loaded(points, message, aggregate), repeat)
        figures[f"fav{n}_cached"] = cached
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-reference", action="store_true", help="do not time py_ecc (saves ~10 s)")
    args = parser.parse_args()
    runs = [(get_backend("blst"), [4, 16, 100, 400], 40)]
    if not args.skip_reference:
        runs.append((get_backend("py_ecc"), [4, 16], 1))
    results = {}
    for backend, sizes, repeat in runs:
        results[backend.name] = figures = _measure(backend, sizes, repeat)
        print(f"{backend.name}:")
        for name, value in figures.items():
            print(f"  {name:>14} {value:10.3f} ms")
    fast = results["blst"]
    print(f"bls_verify_ms={fast['verify']:.2f} fav400_cached_ms={fast['fav400_cached']:.2f}")


if __name__ == "__main__":
    main()
