"""Fixtures of the multi-process tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localnet_runner import LocalnetCli, find_free_base_port


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[LocalnetCli]:
    """A localnet directory for the real ``hmy-node localnet`` on free shifted ports; every node
    process it started is killed at the end, pass or fail."""
    created = LocalnetCli(tmp_path / "localnet", find_free_base_port())
    try:
        yield created
    finally:
        created.kill_everything()
