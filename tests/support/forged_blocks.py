"""Forged block-sync answers, made from a network's real blocks: what a hostile sync peer can serve.

A forger holds a network's genesis, real finalized blocks with their certificates (an honest peer
serves those to anyone) and committee keys: never more than a minority of them signs a real block
(the whole committee signs only another genesis's chain, as validators who also run another network
might). From these it makes answers to a sync request (``harmony_node.node.sync`` wire format) of
four families:

a. chains signed by keys that are not the committee (self-consistent, correctly signed);
b. real blocks whose certificate is tampered with (another block's, other signers, another view);
c. real blocks whose body or header is changed while the original certificate is kept;
d. answers that are not well-formed (not RLP, too deep, too many blocks, wrong heights, huge, or a
   million tiny items, which costs a careless decoder minutes).

Each kind names how the node must refuse it: ``CONSENSUS_REFUSALS`` maps the kinds that decode to
a part of the reason consensus rejects them with, ``UNDECODABLE`` the answers the sync decoder
refuses before consensus sees them to a part of its reason; ``IGNORED`` lists the ones with nothing
for consensus to take. No I/O here: the forging peer process
(``tests/e2e/forging_peer.py``) and the unit tests share it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import rlp

from chain_factory import KEY  # the well-known funded localnet account: a forged transfer spends from it
from consensus.bitmap import decode_bitmap, encode_bitmap
from consensus.fbft import SyncedBlock
from consensus.quorum import Committee, is_quorum
from consensus.signing import QuorumCertificate, aggregate_votes, compute_commit_payload
from crypto import bls
from crypto.hash import keccak256
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.chain_store import CommitRecord
from harmony_node.chain.config import ONE
from harmony_node.chain.genesis import Genesis, build_genesis_block
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.node.sync import MAX_BLOCKS_PER_REQUEST, encode_sync_response
from harmony_node.types.block import Block, decode_block, encode_block
from harmony_node.types.transaction import Transaction, sign_transaction

FORGER_ADDRESS = b"\xf0" * 20
FOREIGN_SECRETS = tuple(bls.generate_secret_key(b"forger" + bytes([i]) * 26) for i in range(4))
FORGED_CHAIN_LENGTH = 3
HUGE_BLOCK_BYTES = 16 * 1024 * 1024
"""Under the 20 MiB frame limit, so the node reads all of it before refusing it."""
RLP_NESTING = 10_000
MANY_ITEMS = 1_000_000
"""One-byte items in one list (1 MB, under the 2 MiB gossip limit): a decoder that is quadratic in a
list's items (pyrlp 5 rebuilds the list's encoding item by item) spends ~17 s on it."""


@dataclass(frozen=True)
class Material:
    """What the forger starts from."""

    genesis: Genesis
    real: tuple[SyncedBlock, ...]
    """Finalized blocks 1, 2, ... of shard 0 with their certificates, ascending."""
    committee: Committee
    """The committee that signs those blocks."""
    committee_secrets: tuple[int, ...]
    """Secrets of committee members the forger holds (a quorum of them never signs a real block)."""

    def get_member_secrets(self) -> dict[int, int]:
        """Committee index -> secret, for the members whose secrets the forger holds."""
        keys = self.committee.public_keys
        return {keys.index(bls.secret_to_public(s)): s for s in self.committee_secrets
                if bls.secret_to_public(s) in keys}


def sign_certificate(committee: Committee, secrets: dict[int, int], number: int, block_hash: bytes,
                     view: int) -> QuorumCertificate:
    """The commit certificate ``secrets`` (committee index -> secret) make for a block, quorum or not."""
    payload = compute_commit_payload(number, block_hash, view)
    certificate, _ = aggregate_votes(committee, payload, {i: bls.sign(s, payload) for i, s in secrets.items()})
    return certificate


@cache
def build_signed_chain(genesis: Genesis, secrets: tuple[int, ...]) -> tuple[SyncedBlock, ...]:
    """``FORGED_CHAIN_LENGTH`` empty blocks on ``genesis``, each committed by all of ``secrets``, who
    are the committee of this chain: consistent in every rule but who signed."""
    committee = Committee.with_equal_power([bls.secret_to_public(s) for s in secrets], shard_id=0, epoch=0)
    chain = Blockchain.open(MemoryStore(), genesis, 0, lambda number: committee)
    blocks = []
    for view in range(1, FORGED_CHAIN_LENGTH + 1):
        block = chain.build_block((), timestamp=chain.head.timestamp + 1, view_id=view).block
        certificate = sign_certificate(committee, dict(enumerate(secrets)), block.header.number, block.hash, view)
        chain.import_block(block, CommitRecord(view, certificate))
        blocks.append(SyncedBlock(encode_block(block), view, certificate))
    return tuple(blocks)


def get_real_block(material: Material, number: int) -> tuple[SyncedBlock, Block]:
    item = material.real[number - 1]
    return item, decode_block(item.block)


def _with_block(item: SyncedBlock, block: Block) -> SyncedBlock:
    return replace(item, block=encode_block(block))


def _with_transactions(block: Block, transactions: tuple[Transaction, ...]) -> Block:
    return Block(block.header, transactions, block.staking_transactions, (), block.incoming_receipts)


# --- a. signed by keys that are not the committee ----------------------------------------------------

def forge_foreign_committee(material: Material, from_number: int) -> bytes:
    """A chain on the real genesis, committed by four keys of the forger's own."""
    return encode_sync_response(build_signed_chain(material.genesis, FOREIGN_SECRETS))


