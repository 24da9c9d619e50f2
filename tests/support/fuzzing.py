"""What every fuzz test (``tests/fuzz``) shares: the budget, the counted decoder call, the input draw.

``HARMONY_FUZZ_EXAMPLES`` sets the examples per decoder (300 in CI); arbitrary-bytes tests find
less than mutations of valid encodings and run a fifth of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, Union

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from harmony_node.exceptions import DecodingError, HarmonyError

EXAMPLES = int(os.environ.get("HARMONY_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
FUZZ_HALF = settings(max_examples=max(50, EXAMPLES // 2), deadline=None, suppress_health_check=list(HealthCheck))
FUZZ_RANDOM = settings(max_examples=max(50, EXAMPLES // 5), deadline=None, suppress_health_check=list(HealthCheck))

Record = Callable[[str, Union[BaseException, None]], None]
"""``fuzz_record(decoder, error or None)``: counts one input for the session's table."""
Mutate = Callable[[Any, bytes], bytes]
"""``fuzz_mutate(data, valid_encoding)``: a mutation drawn with hypothesis's ``data``."""
T = TypeVar("T")


def build_depth_bomb(depth: int) -> bytes:
    """``depth`` nested empty RLP lists."""
    raw = b"\xc0"
    for _ in range(depth):
        size = len(raw)
        if size < 56:
            raw = bytes((0xC0 + size,)) + raw
        else:
            length = size.to_bytes((size.bit_length() + 7) // 8, "big")
            raw = bytes((0xF7 + len(length),)) + length + raw
    return raw


DEEP = build_depth_bomb(3000)
"""3000 nested empty lists, 8.8 kB: made ``rlp.decode`` raise RecursionError in the sync and slash decoders."""


def attempt(record: Record, name: str, decode: Callable[[bytes], T], data: bytes,
            allowed: type[HarmonyError] | tuple[type[HarmonyError], ...] = DecodingError) -> T | None:
    """``decode(data)``, counted; None when it refused with an ``allowed`` error. Anything else fails the test."""
    try:
        result = decode(data)
    except HarmonyError as error:
        record(name, error)
        assert isinstance(error, allowed), f"{name} raised {type(error).__name__}, documented: {allowed}"
        return None
    record(name, None)
    return result


def draw_input(data: Any, mutate: Mutate, seeds: Sequence[bytes]) -> bytes:
    """Arbitrary bytes, a valid seed as is, or (most often) a mutation of a valid seed."""
    choice = data.draw(st.integers(0, 19), label="source")
    if choice < 3:
        raw: bytes = data.draw(st.binary(max_size=400), label="arbitrary")
        return raw
    seed = data.draw(st.sampled_from(list(seeds)), label="seed")
    if choice == 3:
        return seed
    return mutate(data, seed)
