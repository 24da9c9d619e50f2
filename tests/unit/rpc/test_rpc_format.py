"""Harmony's JSON-RPC shapes (hmy_, hmyv2_, eth_) for blocks, transactions, receipts and headers.

The key sets below are written out from Harmony's Go structs (``rpc/harmony/v1/types.go``,
``v2/types.go``, ``eth/types.go``, ``rpc/harmony/types.go HeaderInformation``) so that a renamed or
missing field fails here. The eth_ shapes go through web3.py's own result formatters, and the
hmyv2_ ones through pyhmy's confirmation loop, which reads ``blockHash``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import rlp
from hexbytes import HexBytes
from web3 import Web3
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from chain_factory import CONFIG, KEY, SENDER, extend_chain, open_chain
from crypto.address import to_bech32, to_checksum_hex
from crypto.hash import keccak256
from crypto.secp256k1 import compute_address
from harmony_node.db.memory import MemoryStore
from harmony_node.rpc.format import (
    Flavour,
    compute_contract_address,
    compute_eth_form_hash,
    compute_gas_used,
    format_block,
    format_crosslink,
    format_cx_receipt,
    format_cx_receipts_proof,
    format_header_information,
    format_receipt,
    format_staking_receipt,
    format_staking_transaction,
    format_transaction,
    to_data,
    to_dec,
    to_quantity,
)
from harmony_node.types.block import Block, encode_block
from harmony_node.types.cx_receipt import CXMerkleProof, CXReceipt, CXReceiptsProof
from harmony_node.types.eth_transaction import LOCALNET_ETH_CHAIN_ID_BASE, sign_eth_transaction, to_harmony
from harmony_node.types.header import Header, make_header
from harmony_node.types.receipt import Log, Receipt, compute_receipts_bloom, make_receipt
from harmony_node.types.staking_transaction import (
    CollectRewards,
    CommissionRates,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Description,
    EditValidator,
    StakeMessage,
    StakingTransaction,
    Undelegate,
    sign_staking_transaction,
)
from harmony_node.types.transaction import Transaction, sign_transaction
from sharding.crosslink import CrossLink, encode_crosslinks

# --- Harmony's field lists, from the Go structs' json tags ---------------------------------------

BLOCK_HEADER_FIELDS = {  # v1/v2 BlockWithTxHash and BlockWithFullTx, up to "uncles"
    "number", "viewID", "epoch", "hash", "parentHash", "nonce", "mixHash", "logsBloom", "stateRoot", "miner",
    "difficulty", "extraData", "size", "gasLimit", "gasUsed", "vrf", "vrfProof", "timestamp",
    "transactionsRoot", "receiptsRoot", "uncles",
}
HMY_BLOCK_WITH_TX_HASH = BLOCK_HEADER_FIELDS | {"transactions", "transactionsInEthHash", "stakingTransactions"}
HMY_BLOCK_WITH_FULL_TX = BLOCK_HEADER_FIELDS | {"transactions", "stakingTransactions"}
ETH_BLOCK = {  # eth.Block + BlockWithTxHash / BlockWithFullTx
    "number", "hash", "parentHash", "nonce", "mixHash", "sha3Uncles", "logsBloom", "stateRoot", "miner",
    "difficulty", "extraData", "size", "gasLimit", "gasUsed", "vrf", "vrfProof", "timestamp",
    "transactionsRoot", "receiptsRoot", "uncles", "transactions",
}
HMY_TRANSACTION = {
    "blockHash", "blockNumber", "from", "timestamp", "gas", "gasPrice", "hash", "ethHash", "input", "nonce", "to",
    "transactionIndex", "value", "shardID", "toShardID", "v", "r", "s",
}
ETH_TRANSACTION = {
    "blockHash", "blockNumber", "from", "timestamp", "gas", "gasPrice", "hash", "input", "nonce", "to",
    "transactionIndex", "value", "v", "r", "s",
}
STAKING_TRANSACTION = {
    "blockHash", "blockNumber", "from", "timestamp", "gas", "gasPrice", "hash", "nonce", "transactionIndex",
    "v", "r", "s", "type", "msg",
}
CREATE_VALIDATOR_V1 = {
    "validatorAddress", "commissionRate", "maxCommissionRate", "maxChangeRate", "minSelfDelegation",
    "maxTotalDelegation", "amount", "name", "website", "identity", "securityContact", "details", "slotPubKeys",
}
EDIT_VALIDATOR_V1 = {
    "validatorAddress", "commissionRate", "minSelfDelegation", "maxTotalDelegation", "name", "website",
    "identity", "securityContact", "details", "slotPubKeyToAdd", "slotPubKeyToRemove",
}
MESSAGE_FIELDS = {
    (Flavour.V1, "CreateValidator"): CREATE_VALIDATOR_V1,
    (Flavour.V2, "CreateValidator"): CREATE_VALIDATOR_V1 | {"slotKeySigs"},
    (Flavour.V1, "EditValidator"): EDIT_VALIDATOR_V1,
    (Flavour.V2, "EditValidator"): EDIT_VALIDATOR_V1 | {"slotKeyToAddSig"},
}
HMY_RECEIPT = {
    "blockHash", "transactionHash", "blockNumber", "transactionIndex", "gasUsed", "cumulativeGasUsed",
    "contractAddress", "logs", "logsBloom", "shardID", "from", "to", "root", "status", "effectiveGasPrice",
}
HMY_STAKING_RECEIPT = {
    "blockHash", "transactionHash", "blockNumber", "transactionIndex", "gasUsed", "cumulativeGasUsed",
    "contractAddress", "logs", "logsBloom", "sender", "type", "root", "status", "effectiveGasPrice",
}
ETH_RECEIPT = {  # eth.NewReceipt's map, with "status" (a status receipt has no "root")
    "blockHash", "blockNumber", "transactionHash", "transactionIndex", "from", "to", "gasUsed",
    "cumulativeGasUsed", "contractAddress", "logs", "logsBloom", "effectiveGasPrice", "status",
}
LOG = {
    "address", "topics", "data", "blockNumber", "transactionHash", "transactionIndex", "blockHash", "logIndex",
    "removed",
}
CX_RECEIPT = {"blockHash", "blockNumber", "hash", "from", "to", "shardID", "toShardID", "value"}
HEADER_INFORMATION = {
    "blockHash", "blockNumber", "shardID", "leader", "viewID", "epoch", "timestamp", "unixtime", "lastCommitSig",
    "lastCommitBitmap", "vrf", "vrfProof",
}
CROSSLINK = {"hash", "block-number", "view-id", "signature", "signature-bitmap", "shard-id", "epoch-number"}
CX_RECEIPTS_PROOF = {"Receipts", "MerkleProof", "Header", "CommitSig", "CommitBitmap"}  # no json tags: Go names
GO_HEADER = {  # block/header.go Header.MarshalJSON
    "parentHash", "sha3Uncles", "nonce", "miner", "stateRoot", "transactionsRoot", "receiptsRoot", "logsBloom",
    "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData", "mixHash", "hash", "viewID", "epoch",
    "shardID",
}

ZERO_HASH = "0x" + "00" * 32
EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
HMY_FLAVOURS = (Flavour.V1, Flavour.V2)

# --- the block under test -------------------------------------------------------------------------

RECIPIENT = bytes(range(1, 21))
VALIDATOR = compute_address(bytes([7]) * 32)
LEADER = compute_address(bytes([9]) * 32)
CONTRACT_EMITTER = bytes([0xAB]) * 20
GAS_PRICE = CONFIG.min_gas_price
TIMESTAMP = 1_700_000_000  # 2023-11-14 22:13:20 UTC
VRF = bytes(range(128))
DESCRIPTION = Description("Val", "val-id", "https://val.example", "sec@val.example", "details")
SLOT_KEY = bytes([0xB1]) * 48
SLOT_SIG = bytes([0xC2]) * 96


def _pending(tx: Transaction, flavour: Flavour) -> Any:
    return _json(format_transaction(
        tx, flavour=flavour, block_hash=None, block_number=None, index=None, timestamp=None
    ))


def _pending_staking(tx: StakingTransaction, flavour: Flavour) -> Any:
    return _json(format_staking_transaction(
        tx, flavour=flavour, block_hash=None, block_number=None, index=None, timestamp=None
    ))


def _json(value: object) -> Any:
    """What a client receives: the value after a JSON round trip (fails on bytes, tuples, ...)."""
    text = json.dumps(value)
    decoded = json.loads(text)
    assert decoded == value, "the formatter returned something JSON does not carry unchanged"
    return decoded


def _transfer(nonce: int, *, to: bytes = RECIPIENT, to_shard_id: int = 0, data: bytes = b"") -> Transaction:
    return sign_transaction(
        nonce=nonce, gas_price=GAS_PRICE, gas_limit=50_000, shard_id=0, to_shard_id=to_shard_id, to=to,
        value=10**18 + nonce, data=data, private_key=KEY, chain_id=CONFIG.chain_id,
    )


def _eth_transfer(nonce: int) -> Transaction:
    eth_tx = sign_eth_transaction(
        nonce=nonce, gas_price=GAS_PRICE, gas_limit=21_000, to=RECIPIENT, value=5, data=b"",
        private_key=KEY, chain_id=LOCALNET_ETH_CHAIN_ID_BASE,
    )
    return to_harmony(eth_tx)


def _staking(message: StakeMessage, nonce: int) -> StakingTransaction:
    return sign_staking_transaction(
        message, nonce=nonce, gas_price=GAS_PRICE, gas_limit=100_000, private_key=KEY, chain_id=CONFIG.chain_id
    )


CREATE_VALIDATOR = CreateValidator(
    VALIDATOR, DESCRIPTION, CommissionRates(10**17, 9 * 10**17, 5 * 10**16), 10_000 * 10**18, 20_000 * 10**18,
    (SLOT_KEY,), (SLOT_SIG,), 15_000 * 10**18,
)
EDIT_VALIDATOR_FULL = EditValidator(
    VALIDATOR, DESCRIPTION, 2 * 10**17, 11_000 * 10**18, 30_000 * 10**18, SLOT_KEY, bytes([0xB2]) * 48, SLOT_SIG, 1
)
EDIT_VALIDATOR_EMPTY = EditValidator(VALIDATOR, DESCRIPTION, None, None, None, None, None, None, None)
DELEGATE = Delegate(SENDER, VALIDATOR, 1_000 * 10**18)


def _header(**fields: object) -> Header:
    defaults: dict[str, object] = {
        "number": 7, "parent_hash": bytes([1]) * 32, "coinbase": bytes([2]) * 20, "state_root": bytes([3]) * 32,
        "mix_digest": bytes([4]) * 32, "gas_limit": 30_000_000, "gas_used": 150_000, "timestamp": TIMESTAMP,
        "extra_data": b"hi", "view_id": 9, "epoch": 2, "vrf": VRF,
        "last_commit_signature": bytes([5]) * 96, "last_commit_bitmap": b"\x0f",
    }
    return make_header(**{**defaults, **fields})


class Fixture:
    """Block 7: three plain txs (Harmony-signed, cross-shard, Ethereum-signed), two staking txs, receipts with logs."""

    def __init__(self) -> None:
        self.transactions = (_transfer(0), _transfer(1, to_shard_id=1), _eth_transfer(2))
        self.staking = (_staking(DELEGATE, 3), _staking(CollectRewards(SENDER), 4))
        first_logs = [Log(CONTRACT_EMITTER, (bytes([1]) * 32,), b"\x01\x02"), Log(CONTRACT_EMITTER, (), b"")]
        self.receipts: tuple[Receipt, ...] = (
            make_receipt(succeeded=True, cumulative_gas_used=21_000, logs=first_logs),
            make_receipt(succeeded=False, cumulative_gas_used=42_000, logs=[]),
            make_receipt(succeeded=True, cumulative_gas_used=63_000, logs=[Log(CONTRACT_EMITTER, (), b"\x03")]),
            make_receipt(succeeded=True, cumulative_gas_used=100_000, logs=[]),
            make_receipt(succeeded=True, cumulative_gas_used=129_500, logs=[]),
        )
        header = _header(bloom=compute_receipts_bloom(self.receipts))
        self.block = Block(
            header=header, transactions=self.transactions, staking_transactions=self.staking, uncles=(),
            incoming_receipts=(),
        )
        self.header = self.block.header

    def format_transaction(self, index: int, flavour: Flavour) -> Any:
        return _json(format_transaction(
            self.transactions[index], flavour=flavour, block_hash=self.header.hash, block_number=self.header.number,
            index=index, timestamp=self.header.timestamp,
        ))

    def format_staking_transaction(self, index: int, flavour: Flavour) -> Any:
        return _json(format_staking_transaction(
            self.staking[index], flavour=flavour, block_hash=self.header.hash, block_number=self.header.number,
            index=index, timestamp=self.header.timestamp,
        ))

    def format_receipt(self, position: int, flavour: Flavour) -> Any:
        """The receipt at ``position`` of the block's list, given gas and log offset as an RPC handler derives them."""
        gas_used = compute_gas_used(self.receipts, position)
        first_log_index = sum(len(receipt.logs) for receipt in self.receipts[:position])
        if position < len(self.transactions):
            return _json(format_receipt(
                self.transactions[position], self.receipts[position], flavour=flavour, block_hash=self.header.hash,
                block_number=self.header.number, index=position, gas_used=gas_used, first_log_index=first_log_index,
            ))
        return _json(format_staking_receipt(
            self.staking[position - len(self.transactions)], self.receipts[position], flavour=flavour,
            block_hash=self.header.hash, block_number=self.header.number, index=position, gas_used=gas_used,
            first_log_index=first_log_index,
        ))