def forge_other_network(material: Material, from_number: int) -> bytes:
    """A chain committed by the real committee's keys, but of another genesis (another network)."""
    other = replace(material.genesis, timestamp=material.genesis.timestamp + 1)
    return encode_sync_response(build_signed_chain(other, material.committee_secrets))


# --- b. real blocks, tampered certificates ----------------------------------------------------------

def forge_certificate_of_another_block(material: Material, from_number: int) -> bytes:
    """Block 1 with block 2's (valid) certificate and view."""
    first, second = material.real[0], material.real[1]
    return encode_sync_response((replace(first, commit_view=second.commit_view, certificate=second.certificate),))


def forge_signers_changed(material: Material, from_number: int) -> bytes:
    """Block 1's real aggregate signature with a bitmap naming other signers (still a quorum)."""
    item = material.real[0]
    size = material.committee.size
    signers = decode_bitmap(item.certificate.bitmap, size)
    claimed = signers[:-1] if len(signers) == size else tuple(range(size))
    certificate = QuorumCertificate(item.certificate.signature, encode_bitmap(claimed, size))
    return encode_sync_response((replace(item, certificate=certificate),))


def forge_minority_signature(material: Material, from_number: int) -> bytes:
    """Block 1 signed by one real member whose certificate claims the whole committee signed."""
    item, block = get_real_block(material, 1)
    index, secret = next(iter(material.get_member_secrets().items()))
    committee = material.committee
    signature = sign_certificate(committee, {index: secret}, 1, block.hash, item.commit_view).signature
    certificate = QuorumCertificate(signature, encode_bitmap(range(committee.size), committee.size))
    return encode_sync_response((replace(item, certificate=certificate),))


def forge_below_quorum(material: Material, from_number: int) -> bytes:
    """Block 1 honestly signed by as many real members as can be without a quorum."""
    item, block = get_real_block(material, 1)
    committee = material.committee
    members = sorted(material.get_member_secrets().items())
    while members and is_quorum(committee, [index for index, _ in members]):
        members.pop()
    certificate = sign_certificate(committee, dict(members), 1, block.hash, item.commit_view)
    return encode_sync_response((replace(item, certificate=certificate),))


def forge_wrong_view(material: Material, from_number: int) -> bytes:
    """Block 1 with its real certificate, claimed to be committed in the next view."""
    item = material.real[0]
    return encode_sync_response((replace(item, commit_view=item.commit_view + 1),))


