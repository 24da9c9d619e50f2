"""Where a shard's finalized chain lives in the key-value store, and the keys it uses.

One database per chain (DESIGN.md §3). Everything one block adds (state nodes, the block, its
receipts, its commit certificate, the transaction index and the new head) is written in a single
atomic batch, so a node killed at any moment reopens either before or after the block, never in
between, and the head always points at a block whose state is complete.

Layout (numbers are 8-byte big-endian, so prefix iteration is in block order):

    b ‖ hash            -> block RLP
    n ‖ number          -> canonical block hash
    c ‖ number          -> commit record: u64 commit view ‖ RLP [signature, bitmap]
    r ‖ hash            -> RLP list of the block's receipts
    t ‖ tx hash         -> RLP [block number, index, kind]   (kind 0 plain, 1 staking)
    o ‖ hash            -> RLP list of the block's outgoing cross-shard receipts
    x ‖ proof key       -> b"\x01": the incoming proof of (source shard, block) was credited
    i ‖ tx hash         -> number of the block that credited that transfer's cross-shard receipt
    k ‖ shard ‖ number  -> a crosslink the beacon included (shard u32, number u64)
    l ‖ shard           -> the highest crosslinked block number of a shard (beacon only)
    H                   -> head: number ‖ hash
    G                   -> genesis hash (a data directory belongs to exactly one network)
    safety/<shard>      -> consensus safety record (it must survive restarts, see consensus.safety)

State trie nodes use 32-byte keys (their hash), which none of these prefixes can collide with
because every prefix above makes a key of another length.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp

from consensus.signing import QuorumCertificate
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import DatabaseError, DecodingError, NotFound
from harmony_node.types.block import Block, decode_block, encode_block
from harmony_node.types.cx_receipt import CXReceipt
from harmony_node.types.receipt import Receipt, decode_receipt, encode_receipt

_BLOCK = b"b"
_CANONICAL = b"n"
_COMMIT = b"c"
_RECEIPTS = b"r"
_TX_INDEX = b"t"
_OUTGOING = b"o"
_SPENT = b"x"
_INCOMING = b"i"
_CROSSLINK = b"k"
_LAST_LINKED = b"l"
_HEAD = b"H"
_GENESIS = b"G"
_SAFETY = b"safety/"

TX_KIND_PLAIN = 0
TX_KIND_STAKING = 1


def _number_key(prefix: bytes, number: int) -> bytes:
    return prefix + number.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class TxLocation:
    """Where a transaction was included."""

    block_number: int
    index: int
    kind: int


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """How a block was finalized: the view its commit quorum formed in, and the certificate."""

    view: int
    certificate: QuorumCertificate

    def encode(self) -> bytes:
        return self.view.to_bytes(8, "big") + rlp.encode([self.certificate.signature, self.certificate.bitmap])

    @classmethod
    def decode(cls, data: bytes) -> CommitRecord:
        try:
            signature, bitmap = rlp.decode(data[8:])
        except (rlp.DecodingError, ValueError) as exc:
            raise DatabaseError(f"corrupt commit record: {exc}") from exc
        return cls(int.from_bytes(data[:8], "big"), QuorumCertificate(signature, bitmap))


class ChainStore:
    """Typed reads of the chain data, and the batch writes that add one block."""

    def __init__(self, store: KeyValueStore) -> None:
        self.store = store

    def _get(self, key: bytes, what: str) -> bytes:
        value = self.store.get(key)
        if value is None:
            raise NotFound(what)
        return value

    # --- reads ---------------------------------------------------------------------------------

    def get_head(self) -> tuple[int, bytes] | None:
        value = self.store.get(_HEAD)
        if value is None:
            return None
        if len(value) != 40:
            raise DatabaseError("corrupt head pointer")
        return int.from_bytes(value[:8], "big"), value[8:]

    def get_genesis_hash(self) -> bytes | None:
        return self.store.get(_GENESIS)

    def get_block(self, block_hash: bytes) -> Block:
        data = self._get(_BLOCK + block_hash, f"block {block_hash.hex()}")
        try:
            return decode_block(data)
        except DecodingError as exc:
            raise DatabaseError(f"corrupt block {block_hash.hex()}: {exc}") from exc

    def get_block_bytes(self, block_hash: bytes) -> bytes:
        return self._get(_BLOCK + block_hash, f"block {block_hash.hex()}")

    def get_canonical_hash(self, number: int) -> bytes:
        return self._get(_number_key(_CANONICAL, number), f"block number {number}")

    def get_block_by_number(self, number: int) -> Block:
        return self.get_block(self.get_canonical_hash(number))

    def get_commit(self, number: int) -> CommitRecord:
        return CommitRecord.decode(self._get(_number_key(_COMMIT, number), f"commit of block {number}"))

    def get_receipts(self, block_hash: bytes) -> tuple[Receipt, ...]:
        data = self._get(_RECEIPTS + block_hash, f"receipts of {block_hash.hex()}")
        try:
            return tuple(decode_receipt(item) for item in rlp.decode(data))
        except (rlp.DecodingError, DecodingError) as exc:
            raise DatabaseError(f"corrupt receipts of {block_hash.hex()}: {exc}") from exc

    def get_tx_location(self, tx_hash: bytes) -> TxLocation:
        data = self._get(_TX_INDEX + tx_hash, f"transaction {tx_hash.hex()}")
        try:
            number, index, kind = (int.from_bytes(x, "big") for x in rlp.decode(data))
        except (rlp.DecodingError, ValueError) as exc:
            raise DatabaseError(f"corrupt index of {tx_hash.hex()}: {exc}") from exc
        return TxLocation(number, index, kind)

    def get_outgoing_receipts(self, block_hash: bytes) -> tuple[CXReceipt, ...]:
        data = self.store.get(_OUTGOING + block_hash)
        if data is None:
            return ()
        try:
            return tuple(rlp.decode(data, sedes=rlp.sedes.CountableList(CXReceipt)))
        except (rlp.DecodingError, rlp.DeserializationError) as exc:
            raise DatabaseError(f"corrupt outgoing receipts of {block_hash.hex()}: {exc}") from exc

    def get_crediting_block(self, tx_hash: bytes) -> int:
        """The block here that credited the cross-shard receipt of source transaction ``tx_hash``."""
        data = self._get(_INCOMING + tx_hash, f"incoming receipt of {tx_hash.hex()}")
        return int.from_bytes(data, "big")

    def is_proof_spent(self, proof_key: bytes) -> bool:
        return self.store.get(_SPENT + proof_key) is not None

    def get_last_linked(self, shard_id: int) -> int:
        """The highest block of ``shard_id`` the beacon holds a crosslink for (0: none)."""
        data = self.store.get(_LAST_LINKED + shard_id.to_bytes(4, "big"))
        return 0 if data is None else int.from_bytes(data, "big")

    def get_crosslink(self, shard_id: int, number: int) -> bytes:
        return self._get(_CROSSLINK + shard_id.to_bytes(4, "big") + number.to_bytes(8, "big"),
                         f"crosslink of block {number} of shard {shard_id}")

    def get_safety_record(self, shard_id: int) -> bytes | None:
        return self.store.get(_SAFETY + str(shard_id).encode())

    # --- writes (into a batch the caller commits atomically) -----------------------------------

    def add_block(
        self,
        batch: WriteBatch,
        block: Block,
        receipts: tuple[Receipt, ...],
        commit: CommitRecord | None,
        tx_hashes: tuple[tuple[bytes, ...], ...] = (),
        outgoing: tuple[CXReceipt, ...] = (),
        spent_proofs: tuple[bytes, ...] = (),
        crosslinks: tuple[tuple[int, int, bytes], ...] = (),
    ) -> None:
        """Add ``block`` as the new canonical head; ``tx_hashes`` lists extra hashes per plain tx
        (an Ethereum transaction is also found by its Ethereum hash), ``outgoing`` the cross-shard
        receipts it emitted, ``spent_proofs`` the keys of the incoming proofs it credited and
        ``crosslinks`` the (shard, number, encoded crosslink) a beacon block included, ascending."""
        header = block.header
        block_hash = header.hash
        batch.put(_BLOCK + block_hash, encode_block(block))
        batch.put(_number_key(_CANONICAL, header.number), block_hash)
        batch.put(_RECEIPTS + block_hash, rlp.encode([encode_receipt(r) for r in receipts]))
        if commit is not None:
            batch.put(_number_key(_COMMIT, header.number), commit.encode())
        for index, tx in enumerate(block.transactions):
            location = rlp.encode([header.number, index, TX_KIND_PLAIN])
            batch.put(_TX_INDEX + tx.hash, location)
            for extra in tx_hashes[index] if index < len(tx_hashes) else ():
                batch.put(_TX_INDEX + extra, location)
        for index, stx in enumerate(block.staking_transactions):
            batch.put(_TX_INDEX + stx.hash, rlp.encode([header.number, index, TX_KIND_STAKING]))
        if outgoing:
            batch.put(_OUTGOING + block_hash, rlp.encode(list(outgoing)))
        for key in spent_proofs:
            batch.put(_SPENT + key, b"\x01")
        for proof in block.incoming_receipts:
            for receipt in proof.receipts:
                batch.put(_INCOMING + receipt.tx_hash, header.number.to_bytes(8, "big"))
        for shard_id, number, encoded in crosslinks:
            batch.put(_CROSSLINK + shard_id.to_bytes(4, "big") + number.to_bytes(8, "big"), encoded)
            batch.put(_LAST_LINKED + shard_id.to_bytes(4, "big"), number.to_bytes(8, "big"))
        batch.put(_HEAD, header.number.to_bytes(8, "big") + block_hash)
        if header.number == 0:
            batch.put(_GENESIS, block_hash)

    def put_safety_record(self, shard_id: int, encoded: bytes) -> None:
        """Persist before the vote it covers leaves the node (synced to disk)."""
        batch = WriteBatch()
        batch.put(_SAFETY + str(shard_id).encode(), encoded)
        self.store.write(batch, sync=True)
