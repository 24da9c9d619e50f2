"""Keeping a node connected to its bootnodes: redial with capped, jittered exponential backoff.

A bootnode that crashes and comes back (same key, same port) must be found again without anyone
restarting the rest of the network. libp2p does not redial on its own, and after a failed dial it
refuses to dial that peer again for 60 s ("negative cache"); we lift that block before each of our
own attempts, since our backoff already paces them.
"""

from __future__ import annotations

import logging
import random

import multiaddr
import trio
from libp2p.abc import IHost
from libp2p.exceptions import BaseLibp2pError
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr

logger = logging.getLogger(__name__)

DIAL_ERRORS = (BaseLibp2pError, OSError, trio.BrokenResourceError, trio.TooSlowError)


def is_connected(host: IHost, peer_id: ID) -> bool:
    return bool(host.get_network().connections.get(peer_id))


async def keep_connected(
    host: IHost,
    address: multiaddr.Multiaddr,
    *,
    initial_backoff: float,
    max_backoff: float,
    check_interval: float,
    dial_timeout: float,
) -> None:
    """Run until cancelled, dialing ``address`` whenever there is no connection to its peer."""
    info = info_from_p2p_addr(address)
    if info.peer_id == host.get_id():
        return  # a bootnode listing itself among the bootnodes
    backoff = initial_backoff
    was_connected = False
    while True:
        if is_connected(host, info.peer_id):
            backoff = initial_backoff
            was_connected = True
            await trio.sleep(check_interval)
            continue
        if was_connected:
            logger.info("lost bootnode %s; redialing", info.peer_id)
            was_connected = False
        _unblock(host, info.peer_id)
        try:
            with trio.fail_after(dial_timeout):
                await host.connect(info)
            logger.info("connected to bootnode %s", address)
            continue
        except DIAL_ERRORS as exc:
            logger.debug("dial %s failed: %s; next try in %.2f s", address, exc, backoff)
        # Jitter keeps a network of nodes that lost the same bootnode from redialing in lockstep.
        await trio.sleep(backoff * random.uniform(0.5, 1.0))
        backoff = min(backoff * 2, max_backoff)


def _unblock(host: IHost, peer_id: ID) -> None:
    unblock = getattr(host.get_network(), "unblock_peer", None)
    if unblock is not None:
        unblock(peer_id)
