"""Benchmark: state-trie cost of plain transfers, our deferred-hashing trie against py-trie's HexaryTrie.

A transfer is 2 account reads and 2 account writes in a secure trie of ``--accounts`` accounts holding
RLP ``[nonce, balance, storageRoot, codeHash]``; each block of ``--block-size`` transfers ends with the
root hash and one LevelDB write batch. New account values are prepared before the clock starts, so the
figures are the trie's own cost (account codec and signature recovery excluded). HexaryTrie runs on
the same state (its node database is filled from our nodes, which also checks the roots agree).

Run: ``.venv/bin/python bench/state_trie.py [--accounts 100000] [--blocks 10] [--hexary-blocks 1]``
(or ``python -m bench.state_trie``).
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time

import rlp
from trie.hexary import HexaryTrie

from crypto.hash import EMPTY_KECCAK, keccak256
from harmony_node.db.level import LevelDBStore
from harmony_node.db.store import WriteBatch
from harmony_node.state.trie import NodeCache, SecureTrie
from harmony_node.types.trie_root import BLANK_ROOT, compute_trie_root

Transfer = tuple[bytes, bytes, bytes, bytes]  # sender, receiver, new sender value, new receiver value


def encode_account(nonce: int, balance: int) -> bytes:
    return rlp.encode([nonce, balance, BLANK_ROOT, EMPTY_KECCAK])


def make_blocks(
    addresses: list[bytes], accounts: dict[bytes, tuple[int, int]], blocks: int, size: int, rng: random.Random
) -> list[list[Transfer]]:
    """Draw random transfers and the account values they leave, applying them to ``accounts``."""
    result = []
    for _ in range(blocks):
        block = []
        for _ in range(size):
            sender, receiver = rng.sample(addresses, 2)
            s_nonce, s_balance = accounts[sender]
            accounts[sender] = (s_nonce + 1, s_balance - 1_000)
            r_nonce, r_balance = accounts[receiver]
            accounts[receiver] = (r_nonce, r_balance + 1_000)
            block.append(
                (sender, receiver, encode_account(*accounts[sender]), encode_account(*accounts[receiver]))
            )
        result.append(block)
    return result


def run_ours(
    state: SecureTrie, store: LevelDBStore, blocks: list[list[Transfer]]
) -> tuple[float, list[bytes]]:
    """Return seconds spent and the root after each block."""
    roots = []
    start = time.perf_counter()
    for block in blocks:
        for sender, receiver, sender_value, receiver_value in block:
            if state.get(sender) is None or state.get(receiver) is None:
                raise SystemExit("benchmark state lost an account")
            state.set(sender, sender_value)
            state.set(receiver, receiver_value)
        batch = WriteBatch()
        roots.append(state.commit(batch))
        store.write(batch)
    return time.perf_counter() - start, roots


def run_hexary(hexary: HexaryTrie, blocks: list[list[Transfer]]) -> tuple[float, list[bytes]]:
    roots = []
    start = time.perf_counter()
    for block in blocks:
        for sender, receiver, sender_value, receiver_value in block:
            hexary.get(keccak256(sender))
            hexary.get(keccak256(receiver))
            hexary.set(keccak256(sender), sender_value)
            hexary.set(keccak256(receiver), receiver_value)
        roots.append(hexary.root_hash)
    return time.perf_counter() - start, roots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--block-size", type=int, default=2_000)
    parser.add_argument("--hexary-blocks", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    addresses = [keccak256(i.to_bytes(8, "big"))[:20] for i in range(args.accounts)]
    accounts = {address: (0, 10**24) for address in addresses}
    initial_accounts = dict(accounts)
    hexary_blocks = max(1, min(args.hexary_blocks, args.blocks))
    blocks = make_blocks(addresses, accounts, args.blocks, args.block_size, rng)

    with tempfile.TemporaryDirectory() as datadir, LevelDBStore(datadir) as store:
        cache = NodeCache(max(250_000, 3 * args.accounts))
        state = SecureTrie(store, node_cache=cache)
        start = time.perf_counter()
        for address, (nonce, balance) in initial_accounts.items():
            state.set(address, encode_account(nonce, balance))
        genesis = WriteBatch()
        genesis_root = state.commit(genesis)
        store.write(genesis)
        setup = time.perf_counter() - start
        print(f"setup: {args.accounts} accounts inserted + committed in {setup:.2f} s "
              f"({setup / args.accounts * 1e6:.1f} us/account), {len(genesis)} nodes")
        genesis_nodes = dict(genesis)

        # The recommended node setup: trie nodes form no reference cycles, so freeze what is loaded
        # (collections skip it) and collect young objects rarely (each block allocates ~5 nodes/transfer).
        gc.collect()
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        print("gc: freeze() after setup, set_threshold(100_000, 50, 100)")
        seconds, roots = run_ours(state, store, blocks)
        transfers = args.blocks * args.block_size
        ours_us = seconds / transfers * 1e6
        print(f"ours (warm NodeCache, LevelDB batch per block): {args.blocks} blocks x {args.block_size} "
              f"transfers in {seconds:.3f} s = {ours_us:.1f} us/transfer "
              f"({transfers / seconds:,.0f} transfers/s)")

        cold_blocks = make_blocks(addresses, accounts, 1, args.block_size, rng)
        cold_state = SecureTrie(store, roots[-1], NodeCache(max(250_000, 3 * args.accounts)))
        cold_seconds, _ = run_ours(cold_state, store, cold_blocks)
        print(f"ours (cold NodeCache, nodes read from LevelDB): 1 block = "
              f"{cold_seconds / args.block_size * 1e6:.1f} us/transfer")

    hexary = HexaryTrie(genesis_nodes, genesis_root)
    hexary_seconds, hexary_roots = run_hexary(hexary, blocks[:hexary_blocks])
    if hexary_roots != roots[:hexary_blocks]:
        raise SystemExit("root mismatch between our trie and HexaryTrie")
    hexary_us = hexary_seconds / (hexary_blocks * args.block_size) * 1e6
    print(f"HexaryTrie (dict DB, root per block): {hexary_blocks} block(s) in {hexary_seconds:.3f} s = "
          f"{hexary_us:.1f} us/transfer; roots identical to ours")

    # Hashing dominates: ~5 node hashes plus 2 key hashes per transfer.
    for size in (32, 532):
        data = rng.randbytes(size)
        start = time.perf_counter()
        for _ in range(20_000):
            keccak256(data)
        print(f"crypto.hash.keccak256 of {size} B: {(time.perf_counter() - start) / 20_000 * 1e6:.2f} us")

    items = [(rlp.encode(index), rng.randbytes(110)) for index in range(args.block_size)]
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        compute_trie_root(items)
    root_ms = (time.perf_counter() - start) / rounds * 1e3
    print(f"compute_trie_root over {args.block_size} items of 110 B: {root_ms:.2f} ms")
    print(f"trie_us_per_transfer={ours_us:.1f} hexary_us_per_transfer={hexary_us:.1f}")


if __name__ == "__main__":
    main()