def forge_junk_signature(material: Material, from_number: int) -> bytes:
    """Block 1 with a 'signature' that is not a curve point and a bitmap naming everyone."""
    item = material.real[0]
    size = material.committee.size
    certificate = QuorumCertificate(b"\xff" * 96, encode_bitmap(range(size), size))
    return encode_sync_response((replace(item, certificate=certificate),))


# --- c. real certificates, changed blocks -----------------------------------------------------------

def forge_transaction_added(material: Material, from_number: int) -> bytes:
    """Block 1's header and certificate, with a transfer to the forger added to its body."""
    item, block = get_real_block(material, 1)
    config = material.genesis.config
    theft = sign_transaction(nonce=0, gas_price=config.min_gas_price, gas_limit=21_000, shard_id=0, to_shard_id=0,
                             to=FORGER_ADDRESS, value=1_000_000 * ONE, data=b"", private_key=KEY,
                             chain_id=config.chain_id)
    return encode_sync_response((_with_block(item, _with_transactions(block, (*block.transactions, theft))),))


def forge_header_changed(material: Material, from_number: int) -> bytes:
    """Block 1 with another state root (balances changed) and the original certificate."""
    item, block = get_real_block(material, 1)
    header = block.header.copy(state_root=keccak256(b"forged balances"))
    forged = Block(header, block.transactions, block.staking_transactions, (), block.incoming_receipts)
    return encode_sync_response((_with_block(item, forged),))


def find_first_transfer_block(material: Material) -> int:
    """The number of the first real block with a transaction (ValueError if there is none)."""
    for number in range(1, len(material.real) + 1):
        if get_real_block(material, number)[1].transactions:
            return number
    raise ValueError("the real blocks hold no transaction to remove")


def forge_transaction_removed(material: Material, from_number: int) -> bytes:
    """The real blocks from ``from_number`` up to the first one with a transfer, which comes with its
    transactions removed (header and certificate kept): a node may take the real ones, never that one."""
    target = find_first_transfer_block(material)
    first = max(1, min(from_number, target))
    item, block = get_real_block(material, target)
    forged = _with_block(item, _with_transactions(block, ()))
    return encode_sync_response((*material.real[first - 1:target - 1], forged))


# --- d. malformed answers ---------------------------------------------------------------------------

def forge_not_rlp(material: Material, from_number: int) -> bytes:
    return b"\xff" * 64  # a list whose length-of-length claims 8 bytes, then no such list


def _list_prefix(length: int) -> bytes:
    if length < 56:
        return bytes([0xC0 + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(size)]) + size


def forge_too_deep(material: Material, from_number: int) -> bytes:
    """Lists nested ``RLP_NESTING`` deep: enough to overflow a recursive decoder."""
    payload = b"\xc0"
    for _ in range(RLP_NESTING):
        payload = _list_prefix(len(payload)) + payload
    return payload


def forge_too_many_blocks(material: Material, from_number: int) -> bytes:
    return encode_sync_response((material.real[0],) * (MAX_BLOCKS_PER_REQUEST + 1))


def forge_wrong_shape(material: Material, from_number: int) -> bytes:
    item = material.real[0]
    return bytes(rlp.encode([[item.block, item.commit_view]]))


def forge_undecodable_block(material: Material, from_number: int) -> bytes:
    return encode_sync_response((replace(material.real[0], block=b"\x01not a block"),))


def forge_huge_block(material: Material, from_number: int) -> bytes:
    """One 'block' that is a 16 MiB RLP string."""
    return encode_sync_response((replace(material.real[0], block=bytes(rlp.encode(b"\xee" * HUGE_BLOCK_BYTES))),))


def _list_of_one_byte_items(count: int) -> bytes:
    return _list_prefix(count) + b"\x01" * count


def forge_many_items(material: Material, from_number: int) -> bytes:
    """An answer that is one list of ``MANY_ITEMS`` one-byte items."""
    return _list_of_one_byte_items(MANY_ITEMS)


