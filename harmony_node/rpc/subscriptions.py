"""Push subscriptions: ``eth_subscribe`` / ``hmy_subscribe`` and the notifications they bring.

Node code calls ``Subscriptions.publish(kind, result)`` on the trio thread when a block commits or a
transaction enters the pool. ``publish`` is synchronous and never waits: it encodes the result once
and queues one notification per subscriber on that subscriber's WebSocket connection, whose bounded
queue drops a client that does not keep up (so a stalled reader costs bounded memory and never
slows the chain). Wire format and ids follow geth, which Harmony's RPC is::

    {"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x9cef...","result":...}}

(``hmy_subscription`` for subscriptions made with ``hmy_subscribe``). Subscriptions belong to the
connection that made them: only it can cancel them, and the server removes them when it closes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harmony_node.rpc.dispatch import CallContext, Connection, Dispatcher, Handler, encode_json
from harmony_node.rpc.errors import InvalidParams, ServerError

DEFAULT_KINDS = ("newHeads", "newPendingTransactions")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Subscription:
    """One client's standing request for one kind of event."""

    subscription_id: str
    kind: str
    """What is published to it: ``newHeads``, ``newPendingTransactions``..."""
    notification_method: str
    """``eth_subscription`` or ``hmy_subscription``, after the namespace it was made in."""
    connection: Connection


class Subscriptions:
    """Who is subscribed to what; ``publish`` fans a result out to them."""

    def __init__(self) -> None:
        self._by_id: dict[str, Subscription] = {}
        self._by_kind: dict[str, dict[str, Subscription]] = {}

    def subscribe(self, connection: Connection, kind: str, notification_method: str) -> str:
        """Start sending ``kind`` results to ``connection``; returns the new subscription id."""
        subscription_id = _new_subscription_id()
        while subscription_id in self._by_id:
            subscription_id = _new_subscription_id()
        subscription = Subscription(subscription_id, kind, notification_method, connection)
        self._by_id[subscription_id] = subscription
        self._by_kind.setdefault(kind, {})[subscription_id] = subscription
        return subscription_id

    def unsubscribe(self, connection: Connection, subscription_id: str) -> bool:
        """Cancel one subscription of ``connection``; False if it has none of that id."""
        subscription = self._by_id.get(subscription_id)
        if subscription is None or subscription.connection is not connection:
            return False
        self._remove(subscription)
        return True

    def remove_connection(self, connection: Connection) -> None:
        """Drop every subscription of a connection that closed (the server calls this)."""
        for subscription in [s for s in self._by_id.values() if s.connection is connection]:
            self._remove(subscription)

    def get_subscription_count(self, kind: str | None = None) -> int:
        if kind is None:
            return len(self._by_id)
        return len(self._by_kind.get(kind, {}))

    def publish(self, kind: str, result: object) -> None:
        """Queue a notification of ``result`` to every ``kind`` subscriber; never blocks or raises."""
        subscribers = self._by_kind.get(kind)
        if not subscribers:
            return
        try:
            encoded = encode_json(result)
        except (TypeError, ValueError, RecursionError):
            # A formatting bug must not stop the block commit or the pool that called us.
            log.exception("cannot encode a %s notification", kind)
            return
        # A copy: a push that overflows a client's queue closes it, which may change the table.
        for subscription in list(subscribers.values()):
            subscription.connection.push(
                b'{"jsonrpc":"2.0","method":"' + subscription.notification_method.encode()
                + b'","params":{"subscription":"' + subscription.subscription_id.encode()
                + b'","result":' + encoded + b"}}"
            )

    def _remove(self, subscription: Subscription) -> None:
        del self._by_id[subscription.subscription_id]
        same_kind = self._by_kind[subscription.kind]
        del same_kind[subscription.subscription_id]
        if not same_kind:
            del self._by_kind[subscription.kind]


def register_subscription_methods(dispatcher: Dispatcher, subscriptions: Subscriptions,
                                  kinds: Sequence[str] = DEFAULT_KINDS) -> None:
    """Register ``eth_subscribe``, ``hmy_subscribe``, ``eth_unsubscribe`` and ``hmy_unsubscribe``."""
    for namespace in ("eth", "hmy"):
        dispatcher.register(f"{namespace}_subscribe", _subscribe_handler(subscriptions, namespace, tuple(kinds)))
        dispatcher.register(f"{namespace}_unsubscribe", _unsubscribe_handler(subscriptions))


def _subscribe_handler(subscriptions: Subscriptions, namespace: str, kinds: tuple[str, ...]) -> Handler:
    def subscribe(params: list[Any], context: CallContext) -> str:
        if context.connection is None:
            raise ServerError("notifications not supported")  # geth's answer over HTTP
        if not params or not isinstance(params[0], str):
            raise InvalidParams("expected a subscription name as the first argument")
        if params[0] not in kinds:
            raise InvalidParams(f'no "{params[0]}" subscription in {namespace} namespace')
        if len(params) > 1:
            raise InvalidParams("too many arguments, want at most 1")
        return subscriptions.subscribe(context.connection, params[0], f"{namespace}_subscription")

    return subscribe


def _unsubscribe_handler(subscriptions: Subscriptions) -> Handler:
    def unsubscribe(params: list[Any], context: CallContext) -> bool:
        if len(params) != 1 or not isinstance(params[0], str):
            raise InvalidParams("expected a subscription id as the only argument")
        # geth answers an unknown id (or any id over HTTP, which has no subscriptions) with an error.
        if context.connection is None or not subscriptions.unsubscribe(context.connection, params[0]):
            raise ServerError("subscription not found")
        return True

    return unsubscribe


def _new_subscription_id() -> str:
    # geth's format: 16 random bytes as a hex quantity, leading zeros dropped.
    return "0x" + (secrets.token_hex(16).lstrip("0") or "0")
