"""A validator's life on the default localnet, driven the way an operator drives it: with ``hmy``.

The real ``hmy-node localnet up`` starts the three chains (four-block epochs, so the life fits in a
few minutes). Through the ``hmy`` CLI only, the operator funds a delegator, creates a validator
with a BLS key of its own (``hmy-node keys generate-bls``), and the delegator delegates to it;
``hmy-node localnet add-validator`` runs a node for that key. The beacon elects the key at the next
epoch end and gives it a slot two epochs on; its node then signs blocks of whichever shard the slot
is in, and rewards accrue. The operator collects, then compounds; the delegator undelegates and is
paid exactly at the end of the seventh epoch after. Afterwards, on disk: every record says that
happened exactly once, and the supply is conserved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto.address import from_bech32
from harmony_node.chain.config import ONE
from harmony_node.chain.genesis import load_genesis
from harmony_node.chain.staking_state import StateStakingLedger
from localnet_runner import LocalnetCli, run_hmy, run_hmy_node
from node_cluster import call_rpc, open_stopped_chain, read_metrics, wait_for
from sharding.schedule import EpochSchedule

pytestmark = pytest.mark.slow
EPOCH_BLOCKS = 4
FUNDED_KEY = "1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"
OPERATOR = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"  # the funded localnet account
SELF_STAKE, DELEGATED = 20_000, 5_000
DELEGATOR_FUNDS = 100_000


def _block_number(sent: str) -> int:
    """The block of a ``hmy --json ... --wait`` submission's receipt."""
    number = json.loads(sent)["receipt"]["blockNumber"]
    return int(number, 0) if isinstance(number, str) else int(number)


