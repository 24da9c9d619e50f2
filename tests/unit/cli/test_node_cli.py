"""``hmy-node`` commands that do not start a node: keys, config dump, and start's refusals."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from click.testing import CliRunner

from cli.node import main as hmy_node
from crypto import bls
from crypto.bls_keyfile import load_bls_key


def test_every_command_explains_itself() -> None:
    runner = CliRunner()
    for command in (["start"], ["config", "dump"], ["keys"], ["keys", "generate-bls"], ["keys", "import-bls"],
                    ["keys", "generate-p2p"]):
        result = runner.invoke(hmy_node, [*command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, command


def test_generate_and_import_bls_keys(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass"
    passphrase.write_text("pw\n")
    runner = CliRunner()
    result = runner.invoke(hmy_node, ["keys", "generate-bls", "--out-dir", str(tmp_path / "keys"),
                                      "--passphrase-file", str(passphrase), "--light"])
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    secret = load_bls_key(made["file"], "pw")
    assert "0x" + bls.secret_to_public(secret).hex() == made["public_key"]

    secret_file = tmp_path / "secret.hex"
    secret_file.write_text(bls.secret_key_to_bytes(7).hex())
    result = runner.invoke(hmy_node, ["keys", "import-bls", str(secret_file), "--out-dir", str(tmp_path / "imported"),
                                      "--passphrase-file", str(passphrase), "--light"])
    assert result.exit_code == 0, result.output
    assert load_bls_key(json.loads(result.output)["file"], "pw") == 7
    # Importing it twice would overwrite a key file: refused.
    again = runner.invoke(hmy_node, ["keys", "import-bls", str(secret_file), "--out-dir", str(tmp_path / "imported"),
                                     "--passphrase-file", str(passphrase), "--light"])
    assert again.exit_code == 1 and "already exists" in again.output
    secret_file.write_text("zz")
    bad = runner.invoke(hmy_node, ["keys", "import-bls", str(secret_file), "--passphrase-file", str(passphrase)])
    assert bad.exit_code == 1 and "not a BLS secret key" in bad.output and "Traceback" not in bad.output


def test_generate_p2p_prints_a_stable_peer_id(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(hmy_node, ["keys", "generate-p2p", str(tmp_path / "p2p.key")])
    second = runner.invoke(hmy_node, ["keys", "generate-p2p", str(tmp_path / "p2p.key")])
    assert first.exit_code == 0 and first.output == second.output and first.output.startswith("12D3")


def test_config_dump_merges_file_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[p2p]\nport = 9100\n')
    result = CliRunner().invoke(hmy_node, ["config", "dump", "--config", str(config), "--metrics.port", "9901",
                                           "--bootnode", "/ip4/127.0.0.1/tcp/9000/p2p/Qm", "--log.format", "text"])
    assert result.exit_code == 0, result.output
    dumped = tomllib.loads(result.output)
    assert dumped["p2p"]["port"] == 9100 and dumped["metrics"]["port"] == 9901
    assert dumped["p2p"]["bootnodes"] == ["/ip4/127.0.0.1/tcp/9000/p2p/Qm"] and dumped["log"]["format"] == "text"


def test_bad_config_and_unstartable_node_are_clear_errors(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[p2p]\nprot = 1\n')
    result = CliRunner().invoke(hmy_node, ["config", "dump", "--config", str(config)])
    assert result.exit_code == 1 and "unknown setting p2p.prot" in result.output
    # The built-in localnet genesis names no committee yet: start says so instead of failing later.
    result = CliRunner().invoke(hmy_node, ["start", "--datadir", str(tmp_path / "d"), "--metrics.port", "0",
                                           "--p2p.port", "0"])
    assert result.exit_code == 1 and "names no committee" in result.output and "Traceback" not in result.output