def forge_block_of_many_items(material: Material, from_number: int) -> bytes:
    """A well-formed answer whose one 'block' is a list of ``MANY_ITEMS`` one-byte items."""
    return encode_sync_response((replace(material.real[0], block=_list_of_one_byte_items(MANY_ITEMS)),))


def forge_wrong_height(material: Material, from_number: int) -> bytes:
    """Real blocks, but from two past the one asked for."""
    return encode_sync_response(material.real[from_number + 1:from_number + 4])


def forge_stale_blocks(material: Material, from_number: int) -> bytes:
    """Only blocks below the one asked for: real ones, or the genesis block (with block 1's certificate)."""
    if from_number > 1:
        return encode_sync_response(material.real[:from_number - 1])
    genesis = build_genesis_block(material.genesis, 0, MemoryStore(), WriteBatch())
    return encode_sync_response((replace(material.real[0], block=encode_block(genesis)),))


def forge_empty(material: Material, from_number: int) -> bytes:
    return encode_sync_response(())


Forgery = Callable[[Material, int], bytes]
"""``forge(material, from_number)``: the response payload to a sync request for blocks from ``from_number``."""

FORGERIES: dict[str, Forgery] = {
    "foreign-committee": forge_foreign_committee,
    "other-network": forge_other_network,
    "certificate-of-another-block": forge_certificate_of_another_block,
    "signers-changed": forge_signers_changed,
    "minority-signature": forge_minority_signature,
    "below-quorum": forge_below_quorum,
    "wrong-view": forge_wrong_view,
    "junk-signature": forge_junk_signature,
    "transaction-added": forge_transaction_added,
    "header-changed": forge_header_changed,
    "transaction-removed": forge_transaction_removed,
    "not-rlp": forge_not_rlp,
    "too-deep": forge_too_deep,
    "too-many-blocks": forge_too_many_blocks,
    "wrong-shape": forge_wrong_shape,
    "undecodable-block": forge_undecodable_block,
    "huge-block": forge_huge_block,
    "many-items": forge_many_items,
    "block-of-many-items": forge_block_of_many_items,
    "wrong-height": forge_wrong_height,
    "stale-blocks": forge_stale_blocks,
    "empty": forge_empty,
}

_BAD_SIGNATURE = "aggregate signature does not verify"
CONSENSUS_REFUSALS: dict[str, str] = {
    "foreign-committee": _BAD_SIGNATURE,
    "other-network": "does not extend the tip",
    "certificate-of-another-block": _BAD_SIGNATURE,
    "signers-changed": _BAD_SIGNATURE,
    "minority-signature": _BAD_SIGNATURE,
    "below-quorum": "are not a quorum",
    "wrong-view": _BAD_SIGNATURE,
    "junk-signature": _BAD_SIGNATURE,
    "transaction-added": "transactions root does not match the body",
    "header-changed": _BAD_SIGNATURE,
    "transaction-removed": "transactions root does not match the body",
    "undecodable-block": "malformed block",
    "huge-block": "malformed block",
    "block-of-many-items": "malformed block",
    "wrong-height": "does not extend the tip",
}
"""Kinds that decode as a sync answer, with a part of the reason consensus refuses them for."""
UNDECODABLE: dict[str, str] = {
    "not-rlp": "is not RLP",
    "too-deep": "nested deeper than",
    "too-many-blocks": "items",
    "wrong-shape": "a synced block must be",
    "many-items": "items",
}
"""Kinds the sync decoder refuses (DecodingError) before consensus sees them, with a part of its reason."""
IGNORED = ("stale-blocks", "empty")
"""Kinds consensus has nothing to take from or to refuse: no blocks, or only blocks it has already.
(The node's sync service refuses an answer of blocks below the one it asked for, see ``NOT_FROM_THE_BLOCK_ASKED``.)"""
NOT_FROM_THE_BLOCK_ASKED = "does not start at block"
"""The sync service's reason for an answer whose first block is not the one asked for."""
