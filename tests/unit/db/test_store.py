"""The KeyValueStore contract, run against every backend (MemoryStore and LevelDBStore)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import DatabaseError


class KeyValueStoreSuite:
    """Behaviour every store must have; subclasses provide the ``store`` fixture."""

    def test_get_missing_is_none(self, store: KeyValueStore) -> None:
        assert store.get(b"absent") is None
        assert b"absent" not in store

    def test_put_get_overwrite_delete(self, store: KeyValueStore) -> None:
        store.put(b"k", b"v1")
        assert store.get(b"k") == b"v1"
        assert b"k" in store
        store.put(b"k", b"v2")
        assert store.get(b"k") == b"v2"
        store.delete(b"k")
        assert store.get(b"k") is None
        assert b"k" not in store

    def test_empty_value_is_present(self, store: KeyValueStore) -> None:
        store.put(b"k", b"")
        assert store.get(b"k") == b""
        assert b"k" in store

    def test_delete_missing_is_a_no_op(self, store: KeyValueStore) -> None:
        store.delete(b"never-there")
        assert store.get(b"never-there") is None

    def test_batch_applies_puts_and_deletes(self, store: KeyValueStore) -> None:
        store.put(b"old", b"x")
        batch = WriteBatch()
        batch.put(b"a", b"1")
        batch.put(b"b", b"2")
        batch.delete(b"old")
        store.write(batch)
        assert store.get(b"a") == b"1"
        assert store.get(b"b") == b"2"
        assert store.get(b"old") is None

    def test_batch_later_operation_wins(self, store: KeyValueStore) -> None:
        store.put(b"deleted-then-put", b"before")
        batch = WriteBatch()
        batch.put(b"twice", b"first")
        batch.put(b"twice", b"second")
        batch.put(b"put-then-deleted", b"v")
        batch.delete(b"put-then-deleted")
        batch.delete(b"deleted-then-put")
        batch.put(b"deleted-then-put", b"after")
        assert len(batch) == 3
        store.write(batch, sync=True)
        assert store.get(b"twice") == b"second"
        assert store.get(b"put-then-deleted") is None
        assert store.get(b"deleted-then-put") == b"after"

    def test_unwritten_batch_leaves_store_untouched(self, store: KeyValueStore) -> None:
        store.put(b"kept", b"v")
        batch = WriteBatch()
        batch.put(b"new", b"n")
        batch.delete(b"kept")
        assert store.get(b"new") is None
        assert store.get(b"kept") == b"v"
        assert list(store.iterate_prefix(b"")) == [(b"kept", b"v")]

    def test_iterate_prefix_is_sorted_and_bounded(self, store: KeyValueStore) -> None:
        keys = [b"\x01\xff", b"\x01", b"\x02", b"\x01\x00\x05", b"\x00\xff", b"\x01\x00", b"\x01\xff\xff"]
        for key in keys:
            store.put(key, key + b"-value")
        expected = sorted(key for key in keys if key.startswith(b"\x01"))
        assert [key for key, _ in store.iterate_prefix(b"\x01")] == expected
        assert list(store.iterate_prefix(b"\x01\xff")) == [
            (b"\x01\xff", b"\x01\xff-value"),
            (b"\x01\xff\xff", b"\x01\xff\xff-value"),
        ]
        assert [key for key, _ in store.iterate_prefix(b"")] == sorted(keys)
        assert list(store.iterate_prefix(b"\x03")) == []

    def test_close_is_idempotent_and_use_after_close_fails(self, store: KeyValueStore) -> None:
        store.put(b"k", b"v")
        store.close()
        store.close()
        with pytest.raises(DatabaseError, match="closed"):
            store.get(b"k")
        with pytest.raises(DatabaseError, match="closed"):
            store.write(WriteBatch())
        with pytest.raises(DatabaseError, match="closed"):
            store.iterate_prefix(b"")

    def test_context_manager_closes(self, store: KeyValueStore) -> None:
        with store as opened:
            opened.put(b"k", b"v")
        with pytest.raises(DatabaseError):
            store.get(b"k")


class TestMemoryStore(KeyValueStoreSuite):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


class TestLevelDBStore(KeyValueStoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> LevelDBStore:
        return LevelDBStore(tmp_path / "db")

    def test_reopen_reads_back(self, tmp_path: Path) -> None:
        with LevelDBStore(tmp_path / "db") as store:
            batch = WriteBatch()
            batch.put(b"a", b"1")
            batch.put(b"b", b"2")
            store.write(batch, sync=True)
            store.delete(b"a")
        with LevelDBStore(tmp_path / "db") as reopened:
            assert reopened.get(b"a") is None
            assert reopened.get(b"b") == b"2"

    def test_second_store_on_same_path_is_refused(self, tmp_path: Path) -> None:
        with LevelDBStore(tmp_path / "db"):
            with pytest.raises(DatabaseError, match="another process"):
                LevelDBStore(tmp_path / "db")
        # Once the first holder closes, the lock is free again.
        LevelDBStore(tmp_path / "db").close()

    def test_corrupt_database_is_a_database_error(self, tmp_path: Path) -> None:
        LevelDBStore(tmp_path / "db").close()
        (tmp_path / "db" / "CURRENT").write_bytes(b"garbage without newline")
        with pytest.raises(DatabaseError, match="corrupt"):
            LevelDBStore(tmp_path / "db")

    def test_failed_batch_writes_nothing(self, store: LevelDBStore) -> None:
        batch = WriteBatch()
        batch.put(b"first", b"1")
        # A value LevelDB cannot take makes the write fail after the first put was staged.
        batch.put(b"second", cast(bytes, "not bytes"))
        with pytest.raises(TypeError):
            store.write(batch)
        assert store.get(b"first") is None
