"""``hmy keys``: accounts in go-sdk's keystore layout, passphrases, and keystores that move to and from eth-account."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_account import Account
from hmy_stub_node import LOCALNET_KEY, LOCALNET_ONE

from cli.client import main as hmy
from crypto.address import from_bech32, to_bech32
from crypto.secp256k1 import compute_address

OTHER_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HMY_CLI_HOME", str(tmp_path / "hmy"))
    return tmp_path / "hmy"


def _run(*args: str, input: str | None = None) -> Result:  # noqa: A002 - CliRunner's name
    return CliRunner().invoke(hmy, list(args), input=input)


def _listed() -> list[dict[str, str]]:
    result = _run("--json", "keys", "list")
    assert result.exit_code == 0, result.output
    listed: list[dict[str, str]] = json.loads(result.stdout)
    return listed


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_add_asks_twice_and_stores_a_private_file(home: Path) -> None:
    result = _run("--json", "keys", "add", "alice", "--light", input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout)
    assert _listed() == [added]
    file = Path(added["file"])
    assert file.parent == home / "account-keys" / "alice"
    assert file.name.startswith("UTC--") and file.name.endswith("--" + from_bech32(added["address"]).hex())
    assert _mode(file) == 0o600 and _mode(file.parent) == 0o700 and _mode(home / "account-keys") == 0o700

    exported = _run("keys", "export-private-key", "alice", input="s3cret\n")
    assert exported.exit_code == 0, exported.output
    assert to_bech32(compute_address(bytes.fromhex(exported.stdout.strip()))) == added["address"]


def test_add_refuses_mismatched_confirmation_and_empty_passphrases(tmp_path: Path) -> None:
    mismatch = _run("keys", "add", "alice", "--light", input="one\ntwo\n")
    assert mismatch.exit_code == 1 and _listed() == []
    # The prompt asks again on empty input; here stdin ends instead, so nothing is stored.
    assert _run("keys", "add", "alice", "--light", input="\n\n").exit_code == 1
    empty = tmp_path / "empty-pass"
    empty.write_text("")
    result = _run("keys", "add", "alice", "--light", "--passphrase-file", str(empty))
    assert result.exit_code == 1
    assert "is empty (use --no-passphrase" in result.stderr and len(result.stderr.splitlines()) == 1
    assert _listed() == []
    both = _run("keys", "add", "alice", "--passphrase-file", str(empty), "--no-passphrase")
    assert both.exit_code == 2


def test_no_passphrase_is_explicit_both_ways() -> None:
    imported = _run("keys", "import-private-key", LOCALNET_KEY.hex(), "localnet", "--no-passphrase", "--light")
    assert imported.exit_code == 0, imported.output
    exported = _run("keys", "export-private-key", "localnet", "--no-passphrase")
    assert exported.stdout.strip() == LOCALNET_KEY.hex()


def test_import_private_key_and_wrong_passphrase(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass"
    passphrase.write_text("correct horse\nignored second line\n")
    imported = _run("keys", "import-private-key", "0x" + LOCALNET_KEY.hex(), "localnet", "--light",
                    "--passphrase-file", str(passphrase))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == f"localnet\t{LOCALNET_ONE}\n"
    assert _run("keys", "list").stdout == f"localnet\t{LOCALNET_ONE}\n"

    wrong = _run("keys", "export-private-key", "localnet", input="battery staple\n")
    assert wrong.exit_code == 1
    assert wrong.stderr.splitlines()[-1] == "Error: account 'localnet': wrong passphrase for keystore (MAC mismatch)"
    assert "Traceback" not in wrong.output
    right = _run("keys", "export-private-key", "localnet", "--passphrase-file", str(passphrase))
    assert right.stdout.strip() == LOCALNET_KEY.hex()


def test_names_and_keys_are_unique_and_checked() -> None:
    assert _run("keys", "import-private-key", LOCALNET_KEY.hex(), "a", "--no-passphrase", "--light").exit_code == 0
    same_name = _run("keys", "import-private-key", OTHER_KEY.hex(), "a", "--no-passphrase", "--light")
    assert same_name.exit_code == 1 and "an account named 'a' already exists" in same_name.stderr
    same_key = _run("keys", "import-private-key", LOCALNET_KEY.hex(), "b", "--no-passphrase", "--light")
    assert same_key.exit_code == 1 and f"{LOCALNET_ONE} is already stored as 'a'" in same_key.stderr
    bad_name = _run("keys", "import-private-key", OTHER_KEY.hex(), "../escape", "--no-passphrase", "--light")
    assert bad_name.exit_code == 1 and "invalid account name" in bad_name.stderr
    assert _run("keys", "import-private-key", "abcd", "c", "--no-passphrase").exit_code == 2  # not 32 bytes
    out_of_range = _run("keys", "import-private-key", "00" * 32, "c", "--no-passphrase")
    assert out_of_range.exit_code == 1 and "out of range" in out_of_range.stderr
    assert [entry["name"] for entry in _listed()] == ["a"]


def test_eth_account_keystores_import_and_export(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass"
    passphrase.write_text("eth pass")
    keystore = tmp_path / "from-eth.json"
    keystore.write_text(json.dumps(Account.encrypt(OTHER_KEY, "eth pass", kdf="pbkdf2", iterations=1024)))

    wrong = _run("keys", "import-ks", str(keystore), "--no-passphrase")
    assert wrong.exit_code == 1 and "wrong passphrase" in wrong.stderr and _listed() == []

    imported = _run("--json", "keys", "import-ks", str(keystore), "--passphrase-file", str(passphrase))
    assert imported.exit_code == 0, imported.output
    address = to_bech32(compute_address(OTHER_KEY))
    assert json.loads(imported.stdout)["name"] == address  # no NAME: the account is named by its address
    exported_key = _run("keys", "export-private-key", address, "--passphrase-file", str(passphrase))
    assert exported_key.stdout.strip() == OTHER_KEY.hex()

    out_dir = tmp_path / "backup"
    exported = _run("--json", "keys", "export-ks", address, str(out_dir))
    assert exported.exit_code == 0, exported.output
    file = Path(json.loads(exported.stdout)["file"])
    assert file.parent == out_dir and _mode(file) == 0o600
    assert bytes(Account.decrypt(file.read_text(), "eth pass")) == OTHER_KEY
    again = _run("keys", "export-ks", address, str(out_dir))
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_our_keystores_open_in_eth_account() -> None:
    added = _run("--json", "keys", "add", "fresh", "--light", input="pw\npw\n")
    document = json.loads(Path(json.loads(added.stdout)["file"]).read_text())
    private_key = bytes(Account.decrypt(document, "pw"))
    assert to_bech32(compute_address(private_key)) == json.loads(added.stdout)["address"]


def test_remove_location_and_unknown_names(home: Path) -> None:
    assert _run("keys", "location").stdout.strip() == str(home / "account-keys")
    assert _run("keys", "list").stdout.strip() == "no accounts"
    assert _run("keys", "import-private-key", LOCALNET_KEY.hex(), "gone", "--no-passphrase", "--light").exit_code == 0
    declined = _run("keys", "remove", "gone", input="n\n")
    assert declined.exit_code == 1 and [e["name"] for e in _listed()] == ["gone"]
    assert _run("keys", "remove", "gone", "--yes").exit_code == 0
    assert _listed() == [] and not (home / "account-keys" / "gone").exists()
    unknown = _run("keys", "export-private-key", "gone", "--no-passphrase")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("Error: no account named 'gone'")
