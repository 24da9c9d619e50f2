"""LevelDB storage through plyvel: the node's on-disk ``KeyValueStore``.

This is the only module that imports plyvel. Every plyvel failure (a corrupt database, the lock held by
another process, I/O errors, use after close) is raised as DatabaseError.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import plyvel

from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import DatabaseError

# plyvel raises its own Error family for LevelDB statuses and RuntimeError once the DB is closed.
_PLYVEL_ERRORS = (plyvel.Error, RuntimeError)


class LevelDBStore(KeyValueStore):
    """A LevelDB database directory at ``path``, created (with its parents) if missing. Usable as a
    context manager."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the directory for LevelDB at {self._path}: {exc}") from exc
        try:
            self._db: plyvel.DB | None = plyvel.DB(self._path, create_if_missing=True)
        except plyvel.IOError as exc:
            raise DatabaseError(
                f"cannot open LevelDB at {self._path} (is another process using it?): {_message(exc)}"
            ) from exc
        except plyvel.CorruptionError as exc:
            raise DatabaseError(f"LevelDB at {self._path} is corrupt: {_message(exc)}") from exc
        except plyvel.Error as exc:
            raise DatabaseError(f"cannot open LevelDB at {self._path}: {_message(exc)}") from exc

    def _open_db(self) -> plyvel.DB:
        if self._db is None:
            raise DatabaseError(f"LevelDB at {self._path} is closed")
        return self._db

    def get(self, key: bytes) -> bytes | None:
        try:
            value: bytes | None = self._open_db().get(key)
        except _PLYVEL_ERRORS as exc:
            raise self._error("get", exc) from exc
        return value

    def put(self, key: bytes, value: bytes) -> None:
        try:
            self._open_db().put(key, value)
        except _PLYVEL_ERRORS as exc:
            raise self._error("put", exc) from exc

    def delete(self, key: bytes) -> None:
        try:
            self._open_db().delete(key)
        except _PLYVEL_ERRORS as exc:
            raise self._error("delete", exc) from exc

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        db = self._open_db()
        try:
            # transaction=True: an exception inside the block discards the batch instead of writing part.
            with db.write_batch(transaction=True, sync=sync) as leveldb_batch:
                for key, value in batch:
                    if value is None:
                        leveldb_batch.delete(key)
                    else:
                        leveldb_batch.put(key, value)
        except _PLYVEL_ERRORS as exc:
            raise self._error("write batch", exc) from exc

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        try:
            iterator = self._open_db().iterator(prefix=prefix)
        except _PLYVEL_ERRORS as exc:
            raise self._error("iterate", exc) from exc
        return self._translate_iteration(iterator)

    def _translate_iteration(self, iterator: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        try:
            yield from iterator
        except _PLYVEL_ERRORS as exc:
            raise self._error("iterate", exc) from exc

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            try:
                db.close()
            except _PLYVEL_ERRORS as exc:
                raise self._error("close", exc) from exc

    def _error(self, operation: str, exc: Exception) -> DatabaseError:
        if isinstance(exc, plyvel.CorruptionError):
            return DatabaseError(f"LevelDB at {self._path} is corrupt ({operation}): {_message(exc)}")
        return DatabaseError(f"LevelDB at {self._path} failed to {operation}: {_message(exc)}")


def _message(exc: Exception) -> str:
    # plyvel puts LevelDB's status string in args[0] as bytes.
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        return detail.decode("utf-8", "replace")
    return str(detail)
