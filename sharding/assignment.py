"""Random assignment of elected key slots to shards, fixed by the epoch randomness.

Harmony assigns a key to shard ``key mod num_shards``, which lets a validator grind keys until one
lands where it wants, and so concentrate stake on one shard. Here the shard is decided by a
shuffle seeded with the epoch randomness (``sharding.randomness``), which no one knows when they
register their keys, so no one chooses their shard:

1. Slots are sorted by BLS public key. The caller's order (election rank, database order) then
   has no effect: the same set of slots and the same randomness always give the same shard state.
2. A deterministic random bit generator (DRBG) is seeded with
   ``sha256(b"harmony-node shard assignment" ‖ randomness ‖ uint64_BE(epoch))``; the epoch is in
   the seed so that a repeated randomness value still shuffles each epoch differently.
3. An unbiased Fisher–Yates shuffle: for ``i`` from ``n - 1`` down to 1, swap item ``i`` with item
   ``j``, ``j`` drawn uniformly from ``[0, i]``.
4. Position ``p`` of the shuffled list goes to shard ``p % num_shards``, in that order, so shard
   sizes differ by at most one, and the order within a shard (which decides the first leader of
   the epoch, committee index 0) is random too.

The DRBG: block ``k`` is ``sha256(seed ‖ uint64_BE(k))`` for ``k = 0, 1, 2, …``; each 32-byte block
gives four 64-bit big-endian draws, used in order. A uniform integer below ``bound`` takes draws
until one is below ``2**64 - (2**64 mod bound)`` (the largest multiple of ``bound`` that fits) and
returns it ``mod bound``: without that rejection, small residues would be slightly more likely.
Every step is integer arithmetic on hashes, so every node computes the same assignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from crypto.hash import sha256
from harmony_node.exceptions import ValidationError
from sharding.shard_state import MAX_SHARDS, ShardState, Slot

T = TypeVar("T")

ASSIGNMENT_DOMAIN = b"harmony-node shard assignment"
_DRAW_SIZE = 8
_DRAW_RANGE = 1 << (8 * _DRAW_SIZE)


class Drbg:
    """SHA-256 in counter mode over a seed: a reproducible stream of uniform integers."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0
        self._block = b""
        self._offset = 0

    def get_next_draw(self) -> int:
        """The next 64-bit draw, uniform in ``[0, 2**64)``."""
        if self._offset == len(self._block):
            self._block = sha256(self._seed + self._counter.to_bytes(8, "big"))
            self._counter += 1
            self._offset = 0
        draw = int.from_bytes(self._block[self._offset : self._offset + _DRAW_SIZE], "big")
        self._offset += _DRAW_SIZE
        return draw

    def get_integer_below(self, bound: int) -> int:
        """A uniform integer in ``[0, bound)``, by rejection sampling (no modulo bias)."""
        if not 1 <= bound <= _DRAW_RANGE:
            raise ValidationError(f"draw bound must be in [1, 2**64], got {bound}")
        limit = _DRAW_RANGE - _DRAW_RANGE % bound
        while True:  # each draw is rejected with probability < 1/2, so this ends quickly
            draw = self.get_next_draw()
            if draw < limit:
                return draw % bound


def compute_shuffle(items: Sequence[T], seed: bytes) -> tuple[T, ...]:
    """``items`` in a uniformly random order determined by ``seed`` (Fisher–Yates over ``Drbg``)."""
    shuffled = list(items)
    drbg = Drbg(seed)
    for i in range(len(shuffled) - 1, 0, -1):
        j = drbg.get_integer_below(i + 1)
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
    return tuple(shuffled)


def compute_assignment_seed(randomness: bytes, epoch: int) -> bytes:
    """The DRBG seed for assigning ``epoch``'s slots with ``randomness``."""
    if len(randomness) != 32:
        raise ValidationError(f"epoch randomness must be 32 bytes, got {len(randomness)}")
    if not 0 <= epoch < 2**64:
        raise ValidationError(f"epoch must be a uint64, got {epoch}")
    return sha256(ASSIGNMENT_DOMAIN + randomness + epoch.to_bytes(8, "big"))


def compute_shard_assignment(slots: Sequence[Slot], randomness: bytes, epoch: int, num_shards: int) -> ShardState:
    """Assign ``slots`` to ``num_shards`` shards for ``epoch`` (see the module docstring for the rule).

    Raises ValidationError if a key appears twice or there are fewer slots than shards (every
    shard needs a committee).
    """
    if not 1 <= num_shards <= MAX_SHARDS:
        raise ValidationError(f"number of shards must be in [1, {MAX_SHARDS}], got {num_shards}")
    if len(slots) < num_shards:
        raise ValidationError(f"{len(slots)} slots cannot fill {num_shards} shards")
    ordered = sorted(slots, key=lambda slot: slot.public_key)
    if any(a.public_key == b.public_key for a, b in zip(ordered, ordered[1:])):
        raise ValidationError("a BLS key holds more than one slot")
    shuffled = compute_shuffle(ordered, compute_assignment_seed(randomness, epoch))
    shards = tuple(shuffled[shard_id::num_shards] for shard_id in range(num_shards))
    return ShardState(epoch, shards)
