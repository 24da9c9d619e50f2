"""``hmy staking``: every directive signed offline and decoded back; local sanity checks; delivery to shard 0."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hmy_stub_node import LOCALNET_ADDRESS, LOCALNET_ONE, StubNode, compute_sent_hash, run_stub_network, store_account

from cli.client import main as hmy
from crypto import bls
from crypto.bls_keyfile import LIGHT_SCRYPT_N, save_bls_key
from harmony_node.chain.gas import compute_staking_intrinsic_gas
from harmony_node.types.staking_transaction import (
    CollectRewards,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Directive,
    EditValidator,
    EPoSStatus,
    StakingTransaction,
    Undelegate,
    decode_staking_transaction,
)
from staking.transactions import compute_proof_of_possession_payload

ONE = 10**18
VALIDATOR_ONE = "one1pdv9lrdwl0rg5vglh4xtyrv3wjk3wsqket7zxy"
BLS_SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in (1, 2, 3)]
BLS_PASSPHRASE = "bls pass"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HMY_CLI_HOME", str(tmp_path / "hmy"))
    store_account("localnet")
    return tmp_path / "hmy"


@pytest.fixture
def bls_dir(tmp_path: Path) -> Path:
    """Encrypted BLS key files as ``hmy-node keys generate-bls`` writes them, and their passphrase file."""
    keys = tmp_path / "bls"
    keys.mkdir()
    for secret in BLS_SECRETS:
        path = keys / f"{bls.secret_to_public(secret).hex()}.key"
        save_bls_key(path, secret, BLS_PASSPHRASE, scrypt_n=LIGHT_SCRYPT_N)
    (tmp_path / "bls.pass").write_text(BLS_PASSPHRASE + "\n")
    return keys


@pytest.fixture
def offline(tmp_path: Path) -> list[str]:
    """Options that sign without a node (a refused port proves none is asked)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return ["--json", "--node", f"http://127.0.0.1:{port}"]


OFFLINE_SIGNING = ["--offline-sign", "--nonce", "3", "--chain-id", "2", "--no-passphrase"]


def _stake(*args: str) -> Result:
    return CliRunner().invoke(hmy, list(args))


def _decoded(result: Result) -> tuple[dict[str, Any], StakingTransaction]:
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    tx = decode_staking_transaction(bytes.fromhex(document["raw"][2:]))
    assert tx.sender == LOCALNET_ADDRESS and tx.chain_id == 2 and tx.nonce == 3
    assert tx.gas_price == 100 * 10**9 and tx.gas_limit == compute_staking_intrinsic_gas(tx)
    assert document["hash"] == "0x" + tx.hash.hex() and document["directive"] == Directive(tx.directive).name
    return document, tx


def _create_validator_args(bls_dir: Path, *extra: str) -> list[str]:
    return ["staking", "create-validator", "--validator-addr", LOCALNET_ONE, "--name", "Alice", "--identity", "alice",
            "--website", "alice.example", "--security-contact", "sec", "--details", "localnet validator",
            "--rate", "0.1", "--max-rate", "0.9", "--max-change-rate", "0.05", "--min-self-delegation", "10000",
            "--max-total-delegation", "1000000", "--amount", "10000.5",
            "--bls-passphrase-file", str(bls_dir.parent / "bls.pass"), *extra]


def test_create_validator_signs_proofs_of_possession(offline: list[str], bls_dir: Path) -> None:
    files = sorted(bls_dir.glob("*.key"))[:2]
    key_args = [arg for path in files for arg in ("--bls-key-file", str(path))]
    document, tx = _decoded(_stake(*offline, *_create_validator_args(bls_dir, *key_args, *OFFLINE_SIGNING)))
    message = tx.stake_message
    assert isinstance(message, CreateValidator) and message.validator_address == LOCALNET_ADDRESS
    assert message.description.name == "Alice" and message.description.details == "localnet validator"
    assert (message.commission_rates.rate, message.commission_rates.max_rate) == (10**17, 9 * 10**17)
    assert message.commission_rates.max_change_rate == 5 * 10**16
    assert (message.min_self_delegation, message.max_total_delegation) == (10_000 * ONE, 1_000_000 * ONE)
    assert message.amount == 10_000 * ONE + ONE // 2
    assert [bytes.fromhex(path.stem) for path in files] == list(message.slot_pub_keys)
    for key, proof in zip(message.slot_pub_keys, message.slot_key_sigs):
        assert bls.verify(key, compute_proof_of_possession_payload(LOCALNET_ADDRESS), proof)
    assert tx.gas_limit > 5_300_000  # CreateValidator's base gas plus its data
    assert document["amount"] == "10000.5" and document["rate"] == "0.1"


