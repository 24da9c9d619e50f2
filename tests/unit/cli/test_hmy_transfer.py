"""``hmy transfer``: signing offline (checked against pyhmy), dry runs, sending and waiting, against a stub node."""

from __future__ import annotations

import io
import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hmy_stub_node import (
    LOCALNET_ADDRESS,
    LOCALNET_KEY,
    LOCALNET_ONE,
    RpcFailure,
    StubNode,
    compute_sent_hash,
    run_stub_network,
    store_account,
)
from pyhmy.signing import sign_transaction as pyhmy_sign_transaction

from cli import confirmation
from cli.client import main as hmy
from crypto.address import to_bech32
from harmony_node.types.transaction import Transaction, decode_transaction

RECIPIENT = "0x" + "22" * 20
OFFLINE = ("--offline-sign", "--nonce", "7", "--chain-id", "localnet")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HMY_CLI_HOME", str(tmp_path / "hmy"))
    # Polls answer at once here; a wait that needs several polls should not also sleep between them.
    monkeypatch.setattr(confirmation, "POLL_INTERVAL_SECONDS", 0)
    store_account("localnet", passphrase="pw")
    return tmp_path / "hmy"


@pytest.fixture
def passphrase_file(tmp_path: Path) -> str:
    path = tmp_path / "pass"
    path.write_text("pw\n")
    return str(path)


@pytest.fixture
def shards() -> Iterator[list[StubNode]]:
    with run_stub_network(shards=2) as nodes:
        nodes[0].answers["hmyv2_getTransactionCount"] = 5
        nodes[0].answers["hmyv2_sendRawTransaction"] = compute_sent_hash
        yield nodes


