"""One shard's finalized chain: open from disk, build, execute and import blocks.

The import pipeline for a block N with its commit certificate:
1. it must extend the head (finalized blocks are never replaced: there are no forks to choose);
2. its certificate must carry a quorum of N's committee over ``commit_payload(N, hash, view)``,
   and for N > 1 its header must carry the parent's commit certificate (header N+1 rule);
3. execute it on the head's state (``process_block`` checks every root);
4. write state nodes, block, receipts, certificate, tx index and the new head in one atomic,
   synced batch.

A block that consensus validated before voting is executed once: the result waits in a small
cache keyed by block hash until the block is committed. Any failure leaves disk and head as they
were.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from consensus.quorum import Committee
from consensus.signing import validate_commit_certificate, validate_header_commit_signature
from harmony_node.chain.block_processing import BuiltBlock, build_block, process_block
from harmony_node.chain.beacon_execution import BeaconRules
from harmony_node.chain.chain_store import ChainStore, CommitRecord
from harmony_node.chain.config import ChainConfig
from harmony_node.chain.epochs import BEACON_SHARD, ChainRules, HeaderFields
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.chain.execution import ExecutionResult
from harmony_node.chain.genesis import Genesis, build_genesis_block
from harmony_node.chain.incoming_receipts import ProofChecker
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import DatabaseError, InvalidBlock, InvalidTransaction, NotFound, ValidationError
from harmony_node.state.state_db import StateDB
from harmony_node.state.trie import NodeCache
from harmony_node.types.block import Block
from harmony_node.types.cx_receipt import CXReceiptsProof
from harmony_node.types.header import Header
from harmony_node.types.staking_transaction import StakingTransaction
from harmony_node.types.transaction import Transaction
from sharding.cross_shard import compute_proof_key
from sharding.crosslink import CrossLink, decode_crosslinks, encode_crosslinks, select_crosslinks, validate_crosslink
from staking.transactions import BlockContext, process_staking_message

CommitteeSource = Callable[[int], Committee]
"""The committee that signs block ``number`` (from genesis now; from the beacon's elections later)."""

_EXECUTED_CACHE_SIZE = 8


def _read_only(number: int) -> Committee:
    raise NotFound("this chain was opened without committees: it can be read, not extended")


class GenesisMismatch(DatabaseError):
    """The data directory holds another network's chain."""


class Blockchain:
    """The finalized chain of one shard, persisted in ``store``."""

    def __init__(self, store: KeyValueStore, config: ChainConfig, get_committee: CommitteeSource | None = None,
                 rules: ChainRules | None = None) -> None:
        """``rules`` adds the epoch rules (committees from the beacon, VRF, shard states); without
        them the chain has the fixed committees ``get_committee`` gives (single-chain tests, benches).
        With neither, the chain can be read but not extended (a stopped node's data, inspected)."""
        self.store = store
        self.chain_store = ChainStore(store)
        self.config = config
        self.rules = rules
        self.get_committee = rules.get_committee if rules is not None else get_committee or _read_only
        self.beacon_rules: BeaconRules | None = None
        if rules is not None and rules.shard_id == BEACON_SHARD:
            epochs = rules.epochs
            self.beacon_rules = BeaconRules(
                epochs.genesis.staking, rules.schedule, sum(balance for _, balance in epochs.genesis.alloc),
                epochs.get_committee, epochs.get_slot_validators,
                lambda epoch, vrf_output, elected: epochs.compute_published_state(epoch, vrf_output, elected).encode())
        self.node_cache = NodeCache()
        self._executed: OrderedDict[bytes, tuple[ExecutionResult, WriteBatch]] = OrderedDict()
        head = self.chain_store.get_head()
        if head is None:
            raise DatabaseError("the chain store is empty: open it with Blockchain.open")
        self._set_head(self.chain_store.get_block(head[1]).header)

    @classmethod
    def open(
        cls, store: KeyValueStore, genesis: Genesis, shard_id: int, get_committee: CommitteeSource | None = None,
        rules: ChainRules | None = None,
    ) -> Blockchain:
        """Open the chain in ``store``, writing block 0 first if the store is new."""
        chain_store = ChainStore(store)
        batch = WriteBatch()
        block = build_genesis_block(genesis, shard_id, store, batch)
        known = chain_store.get_genesis_hash()
        if known is None:
            chain_store.add_block(batch, block, (), None)
            store.write(batch, sync=True)
        elif known != block.header.hash:
            raise GenesisMismatch(
                f"this data directory holds a chain with genesis {known.hex()}, not {block.header.hash.hex()}"
            )
        return cls(store, genesis.config, get_committee, rules)

    def _set_head(self, header: Header) -> None:
        self.head = header
        self.head_commit = None if header.number == 0 else self.chain_store.get_commit(header.number)

    @property
    def shard_id(self) -> int:
        return int(self.head.shard_id)

    def get_state(self, root: bytes | None = None) -> StateDB:
        """Accounts at ``root`` (default: the head's state)."""
        return StateDB(self.store, self.head.state_root if root is None else root, self.node_cache)

    def build_block(
        self, candidates: Sequence[Transaction], *, timestamp: int, view_id: int, coinbase: bytes = bytes(20),
        leader_secret: int | None = None, incoming: Sequence[CXReceiptsProof] = (),
        crosslinks: Sequence[CrossLink] = (), staking: Sequence[StakingTransaction] = (),
        slashes: Sequence[bytes] = (),
    ) -> BuiltBlock:
        """A block on the head from ``candidates`` (skipping the ones the rules reject).

        With epoch rules, ``leader_secret`` (the proposer's BLS key, whose address is ``coinbase``)
        makes the header's VRF; InvalidBlock if the block cannot be built yet (next committee unknown).
        On the beacon, the valid ones of the pending ``crosslinks`` go into the header and the
        ``staking`` transactions the rules accept into the body.
        """
        commit = self.head_commit
        batch = WriteBatch()
        fields = HeaderFields(self.head.epoch, b"", b"")
        if self.rules is not None:
            if leader_secret is None:
                raise ValueError("a chain with epoch rules needs the leader's key to build a block")
            fields = self.rules.compute_header_fields(self.head, leader_secret)
        built = build_block(self.get_state(), self.head, candidates, self.config, batch, timestamp=timestamp,
                            coinbase=coinbase, view_id=view_id, epoch=fields.epoch, vrf=fields.vrf,
                            shard_state=fields.shard_state, incoming=incoming, checker=self.proof_checker,
                            cross_links=encode_crosslinks(self.select_crosslinks(crosslinks)),
                            # header N+1 carries block N's commit certificate (the beacon pays its signers)
                            last_commit=commit.certificate if commit is not None else None,
                            staking_candidates=staking if self.beacon_rules is not None else (),
                            beacon=self.beacon_rules, slash_candidates=slashes)
        self._remember(built.block.header.hash, built.result, batch)
        return built

    def execute_block(self, block: Block, now: int | None = None) -> ExecutionResult:
        """Validate ``block`` as the head's child and execute it (nothing is written to disk).

        Also checks the parent's commit certificate in the header. InvalidBlock if a rule breaks.
        """
        header = block.header
        if header.parent_hash != self.head.hash or header.number != self.head.number + 1:
            raise InvalidBlock(f"block {header.number} does not extend the head {self.head.number}")
        if header.number > 1:
            try:
                validate_header_commit_signature(self.get_committee(self.head.number), self.head, header)
            except ValidationError as exc:
                raise InvalidBlock(f"parent commit signature: {exc}") from exc
        cached = self._executed.get(header.hash)
        if cached is not None:
            return cached[0]
        if self.rules is not None:
            self.rules.validate_header(self.head, header)
            self.validate_crosslinks(header)
        batch = WriteBatch()
        result = process_block(self.get_state(), self.head, block, self.config, batch, now, self.proof_checker,
                               self.beacon_rules)
        self._remember(header.hash, result, batch)
        return result

    def _remember(self, block_hash: bytes, result: ExecutionResult, batch: WriteBatch) -> None:
        self._executed[block_hash] = (result, batch)
        while len(self._executed) > _EXECUTED_CACHE_SIZE:
            self._executed.popitem(last=False)

    def import_block(self, block: Block, commit: CommitRecord, now: int | None = None, durable: bool = True) -> None:
        """Finalize ``block`` (committed with ``commit``) as the new head, atomically on disk.

        ``durable`` waits for the disk (fsync). A killed process loses nothing either way (the write
        is in the OS once this returns); only a machine crash can drop the newest unsynced blocks,
        and the store then reopens at an older, complete head. Sync passes False: a block fetched
        from peers is cheap to fetch again, and the fsync would cost half of its import time.
        """
        header = block.header
        try:
            validate_commit_certificate(self.get_committee(header.number), header.number, header.hash,
                                        commit.view, commit.certificate)
        except ValidationError as exc:
            raise InvalidBlock(f"commit certificate: {exc}") from exc
        result = self.execute_block(block, now)
        _, batch = self._executed.pop(header.hash)
        eth_hashes = tuple((tx.eth_hash,) if tx.is_eth_compatible else () for tx in block.transactions)
        spent = tuple(compute_proof_key(proof) for proof in block.incoming_receipts)
        links = tuple((link.shard_id, link.block_number, link.encode()) for link in decode_crosslinks(header.cross_links))
        self.chain_store.add_block(batch, block, result.receipts, commit, eth_hashes, result.cx_receipts, spent, links)
        self.store.write(batch, sync=durable)
        self._executed.clear()  # every other cached result was built on the old head
        self._set_head(header)

    def get_block_by_number(self, number: int) -> Block:
        return self.chain_store.get_block_by_number(number)

    def is_valid_crosslink(self, link: CrossLink) -> bool:
        """A crosslink this beacon may include: a shard block after the last one linked, with a quorum."""
        if self.rules is None or self.shard_id != BEACON_SHARD or not 0 < link.shard_id < self.config.num_shards:
            return False
        if link.block_number <= self.chain_store.get_last_linked(link.shard_id):
            return False
        try:
            validate_crosslink(link, self.rules.epochs.get_committee(link.shard_id, link.block_number))
        except (ValidationError, NotFound):
            return False
        return True

    def select_crosslinks(self, pending: Sequence[CrossLink]) -> tuple[CrossLink, ...]:
        if self.rules is None or self.shard_id != BEACON_SHARD:
            return ()
        last = {shard: self.chain_store.get_last_linked(shard) for shard in range(1, self.config.num_shards)}
        return select_crosslinks([link for link in pending if self.is_valid_crosslink(link)], last)

    def validate_crosslinks(self, header: Header) -> None:
        """A beacon header's crosslinks: each valid, in order, one per shard block (InvalidBlock)."""
        if not header.cross_links:
            return
        if self.shard_id != BEACON_SHARD:
            raise InvalidBlock("only the beacon chain carries crosslinks")
        try:
            links = decode_crosslinks(header.cross_links)
        except ValidationError as exc:
            raise InvalidBlock(f"crosslinks: {exc}") from exc
        for link in links:
            if not self.is_valid_crosslink(link):
                raise InvalidBlock(f"crosslink of block {link.block_number} of shard {link.shard_id} is not valid here")
        keys = [(link.shard_id, link.block_number) for link in links]
        if keys != sorted(set(keys)):
            raise InvalidBlock("crosslinks must be in (shard, number) order, each at most once")

    @property
    def proof_checker(self) -> ProofChecker | None:
        """Cross-shard receipts are credited on chains of a sharded network (with epoch rules)."""
        return self if self.rules is not None else None

    def get_source_committee(self, shard_id: int, number: int) -> Committee:
        assert self.rules is not None
        return self.rules.epochs.get_committee(shard_id, number)

    def is_spent(self, proof_key: bytes) -> bool:
        return self.chain_store.is_proof_spent(proof_key)

    def validate_staking_message(self, tx: StakingTransaction) -> None:
        """Check a staking transaction's message against the head's staking records, as the next
        block would apply it (pool admission: "no rewards to collect" is refused on submission, as
        Harmony's pool does, not left to wait for a block that never takes it). Nothing is written;
        the nonce and fee are the pool's checks. InvalidTransaction with the rule's reason."""
        if self.beacon_rules is None or self.rules is None:
            raise InvalidTransaction("staking transactions are processed by the beacon chain only")
        number = self.head.number + 1
        ledger = StateStakingLedger(self.get_state(), self.beacon_rules.genesis_supply)
        context = BlockContext(number, self.rules.schedule.compute_epoch(number))
        process_staking_message(ledger, tx.recover_sender(), tx.stake_message, context, self.beacon_rules.staking)

    def get_header(self, number: int) -> Header:
        """A finalized header (NotFound above the head): the beacon serves epochs this way."""
        return self.chain_store.get_block_by_number(number).header

    def get_commit(self, number: int) -> CommitRecord:
        return self.chain_store.get_commit(number)
