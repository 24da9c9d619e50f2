"""Block validation and import-time execution for one shard (no consensus checks here).

``process_block`` is what a validator runs before it votes and what a syncing node runs before it
imports: header against parent, body against header, execute, then every root the header
commits to must match what execution produced. Consensus (commit signatures, leader, VRF) is
checked by the consensus layer on top of this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from consensus.signing import QuorumCertificate
from crypto.vrf import VRF_OUTPUT_SIZE
from harmony_node.chain.config import ChainConfig
from harmony_node.chain.execution import (
    ExecutionResult,
    apply_transaction,
    apply_transactions,
)
from harmony_node.chain.beacon_execution import (
    BeaconRules,
    BlockInfo,
    apply_rewards_and_epoch_end,
    apply_staking_transactions,
    decode_slashes,
    encode_slashes,
)
from harmony_node.chain.incoming_receipts import ProofChecker, apply_incoming_receipts, select_incoming_proofs
from harmony_node.chain.shard_flows import process_shard_flows
from harmony_node.db.store import WriteBatch
from harmony_node.exceptions import InvalidBlock, InvalidTransaction, ValidationError
from harmony_node.state.state_db import StateDB
from harmony_node.types.block import (
    Block,
    compute_incoming_receipts_root,
    compute_receipts_root,
    compute_transactions_root,
)
from harmony_node.types.cx_receipt import CXReceipt, CXReceiptsProof, compute_outgoing_receipts_root
from harmony_node.types.derive_sha import derive_sha
from harmony_node.types.header import Header, make_header
from harmony_node.types.receipt import Receipt, compute_receipts_bloom
from harmony_node.types.staking_transaction import StakingTransaction
from harmony_node.types.transaction import Transaction

MAX_EXTRA_DATA = 32
"""geth's MaximumExtraDataSize (block 0 is built from the genesis file, never validated by this)."""
MAX_FUTURE_SECONDS = 15
"""How far ahead of the local clock a block's timestamp may be (geth's allowedFutureBlockTime)."""


def compute_fees(transactions: Sequence[Transaction], receipts: Sequence[Receipt]) -> int:
    """What the block's transfers paid for gas (all of it burned): each receipt's gas times its price."""
    fees, previous = 0, 0
    for tx, receipt in zip(transactions, receipts):
        fees += (receipt.cumulative_gas_used - previous) * tx.gas_price
        previous = receipt.cumulative_gas_used
    return fees


def validate_header(parent: Header, header: Header, config: ChainConfig, now: int | None = None) -> None:
    """Check the header fields that follow from the parent and the config alone.

    ``now`` is the local Unix time; pass ``None`` when importing history (sync), where a block's
    distance from today's clock says nothing.
    """
    if header.parent_hash != parent.hash:
        raise InvalidBlock("parent hash does not match the parent block")
    if header.number != parent.number + 1:
        raise InvalidBlock(f"block number {header.number} does not follow parent {parent.number}")
    if header.shard_id != parent.shard_id:
        raise InvalidBlock(f"shard id {header.shard_id} differs from parent's {parent.shard_id}")
    if header.timestamp < parent.timestamp:
        raise InvalidBlock(f"timestamp {header.timestamp} is before the parent's {parent.timestamp}")
    if now is not None and header.timestamp > now + MAX_FUTURE_SECONDS:
        raise InvalidBlock(f"timestamp {header.timestamp} is too far in the future (now {now})")
    if header.epoch < parent.epoch:
        raise InvalidBlock(f"epoch {header.epoch} is before the parent's {parent.epoch}")
    if header.gas_limit != config.block_gas_limit:
        raise InvalidBlock(f"gas limit {header.gas_limit} is not the network's {config.block_gas_limit}")
    if header.gas_used > header.gas_limit:
        raise InvalidBlock(f"gas used {header.gas_used} exceeds the gas limit {header.gas_limit}")
    if len(header.extra_data) > MAX_EXTRA_DATA:
        raise InvalidBlock(f"extra data is {len(header.extra_data)} bytes, at most {MAX_EXTRA_DATA}")


