"""Every namespace the node serves, registered into one dispatcher (reference §9).

``hmy_`` and ``hmyv2_`` differ only in how numbers are written; staking methods are the same in
both. ``eth_``, ``net_`` and ``web3_`` serve Ethereum tooling; subscriptions need a WebSocket.
"""

from __future__ import annotations

from harmony_node.rpc.backend import RPCBackend
from harmony_node.rpc.dispatch import Dispatcher
from harmony_node.rpc.eth_methods import EthMethods
from harmony_node.rpc.format import Flavour
from harmony_node.rpc.harmony_methods import HarmonyMethods
from harmony_node.rpc.staking_methods import StakingMethods
from harmony_node.rpc.subscriptions import Subscriptions, register_subscription_methods


def build_dispatcher(backend: RPCBackend, subscriptions: Subscriptions) -> Dispatcher:
    dispatcher = Dispatcher()
    for namespace, flavour in (("hmy", Flavour.V1), ("hmyv2", Flavour.V2)):
        HarmonyMethods(backend, flavour).register(dispatcher, namespace)
        StakingMethods(backend).register(dispatcher, namespace)
    EthMethods(backend, f"harmony-node/v{backend.node.version}/python").register(dispatcher)
    register_subscription_methods(dispatcher, subscriptions)
    return dispatcher
