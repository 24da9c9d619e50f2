"""A validator's life on a running network: created, delegated to, elected, signing, paid, undelegated.

Four genesis validators run the beacon with four-block epochs; a fifth node runs with a BLS key
nobody knows yet. Its operator sends CreateValidator with that key and a delegator delegates to it
(both gossiped to the beacon as a wallet's node would). The election at the next epoch end gives
the key a slot two epochs on; the fifth node then validates, its signatures earn rewards, which the
operator collects and then compounds; the delegator undelegates and is paid seven epochs later.
On disk afterwards, the records say all of that happened exactly once and the supply is conserved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto import bls
from crypto.secp256k1 import compute_address
from harmony_node.chain.config import ONE
from harmony_node.chain.genesis import load_genesis
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CollectRewards,
    CommissionRates,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Description,
    Undelegate,
)
from node_cluster import FUNDED_KEY, Cluster, open_stopped_chain, wait_for
from staking.transactions import sign_proof_of_possession
from staking_submission import send_staking

pytestmark = pytest.mark.slow
EPOCH_BLOCKS = 4
OPERATOR = compute_address(FUNDED_KEY)
DELEGATOR_KEY = b"\x33" * 32
DELEGATOR = compute_address(DELEGATOR_KEY)
NEW_SECRET = bls.generate_secret_key(b"\x5a" * 32)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Cluster]:
    created = Cluster(tmp_path / "net", blocks_per_epoch=EPOCH_BLOCKS,
                      extra_alloc={"0x" + DELEGATOR.hex(): 100_000 * ONE})
    try:
        yield created
    finally:
        created.close()


def _height(cluster: Cluster) -> int:
    return cluster.nodes[0].get_height()


@pytest.mark.timeout(420)
def test_validator_lifecycle_on_a_running_network(network: Cluster) -> None:
    newcomer = network.add_node(NEW_SECRET)
    for index in range(len(network.nodes)):
        network.start(index)
    network.wait_for_height(2, [0, 1, 2, 3], timeout=90)

    create = CreateValidator(OPERATOR, Description("newcomer", "", "", "", ""),
                             CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 20),
                             10_000 * ONE, 1_000_000 * ONE, (bls.secret_to_public(NEW_SECRET),),
                             (sign_proof_of_possession(NEW_SECRET, OPERATOR),), 20_000 * ONE)
    send_staking(network, create, FUNDED_KEY, 0)
    send_staking(network, Delegate(DELEGATOR, OPERATOR, 5_000 * ONE), DELEGATOR_KEY, 0)

    wait_for(lambda: newcomer.get_chain_metric("hmy_consensus_validating") == 1, timeout=120,
             what=f"the new validator to be elected and join the committee\n{network.dump_logs(6)}", interval=0.5)
    joined = _height(network)
    network.wait_for_height(joined + 4, [0], timeout=60)  # it signs a few blocks, each paid by the next
    send_staking(network, CollectRewards(OPERATOR), FUNDED_KEY, 1)
    network.wait_for_height(_height(network) + 3, [0], timeout=60)
    send_staking(network, CompoundRewards(OPERATOR), FUNDED_KEY, 2)
    send_staking(network, Undelegate(DELEGATOR, OPERATOR, 5_000 * ONE), DELEGATOR_KEY, 1)
    undelegated_at = _height(network)
    # Paid at the last block of the epoch seven epochs after the one it was made in.
    paid_by = (((undelegated_at - 1) // EPOCH_BLOCKS + 1) + 7) * EPOCH_BLOCKS + 1
    network.wait_for_height(paid_by, [0], timeout=180)
    for index in range(len(network.nodes)):
        assert network.stop(index) == 0, network.dump_logs()

    genesis = load_genesis(network.genesis_file)
    with open_stopped_chain(network.nodes[0].datadir, network.genesis_file, 0) as chain:
        assert chain is not None
        ledger = StateStakingLedger(chain.get_state(), sum(balance for _, balance in genesis.alloc))
        wrapper = ledger.get_validator(OPERATOR)
        assert wrapper is not None
        own, delegated = wrapper.delegations
        assert wrapper.blocks_signed > 0 and wrapper.lifetime_reward > 0
        assert own.amount > 20_000 * ONE, "compounded rewards were re-staked"
        assert delegated.amount == 0 and not delegated.undelegations, "the undelegation was paid out once"
        back = ledger.get_balance(DELEGATOR)  # all but two transactions' gas
        assert 100_000 * ONE - ONE < back < 100_000 * ONE, f"the delegator got its 5,000 ONE back: {back / ONE}"
        assert delegated.reward > 0, "the delegator earned its share while it was delegated"
        supply = ledger.get_supply()
        assert supply.minted > 0 and supply.burned > 0
        holdings = ledger.get_balance(OPERATOR) + ledger.get_balance(DELEGATOR) + sum(
            d.amount + d.reward + d.pending_undelegation for d in wrapper.delegations)
        assert holdings == supply.total, "genesis + minted - burned = balances + stakes + unclaimed rewards"