@pytest.fixture
def refused_url() -> str:
    """A localhost URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _transfer(node: str, *args: str, amount: str = "1.5", to_shard: str = "1") -> Result:
    command = ["--json", "--node", node, "transfer", "--from", LOCALNET_ONE, "--to", RECIPIENT, "--amount", amount,
               "--from-shard", "0", "--to-shard", to_shard, *args]
    return CliRunner().invoke(hmy, command)


def _signed(result: Result) -> tuple[dict[str, Any], Transaction]:
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document, decode_transaction(bytes.fromhex(document["raw"][2:]))


def test_offline_sign_matches_pyhmy_and_never_contacts_a_node(refused_url: str, passphrase_file: str) -> None:
    document, tx = _signed(_transfer(refused_url, *OFFLINE, "--passphrase-file", passphrase_file))
    assert (tx.nonce, tx.gas_price, tx.gas_limit, tx.shard_id, tx.to_shard_id) == (7, 100 * 10**9, 21000, 0, 1)
    assert (tx.to, tx.value, tx.data, tx.chain_id) == (bytes.fromhex("22" * 20), 15 * 10**17, b"", 2)
    assert tx.sender == LOCALNET_ADDRESS
    assert document["hash"] == "0x" + tx.hash.hex() and document["sent"] is False
    assert document["amount"] == "1.5" and document["from"] == LOCALNET_ONE and document["to"] == to_bech32(tx.to)
    outside = pyhmy_sign_transaction(
        {"nonce": 7, "gasPrice": 100 * 10**9, "gas": 21000, "shardID": 0, "toShardID": 1, "to": RECIPIENT,
         "value": 15 * 10**17, "chainId": 2}, "0x" + LOCALNET_KEY.hex())
    assert document["raw"] == "0x" + bytes(outside.rawTransaction).hex()


def test_offline_sign_needs_nonce_and_chain_id(refused_url: str) -> None:
    result = _transfer(refused_url, "--offline-sign", "--nonce", "1", "--no-passphrase")
    assert result.exit_code == 2 and "--offline-sign needs --nonce and --chain-id" in result.stderr


@pytest.mark.parametrize(("amount", "complaint"), [
    ("-1", "is negative"),
    ("0.0000000000000000001", "more than 18 decimal places"),
    ("1e3", "is not a decimal number"),
    ("NaN", "is not a decimal number"),
])
def test_bad_amounts_are_usage_errors(refused_url: str, amount: str, complaint: str) -> None:
    result = _transfer(refused_url, *OFFLINE, amount=amount)
    assert result.exit_code == 2 and complaint in result.stderr


def test_amounts_are_exact(refused_url: str, passphrase_file: str) -> None:
    _, tx = _signed(_transfer(refused_url, *OFFLINE, "--passphrase-file", passphrase_file,
                              amount="123456789.123456789123456789"))
    assert tx.value == 123456789_123456789123456789


@pytest.mark.parametrize("args", [
    ("--to", "one1notanaddress"),
    ("--chain-id", "1666700000"),  # an Ethereum chain id would drop the shard ids from what is signed
    ("--chain-id", "moon"),
])
def test_bad_options_are_usage_errors(refused_url: str, args: tuple[str, ...]) -> None:
    result = _transfer(refused_url, *OFFLINE, *args, "--no-passphrase")
    assert result.exit_code == 2, result.output


def test_data_adds_intrinsic_gas(refused_url: str, passphrase_file: str) -> None:
    _, tx = _signed(_transfer(refused_url, *OFFLINE, "--passphrase-file", passphrase_file, "--data", "0x00ff"))
    assert tx.data == b"\x00\xff" and tx.gas_limit == 21000 + 4 + 16


def test_dry_run_asks_nonce_and_chain_id_but_sends_nothing(shards: list[StubNode], passphrase_file: str) -> None:
    document, tx = _signed(_transfer(shards[0].url, "--dry-run", "--passphrase-file", passphrase_file))
    assert shards[0].methods == ["hmyv2_getShardingStructure", "hmyv2_getTransactionCount", "hmy_chainId"]
    assert shards[0].params_of("hmyv2_getTransactionCount") == [LOCALNET_ONE, "pending"]
    assert tx.nonce == 5 and tx.chain_id == 2 and tx.sender == LOCALNET_ADDRESS and document["sent"] is False
    assert shards[1].calls == []


def test_cross_shard_transfer_waits_for_receipt_and_credit(shards: list[StubNode], passphrase_file: str) -> None:
    source, destination = shards
    polls = iter([None, {"blockNumber": 12, "shardID": 0, "status": 1}])
    source.answers["hmyv2_getTransactionReceipt"] = lambda params: next(polls)
    destination.answers["hmyv2_getCXReceiptByHash"] = {"blockNumber": 14, "shardID": 0, "toShardID": 1}
    # --node is shard 1's node: the transfer still goes to shard 0's endpoint from the sharding structure.
    result = _transfer(destination.url, "--wait", "--passphrase-file", passphrase_file)
    document, tx = _signed(result)
    assert destination.methods == ["hmyv2_getShardingStructure", "hmyv2_getCXReceiptByHash"]
    assert source.methods == ["hmyv2_getTransactionCount", "hmy_chainId", "hmyv2_sendRawTransaction",
                              "hmyv2_getTransactionReceipt", "hmyv2_getTransactionReceipt"]
    assert source.params_of("hmyv2_sendRawTransaction") == [document["raw"]]
    assert source.calls[-1].params == [document["hash"]] == ["0x" + tx.hash.hex()]
    assert destination.params_of("hmyv2_getCXReceiptByHash") == [document["hash"]]
    assert document["sent"] is True and document["receipt"]["blockNumber"] == 12
    assert document["cx_receipt"]["blockNumber"] == 14
    assert result.stderr == ""  # no progress dots: stderr is not a terminal


def test_readable_output_of_a_sent_transfer(shards: list[StubNode], passphrase_file: str) -> None:
    shards[0].answers["hmyv2_getTransactionReceipt"] = {"blockNumber": 3, "shardID": 0, "status": 1}
    result = CliRunner().invoke(hmy, [
        "--node", shards[0].url, "transfer", "--from", LOCALNET_ONE, "--to", RECIPIENT, "--amount", "2",
        "--from-shard", "0", "--to-shard", "0", "--wait", "--passphrase-file", passphrase_file])
    assert result.exit_code == 0, result.output
    sent, confirmed = result.stdout.splitlines()
    assert sent.startswith("sent 0x") and sent.endswith(f"to {shards[0].url}")
    assert confirmed == "confirmed in block 3 (shard 0)"
    assert "hmyv2_getCXReceiptByHash" not in shards[1].methods  # same-shard: nothing to wait for on shard 1


def test_node_errors_are_one_line_and_exit_1(shards: list[StubNode], passphrase_file: str) -> None:
    shards[0].answers["hmyv2_sendRawTransaction"] = RpcFailure("insufficient funds for gas * price + value")
    result = _transfer(shards[0].url, "--passphrase-file", passphrase_file)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"Error: node {shards[0].url}: insufficient funds for gas * price + value\n"


def test_a_node_reporting_another_hash_is_an_error(shards: list[StubNode], passphrase_file: str) -> None:
    shards[0].answers["hmyv2_sendRawTransaction"] = "0x" + "00" * 32
    result = _transfer(shards[0].url, "--passphrase-file", passphrase_file)
    assert result.exit_code == 1 and "but reported its hash as '0x0000" in result.stderr


def test_connection_refused_is_one_line_and_exit_1(refused_url: str, passphrase_file: str) -> None:
    result = _transfer(refused_url, "--passphrase-file", passphrase_file)
    assert result.exit_code == 1
    assert result.stderr == f"Error: node {refused_url}: connection refused (is a node running there?)\n"


def test_failed_and_unconfirmed_transactions_exit_1(shards: list[StubNode], passphrase_file: str) -> None:
    shards[0].answers["hmyv2_getTransactionReceipt"] = {"blockNumber": 4, "shardID": 0, "status": 0}
    failed = _transfer(shards[0].url, "--wait", "--passphrase-file", passphrase_file, to_shard="0")
    assert failed.exit_code == 1 and "failed in block 4 (status 0)" in failed.stderr

    shards[0].answers["hmyv2_getTransactionReceipt"] = None
    late = _transfer(shards[0].url, "--wait", "--timeout", "0", "--passphrase-file", passphrase_file, to_shard="0")
    assert late.exit_code == 1
    assert late.stderr.startswith("Error: transaction 0x") and late.stderr.endswith("not seen before the timeout\n")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_dots_go_to_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    answers = iter([None, None, "receipt"])
    assert confirmation.wait_for(lambda: next(answers), time.monotonic() + 60, "it") == "receipt"
    assert terminal.getvalue() == "..\n"


def test_local_checks_come_before_any_request(shards: list[StubNode], tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not it")
    locked = _transfer(shards[0].url, "--passphrase-file", str(wrong))
    assert locked.exit_code == 1 and "wrong passphrase" in locked.stderr

    stranger = CliRunner().invoke(hmy, ["--node", shards[0].url, "transfer", "--from", RECIPIENT, "--to", LOCALNET_ONE,
                                        "--amount", "1", "--from-shard", "0", "--to-shard", "0", "--no-passphrase"])
    assert stranger.exit_code == 1 and "no key for one1" in stranger.stderr
    assert shards[0].calls == []


def test_unknown_shard_is_refused_before_sending(shards: list[StubNode], passphrase_file: str) -> None:
    result = _transfer(shards[0].url, "--passphrase-file", passphrase_file, to_shard="5")
    assert result.exit_code == 1 and "shard 5 does not exist: the network has shards 0, 1" in result.stderr
    assert "hmyv2_sendRawTransaction" not in shards[0].methods
