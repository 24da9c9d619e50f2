"""Structured logging: JSON lines with extras, text lines, and libp2p's warnings kept."""

from __future__ import annotations

import io
import json
import logging

from harmony_node.node.log import configure_logging
from harmony_node.p2p.libp2p_tuning import route_libp2p_logs


def test_json_lines_carry_extras_and_libp2p_warnings() -> None:
    route_libp2p_logs()
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    logging.getLogger("harmony_node.test").info("block finalized", extra={"number": 12, "hash": b"\x01"})
    logging.getLogger("harmony_node.test").debug("not shown")
    logging.getLogger("libp2p.pubsub").warning("queue full")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["msg"] == "block finalized" and lines[0]["number"] == 12 and lines[0]["hash"] == "b'\\x01'"
    assert lines[0]["level"] == "info" and lines[0]["ts"].endswith("Z")
    assert [line["msg"] for line in lines] == ["block finalized", "queue full"]


def test_text_lines() -> None:
    stream = io.StringIO()
    configure_logging("debug", "text", stream)
    logging.getLogger("x").debug("hello", extra={"peer": "Qm"})
    assert stream.getvalue().rstrip().endswith("DEBUG   x: hello peer=Qm")
