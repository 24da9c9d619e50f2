"""An in-memory key-value store: the test double for LevelDB (same interface, no disk)."""

from __future__ import annotations

from collections.abc import Iterator

from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import DatabaseError


class MemoryStore(KeyValueStore):
    """A ``KeyValueStore`` over a dict. Prefix iteration sorts on each call, which is fine for tests."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] | None = {}

    def _open_data(self) -> dict[bytes, bytes]:
        if self._data is None:
            raise DatabaseError("memory store is closed")
        return self._data

    def get(self, key: bytes) -> bytes | None:
        return self._open_data().get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self._open_data()[key] = value

    def delete(self, key: bytes) -> None:
        self._open_data().pop(key, None)

    def __contains__(self, key: bytes) -> bool:
        return key in self._open_data()

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        data = self._open_data()
        # Dict updates of bytes cannot fail half-way, so applying in order is atomic here.
        for key, value in batch:
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        data = self._open_data()
        # A sorted snapshot: writes during iteration do not disturb it, as with LevelDB's implicit snapshot.
        return iter(sorted((key, value) for key, value in data.items() if key.startswith(prefix)))

    def close(self) -> None:
        self._data = None
