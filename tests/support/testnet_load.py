"""The client side of the fault-injection harness: signed transfers at a low, steady rate through
each shard's RPC node, every operation recorded with its outcome (ok / failed / unknown)."""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from crypto.secp256k1 import compute_address
from harmony_node.chain.genesis import load_genesis
from harmony_node.types.transaction import encode_transaction, sign_transaction
from node_cluster import FUNDED_KEY
from testnet_faults import Testnet, wait_until

GAS_PRICE = 100 * 10**9
GAS_LIMIT = 21_000
TRANSFER_VALUE = 10**12
SENDER_FUNDING = 5 * 10**18

class Refused(Exception):
    """The request never reached a node (connection refused): it was certainly not accepted."""


class Rejected(Exception):
    """The node answered with a JSON-RPC error."""


def call_rpc(url: str, method: str, params: list[Any], timeout: float = 5.0) -> Any:
    """One JSON-RPC call. Refused: nothing received it; Rejected: an error answer; any other OSError or
    HTTPException (timeout, reset): the node may or may not have acted on it."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    try:
        try:
            connection.connect()
        except ConnectionRefusedError as exc:
            raise Refused(str(exc)) from exc
        connection.request("POST", "/", body, {"Content-Type": "application/json"})
        reply = connection.getresponse()
        data = reply.read()
    finally:
        connection.close()
    if reply.status != 200:
        raise Rejected(f"HTTP {reply.status}: {data[:200]!r}")
    answer = json.loads(data)
    if "error" in answer:
        raise Rejected(str(answer["error"].get("message", answer["error"])))
    return answer["result"]


def _to_int(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


@dataclass(slots=True)
class Operation:
    """One client operation: a signed transfer, submitted (the same bytes, again if need be) until a
    receipt shows it or its deadline passes."""

    kind: str  # "fund" or "transfer"
    shard: int
    sender: str
    nonce: int
    tx_hash: str
    invoked_s: float
    completed_s: float | None = None
    outcome: str | None = None
    """ok: a receipt was seen; failed: no node can have accepted it; unknown: it may be included."""
    block: int | None = None
    error: str | None = None
    submissions: int = 0


@dataclass(slots=True)
class _Sender:
    key: bytes
    address: bytes
    nonce: int = 0


class LoadClient:
    """Low-rate transfers on every shard through its RPC node; one thread per active sender.

    A sender's next nonce is used only after its previous transfer's receipt was seen. A transfer
    that ends failed or unknown is never replaced by another transaction with its nonce (if it was
    silently dropped, a successor would wait behind the gap; if not, it would be a double spend
    attempt): its sender retires and a spare takes its place."""

    OP_TIMEOUT_S = 45.0
    RESUBMIT_S = 4.0
    POLL_S = 0.7

    def __init__(self, net: Testnet, active_per_shard: int = 6, spares_per_shard: int = 8, pace_s: float = 0.5) -> None:
        self.net = net
        self.active = active_per_shard
        self.pace_s = pace_s
        self.urls = [net.cli.get_rpc_url(shard) for shard in range(net.manifest.shards)]
        self.genesis = load_genesis(net.cli.datadir / "genesis.json")
        self.pools: list[list[_Sender]] = []
        for _ in range(net.manifest.shards):
            keys = [secrets.token_bytes(32) for _ in range(active_per_shard + spares_per_shard)]
            self.pools.append([_Sender(key, compute_address(key)) for key in keys])
        self.operations: list[Operation] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.drain_deadline = float("inf")
        self.threads: list[threading.Thread] = []

    def sign(self, sender: _Sender, shard: int, to: bytes, value: int) -> tuple[str, str]:
        tx = sign_transaction(nonce=sender.nonce, gas_price=GAS_PRICE, gas_limit=GAS_LIMIT, shard_id=shard,
                              to_shard_id=shard, to=to, value=value, data=b"", private_key=sender.key,
                              chain_id=self.genesis.config.chain_id)
        return "0x" + encode_transaction(tx).hex(), "0x" + tx.hash.hex()

    def fund(self, timeout: float = 60) -> None:
        """Fund every sender on its shard from the localnet account; raises unless all are included."""
        for shard, pool in enumerate(self.pools):
            funder = _Sender(FUNDED_KEY, compute_address(FUNDED_KEY))
            funder.nonce = _to_int(call_rpc(self.urls[shard], "hmyv2_getTransactionCount",
                                            ["0x" + funder.address.hex(), "latest"]))
            pending: list[Operation] = []
            for sender in pool:
                raw, tx_hash = self.sign(funder, shard, sender.address, SENDER_FUNDING)
                op = Operation("fund", shard, "0x" + funder.address.hex(), funder.nonce, tx_hash, self.net.now())
                call_rpc(self.urls[shard], "hmyv2_sendRawTransaction", [raw])
                op.submissions = 1
                funder.nonce += 1
                pending.append(op)
                self.record(op)

            def all_included(pending: list[Operation] = pending, shard: int = shard) -> bool:
                for op in pending:
                    if op.outcome is None:
                        receipt = call_rpc(self.urls[shard], "hmyv2_getTransactionReceipt", [op.tx_hash])
                        if receipt is not None:
                            op.outcome, op.block = "ok", _to_int(receipt["blockNumber"])
                            op.completed_s = self.net.now()
                return all(op.outcome == "ok" for op in pending)

            wait_until(all_included, timeout, lambda: f"the senders of shard {shard} to be funded")

    def record(self, op: Operation) -> None:
        with self.lock:
            self.operations.append(op)

    def start(self) -> None:
        for shard in range(len(self.pools)):
            for _ in range(self.active):
                thread = threading.Thread(target=self._run_sender_slot, args=(shard,), daemon=True)
                thread.start()
                self.threads.append(thread)

    def stop(self, drain_s: float = 20.0) -> None:
        """No new operations; those in flight get ``drain_s`` to finish, then end unknown (or failed)."""
        self.drain_deadline = time.monotonic() + drain_s
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=drain_s + 15)
        assert not any(thread.is_alive() for thread in self.threads), "a load thread did not stop"

    def _take_sender(self, shard: int) -> _Sender | None:
        with self.lock:
            return self.pools[shard].pop() if self.pools[shard] else None

    def _run_sender_slot(self, shard: int) -> None:
        sender = self._take_sender(shard)
        recipient = secrets.token_bytes(20)
        while sender is not None and not self.stopping.is_set():
            raw, tx_hash = self.sign(sender, shard, recipient, TRANSFER_VALUE)
            op = Operation("transfer", shard, "0x" + sender.address.hex(), sender.nonce, tx_hash, self.net.now())
            self.record(op)
            self._run_operation(op, raw)
            if op.outcome == "ok":
                sender.nonce += 1
                self.stopping.wait(self.pace_s)
            else:
                sender = self._take_sender(shard)  # this sender's nonce is in doubt: retire it

    def _run_operation(self, op: Operation, raw: str) -> None:
        url = self.urls[op.shard]
        deadline = time.monotonic() + self.OP_TIMEOUT_S
        maybe_accepted = False
        next_submit = time.monotonic()
        while op.outcome is None:
            now = time.monotonic()
            if now >= next_submit:
                next_submit = now + self.RESUBMIT_S
                op.submissions += 1
                try:
                    call_rpc(url, "hmyv2_sendRawTransaction", [raw])
                    maybe_accepted = True
                except Refused as exc:
                    op.error = f"refused: {exc}"
                except Rejected as exc:
                    message = str(exc)
                    op.error = message
                    # In the pool already, or its nonce used: by this very transaction (no other has it).
                    maybe_accepted |= "already known" in message or "nonce too low" in message
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    op.error = f"no answer: {exc!r}"
                    maybe_accepted = True
            if maybe_accepted:
                try:
                    receipt = call_rpc(url, "hmyv2_getTransactionReceipt", [op.tx_hash])
                except (Refused, Rejected, OSError, http.client.HTTPException, ValueError):
                    receipt = None
                if receipt is not None:
                    op.outcome, op.block, op.error = "ok", _to_int(receipt["blockNumber"]), None
                    break
            if time.monotonic() > min(deadline, self.drain_deadline):
                op.outcome = "unknown" if maybe_accepted else "failed"
                break
            time.sleep(self.POLL_S)
        op.completed_s = self.net.now()

    def count(self) -> Counter[str]:
        return Counter(op.outcome or "unknown" for op in self.operations if op.kind == "transfer")


