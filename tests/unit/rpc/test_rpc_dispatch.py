"""JSON-RPC 2.0 dispatch: request shapes, batches, notifications, limits and how handler errors map."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from harmony_node.exceptions import HarmonyError, InvalidTransaction
from harmony_node.rpc.dispatch import (
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_DEPTH,
    CallContext,
    Dispatcher,
    validate_json_depth,
)
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

CONTEXT = CallContext(client="127.0.0.1", transport="http")


def _echo(params: list[Any], context: CallContext) -> object:
    return params


async def _async_add(params: list[Any], context: CallContext) -> object:
    await trio.lowlevel.checkpoint()
    return sum(params)


def _raise(error: Exception) -> Any:
    def handler(params: list[Any], context: CallContext) -> object:
        raise error

    return handler


def _dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.register("echo", _echo)
    dispatcher.register("add", _async_add)
    dispatcher.register("whoami", lambda params, context: [context.client, context.transport])
    dispatcher.register("nan", lambda params, context: math.nan)
    dispatcher.register("opaque", lambda params, context: object())
    return dispatcher


def _call(body: bytes | str, dispatcher: Dispatcher | None = None, max_batch: int = DEFAULT_MAX_BATCH,
          max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The decoded answer (None when there is none)."""
    raw = body.encode() if isinstance(body, str) else body

    async def main() -> bytes | None:
        return await (dispatcher or _dispatcher()).handle_body(raw, CONTEXT, max_batch=max_batch, max_depth=max_depth)

    answer = trio.run(main)
    return None if answer is None else json.loads(answer)


def _request(method: str, params: object = None, request_id: object = 1) -> dict[str, object]:
    request: dict[str, object] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        request["params"] = params
    return request


def test_call_returns_result_with_the_request_id() -> None:
    for request_id in (1, "abc", None, 2.5, 0):
        assert _call(json.dumps(_request("echo", [1, "x"], request_id))) == {
            "jsonrpc": "2.0", "id": request_id, "result": [1, "x"]}


def test_params_omitted_or_null_are_empty_and_objects_are_refused() -> None:
    assert _call(json.dumps(_request("echo")))["result"] == []
    assert _call('{"jsonrpc":"2.0","id":1,"method":"echo","params":null}')["result"] == []
    for params in ({"a": 1}, "x", 3):
        error = _call(json.dumps(_request("echo", params)))["error"]
        assert error["code"] == -32602


def test_awaitable_results_are_awaited_and_context_is_passed() -> None:
    assert _call(json.dumps(_request("add", [1, 2, 3])))["result"] == 6
    assert _call(json.dumps(_request("whoami")))["result"] == ["127.0.0.1", "http"]


def test_batch_keeps_order_and_skips_notifications() -> None:
    batch = [
        _request("echo", [1], "a"),
        {"jsonrpc": "2.0", "method": "echo", "params": [2]},  # notification
        _request("missing", [], 7),
        _request("add", [2, 3], 3),
    ]
    answers = _call(json.dumps(batch))
    assert [answer["id"] for answer in answers] == ["a", 7, 3]
    assert answers[0]["result"] == [1] and answers[1]["error"]["code"] == -32601 and answers[2]["result"] == 5


def test_notifications_get_no_answer_even_on_error() -> None:
    assert _call('{"jsonrpc":"2.0","method":"echo","params":[1]}') is None
    assert _call('{"jsonrpc":"2.0","method":"missing"}') is None
    assert _call('[{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"add","params":[1]}]') is None


def test_parse_errors_have_null_id() -> None:
    for body in (b"{", b"", b"not json", b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[NaN]}',
                 b"\xff\xfe\x00", b'[1e5, "x"'):
        answer = _call(body)
        assert answer["id"] is None and answer["error"]["code"] == -32700, body


@pytest.mark.parametrize("body", [
    "1", '"x"', "null", "true",
    '{"jsonrpc":"2.0","id":1}',
    '{"jsonrpc":"2.0","id":1,"method":5}',
    '{"jsonrpc":"1.0","id":1,"method":"echo"}',
    '{"id":1,"method":"echo"}',
])
def test_invalid_request_shapes(body: str) -> None:
    answer = _call(body)
    assert answer["error"]["code"] == -32600
    assert answer["id"] == (1 if body.startswith("{") else None)


def test_invalid_ids_are_refused_with_null_id() -> None:
    for bad_id in ({"a": 1}, [1], True):
        answer = _call(json.dumps(_request("echo", [], bad_id)))
        assert answer == {"jsonrpc": "2.0", "id": None, "error": {
            "code": -32600, "message": "invalid request: id must be a string, a number or null"}}


def test_batch_members_that_are_not_objects_get_an_error_each() -> None:
    answers = _call('[1, {"jsonrpc":"2.0","id":2,"method":"echo"}, "x"]')
    assert [a.get("error", {}).get("code") for a in answers] == [-32600, None, -32600]
    assert answers[1]["result"] == []


