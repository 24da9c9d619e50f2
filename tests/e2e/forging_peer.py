"""A hostile block-sync peer in its own OS process, driven over stdin/stdout by tests/e2e/test_forged_sync.py.

Usage: forging_peer.py --key FILE [--port N] --genesis FILE --blocks FILE --secrets FILE [--mode KIND]

``--blocks`` holds a real sync answer (blocks 1, 2, ... of shard 0 with their certificates, as an
honest peer serves them) and ``--secrets`` the hex BLS secrets the forger holds, one per line. The
peer serves the shard-0 sync protocol of the genesis's network and answers every request with the
current forgery: a kind of ``forged_blocks.FORGERIES``, or ``silent`` (never answer) or
``oversized-frame`` (declare a frame over the 20 MiB limit). It also joins the shard's client topic,
where leaders announce committed blocks.

Prints ``READY <multiaddr>`` once listening, and ``SERVED <kind> <from> <count>`` for each request.
Commands on stdin, one per line: ``mode KIND`` -> ``MODE KIND``; ``gossip KIND`` publishes the
forgery as a block announcement on the client topic -> ``GOSSIPED <kind> <topic peers>``;
``status`` -> ``STATUS <peers> <topic peers>``; ``quit``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import trio
from libp2p.abc import INetStream
from libp2p.custom_types import TProtocol

from consensus.quorum import Committee
from forged_blocks import FORGERIES, Material
from harmony_node.chain.genesis import load_genesis
from harmony_node.node.service import get_network
from harmony_node.node.sync import decode_sync_request, decode_sync_response
from harmony_node.p2p.envelope import Envelope, MessageKind
from harmony_node.p2p.framing import MAX_FRAME_SIZE, PREFIX_SIZE, encode_frame, read_frame
from harmony_node.p2p.gossip import GossipMessage, GossipNode
from harmony_node.p2p.host import P2PConfig
from peer_script import read_commands, say
from harmony_node.p2p.topics import client_topic, sync_protocol_id

SILENT = "silent"
OVERSIZED_FRAME = "oversized-frame"
MODES = (*FORGERIES, SILENT, OVERSIZED_FRAME)

log = logging.getLogger("forging_peer")


class Forger:
    """The current mode and what it answers."""

    def __init__(self, material: Material, mode: str) -> None:
        self.material = material
        self.mode = mode

    async def serve(self, stream: INetStream) -> None:
        """Answer the requests on one stream until the requester closes or resets it."""
        try:
            while (request := await read_frame(stream)) is not None:
                from_number, count = decode_sync_request(request)
                mode = self.mode
                say(f"SERVED {mode} {from_number} {count}")
                if mode == SILENT:
                    await stream.read(1)  # returns (or raises) once the requester gives up on us
                    return
                if mode == OVERSIZED_FRAME:
                    await stream.write((MAX_FRAME_SIZE + 1).to_bytes(PREFIX_SIZE, "little"))
                    continue
                answer = FORGERIES[mode](self.material, from_number)
                await stream.write(encode_frame(answer, max_size=2 * MAX_FRAME_SIZE))
        except Exception as exc:  # the node resetting a stream it gave up on is the expected way out
            log.info("sync stream ended: %s: %s", type(exc).__name__, exc)


async def drain(messages: trio.MemoryReceiveChannel[GossipMessage]) -> None:
    async for _ in messages:
        pass


async def commands(node: GossipNode, forger: Forger, topic: str) -> None:
    async for words in read_commands():
        if words[0] == "mode" and words[1] in MODES:
            forger.mode = words[1]
            say(f"MODE {forger.mode}")
        elif words[0] == "gossip" and words[1] in FORGERIES:
            payload = FORGERIES[words[1]](forger.material, 1)
            await node.publish(topic, Envelope(MessageKind.BLOCK_SYNC, payload).encode())
            say(f"GOSSIPED {words[1]} {node.topic_peer_count(topic)}")
        elif words[0] == "status":
            say(f"STATUS {node.peer_count()} {node.topic_peer_count(topic)}")
        elif words[0] == "quit":
            return
        else:
            say(f"UNKNOWN {' '.join(words)}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--genesis", type=Path, required=True)
    parser.add_argument("--blocks", type=Path, required=True)
    parser.add_argument("--secrets", type=Path, required=True)
    parser.add_argument("--mode", choices=MODES, default="foreign-committee")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    genesis = load_genesis(args.genesis)
    committee = Committee.with_equal_power(genesis.get_committee_keys(0), shard_id=0, epoch=0)
    secrets = tuple(int(line, 16) for line in args.secrets.read_text().split())
    material = Material(genesis, decode_sync_response(args.blocks.read_bytes()), committee, secrets)
    forger = Forger(material, args.mode)
    network = get_network(genesis)
    topic = client_topic(network, 0)
    node = GossipNode(P2PConfig(port=args.port, key_file=args.key))
    async with node.run():
        # A raw stream handler, not GossipNode's request handler: that one refuses to write a frame
        # over the limit, and ``oversized-frame`` must.
        node._host.set_stream_handler(TProtocol(sync_protocol_id(network, 0)), forger.serve)
        messages = await node.subscribe(topic)
        say(f"READY {node.listen_addrs()[0]}")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain, messages)
            await commands(node, forger, topic)
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
