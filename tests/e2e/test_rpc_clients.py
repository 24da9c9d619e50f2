"""Real clients against the default localnet's RPC nodes: pyhmy (PyPI), web3.py with eth-account,
the ``hmy`` CLI, and raw HTTP abuse.

One localnet (15 processes, started with ``hmy-node localnet up`` on shifted ports) serves every
test of this module, in file order: the tests that create validators come last, because a validator
whose key no node runs holds slots (and a shard then needs every genesis node for its quorum) until
it is booted for unavailability. Each client signs with its own code and reads back through its own RPC calls:
plain and cross-shard transfers credited on the destination shard, a validator created with its
own BLS key and delegated to, an Ethereum legacy transaction found by hash, receipt and block.
Bad input (bad address, insufficient funds, wrong passphrase, unknown validator, oversized or
malformed requests) gets a clear error and changes nothing.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pyhmy import account as hmy_account
from pyhmy import blockchain as hmy_blockchain
from pyhmy import signing as hmy_signing
from pyhmy import staking as hmy_staking
from pyhmy import staking_signing as hmy_staking_signing
from pyhmy import transaction as hmy_transaction
from pyhmy.staking_structures import Directive
from web3 import Web3
from websockets.sync.client import connect

from crypto import bls
from crypto.address import to_bech32
from crypto.bls_keyfile import save_bls_key
from crypto.secp256k1 import compute_address
from harmony_node.chain.config import ONE
from localnet_runner import LocalnetCli, find_free_base_port, run_hmy
from node_cluster import wait_for
from staking.transactions import sign_proof_of_possession

pytestmark = pytest.mark.slow

FUNDED_KEY = "1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"
FUNDED = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
GAS_PRICE = 100 * 10**9


@pytest.fixture(scope="module")
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalnetCli]:
    created = LocalnetCli(tmp_path_factory.mktemp("rpc-clients") / "localnet", find_free_base_port(23000))
    try:
        result = created.run("up", "--base-port", str(created.base_port))
        assert result.returncode == 0, result.stdout + result.stderr
        created.wait_until_live(150)
        yield created
    finally:
        created.kill_everything()


def _poll(read: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy value ``read`` returns within ``timeout`` seconds."""
    found: list[Any] = [None]

    def is_found() -> bool:
        found[0] = read()
        return bool(found[0])

    wait_for(is_found, timeout, what, interval=0.3)
    return found[0]


def _post(url: str, body: bytes) -> tuple[int, dict[str, Any] | None]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        return error.code, json.loads(payload) if payload else None


def _send_transfer(endpoint: str, to: str, amount: int, from_shard: int, to_shard: int) -> str:
    nonce = hmy_account.get_account_nonce(FUNDED, block_num="latest", endpoint=endpoint)
    pending = hmy_transaction.get_pool_stats(endpoint=endpoint)["executable-count"]
    tx = {"from": FUNDED, "to": to, "value": amount, "gasPrice": GAS_PRICE, "gas": 21_000, "chainId": 2,
          "shardID": from_shard, "toShardID": to_shard, "nonce": nonce + pending}
    signed = hmy_signing.sign_transaction(tx, FUNDED_KEY)
    tx_hash: str = hmy_transaction.send_raw_transaction(signed.rawTransaction.hex(), endpoint=endpoint)
    return tx_hash


def test_web3_and_eth_account(localnet: LocalnetCli) -> None:
    w3 = Web3(Web3.HTTPProvider(localnet.get_rpc_url(0), request_kwargs={"timeout": 10}))
    assert w3.eth.chain_id == 1666700000 and w3.eth.block_number > 0
    sender = Account.from_key(FUNDED_KEY)
    recipient = Web3.to_checksum_address("0x" + "23" * 20)
    signed = sender.sign_transaction({"nonce": w3.eth.get_transaction_count(sender.address, "pending"),
                                      "gasPrice": w3.eth.gas_price, "gas": 21_000, "to": recipient,
                                      "value": 7 * ONE, "chainId": w3.eth.chain_id})
    tx_hash = w3.eth.send_raw_transaction(signed.rawTransaction)
    assert tx_hash == signed.hash
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.3)
    assert receipt["status"] == 1 and receipt["transactionHash"] == tx_hash
    assert receipt["from"] == sender.address and receipt["to"] == recipient
    tx = w3.eth.get_transaction(tx_hash)
    assert tx["hash"] == tx_hash and tx["value"] == 7 * ONE and tx["blockNumber"] == receipt["blockNumber"]
    block = w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    assert tx_hash in [t["hash"] for t in block["transactions"] if not isinstance(t, bytes)]
    assert w3.eth.get_balance(recipient) == 7 * ONE


