"""The node's wall clock: Unix time, shifted by ``HMY_CLOCK_OFFSET_MS`` in clock-skew tests.

Consensus time (the engine's ``now``, its timers, the leader's header timestamp) and the check of a
proposal's timestamp against local time both read this clock, so a node started with
``HMY_CLOCK_OFFSET_MS=30000`` behaves in every respect like a node whose system clock is 30 s fast.
The variable is read once at start; a value that is not a whole number of milliseconds within a day
refuses the start.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from harmony_node.node.config import ConfigError

CLOCK_OFFSET_ENV = "HMY_CLOCK_OFFSET_MS"
MAX_CLOCK_OFFSET_MS = 24 * 3600 * 1000
"""A larger skew is a mistake in the test, not a clock."""


class ClockOffsetError(ConfigError):
    """``HMY_CLOCK_OFFSET_MS`` is not a signed whole number of milliseconds within a day."""


@dataclass(frozen=True, slots=True)
class WallClock:
    offset_ms: int = 0

    def get_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    def get_seconds(self) -> float:
        return time.time() + self.offset_ms / 1000


SYSTEM_CLOCK = WallClock()


def parse_clock_offset(text: str) -> int:
    try:
        offset = int(text.strip(), 10)
    except ValueError:
        raise ClockOffsetError(f"{CLOCK_OFFSET_ENV}={text!r}: expected a signed whole number of milliseconds") from None
    if abs(offset) > MAX_CLOCK_OFFSET_MS:
        raise ClockOffsetError(f"{CLOCK_OFFSET_ENV}={text!r}: at most {MAX_CLOCK_OFFSET_MS} ms either way")
    return offset


def get_wall_clock(environ: Mapping[str, str]) -> WallClock:
    """The system clock, shifted as ``environ`` says (unset or empty: not shifted)."""
    text = environ.get(CLOCK_OFFSET_ENV, "")
    return WallClock(parse_clock_offset(text)) if text else SYSTEM_CLOCK
