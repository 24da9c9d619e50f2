"""The live explorer page every RPC node serves at ``/`` and ``/explorer`` (issue #8).

The page is one self-contained HTML file (``explorer.html``: markup, CSS and plain JavaScript, no
CDN, so it works offline). It holds no data: in the browser it asks the node it came from for
``hmyv2_getShardingStructure`` and then polls every shard's RPC directly (CORS is on) with the
ordinary Harmony methods, so the node does no work for it beyond answering RPC calls.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from harmony_node.rpc.server import Page

EXPLORER_PATHS = ("/", "/explorer")
CONTENT_TYPE = "text/html; charset=utf-8"


@cache
def _read_page() -> bytes:
    # Read once: the file ships inside the package (package data) and never changes while running.
    return files("harmony_node.rpc").joinpath("explorer.html").read_bytes()


def get_explorer_page() -> tuple[str, bytes]:
    """The ``Page`` callable: content type and the HTML."""
    return CONTENT_TYPE, _read_page()


def get_explorer_pages() -> dict[str, Page]:
    """The routes to pass to ``serve_rpc``."""
    return {path: get_explorer_page for path in EXPLORER_PATHS}
