"""Epoch randomness: the seed that decides which shard each elected key slot serves.

Every beacon block carries its leader's BLS-VRF over the parent hash (``crypto.vrf``). BLS
signatures are unique per (key, message), so a leader cannot pick among outputs; it can only
propose or not. The randomness of epoch ``e`` is a SHA-256 chain over the VRF outputs of the
epoch's beacon blocks, in block order, seeded with the randomness of epoch ``e - 1``::

    r = previous_randomness
    for output in vrf_outputs: r = sha256(r ‖ output)

Chaining, not XOR, keeps the order and count of outputs in the result (XOR would let two equal
outputs cancel). Seeding with the previous epoch's value means an epoch with few blocks still
inherits all earlier entropy. Epoch 0 (genesis only, no VRF) starts from
``sha256(b"harmony-node genesis randomness" ‖ genesis hash)``, so distinct networks differ.

Known limit, shared with every commit-reveal beacon: the leader of the epoch's last block sees the
final value before proposing and may withhold its block to force a view change, trading its block
reward for one re-roll. That is at most a bit of bias per withheld block, paid for in rewards.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto.hash import sha256
from crypto.vrf import VRF_OUTPUT_SIZE, verify_vrf
from harmony_node.exceptions import InvalidSignature, ValidationError
from harmony_node.types.header import Header

RANDOMNESS_SIZE = 32
GENESIS_RANDOMNESS_DOMAIN = b"harmony-node genesis randomness"


def compute_genesis_randomness(genesis_hash: bytes) -> bytes:
    """The randomness of epoch 0: a domain-separated hash of the genesis block hash."""
    if len(genesis_hash) != 32:
        raise ValidationError(f"genesis hash must be 32 bytes, got {len(genesis_hash)}")
    return sha256(GENESIS_RANDOMNESS_DOMAIN + genesis_hash)


def compute_epoch_randomness(previous_randomness: bytes, vrf_outputs: Sequence[bytes]) -> bytes:
    """Chain the epoch's beacon VRF outputs (block order) onto the previous epoch's randomness."""
    if len(previous_randomness) != RANDOMNESS_SIZE:
        raise ValidationError(f"previous randomness must be {RANDOMNESS_SIZE} bytes, got {len(previous_randomness)}")
    randomness = previous_randomness
    for position, output in enumerate(vrf_outputs):
        if len(output) != VRF_OUTPUT_SIZE:
            raise ValidationError(f"VRF output {position} must be {VRF_OUTPUT_SIZE} bytes, got {len(output)}")
        randomness = sha256(randomness + output)
    return randomness


def validate_header_vrf(header: Header, proposer_public_key: bytes, parent_hash: bytes) -> bytes:
    """Check the header's VRF field was made by its proposer over ``parent_hash``; return the output.

    Raises ValidationError if the header does not extend ``parent_hash`` (the VRF would then be
    checked over the wrong message) and InvalidSignature (a ValidationError) if the field is not
    ``output(32) ‖ proof(96)`` with a proof by ``proposer_public_key``.
    """
    if header.parent_hash != parent_hash:
        raise ValidationError(f"block {header.number}: header does not extend the given parent hash")
    try:
        return verify_vrf(proposer_public_key, parent_hash, header.vrf)
    except InvalidSignature as error:
        raise InvalidSignature(f"block {header.number} of shard {header.shard_id}: bad VRF: {error}") from error
