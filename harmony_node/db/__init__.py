"""Key-value storage: the store interface, an in-memory store for tests and LevelDB through plyvel."""
