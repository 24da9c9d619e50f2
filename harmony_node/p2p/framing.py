"""Length-prefixed frames on a libp2p stream: ``uint32_LE(len) ‖ bytes``, as Harmony's sync streams use.

The length is checked before a byte of the body is read, so a peer cannot make us buffer more than
``max_size`` (Harmony: 20 MiB) by declaring a huge frame.
"""

from __future__ import annotations

from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamEOF

from harmony_node.p2p.errors import FrameError, FrameTooLarge

MAX_FRAME_SIZE = 20 * 1024 * 1024
PREFIX_SIZE = 4


def encode_frame(payload: bytes, max_size: int = MAX_FRAME_SIZE) -> bytes:
    if len(payload) > max_size:
        raise FrameTooLarge(f"frame of {len(payload)} bytes exceeds the {max_size}-byte limit")
    return len(payload).to_bytes(PREFIX_SIZE, "little") + payload


async def write_frame(stream: INetStream, payload: bytes, max_size: int = MAX_FRAME_SIZE) -> None:
    await stream.write(encode_frame(payload, max_size))


async def read_frame(stream: INetStream, max_size: int = MAX_FRAME_SIZE) -> bytes | None:
    """The next frame's body, or None if the stream ended cleanly between frames."""
    prefix = await _read_exactly(stream, PREFIX_SIZE, allow_eof=True)
    if prefix is None:
        return None
    length = int.from_bytes(prefix, "little")
    if length > max_size:
        raise FrameTooLarge(f"peer declared a frame of {length} bytes, over the {max_size}-byte limit")
    body = await _read_exactly(stream, length, allow_eof=False)
    assert body is not None  # allow_eof=False raises instead
    return body


async def _read_exactly(stream: INetStream, size: int, allow_eof: bool) -> bytes | None:
    # libp2p's own read_exactly gives up after 100 partial reads, which a 20 MiB frame over yamux exceeds.
    chunks: list[bytes] = []
    received = 0
    while received < size:
        try:
            chunk = await stream.read(size - received)
        except StreamEOF:
            chunk = b""
        if not chunk:
            if received == 0 and allow_eof:
                return None
            what = "frame length prefix" if allow_eof else "frame body"
            raise FrameError(f"stream ended after {received} of {size} bytes of a {what}")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)
