"""The checker of the fault-injection harness: every invariant, read from the data directories of a
stopped localnet (``check_network``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from consensus.safety import SafetyRecord
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.genesis import Genesis, load_genesis
from harmony_node.chain.shard_flows import get_shard_flows
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.exceptions import NotFound
from harmony_node.types.cx_receipt import CXReceipt
from harmony_node.types.transaction import Transaction
from node_cluster import open_stopped_chain
from testnet_faults import FaultRecord
from testnet_load import Operation

@dataclass(frozen=True, slots=True)
class InvariantResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass(slots=True)
class _Blocks:
    """What the invariants need from the blocks of the reference copy of every chain, read once."""

    included: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    """Transaction hash -> (shard, number) of every block that holds it."""
    nonces: dict[tuple[int, bytes, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    sent: dict[str, tuple[int, int, Transaction]] = field(default_factory=dict)
    """Cross-shard transaction hash -> (source shard, number, the transaction)."""
    credited: dict[str, list[tuple[int, int, CXReceipt]]] = field(default_factory=lambda: defaultdict(list))
    """Cross-shard transaction hash -> (destination shard, number, receipt) of every block that credited it."""
    touched: dict[int, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    """Per shard, every account a block sent from or to."""


def _read_blocks(chains: dict[int, Blockchain]) -> _Blocks:
    blocks = _Blocks()
    for shard, chain in chains.items():
        for number in range(1, chain.head.number + 1):
            block = chain.get_block_by_number(number)
            for tx in (*block.transactions, *block.staking_transactions):
                tx_hash = "0x" + tx.hash.hex()
                sender = tx.recover_sender()
                blocks.included[tx_hash].append((shard, number))
                blocks.nonces[(shard, sender, tx.nonce)].append(tx_hash)
                blocks.touched[shard].add(sender)
                if isinstance(tx, Transaction) and tx.to:
                    blocks.touched[tx.to_shard_id].add(tx.to)
                    if tx.is_cross_shard:
                        blocks.sent[tx_hash] = (shard, number, tx)
            for proof in block.incoming_receipts:
                for receipt in proof.receipts:
                    blocks.credited["0x" + receipt.tx_hash.hex()].append((shard, number, receipt))
                    blocks.touched[shard].add(receipt.to_address)
    return blocks


def _open_chains(node_dirs: Sequence[Path], genesis_file: Path, shard: int,
                 stack: ExitStack) -> dict[str, Blockchain]:
    chains = {}
    for node_dir in node_dirs:
        chain = stack.enter_context(open_stopped_chain(node_dir, genesis_file, shard))
        if chain is not None:
            chains[node_dir.name] = chain
    return chains


def check_network(datadir: Path, shards: int, operations: Sequence[Operation],
                  faults: Sequence[FaultRecord] = ()) -> list[InvariantResult]:
    """Every invariant, on the data directories of a stopped localnet. Each result says what differed.

    (a) **identical hashes per height**: every node's copy of each chain is a prefix of the longest
        copy. FBFT blocks are final; two nodes holding different blocks at one height is a fork.
    (b) **transactions**: an ``ok`` transfer (its receipt was seen) is in exactly one block of its
        shard, the block its receipt named; a ``failed`` one (no node can have accepted it) is in no
        block; an ``unknown`` one in at most one. No (sender, nonce) and no transaction hash appears
        twice anywhere on a chain: a replayed or double-spent transaction.
    (c) **view ids never decrease**: along each chain the header view ids strictly increase (height
        h+1 starts in the view after the one h was committed in, ``consensus.fbft``); a view going
        back would mean a node voted in a view it had already left.
    (d) **no conflicting votes**: no node logged ``double sign observed`` (an engine saw two commit
        votes of one key for different blocks at one height and view); and each node's persisted
        safety record (only its latest height and view are kept, ``consensus.safety``) never says it
        committed a different block at the (height, view) in which the chain finalized another one.
    (e) **progress resumed** is checked while the network runs (``Testnet.measure_recovery``); here:
        the faults that expected a view change (a leader taken out) show one in the headers of some
        shard (a view id that jumps by more than one) among the blocks made from the fault's start
        (the record does not say which shard the leader led), and those that
        expected a halt (more than f validators down) saw no block finalized during the outage.
    (f) **conservation** (``shard_flows``): Σ shards' genesis alloc + minted − burned (the beacon's
        supply, plus every other shard's fees) = Σ balances of every account any block touched +
        stakes, unclaimed rewards and pending undelegations + Σ (cross-shard sent − credited, in
        flight).
    (g) **cross-shard transfers credited exactly once**: no receipt is credited twice; every credited
        receipt is one a source chain sent, to that shard, account and amount; every ``ok``
        cross-shard transfer is credited on its destination (the harness waited for the credits
        after recovery, so one still missing was lost), in the block its RPC node reported if it
        reported one.
    (h) **a double spend puts at most one of its two transactions on chain** (when the load made
        any): two transfers with one (sender, nonce), submitted through two nodes at once.
    """
    genesis_file = datadir / "genesis.json"
    genesis = load_genesis(genesis_file)
    node_dirs = sorted(path for path in datadir.iterdir() if path.is_dir() and (path / "node.log").exists())
    results: list[InvariantResult] = []
    with ExitStack() as stack:
        references: dict[int, Blockchain] = {}
        copies_by_shard: dict[int, dict[str, Blockchain]] = {}
        fork_problems: list[str] = []
        for shard in range(shards):
            chains = copies_by_shard[shard] = _open_chains(node_dirs, genesis_file, shard, stack)
            copies = {name: [chain.get_block_by_number(n).header.hash for n in range(chain.head.number + 1)]
                      for name, chain in chains.items()}
            longest_node = max(copies, key=lambda name: len(copies[name]))
            longest = copies[longest_node]
            references[shard] = chains[longest_node]
            for name, hashes in copies.items():
                if hashes != longest[:len(hashes)]:
                    height = next(h for h, (a, b) in enumerate(zip(hashes, longest)) if a != b)
                    fork_problems.append(f"shard {shard}: {name} has 0x{hashes[height].hex()[:16]} at height {height},"
                                         f" {longest_node} has 0x{longest[height].hex()[:16]}")
            heads = ", ".join(f"{name}={len(h) - 1}" for name, h in sorted(copies.items()))
            results.append(InvariantResult(f"identical hashes per height (shard {shard})", not fork_problems,
                                           "; ".join(fork_problems) or f"heads {heads}"))
            fork_problems = []
        blocks = _read_blocks(references)
        results += _check_transactions(blocks, operations)
        results += _check_views(references, faults)
        results += _check_votes(node_dirs, copies_by_shard, references)
        results += _check_halts(faults)
        results += _check_conservation(references, blocks, genesis)
        results += _check_cross_shard(blocks, operations)
        results += _check_double_spends(blocks, operations)
    return results


def _check_transactions(blocks: _Blocks, operations: Sequence[Operation]) -> list[InvariantResult]:
    included, nonces = blocks.included, blocks.nonces
    problems: list[str] = []
    for op in operations:
        places = included.get(op.tx_hash, [])
        if op.outcome == "ok" and (len(places) != 1 or places[0] != (op.shard, op.block)):
            problems.append(f"ok {op.kind} {op.tx_hash[:18]} (receipt: shard {op.shard} block {op.block}) is in "
                            f"{places or 'no block'}")
        elif op.outcome == "failed" and places:
            problems.append(f"failed {op.kind} {op.tx_hash[:18]} ({op.error}) is in {places}")
        elif op.outcome not in ("ok", "failed") and len(places) > 1:
            problems.append(f"unknown {op.kind} {op.tx_hash[:18]} is in {places}")
    twice = [f"shard {s} sender 0x{sender.hex()[:10]} nonce {nonce}: {hashes}"
             for (s, sender, nonce), hashes in nonces.items() if len(hashes) > 1]
    hashes_twice = [f"{h[:18]} in {places}" for h, places in included.items() if len(places) > 1]
    counts = Counter(op.outcome for op in operations if op.kind == "transfer")
    funding = sum(1 for op in operations if op.kind == "fund")
    cross_shard = sum(1 for op in operations if op.kind == "transfer" and op.is_cross_shard)
    unknown_in = sum(1 for op in operations if op.outcome == "unknown" and included.get(op.tx_hash))
    return [
        InvariantResult("acknowledged transfers in exactly one block, failed in none, unknown in at most one",
                        not problems, "; ".join(problems[:8]) or
                        f"transfers {counts['ok']} ok, {counts['failed']} failed, {counts['unknown']} unknown "
                        f"({unknown_in} of those included; {cross_shard} cross-shard); {funding} funding transfers"),
        InvariantResult("no (sender, nonce) or transaction twice", not twice and not hashes_twice,
                        "; ".join((twice + hashes_twice)[:8]) or f"{len(included)} transactions on chain"),
    ]


def _check_views(chains: dict[int, Blockchain], faults: Sequence[FaultRecord]) -> list[InvariantResult]:
    results = []
    views = {shard: [chain.get_header(n).view_id for n in range(chain.head.number + 1)]
             for shard, chain in chains.items()}
    for shard, shard_views in views.items():
        back = [f"block {n}: view {shard_views[n - 1]} -> {shard_views[n]}" for n in range(1, len(shard_views))
                if shard_views[n] <= shard_views[n - 1]]
        jumps = sum(1 for n in range(1, len(shard_views)) if shard_views[n] > shard_views[n - 1] + 1)
        results.append(InvariantResult(f"view ids strictly increase (shard {shard})", not back,
                                       "; ".join(back[:8]) or f"{len(shard_views)} headers, last view "
                                                              f"{shard_views[-1]}, {jumps} view changes"))
    for fault in faults:
        if not fault.expect_view_change:
            continue
        seen: list[str] = []
        changed = False
        # Where the fault took a leader out; a fault naming nodes rather than roles: any shard.
        for shard, shard_views in views.items():
            if fault.leader_shards and shard not in fault.leader_shards:
                continue
            start = fault.heights_at_start.get(shard, 0)
            changes = [n for n in range(start + 1, len(shard_views)) if shard_views[n] > shard_views[n - 1] + 1]
            changed |= bool(changes)
            seen.append(f"shard {shard}: view jumps at blocks {changes[:5]}" if changes else
                        f"shard {shard}: views from block {start}: {shard_views[start:start + 12]}")
        results.append(InvariantResult(f"a view change after: {fault.description}", changed, "; ".join(seen)))
    return results


def _check_votes(node_dirs: Sequence[Path], copies_by_shard: dict[int, dict[str, Blockchain]],
                 references: dict[int, Blockchain]) -> list[InvariantResult]:
    observed = []
    for node_dir in node_dirs:
        for line in (node_dir / "node.log").read_text(errors="replace").splitlines():
            if "double sign observed" in line:
                observed.append(f"{node_dir.name}: {line.strip()[:200]}")
    conflicts: list[str] = []
    records = 0
    for shard, copies in copies_by_shard.items():
        reference = references[shard]
        for name, chain in copies.items():
            data = chain.chain_store.get_safety_record(shard)
            if data is None:
                continue
            record = SafetyRecord.decode(data)
            records += 1
            if not record.committed or record.height > reference.head.number:
                continue
            try:
                commit_view = reference.get_commit(record.height).view
            except NotFound:
                continue
            final = reference.get_block_by_number(record.height).header.hash
            if commit_view == record.view and record.committed != final:
                conflicts.append(f"shard {shard} {name}: committed 0x{record.committed.hex()[:16]} at height "
                                 f"{record.height} view {record.view}, the chain finalized 0x{final.hex()[:16]} there")
    return [
        InvariantResult("no node observed a double sign", not observed, "; ".join(observed[:5])
                        or f"{len(node_dirs)} node logs read"),
        InvariantResult("safety records agree with the finalized chain", not conflicts,
                        "; ".join(conflicts[:5]) or f"{records} safety records read"),
    ]


def _check_halts(faults: Sequence[FaultRecord]) -> list[InvariantResult]:
    return [InvariantResult(f"no block while more than f were down: {fault.description}", fault.halt_observed is None,
                            fault.halt_observed or f"heights at the kill {fault.heights_at_start}, held through")
            for fault in faults if fault.expect_halt]


def _check_conservation(chains: dict[int, Blockchain], blocks: _Blocks, genesis: Genesis) -> list[InvariantResult]:
    alloc = sum(balance for _, balance in genesis.alloc)
    beacon_state = chains[0].get_state()
    ledger = StateStakingLedger(beacon_state, alloc)
    supply = ledger.get_supply()
    staked = 0
    accounts: dict[int, set[bytes]] = {shard: {address for address, _ in genesis.alloc} for shard in chains}
    for validator in ledger.get_validator_addresses():
        accounts[0].add(validator)
        wrapper = ledger.get_validator(validator)
        if wrapper is not None:
            for delegation in wrapper.delegations:
                accounts[0].add(delegation.delegator)
                staked += delegation.amount + delegation.reward + delegation.pending_undelegation
    for shard in chains:
        accounts[shard] |= blocks.touched.get(shard, set())
    holdings, in_flight, other_fees = staked, 0, 0
    for shard, chain in chains.items():
        state = chain.get_state()
        holdings += sum(state.get_balance(address) for address in accounts[shard])
        flows = get_shard_flows(state)
        in_flight += flows.cx_sent - flows.cx_credited
        if shard != 0:
            other_fees += flows.fees_burned
    left = len(chains) * alloc + supply.minted - supply.burned - other_fees
    right = holdings + in_flight
    return [
        InvariantResult("conservation: alloc + minted - burned = holdings + in flight", left == right,
                        f"{left} vs {right} (difference {left - right}; minted {supply.minted}, burned "
                        f"{supply.burned + other_fees}, in flight {in_flight})"),
    ]


def _check_cross_shard(blocks: _Blocks, operations: Sequence[Operation]) -> list[InvariantResult]:
    problems = [f"{h[:18]} credited {len(places)} times: {[(s, n) for s, n, _ in places]}"
                for h, places in blocks.credited.items() if len(places) > 1]
    for tx_hash, places in blocks.credited.items():
        tx = blocks.sent[tx_hash][2] if tx_hash in blocks.sent else None
        for shard, number, receipt in places:
            if tx is None:
                problems.append(f"{tx_hash[:18]} credited at shard {shard} block {number}, sent by no source block")
            elif (tx.to_shard_id, tx.to, tx.value) != (shard, receipt.to_address, receipt.amount):
                problems.append(f"{tx_hash[:18]} credited {receipt.amount} to 0x{receipt.to_address.hex()[:10]} at "
                                f"shard {shard}, sent {tx.value} to 0x{tx.to.hex()[:10]} at shard {tx.to_shard_id}")
    acknowledged = [op for op in operations if op.is_cross_shard and op.outcome == "ok"]
    unseen = 0
    for op in acknowledged:
        credits = [(shard, number) for shard, number, _ in blocks.credited.get(op.tx_hash, [])]
        if not credits:
            problems.append(f"ok cross-shard {op.tx_hash[:18]} (shard {op.shard} block {op.block} -> shard "
                            f"{op.to_shard}) never credited")
        elif op.credited_block is None:
            unseen += 1  # on chain, but not yet on the destination's RPC node when the client stopped asking
        elif credits[0] != (op.to_shard, op.credited_block):
            problems.append(f"ok cross-shard {op.tx_hash[:18]}: the client saw it credited at shard {op.to_shard} "
                            f"block {op.credited_block}, the chain credits it at {credits}")
    delays = [op.credited_s - op.completed_s for op in acknowledged
              if op.credited_s is not None and op.completed_s is not None]
    in_flight = sum(1 for h in blocks.sent if h not in blocks.credited)
    summary = (f"{len(blocks.credited)} receipts credited once each; {len(acknowledged)} acknowledged cross-shard "
               f"transfers all credited ({unseen} not seen by the client; credit seen at most "
               f"{max(delays, default=0.0):.1f} s after the receipt); {in_flight} sent, still in flight"
               if blocks.sent or blocks.credited else "no cross-shard transfer on any chain")
    return [InvariantResult("cross-shard transfers credited exactly once", not problems,
                            "; ".join(problems[:8]) or summary)]


def _check_double_spends(blocks: _Blocks, operations: Sequence[Operation]) -> list[InvariantResult]:
    halves = {op.tx_hash: op for op in operations if op.rival is not None}
    if not halves:
        return []
    pairs = {tuple(sorted((tx_hash, op.rival))) for tx_hash, op in halves.items() if op.rival is not None}
    on_chain = Counter(sum(1 for tx_hash in pair if blocks.included.get(tx_hash)) for pair in pairs)
    both = [f"{a[:18]} and {b[:18]} in {blocks.included[a]} and {blocks.included[b]}"
            for a, b in pairs if blocks.included.get(a) and blocks.included.get(b)]
    outcomes = Counter(op.outcome for op in halves.values())
    return [
        InvariantResult("a double spend puts at most one of its two transactions on chain", not both,
                        "; ".join(both[:5]) or
                        f"{len(pairs)} pairs: {on_chain[1]} with one included, {on_chain[0]} with none, "
                        f"{on_chain[2]} with both (halves {outcomes['ok']} ok, {outcomes['lost']} lost, "
                        f"{outcomes['unknown']} unknown, {outcomes['failed']} failed)"),
    ]