@pytest.fixture(scope="module")
def fx() -> Fixture:
    return Fixture()



# --- helpers ---------------------------------------------------------------------------------------


def test_quantity_is_minimal_hex_and_data_is_two_digits_a_byte() -> None:
    assert [to_quantity(n) for n in (0, 1, 255, 2**64)] == ["0x0", "0x1", "0xff", "0x10000000000000000"]
    assert to_data(b"") == "0x" and to_data(b"\x00\x0a") == "0x000a"
    with pytest.raises(ValueError):
        to_quantity(-1)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"), (5, "0.000000000000000005"), (10**17, "0.1"), (10**18, "1"), (15 * 10**17, "1.5"),
        (10**18 + 10, "1.00000000000000001"), (12_600_000_000 * 10**18, "12600000000"), (-25 * 10**16, "-0.25"),
    ],
)
def test_dec_is_harmonys_decimal_string_without_trailing_zeros(value: int, text: str) -> None:
    assert to_dec(value) == text


def test_gas_used_is_the_growth_of_the_cumulative_gas(fx: Fixture) -> None:
    gas = [compute_gas_used(fx.receipts, position) for position in range(len(fx.receipts))]
    assert gas == [21_000, 21_000, 21_000, 37_000, 29_500]


def test_eth_form_hash_is_convert_to_eth_for_every_transaction() -> None:
    harmony_signed = _transfer(0)
    eth_rlp = rlp.encode([
        harmony_signed.nonce, harmony_signed.gas_price, harmony_signed.gas_limit, harmony_signed.to,
        harmony_signed.value, harmony_signed.data, harmony_signed.v, harmony_signed.r, harmony_signed.s,
    ])
    assert compute_eth_form_hash(harmony_signed) == keccak256(eth_rlp) != harmony_signed.hash
    # A converted Ethereum transaction: the same hash its wallet computed.
    eth_tx = sign_eth_transaction(
        nonce=2, gas_price=GAS_PRICE, gas_limit=21_000, to=RECIPIENT, value=5, data=b"", private_key=KEY,
        chain_id=LOCALNET_ETH_CHAIN_ID_BASE,
    )
    assert compute_eth_form_hash(to_harmony(eth_tx)) == eth_tx.hash == to_harmony(eth_tx).eth_hash


