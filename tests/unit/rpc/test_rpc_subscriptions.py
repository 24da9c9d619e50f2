"""Subscriptions hub and the *_subscribe / *_unsubscribe methods, against a fake connection.

The WebSocket side (real sockets, slow consumers) is in test_rpc_server.py.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
import trio

from harmony_node.rpc.dispatch import CallContext, Dispatcher
from harmony_node.rpc.subscriptions import Subscriptions, register_subscription_methods

SUBSCRIPTION_ID = re.compile(r"^0x[1-9a-f][0-9a-f]{0,31}$|^0x0$")


class FakeConnection:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    def push(self, message: bytes) -> None:
        self.messages.append(json.loads(message))


def _setup() -> tuple[Dispatcher, Subscriptions]:
    dispatcher = Dispatcher()
    subscriptions = Subscriptions()
    register_subscription_methods(dispatcher, subscriptions)
    return dispatcher, subscriptions


def _call(dispatcher: Dispatcher, method: str, params: list[Any], connection: FakeConnection | None) -> Any:
    context = CallContext(client="127.0.0.1", transport="ws" if connection else "http", connection=connection)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()

    async def main() -> bytes | None:
        return await dispatcher.handle_body(body, context)

    answer = trio.run(main)
    assert answer is not None
    return json.loads(answer)


def test_subscribe_publish_unsubscribe() -> None:
    dispatcher, subscriptions = _setup()
    connection = FakeConnection()
    eth_id = _call(dispatcher, "eth_subscribe", ["newHeads"], connection)["result"]
    hmy_id = _call(dispatcher, "hmy_subscribe", ["newPendingTransactions"], connection)["result"]
    assert SUBSCRIPTION_ID.match(eth_id) and SUBSCRIPTION_ID.match(hmy_id) and eth_id != hmy_id
    assert subscriptions.get_subscription_count() == 2 and subscriptions.get_subscription_count("newHeads") == 1

    subscriptions.publish("newHeads", {"number": "0x1"})
    subscriptions.publish("newPendingTransactions", "0xabc")
    subscriptions.publish("logs", [])  # nobody subscribed: nothing happens
    assert connection.messages == [
        {"jsonrpc": "2.0", "method": "eth_subscription",
         "params": {"subscription": eth_id, "result": {"number": "0x1"}}},
        {"jsonrpc": "2.0", "method": "hmy_subscription", "params": {"subscription": hmy_id, "result": "0xabc"}},
    ]

    assert _call(dispatcher, "eth_unsubscribe", [eth_id], connection)["result"] is True
    assert _call(dispatcher, "eth_unsubscribe", [eth_id], connection)["error"] == {
        "code": -32000, "message": "subscription not found"}
    subscriptions.publish("newHeads", {"number": "0x2"})
    assert len(connection.messages) == 2
    assert subscriptions.get_subscription_count() == 1


def test_only_the_owning_connection_can_unsubscribe() -> None:
    dispatcher, subscriptions = _setup()
    owner, other = FakeConnection(), FakeConnection()
    subscription_id = _call(dispatcher, "hmy_subscribe", ["newHeads"], owner)["result"]
    assert _call(dispatcher, "hmy_unsubscribe", [subscription_id], other)["error"]["code"] == -32000
    assert _call(dispatcher, "hmy_unsubscribe", [subscription_id], None)["error"]["code"] == -32000
    assert subscriptions.get_subscription_count() == 1


def test_closed_connections_lose_their_subscriptions() -> None:
    dispatcher, subscriptions = _setup()
    gone, staying = FakeConnection(), FakeConnection()
    for kind in ("newHeads", "newPendingTransactions"):
        _call(dispatcher, "eth_subscribe", [kind], gone)
    _call(dispatcher, "eth_subscribe", ["newHeads"], staying)
    subscriptions.remove_connection(gone)
    assert subscriptions.get_subscription_count() == 1
    subscriptions.publish("newHeads", 1)
    assert not gone.messages and len(staying.messages) == 1


def test_subscribing_over_http_is_refused_as_geth_does() -> None:
    dispatcher, _ = _setup()
    assert _call(dispatcher, "eth_subscribe", ["newHeads"], None)["error"] == {
        "code": -32000, "message": "notifications not supported"}


@pytest.mark.parametrize("params", [[], ["logs"], [5], ["newHeads", True]])
def test_bad_subscribe_params(params: list[Any]) -> None:
    dispatcher, subscriptions = _setup()
    assert _call(dispatcher, "eth_subscribe", params, FakeConnection())["error"]["code"] == -32602
    assert subscriptions.get_subscription_count() == 0


def test_kinds_are_configurable() -> None:
    dispatcher, subscriptions = Dispatcher(), Subscriptions()
    register_subscription_methods(dispatcher, subscriptions, kinds=("logs",))
    connection = FakeConnection()
    assert "result" in _call(dispatcher, "eth_subscribe", ["logs"], connection)
    assert _call(dispatcher, "eth_subscribe", ["newHeads"], connection)["error"]["code"] == -32602


def test_unsubscribe_needs_one_string_id() -> None:
    dispatcher, _ = _setup()
    for params in ([], [1], ["0x1", "0x2"]):
        assert _call(dispatcher, "eth_unsubscribe", params, FakeConnection())["error"]["code"] == -32602


def test_publish_never_raises_on_a_bad_result(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher, subscriptions = _setup()
    connection = FakeConnection()
    _call(dispatcher, "eth_subscribe", ["newHeads"], connection)
    with caplog.at_level(logging.ERROR, logger="harmony_node.rpc.subscriptions"):
        subscriptions.publish("newHeads", float("nan"))
        subscriptions.publish("newHeads", object())
    assert not connection.messages and len(caplog.records) == 2


def test_a_push_that_drops_its_client_does_not_disturb_the_fan_out() -> None:
    _, subscriptions = _setup()
    received = FakeConnection()

    class Dropping:
        def push(self, message: bytes) -> None:
            subscriptions.remove_connection(self)  # what the server does once it drops a slow client

    subscriptions.subscribe(Dropping(), "newHeads", "eth_subscription")
    subscriptions.subscribe(received, "newHeads", "eth_subscription")
    subscriptions.publish("newHeads", 1)
    assert len(received.messages) == 1 and subscriptions.get_subscription_count() == 1
