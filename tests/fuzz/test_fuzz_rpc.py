"""Fuzzing the JSON-RPC entry point, ``Dispatcher.handle_body``: the raw HTTP/WebSocket body bytes.

The dispatcher serves every namespace over a real beacon chain (LevelDB, one finalized block) and
pool, as in ``tests/unit/rpc/test_rpc_methods.py``. It gets arbitrary bytes, mutated valid requests,
and structurally valid requests to every registered method with random params. The answer must always
be well-formed JSON-RPC (one result or error per call, the request's id), never -32603 (that code
means a bug: an exception escaped a handler), and an error must leave the chain and the pool as they
were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import example, given
from hypothesis import strategies as st

from crypto import bls
from crypto.address import to_bech32
from crypto.secp256k1 import compute_address
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.genesis import Genesis
from harmony_node.rpc.backend import NodeInfo, RPCBackend, ShardEndpoint
from harmony_node.rpc.dispatch import CallContext, Dispatcher
from harmony_node.rpc.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    RateLimited,
    RPCError,
    ServerError,
)
from harmony_node.rpc.namespaces import build_dispatcher
from harmony_node.rpc.subscriptions import Subscriptions
from harmony_node.txpool import TxPool, TxPoolConfig
from harmony_node.types.staking_transaction import Delegate, encode_staking_transaction, sign_staking_transaction
from harmony_node.types.transaction import encode_transaction, sign_transaction
from two_chains import build_next, finalize, open_two_chains
from fuzzing import FUZZ, FUZZ_HALF, Mutate, Record



KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
OPERATOR = compute_address(KEY)
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 9)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
CONFIG = ChainConfig(num_shards=2, blocks_per_epoch=4)
GENESIS = Genesis("localnet", CONFIG, 1_700_000_000, b"", ((OPERATOR, 1_000_000 * ONE),),
                  committees=(tuple(KEYS[:4]), tuple(KEYS[4:])))
PRICE = CONFIG.min_gas_price
CONTEXT = CallContext("127.0.0.1", "http")
_ERRORS: dict[int, Callable[[str], RPCError]] = {cls.CODE: cls for cls in (ParseError, InvalidRequest, MethodNotFound, InvalidParams,
                                                                 InternalError, ServerError, RateLimited)}


class Node:
    """A beacon chain with one finalized block, its pool, and the dispatcher over them."""

    def __init__(self, beacon: Blockchain) -> None:
        self.beacon = beacon
        self.pool = TxPool(TxPoolConfig(), CONFIG, 0, beacon.get_state(), validate_staking=beacon.validate_staking_message)
        info = NodeInfo("0.1.0", "12D3KooWtest", "ExplorerNode", (), 1_700_000_000)
        endpoints = (ShardEndpoint(0, "http://127.0.0.1:9500", "ws://127.0.0.1:9500"),
                     ShardEndpoint(1, "http://127.0.0.1:9502", "ws://127.0.0.1:9502"))
        backend = RPCBackend(0, GENESIS, info, endpoints, lambda s: beacon if s == 0 else None,
                             lambda s: self.pool if s == 0 else None)
        self.dispatcher: Dispatcher = build_dispatcher(backend, Subscriptions())
        block, view = build_next(beacon, lambda key: SECRETS[KEYS.index(key)])
        finalize(beacon, block, view, lambda key: SECRETS[KEYS.index(key)])

    def state(self) -> tuple[object, ...]:
        """What an error answer must not change."""
        return (self.beacon.head.hash, len(self.pool), self.pool.pending_count, self.pool.queued_count,
                sorted(tx.hash for txs in self.pool.get_pending().values() for tx in txs))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    path: Path = tmp_path_factory.mktemp("rpc-fuzz")
    with open_two_chains(path, GENESIS) as (_, beacon, _shard):
        yield Node(beacon)


def _raw_transfer(nonce: int) -> str:
    tx = sign_transaction(nonce=nonce, gas_price=PRICE, gas_limit=21_000, shard_id=0, to_shard_id=0, to=b"\x55" * 20,
                          value=ONE, data=b"", private_key=KEY, chain_id=CONFIG.chain_id)
    return "0x" + encode_transaction(tx).hex()


RAW_TXS = [_raw_transfer(n) for n in (0, 1, 5)] + [
    "0x" + encode_staking_transaction(sign_staking_transaction(
        Delegate(OPERATOR, OPERATOR, 100 * ONE), nonce=0, gas_price=PRICE, gas_limit=60_000, private_key=KEY,
        chain_id=CONFIG.chain_id)).hex()
]
# Parameter values a wallet, an explorer or an attacker sends: addresses in both spellings, hashes,
# block tags and numbers in both flavours, raw transactions, and every JSON type at its edges.
_PARAM_SCALARS = st.one_of(
    st.sampled_from([to_bech32(OPERATOR), "0x" + OPERATOR.hex(), "0x" + "55" * 20, "one1", "0x", "0x0", "0x00",
                     "0x1", "0xffffffffffffffff", "0x10000000000000000", "0x" + "f" * 80, "latest", "pending",
                     "earliest", "safe", "finalized", "", " ", "0x" + "00" * 32, "0x" + "ab" * 32, "0xg1",
                     "0x" + KEYS[0].hex(), KEYS[0].hex(), "1", "-1", "1e3", "\u0000", "\ud800"]),
    st.sampled_from(RAW_TXS),
    st.integers(-2, 3),
    st.sampled_from([2**31, 2**63 - 1, 2**64, 2**256, -(2**64), 10**30]),
    st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_PARAM_VALUES = st.recursive(
    _PARAM_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["fullTx", "inclTx", "withSigners", "InclStaking", "blockArgs", "address",
                                         "pageIndex", "pageSize", "fullTx ", "txType", "order"]) | st.text(max_size=6),
                        inner, max_size=3),
    ),
    max_leaves=5,
)


def _answers(answer: bytes | None, body: bytes) -> list[dict[str, Any]]:
    """The answer's response objects, checked to be well-formed JSON-RPC 2.0."""
    if answer is None:
        return []
    decoded = json.loads(answer)
    responses = decoded if isinstance(decoded, list) else [decoded]
    assert responses, "an empty batch answer is no answer at all"
    for response in responses:
        assert isinstance(response, dict) and response.get("jsonrpc") == "2.0" and "id" in response, response
        assert ("result" in response) != ("error" in response), response
        if "error" in response:
            error = response["error"]
            assert isinstance(error, dict) and type(error.get("code")) is int and isinstance(error.get("message"), str)
            assert error["code"] != InternalError.CODE, f"internal error (a bug) answering {body[:300]!r}: {response}"
    return responses