def _call(url: str, method: str, *params: Any) -> Any:
    status, answer = _post(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                            "params": list(params)}).encode())
    assert status == 200 and answer is not None and "result" in answer, answer
    return answer["result"]


def test_bad_requests_over_http_change_nothing(localnet: LocalnetCli) -> None:
    url = localnet.get_rpc_url(0)
    height = _call(url, "hmyv2_blockNumber")
    pool = _call(url, "hmyv2_getPoolStats")
    status, answer = _post(url, b"{not json")
    assert status == 200 and answer is not None and answer["id"] is None and answer["error"]["code"] == -32700
    status, answer = _post(url, b'{"jsonrpc":"2.0","id":2,"method":"hmyv2_nope","params":[]}')
    assert answer is not None and answer["error"]["code"] == -32601
    status, answer = _post(url, b"[" * 100_000 + b"]" * 100_000)
    assert answer is not None and answer["error"]["code"] == -32600
    status, answer = _post(url, b'{"jsonrpc":"2.0","id":3,"method":"hmyv2_sendRawTransaction","params":["0x'
                           + b"00" * (6 * 1024 * 1024) + b'"]}')
    assert status == 413 and answer is not None and answer["error"]["code"] == -32600
    status, answer = _post(url, b'{"jsonrpc":"2.0","id":4,"method":"hmyv2_sendRawTransaction","params":["0xf8"]}')
    assert answer is not None and answer["error"]["code"] == -32000
    status, answer = _post(url, b'{"jsonrpc":"2.0","id":5,"method":"hmyv2_getBalance","params":["one1x"]}')
    assert answer is not None and answer["error"]["code"] == -32602
    batch = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "hmyv2_getEpoch", "params": []} for i in range(5)])
    status, answer = _post(url, batch.encode())
    assert status == 200 and isinstance(answer, list) and [a["id"] for a in answer] == list(range(5))
    # The node kept going and nothing reached its pool.
    assert _call(url, "hmyv2_getPoolStats") == pool
    wait_for(lambda: _call(url, "hmyv2_blockNumber") > height + 1, 30, "the chain to keep finalizing blocks")


def test_websocket_subscriptions_on_a_live_node(localnet: LocalnetCli) -> None:
    """newHeads pushes each block the shard finalizes; newPendingTransactions each admitted hash."""
    url = "ws" + localnet.get_rpc_url(1)[len("http"):]
    with connect(url, open_timeout=10) as socket:
        socket.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
        subscription = json.loads(socket.recv(timeout=10))["result"]
        socket.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe",
                                "params": ["newPendingTransactions"]}))
        pending_subscription = json.loads(socket.recv(timeout=10))["result"]
        # Generous deadlines: on two busy cores a shard can pause for tens of seconds at an epoch change.
        heads: list[int] = []
        deadline = time.monotonic() + 90
        while len(heads) < 2:
            message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            assert message["method"] == "eth_subscription"
            if message["params"]["subscription"] == subscription:
                heads.append(int(message["params"]["result"]["number"], 16))
        assert heads[1] == heads[0] + 1
        tx_hash = _send_transfer(localnet.get_rpc_url(1), to_bech32(b"\x24" * 20), ONE, 1, 1)
        deadline = time.monotonic() + 30
        while True:
            message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message["params"]["subscription"] == pending_subscription:
                assert message["params"]["result"] == tx_hash
                break
        socket.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "eth_unsubscribe", "params": [subscription]}))