def validate_body(block: Block) -> None:
    """Check that the body is the one the header commits to, and that we can execute it."""
    header = block.header
    if block.uncles:
        raise InvalidBlock("blocks have no uncles")
    if compute_transactions_root(block) != header.transactions_root:
        raise InvalidBlock("transactions root does not match the body")
    if compute_incoming_receipts_root(block.incoming_receipts) != header.incoming_receipts_root:
        raise InvalidBlock("incoming receipts root does not match the body")


def process_block(
    state: StateDB,
    parent: Header,
    block: Block,
    config: ChainConfig,
    batch: WriteBatch,
    now: int | None = None,
    checker: ProofChecker | None = None,
    beacon: BeaconRules | None = None,
) -> ExecutionResult:
    """Validate and execute ``block`` on ``state`` (at the parent's root); add the new state to ``batch``.

    ``checker`` lets the block credit incoming cross-shard receipts (a chain of a sharded network);
    without one, a block carrying them is refused. ``beacon`` adds the beacon chain's staking,
    rewards and epoch ends (beacon_execution). On ``InvalidBlock`` the caller drops ``state`` and
    ``batch``: nothing has been written.
    """
    header = block.header
    validate_header(parent, header, config, now)
    validate_body(block)
    if block.incoming_receipts and checker is None:
        raise InvalidBlock("this chain does not credit cross-shard receipts")
    if (block.staking_transactions or header.slashes) and beacon is None:
        raise InvalidBlock("staking transactions and slashes are executed on the beacon chain only")
    try:
        result = apply_transactions(state, block.transactions, config, header.shard_id, header.gas_limit)
    except InvalidTransaction as exc:
        raise InvalidBlock(exc.reason) from exc
    if checker is not None:
        apply_incoming_receipts(state, block.incoming_receipts, header.shard_id, checker)
    if beacon is not None:
        info = BlockInfo.of(header)
        try:
            _, staking_receipts, staking_gas = apply_staking_transactions(
                state, info, block.staking_transactions, config, beacon, header.gas_limit - result.gas_used,
                result.gas_used, skip_invalid=False)
        except InvalidTransaction as exc:
            raise InvalidBlock(f"staking transaction: {exc.reason}") from exc
        try:
            published, _ = apply_rewards_and_epoch_end(state, info, compute_fees(block.transactions, result.receipts),
                                                       beacon, decode_slashes(header.slashes))
        except ValidationError as exc:
            raise InvalidBlock(str(exc)) from exc
        if header.shard_state != published:
            raise InvalidBlock("shard state is not the assignment this block must publish")
        result = ExecutionResult(result.receipts + tuple(staking_receipts), result.cx_receipts,
                                 result.gas_used + staking_gas)
    if checker is not None:  # a chain of a sharded network keeps its books for network-wide conservation
        process_shard_flows(state, compute_fees(block.transactions, result.receipts), result.cx_receipts,
                            block.incoming_receipts)
    if result.gas_used != header.gas_used:
        raise InvalidBlock(f"gas used {result.gas_used} does not match the header's {header.gas_used}")
    if compute_receipts_root(result.receipts) != header.receipts_root:
        raise InvalidBlock("receipts root does not match execution")
    if compute_receipts_bloom(result.receipts) != header.bloom:
        raise InvalidBlock("logs bloom does not match execution")
    if compute_outgoing_receipts_root(result.cx_receipts) != header.outgoing_receipts_root:
        raise InvalidBlock("outgoing receipts root does not match execution")
    if state.commit(batch) != header.state_root:
        raise InvalidBlock("state root does not match execution")
    return result


@dataclass(frozen=True, slots=True)
class BuiltBlock:
    """A block a leader assembled, with what execution produced and what it left out."""

    block: Block
    result: ExecutionResult
    rejected: tuple[tuple[Transaction, str], ...]


