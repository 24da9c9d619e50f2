"""The console entry points: help, genesis inspection and address conversions."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.client import main as hmy
from cli.node import main as hmy_node

LOCALNET_ONE = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
LOCALNET_HEX = "0xA5241513DA9F4463F1d4874b548dFBAC29D91f34"


def test_help_and_version() -> None:
    runner = CliRunner()
    for command in (hmy, hmy_node):
        assert runner.invoke(command, ["--help"]).exit_code == 0
        result = runner.invoke(command, ["--version"])
        assert result.exit_code == 0 and "0.1.0" in result.output


def test_genesis_lists_every_shard() -> None:
    result = CliRunner().invoke(hmy_node, ["genesis", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["chain_id"] == 2 and [s["shard"] for s in doc["shards"]] == [0, 1, 2]
    assert len({s["hash"] for s in doc["shards"]}) == 3


def test_genesis_reports_a_bad_file_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "genesis.json"
    bad.write_text('{"alloc": {"one1nope": "1"}}')
    result = CliRunner().invoke(hmy_node, ["genesis", "--file", str(bad)])
    assert result.exit_code == 1
    assert "Error: alloc address 'one1nope'" in result.output
    assert "Traceback" not in result.output


def test_address_conversions() -> None:
    runner = CliRunner()
    assert runner.invoke(hmy, ["utility", "addr-to-bech32", LOCALNET_HEX]).output.strip() == LOCALNET_ONE
    assert runner.invoke(hmy, ["utility", "bech32-to-addr", LOCALNET_ONE]).output.strip() == LOCALNET_HEX
    typo = LOCALNET_ONE[:-1] + ("q" if LOCALNET_ONE[-1] != "q" else "p")
    result = runner.invoke(hmy, ["utility", "bech32-to-addr", typo])
    assert result.exit_code == 1 and "checksum mismatch" in result.output
