"""The chain as the consensus engine sees it (``consensus.fbft.ChainAccess``), over the real chain.

Consensus proposes, validates and finalizes block *bytes*; this adapter turns them into chain
operations: a leader's block is built from the transaction pool on the head, a proposal is
decoded and executed on the head before this node votes for it, and the committee of a height
comes from the chain. Finalizing (``CommitBlock``) is the node's job: it calls
``Blockchain.import_block``, which reuses the execution done here.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from consensus.fbft import BlockProposal, ChainTip
from consensus.quorum import Committee
from consensus.signing import QuorumCertificate
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.epochs import get_bls_address
from harmony_node.exceptions import InvalidBlock
from harmony_node.types.block import Block, decode_block, encode_block
from harmony_node.types.cx_receipt import CXReceiptsProof
from harmony_node.types.staking_transaction import StakingTransaction
from sharding.crosslink import CrossLink
from harmony_node.types.transaction import Transaction

_DECODED_CACHE_SIZE = 8

BlockCandidates = Callable[[], tuple[Sequence[Transaction], Sequence[StakingTransaction]]]
"""Plain and (beacon) staking candidates for the next block, from the pool."""


def to_proposal(block: Block, data: bytes | None = None) -> BlockProposal:
    header = block.header
    last_commit = None
    if header.number > 1:
        last_commit = QuorumCertificate(header.last_commit_signature, header.last_commit_bitmap)
    return BlockProposal(header.number, header.hash, header.parent_hash, header.view_id, last_commit,
                         encode_block(block) if data is None else data)


class NodeChainAccess:
    """``ChainAccess`` for one shard's ``Blockchain``; ``now`` is in milliseconds, like consensus time."""

    def __init__(
        self, chain: Blockchain, get_candidates: BlockCandidates,
        clock: Callable[[], float] = time.time,
        secrets: Mapping[bytes, int] | None = None,
        get_incoming: Callable[[], Sequence[CXReceiptsProof]] = tuple,
        get_crosslinks: Callable[[], Sequence[CrossLink]] = tuple,
        get_slashes: Callable[[], Sequence[bytes]] = tuple,
    ) -> None:
        """``secrets`` (public key -> BLS secret) lets a leader make its header's VRF;
        ``get_incoming`` offers the cross-shard proofs waiting to be credited here, and
        ``get_crosslinks`` and ``get_slashes`` (beacon) the shard crosslinks and double-sign evidence
        waiting to be included."""
        self.chain = chain
        self.secrets = dict(secrets or {})
        self.get_incoming = get_incoming
        self.get_crosslinks = get_crosslinks
        self.get_slashes = get_slashes
        self.get_candidates = get_candidates
        self.clock = clock
        self._decoded: OrderedDict[bytes, Block] = OrderedDict()

    def get_block(self, data: bytes) -> Block:
        """``data`` decoded, remembered for a few blocks: consensus hands the same bytes over up to
        three times (proposal, validation, commit), and decoding is a third of a synced block's cost."""
        block = self._decoded.get(data)
        if block is None:
            block = decode_block(data)
            self._decoded[data] = block
            if len(self._decoded) > _DECODED_CACHE_SIZE:
                self._decoded.popitem(last=False)
        return block

    def get_committee(self, number: int) -> Committee:
        return self.chain.get_committee(number)

    def _require_head(self, tip: ChainTip) -> None:
        head = self.chain.head
        if (tip.number, tip.hash) != (head.number, head.hash):
            raise InvalidBlock(f"consensus is on block {tip.number}, the chain's head is {head.number}")

    def build_block(self, tip: ChainTip, view_id: int, leader: bytes, now: int) -> BlockProposal:
        self._require_head(tip)
        # Seconds in the header; never before the parent, even if this clock is behind its leader's.
        timestamp = max(now // 1000, self.chain.head.timestamp)
        plain, staking = self.get_candidates()
        built = self.chain.build_block(plain, timestamp=timestamp, view_id=view_id,
                                       coinbase=get_bls_address(leader), leader_secret=self.secrets.get(leader),
                                       incoming=self.get_incoming(), crosslinks=self.get_crosslinks(),
                                       staking=staking, slashes=self.get_slashes())
        return to_proposal(built.block)

    def decode_block(self, data: bytes) -> BlockProposal:
        return to_proposal(self.get_block(data), data)

    def validate_block(self, tip: ChainTip, block: BlockProposal, certified: bool = False) -> None:
        self._require_head(tip)
        # A proposal is checked against the local clock too: a leader cannot date a block far ahead.
        # A certified (synced) one is not: a node whose clock is behind must still follow the chain.
        now = None if certified else int(self.clock())
        self.chain.execute_block(self.get_block(block.data), now=now)
