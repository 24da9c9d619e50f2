"""A fresh node syncing finalized blocks from a peer, every commit certificate verified.

A source chain of ``--blocks`` empty blocks is built and finalized by a committee (``--validators``
BLS keys, two thirds plus one signing each block) in LevelDB. Then a fresh node on its own
LevelDB asks for batches with the sync server's function and hands each batch to its consensus
driver as ``BlocksSynced``, exactly as the node does: the engine checks each certificate against
the committee and the block against the chain, and the chain executes and writes it in one synced
batch. Only the fresh node's side is timed.

    python bench/sync.py --blocks 5000

Last line: ``sync_blocks_per_s=<n>`` (target >= 500).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

from consensus.fbft import BlocksSynced, FbftConfig, FbftEngine  # noqa: E402
from consensus.quorum import Committee  # noqa: E402
from consensus.scheme import BLS_SCHEME  # noqa: E402
from consensus.signing import aggregate_votes, compute_commit_payload  # noqa: E402
from crypto import bls  # noqa: E402
from harmony_node.chain.blockchain import Blockchain  # noqa: E402
from harmony_node.chain.chain_store import CommitRecord  # noqa: E402
from harmony_node.chain.config import ONE, ChainConfig  # noqa: E402
from harmony_node.chain.genesis import Genesis  # noqa: E402
from harmony_node.db.level import LevelDBStore  # noqa: E402
from harmony_node.node.chain_access import NodeChainAccess  # noqa: E402
from harmony_node.node.consensus_driver import ConsensusDriver  # noqa: E402
from harmony_node.node.sync import MAX_BLOCKS_PER_REQUEST, get_synced_blocks  # noqa: E402

GENESIS = Genesis("bench", ChainConfig(), 1_700_000_000, b"", ((b"\x01" * 20, 10**9 * ONE),))


def build_source(path: Path, blocks: int, secrets: list[int], committee: Committee) -> Blockchain:
    chain = Blockchain.open(LevelDBStore(path), GENESIS, 0, lambda number: committee)
    signers = range(len(secrets) * 2 // 3 + 1)
    for number in range(1, blocks + 1):
        view = number
        built = chain.build_block([], timestamp=GENESIS.timestamp + number, view_id=view)
        header = built.block.header
        payload = compute_commit_payload(header.number, header.hash, view)
        certificate, _ = aggregate_votes(committee, payload, {i: bls.sign(secrets[i], payload) for i in signers})
        chain.import_block(built.block, CommitRecord(view, certificate))
    return chain


def measure(blocks: int, validators: int) -> float:
    secrets = [bls.generate_secret_key(i.to_bytes(32, "big")) for i in range(1, validators + 1)]
    committee = Committee.with_equal_power([bls.secret_to_public(s) for s in secrets], shard_id=0, epoch=0)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        source = build_source(Path(tmp) / "source", blocks, secrets, committee)
        print(f"built source chain of {blocks} blocks in {time.perf_counter() - started:.1f} s", flush=True)
        fresh = Blockchain.open(LevelDBStore(Path(tmp) / "fresh"), GENESIS, 0, lambda number: committee)
        # A non-validating node: no keys, so it only follows and imports.
        access = NodeChainAccess(fresh, lambda: ((), ()))
        driver = ConsensusDriver(FbftEngine(FbftConfig(), access, []), access)
        now = GENESIS.timestamp * 1000
        driver.start(now)
        BLS_SCHEME.forget_verified()  # the source chain's imports verified these certificates already
        started = time.perf_counter()
        while fresh.head.number < blocks:
            batch = get_synced_blocks(source, fresh.head.number + 1, MAX_BLOCKS_PER_REQUEST)
            driver.handle(BlocksSynced(batch), now)
        elapsed = time.perf_counter() - started
        assert fresh.head.hash == source.head.hash
        source.store.close()
        fresh.store.close()
    return blocks / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=5000)
    parser.add_argument("--validators", type=int, default=16)
    args = parser.parse_args()
    rate = measure(args.blocks, args.validators)
    print(f"blocks={args.blocks} validators={args.validators}")
    print(f"sync_blocks_per_s={rate:.1f}")


if __name__ == "__main__":
    main()