def test_create_validator_takes_a_key_directory(offline: list[str], bls_dir: Path) -> None:
    _, tx = _decoded(_stake(*offline, *_create_validator_args(bls_dir, "--bls-pubkeys-dir", str(bls_dir),
                                                              *OFFLINE_SIGNING)))
    assert isinstance(tx.stake_message, CreateValidator) and len(tx.stake_message.slot_pub_keys) == 3


@pytest.mark.parametrize(("changes", "complaint"), [
    (["--rate", "0.95"], "commission rate is larger than the max rate"),
    (["--max-change-rate", "0.95"], "max change rate is larger than the max rate"),
    (["--amount", "1"], "--amount must be between --min-self-delegation and --max-total-delegation"),
    (["--max-total-delegation", "9999"], "--max-total-delegation is below --min-self-delegation"),
    (["--name", "x" * 141], "description name is longer than 140 bytes"),
])
def test_create_validator_sanity_checks(offline: list[str], bls_dir: Path, changes: list[str], complaint: str) -> None:
    result = _stake(*offline, *_create_validator_args(bls_dir, "--bls-pubkeys-dir", str(bls_dir), *OFFLINE_SIGNING,
                                                      *changes))
    assert result.exit_code == 1 and complaint in result.stderr and result.stdout == ""


def test_create_validator_needs_keys_and_their_passphrase(offline: list[str], bls_dir: Path, tmp_path: Path) -> None:
    no_keys = _stake(*offline, *_create_validator_args(bls_dir, *OFFLINE_SIGNING))
    assert no_keys.exit_code == 2 and "--bls-key-file or --bls-pubkeys-dir" in no_keys.stderr
    (tmp_path / "bls.pass").write_text("wrong")
    locked = _stake(*offline, *_create_validator_args(bls_dir, "--bls-pubkeys-dir", str(bls_dir), *OFFLINE_SIGNING))
    assert locked.exit_code == 1 and "wrong passphrase for BLS key file" in locked.stderr


def test_edit_validator(offline: list[str], bls_dir: Path) -> None:
    removed = bls.secret_to_public(BLS_SECRETS[0])
    added_file = bls_dir / f"{bls.secret_to_public(BLS_SECRETS[1]).hex()}.key"
    document, tx = _decoded(_stake(
        *offline, "staking", "edit-validator", "--validator-addr", LOCALNET_ONE, "--website", "new.example",
        "--rate", "0.12", "--max-total-delegation", "2000000", "--remove-bls-key", removed.hex(),
        "--add-bls-key-file", str(added_file), "--bls-passphrase-file", str(bls_dir.parent / "bls.pass"),
        "--inactive", *OFFLINE_SIGNING))
    message = tx.stake_message
    assert isinstance(message, EditValidator)
    assert message.description.website == "new.example" and message.description.name == ""  # "" = unchanged
    assert (message.commission_rate, message.min_self_delegation) == (12 * 10**16, None)
    assert message.max_total_delegation == 2_000_000 * ONE
    assert message.slot_key_to_remove == removed and message.slot_key_to_add == bytes.fromhex(added_file.stem)
    assert message.slot_key_to_add_sig is not None and bls.verify(
        message.slot_key_to_add, compute_proof_of_possession_payload(LOCALNET_ADDRESS), message.slot_key_to_add_sig)
    assert message.status == EPoSStatus.INACTIVE and document["status"] == "INACTIVE"