def test_contract_address_matches_known_vectors() -> None:
    creator = bytes.fromhex("6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0")
    assert compute_contract_address(creator, 0).hex() == "cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d"
    assert compute_contract_address(creator, 1).hex() == "343c43a37d37dff08ae8c4a11544c718abb4fcf8"


# --- blocks ----------------------------------------------------------------------------------------


def _block(fx: Fixture, flavour: Flavour, *, full_tx: bool = False, include_staking: bool = True,
           signers: list[str] | None = None, leader: str | None = None) -> Any:
    return _json(format_block(fx.block, flavour=flavour, full_tx=full_tx, include_staking=include_staking,
                              signers=signers, leader=leader))


@pytest.mark.parametrize("flavour", HMY_FLAVOURS)
@pytest.mark.parametrize("full_tx", [False, True])
def test_hmy_block_has_harmonys_keys(fx: Fixture, flavour: Flavour, full_tx: bool) -> None:
    assert set(_block(fx, flavour, full_tx=full_tx)) == (HMY_BLOCK_WITH_FULL_TX if full_tx else HMY_BLOCK_WITH_TX_HASH)


@pytest.mark.parametrize("full_tx", [False, True])
def test_eth_block_has_harmonys_keys(fx: Fixture, full_tx: bool) -> None:
    assert set(_block(fx, Flavour.ETH, full_tx=full_tx)) == ETH_BLOCK