def _handle(node: Node, body: bytes, record: Record, name: str) -> list[dict[str, Any]]:
    before = node.state()
    answer = trio.run(node.dispatcher.handle_body, body, CONTEXT)
    responses = _answers(answer, body)
    failed = [response for response in responses if "error" in response]
    for response in responses:
        error = response.get("error")
        if error is None:
            record(name, None)
        else:
            kind = _ERRORS.get(error["code"])
            record(name, kind(error["message"]) if kind is not None else RPCError(error["code"], error["message"]))
    if not responses:
        record(name, None)
    if failed and len(failed) == len(responses):
        assert node.state() == before, f"state changed by a refused request {body[:300]!r}"
    return responses


@FUZZ_HALF
@given(body=st.binary(max_size=300))
@example(body=b'{"jsonrpc":"2.0","id":1e400,"method":"hmy_blockNumber"}')  # found: an id of inf crashed handle_body
@example(body=b'{"jsonrpc":"2.0","id":1,"method":"hmy_getBlockByNumber","params":[1e400,true]}')
@example(body=b"[" * 5000)
@example(body=b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"hmy_blockNumber"}')
def test_fuzz_rpc_arbitrary_body(body: bytes, node: Node, fuzz_record: Record) -> None:
    _handle(node, body, fuzz_record, "Dispatcher.handle_body (bytes)")


@FUZZ_HALF
@given(data=st.data())
def test_fuzz_rpc_mutated_body(data: Any, node: Node, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    method = data.draw(st.sampled_from(node.dispatcher.method_names()), label="method")
    request = {"jsonrpc": "2.0", "id": 7, "method": method, "params": data.draw(st.lists(_PARAM_VALUES, max_size=3))}
    for _ in range(data.draw(st.integers(0, 2), label="member mutations")):
        member = data.draw(st.sampled_from(["jsonrpc", "id", "method", "params", "extra"]), label="member")
        if data.draw(st.booleans(), label="delete"):
            request.pop(member, None)
        else:
            request[member] = data.draw(_PARAM_VALUES, label="member value")
    body = json.dumps(request).encode()
    if data.draw(st.booleans(), label="batch"):
        body = b"[" + body + b"," + data.draw(st.sampled_from([body, b"1", b"{}", b"[]", b"null"]), label="other") + b"]"
    if data.draw(st.integers(0, 2), label="byte mutation") == 0:
        body = fuzz_mutate(data, body)
    _handle(node, body, fuzz_record, "Dispatcher.handle_body (mutated)")


@FUZZ
@given(data=st.data())
@example(data=None).via("hmy_getValidatorKeys of an epoch past uint64")
def test_fuzz_rpc_methods_with_random_params(data: Any, node: Node, fuzz_record: Record) -> None:
    if data is None:  # found by this fuzzing: -32603 (OverflowError in the chain store) before the fix
        responses = _handle(node, b'{"jsonrpc":"2.0","id":null,"method":"hmy_getValidatorKeys",'
                            b'"params":["0xa5241513da9f4463f1d4874b548dfbac29d91f34"]}', fuzz_record,
                            "Dispatcher.handle_body (methods)")
        assert responses[0]["error"]["code"] == ServerError.CODE
        return
    method = data.draw(st.sampled_from(node.dispatcher.method_names()), label="method")
    params = data.draw(st.one_of(st.lists(_PARAM_VALUES, max_size=4), _PARAM_VALUES), label="params")
    request_id = data.draw(st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=5), st.none(),
                                     st.floats(allow_nan=False, allow_infinity=False)), label="id")
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    if data.draw(st.integers(0, 9), label="omit params") == 0:
        del request["params"]
    responses = _handle(node, json.dumps(request).encode(), fuzz_record, "Dispatcher.handle_body (methods)")
    assert len(responses) == 1 and responses[0]["id"] == request_id