def test_edit_validator_without_changes_is_refused(offline: list[str]) -> None:
    result = _stake(*offline, "staking", "edit-validator", "--validator-addr", LOCALNET_ONE, *OFFLINE_SIGNING)
    assert result.exit_code == 2 and "nothing to edit" in result.stderr
    status_only = _stake(*offline, "staking", "edit-validator", "--validator-addr", LOCALNET_ONE, "--active",
                         *OFFLINE_SIGNING)
    _, tx = _decoded(status_only)
    assert isinstance(tx.stake_message, EditValidator) and tx.stake_message.status == EPoSStatus.ACTIVE
    assert tx.stake_message.commission_rate is None and tx.stake_message.slot_key_to_add is None


@pytest.mark.parametrize(("command", "kind"), [("delegate", Delegate), ("undelegate", Undelegate)])
def test_delegate_and_undelegate(offline: list[str], command: str, kind: type[Delegate]) -> None:
    document, tx = _decoded(_stake(*offline, "staking", command, "--delegator-addr", LOCALNET_ONE,
                                   "--validator-addr", VALIDATOR_ONE, "--amount", "100.25", *OFFLINE_SIGNING))
    assert type(tx.stake_message) is kind
    assert tx.stake_message == kind(LOCALNET_ADDRESS, tx.stake_message.validator_address, 100_250 * ONE // 1000)
    assert document["validator"] == VALIDATOR_ONE and document["amount"] == "100.25"
    zero = _stake(*offline, "staking", command, "--delegator-addr", LOCALNET_ONE, "--validator-addr", VALIDATOR_ONE,
                  "--amount", "0", *OFFLINE_SIGNING)
    assert zero.exit_code == 1 and "--amount must be more than 0" in zero.stderr


@pytest.mark.parametrize(("command", "kind"), [("collect-rewards", CollectRewards),
                                               ("compound-rewards", CompoundRewards)])
def test_collect_and_compound_rewards(offline: list[str], command: str, kind: type[CollectRewards]) -> None:
    _, tx = _decoded(_stake(*offline, "staking", command, "--delegator-addr", LOCALNET_ONE, *OFFLINE_SIGNING))
    assert type(tx.stake_message) is kind and tx.stake_message == kind(LOCALNET_ADDRESS)


@pytest.fixture
def shards() -> Iterator[list[StubNode]]:
    with run_stub_network(shards=2) as nodes:
        nodes[0].answers["hmyv2_getTransactionCount"] = 3
        nodes[0].answers["hmyv2_sendRawStakingTransaction"] = compute_sent_hash
        nodes[0].answers["hmyv2_getTransactionReceipt"] = {"blockNumber": 40, "shardID": 0, "status": 1}
        yield nodes


def test_staking_goes_to_shard_0_whichever_node_is_given(shards: list[StubNode]) -> None:
    beacon, shard1 = shards
    result = _stake("--json", "--node", shard1.url, "staking", "collect-rewards", "--delegator-addr", LOCALNET_ONE,
                    "--no-passphrase", "--wait")
    document, tx = _decoded(result)
    assert shard1.methods == ["hmyv2_getShardingStructure"]
    assert beacon.methods == ["hmyv2_getTransactionCount", "hmy_chainId", "hmyv2_sendRawStakingTransaction",
                              "hmyv2_getTransactionReceipt"]
    assert beacon.params_of("hmyv2_sendRawStakingTransaction") == [document["raw"]]
    assert beacon.params_of("hmyv2_getTransactionReceipt") == [document["hash"]]
    assert document["sent"] is True and document["receipt"]["blockNumber"] == 40


def test_staking_dry_run_sends_nothing(shards: list[StubNode]) -> None:
    result = _stake("--json", "--node", shards[0].url, "staking", "delegate", "--delegator-addr", LOCALNET_ONE,
                    "--validator-addr", VALIDATOR_ONE, "--amount", "100", "--no-passphrase", "--dry-run")
    document, _ = _decoded(result)
    assert document["sent"] is False
    assert shards[0].methods == ["hmyv2_getShardingStructure", "hmyv2_getTransactionCount", "hmy_chainId"]
