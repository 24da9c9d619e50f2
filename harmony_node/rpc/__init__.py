"""Harmony-compatible JSON-RPC: the HTTP/WebSocket server, the method namespaces and their JSON formats."""