def build_block(
    state: StateDB,
    parent: Header,
    candidates: Sequence[Transaction],
    config: ChainConfig,
    batch: WriteBatch,
    *,
    timestamp: int,
    coinbase: bytes = bytes(20),
    view_id: int = 0,
    epoch: int | None = None,
    vrf: bytes = b"",
    shard_state: bytes = b"",
    incoming: Sequence[CXReceiptsProof] = (),
    checker: ProofChecker | None = None,
    cross_links: bytes = b"",
    last_commit: QuorumCertificate | None = None,
    staking_candidates: Sequence[StakingTransaction] = (),
    beacon: BeaconRules | None = None,
    slash_candidates: Sequence[bytes] = (),
) -> BuiltBlock:
    """Assemble the next block from ``candidates`` in order, skipping those the rules reject.

    A rejected candidate changes nothing (checks run before writes), so skipping is safe. Of the
    ``incoming`` cross-shard proofs, the valid unspent ones are credited (needs ``checker``). The
    new state is committed into ``batch``.
    """
    shard_id = parent.shard_id
    gas_limit = config.block_gas_limit
    included: list[Transaction] = []
    receipts: list[Receipt] = []
    cx_receipts: list[CXReceipt] = []
    rejected: list[tuple[Transaction, str]] = []
    gas_used = 0
    for tx in candidates:
        if gas_limit - gas_used < 21_000:
            break
        try:
            applied = apply_transaction(state, tx, config, shard_id, gas_limit - gas_used, gas_used)
        except InvalidTransaction as exc:
            rejected.append((tx, exc.reason))
            continue
        included.append(tx)
        receipts.append(applied.receipt)
        gas_used += applied.gas_used
        if applied.cx_receipt is not None:
            cx_receipts.append(applied.cx_receipt)
    proofs: list[CXReceiptsProof] = []
    if checker is not None and incoming:
        proofs = select_incoming_proofs(incoming, shard_id, checker)
        apply_incoming_receipts(state, proofs, shard_id, checker)
    number = parent.number + 1
    block_epoch = parent.epoch if epoch is None else epoch
    staking_included: list[StakingTransaction] = []
    slashes = b""
    if beacon is not None:
        info = BlockInfo(number, block_epoch, last_commit.bitmap if last_commit else b"", cross_links,
                         vrf[:VRF_OUTPUT_SIZE], coinbase)
        staking_included, staking_receipts, staking_gas = apply_staking_transactions(
            state, info, staking_candidates, config, beacon, gas_limit - gas_used, gas_used, skip_invalid=True)
        shard_state, applied_slashes = apply_rewards_and_epoch_end(
            state, info, compute_fees(included, receipts), beacon, slash_candidates, skip_invalid=True)
        slashes = encode_slashes(applied_slashes)
        receipts += staking_receipts
        gas_used += staking_gas
    if checker is not None:
        process_shard_flows(state, compute_fees(included, receipts), cx_receipts, proofs)
    state_root = state.commit(batch)
    result = ExecutionResult(tuple(receipts), tuple(cx_receipts), gas_used)
    header = make_header(
        parent_hash=parent.hash,
        coinbase=coinbase,
        state_root=state_root,
        transactions_root=derive_sha(included, staking_included),
        receipts_root=compute_receipts_root(result.receipts),
        outgoing_receipts_root=compute_outgoing_receipts_root(result.cx_receipts),
        incoming_receipts_root=compute_incoming_receipts_root(proofs),
        bloom=compute_receipts_bloom(result.receipts),
        number=number,
        gas_limit=gas_limit,
        gas_used=gas_used,
        timestamp=timestamp,
        view_id=view_id,
        epoch=block_epoch,
        shard_id=shard_id,
        vrf=vrf,
        shard_state=shard_state,
        cross_links=cross_links,
        slashes=slashes,
        last_commit_signature=last_commit.signature if last_commit else bytes(96),
        last_commit_bitmap=last_commit.bitmap if last_commit else b"",
    )
    block = Block(
        header=header,
        transactions=included,
        staking_transactions=staking_included,
        uncles=[],
        incoming_receipts=proofs,
    )
    return BuiltBlock(block, result, tuple(rejected))
