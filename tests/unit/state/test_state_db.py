"""StateDB: the account cache over the secure trie, against a plain dict model and HexaryTrie."""

from __future__ import annotations

from pathlib import Path

import pytest
import rlp
from hypothesis import given
from hypothesis import strategies as st
from trie import HexaryTrie

from crypto.hash import keccak256
from harmony_node.db.level import LevelDBStore
from harmony_node.db.memory import MemoryStore
from harmony_node.db.store import WriteBatch
from harmony_node.state.account import BLANK_ROOT, EMPTY_ACCOUNT, Account, encode_account
from harmony_node.state.state_db import StateDB

addresses = st.binary(min_size=20, max_size=20)
accounts = st.builds(Account, nonce=st.integers(0, 2**64 - 1), balance=st.integers(0, 2**128))


def _reference_root(model: dict[bytes, Account]) -> bytes:
    reference = HexaryTrie({})
    for address, account in model.items():
        if not account.is_empty():
            reference[keccak256(address)] = encode_account(account)
    return bytes(reference.root_hash)


@given(st.lists(st.lists(st.tuples(addresses, accounts), max_size=12), min_size=1, max_size=5))
def test_commits_match_the_reference_trie(blocks: list[list[tuple[bytes, Account]]]) -> None:
    store = MemoryStore()
    state = StateDB(store)
    model: dict[bytes, Account] = {}
    for writes in blocks:
        for address, account in writes:
            state.set_account(address, account)
            model[address] = account
        batch = WriteBatch()
        root = state.commit(batch)
        store.write(batch)
        assert root == _reference_root(model)
        # A fresh view at the committed root reads the same accounts.
        reopened = StateDB(store, root)
        for address, account in model.items():
            assert reopened.get_account(address) == (EMPTY_ACCOUNT if account.is_empty() else account)


def test_empty_accounts_are_not_stored() -> None:
    state = StateDB(MemoryStore())
    state.set_account(b"\x01" * 20, Account())
    assert state.commit(WriteBatch()) == BLANK_ROOT


def test_uncommitted_changes_do_not_reach_the_store(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as store:
        state = StateDB(store)
        state.set_account(b"\x02" * 20, Account(nonce=1, balance=5))
        batch = WriteBatch()
        root = state.commit(batch)
        # Dropping the batch leaves the database as it was: the root is not readable.
        assert StateDB(store, BLANK_ROOT).get_account(b"\x02" * 20) == EMPTY_ACCOUNT
        store.write(batch)
    with LevelDBStore(tmp_path / "db") as store:
        assert StateDB(store, root).get_account(b"\x02" * 20) == Account(nonce=1, balance=5)


def test_account_encoding_is_geths() -> None:
    account = Account(nonce=3, balance=10**18)
    assert rlp.decode(encode_account(account)) == [b"\x03", (10**18).to_bytes(8, "big"), BLANK_ROOT, keccak256(b"")]


def test_records_live_in_the_same_trie_as_accounts() -> None:
    store = MemoryStore()
    state = StateDB(store)
    state.set_account(b"\x01" * 20, Account(balance=5))
    empty_records_root = state.commit(WriteBatch())
    state.set_record(b"validator:" + b"\x01" * 20, b"record one")
    batch = WriteBatch()
    root = state.commit(batch)
    store.write(batch)
    assert root != empty_records_root  # the state root commits to records too
    reopened = StateDB(store, root)
    assert reopened.get_record(b"validator:" + b"\x01" * 20) == b"record one"
    assert reopened.get_record(b"absent key") is None
    assert reopened.get_balance(b"\x01" * 20) == 5
    reopened.set_record(b"validator:" + b"\x01" * 20, None)
    assert reopened.has_pending_changes
    assert reopened.commit(WriteBatch()) == empty_records_root  # deleting restores the old root
    with pytest.raises(ValueError):
        reopened.set_record(b"\x02" * 20, b"an address is not a record key")
    with pytest.raises(ValueError):
        reopened.get_record(b"")
