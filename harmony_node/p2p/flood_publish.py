"""Gossipsub with flood publishing: a node's own messages go to every peer on the topic, not just its mesh.

go-libp2p-pubsub (which Harmony runs) floods a node's own messages by default (``WithFloodPublish``);
py-libp2p 0.8.1 sends them to the mesh only. Forwarded messages still follow the mesh either way.

Without it, consensus stalled at epoch boundaries. Committees are reshuffled every epoch, so a
validator leaves a shard's consensus topic and often rejoins it within a minute. Leaving sends
PRUNE with a 60 s backoff, during which neither side grafts the other again; a node that rejoins in
that window has an empty mesh, and gossipsub sends a subscriber's published messages to its mesh
peers only, so its proposals and votes reached nobody until the backoff ran out (15-45 s stalls on
a four-block-epoch localnet). With flooding, a vote reaches the leader as long as both are connected
and subscribed, whatever state the mesh is in.
"""

from __future__ import annotations

from collections.abc import Iterable

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, GossipSub

_GOSSIPSUB_PROTOCOLS = frozenset({PROTOCOL_ID, PROTOCOL_ID_V11})


class FloodPublishGossipSub(GossipSub):
    """``GossipSub`` that sends messages this node originates to every gossipsub peer on the topic."""

    def _get_peers_to_send(self, topic_ids: Iterable[str], msg_forwarder: ID, origin: ID,
                           msg_id: bytes | None = None) -> Iterable[ID]:
        topics = list(topic_ids)
        peers = set(super()._get_peers_to_send(topics, msg_forwarder, origin, msg_id))
        pubsub = self.pubsub
        if pubsub is not None and origin == pubsub.my_id:
            for topic in topics:
                peers.update(peer for peer in pubsub.peer_topics.get(topic, ())
                             if self.peer_protocol.get(peer) in _GOSSIPSUB_PROTOCOLS)
            peers.discard(origin)
        yield from peers