@pytest.mark.timeout(600)
def test_validator_life_through_hmy(cli: LocalnetCli, tmp_path: Path) -> None:
    result = cli.run("up", "--base-port", str(cli.base_port), "--epoch-blocks", str(EPOCH_BLOCKS))
    assert result.returncode == 0, result.stdout + result.stderr
    cli.wait_until_live(120)
    beacon_url = cli.get_rpc_url(0)
    home = tmp_path / "hmy-home"
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("my passphrase\n")
    signing = ("--passphrase-file", str(passphrase))

    def hmy(*args: str) -> str:
        return run_hmy(home, "--node", beacon_url, *args).stdout

    def get_info() -> dict[str, Any]:
        info: dict[str, Any] = json.loads(hmy("--json", "blockchain", "validator", "information", OPERATOR))
        return info

    run_hmy(home, "keys", "import-private-key", FUNDED_KEY, "operator", *signing, "--light")
    run_hmy(home, "keys", "add", "delegator", *signing, "--light")
    delegator = next(k["address"] for k in json.loads(run_hmy(home, "--json", "keys", "list").stdout)
                     if k["name"] == "delegator")
    hmy("transfer", "--from", OPERATOR, "--to", delegator, "--amount", str(DELEGATOR_FUNDS), "--from-shard", "0",
        "--to-shard", "0", "--wait", *signing)

    # The operator's own BLS key, made as a validator makes it, and the validator registered with it.
    bls_dir = tmp_path / "bls"
    run_hmy_node("keys", "generate-bls", "--light", "--passphrase-file", str(passphrase),
                            "--out-dir", str(bls_dir))
    [bls_file] = bls_dir.glob("*.key")
    hmy("staking", "create-validator", "--validator-addr", OPERATOR, "--name", "my validator", "--identity", "me",
        "--website", "https://example.org", "--security-contact", "me@example.org", "--details", "e2e",
        "--rate", "0.1", "--max-rate", "0.5", "--max-change-rate", "0.05", "--min-self-delegation", "10000",
        "--max-total-delegation", "1000000", "--amount", str(SELF_STAKE), "--bls-key-file", str(bls_file),
        "--bls-passphrase-file", str(passphrase), "--wait", *signing)
    hmy("staking", "delegate", "--delegator-addr", delegator, "--validator-addr", OPERATOR,
        "--amount", str(DELEGATED), "--wait", *signing)

    added = cli.run("add-validator", "--bls-key", str(bls_file), "--passphrase-file", str(passphrase))
    assert added.returncode == 0, added.stdout + added.stderr
    assert "started x0" in added.stdout, added.stdout
    again = cli.run("add-validator", "--bls-key", str(bls_file), "--passphrase-file", str(passphrase))
    assert again.returncode != 0 and "already runs" in again.stderr, "one key on two nodes would double-sign"
    newcomer = next(node for node in cli.get_status()["nodes"] if node["name"] == "x0")

    # Elected at an epoch end; from its slot's epoch on, its node validates and its signatures pay.
    wait_for(lambda: get_info()["currently-in-committee"], 240, "the validator to be elected", interval=2)
    assert get_info()["epos-status"] == "currently elected"
    wait_for(lambda: any(name == "hmy_consensus_validating" and value == 1
                         for name, value in _samples(newcomer["metrics_port"])),
             120, "the added node to validate its slot's shard", interval=1)
    wait_for(lambda: get_info()["lifetime"]["blocks"]["signed"] > 0 and get_info()["lifetime"]["reward-accumulated"] > 0,
             120, "the validator's signatures to be counted and paid", interval=2)

    hmy("staking", "collect-rewards", "--delegator-addr", OPERATOR, "--wait", *signing)
    wait_for(lambda: _own_delegation(get_info())["reward"] > 0, 120, "new rewards after the collection", interval=2)
    hmy("staking", "compound-rewards", "--delegator-addr", OPERATOR, "--wait", *signing)
    assert _own_delegation(get_info())["amount"] > SELF_STAKE * ONE, "compounded rewards are staked"

    sent = hmy("--json", "staking", "undelegate", "--delegator-addr", delegator, "--validator-addr", OPERATOR,
               "--amount", str(DELEGATED), "--wait", *signing)
    schedule = EpochSchedule(EPOCH_BLOCKS)
    made_in = schedule.compute_epoch(_block_number(sent))
    paid_at = schedule.get_last_block(made_in + 7)  # the epoch-end processing of the seventh epoch after
    wait_for(lambda: _beacon_height(cli) >= paid_at, 300, f"the beacon to pass block {paid_at}", interval=2)
    before = _balance_at(beacon_url, delegator, paid_at - 1)
    after = _balance_at(beacon_url, delegator, paid_at)
    assert after - before == DELEGATED * ONE, f"paid at block {paid_at}, not earlier: {before} -> {after}"
    balances = json.loads(hmy("--json", "balances", delegator))
    assert DELEGATOR_FUNDS * ONE - ONE < int(balances[0]["atto"]) < DELEGATOR_FUNDS * ONE, balances

    down = cli.run("down")
    assert down.returncode == 0 and "stopped 16 nodes" in down.stdout, down.stdout + down.stderr
    genesis_file = cli.datadir / "genesis.json"
    genesis = load_genesis(genesis_file)
    operator, delegator_address = from_bech32(OPERATOR), from_bech32(delegator)
    with open_stopped_chain(cli.datadir / "s0-rpc", genesis_file, 0) as beacon:
        assert beacon is not None
        ledger = StateStakingLedger(beacon.get_state(), sum(balance for _, balance in genesis.alloc))
        wrapper = ledger.get_validator(operator)
        assert wrapper is not None and wrapper.blocks_signed > 0 and wrapper.lifetime_reward > 0
        own, delegated = wrapper.delegations
        assert own.amount > SELF_STAKE * ONE
        assert delegated.amount == 0 and not delegated.undelegations, "the undelegation was paid out once"
        assert delegated.reward > 0, "the delegator earned its share while it was delegated"
        supply = ledger.get_supply()
        assert supply.minted > 0 and supply.burned > 0
        holdings = ledger.get_balance(operator) + ledger.get_balance(delegator_address) + sum(
            d.amount + d.reward + d.pending_undelegation for d in wrapper.delegations)
        assert holdings == supply.total, "genesis + minted - burned = balances + stakes + unclaimed rewards"


def _samples(metrics_port: int) -> list[tuple[str, float]]:
    return [(name.split("{")[0], value) for name, value in read_metrics(metrics_port).items()]


def _own_delegation(info: dict[str, Any]) -> dict[str, Any]:
    own: dict[str, Any] = info["validator"]["delegations"][0]
    assert own["delegator-address"] == OPERATOR
    return own


def _beacon_height(cli: LocalnetCli) -> int:
    return int(cli.get_status()["chains"]["0"]["height"] or 0)


def _balance_at(url: str, address: str, number: int) -> int:
    return int(call_rpc(url, "hmyv2_getBalanceByBlockNumber", [address, number]))
