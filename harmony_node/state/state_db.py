"""The account database of one chain: accounts cached in memory over the secure state trie.

Reads go through a per-block account cache; writes stay in the cache until ``commit``, which
writes every changed account into the trie once, hashes the trie once, and adds the new trie
nodes to the caller's write batch. The caller writes that batch together with the block, so a
block and its state land on disk atomically or not at all.

Besides accounts, the trie holds *records*: protocol state that is not an account (the beacon's
validators, delegations, supply counters). A record's key is never 20 bytes long, so its trie path
(keccak of the key) cannot be an account's, and the state root commits to records and accounts
alike: every node that agrees on the root agrees on the staking state too.
"""

from __future__ import annotations

from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.state.account import (
    BLANK_ROOT,
    EMPTY_ACCOUNT,
    Account,
    decode_account,
    encode_account,
)
from harmony_node.state.trie import NodeCache, SecureTrie


class StateDB:
    """Accounts at one state root, with pending changes kept in memory until ``commit``.

    To discard pending changes (a block that failed validation), drop the object and open a new
    one at the parent's root; the shared ``node_cache`` makes that cheap.
    """

    __slots__ = ("_trie", "_accounts", "_dirty", "_records", "_dirty_records")

    def __init__(
        self,
        store: KeyValueStore,
        root: bytes = BLANK_ROOT,
        node_cache: NodeCache | None = None,
    ) -> None:
        self._trie = SecureTrie(store, root, node_cache)
        self._accounts: dict[bytes, Account] = {}
        self._dirty: set[bytes] = set()
        self._records: dict[bytes, bytes | None] = {}
        self._dirty_records: set[bytes] = set()

    def get_record(self, key: bytes) -> bytes | None:
        """The record stored under ``key`` (never a 20-byte key: those are accounts), or None."""
        _validate_record_key(key)
        if key not in self._records:
            self._records[key] = self._trie.get(key)
        return self._records[key]

    def set_record(self, key: bytes, value: bytes | None) -> None:
        """Store (or with None, delete) a record; kept in memory until ``commit``."""
        _validate_record_key(key)
        if value == b"":
            raise ValueError("an empty record is stored as None (deleted)")
        self._records[key] = value
        self._dirty_records.add(key)

    def get_account(self, address: bytes) -> Account:
        """The account at ``address``; an absent account reads as empty."""
        account = self._accounts.get(address)
        if account is None:
            encoded = self._trie.get(address)
            account = EMPTY_ACCOUNT if encoded is None else decode_account(encoded)
            self._accounts[address] = account
        return account

    def get_balance(self, address: bytes) -> int:
        return self.get_account(address).balance

    def get_nonce(self, address: bytes) -> int:
        return self.get_account(address).nonce

    def set_account(self, address: bytes, account: Account) -> None:
        """Replace the account at ``address`` (kept in memory until ``commit``)."""
        self._accounts[address] = account
        self._dirty.add(address)

    def commit(self, batch: WriteBatch) -> bytes:
        """Write pending accounts into the trie, add new trie nodes to ``batch``, return the root.

        Accounts left empty are removed from the trie (EIP-161), so a zero-value transfer to a
        fresh address does not grow the state.
        """
        trie = self._trie
        for address in self._dirty:
            account = self._accounts[address]
            if account.is_empty():
                trie.delete(address)
            else:
                trie.set(address, encode_account(account))
        self._dirty.clear()
        for key in self._dirty_records:
            value = self._records[key]
            if value is None:
                trie.delete(key)
            else:
                trie.set(key, value)
        self._dirty_records.clear()
        return trie.commit(batch)

    @property
    def has_pending_changes(self) -> bool:
        return bool(self._dirty or self._dirty_records)


def _validate_record_key(key: bytes) -> None:
    if len(key) == 20 or not key:
        raise ValueError("record keys are never empty or 20 bytes long (that is an account address)")
