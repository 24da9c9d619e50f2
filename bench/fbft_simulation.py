"""Rounds per second of the FBFT engine in the seeded simulator, without faults.

Every node runs the real engine and every message goes through its wire encoding; the network is
the simulator's fake one (no sockets), so the figure is the cost of consensus logic, encoding and
signatures per finalized block for the whole network on one core.

    python bench/fbft_simulation.py                       # linear stand-in scheme, 4/16/100/400
    python bench/fbft_simulation.py --bls --validators 4 16 100

A round is one finalized block (announce, prepare, prepared, commit, committed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT / "tests" / "simulation"))
sys.path.insert(0, str(ROOT))

from fbft_sim import BLS_SCHEME, run_clean  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validators", type=int, nargs="+", default=[4, 16, 100, 400])
    parser.add_argument("--blocks", type=int, default=0, help="blocks per run (default: scaled to the size)")
    parser.add_argument("--bls", action="store_true", help="sign with BLS instead of the linear stand-in")
    args = parser.parse_args()
    scheme = BLS_SCHEME if args.bls else None
    figures = []
    for validators in args.validators:
        blocks = args.blocks or max(5, 2000 // validators)
        start = time.perf_counter()
        result = run_clean(validators, blocks, scheme)
        elapsed = time.perf_counter() - start
        rounds = min(result.heights)
        figures.append(f"rounds_per_s_{validators}={rounds / elapsed:.1f}")
        print(f"validators={validators:4d} blocks={rounds:5d} events={result.events:8d} seconds={elapsed:7.2f} "
              f"rounds/s={rounds / elapsed:8.1f} scheme={'bls' if args.bls else 'linear'}")
    print(" ".join(figures))


if __name__ == "__main__":
    main()