def test_v1_block_values(fx: Fixture) -> None:
    block = _block(fx, Flavour.V1, leader=to_bech32(LEADER))
    header = fx.header
    assert block["number"] == "0x7" and block["viewID"] == "0x9" and block["epoch"] == "0x2"
    assert block["hash"] == "0x" + header.hash.hex() and block["parentHash"] == "0x" + "01" * 32
    assert block["nonce"] == 0 and block["difficulty"] == 0  # Go uint64s: JSON numbers even under hmy_
    assert block["mixHash"] == "0x" + "04" * 32 and block["stateRoot"] == "0x" + "03" * 32
    assert block["logsBloom"] == "0x" + header.bloom.hex() and len(block["logsBloom"]) == 2 + 512
    assert block["miner"] == to_bech32(LEADER)
    assert block["extraData"] == "0x6869"
    assert block["size"] == hex(len(encode_block(fx.block)))
    assert block["gasLimit"] == hex(30_000_000) and block["gasUsed"] == hex(150_000)
    assert block["vrf"] == "0x" + VRF[:32].hex() and block["vrfProof"] == "0x" + VRF[32:].hex()
    assert block["timestamp"] == hex(TIMESTAMP)
    assert block["uncles"] == []
    assert block["transactions"] == ["0x" + tx.hash.hex() for tx in fx.transactions]
    assert block["transactionsInEthHash"] == ["0x" + compute_eth_form_hash(tx).hex() for tx in fx.transactions]
    assert block["stakingTransactions"] == ["0x" + tx.hash.hex() for tx in fx.staking]


def test_v2_block_numbers_are_integers(fx: Fixture) -> None:
    block = _block(fx, Flavour.V2, include_staking=False)
    assert (block["number"], block["viewID"], block["epoch"]) == (7, 9, 2)
    assert (block["size"], block["gasLimit"], block["gasUsed"]) == (len(encode_block(fx.block)), 30_000_000, 150_000)
    assert block["timestamp"] == TIMESTAMP and block["nonce"] == 0 and block["difficulty"] == 0
    assert block["miner"] == to_bech32(fx.header.coinbase)  # no leader given: the coinbase
    assert block["stakingTransactions"] == []  # hmyv2_ without inclStaking


def test_eth_block_values(fx: Fixture) -> None:
    block = _block(fx, Flavour.ETH, leader=to_bech32(LEADER))
    assert block["nonce"] == "0x0000000000000000" and block["difficulty"] == "0x0"
    assert block["sha3Uncles"] == EMPTY_UNCLES_HASH
    assert block["miner"] == "0x" + LEADER.hex()  # Go marshals common.Address in lower case
    assert block["number"] == "0x7" and block["timestamp"] == hex(TIMESTAMP)
    # Plain transactions only, each by its Ethereum-form hash.
    assert block["transactions"] == ["0x" + compute_eth_form_hash(tx).hex() for tx in fx.transactions]


@pytest.mark.parametrize("flavour", list(Flavour))
def test_signers_are_shown_as_given_and_absent_unless_given(fx: Fixture, flavour: Flavour) -> None:
    assert "signers" not in _block(fx, flavour, signers=None)
    assert "signers" not in _block(fx, flavour, signers=[])  # Go: `json:"signers,omitempty"`
    one_addresses = [to_bech32(SENDER), to_bech32(VALIDATOR)]
    assert _block(fx, flavour, signers=one_addresses)["signers"] == one_addresses


@pytest.mark.parametrize("flavour", HMY_FLAVOURS)
def test_full_block_carries_formatted_transactions(fx: Fixture, flavour: Flavour) -> None:
    block = _block(fx, flavour, full_tx=True)
    assert block["transactions"] == [fx.format_transaction(index, flavour) for index in range(3)]
    assert block["stakingTransactions"] == [fx.format_staking_transaction(index, flavour) for index in range(2)]
    assert [tx["type"] for tx in block["stakingTransactions"]] == ["Delegate", "CollectRewards"]
    assert _block(fx, flavour, full_tx=True, include_staking=False)["stakingTransactions"] == []


def test_eth_full_block_uses_eth_transactions(fx: Fixture) -> None:
    block = _block(fx, Flavour.ETH, full_tx=True)
    assert block["transactions"] == [fx.format_transaction(index, Flavour.ETH) for index in range(3)]
    assert [set(tx) for tx in block["transactions"]] == [ETH_TRANSACTION] * 3


# --- transactions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", list(Flavour))
def test_transaction_keys(fx: Fixture, flavour: Flavour) -> None:
    assert set(fx.format_transaction(0, flavour)) == (ETH_TRANSACTION if flavour is Flavour.ETH else HMY_TRANSACTION)


def test_v1_transaction_values(fx: Fixture) -> None:
    source = fx.transactions[1]
    assert fx.format_transaction(1, Flavour.V1) == {
        "blockHash": "0x" + fx.header.hash.hex(),
        "blockNumber": "0x7",
        "from": to_bech32(SENDER),
        "timestamp": hex(TIMESTAMP),
        "gas": hex(50_000),
        "gasPrice": hex(GAS_PRICE),
        "hash": "0x" + source.hash.hex(),
        "ethHash": "0x" + compute_eth_form_hash(source).hex(),
        "input": "0x",
        "nonce": "0x1",
        "to": to_bech32(RECIPIENT),
        "transactionIndex": "0x1",
        "value": hex(10**18 + 1),
        "shardID": 0,
        "toShardID": 1,
        "v": hex(source.v),
        "r": hex(source.r),
        "s": hex(source.s),
    }


