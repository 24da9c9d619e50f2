"""What left and entered one shard's balances other than by transfers inside it, for network-wide
conservation (issue #6): fees burned, cross-shard amounts sent, cross-shard amounts credited.

Every chain of a sharded network keeps one record of these in its state trie, updated by each
block. With them, the whole network's books close:

    Σ shards alloc + minted − burned (beacon supply) − Σ non-beacon fees burned
        = Σ balances + staked, unclaimed and undelegating amounts + Σ (sent − credited)

where the last term is what is in flight between shards. The beacon's own fees, staking gas and
slash burns are in its staking ``Supply`` already; its record here still counts its fees, so
every shard's record means the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import rlp

from harmony_node.exceptions import DatabaseError, DecodingError
from harmony_node.state.state_db import StateDB
from harmony_node.types.cx_receipt import CXReceipt, CXReceiptsProof

_FLOWS = b"shard/flows"


@dataclass(frozen=True, slots=True)
class ShardFlows:
    fees_burned: int = 0
    cx_sent: int = 0
    """Debited here by cross-shard transfers (their receipts' amounts)."""
    cx_credited: int = 0
    """Credited here from other shards' receipts."""

    def encode(self) -> bytes:
        encoded: bytes = rlp.encode([self.fees_burned, self.cx_sent, self.cx_credited])
        return encoded

    @classmethod
    def decode(cls, data: bytes) -> ShardFlows:
        try:
            items = rlp.decode(data)
            if not isinstance(items, list) or len(items) != 3 or not all(isinstance(i, bytes) for i in items):
                raise DecodingError("expected a list of three integers")
        except (rlp.DecodingError, DecodingError) as exc:
            raise DatabaseError(f"corrupt shard flows record: {exc}") from exc
        return cls(*(int.from_bytes(item, "big") for item in items))


def get_shard_flows(state: StateDB) -> ShardFlows:
    data = state.get_record(_FLOWS)
    return ShardFlows() if data is None else ShardFlows.decode(data)


def process_shard_flows(state: StateDB, fees: int, outgoing: Sequence[CXReceipt],
                        incoming: Sequence[CXReceiptsProof]) -> None:
    """Add one block's fees, cross-shard debits and credits to the shard's record."""
    sent = sum(receipt.amount for receipt in outgoing)
    credited = sum(receipt.amount for proof in incoming for receipt in proof.receipts)
    if not (fees or sent or credited):
        return  # an empty block leaves the record (and the state root) as it was
    flows = get_shard_flows(state)
    state.set_record(_FLOWS, ShardFlows(flows.fees_burned + fees, flows.cx_sent + sent,
                                        flows.cx_credited + credited).encode())
