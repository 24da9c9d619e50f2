"""Epoch numbering: epoch 0 is genesis alone, then fixed-length epochs ending at multiples of B."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.exceptions import ValidationError
from sharding.schedule import EpochSchedule


def test_default_schedule_boundaries() -> None:
    schedule = EpochSchedule()
    assert schedule.blocks_per_epoch == 16
    assert [schedule.compute_epoch(n) for n in (0, 1, 16, 17, 32, 33)] == [0, 1, 1, 2, 2, 3]
    assert (schedule.get_first_block(0), schedule.get_last_block(0)) == (0, 0)
    assert (schedule.get_first_block(1), schedule.get_last_block(1)) == (1, 16)
    assert (schedule.get_first_block(2), schedule.get_last_block(2)) == (17, 32)
    assert [n for n in range(50) if schedule.is_last_block(n)] == [0, 16, 32, 48]


def test_one_block_epochs() -> None:
    schedule = EpochSchedule(1)
    assert [schedule.compute_epoch(n) for n in range(4)] == [0, 1, 2, 3]
    assert all(schedule.is_last_block(n) for n in range(4))


@given(st.integers(1, 1000), st.integers(0, 10**6))
def test_epoch_contains_its_blocks(blocks_per_epoch: int, number: int) -> None:
    schedule = EpochSchedule(blocks_per_epoch)
    epoch = schedule.compute_epoch(number)
    assert schedule.get_first_block(epoch) <= number <= schedule.get_last_block(epoch)
    assert schedule.is_last_block(number) == (number == schedule.get_last_block(epoch))
    # Epochs tile the chain: the next epoch starts right after this one ends.
    assert schedule.get_first_block(epoch + 1) == schedule.get_last_block(epoch) + 1


@pytest.mark.parametrize("bad", [0, -1])
def test_rejects_empty_epochs(bad: int) -> None:
    with pytest.raises(ValidationError):
        EpochSchedule(bad)


def test_rejects_negative_inputs() -> None:
    schedule = EpochSchedule()
    for call in (schedule.compute_epoch, schedule.get_first_block, schedule.get_last_block, schedule.is_last_block):
        with pytest.raises(ValidationError, match="non-negative"):
            call(-1)
