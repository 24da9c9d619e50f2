"""Topic names and sync protocol ids must match Harmony's byte for byte, or peers never meet."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.exceptions import ValidationError
from harmony_node.p2p.topics import Network, client_topic, node_topic, sync_protocol_id


def test_localnet_topics() -> None:
    assert node_topic(Network.LOCALNET, 0) == "hmy/local/0.0.1/node/beacon"
    assert node_topic(Network.LOCALNET, 2) == "hmy/local/0.0.1/node/shard/2"
    assert client_topic(Network.LOCALNET, 0) == "hmy/local/0.0.1/client/beacon"
    assert client_topic(Network.LOCALNET, 1) == "hmy/local/0.0.1/client/shard/1"


def test_prefixes_per_network() -> None:
    assert node_topic(Network.MAINNET, 0) == "harmony/0.0.1/node/beacon"
    assert node_topic(Network.TESTNET, 3) == "hmy/testnet/0.0.1/node/shard/3"


def test_sync_protocol_ids() -> None:
    assert sync_protocol_id(Network.MAINNET, 0) == "harmony/sync/mainnet/0/1.0.0"
    assert sync_protocol_id(Network.LOCALNET, 2) == "harmony/sync/localnet/2/1.0.0"
    assert sync_protocol_id(Network.TESTNET, 1, service="epochsync") == "harmony/epochsync/testnet/1/1.0.0"


@pytest.mark.parametrize("shard", [-1, 2**32, True, 1.0, "1"])
def test_bad_shard_ids_are_rejected(shard: object) -> None:
    for make in (node_topic, client_topic, sync_protocol_id):
        with pytest.raises(ValidationError):
            make(Network.LOCALNET, shard)  # type: ignore[arg-type]


def test_bad_service_is_rejected() -> None:
    with pytest.raises(ValidationError):
        sync_protocol_id(Network.LOCALNET, 0, service="a/b")


@given(st.sampled_from(list(Network)), st.integers(min_value=1, max_value=2**32 - 1))
def test_shard_topics_name_their_shard_and_differ_from_beacon(network: Network, shard: int) -> None:
    topic = node_topic(network, shard)
    assert topic.startswith(network.prefix + "/0.0.1/node/shard/")
    assert int(topic.rsplit("/", 1)[1]) == shard
    assert topic != node_topic(network, 0)
    assert client_topic(network, shard) != topic
