"""Child process for the crash test: import signed blocks into a LevelDB chain forever.

After each import it prints the new head number, so the parent knows which blocks were final
before it kills this process with SIGKILL at an arbitrary moment.
"""

from __future__ import annotations

import sys

from chain_factory import extend_chain, open_chain
from harmony_node.db.level import LevelDBStore


def main(path: str) -> None:
    with LevelDBStore(path) as store:
        chain = open_chain(store)
        print(f"opened {chain.head.number}", flush=True)
        while True:
            extend_chain(chain, 1, txs_per_block=20)
            print(f"imported {chain.head.number}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
