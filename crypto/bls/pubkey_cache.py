"""A bounded cache of deserialized, validated BLS public keys.

Deserializing a G1 key with its subgroup check costs ~60-100 µs in blst; a committee of 400 keys is
verified every block, so a node decodes each key once and keeps the point. Invalid keys are never
cached, so they fail every time. The bound (least recently used out) keeps memory flat however
many distinct keys peers send.
"""

from __future__ import annotations

from collections import OrderedDict

from crypto.bls.backend import BLSBackend, PublicKeyPoint


class PublicKeyCache:
    """Least-recently-used map from public key bytes to the backend's validated point."""

    def __init__(self, backend: BLSBackend, max_keys: int = 10_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self.backend = backend
        self.max_keys = max_keys
        self._points: OrderedDict[bytes, PublicKeyPoint] = OrderedDict()

    def __len__(self) -> int:
        return len(self._points)

    def __contains__(self, public_key: object) -> bool:
        return public_key in self._points

    def get_point(self, public_key: bytes) -> PublicKeyPoint:
        """The validated point of ``public_key``; raises InvalidKey (and caches nothing) if invalid."""
        point = self._points.get(public_key)
        if point is not None:
            self._points.move_to_end(public_key)
            return point
        point = self.backend.load_public_key(public_key)
        self._points[public_key] = point
        if len(self._points) > self.max_keys:
            self._points.popitem(last=False)
        return point
