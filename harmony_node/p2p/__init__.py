"""The node's peer-to-peer layer: Harmony topics and envelopes, gossipsub, and request/response streams.

This is the only package of harmony-node that imports libp2p (the wire modules ``topics`` and
``envelope`` do not, so pure code and tests can use them without paying libp2p's 0.6 s import).
"""