def test_pyhmy_plain_cross_shard_and_staking(localnet: LocalnetCli) -> None:
    s0, s1 = localnet.get_rpc_url(0), localnet.get_rpc_url(1)
    assert [s["http"] for s in hmy_blockchain.get_sharding_structure(endpoint=s0)] == \
        [localnet.get_rpc_url(s) for s in range(3)]
    assert hmy_account.get_balance(FUNDED, endpoint=s1) > 0

    local_to, remote_to = to_bech32(b"\x21" * 20), to_bech32(b"\x22" * 20)
    local_hash = _send_transfer(s0, local_to, 3 * ONE, 0, 0)
    receipt = _poll(lambda: hmy_transaction.get_transaction_receipt(local_hash, endpoint=s0), 30, "the receipt")
    assert receipt["status"] == 1 and receipt["to"] == local_to
    found = hmy_transaction.get_transaction_by_hash(local_hash, endpoint=s0)
    assert found["blockNumber"] == receipt["blockNumber"] and found["value"] == 3 * ONE
    block = hmy_blockchain.get_block_by_number(receipt["blockNumber"], full_tx=True, include_signers=True,
                                               endpoint=s0)
    assert local_hash in [tx["hash"] for tx in block["transactions"]] and len(block["signers"]) >= 3
    assert hmy_account.get_balance(local_to, endpoint=s0) == 3 * ONE

    cross_hash = _send_transfer(s0, remote_to, 2 * ONE, 0, 1)
    _poll(lambda: hmy_transaction.get_transaction_receipt(cross_hash, endpoint=s0), 30, "the debit on shard 0")
    credit = _poll(lambda: hmy_transaction.get_cx_receipt_by_hash(cross_hash, endpoint=s1), 40,
                   "the credit on shard 1")
    assert credit["to"] == remote_to and credit["shardID"] == 0 and credit["toShardID"] == 1
    assert hmy_account.get_balance(remote_to, endpoint=s1) == 2 * ONE
    assert hmy_account.get_balance(remote_to, endpoint=s0) == 0

    # A validator with a new BLS key, created and then delegated to, both signed by pyhmy.
    secret = bls.generate_secret_key(b"\x31" * 32)
    operator = compute_address(bytes.fromhex(FUNDED_KEY))
    nonce = hmy_account.get_account_nonce(FUNDED, block_num="latest", endpoint=s0)
    create = hmy_staking_signing.sign_staking_transaction({
        "directive": Directive.CreateValidator, "validatorAddress": FUNDED, "name": "pyhmy-validator",
        "identity": "pyhmy", "website": "https://example.org", "security-contact": "ops", "details": "e2e",
        "rate": "0.1", "max-rate": "0.5", "max-change-rate": "0.05", "min-self-delegation": 10_000 * ONE,
        "max-total-delegation": 10_000_000 * ONE, "amount": 20_000 * ONE,
        "bls-public-keys": ["0x" + bls.secret_to_public(secret).hex()],
        "bls-key-sigs": ["0x" + sign_proof_of_possession(secret, operator).hex()],
        "nonce": nonce, "gasPrice": GAS_PRICE, "gasLimit": 6_000_000, "chainId": 2}, FUNDED_KEY)
    create_hash = hmy_transaction.send_raw_staking_transaction(create.rawTransaction.hex(), endpoint=s0)
    _poll(lambda: hmy_transaction.get_transaction_receipt(create_hash, endpoint=s0), 30, "the validator")
    assert hmy_transaction.get_staking_transaction_by_hash(create_hash, endpoint=s0)["type"] == "CreateValidator"
    info = hmy_staking.get_validator_information(FUNDED, endpoint=s0)
    assert info["validator"]["name"] == "pyhmy-validator" and info["total-delegation"] == 20_000 * ONE
    assert FUNDED in hmy_staking.get_all_validator_addresses(endpoint=s0)
    # Every node follows the beacon, so a shard's RPC node answers staking reads as well.
    assert hmy_staking.get_validator_information(FUNDED, endpoint=s1)["validator"]["address"] == FUNDED


