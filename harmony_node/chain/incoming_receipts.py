"""Crediting cross-shard transfers on the destination shard, exactly once.

A destination block carries, in its body, proofs of receipts that source blocks emitted for this
shard (``CXReceiptsProof``). Every proof is checked in full (sharding.cross_shard: the receipts hash
to the source block's root for this shard, the root to its header, the header is signed by a quorum
of the source committee the beacon assigned) and must not have been credited before: a proof's key
(source shard, source block number) is written as spent in the same atomic batch as the block that
credits it, so a replayed proof is refused for ever after, and a block may not carry one twice.
Proofs are applied after the block's transactions, in (source shard, block number) order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from consensus.quorum import Committee
from harmony_node.exceptions import InvalidBlock, NotFound, ValidationError
from harmony_node.state.state_db import StateDB
from harmony_node.types.cx_receipt import CXReceiptsProof
from sharding.cross_shard import compute_proof_key, validate_cx_receipts_proof

MAX_INCOMING_RECEIPTS = 6000
"""Receipts one block may credit (Harmony's IncomingReceiptsLimit)."""


class ProofChecker(Protocol):
    """What the destination needs to know about other chains: committees and what it credited."""

    def get_source_committee(self, shard_id: int, number: int) -> Committee:
        """The committee of ``shard_id`` at block ``number`` (NotFound if the beacon has not said yet)."""
        ...

    def is_spent(self, proof_key: bytes) -> bool:
        ...


def validate_incoming_proof(proof: CXReceiptsProof, shard_id: int, checker: ProofChecker) -> bytes:
    """Check one proof for this shard; return its key. ValidationError names the broken rule."""
    header = proof.header
    try:
        committee = checker.get_source_committee(header.shard_id, header.number)
    except NotFound as exc:
        raise ValidationError(f"cannot check a proof from shard {header.shard_id}: {exc}") from exc
    except ValidationError as exc:  # e.g. a shard that does not exist
        raise ValidationError(f"proof from shard {header.shard_id}: {exc}") from exc
    validate_cx_receipts_proof(proof, shard_id, committee)
    key = compute_proof_key(proof)
    if checker.is_spent(key):
        raise ValidationError(f"block {header.number} of shard {header.shard_id} was already credited here")
    return key


def apply_incoming_receipts(
    state: StateDB, proofs: Sequence[CXReceiptsProof], shard_id: int, checker: ProofChecker
) -> tuple[bytes, ...]:
    """Validate every proof and credit its receipts on ``state``; return the keys to mark spent.

    InvalidBlock if any proof is invalid, already credited, repeated or out of order, or if the
    block credits more than ``MAX_INCOMING_RECEIPTS`` receipts; checks run before any credit.
    """
    keys: list[bytes] = []
    for proof in proofs:
        try:
            key = validate_incoming_proof(proof, shard_id, checker)
        except ValidationError as exc:
            raise InvalidBlock(f"incoming receipts: {exc}") from exc
        if keys and key <= keys[-1]:  # sorted and unique, so a block cannot credit one proof twice
            raise InvalidBlock("incoming receipts must be in (shard, block) order, each at most once")
        keys.append(key)
    if sum(len(proof.receipts) for proof in proofs) > MAX_INCOMING_RECEIPTS:
        raise InvalidBlock(f"a block credits at most {MAX_INCOMING_RECEIPTS} incoming receipts")
    for proof in proofs:
        for receipt in proof.receipts:
            account = state.get_account(receipt.to_address)
            state.set_account(receipt.to_address, replace(account, balance=account.balance + receipt.amount))
    return tuple(keys)


def select_incoming_proofs(
    candidates: Sequence[CXReceiptsProof], shard_id: int, checker: ProofChecker
) -> list[CXReceiptsProof]:
    """What a leader puts into its block: valid, unspent proofs in order, within the receipt cap."""
    valid: dict[bytes, CXReceiptsProof] = {}
    for proof in candidates:
        try:
            valid.setdefault(validate_incoming_proof(proof, shard_id, checker), proof)
        except ValidationError:
            continue  # spent meanwhile, or never valid: the pool drops it
    chosen, receipts = [], 0
    for key in sorted(valid):
        proof = valid[key]
        if receipts + len(proof.receipts) > MAX_INCOMING_RECEIPTS:
            break
        chosen.append(proof)
        receipts += len(proof.receipts)
    return chosen
