"""Sharding rules: epochs, VRF epoch randomness, committee assignment, cross-shard receipts and crosslinks."""
