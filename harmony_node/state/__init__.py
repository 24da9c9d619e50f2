"""Account state: the secure Merkle-Patricia trie and the account database over it."""