def test_empty_and_oversized_batches_get_one_error() -> None:
    assert _call("[]") == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}}
    batch = json.dumps([_request("echo", [], i) for i in range(3)])
    assert _call(batch, max_batch=2) == {
        "jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch too large (3 > 2)"}}
    assert len(_call(batch, max_batch=3)) == 3


def test_unknown_method_uses_geths_wording() -> None:
    assert _call(json.dumps(_request("eth_nothing")))["error"] == {
        "code": -32601, "message": "the method eth_nothing does not exist/is not available"}


@pytest.mark.parametrize("error, code", [
    (ParseError(), -32700),
    (InvalidRequest(), -32600),
    (MethodNotFound(), -32601),
    (InvalidParams("bad block number", data={"index": 0}), -32602),
    (InternalError(), -32603),
    (ServerError("nonce too low"), -32000),
    (RateLimited(), -32005),
    (RPCError(3, "execution reverted", "0x08c379a0"), 3),
])
def test_handler_rpc_errors_are_sent_as_raised(error: RPCError, code: int) -> None:
    dispatcher = Dispatcher()
    dispatcher.register("fail", _raise(error))
    answer = _call(json.dumps(_request("fail")), dispatcher)
    assert answer["id"] == 1 and answer["error"]["code"] == code
    assert answer["error"]["message"] == error.message
    assert answer["error"].get("data") == error.data


def test_other_harmony_errors_are_server_errors() -> None:
    dispatcher = Dispatcher()
    dispatcher.register("fail", _raise(InvalidTransaction("insufficient funds")))
    dispatcher.register("fail_plain", _raise(HarmonyError("chain not ready")))
    assert _call(json.dumps(_request("fail")), dispatcher)["error"] == {"code": -32000, "message": "insufficient funds"}
    assert _call(json.dumps(_request("fail_plain")), dispatcher)["error"] == {
        "code": -32000, "message": "chain not ready"}


def test_bugs_are_logged_not_leaked(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = Dispatcher()
    dispatcher.register("fail", _raise(KeyError("secret-internal-detail")))
    with caplog.at_level(logging.ERROR, logger="harmony_node.rpc.dispatch"):
        answer = _call(json.dumps(_request("fail")), dispatcher)
    assert answer["error"] == {"code": -32603, "message": "internal error"}
    assert "secret-internal-detail" not in json.dumps(answer)
    assert any("secret-internal-detail" in (record.exc_text or "") for record in caplog.records)


def test_unencodable_results_are_internal_errors(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="harmony_node.rpc.dispatch"):
        for method in ("nan", "opaque"):
            assert _call(json.dumps(_request(method)))["error"] == {"code": -32603, "message": "internal error"}
    assert len(caplog.records) == 2


def test_nesting_limit() -> None:
    deep_params = "[" * 40 + "]" * 40
    answer = _call('{"jsonrpc":"2.0","id":1,"method":"echo","params":' + deep_params + "}")
    assert answer["error"]["code"] == -32600 and "nested deeper than 32" in answer["error"]["message"]
    ok_params = "[" * 31 + "]" * 31  # 32 levels with the request object
    assert _call('{"jsonrpc":"2.0","id":1,"method":"echo","params":' + ok_params + "}")["id"] == 1
    # Brackets inside strings do not count, escaped quotes included.
    text = json.dumps('\\"' + "[" * 100 + '"{')
    assert _call('{"jsonrpc":"2.0","id":1,"method":"echo","params":[' + text + "]}")["result"] == [json.loads(text)]


def test_huge_nesting_is_refused_without_recursing() -> None:
    assert _call(b"[" * 500_000 + b"]" * 500_000)["error"]["code"] == -32600
    # Unbalanced brackets are not JSON at all, however deep they go.
    assert _call(b"[" * 1_000_000)["error"]["code"] == -32700
    assert _call(b"]" * 100 + b"[" * 100)["error"]["code"] == -32700


def _reference_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_reference_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_reference_depth, value.values()), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda children: (st.lists(children, max_size=3)
                      | st.dictionaries(st.text(alphabet='[]{}"\\'), children, max_size=3)),
    max_leaves=30,
)


@given(value=_JSON, max_depth=st.integers(min_value=1, max_value=6))
def test_depth_check_matches_the_nesting_of_the_value(value: object, max_depth: int) -> None:
    body = json.dumps(value).encode()
    if _reference_depth(value) > max_depth:
        with pytest.raises(InvalidRequest):
            validate_json_depth(body, max_depth)
    else:
        validate_json_depth(body, max_depth)


def test_registry() -> None:
    dispatcher = _dispatcher()
    assert dispatcher.has("echo") and not dispatcher.has("nope")
    assert dispatcher.method_names() == ["add", "echo", "nan", "opaque", "whoami"]
    with pytest.raises(ValueError):
        dispatcher.register("echo", _echo)


def test_errors_are_harmony_errors() -> None:
    assert issubclass(RPCError, HarmonyError)
    assert ServerError("x").to_json_object() == {"code": -32000, "message": "x"}
    assert InvalidParams(data=[1]).to_json_object() == {"code": -32602, "message": "invalid params", "data": [1]}
