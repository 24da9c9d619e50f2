"""Shared pytest configuration."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# CI runs on 2 shared cores; deadlines would make property tests flaky rather than find bugs.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
