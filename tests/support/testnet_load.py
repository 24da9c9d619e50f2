"""The client side of the fault-injection harness: signed transfers at a low, steady rate through
each shard's RPC node, every operation recorded with its outcome (ok / failed / unknown / lost).

``LoadOptions`` adds cross-shard transfers (whose credit on the destination is watched for) and
double-spend attempts (one nonce, two transactions, two nodes) to the steady load."""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
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


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """The shape of a scenario's load: how many senders transfer at a time on each shard, and what
    they do besides same-shard transfers."""

    active_per_shard: int = 6
    cross_shard_every: int = 0
    """Every n-th transfer of a sender goes to the next shard (0: none; needs more than one shard)."""
    double_spends: int = 0
    """Double-spend attempts (``LoadClient.run_double_spend``), one after another, round the shards."""
    double_spend_every_s: float = 4.0


@dataclass(slots=True)
class Operation:
    """One client operation: a signed transfer, submitted (the same bytes, again if need be) until a
    receipt shows it or its deadline passes."""

    kind: str  # "fund", "transfer" or "double spend"
    shard: int
    sender: str
    nonce: int
    tx_hash: str
    invoked_s: float
    completed_s: float | None = None
    outcome: str | None = None
    """ok: a receipt was seen; failed: no node can have accepted it; unknown: it may be included;
    lost (a double spend's half): the receipt of its rival was seen first."""
    block: int | None = None
    error: str | None = None
    submissions: int = 0
    to_shard: int | None = None
    """The destination of a cross-shard transfer (None: within its shard)."""
    credited_block: int | None = None
    """For an ok cross-shard transfer: the destination block that credited it, as the destination's
    RPC node reported it (None: not seen by the end of the run)."""
    credited_s: float | None = None
    rival: str | None = None
    """For a double spend's half: the hash of the other transaction with the same (sender, nonce)."""

    @property
    def is_cross_shard(self) -> bool:
        return self.to_shard is not None and self.to_shard != self.shard


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
    attempt): its sender retires and a spare takes its place. Double spends are made on purpose,
    with senders of their own (``run_double_spend``)."""

    OP_TIMEOUT_S = 45.0
    RESUBMIT_S = 4.0
    POLL_S = 0.7

    def __init__(self, net: Testnet, options: LoadOptions = LoadOptions(), spares_per_shard: int = 8,
                 pace_s: float = 0.5) -> None:
        self.net = net
        self.options = options
        self.pace_s = pace_s
        self.urls = [net.cli.get_rpc_url(shard) for shard in range(net.manifest.shards)]
        self.genesis = load_genesis(net.cli.datadir / "genesis.json")
        self.pools: list[list[_Sender]] = []
        double_spenders = -(-options.double_spends // net.manifest.shards)  # per shard, rounded up
        for _ in range(net.manifest.shards):
            keys = [secrets.token_bytes(32) for _ in range(options.active_per_shard + spares_per_shard
                                                           + double_spenders)]
            self.pools.append([_Sender(key, compute_address(key)) for key in keys])
        self.operations: list[Operation] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.drain_deadline = float("inf")
        self.threads: list[threading.Thread] = []
        self.double_spender: threading.Thread | None = None

    def sign(self, sender: _Sender, shard: int, to: bytes, value: int, to_shard: int | None = None,
             gas_price: int = GAS_PRICE) -> tuple[str, str]:
        tx = sign_transaction(nonce=sender.nonce, gas_price=gas_price, gas_limit=GAS_LIMIT, shard_id=shard,
                              to_shard_id=shard if to_shard is None else to_shard, to=to, value=value, data=b"",
                              private_key=sender.key, chain_id=self.genesis.config.chain_id)
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
        targets: list[tuple[Callable[..., None], tuple[int, ...]]] = [
            (self._run_sender_slot, (shard,)) for shard in range(len(self.pools))
            for _ in range(self.options.active_per_shard)]
        if self.is_sending_cross_shard:
            targets.append((self._run_credit_watch, ()))
        for target, args in targets:
            thread = threading.Thread(target=target, args=args, daemon=True)
            thread.start()
            self.threads.append(thread)
        if self.options.double_spends:
            self.double_spender = threading.Thread(target=self._run_double_spends, daemon=True)
            self.double_spender.start()
            self.threads.append(self.double_spender)

    @property
    def is_sending_cross_shard(self) -> bool:
        return self.options.cross_shard_every > 0 and len(self.pools) > 1

    def wait_for_double_spends(self, timeout: float) -> None:
        """Until every double spend the options ask for was made and settled (or ``timeout``)."""
        if self.double_spender is not None:
            self.double_spender.join(timeout)

    def stop(self, drain_s: float = 20.0) -> None:
        """No new operations; those in flight get ``drain_s`` to finish, then end unknown (or failed)."""
        self.drain_deadline = time.monotonic() + drain_s
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=drain_s + 15)
        assert not any(thread.is_alive() for thread in self.threads), "a load thread did not stop"

    def wait_for_credits(self, timeout: float) -> None:
        """After ``stop``: until the destination of every ok cross-shard transfer reports it credited, or
        ``timeout`` (those left uncredited are the checker's to report: it reads the chains)."""
        deadline = time.monotonic() + timeout
        while self._observe_credits() and time.monotonic() < deadline:
            time.sleep(self.POLL_S)

    def _take_sender(self, shard: int) -> _Sender | None:
        with self.lock:
            return self.pools[shard].pop() if self.pools[shard] else None

    def _run_sender_slot(self, shard: int) -> None:
        sender = self._take_sender(shard)
        recipient = secrets.token_bytes(20)
        sent = 0
        while sender is not None and not self.stopping.is_set():
            sent += 1
            to_shard = shard
            if self.is_sending_cross_shard and sent % self.options.cross_shard_every == 0:
                to_shard = (shard + 1) % len(self.pools)
            raw, tx_hash = self.sign(sender, shard, recipient, TRANSFER_VALUE, to_shard)
            op = Operation("transfer", shard, "0x" + sender.address.hex(), sender.nonce, tx_hash, self.net.now(),
                           to_shard=to_shard)
            self.record(op)
            self._run_operation(op, raw)
            if op.outcome == "ok":
                sender.nonce += 1
                self.stopping.wait(self.pace_s)
            else:
                sender = self._take_sender(shard)  # this sender's nonce is in doubt: retire it

    def _run_credit_watch(self) -> None:
        while not self.stopping.wait(self.POLL_S):
            self._observe_credits()

    def _observe_credits(self) -> int:
        """Ask the destinations about the ok cross-shard transfers not yet seen credited; how many are left."""
        with self.lock:
            waiting = [op for op in self.operations
                       if op.is_cross_shard and op.outcome == "ok" and op.credited_block is None]
        left = 0
        for op in waiting:
            assert op.to_shard is not None
            try:
                # On the destination shard, the receipt with the block that credited it (or None).
                credit = call_rpc(self.urls[op.to_shard], "hmyv2_getCXReceiptByHash", [op.tx_hash])
            except (Refused, Rejected, OSError, http.client.HTTPException, ValueError):
                credit = None
            if credit is None:
                left += 1
            else:
                op.credited_block, op.credited_s = _to_int(credit["blockNumber"]), self.net.now()
        return left

    def _get_validator_url(self, shard: int, index: int) -> str | None:
        """The RPC URL of one of ``shard``'s validators (not its RPC node), taking turns by ``index``."""
        # A validator's RPC answers for its genesis shard, as long as its keys keep it following that chain.
        validators = [node for _, node in sorted(self.net.nodes.items())
                      if node["role"] == "validator" and node["shard"] == shard
                      and shard in node.get("chains", [shard])]
        if not validators:
            return None
        node = validators[index % len(validators)]
        return f"http://{node.get('host', '127.0.0.1')}:{node['rpc_port']}"

    def _run_double_spends(self) -> None:
        for index in range(self.options.double_spends):
            if self.stopping.wait(self.options.double_spend_every_s):
                return
            self.run_double_spend(index % len(self.pools), index)

    def run_double_spend(self, shard: int, index: int) -> None:
        """Two transfers with one sender and nonce to different recipients, one submitted through the
        shard's RPC node and the other through a validator, at the same moment, each resubmitted as an
        ordinary transfer is. On odd ``index``es the second one pays a higher gas price, so a pool that
        holds the first may take it as a replacement. At most one may ever be on chain."""
        sender = self._take_sender(shard)
        other_url = self._get_validator_url(shard, index)
        if sender is None or other_url is None:
            return
        halves: list[tuple[Operation, str, str]] = []
        for url, gas_price in ((self.urls[shard], GAS_PRICE), (other_url, GAS_PRICE * (1 + index % 2))):
            raw, tx_hash = self.sign(sender, shard, secrets.token_bytes(20), TRANSFER_VALUE, gas_price=gas_price)
            halves.append((Operation("double spend", shard, "0x" + sender.address.hex(), sender.nonce, tx_hash,
                                     self.net.now()), raw, url))
        (first, _, _), (second, _, _) = halves
        first.rival, second.rival = second.tx_hash, first.tx_hash
        together = threading.Barrier(2)

        def submit(op: Operation, raw: str, url: str, rival: Operation) -> None:
            together.wait()
            self._run_operation(op, raw, url, rival)

        threads = [threading.Thread(target=submit, args=(op, raw, url, rival), daemon=True)
                   for (op, raw, url), rival in zip(halves, (second, first))]
        for op, _, _ in halves:
            self.record(op)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _run_operation(self, op: Operation, raw: str, submit_url: str | None = None,
                       rival: Operation | None = None) -> None:
        """Submit ``raw`` through ``submit_url`` (the shard's RPC node by default) until its receipt is
        seen there, or its deadline passes; for a double spend's half, until either half's receipt is."""
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
                    call_rpc(submit_url or url, "hmyv2_sendRawTransaction", [raw])
                    maybe_accepted = True
                except Refused as exc:
                    op.error = f"refused: {exc}"
                except Rejected as exc:
                    message = str(exc)
                    op.error = message
                    # In the pool already, or its nonce used: by this very transaction (no other has
                    # it), or for a double spend's half perhaps by its rival: then it ends lost below.
                    maybe_accepted |= "already known" in message or "nonce too low" in message
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    op.error = f"no answer: {exc!r}"
                    maybe_accepted = True
            # The rival's outcome is read before this receipt is asked for: had both been included,
            # the RPC node that showed the rival's receipt would now show this one too.
            rival_won = rival is not None and rival.outcome == "ok"
            if maybe_accepted or rival is not None:
                try:
                    receipt = call_rpc(url, "hmyv2_getTransactionReceipt", [op.tx_hash])
                except (Refused, Rejected, OSError, http.client.HTTPException, ValueError):
                    receipt = None
                if receipt is not None:
                    op.outcome, op.block, op.error = "ok", _to_int(receipt["blockNumber"]), None
                    break
            if rival_won:
                op.outcome = "lost"
                break
            if time.monotonic() > min(deadline, self.drain_deadline):
                op.outcome = "unknown" if maybe_accepted else "failed"
                break
            time.sleep(self.POLL_S)
        op.completed_s = self.net.now()

    def count(self) -> Counter[str]:
        return Counter(op.outcome or "unknown" for op in self.operations if op.kind == "transfer")