def test_v2_transaction_numbers_are_integers_but_signature_stays_hex(fx: Fixture) -> None:
    source = fx.transactions[0]
    tx = fx.format_transaction(0, Flavour.V2)
    assert (tx["blockNumber"], tx["timestamp"], tx["gas"], tx["gasPrice"]) == (7, TIMESTAMP, 50_000, GAS_PRICE)
    assert (tx["nonce"], tx["transactionIndex"], tx["value"]) == (0, 0, 10**18)
    assert (tx["v"], tx["r"], tx["s"]) == (hex(source.v), hex(source.r), hex(source.s))


def test_eth_transaction_values(fx: Fixture) -> None:
    source = fx.transactions[2]
    tx = fx.format_transaction(2, Flavour.ETH)
    assert tx["hash"] == "0x" + source.eth_hash.hex()  # the hash the Ethereum wallet knows
    assert tx["from"] == "0x" + SENDER.hex() and tx["to"] == "0x" + RECIPIENT.hex()
    assert (tx["blockNumber"], tx["transactionIndex"], tx["value"]) == ("0x7", "0x2", "0x5")


@pytest.mark.parametrize(
    ("flavour", "block_hash", "index", "timestamp"),
    [(Flavour.V1, ZERO_HASH, "0x0", "0x0"), (Flavour.V2, ZERO_HASH, 0, 0), (Flavour.ETH, None, None, "0x0")],
)
def test_pending_transaction_block_fields(
    flavour: Flavour, block_hash: str | None, index: object, timestamp: object
) -> None:
    tx = _pending(_transfer(5), flavour)
    assert (tx["blockHash"], tx["blockNumber"], tx["transactionIndex"], tx["timestamp"]) == (
        block_hash, None, index, timestamp
    )


@pytest.mark.parametrize("flavour", list(Flavour))
def test_pending_staking_transaction_block_fields(flavour: Flavour) -> None:
    tx = _pending_staking(_staking(DELEGATE, 0), flavour)
    expected_index: object = 0 if flavour is Flavour.V2 else "0x0"
    assert (tx["blockHash"], tx["blockNumber"], tx["transactionIndex"]) == (ZERO_HASH, None, expected_index)


def test_an_included_transaction_needs_its_number_and_index() -> None:
    with pytest.raises(ValueError):
        format_transaction(_transfer(0), flavour=Flavour.V1, block_hash=bytes(32), block_number=None, index=0,
                           timestamp=0)


def test_contract_creation_shows_sender_as_hex_and_no_recipient() -> None:
    creation = _transfer(0, to=b"", data=b"\x60\x00")
    v1 = _pending(creation, Flavour.V1)
    assert v1["from"] == "0x" + SENDER.hex() and v1["to"] == ""
    eth = _pending(creation, Flavour.ETH)
    assert eth["to"] is None and eth["input"] == "0x6000"


# --- staking transactions --------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", list(Flavour))
def test_staking_transaction_keys_and_eth_uses_the_hmy_shape(fx: Fixture, flavour: Flavour) -> None:
    tx = fx.format_staking_transaction(0, flavour)
    assert set(tx) == STAKING_TRANSACTION
    assert tx["from"] == to_bech32(SENDER) and tx["hash"] == "0x" + fx.staking[0].hash.hex()
    assert tx["nonce"] == (3 if flavour is Flavour.V2 else "0x3")
    assert tx["v"] == hex(fx.staking[0].v)


@pytest.mark.parametrize("flavour", HMY_FLAVOURS)
def test_create_validator_message(flavour: Flavour) -> None:
    tx = _pending_staking(_staking(CREATE_VALIDATOR, 0), flavour)
    msg = tx["msg"]
    assert tx["type"] == "CreateValidator"
    assert set(msg) == MESSAGE_FIELDS[(flavour, "CreateValidator")]
    number = (lambda n: n) if flavour is Flavour.V2 else hex
    assert msg["validatorAddress"] == to_bech32(VALIDATOR)
    assert msg["commissionRate"] == number(10**17) and msg["maxCommissionRate"] == number(9 * 10**17)
    assert msg["maxChangeRate"] == number(5 * 10**16) and msg["amount"] == number(15_000 * 10**18)
    assert msg["minSelfDelegation"] == number(10_000 * 10**18)
    assert msg["maxTotalDelegation"] == number(20_000 * 10**18)
    assert (msg["name"], msg["identity"], msg["website"]) == ("Val", "val-id", "https://val.example")
    assert (msg["securityContact"], msg["details"]) == ("sec@val.example", "details")
    assert msg["slotPubKeys"] == [SLOT_KEY.hex()]  # bare hex: SerializedPublicKey.MarshalText
    if flavour is Flavour.V2:
        assert msg["slotKeySigs"] == [[0xC2] * 96]  # a Go [96]byte marshals as an array of numbers


@pytest.mark.parametrize("flavour", HMY_FLAVOURS)
def test_edit_validator_message(flavour: Flavour) -> None:
    full = _pending_staking(_staking(EDIT_VALIDATOR_FULL, 0), flavour)
    msg = full["msg"]
    assert full["type"] == "EditValidator" and set(msg) == MESSAGE_FIELDS[(flavour, "EditValidator")]
    number = (lambda n: n) if flavour is Flavour.V2 else hex
    assert msg["commissionRate"] == number(2 * 10**17)
    assert msg["minSelfDelegation"] == number(11_000 * 10**18)
    assert msg["slotPubKeyToRemove"] == SLOT_KEY.hex() and msg["slotPubKeyToAdd"] == "b2" * 48
    msg = _pending_staking(_staking(EDIT_VALIDATOR_EMPTY, 1), flavour)["msg"]
    assert msg["commissionRate"] == number(0)  # Go substitutes an empty big.Int for an unchanged rate
    assert msg["minSelfDelegation"] is None and msg["maxTotalDelegation"] is None
    assert msg["slotPubKeyToAdd"] is None and msg["slotPubKeyToRemove"] is None
    if flavour is Flavour.V2:
        assert full["msg"]["slotKeyToAddSig"] == [0xC2] * 96 and msg["slotKeyToAddSig"] is None


