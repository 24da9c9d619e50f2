"""Slot-to-shard assignment: a seeded, unbiased Fisher–Yates shuffle dealt round-robin to shards.

The statistical tests run over fixed seeds, so they are deterministic: they either always pass
or always fail. Each asserts p > 0.001 for a chi-square goodness-of-fit test.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from itertools import permutations

import pytest

from crypto.hash import sha256
from harmony_node.exceptions import ValidationError
from sharding.assignment import (
    Drbg,
    compute_assignment_seed,
    compute_shard_assignment,
    compute_shuffle,
)
from sharding.shard_state import Slot

RANDOMNESS = sha256(b"epoch randomness")


def make_slots(count: int) -> list[Slot]:
    return [Slot(sha256(bytes([i]))[:16] * 3, bytes([i]) * 20, 1000 + i) for i in range(count)]


def chi_square_p_value(observed: Sequence[float], expected: Sequence[float], dof: int | None = None) -> float:
    """Upper tail of the chi-square distribution (regularized gamma Q(dof/2, x/2)); no scipy here."""
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected))
    a, x = (len(observed) - 1 if dof is None else dof) / 2, statistic / 2
    if x <= 0:
        return 1.0
    log_prefactor = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series for P(a, x), Numerical Recipes gser
        term = total = 1 / a
        n = a
        while abs(term) > abs(total) * 1e-15:
            n += 1
            term *= x / n
            total += term
        return 1 - total * math.exp(log_prefactor)
    # Continued fraction for Q(a, x), modified Lentz (Numerical Recipes gcf).
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(log_prefactor) * h


def test_chi_square_helper_matches_known_quantiles() -> None:
    # Critical values from standard tables: P(X > c) for the given degrees of freedom.
    for statistic, dof, p in ((3.841, 1, 0.05), (16.266, 3, 0.001), (66.339, 49, 0.05), (11.345, 3, 0.01)):
        assert chi_square_p_value([1] * (dof + 1), [1.0] * (dof + 1), dof) == 1.0
        observed_p = _p_from_statistic(statistic, dof)
        assert abs(observed_p - p) < 0.0005 * max(1, p * 100)


def _p_from_statistic(statistic: float, dof: int) -> float:
    # One cell with (o - e)^2 / e == statistic: o = e + sqrt(statistic * e) with e = 1.
    return chi_square_p_value([1 + math.sqrt(statistic)], [1.0], dof)


def _reference_shuffle(items: list[int], seed: bytes) -> list[int]:
    """The documented algorithm, written out independently with hashlib."""
    draws: list[int] = []
    counter = 0

    def draw() -> int:
        nonlocal counter
        if not draws:
            block = hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
            counter += 1
            draws.extend(int.from_bytes(block[k : k + 8], "big") for k in range(0, 32, 8))
        return draws.pop(0)

    items = list(items)
    for i in range(len(items) - 1, 0, -1):
        bound = i + 1
        limit = 2**64 - 2**64 % bound
        value = draw()
        while value >= limit:
            value = draw()
        j = value % bound
        items[i], items[j] = items[j], items[i]
    return items


def test_shuffle_follows_the_documented_algorithm() -> None:
    for n in range(30):
        seed = sha256(n.to_bytes(2, "big"))
        assert list(compute_shuffle(range(n), seed)) == _reference_shuffle(list(range(n)), seed)
    # Pinned vector: any change to the DRBG or the shuffle changes every node's committees.
    assert compute_shuffle(range(10), bytes(32)) == tuple(_reference_shuffle(list(range(10)), bytes(32)))


def test_drbg_draws_and_rejection() -> None:
    seed = b"seed"
    drbg = Drbg(seed)
    blocks = hashlib.sha256(seed + bytes(8)).digest() + hashlib.sha256(seed + (1).to_bytes(8, "big")).digest()
    raw = [int.from_bytes(blocks[k : k + 8], "big") for k in range(0, 64, 8)]
    assert [drbg.get_next_draw() for _ in range(8)] == raw

    # bound = 3 * 2**62: draws at or above 3 * 2**62 (a quarter of them) must be rejected, not wrapped.
    bound = 3 * 2**62
    stream = Drbg(seed)
    expected = [value % bound for value in _raw_draws(seed, 400) if value < bound][:100]
    assert [stream.get_integer_below(bound) for _ in range(100)] == expected
    assert {Drbg(seed).get_integer_below(1) for _ in range(3)} == {0}
    assert Drbg(seed).get_integer_below(2**64) == raw[0]
    for bad in (0, 2**64 + 1):
        with pytest.raises(ValidationError):
            Drbg(seed).get_integer_below(bad)


def _raw_draws(seed: bytes, count: int) -> list[int]:
    drbg = Drbg(seed)
    return [drbg.get_next_draw() for _ in range(count)]


def test_assignment_is_deterministic_and_ignores_input_order() -> None:
    slots = make_slots(20)
    state = compute_shard_assignment(slots, RANDOMNESS, 3, 4)
    assert state == compute_shard_assignment(slots, RANDOMNESS, 3, 4)
    assert state == compute_shard_assignment(list(reversed(slots)), RANDOMNESS, 3, 4)
    assert state == compute_shard_assignment(slots[7:] + slots[:7], RANDOMNESS, 3, 4)
    assert state.epoch == 3 and state.num_shards == 4
    assert sorted(len(shard) for shard in state.shards) == [5, 5, 5, 5]
    assert sorted((slot for shard in state.shards for slot in shard), key=lambda s: s.public_key) == sorted(
        slots, key=lambda s: s.public_key
    )
    # The shard state is what the shuffle dealt round-robin.
    shuffled = compute_shuffle(sorted(slots, key=lambda s: s.public_key), compute_assignment_seed(RANDOMNESS, 3))
    assert state.shards[1] == shuffled[1::4]


def test_different_randomness_or_epoch_gives_different_assignments() -> None:
    slots = make_slots(20)
    states = {compute_shard_assignment(slots, sha256(bytes([i])), 1, 4).shards for i in range(50)}
    assert len(states) == 50
    assert compute_shard_assignment(slots, RANDOMNESS, 1, 4) != compute_shard_assignment(slots, RANDOMNESS, 2, 4)


@pytest.mark.parametrize(("count", "num_shards"), [(4, 4), (5, 4), (11, 3), (1, 1), (7, 1)])
def test_shard_sizes_differ_by_at_most_one(count: int, num_shards: int) -> None:
    state = compute_shard_assignment(make_slots(count), RANDOMNESS, 0, num_shards)
    sizes = [len(shard) for shard in state.shards]
    assert sum(sizes) == count and max(sizes) - min(sizes) <= 1


def test_invalid_assignments() -> None:
    slots = make_slots(4)
    with pytest.raises(ValidationError, match="cannot fill"):
        compute_shard_assignment(slots, RANDOMNESS, 0, 5)
    with pytest.raises(ValidationError, match="more than one slot"):
        compute_shard_assignment(slots + [Slot(slots[0].public_key, b"\x99" * 20, 0)], RANDOMNESS, 0, 2)
    with pytest.raises(ValidationError, match="32 bytes"):
        compute_shard_assignment(slots, RANDOMNESS[:31], 0, 2)
    with pytest.raises(ValidationError, match="number of shards"):
        compute_shard_assignment(slots, RANDOMNESS, 0, 0)
    with pytest.raises(ValidationError, match="uint64"):
        compute_shard_assignment(slots, RANDOMNESS, -1, 2)


SEEDS = 2000


@pytest.mark.parametrize(("count", "num_shards"), [(12, 4), (10, 4)])
def test_a_slot_lands_in_each_shard_in_proportion_to_its_size(count: int, num_shards: int) -> None:
    slots = make_slots(count)
    target = slots[0].public_key
    landed = Counter(
        compute_shard_assignment(slots, sha256(seed.to_bytes(4, "big")), 1, num_shards).get_shard_of_key(target)
        for seed in range(SEEDS)
    )
    sizes = [len(range(shard, count, num_shards)) for shard in range(num_shards)]
    expected = [SEEDS * size / count for size in sizes]
    assert chi_square_p_value([landed[shard] for shard in range(num_shards)], expected) > 0.001


def test_shuffle_permutations_are_uniform() -> None:
    perms = list(permutations(range(4)))
    counts = Counter(compute_shuffle(range(4), sha256(seed.to_bytes(4, "big"))) for seed in range(2400))
    assert chi_square_p_value([counts[p] for p in perms], [2400 / len(perms)] * len(perms)) > 0.001


def test_shuffle_positions_are_uniform() -> None:
    n = 8
    table = Counter(
        (item, position)
        for seed in range(SEEDS)
        for position, item in enumerate(compute_shuffle(range(n), sha256(b"pos" + seed.to_bytes(4, "big"))))
    )
    observed = [table[item, position] for item in range(n) for position in range(n)]
    # Rows and columns each sum to SEEDS by construction: (n - 1)^2 degrees of freedom.
    assert chi_square_p_value(observed, [SEEDS / n] * (n * n), dof=(n - 1) ** 2) > 0.001
    # And no single item is biased toward a position.
    for item in range(n):
        assert chi_square_p_value([table[item, p] for p in range(n)], [SEEDS / n] * n) > 0.001


def test_modulo_reduction_would_be_detectably_biased() -> None:
    """Sanity check of the test itself: a biased shuffle (j = draw % n over all i) fails it."""
    counts: Counter[tuple[int, ...]] = Counter()
    for seed in range(2400):
        drbg = Drbg(sha256(seed.to_bytes(4, "big")))
        items = list(range(4))
        for i in range(3, -1, -1):  # naive "swap with any position" shuffle: n^n outcomes, not n!
            j = drbg.get_integer_below(4)
            items[i], items[j] = items[j], items[i]
        counts[tuple(items)] += 1
    perms = list(permutations(range(4)))
    assert chi_square_p_value([counts[p] for p in perms], [2400 / 24] * 24) < 0.001
