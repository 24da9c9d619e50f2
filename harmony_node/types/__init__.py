"""Harmony wire types: transactions, staking transactions, header, block, receipts and their roots.

This package imports only ``crypto`` and ``harmony_node.exceptions``."""