@pytest.mark.parametrize("flavour", HMY_FLAVOURS)
@pytest.mark.parametrize(
    ("message", "name", "fields"),
    [
        (DELEGATE, "Delegate", {"delegatorAddress", "validatorAddress", "amount"}),
        (Undelegate(SENDER, VALIDATOR, 5), "Undelegate", {"delegatorAddress", "validatorAddress", "amount"}),
        (CollectRewards(SENDER), "CollectRewards", {"delegatorAddress"}),
        (CompoundRewards(SENDER), "CompoundRewards", {"delegatorAddress"}),
    ],
)
def test_delegation_and_reward_messages(flavour: Flavour, message: StakeMessage, name: str, fields: set[str]) -> None:
    tx = _pending_staking(_staking(message, 0), flavour)
    assert tx["type"] == name and set(tx["msg"]) == fields
    assert tx["msg"]["delegatorAddress"] == to_bech32(SENDER)
    if "amount" in fields:
        assert tx["msg"]["validatorAddress"] == to_bech32(VALIDATOR)
        assert isinstance(tx["msg"]["amount"], int if flavour is Flavour.V2 else str)


# --- receipts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", list(Flavour))
def test_receipt_keys(fx: Fixture, flavour: Flavour) -> None:
    receipt = fx.format_receipt(0, flavour)
    assert set(receipt) == (ETH_RECEIPT if flavour is Flavour.ETH else HMY_RECEIPT)
    assert [set(log) for log in receipt["logs"]] == [LOG, LOG]


@pytest.mark.parametrize("flavour", HMY_FLAVOURS)
def test_staking_receipt_values(fx: Fixture, flavour: Flavour) -> None:
    receipt = fx.format_receipt(4, flavour)
    assert set(receipt) == HMY_STAKING_RECEIPT
    number = (lambda n: n) if flavour is Flavour.V2 else hex
    assert receipt["transactionIndex"] == number(4)  # the position in the block: 3 plain txs + staking index 1
    assert receipt["type"] == number(4)  # the directive: CollectRewards
    assert receipt["sender"] == to_bech32(SENDER)
    assert receipt["transactionHash"] == "0x" + fx.staking[1].hash.hex()
    assert receipt["gasUsed"] == number(29_500) and receipt["cumulativeGasUsed"] == number(129_500)
    assert receipt["contractAddress"] == "0x" + "00" * 20 and receipt["root"] == "0x"


def test_eth_has_no_staking_receipts(fx: Fixture) -> None:
    with pytest.raises(ValueError):
        format_staking_receipt(fx.staking[0], fx.receipts[3], flavour=Flavour.ETH, block_hash=fx.header.hash,
                               block_number=7, index=3, gas_used=37_000)


def test_v1_receipt_values(fx: Fixture) -> None:
    source = fx.transactions[1]
    assert fx.format_receipt(1, Flavour.V1) == {
        "blockHash": "0x" + fx.header.hash.hex(),
        "transactionHash": "0x" + source.hash.hex(),
        "blockNumber": "0x7",
        "transactionIndex": "0x1",
        "gasUsed": hex(21_000),
        "cumulativeGasUsed": hex(42_000),
        "contractAddress": "0x" + "00" * 20,
        "logs": [],
        "logsBloom": "0x" + "00" * 256,
        "shardID": 0,
        "from": to_bech32(SENDER),
        "to": to_bech32(RECIPIENT),
        "root": "0x",
        "status": "0x0",
        "effectiveGasPrice": hex(GAS_PRICE),
    }


def test_v2_receipt_numbers_are_integers(fx: Fixture) -> None:
    receipt = fx.format_receipt(2, Flavour.V2)
    assert (receipt["blockNumber"], receipt["transactionIndex"], receipt["gasUsed"]) == (7, 2, 21_000)
    assert (receipt["cumulativeGasUsed"], receipt["status"], receipt["effectiveGasPrice"]) == (63_000, 1, GAS_PRICE)


def test_logs_count_across_the_block(fx: Fixture) -> None:
    first = fx.format_receipt(0, Flavour.V2)
    assert [log["logIndex"] for log in first["logs"]] == ["0x0", "0x1"]  # logs are hex in every namespace
    assert first["logs"][0]["topics"] == ["0x" + "01" * 32]
    assert fx.format_receipt(2, Flavour.V2)["logs"] == [{
        "address": "0x" + CONTRACT_EMITTER.hex(),
        "topics": [],
        "data": "0x03",
        "blockNumber": "0x7",
        "transactionHash": "0x" + fx.transactions[2].hash.hex(),
        "transactionIndex": "0x2",
        "blockHash": "0x" + fx.header.hash.hex(),
        "logIndex": "0x2",
        "removed": False,
    }]


def test_eth_receipt_values(fx: Fixture) -> None:
    receipt = fx.format_receipt(2, Flavour.ETH)
    eth_hash = "0x" + fx.transactions[2].eth_hash.hex()
    assert receipt["transactionHash"] == eth_hash
    assert receipt["logs"][0]["transactionHash"] == eth_hash  # eth_ rewrites the logs' hash too
    assert receipt["from"] == "0x" + SENDER.hex() and receipt["to"] == "0x" + RECIPIENT.hex()
    assert receipt["contractAddress"] is None and receipt["status"] == "0x1"
    assert receipt["gasUsed"] == hex(21_000) and receipt["effectiveGasPrice"] == hex(GAS_PRICE)


