"""The hmy_/hmyv2_/eth_ methods over a real beacon chain (LevelDB, epoch rules, staking) and pool.

Requests go through the dispatcher as JSON, exactly as the server hands them over; the chain is
driven by its committee (``two_chains``). What a wallet or pyhmy reads is checked field by field:
numbers hex in v1 and decimal in v2, one1 addresses, transactions found by both hashes, receipts
with the gas each used, validators and delegations after staking transactions, and refusals that
leave the pool unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from crypto import bls
from crypto.address import to_bech32
from crypto.secp256k1 import compute_address
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.epochs import NetworkEpochs
from harmony_node.chain.genesis import Genesis
from harmony_node.rpc.backend import NodeInfo, RPCBackend, ShardEndpoint
from harmony_node.rpc.dispatch import CallContext
from harmony_node.rpc.namespaces import build_dispatcher
from harmony_node.rpc.subscriptions import Subscriptions
from harmony_node.txpool import TxPool, TxPoolConfig
from harmony_node.types.eth_transaction import encode_eth_transaction, sign_eth_transaction
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CollectRewards,
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    encode_staking_transaction,
    sign_staking_transaction,
)
from harmony_node.types.transaction import encode_transaction, sign_transaction
from staking.transactions import sign_proof_of_possession
from two_chains import build_next, finalize, open_two_chains

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
OPERATOR = compute_address(KEY)
DELEGATOR_KEY = b"\x07" * 32
DELEGATOR = compute_address(DELEGATOR_KEY)
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 9)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
NEW_KEY_SECRET = bls.generate_secret_key(b"\x42" * 32)
CONFIG = ChainConfig(num_shards=2, blocks_per_epoch=4)
GENESIS = Genesis("localnet", CONFIG, 1_700_000_000, b"", ((OPERATOR, 1_000_000 * ONE), (DELEGATOR, 10_000 * ONE)),
                  committees=(tuple(KEYS[:4]), tuple(KEYS[4:])))
PRICE = CONFIG.min_gas_price
RECIPIENT = b"\x55" * 20


def _secret_of(public_key: bytes) -> int:
    return NEW_KEY_SECRET if public_key == bls.secret_to_public(NEW_KEY_SECRET) else SECRETS[KEYS.index(public_key)]


class Node:
    """A beacon chain, its pool and the RPC dispatcher over them."""

    def __init__(self, epochs: NetworkEpochs, beacon: Blockchain) -> None:
        self.beacon = beacon
        self.pool = TxPool(TxPoolConfig(), CONFIG, 0, beacon.get_state(),
                           validate_staking=beacon.validate_staking_message)
        info = NodeInfo("0.1.0", "12D3KooWtest", "ExplorerNode", (), 1_700_000_000)
        endpoints = (ShardEndpoint(0, "http://127.0.0.1:9500", "ws://127.0.0.1:9500"),
                     ShardEndpoint(1, "http://127.0.0.1:9502", "ws://127.0.0.1:9502"))
        self.backend = RPCBackend(0, GENESIS, info, endpoints, lambda s: beacon if s == 0 else None,
                                  lambda s: self.pool if s == 0 else None)
        self.dispatcher = build_dispatcher(self.backend, Subscriptions())

    def request(self, method: str, *params: Any) -> dict[str, Any]:
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}).encode()
        answer = trio.run(self.dispatcher.handle_body, body, CallContext("127.0.0.1", "http"))
        assert answer is not None
        decoded: dict[str, Any] = json.loads(answer)
        assert decoded["id"] == 7
        return decoded

    def call(self, method: str, *params: Any) -> Any:
        answer = self.request(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        answer = self.request(method, *params)
        assert "result" not in answer, answer
        error: dict[str, Any] = answer["error"]
        return error

    def commit_pool(self) -> None:
        txs, staking = self.pool.get_executable_with_staking(100, CONFIG.block_gas_limit)
        block, view = build_next(self.beacon, _secret_of, txs=txs, staking=staking)
        finalize(self.beacon, block, view, _secret_of)
        self.pool.reset(self.beacon.get_state())


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with open_two_chains(tmp_path, GENESIS) as (epochs, beacon, _):
        yield Node(epochs, beacon)


def _transfer(nonce: int, value: int = ONE) -> bytes:
    return encode_transaction(sign_transaction(nonce=nonce, gas_price=PRICE, gas_limit=21_000, shard_id=0,
                                               to_shard_id=0, to=RECIPIENT, value=value, data=b"", private_key=KEY,
                                               chain_id=CONFIG.chain_id))


def test_chain_facts_hex_in_v1_and_decimal_in_v2(node: Node) -> None:
    node.commit_pool()
    assert node.call("hmy_chainId") == hex(CONFIG.chain_id)
    assert node.call("hmyv2_chainId") == CONFIG.chain_id
    assert node.call("eth_chainId") == hex(CONFIG.get_eth_chain_id(0))
    assert node.call("hmy_blockNumber") == "0x1" and node.call("hmyv2_blockNumber") == 1
    assert node.call("hmyv2_getEpoch") == 1
    assert node.call("hmyv2_gasPrice") == PRICE and node.call("eth_gasPrice") == hex(PRICE)
    assert node.call("hmyv2_getShardingStructure") == [
        {"current": True, "http": "http://127.0.0.1:9500", "shardID": 0, "ws": "ws://127.0.0.1:9500"},
        {"current": False, "http": "http://127.0.0.1:9502", "shardID": 1, "ws": "ws://127.0.0.1:9502"}]
    assert node.call("net_version") == str(CONFIG.get_eth_chain_id(0))
    assert node.call("hmyv2_getBalance", to_bech32(OPERATOR)) == 1_000_000 * ONE
    assert node.call("hmy_getBalance", "0x" + OPERATOR.hex(), "latest") == hex(1_000_000 * ONE)
    assert node.call("eth_getBalance", "0x" + OPERATOR.hex(), "latest") == hex(1_000_000 * ONE)
    assert node.call("hmyv2_getBalanceByBlockNumber", to_bech32(OPERATOR), 0) == 1_000_000 * ONE


def test_a_transfer_from_submission_to_receipt(node: Node) -> None:
    tx_hash = node.call("hmyv2_sendRawTransaction", "0x" + _transfer(0).hex())
    assert node.call("hmyv2_getPoolStats") == {"executable-count": 1, "non-executable-count": 0}
    assert node.call("hmyv2_getTransactionCount", to_bech32(OPERATOR), "pending") == 1
    assert node.call("hmyv2_getTransactionCount", to_bech32(OPERATOR), "latest") == 0
    pending = node.call("hmyv2_getTransactionByHash", tx_hash)
    assert pending["hash"] == tx_hash and pending["blockNumber"] is None
    assert [tx["hash"] for tx in node.call("hmyv2_pendingTransactions")] == [tx_hash]
    assert node.call("hmyv2_getTransactionReceipt", tx_hash) is None

    node.commit_pool()
    found = node.call("hmyv2_getTransactionByHash", tx_hash)
    assert found["blockNumber"] == 1 and found["transactionIndex"] == 0
    assert found["from"] == to_bech32(OPERATOR) and found["to"] == to_bech32(RECIPIENT) and found["value"] == ONE
    receipt = node.call("hmyv2_getTransactionReceipt", tx_hash)
    assert receipt["status"] == 1 and receipt["gasUsed"] == 21_000 and receipt["blockNumber"] == 1
    assert node.call("hmy_getTransactionReceipt", tx_hash)["gasUsed"] == hex(21_000)
    block = node.call("hmyv2_getBlockByNumber", 1, {"fullTx": True, "withSigners": True, "inclStaking": True})
    assert [tx["hash"] for tx in block["transactions"]] == [tx_hash]
    assert len(block["signers"]) == 4  # every member of the genesis committee signed
    assert node.call("hmyv2_getBlockByHash", block["hash"], {"fullTx": False})["transactions"] == [tx_hash]
    assert node.call("hmyv2_getTransactionByBlockNumberAndIndex", 1, 0)["hash"] == tx_hash
    assert node.call("hmyv2_getBlockTransactionCountByNumber", 1) == 1
    assert len(node.call("hmyv2_getBlockSignerKeys", 1)) == 4
    assert node.call("hmyv2_getBalance", to_bech32(RECIPIENT)) == ONE
    assert node.call("hmyv2_getBlockReceipts", block["hash"])[0]["transactionHash"] == tx_hash


def test_an_ethereum_transaction_is_known_by_its_ethereum_hash(node: Node) -> None:
    tx = sign_eth_transaction(nonce=0, gas_price=PRICE, gas_limit=21_000, to=RECIPIENT, value=ONE, data=b"",
                              private_key=KEY, chain_id=CONFIG.get_eth_chain_id(0))
    raw = encode_eth_transaction(tx)
    eth_hash = node.call("eth_sendRawTransaction", "0x" + raw.hex())
    assert eth_hash == "0x" + tx.hash.hex()
    assert node.call("eth_getTransactionByHash", eth_hash)["blockHash"] is None
    node.commit_pool()
    found = node.call("eth_getTransactionByHash", eth_hash)
    assert found["hash"] == eth_hash and found["blockNumber"] == "0x1"
    assert found["from"].lower() == "0x" + OPERATOR.hex()
    receipt = node.call("eth_getTransactionReceipt", eth_hash)
    assert receipt["status"] == "0x1" and receipt["transactionHash"] == eth_hash
    block = node.call("eth_getBlockByNumber", "0x1", False)
    assert block["transactions"] == [eth_hash]
    assert node.call("eth_getBlockByNumber", "0x99", False) is None  # tools poll for future blocks


def test_bad_transactions_are_refused_with_a_reason_and_change_nothing(node: Node) -> None:
    node.call("hmyv2_sendRawTransaction", "0x" + _transfer(5).hex())  # a future nonce waits in the queue
    before = node.call("hmyv2_getPoolStats")
    assert before == {"executable-count": 0, "non-executable-count": 1}
    assert "already known" in node.error("hmyv2_sendRawTransaction", "0x" + _transfer(5).hex())["message"]
    for raw in ("0x", "0xzz", "0xc0", "0x" + _transfer(0, value=10**30).hex()):
        error = node.error("hmyv2_sendRawTransaction", raw)
        assert error["code"] in (-32000, -32602) and error["message"]
    staking_as_plain = node.error("hmyv2_sendRawTransaction", "0x" + _create_validator().hex())
    assert "sendRawStakingTransaction" in staking_as_plain["message"]
    assert node.error("eth_sendRawTransaction", "0x" + _transfer(0).hex())["code"] == -32000
    assert node.call("hmyv2_getPoolStats") == before


def test_bad_parameters_name_the_argument(node: Node) -> None:
    assert "address" in node.error("hmyv2_getBalance", "one1notanaddress")["message"]
    assert node.error("hmyv2_getBalance")["code"] == -32602
    assert node.error("hmyv2_getBlockByNumber", "0xzz")["code"] == -32602
    assert node.error("hmyv2_getBlockByNumber", 10**6)["message"].startswith("requested block number greater")
    assert node.call("hmyv2_getBlockByHash", "0x" + "00" * 32) is None
    assert node.error("hmyv2_getBalance", to_bech32(OPERATOR), "latest", "extra")["code"] == -32602
    assert node.error("hmyv2_noSuchMethod")["code"] == -32601


def _create_validator() -> bytes:
    create = CreateValidator(OPERATOR, Description("operator", "op", "https://op.example", "sec", "details"),
                             CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 20),
                             10_000 * ONE, 1_000_000 * ONE, (bls.secret_to_public(NEW_KEY_SECRET),),
                             (sign_proof_of_possession(NEW_KEY_SECRET, OPERATOR),), 20_000 * ONE)
    return encode_staking_transaction(sign_staking_transaction(create, nonce=0, gas_price=PRICE, gas_limit=6_000_000,
                                                               private_key=KEY, chain_id=CONFIG.chain_id))


def test_validators_and_delegations_after_staking_transactions(node: Node) -> None:
    create_hash = node.call("hmyv2_sendRawStakingTransaction", "0x" + _create_validator().hex())
    delegate = sign_staking_transaction(Delegate(DELEGATOR, OPERATOR, 1_000 * ONE), nonce=0, gas_price=PRICE,
                                        gas_limit=6_000_000, private_key=DELEGATOR_KEY, chain_id=CONFIG.chain_id)
    # Checked against the head's records, as Harmony's pool does: no validator there yet.
    early = node.error("hmyv2_sendRawStakingTransaction", "0x" + encode_staking_transaction(delegate).hex())
    assert "no validator" in early["message"]
    assert len(node.call("hmyv2_pendingStakingTransactions")) == 1
    node.commit_pool()
    node.call("hmyv2_sendRawStakingTransaction", "0x" + encode_staking_transaction(delegate).hex())
    node.commit_pool()
    assert node.call("hmyv2_getStakingTransactionByHash", create_hash)["type"] == "CreateValidator"
    assert node.call("hmyv2_getTransactionReceipt", create_hash)["status"] == 1
    assert node.call("hmyv2_getAllValidatorAddresses") == [to_bech32(OPERATOR)]
    info = node.call("hmyv2_getValidatorInformation", to_bech32(OPERATOR))
    validator = info["validator"]
    assert validator["name"] == "operator" and validator["rate"] == "0.1"
    assert validator["bls-public-keys"] == [bls.secret_to_public(NEW_KEY_SECRET).hex()]
    assert info["total-delegation"] == 21_000 * ONE and info["active-status"] == "active"
    assert info["epos-status"] == "eligible to be elected next epoch" and not info["currently-in-committee"]
    assert [d["amount"] for d in validator["delegations"]] == [20_000 * ONE, 1_000 * ONE]
    by_delegator = node.call("hmyv2_getDelegationsByDelegator", to_bech32(DELEGATOR))
    assert by_delegator == [{"validator_address": to_bech32(OPERATOR), "delegator_address": to_bech32(DELEGATOR),
                             "amount": 1_000 * ONE, "reward": 0, "Undelegations": []}]
    assert len(node.call("hmyv2_getDelegationsByValidator", to_bech32(OPERATOR))) == 2
    assert node.call("hmyv2_getValidatorSelfDelegation", to_bech32(OPERATOR)) == 20_000 * ONE
    assert node.call("hmyv2_getTotalStaking") == 21_000 * ONE
    assert node.call("hmyv2_getMedianRawStakeSnapshot")["epos-median-stake"] == "21000"
    network = node.call("hmyv2_getStakingNetworkInfo")
    assert network["total-staking"] == 21_000 * ONE and network["epoch-last-block"] == 4
    assert node.error("hmyv2_getValidatorInformation", to_bech32(DELEGATOR))["code"] == -32000
    assert node.call("hmyv2_getDelegationByDelegatorAndValidator", to_bech32(DELEGATOR), to_bech32(OPERATOR))
    by_block = [node.call("hmyv2_getValidatorInformationByBlockNumber", to_bech32(OPERATOR), n)["total-delegation"]
                for n in (1, 2)]
    assert by_block == [20_000 * ONE, 21_000 * ONE]  # created in block 1, delegated to in block 2
    # The staking rules run at submission: nothing earned yet, nothing to collect; the pool is unchanged.
    collect = sign_staking_transaction(CollectRewards(DELEGATOR), nonce=1, gas_price=PRICE, gas_limit=6_000_000,
                                       private_key=DELEGATOR_KEY, chain_id=CONFIG.chain_id)
    refused = node.error("hmyv2_sendRawStakingTransaction", "0x" + encode_staking_transaction(collect).hex())
    assert refused["code"] == -32000 and "no rewards to collect" in refused["message"]
    again = node.error("hmyv2_sendRawStakingTransaction", "0x" + _create_validator().hex())
    assert again["code"] == -32000 and node.call("hmyv2_getPoolStats")["executable-count"] == 0


def test_committees_leader_and_header(node: Node) -> None:
    node.commit_pool()
    committees = node.call("hmyv2_getSuperCommittees")
    members = committees["current"]["quorum-deciders"]["0"]["committee-members"]
    assert {m["bls-public-key"] for m in members} | {
        m["bls-public-key"] for m in committees["current"]["quorum-deciders"]["1"]["committee-members"]
    } == {key.hex() for key in KEYS}
    header = node.call("hmyv2_latestHeader")
    assert header["blockNumber"] == 1 and header["shardID"] == 0 and header["leader"].startswith("one1")
    assert node.call("hmyv2_getLeader") == header["leader"]
    assert node.call("hmyv2_getValidatorKeys", 1) == [m["bls-public-key"] for m in members]
    assert node.call("hmyv2_isLastBlock", 4) and not node.call("hmyv2_isLastBlock", 3)
    assert node.call("hmyv2_epochLastBlock", 1) == 4
    # Genesis alone so far (block 1 pays the signers of block 0, which has none); ONE as a decimal string.
    assert node.call("hmyv2_getTotalSupply") == "1010000" == node.call("hmyv2_getCirculatingSupply")
