"""Block execution throughput: signed plain transfers at a realistic state size.

What one validator does to import a block, timed end to end: decode every raw transaction,
recover its sender (secp256k1), execute it (nonce, balance, gas, fee burn, credit), compute the
receipts and state roots, and write the block's new trie nodes to LevelDB in one batch.

The reference is the same work with py-trie's HexaryTrie holding the state (our earlier baseline),
measured in the same run on the same transactions.

    python bench/execution.py --accounts 100000 --txs 2000

Last line: ``execution_tps=<n> reference_tps=<n>``.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from trie import HexaryTrie

from crypto.hash import keccak256
from crypto.secp256k1 import compute_address
from harmony_node.chain.block_processing import build_block, process_block
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.state.account import EMPTY_ACCOUNT, Account, decode_account, encode_account
from harmony_node.state.state_db import StateDB
from harmony_node.state.trie import NodeCache
from harmony_node.types.block import Block
from harmony_node.types.header import Header, make_header
from harmony_node.types.transaction import decode_transaction, encode_transaction, sign_transaction

GAS_PRICE = 100 * 10**9


class HexaryStateDB:
    """The same account interface as StateDB, kept in py-trie's HexaryTrie (the reference)."""

    def __init__(self, trie: HexaryTrie) -> None:
        self._trie = trie
        self._accounts: dict[bytes, Account] = {}
        self._dirty: set[bytes] = set()

    def get_account(self, address: bytes) -> Account:
        account = self._accounts.get(address)
        if account is None:
            encoded = self._trie.get(keccak256(address))
            account = decode_account(encoded) if encoded else EMPTY_ACCOUNT
            self._accounts[address] = account
        return account

    def set_account(self, address: bytes, account: Account) -> None:
        self._accounts[address] = account
        self._dirty.add(address)

    def commit(self, batch: WriteBatch) -> bytes:
        with self._trie.squash_changes() as squashed:
            for address in self._dirty:
                squashed[keccak256(address)] = encode_account(self._accounts[address])
        self._dirty.clear()
        self._accounts.clear()
        return bytes(self._trie.root_hash)


def _make_accounts(count: int, senders: int, rng: random.Random) -> tuple[list[bytes], list[bytes]]:
    """``senders`` accounts with keys (they sign), the rest plain addresses (they receive)."""
    keys = [rng.randbytes(32) for _ in range(senders)]
    addresses = [compute_address(key) for key in keys]
    addresses += [rng.randbytes(20) for _ in range(count - senders)]
    return keys, addresses


def _sign_blocks(
    keys: list[bytes], addresses: list[bytes], txs: int, block_size: int, config: ChainConfig, rng: random.Random
) -> list[list[bytes]]:
    """Raw signed transfers, grouped into blocks, each sender once per block (nonce = block index)."""
    blocks: list[list[bytes]] = []
    nonces = [0] * len(keys)
    remaining = txs
    while remaining > 0:
        size = min(block_size, remaining, len(keys))
        raw_block = []
        for sender_index in rng.sample(range(len(keys)), size):
            tx = sign_transaction(
                nonce=nonces[sender_index],
                gas_price=GAS_PRICE,
                gas_limit=21_000,
                shard_id=0,
                to_shard_id=0,
                to=rng.choice(addresses),
                value=rng.randrange(1, 10**18),
                data=b"",
                private_key=keys[sender_index],
                chain_id=config.chain_id,
            )
            nonces[sender_index] += 1
            raw_block.append(encode_transaction(tx))
        blocks.append(raw_block)
        remaining -= size
    return blocks


def _genesis_header(root: bytes, config: ChainConfig) -> Header:
    return make_header(state_root=root, gas_limit=config.block_gas_limit, timestamp=1)


def _build_chain(
    raw_blocks: list[list[bytes]], addresses: list[bytes], config: ChainConfig
) -> tuple[Header, list[Block]]:
    """Have a 'leader' on a throwaway in-memory state assemble the blocks the benchmark imports."""
    store = MemoryStore()
    state = StateDB(store)
    for address in addresses:
        state.set_account(address, Account(balance=1_000_000 * ONE))
    batch = WriteBatch()
    genesis = _genesis_header(state.commit(batch), config)
    store.write(batch)
    parent = genesis
    blocks = []
    for number, raw_block in enumerate(raw_blocks, start=1):
        txs = [decode_transaction(raw) for raw in raw_block]
        batch = WriteBatch()
        built = build_block(StateDB(store, parent.state_root), parent, txs, config, batch, timestamp=number + 1)
        if built.rejected:
            raise SystemExit(f"bench setup bug: leader rejected {built.rejected[0][1]}")
        store.write(batch)
        blocks.append(built.block)
        parent = built.block.header
    return genesis, blocks


