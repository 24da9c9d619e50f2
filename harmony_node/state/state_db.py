"""The account database of one chain: accounts cached in memory over the secure state trie.

Reads go through a per-block account cache; writes stay in the cache until ``commit``, which
writes every changed account into the trie once, hashes the trie once, and adds the new trie
nodes to the caller's write batch. The caller writes that batch together with the block, so a
block and its state land on disk atomically or not at all.
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

    __slots__ = ("_trie", "_accounts", "_dirty")

    def __init__(
        self,
        store: KeyValueStore,
        root: bytes = BLANK_ROOT,
        node_cache: NodeCache | None = None,
    ) -> None:
        self._trie = SecureTrie(store, root, node_cache)
        self._accounts: dict[bytes, Account] = {}
        self._dirty: set[bytes] = set()

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
        return trie.commit(batch)

    @property
    def has_pending_changes(self) -> bool:
        return bool(self._dirty)