def test_contract_creation_receipt() -> None:
    creation = _transfer(3, to=b"", data=b"\x60\x00")
    receipt = make_receipt(succeeded=True, cumulative_gas_used=60_000, logs=[])
    contract = "0x" + compute_contract_address(SENDER, 3).hex()

    def build(flavour: Flavour) -> Any:
        return _json(format_receipt(creation, receipt, flavour=flavour, block_hash=bytes([1]) * 32, block_number=1,
                                    index=0, gas_used=60_000))

    v1 = build(Flavour.V1)
    assert v1["contractAddress"] == contract
    assert v1["from"] == to_checksum_hex(SENDER) and v1["to"] == ""  # Address.String() is EIP-55
    eth = build(Flavour.ETH)
    assert eth["contractAddress"] == contract and eth["to"] is None


def test_receipts_of_an_imported_block() -> None:
    chain = open_chain(MemoryStore())
    block, _ = extend_chain(chain, 2, txs_per_block=3)[-1]
    receipts = chain.chain_store.get_receipts(block.hash)
    tx = block.transactions[2]
    location = chain.chain_store.get_tx_location(tx.hash)
    receipt = _json(format_receipt(
        tx, receipts[location.index], flavour=Flavour.V2, block_hash=block.hash, block_number=location.block_number,
        index=location.index, gas_used=compute_gas_used(receipts, location.index),
    ))
    assert receipt["transactionHash"] == "0x" + tx.hash.hex() and receipt["blockNumber"] == 2
    assert receipt["gasUsed"] == 21_000 and receipt["cumulativeGasUsed"] == 63_000 and receipt["status"] == 1
    assert receipt["from"] == to_bech32(SENDER) and receipt["transactionIndex"] == 2


# --- cross-shard receipts, crosslinks and headers --------------------------------------------------


@pytest.mark.parametrize("flavour", list(Flavour))
def test_cx_receipt(fx: Fixture, flavour: Flavour) -> None:
    source = fx.transactions[1]
    cx = CXReceipt(source.hash, SENDER, RECIPIENT, 0, 1, source.value)
    receipt = _json(format_cx_receipt(cx, flavour=flavour, block_hash=fx.header.hash, block_number=7))
    assert set(receipt) == CX_RECEIPT
    number = (lambda n: n) if flavour is Flavour.V2 else hex  # eth_ answers with the hmy_ shape
    assert receipt == {
        "blockHash": "0x" + fx.header.hash.hex(),
        "blockNumber": number(7),
        "hash": "0x" + source.hash.hex(),
        "from": to_bech32(SENDER),
        "to": to_bech32(RECIPIENT),
        "shardID": 0,
        "toShardID": 1,
        "value": number(10**18 + 1),
    }


def test_pending_cx_receipts_proof_is_the_go_struct(fx: Fixture) -> None:
    source_header = _header(shard_id=1, coinbase=LEADER)
    cx = CXReceipt(bytes([8]) * 32, SENDER, RECIPIENT, 1, 0, 42)
    proof = CXReceiptsProof(
        receipts=(cx,),
        merkle_proof=CXMerkleProof(7, source_header.hash, 1, bytes([9]) * 32, (0,), (bytes([10]) * 32,)),
        header=source_header, commit_signature=bytes([5]) * 96, commit_bitmap=b"\x0f", commit_view=9,
    )
    result = _json(format_cx_receipts_proof(proof))
    assert set(result) == CX_RECEIPTS_PROOF and set(result["Header"]) == GO_HEADER
    assert result["Receipts"] == [{
        "TxHash": "0x" + "08" * 32, "From": "0x" + SENDER.hex(), "To": "0x" + RECIPIENT.hex(), "ShardID": 1,
        "ToShardID": 0, "Amount": 42,
    }]
    assert result["MerkleProof"] == {
        "BlockNum": 7, "BlockHash": "0x" + source_header.hash.hex(), "ShardID": 1, "CXReceiptHash": "0x" + "09" * 32,
        "ShardIDs": [0], "CXShardHashes": ["0x" + "0a" * 32],
    }
    header = result["Header"]
    assert header["hash"] == "0x" + source_header.hash.hex() and header["miner"] == "0x" + LEADER.hex()
    assert (header["number"], header["viewID"], header["epoch"], header["shardID"]) == ("0x7", 9, 2, 1)
    assert header["sha3Uncles"] == ZERO_HASH and header["difficulty"] == "0x0"
    assert result["CommitSig"] == base64.b64encode(bytes([5]) * 96).decode() and result["CommitBitmap"] == "Dw=="


def test_crosslink() -> None:
    link = CrossLink(bytes([6]) * 32, 5, 6, bytes([7]) * 96, b"\x07", 1, 1)
    assert _json(format_crosslink(link)) == {
        "hash": "0x" + "06" * 32, "block-number": 5, "view-id": 6, "signature": "07" * 96,
        "signature-bitmap": "07", "shard-id": 1, "epoch-number": 1,
    }


def test_header_information_on_a_shard() -> None:
    header = _header(shard_id=1)
    info = _json(format_header_information(header, leader=to_bech32(LEADER)))
    assert set(info) == HEADER_INFORMATION  # crossLinks only on the beacon shard
    assert info == {
        "blockHash": "0x" + header.hash.hex(),
        "blockNumber": 7,
        "shardID": 1,
        "leader": to_bech32(LEADER),
        "viewID": 9,
        "epoch": 2,
        "timestamp": "2023-11-14 22:13:20 +0000 UTC",
        "unixtime": TIMESTAMP,
        "lastCommitSig": "05" * 96,
        "lastCommitBitmap": "0f",
        "vrf": VRF[:32].hex(),
        "vrfProof": VRF[32:].hex(),
    }


