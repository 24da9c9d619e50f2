"""GossipNode on real libp2p hosts inside one process: identity, validation, limits and request/response.

Each test runs its own ``trio.run`` (no pytest-trio here); hosts listen on 127.0.0.1 with free ports.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.pubsub.rpc_queue import RpcQueue

from harmony_node.exceptions import ValidationError
from harmony_node.p2p.errors import FrameError, P2PError, RequestFailed
from harmony_node.p2p.gossip import GossipMessage, GossipNode
from harmony_node.p2p.host import P2PConfig
from harmony_node.p2p.identity import load_or_create_identity

TOPIC = "hmy/local/0.0.1/node/shard/1"
PROTOCOL = "harmony/sync/localnet/1/1.0.0"

pytestmark = pytest.mark.timeout(60)


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        with trio.fail_after(45):
            await test()

    trio.run(bounded)


@asynccontextmanager
async def started(*configs: P2PConfig) -> AsyncIterator[list[GossipNode]]:
    async with AsyncExitStack() as stack:
        nodes = [GossipNode(config) for config in configs]
        for node in nodes:
            await stack.enter_async_context(node.run())
        yield nodes


async def wait_until(condition: Callable[[], bool]) -> None:
    while not condition():
        await trio.sleep(0.02)


# -- identity ----------------------------------------------------------------------------------------


def test_key_file_is_created_private_and_gives_a_stable_peer_id(tmp_path: Path) -> None:
    key_file = tmp_path / "sub" / ".hmykey"
    first = load_or_create_identity(key_file)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = load_or_create_identity(key_file)
    assert ID.from_pubkey(first.public_key) == ID.from_pubkey(second.public_key)
    assert sorted(p.name for p in key_file.parent.iterdir()) == [".hmykey"]  # no temporary left behind


def test_go_style_64_byte_key_reads_as_its_seed(tmp_path: Path) -> None:
    key_pair = create_new_key_pair()
    seed = key_pair.private_key.to_bytes()
    go_style = bytes([0x08, 0x01, 0x12, 64]) + seed + key_pair.public_key.to_bytes()  # KeyType=Ed25519, Data
    (tmp_path / "key").write_bytes(go_style)
    loaded = load_or_create_identity(tmp_path / "key")
    assert ID.from_pubkey(loaded.public_key) == ID.from_pubkey(key_pair.public_key)


@pytest.mark.parametrize("content", [b"", b"\xff\xff garbage", bytes([0x08, 0x02, 0x12, 3]) + b"abc"])
def test_bad_key_file_is_a_p2p_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "key").write_bytes(content)
    with pytest.raises(P2PError, match="p2p key file"):
        load_or_create_identity(tmp_path / "key")


def test_node_keeps_its_peer_id_across_restarts(tmp_path: Path) -> None:
    config = P2PConfig(key_file=tmp_path / "key")
    assert GossipNode(config).peer_id == GossipNode(config).peer_id


# -- configuration -------------------------------------------------------------------------------------


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValidationError):
        P2PConfig(degree=3, degree_low=4)
    with pytest.raises(ValidationError):
        P2PConfig(port=70000)
    with pytest.raises(ValidationError, match="/p2p/"):
        P2PConfig(bootnodes=("/ip4/127.0.0.1/tcp/9000",))


def test_message_seqnos_start_past_any_earlier_run() -> None:
    # libp2p starts at time() in seconds: a restart would reuse seqnos peers still hold as seen.
    node = GossipNode(P2PConfig())
    assert node._pubsub.counter > time.time() * 1e9 - 60e9


def test_libp2p_queues_are_raised_where_it_reads_them() -> None:
    GossipNode(P2PConfig(outbound_queue_size=5000))
    queue = RpcQueue()
    assert queue._queue.max_size >= 5000
    assert queue.max_message_size > 2 * 1024 * 1024


# -- gossip ----------------------------------------------------------------------------------------


def test_invalid_messages_are_dropped_counted_and_not_forwarded() -> None:
    async def scenario() -> None:
        async with started(P2PConfig()) as (origin,):
            async with started(P2PConfig(bootnodes=(origin.listen_addrs()[0],))) as (middle,):
                # The far node knows only the middle one: anything it gets came through the validator.
                async with started(P2PConfig(bootnodes=(middle.listen_addrs()[0],))) as (far,):
                    middle.set_topic_validator(TOPIC, lambda data: not data.startswith(b"bad"))
                    at_middle = await middle.subscribe(TOPIC)
                    at_far = await far.subscribe(TOPIC)
                    await origin.subscribe(TOPIC)
                    await wait_until(lambda: middle.mesh_peer_count(TOPIC) == 2 and far.mesh_peer_count(TOPIC) == 1)
                    assert not far.is_connected(origin.peer_id)

                    await origin.publish(TOPIC, b"bad one")
                    await origin.publish(TOPIC, b"good one")
                    got: GossipMessage = await at_far.receive()
                    assert (got.data, got.origin) == (b"good one", origin.peer_id)
                    assert (await at_middle.receive()).data == b"good one"
                    await wait_until(lambda: middle.invalid_count(TOPIC) == 1)
                    with pytest.raises(trio.WouldBlock):
                        at_far.receive_nowait()

    run(scenario)


def test_a_raising_validator_drops_the_message() -> None:
    async def scenario() -> None:
        async with started(P2PConfig()) as (sender,):
            async with started(P2PConfig(bootnodes=(sender.listen_addrs()[0],))) as (receiver,):

                def picky(data: bytes) -> bool:
                    if data == b"boom":
                        raise RuntimeError("validator bug")
                    return True

                receiver.set_topic_validator(TOPIC, picky)
                inbox = await receiver.subscribe(TOPIC)
                await sender.subscribe(TOPIC)
                await wait_until(lambda: sender.mesh_peer_count(TOPIC) == 1)
                await sender.publish(TOPIC, b"boom")
                await sender.publish(TOPIC, b"fine")
                assert (await inbox.receive()).data == b"fine"
                assert receiver.invalid_count(TOPIC) == 1

    run(scenario)


def test_publish_refuses_oversize_and_self_invalid_messages() -> None:
    async def scenario() -> None:
        async with started(P2PConfig(max_message_size=100)) as (node,):
            with pytest.raises(ValidationError, match="exceeds the 100-byte limit"):
                await node.publish(TOPIC, bytes(101))
            node.set_topic_validator(TOPIC, lambda data: data != b"bad")
            with pytest.raises(ValidationError, match="validator rejects"):
                await node.publish(TOPIC, b"bad")

    run(scenario)


def test_burst_in_one_process_arrives_whole_and_in_order() -> None:
    async def scenario() -> None:
        async with started(P2PConfig()) as (sender,):
            async with started(P2PConfig(bootnodes=(sender.listen_addrs()[0],))) as (receiver,):
                inbox = await receiver.subscribe(TOPIC)
                await sender.subscribe(TOPIC)
                await wait_until(lambda: sender.mesh_peer_count(TOPIC) == 1)
                for seq in range(300):  # ten times libp2p's default queue and subscription buffer
                    await sender.publish(TOPIC, seq.to_bytes(4, "big") + bytes(196))
                received = [int.from_bytes((await inbox.receive()).data[:4], "big") for _ in range(300)]
                assert sorted(received) == list(range(300))

    run(scenario)


def test_node_must_be_running() -> None:
    async def scenario() -> None:
        node = GossipNode(P2PConfig())
        with pytest.raises(P2PError, match="not running"):
            await node.subscribe(TOPIC)

    run(scenario)


# -- request / response ----------------------------------------------------------------------------


def test_request_response_round_trips_and_reuses_streams() -> None:
    async def scenario() -> None:
        async with started(P2PConfig(), P2PConfig()) as (server, client):
            seen: list[str] = []

            async def echo(peer: str, request: bytes) -> bytes:
                seen.append(peer)
                return request[::-1]

            server.set_request_handler(PROTOCOL, echo)
            await client.connect(server.listen_addrs()[0])
            for index in range(20):
                payload = index.to_bytes(2, "big") + b"block please"
                assert await client.request(server.peer_id, PROTOCOL, payload, timeout=5) == payload[::-1]
            assert seen == [client.peer_id] * 20
            # Several at once each get their own answer on their own stream.
            results: dict[int, bytes] = {}

            async def one(index: int) -> None:
                results[index] = await client.request(server.peer_id, PROTOCOL, bytes([index]), timeout=5)

            async with trio.open_nursery() as nursery:
                for index in range(8):
                    nursery.start_soon(one, index)
            assert results == {index: bytes([index]) for index in range(8)}
            big = os.urandom(5 * 1024 * 1024)
            assert await client.request(server.peer_id, PROTOCOL, big, timeout=20) == big[::-1]

    run(scenario)


def test_request_failures_are_clear() -> None:
    async def scenario() -> None:
        small = P2PConfig(max_frame_size=1024 * 1024)
        async with started(P2PConfig(), small) as (server, client):

            async def handler(peer: str, request: bytes) -> bytes:
                if request == b"refuse":
                    raise ValidationError("no such block")
                if request == b"stall":
                    await trio.sleep_forever()
                if request == b"huge":
                    return bytes(2 * 1024 * 1024)
                return b"ok"

            server.set_request_handler(PROTOCOL, handler)
            await client.connect(server.listen_addrs()[0])
            with pytest.raises(RequestFailed, match="timed out after 0.5 s"):
                await client.request(server.peer_id, PROTOCOL, b"stall", timeout=0.5)
            with trio.fail_after(3):  # a refusal resets the stream: no waiting out the timeout
                with pytest.raises(RequestFailed, match="failed"):
                    await client.request(server.peer_id, PROTOCOL, b"refuse", timeout=30)
            assert await client.request(server.peer_id, PROTOCOL, b"again", timeout=5) == b"ok"
            # A response over our limit is refused from its length prefix, without reading the body.
            with pytest.raises(RequestFailed, match="over the 1048576-byte limit"):
                await client.request(server.peer_id, PROTOCOL, b"huge", timeout=5)
            with pytest.raises(RequestFailed, match="cannot open"):
                await client.request(server.peer_id, "harmony/nothing/localnet/0/1.0.0", b"x", timeout=5)
            with pytest.raises(P2PError, match="not a peer id"):
                await client.request("not-a-peer", PROTOCOL, b"x", timeout=5)
            with pytest.raises(FrameError, match="request of 1048577 bytes exceeds the 1048576-byte limit"):
                await client.request(server.peer_id, PROTOCOL, bytes(1024 * 1024 + 1), timeout=5)

    run(scenario)


def test_unsubscribe_ends_the_channel_and_stops_delivery() -> None:
    async def scenario() -> None:
        async with started(P2PConfig()) as (publisher,):
            async with started(P2PConfig(bootnodes=(publisher.listen_addrs()[0],))) as (reader,):
                channel = await reader.subscribe(TOPIC)
                await publisher.subscribe(TOPIC)
                await wait_until(lambda: publisher.topic_peer_count(TOPIC) == 1)
                await publisher.publish(TOPIC, b"first")
                assert (await channel.receive()).data == b"first"
                await reader.unsubscribe(TOPIC)
                with pytest.raises(trio.EndOfChannel):
                    await channel.receive()
                await wait_until(lambda: publisher.topic_peer_count(TOPIC) == 0)
                again = await reader.subscribe(TOPIC)  # and a topic can be joined again
                await wait_until(lambda: publisher.mesh_peer_count(TOPIC) == 1)  # regrafted at a heartbeat
                await publisher.publish(TOPIC, b"second")
                assert (await again.receive()).data == b"second"

    run(scenario)


def test_own_messages_reach_topic_peers_outside_the_mesh() -> None:
    """A validator back on a consensus topic it left moments ago has no mesh until the prune backoff
    ends (committees reshuffle every epoch); what it publishes must reach the leader all the same."""
    async def scenario() -> None:
        async with started(P2PConfig()) as (leader,):
            async with started(P2PConfig(bootnodes=(leader.listen_addrs()[0],))) as (voter,):
                at_leader = await leader.subscribe(TOPIC)
                await voter.subscribe(TOPIC)
                await wait_until(lambda: voter.mesh_peer_count(TOPIC) == 1)
                await voter.unsubscribe(TOPIC)
                await wait_until(lambda: leader.topic_peer_count(TOPIC) == 0)
                await voter.subscribe(TOPIC)
                await wait_until(lambda: leader.topic_peer_count(TOPIC) == 1)
                assert voter.mesh_peer_count(TOPIC) == 0, "the backoff keeps the mesh empty"
                await voter.publish(TOPIC, b"vote")
                with trio.fail_after(5):
                    assert (await at_leader.receive()).data == b"vote"

    run(scenario)


def test_a_peer_over_its_rate_is_cut_off_and_others_still_get_through() -> None:
    async def scenario() -> None:
        async with started(P2PConfig(peer_messages_per_s=5, peer_message_burst=20)) as (node,):
            node.set_topic_validator(TOPIC, lambda data: True)
            async with started(P2PConfig(bootnodes=(node.listen_addrs()[0],)),
                               P2PConfig(bootnodes=(node.listen_addrs()[0],))) as (flooder, honest):
                at_node = await node.subscribe(TOPIC)
                for peer in (flooder, honest):
                    await peer.subscribe(TOPIC)
                await wait_until(lambda: node.topic_peer_count(TOPIC) == 2)
                for index in range(200):
                    await flooder.publish(TOPIC, b"flood %d" % index)
                await wait_until(lambda: node.rate_limited_count() >= 150)
                await honest.publish(TOPIC, b"honest")
                got = []
                with trio.fail_after(10):
                    while b"honest" not in got:
                        got.append((await at_node.receive()).data)
                    # The honest message may overtake the flood's tail: each flood message ends up
                    # delivered or dropped, whichever its turn brings.
                    while sum(data.startswith(b"flood") for data in got) + node.rate_limited_count() < 200:
                        try:
                            got.append(at_node.receive_nowait().data)
                        except trio.WouldBlock:
                            await trio.sleep(0.02)
                flood = [data for data in got if data.startswith(b"flood")]
                assert 20 <= len(flood) <= 40, len(flood)  # the burst, plus what the rate refilled meanwhile
                assert node.rate_limited_count() == 200 - len(flood)

    run(scenario)
