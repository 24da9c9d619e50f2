"""Which epoch a block belongs to, and where each epoch starts and ends.

The beacon chain runs the election at the last block of every epoch and publishes the next shard
state in that block's header, so every rule that changes with the epoch (committees, randomness,
staking) needs the same answer to "which epoch is block n in, and is it the last one?".

Numbering (our choice, documented because Harmony's differs): epoch 0 is the genesis block alone;
epoch ``e >= 1`` covers blocks ``1 + (e - 1)·B .. e·B`` for ``B = blocks_per_epoch``. So with
``B = 16``: epoch 0 = {0}, epoch 1 = 1..16, epoch 2 = 17..32, and a block is the last of its epoch
exactly when ``number % B == 0``.

Why: genesis is the last block of epoch 0 and carries the first shard state, as every other epoch's
last block carries the next one; no epoch is a special length except the one-block genesis epoch.
Harmony's localnet instead gives epoch 0 blocks 0..4 (``localnetEpochBlock1 = 5``) and mainnet a
long first epoch; those exist for historical fork scheduling we do not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony_node.exceptions import ValidationError

DEFAULT_BLOCKS_PER_EPOCH = 16
"""Harmony's localnet ``BlocksPerEpochV2`` default."""


@dataclass(frozen=True, slots=True)
class EpochSchedule:
    """Fixed-length epochs after a genesis-only epoch 0."""

    blocks_per_epoch: int = DEFAULT_BLOCKS_PER_EPOCH

    def __post_init__(self) -> None:
        if type(self.blocks_per_epoch) is not int or self.blocks_per_epoch < 1:
            raise ValidationError(f"an epoch needs at least one block, got {self.blocks_per_epoch!r}")

    def compute_epoch(self, number: int) -> int:
        """The epoch of block ``number``."""
        _validate_non_negative(number, "block number")
        if number == 0:
            return 0
        return (number - 1) // self.blocks_per_epoch + 1

    def get_first_block(self, epoch: int) -> int:
        """The first block number of ``epoch``."""
        _validate_non_negative(epoch, "epoch")
        if epoch == 0:
            return 0
        return 1 + (epoch - 1) * self.blocks_per_epoch

    def get_last_block(self, epoch: int) -> int:
        """The last block number of ``epoch`` (the block that carries the next epoch's shard state)."""
        _validate_non_negative(epoch, "epoch")
        return epoch * self.blocks_per_epoch

    def is_last_block(self, number: int) -> bool:
        """Whether block ``number`` ends its epoch (genesis ends epoch 0)."""
        _validate_non_negative(number, "block number")
        return number % self.blocks_per_epoch == 0


def _validate_non_negative(value: int, what: str) -> None:
    if value < 0:
        raise ValidationError(f"{what} must be non-negative, got {value}")