def test_header_information_without_a_vrf_shows_zeros() -> None:
    info = _json(format_header_information(_header(shard_id=1, vrf=b""), leader=to_bech32(VALIDATOR)))
    assert info["vrf"] == "00" * 32 and info["vrfProof"] == ""


def test_beacon_header_information_lists_crosslinks() -> None:
    link = CrossLink(bytes([6]) * 32, 5, 6, bytes([7]) * 96, b"\x07", 1, 1)
    leader = to_bech32(LEADER)
    info = _json(format_header_information(_header(shard_id=0, cross_links=encode_crosslinks([link])), leader=leader))
    assert set(info) == HEADER_INFORMATION | {"crossLinks"}
    assert info["crossLinks"] == [_json(format_crosslink(link))]
    assert set(info["crossLinks"][0]) == CROSSLINK
    assert _json(format_header_information(_header(shard_id=0), leader=leader))["crossLinks"] == []
    undecodable = _header(shard_id=0, cross_links=b"\xc1")
    assert _json(format_header_information(undecodable, leader=leader))["crossLinks"] == []


# --- outside parsers -------------------------------------------------------------------------------


class _FormattingProvider(BaseProvider):
    """A web3 provider answering from our formatter, so web3.py's own result formatters parse our shapes."""

    def __init__(self, fx: Fixture, *, pending: bool = False) -> None:
        super().__init__()
        self.fx = fx
        self.pending = pending

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        fx = self.fx
        result: object
        if method == "eth_getBlockByNumber":
            result = format_block(fx.block, flavour=Flavour.ETH, full_tx=params[1], include_staking=False,
                                  signers=[to_bech32(SENDER)], leader=to_bech32(LEADER))
        elif method == "eth_getTransactionByHash":
            pending = _pending(fx.transactions[2], Flavour.ETH)
            result = pending if self.pending else fx.format_transaction(2, Flavour.ETH)
        elif method == "eth_getTransactionReceipt":
            result = fx.format_receipt(0, Flavour.ETH)
        else:
            raise AssertionError(f"unexpected call {method}")
        return {"jsonrpc": "2.0", "id": 1, "result": _json(result)}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def test_web3_parses_eth_blocks(fx: Fixture) -> None:
    w3 = Web3(_FormattingProvider(fx))
    block = w3.eth.get_block(7)
    assert block["number"] == 7 and block["hash"] == fx.header.hash
    assert block["miner"] == Web3.to_checksum_address(LEADER) and block["difficulty"] == 0
    assert block["transactions"] == [compute_eth_form_hash(tx) for tx in fx.transactions]
    full = w3.eth.get_block(7, full_transactions=True)
    first = full["transactions"][0]
    assert not isinstance(first, bytes)  # a parsed transaction, not a hash
    assert first["from"] == Web3.to_checksum_address(SENDER) and first["value"] == 10**18
    assert first["blockNumber"] == 7 and first["transactionIndex"] == 0


def test_web3_parses_eth_transactions_and_receipts(fx: Fixture) -> None:
    w3 = Web3(_FormattingProvider(fx))
    tx = w3.eth.get_transaction(HexBytes(fx.transactions[2].eth_hash))
    assert tx["hash"] == fx.transactions[2].eth_hash and tx["to"] == Web3.to_checksum_address(RECIPIENT)
    assert tx["blockNumber"] == 7 and tx["nonce"] == 2 and tx["gasPrice"] == GAS_PRICE
    receipt = w3.eth.get_transaction_receipt(HexBytes(fx.transactions[0].hash))
    assert receipt["status"] == 1 and receipt["gasUsed"] == 21_000 and receipt["contractAddress"] is None
    assert [log["logIndex"] for log in receipt["logs"]] == [0, 1]
    assert receipt["logs"][0]["address"] == Web3.to_checksum_address(CONTRACT_EMITTER)
    pending = Web3(_FormattingProvider(fx, pending=True)).eth.get_transaction(HexBytes(fx.transactions[2].eth_hash))
    assert pending["blockHash"] is None and pending["blockNumber"] is None


@pytest.fixture
def pyhmy_answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Routes pyhmy's requests to a queue of hmyv2_getTransactionByHash results; no sleeping between polls."""
    import pyhmy.rpc.request
    import pyhmy.transaction

    answers: list[object] = []

    def base_request(method: str, params: object = None, endpoint: str = "", timeout: int = 0) -> str:
        if method == "hmyv2_sendRawTransaction":
            result: object = "0x" + "aa" * 32
        else:
            assert method == "hmyv2_getTransactionByHash"
            result = answers.pop(0) if len(answers) > 1 else answers[0]
        return json.dumps({"jsonrpc": "2.0", "id": "1", "result": result})

    monkeypatch.setattr(pyhmy.rpc.request, "base_request", base_request)
    monkeypatch.setattr(pyhmy.transaction.random, "uniform", lambda low, high: 0)
    yield answers


def test_pyhmy_waits_until_a_transaction_leaves_the_pool(fx: Fixture, pyhmy_answers: list[object]) -> None:
    from pyhmy import transaction as pyhmy_transaction

    mined = fx.format_transaction(0, Flavour.V2)
    pyhmy_answers.extend([_pending(fx.transactions[0], Flavour.V2), mined])
    assert pyhmy_transaction.send_and_confirm_raw_transaction("0x00", timeout=5) == mined


def test_pyhmy_does_not_confirm_a_pending_transaction(pyhmy_answers: list[object]) -> None:
    from pyhmy import transaction as pyhmy_transaction
    from pyhmy.exceptions import TxConfirmationTimedoutError

    pyhmy_answers.append(_pending(_transfer(9), Flavour.V2))
    with pytest.raises(TxConfirmationTimedoutError):
        pyhmy_transaction.send_and_confirm_raw_transaction("0x00", timeout=0.2)
