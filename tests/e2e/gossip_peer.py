"""One gossip node in its own OS process, driven over stdin/stdout by tests/e2e/test_gossip_burst.py.

Usage: gossip_peer.py --key FILE [--port N] [--bootnode MULTIADDR ...] --topic TOPIC --expect N

Prints ``READY <multiaddr>`` once listening and subscribed. Commands on stdin, one per line:
``status`` -> ``STATUS <peers> <topic peers> <mesh peers> <invalid>``; ``burst N SIZE`` publishes N
messages of about SIZE bytes -> ``PUBLISHED <n> <start wall time> <end wall time>``; ``flood N SIZE``
writes N signed messages straight to every connected peer, 100 per pubsub RPC on a stream of its own
(what a hostile peer can do; libp2p's publish path manages ~1,300/s) -> ``FLOODED <n> <start> <end>``;
``publish TEXT``
publishes one tagged message; ``rtt PEER_ID N`` sends N 64-byte echo requests -> ``RTT <first ms>
<median ms> <p99 ms>``. Received burst messages are counted (``BURST_DONE <n> <first> <last>``
when all N arrived, wall-clock times); tagged ones are echoed as ``TAG <text> <wall time>``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import trio

from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.validators import PUBSUB_SIGNING_PREFIX
from libp2p.utils.varint import encode_varint_prefixed

from harmony_node.exceptions import DecodingError
from harmony_node.p2p.envelope import decode_envelope, pack_transactions, unpack_batch
from harmony_node.p2p.gossip import GossipMessage, GossipNode
from harmony_node.p2p.host import P2PConfig
from peer_script import read_commands, say


ECHO_PROTOCOL = "harmony/sync/localnet/0/1.0.0"


async def echo(peer: str, request: bytes) -> bytes:
    return request


def valid(data: bytes) -> bool:
    try:
        unpack_batch(decode_envelope(data))
    except DecodingError:
        return False
    return True


async def receive(messages: trio.MemoryReceiveChannel[GossipMessage], expect: int) -> None:
    seen: set[int] = set()
    first = 0.0
    async for message in messages:
        (item,) = unpack_batch(decode_envelope(message.data))
        now = time.time()
        if item.startswith(b"burst:"):
            seq = int(item.split(b":")[1])
            if not seen:
                first = now
            seen.add(seq)
            if len(seen) == expect:
                say(f"BURST_DONE {len(seen)} {first:.6f} {now:.6f}")
        elif item.startswith(b"tag:"):
            say(f"TAG {item[4:].decode()} {now:.6f}")


FLOOD_BATCH = 100


def build_flood(node: GossipNode, topic: str, count: int, size: int) -> list[bytes]:
    """``count`` messages signed as libp2p signs them, packed ``FLOOD_BATCH`` to a length-prefixed RPC."""
    pubsub = node._pubsub
    key = pubsub.sign_key
    assert key is not None
    public = pubsub.host.get_public_key().serialize()
    rpcs = []
    for first in range(0, count, FLOOD_BATCH):
        batch = []
        for seq in range(first, min(count, first + FLOOD_BATCH)):
            data = pack_transactions([f"flood:{seq}:".encode().ljust(size - 10, b"x")]).encode()
            message = rpc_pb2.Message(data=data, topicIDs=[topic], from_id=pubsub.my_id.to_bytes(),
                                      seqno=pubsub._next_seqno())
            message.signature = key.sign(PUBSUB_SIGNING_PREFIX.encode() + message.SerializeToString())
            message.key = public
            batch.append(message)
        rpcs.append(encode_varint_prefixed(rpc_pb2.RPC(publish=batch).SerializeToString()))
    return rpcs


async def flood(node: GossipNode, rpcs: list[bytes]) -> None:
    async def flood_one(peer: object) -> None:
        try:
            stream = await node._host.new_stream(peer, [PROTOCOL_ID_V11])  # type: ignore[arg-type]
            for rpc in rpcs:
                await stream.write(rpc)
        except Exception as exc:  # the target may throttle us until our writes time out: that is its defence
            say(f"FLOOD_STOPPED {peer} {type(exc).__name__}")

    async with trio.open_nursery() as nursery:
        for peer in node._host.get_connected_peers():
            nursery.start_soon(flood_one, peer)


async def commands(node: GossipNode, topic: str) -> None:
    async for words in read_commands():
        if words[0] == "status":
            say(
                f"STATUS {node.peer_count()} {node.topic_peer_count(topic)} "
                f"{node.mesh_peer_count(topic)} {node.invalid_count(topic)}"
            )
        elif words[0] == "burst":
            count, size = int(words[1]), int(words[2])
            start = time.time()
            for seq in range(count):
                item = f"burst:{seq}:".encode()
                await node.publish(topic, pack_transactions([item.ljust(size - 10, b"x")]).encode())
            say(f"PUBLISHED {count} {start:.6f} {time.time():.6f}")
        elif words[0] == "flood":
            count, size = int(words[1]), int(words[2])
            rpcs = build_flood(node, topic, count, size)
            start = time.time()
            await flood(node, rpcs)
            say(f"FLOODED {count} {start:.6f} {time.time():.6f}")
        elif words[0] == "publish":
            await node.publish(topic, pack_transactions([b"tag:" + words[1].encode()]).encode())
        elif words[0] == "rtt":
            peer, count = words[1], int(words[2])
            times = []
            for _ in range(count):
                start_rtt = time.perf_counter()
                response = await node.request(peer, ECHO_PROTOCOL, bytes(64), timeout=10)
                times.append((time.perf_counter() - start_rtt) * 1000)
                assert response == bytes(64)
            ordered = sorted(times)
            say(f"RTT {times[0]:.3f} {ordered[len(ordered) // 2]:.3f} {ordered[int(len(ordered) * 0.99)]:.3f}")
        elif words[0] == "quit":
            return


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bootnode", action="append", default=[])
    parser.add_argument("--topic", required=True)
    parser.add_argument("--expect", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    node = GossipNode(P2PConfig(port=args.port, key_file=args.key, bootnodes=tuple(args.bootnode)))
    async with node.run():
        node.set_topic_validator(args.topic, valid)
        node.set_request_handler(ECHO_PROTOCOL, echo)
        messages = await node.subscribe(args.topic)
        say(f"READY {node.listen_addrs()[0]}")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive, messages, args.expect)
            await commands(node, args.topic)
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
