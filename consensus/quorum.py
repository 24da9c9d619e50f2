"""Committees and quorum by voting power (reference §2.4).

A committee is the ordered list of BLS keys allowed to vote at one (shard, epoch); bitmaps index it.
Each key carries an integer voting power; a set of signers is a quorum when its power is strictly
more than two thirds of the committee's total power. Equal power is one unit per key, which is
exactly Harmony's pre-staking rule ``signers >= n*2//3 + 1``.

Why not a fixed total such as 10**18 split equally with the remainder on the last key, as Harmony's
staked roster does: no split of a total that is not a multiple of 3 can be exact. For n = 3 the rule
needs every single key to hold at least ceil(T/3) (so that no two keys reach 2/3), and three such
shares exceed T. Concretely, with T = 10**18 and n divisible by 3, 2n/3 keys that include the last
key's remainder would pass. Stake-weighted power (EPoS) plugs in through
``Committee(..., voting_power=...)`` with any non-negative integers, e.g. effective stake; the quorum
test is relative to the committee's own total, so no fixed total is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crypto.bls import PUBLIC_KEY_SIZE
from harmony_node.exceptions import ValidationError


@dataclass(frozen=True, slots=True)
class Committee:
    """The ordered voting members of one shard in one epoch."""

    shard_id: int
    epoch: int
    public_keys: tuple[bytes, ...]
    voting_power: tuple[int, ...]
    index_of: dict[bytes, int] = field(init=False, repr=False, compare=False)
    total_power: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.public_keys:
            raise ValidationError("a committee needs at least one member")
        if len(self.voting_power) != len(self.public_keys):
            raise ValidationError("every committee member needs a voting power")
        if any(len(key) != PUBLIC_KEY_SIZE for key in self.public_keys):
            raise ValidationError(f"committee keys are {PUBLIC_KEY_SIZE}-byte BLS public keys")
        if len(set(self.public_keys)) != len(self.public_keys):
            raise ValidationError("a BLS key appears twice in the committee")
        if any(power < 0 for power in self.voting_power) or sum(self.voting_power) <= 0:
            raise ValidationError("voting power must be non-negative with a positive total")
        object.__setattr__(self, "index_of", {key: i for i, key in enumerate(self.public_keys)})
        object.__setattr__(self, "total_power", sum(self.voting_power))

    @classmethod
    def with_equal_power(cls, public_keys: Sequence[bytes], shard_id: int, epoch: int) -> Committee:
        """One vote per key (before stake-weighted voting power exists)."""
        return cls(shard_id, epoch, tuple(public_keys), (1,) * len(public_keys))

    @property
    def size(self) -> int:
        """Number of members (and of bits in a bitmap over this committee)."""
        return len(self.public_keys)

    def compute_power(self, signer_indices: Iterable[int]) -> int:
        """Total voting power of the signers; an index listed twice counts once."""
        return sum(self.voting_power[i] for i in set(signer_indices))


def is_quorum(committee: Committee, signer_indices: Iterable[int]) -> bool:
    """Whether the signers hold strictly more than 2/3 of the voting power."""
    return 3 * committee.compute_power(signer_indices) > 2 * committee.total_power


def compute_quorum_threshold(committee: Committee) -> int:
    """The least voting power that is a quorum: p > 2T/3 over integers is p >= 2T//3 + 1."""
    return 2 * committee.total_power // 3 + 1


def compute_max_faulty(committee_size: int) -> int:
    """f: the most equal-power members that may fail while the rest still reach quorum (n >= 3f + 1)."""
    return (committee_size - 1) // 3