def test_hmy_cli_transfers_staking_and_errors(localnet: LocalnetCli, tmp_path: Path) -> None:
    node = ("--node", localnet.get_rpc_url(0))
    home = tmp_path / "hmy-home"
    passphrase = tmp_path / "pass"
    passphrase.write_text("correct horse\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("wrong horse\n")
    pass_args = ("--passphrase-file", str(passphrase))
    run_hmy(home, "keys", "import-private-key", FUNDED_KEY, "funded", *pass_args, "--light")
    run_hmy(home, "keys", "add", "operator", *pass_args, "--light")
    keys = json.loads(run_hmy(home, "--json", "keys", "list").stdout)
    operator = next(k["address"] for k in (keys if isinstance(keys, list) else keys["keys"]) if k["name"] == "operator")

    balances = json.loads(run_hmy(home, *node, "--json", "balances", FUNDED).stdout)
    assert len(balances if isinstance(balances, list) else balances["balances"]) == 3

    run_hmy(home, *node, "transfer", "--from", FUNDED, "--to", operator, "--amount", "30000", "--from-shard", "0",
         "--to-shard", "0", "--wait", *pass_args)
    run_hmy(home, *node, "transfer", "--from", FUNDED, "--to", operator, "--amount", "1.5", "--from-shard", "0",
         "--to-shard", "2", "--wait", *pass_args)
    shards = json.loads(run_hmy(home, *node, "--json", "balances", operator).stdout)
    text = json.dumps(shards)
    assert "30000" in text and "1.5" in text

    # Refusals change nothing: bad address (usage), insufficient funds and wrong passphrase (node / key).
    assert run_hmy(home, *node, "transfer", "--from", FUNDED, "--to", "one1bad", "--amount", "1", "--from-shard", "0",
                "--to-shard", "0", *pass_args, check=False).returncode == 2
    poor = run_hmy(home, *node, "transfer", "--from", operator, "--to", FUNDED, "--amount", "99999999",
                "--from-shard", "0", "--to-shard", "0", *pass_args, check=False)
    assert poor.returncode == 1 and len(poor.stderr.strip().splitlines()) == 1 and "Error" in poor.stderr
    locked = run_hmy(home, *node, "transfer", "--from", FUNDED, "--to", operator, "--amount", "1", "--from-shard", "0",
                  "--to-shard", "0", "--passphrase-file", str(wrong), check=False)
    assert locked.returncode == 1 and "passphrase" in locked.stderr.lower()
    assert "30000" in json.dumps(json.loads(run_hmy(home, *node, "--json", "balances", operator).stdout))

    # The operator creates a validator with a BLS key of its own; the funded account delegates.
    bls_file = tmp_path / "validator.key"
    save_bls_key(bls_file, bls.generate_secret_key(b"\x32" * 32), "bls pass", scrypt_n=2**10)
    bls_pass = tmp_path / "bls-pass"
    bls_pass.write_text("bls pass\n")
    run_hmy(home, *node, "staking", "create-validator", "--validator-addr", operator, "--name", "cli-validator",
         "--identity", "cli", "--website", "https://cli.example", "--security-contact", "ops", "--details", "e2e",
         "--rate", "0.1", "--max-rate", "0.5", "--max-change-rate", "0.05", "--min-self-delegation", "10000",
         "--max-total-delegation", "1000000", "--amount", "20000", "--bls-key-file", str(bls_file),
         "--bls-passphrase-file", str(bls_pass), "--wait", *pass_args)
    run_hmy(home, *node, "staking", "delegate", "--delegator-addr", FUNDED, "--validator-addr", operator,
         "--amount", "500", "--wait", *pass_args)
    info = json.loads(run_hmy(home, *node, "--json", "blockchain", "validator", "information", operator).stdout)
    info_text = json.dumps(info)
    assert "cli-validator" in info_text
    delegations = json.loads(run_hmy(home, *node, "--json", "blockchain", "delegation", "by-delegator", FUNDED).stdout)
    assert operator in json.dumps(delegations)
    unknown = run_hmy(home, *node, "blockchain", "validator", "information", to_bech32(b"\x44" * 20), check=False)
    assert unknown.returncode == 1 and "not found" in unknown.stderr
    # The rest of the staking life: edit, undelegate; the operator's validator has earned nothing yet
    # (it is elected at the next epoch at the earliest), so collecting or compounding its self-stake's
    # reward is refused by the node with its reason.
    run_hmy(home, *node, "staking", "edit-validator", "--validator-addr", operator, "--details", "edited",
         "--wait", *pass_args)
    sent = run_hmy(home, *node, "--json", "staking", "undelegate", "--delegator-addr", FUNDED, "--validator-addr",
                operator, "--amount", "200", "--wait", *pass_args)
    undelegate_hash = json.loads(sent.stdout)["hash"]
    info_text = run_hmy(home, *node, "--json", "blockchain", "validator", "information", operator).stdout
    assert "edited" in info_text and '"undelegations"' in info_text
    for directive in ("collect-rewards", "compound-rewards"):
        refused = run_hmy(home, *node, "staking", directive, "--delegator-addr", operator, *pass_args, check=False)
        assert refused.returncode == 1 and "no rewards" in refused.stderr, refused.stderr
    assert json.loads(run_hmy(home, *node, "--json", "blockchain", "transaction", undelegate_hash).stdout)
    receipt = json.loads(run_hmy(home, *node, "--json", "blockchain", "receipt", undelegate_hash).stdout)
    assert "1" in json.dumps(receipt.get("status", receipt))
    dry = json.loads(run_hmy(home, *node, "--json", "transfer", "--from", FUNDED, "--to", operator, "--amount", "1",
                          "--from-shard", "0", "--to-shard", "0", "--dry-run", *pass_args).stdout)
    assert dry["sent"] is False and dry["raw"].startswith("0x")
    export_dir = tmp_path / "exported"
    export_dir.mkdir()
    run_hmy(home, "keys", "export-ks", "operator", str(export_dir))
    run_hmy(home, "keys", "remove", "operator", "--yes")
    run_hmy(home, "keys", "import-ks", str(next(export_dir.iterdir())), "operator-again", *pass_args)
    assert "operator-again" in run_hmy(home, "keys", "list").stdout
    for query in (("blockchain", "latest-header"), ("blockchain", "block", "1"), ("blockchain", "committees"),
                  ("blockchain", "median-stake"), ("blockchain", "pool"), ("utility", "shards"),
                  ("utility", "metadata"), ("blockchain", "validator", "all")):
        run_hmy(home, *node, *query)