def _import_blocks(
    make_state: Any, commit_store: KeyValueStore | None, genesis: Header, blocks: list[Block],
    raw_blocks: list[list[bytes]], config: ChainConfig,
) -> list[float]:
    """Import each block from raw transactions; return seconds per block."""
    parent = genesis
    timings = []
    for block, raw_block in zip(blocks, raw_blocks):
        gc.collect()
        start = time.perf_counter()
        received = Block(
            header=block.header,
            transactions=[decode_transaction(raw) for raw in raw_block],
            staking_transactions=[],
            uncles=[],
            incoming_receipts=[],
        )
        batch = WriteBatch()
        process_block(make_state(parent.state_root), parent, received, config, batch)
        if commit_store is not None:
            commit_store.write(batch)
        timings.append(time.perf_counter() - start)
        parent = block.header
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts in the state")
    parser.add_argument("--txs", type=int, default=2_000, help="transfers per block")
    parser.add_argument("--blocks", type=int, default=5, help="blocks to import with our trie")
    parser.add_argument("--reference-blocks", type=int, default=1, help="blocks to import with HexaryTrie")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    # A block of 2,000 transfers needs 42M gas; the benchmark network allows it.
    config = ChainConfig(num_shards=1, block_gas_limit=max(30_000_000, args.txs * 21_000))
    senders = min(args.accounts, args.txs)
    print(f"setup: {args.accounts} accounts, {args.blocks} blocks of {args.txs} transfers")
    keys, addresses = _make_accounts(args.accounts, senders, rng)
    raw_blocks = _sign_blocks(keys, addresses, args.txs * args.blocks, args.txs, config, rng)
    genesis, blocks = _build_chain(raw_blocks, addresses, config)

    with tempfile.TemporaryDirectory() as tmp:
        store = LevelDBStore(Path(tmp) / "state")
        # Size the node cache to hold the whole state (~1.4 trie nodes per account, ~850 B each), as
        # a validator with this state would; the cold-cache cost is reported by bench/state_trie.py.
        node_cache = NodeCache(max_nodes=3 * args.accounts)
        state = StateDB(store, node_cache=node_cache)
        for address in addresses:
            state.set_account(address, Account(balance=1_000_000 * ONE))
        batch = WriteBatch()
        root = state.commit(batch)
        store.write(batch)
        assert root == genesis.state_root
        gc.freeze()  # the genesis node tree lives for the whole run; keep the cyclic GC off it
        ours = _import_blocks(
            lambda r: StateDB(store, r, node_cache), store, genesis, blocks, raw_blocks, config
        )
        store.close()

    reference_trie = HexaryTrie({})
    with reference_trie.squash_changes() as squashed:
        for address in addresses:
            squashed[keccak256(address)] = encode_account(Account(balance=1_000_000 * ONE))
    assert bytes(reference_trie.root_hash) == genesis.state_root
    reference_blocks = blocks[: args.reference_blocks]
    reference = _import_blocks(
        lambda r: HexaryStateDB(reference_trie), None, genesis, reference_blocks, raw_blocks, config
    )

    tx_counts = [len(b.transactions) for b in blocks]
    print(f"{'block':>5} {'txs':>6} {'ours s':>8} {'tps':>8}")
    for i, (n, t) in enumerate(zip(tx_counts, ours), start=1):
        print(f"{i:>5} {n:>6} {t:>8.3f} {n / t:>8.0f}")
    execution_tps = sum(tx_counts) / sum(ours)
    reference_tps = sum(tx_counts[: len(reference)]) / sum(reference)
    print(f"median block: {statistics.median(ours):.3f} s; reference (HexaryTrie) block: {statistics.median(reference):.3f} s")
    print(f"execution_tps={execution_tps:.0f} reference_tps={reference_tps:.0f}")


if __name__ == "__main__":
    main()
