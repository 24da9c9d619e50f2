"""The per-message shortcuts taken around py-libp2p: work skipped only while its result cannot differ."""

from __future__ import annotations

from dataclasses import dataclass

import libp2p.pubsub.gossipsub as gossipsub_module
import libp2p.pubsub.pubsub as pubsub_module
import pytest
import trio
from libp2p.abc import INetStream
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11
from libp2p.pubsub.pb.rpc_pb2 import RPC
from libp2p.stream_muxer.yamux.yamux import YamuxStream
from libp2p.utils.varint import encode_varint_prefixed

from harmony_node.p2p import libp2p_tuning
from harmony_node.p2p.host import P2PConfig
from harmony_node.p2p.libp2p_tuning import (
    VERIFIED_RECORD_TTL_S,
    _cache_record_verification,
    _reuse_sender_record,
    cut_per_message_costs,
)
from test_gossip_node import TOPIC, run, started, wait_until

PEER = ID.from_pubkey(create_new_key_pair().public_key)
OTHER = ID.from_pubkey(create_new_key_pair().public_key)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(libp2p_tuning.time, "monotonic", fake)
    return fake


def _rpc(record: bytes | None) -> RPC:
    message = RPC()
    if record is not None:
        message.senderRecord = record
    return message


def test_an_unchanged_record_is_verified_once_until_it_expires(clock: Clock) -> None:
    calls: list[tuple[bytes, ID]] = []

    def verify(message: RPC, host: object, peer_id: ID) -> bool:
        calls.append((message.senderRecord, peer_id))
        return message.senderRecord.startswith(b"good")

    consume = _cache_record_verification(verify)
    assert consume(_rpc(b"good 1"), None, PEER) and consume(_rpc(b"good 1"), None, PEER)  # type: ignore[arg-type]
    assert calls == [(b"good 1", PEER)]
    assert consume(_rpc(b"good 1"), None, OTHER)  # type: ignore[arg-type]
    assert consume(_rpc(b"good 2"), None, PEER)  # type: ignore[arg-type]
    assert len(calls) == 3, "another peer or other bytes are verified"
    for _ in range(2):  # a bad record is refused every time: a refusal is never remembered
        assert not consume(_rpc(b"bad"), None, PEER)  # type: ignore[arg-type]
    assert len(calls) == 5
    assert consume(_rpc(None), None, PEER) and len(calls) == 5  # type: ignore[arg-type]
    clock.now += VERIFIED_RECORD_TTL_S + 1
    assert consume(_rpc(b"good 1"), None, PEER) and len(calls) == 6, "re-verified (and re-consumed) later"  # type: ignore[arg-type]


@dataclass
class FakeHost:
    peer_id: ID

    def get_id(self) -> ID:
        return self.peer_id


def test_the_sent_record_is_rebuilt_only_after_a_while(clock: Clock) -> None:
    built: list[ID] = []

    def build(host: FakeHost) -> tuple[bytes, bool]:
        built.append(host.get_id())
        return b"record of " + host.get_id().to_bytes() + bytes([len(built)]), True

    reuse = _reuse_sender_record(build)  # type: ignore[arg-type]
    host, other = FakeHost(PEER), FakeHost(OTHER)
    first = reuse(host)  # type: ignore[arg-type]
    assert reuse(host) == (first[0], False) and len(built) == 1  # type: ignore[arg-type]
    assert reuse(other)[0] != first[0], "each host sends its own record"  # type: ignore[arg-type]
    clock.now += libp2p_tuning.SENDER_RECORD_REUSE_S + 1
    assert reuse(host)[0] != first[0] and built == [PEER, OTHER, PEER]  # type: ignore[arg-type]


def test_tuning_is_installed_once_where_libp2p_calls_it() -> None:
    cut_per_message_costs()
    cut_per_message_costs()
    assert pubsub_module.maybe_consume_signed_record is gossipsub_module.maybe_consume_signed_record
    assert getattr(pubsub_module.maybe_consume_signed_record, "_harmony_cached", False)
    assert pubsub_module.env_to_send_in_RPC is gossipsub_module.env_to_send_in_RPC
    assert YamuxStream._auto_tune_and_send_window_update is libp2p_tuning._send_window_update_like_go


# -- stream integrity, on real hosts -------------------------------------------------------------------

RAW_PROTOCOL = TProtocol("/harmony-test/raw/1.0.0")


def test_concurrent_writes_to_one_stream_arrive_whole() -> None:
    """Two messages larger than the initial 256 KiB send window, written at once on one stream,
    arrive one after the other, never with their frames interleaved."""
    size = 1024 * 1024

    async def scenario() -> None:
        async with started(P2PConfig(), P2PConfig()) as (server, client):
            received = bytearray()
            done = trio.Event()

            async def read_all(stream: INetStream) -> None:
                while len(received) < 2 * size:
                    received.extend(await stream.read(64 * 1024))
                done.set()

            server._host.set_stream_handler(RAW_PROTOCOL, read_all)
            await client.connect(server.listen_addrs()[0])
            stream = await client._host.new_stream(ID.from_base58(server.peer_id), [RAW_PROTOCOL])
            async with trio.open_nursery() as nursery:
                nursery.start_soon(stream.write, b"a" * size)
                nursery.start_soon(stream.write, b"b" * size)
            await done.wait()
            assert bytes(received) in (b"a" * size + b"b" * size, b"b" * size + b"a" * size)

    run(scenario)


def test_a_peer_sending_undecodable_pubsub_data_is_dropped_and_the_node_lives_on() -> None:
    async def scenario() -> None:
        async with started(P2PConfig(), P2PConfig(), P2PConfig()) as (node, honest, liar):
            at_node = await node.subscribe(TOPIC)
            await honest.connect(node.listen_addrs()[0])
            await liar.connect(node.listen_addrs()[0])
            await honest.subscribe(TOPIC)
            await wait_until(lambda: node.topic_peer_count(TOPIC) == 1)
            garbage = await liar._host.new_stream(ID.from_base58(node.peer_id), [PROTOCOL_ID_V11])
            await garbage.write(encode_varint_prefixed(b"\xff\xff\xff\xff not protobuf"))
            await wait_until(lambda: not node.is_connected(liar.peer_id))
            await honest.publish(TOPIC, b"still here")
            with trio.fail_after(10):
                assert (await at_node.receive()).data == b"still here"

    run(scenario)
