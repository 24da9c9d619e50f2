"""The key-value store interface every database backend implements, and the atomic write batch.

A block's writes (trie nodes, block body, receipts, indexes) are collected in one ``WriteBatch`` and
handed to ``KeyValueStore.write``, which applies all of them or none, so a crash never leaves half a
block on disk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType
from typing import Self


class WriteBatch:
    """Puts and deletes waiting to be written atomically; a later operation on a key replaces earlier ones."""

    __slots__ = ("_ops",)

    def __init__(self) -> None:
        # key -> value to put, or None to delete. A dict keeps exactly the last operation per key.
        self._ops: dict[bytes, bytes | None] = {}

    def put(self, key: bytes, value: bytes) -> None:
        """Record that ``key`` is to hold ``value``."""
        self._ops[key] = value

    def delete(self, key: bytes) -> None:
        """Record that ``key`` is to be removed."""
        self._ops[key] = None

    def __len__(self) -> int:
        """Number of distinct keys the batch will touch."""
        return len(self._ops)

    def __iter__(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Yield ``(key, value)`` for each key touched, ``value`` None for a delete."""
        return iter(self._ops.items())


class KeyValueStore(ABC):
    """A byte-keyed, byte-valued store. Failures of the underlying database raise DatabaseError."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """Return the value stored at ``key``, or None if absent."""

    @abstractmethod
    def put(self, key: bytes, value: bytes) -> None:
        """Store ``value`` at ``key``, replacing any previous value."""

    @abstractmethod
    def delete(self, key: bytes) -> None:
        """Remove ``key``; removing an absent key does nothing."""

    @abstractmethod
    def __contains__(self, key: bytes) -> bool:
        """Whether ``key`` holds a value."""

    @abstractmethod
    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Apply every operation of ``batch`` atomically; with ``sync`` the write is flushed to disk first."""

    @abstractmethod
    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(key, value)`` for every key starting with ``prefix``, in ascending key order."""

    @abstractmethod
    def close(self) -> None:
        """Release the store; closing twice is allowed. Any other use after closing raises DatabaseError."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
