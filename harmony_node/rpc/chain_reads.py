"""Chain lookups shared by the method namespaces: blocks by number or hash, signers, transactions.

Each function reads the backend's chain once and raises ``NotFound`` (reported as a null result or
a -32000 error by the caller, as Harmony does per method) instead of returning partial answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.bitmap import decode_bitmap
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.chain_store import TX_KIND_PLAIN, TX_KIND_STAKING, TxLocation
from harmony_node.chain.epochs import get_bls_address
from harmony_node.exceptions import NotFound
from harmony_node.rpc.errors import InvalidParams
from harmony_node.rpc.params import LATEST, PENDING
from harmony_node.types.block import Block
from harmony_node.types.receipt import Receipt
from harmony_node.types.staking_transaction import StakingTransaction
from harmony_node.types.transaction import Transaction


@dataclass(frozen=True, slots=True)
class Signer:
    public_key: bytes
    validator: bytes


@dataclass(frozen=True, slots=True)
class IncludedTransaction:
    """A transaction with where it was included and its receipt."""

    tx: Transaction | StakingTransaction
    block: Block
    index: int
    receipt: Receipt
    gas_used: int


def resolve_number(chain: Blockchain, number: int) -> int:
    """A concrete block number; "latest" (and "pending", which has no block of its own yet) is the head."""
    if number in (LATEST, PENDING):
        return int(chain.head.number)
    return number


def get_block(chain: Blockchain, number: int) -> Block:
    """Block ``number``; NotFound above the head (Harmony's "requested block number greater than current")."""
    number = resolve_number(chain, number)
    if number > chain.head.number:
        raise NotFound(f"block {number} is above the current head {chain.head.number}")
    return chain.chain_store.get_block_by_number(number)


def get_block_by_hash(chain: Blockchain, block_hash: bytes) -> Block:
    block = chain.chain_store.get_block(block_hash)
    # Only canonical blocks are answered: a stored block off the main chain is not final.
    if chain.chain_store.get_canonical_hash(block.header.number) != block_hash:
        raise NotFound(f"block 0x{block_hash.hex()} is not on the canonical chain")
    return block


_NO_ACCOUNT = bytes(20)


def _get_account(validator: bytes, public_key: bytes) -> bytes:
    """A slot's validator account; a genesis slot names none, so the key's BLS address stands for it."""
    return validator if validator != _NO_ACCOUNT else get_bls_address(public_key)


def get_signers(chain: Blockchain, number: int) -> list[Signer]:
    """Who signed the commit certificate of block ``number`` (block 0 has none), in committee order."""
    number = resolve_number(chain, number)
    if number == 0 or number > chain.head.number:
        return []
    commit = chain.get_commit(number)
    committee = chain.get_committee(number)
    indices = decode_bitmap(commit.certificate.bitmap, committee.size)
    validators: tuple[bytes, ...] | None = None
    if chain.rules is not None:
        validators = chain.rules.epochs.get_slot_validators(chain.shard_id, number)
    return [Signer(committee.public_keys[i], _get_account(validators[i] if validators is not None else _NO_ACCOUNT,
                                                          committee.public_keys[i]))
            for i in indices]


def get_leader_address(chain: Blockchain, number: int | None = None) -> bytes:
    """The account of the validator that proposed a block: the owner of the key behind its coinbase.

    A header's coinbase is the BLS address of the proposing key (as Harmony's); the committee
    slot of that key names the validator account, which is what Harmony's ``getLeader`` returns.
    """
    header = chain.head if number is None else chain.get_header(number)
    if header.number == 0 or chain.rules is None:
        return bytes(header.coinbase)
    committee = chain.get_committee(header.number)
    validators = chain.rules.epochs.get_slot_validators(chain.shard_id, header.number)
    for key, validator in zip(committee.public_keys, validators):
        if get_bls_address(key) == header.coinbase:
            return _get_account(validator, key)
    return bytes(header.coinbase)


def get_included(chain: Blockchain, location: TxLocation) -> IncludedTransaction:
    """The transaction at ``location`` with its receipt and the gas it alone used."""
    block = chain.chain_store.get_block_by_number(location.block_number)
    receipts = chain.chain_store.get_receipts(block.header.hash)
    plain = len(block.transactions)
    tx: Transaction | StakingTransaction
    if location.kind == TX_KIND_STAKING:
        tx = block.staking_transactions[location.index]
        position = plain + location.index  # staking receipts follow the plain ones
    else:
        tx = block.transactions[location.index]
        position = location.index
    receipt = receipts[position]
    previous = receipts[position - 1].cumulative_gas_used if position > 0 else 0
    return IncludedTransaction(tx, block, location.index, receipt, receipt.cumulative_gas_used - previous)


def find_transaction(chain: Blockchain, tx_hash: bytes, *, staking: bool | None = None) -> IncludedTransaction:
    """A finalized transaction by its Harmony or Ethereum hash; ``staking`` narrows the kind."""
    location = chain.chain_store.get_tx_location(tx_hash)
    if staking is not None and (location.kind == TX_KIND_STAKING) != staking:
        raise NotFound(f"0x{tx_hash.hex()} is not a {'staking' if staking else 'plain'} transaction")
    return get_included(chain, location)


def get_transaction_at(chain: Blockchain, block: Block, index: int, *, staking: bool) -> IncludedTransaction:
    count = len(block.staking_transactions if staking else block.transactions)
    if not 0 <= index < count:
        raise NotFound(f"block {block.header.number} has no {'staking ' if staking else ''}transaction {index}")
    kind = TX_KIND_STAKING if staking else TX_KIND_PLAIN
    return get_included(chain, TxLocation(int(block.header.number), index, kind))


def validate_page(page: int, size: int) -> None:
    if page < -1 or size < 0 or size > 1000:
        raise InvalidParams("page must be >= -1 and page size between 0 and 1000")
