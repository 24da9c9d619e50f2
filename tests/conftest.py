"""Shared pytest configuration."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# CI runs on 2 shared cores; deadlines would make property tests flaky rather than find bugs.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fbft-seeds", type=int, default=1000,
        help="how many seeded FBFT simulations to run (a long soak: --fbft-seeds 100000)",
    )
    parser.addoption("--fbft-first-seed", type=int, default=0, help="first seed of the FBFT simulations")


@pytest.fixture
def fbft_seeds(request: pytest.FixtureRequest) -> range:
    first = request.config.getoption("--fbft-first-seed")
    return range(first, first + request.config.getoption("--fbft-seeds"))
