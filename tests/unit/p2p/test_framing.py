"""``uint32_LE(len) ‖ bytes`` frames: exact bytes, limits checked before reading, and short reads named."""

from __future__ import annotations

from typing import cast

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamEOF

from harmony_node.p2p.errors import FrameError, FrameTooLarge
from harmony_node.p2p.framing import encode_frame, read_frame


class ChunkedStream:
    """Hands out ``data`` a few bytes per read, as a muxer may, then signals EOF like libp2p does."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk = data, chunk

    async def read(self, n: int | None = None) -> bytes:
        if not self.data:
            raise StreamEOF()
        size = min(self.chunk, n if n is not None else self.chunk)
        out, self.data = self.data[:size], self.data[size:]
        return out


def read_all(data: bytes, chunk: int = 3, max_size: int = 1 << 20) -> list[bytes | None]:
    stream = cast(INetStream, ChunkedStream(data, chunk))

    async def frames() -> list[bytes | None]:
        out: list[bytes | None] = []
        while True:
            frame = await read_frame(stream, max_size)
            out.append(frame)
            if frame is None:
                return out

    return trio.run(frames)


def test_exact_bytes() -> None:
    assert encode_frame(b"abc") == b"\x03\x00\x00\x00abc"
    assert encode_frame(b"") == b"\x00\x00\x00\x00"


@given(st.lists(st.binary(max_size=100), max_size=10), st.integers(min_value=1, max_value=17))
def test_frames_round_trip_whatever_the_read_sizes(frames: list[bytes], chunk: int) -> None:
    assert read_all(b"".join(encode_frame(f) for f in frames), chunk) == [*frames, None]


def test_oversize_is_refused_on_both_sides() -> None:
    with pytest.raises(FrameTooLarge, match="frame of 11 bytes exceeds the 10-byte limit"):
        encode_frame(bytes(11), max_size=10)
    # Refused from the prefix alone: the body is never read or buffered.
    with pytest.raises(FrameTooLarge, match="declared a frame of 4294967295 bytes"):
        read_all(b"\xff\xff\xff\xff")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x05\x00", "after 2 of 4 bytes of a frame length prefix"),
        (b"\x05\x00\x00\x00ab", "after 2 of 5 bytes of a frame body"),
    ],
)
def test_short_reads_are_named(data: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        read_all(data)
