"""Command-line entry points: ``hmy-node`` (the node) and ``hmy`` (the client)."""
