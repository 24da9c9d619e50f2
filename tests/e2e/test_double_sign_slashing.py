"""A validator that signs two conflicting blocks is slashed, banned and never elected again (issue #6).

Four genesis validators run the beacon with four-block epochs. An operator creates a validator with
a new BLS key and two accounts delegate to it (gossiped to the beacon as a wallet's node would).
Once the delegations are in an epoch's snapshot, the new key's node starts with the hidden
``--debug.double-sign`` switch: with every commit vote it also signs a conflicting one at the same
height and view. The other committee members' engines catch the two signatures, the evidence
goes to the beacon, and a leader includes it; the node's RPC then reports the validator banned.

On disk afterwards, the numbers match the closed form of reference §6.7 on the snapshot the slash
was measured on (the state before the including block): the validator loses half its snapshot
self-stake, its delegators together 80% of that, pro rata by snapshot stake; the including block's
coinbase gets half of the total and the rest is burned; the slash is applied once, no committee
published from then on holds the key, the chain keeps finalizing, and the supply is conserved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto import bls
from crypto.secp256k1 import compute_address
from harmony_node.chain.beacon_execution import decode_slashes
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.config import ONE
from harmony_node.chain.genesis import load_genesis
from harmony_node.chain.staking_state import StateStakingLedger
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CommissionRates,
    CreateValidator,
    Delegate,
    Description,
    EPoSStatus,
)
from node_cluster import FUNDED_KEY, Cluster, NodeProcess, open_stopped_chain, wait_for
from sharding.schedule import EpochSchedule
from sharding.shard_state import ShardState
from staking.transactions import sign_proof_of_possession
from staking_submission import send_staking, send_staking_batch, sign_staking

pytestmark = pytest.mark.slow
EPOCH_BLOCKS = 4
SCHEDULE = EpochSchedule(EPOCH_BLOCKS)
OPERATOR = compute_address(FUNDED_KEY)
DELEGATOR_KEYS = (b"\x33" * 32, b"\x44" * 32)
DELEGATORS = tuple(compute_address(key) for key in DELEGATOR_KEYS)
DELEGATED = (10_000 * ONE, 6_000 * ONE)
"""Each delegator's share of the slash (80% of 10,000 ONE, pro rata: 5,000 and 3,000 ONE) fits in its stake."""
SELF_STAKE = 20_000 * ONE
NEW_SECRET = bls.generate_secret_key(b"\x6b" * 32)
NEW_KEY = bls.secret_to_public(NEW_SECRET)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Cluster]:
    created = Cluster(tmp_path / "net", blocks_per_epoch=EPOCH_BLOCKS,
                      extra_alloc={"0x" + d.hex(): 100_000 * ONE for d in DELEGATORS})
    try:
        yield created
    finally:
        created.close()


def _is_banned(node: NodeProcess) -> bool:
    try:
        info = node.call_rpc("hmyv2_getValidatorInformation", "0x" + OPERATOR.hex())
    except (OSError, AssertionError):  # not answering yet, or the validator not created yet
        return False
    return bool(info["active-status"] == "banned")


def _get_ledger(chain: Blockchain, number: int, genesis_supply: int) -> StateStakingLedger:
    return StateStakingLedger(chain.get_state(chain.get_header(number).state_root), genesis_supply)


@pytest.mark.timeout(420)
def test_a_double_signing_validator_is_slashed_banned_and_not_elected_again(network: Cluster) -> None:
    offender = network.add_node(NEW_SECRET, extra_args=("--debug.double-sign",))
    genesis_nodes = list(range(4))
    for index in genesis_nodes:
        network.start(index)
    network.wait_for_height(2, genesis_nodes, timeout=90)

    create = CreateValidator(OPERATOR, Description("equivocator", "", "", "", ""),
                             CommissionRates(DEC_PRECISION // 10, DEC_PRECISION // 2, DEC_PRECISION // 20),
                             10_000 * ONE, 1_000_000 * ONE, (NEW_KEY,),
                             (sign_proof_of_possession(NEW_SECRET, OPERATOR),), SELF_STAKE)
    send_staking(network, create, FUNDED_KEY, 0)
    # Both delegations in one gossip message, so that they land in one or two blocks.
    send_staking_batch(network, [sign_staking(Delegate(delegator, OPERATOR, amount), key, 0)
                                 for key, delegator, amount in zip(DELEGATOR_KEYS, DELEGATORS, DELEGATED)])
    # A slash is measured on the snapshot taken at the last block of an epoch: the faulty node starts
    # once the epoch holding the delegations has ended, so its first double sign is measured on a
    # snapshot that holds them. (Its slot begins two epochs after the election; a late start only
    # costs it a few blocks.)
    snapshotted = SCHEDULE.get_first_block(SCHEDULE.compute_epoch(network.nodes[0].get_height()) + 1)
    network.wait_for_height(snapshotted, genesis_nodes, timeout=60)
    network.start(offender.index)

    try:
        wait_for(lambda: _is_banned(network.nodes[0]), timeout=150, what="the double signer to be slashed and banned",
                 interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{network.dump_logs(8)}") from None
    banned_at = network.nodes[0].get_height()
    # Two elections after the ban (the committee published before it still serves one epoch), and a block.
    after = SCHEDULE.get_first_block(SCHEDULE.compute_epoch(banned_at) + 3) + 1
    network.wait_for_height(after, [*genesis_nodes, offender.index], timeout=90)
    wait_for(lambda: offender.get_chain_metric("hmy_consensus_validating") == 0, timeout=30,
             what="the banned validator's node to leave the committee")
    assert any(str(record.get("msg")).startswith("DEBUG DOUBLE SIGN IS ON")
               for record in network.get_log_records(offender.index)), "the switch is announced loudly"
    assert {index for index, _ in network.find_log("double sign observed")} - {offender.index}, \
        "an honest validator observed the equivocation"
    for index in range(len(network.nodes)):
        assert network.stop(index) == 0, network.dump_logs()

    genesis = load_genesis(network.genesis_file)
    genesis_supply = sum(balance for _, balance in genesis.alloc)
    with open_stopped_chain(network.nodes[0].datadir, network.genesis_file, 0) as chain:
        assert chain is not None
        headers = [chain.get_header(number) for number in range(1, chain.head.number + 1)]
        including = [header for header in headers if header.slashes]
        assert len(including) == 1 and len(decode_slashes(including[0].slashes)) == 1, "slashed exactly once"
        slash_block = including[0]
        block = chain.get_block_by_number(slash_block.number)
        assert not block.transactions and not block.staking_transactions, "no fee burned in that block"
        before = _get_ledger(chain, slash_block.number - 1, genesis_supply)
        after_slash = _get_ledger(chain, slash_block.number, genesis_supply)
        head = _get_ledger(chain, chain.head.number, genesis_supply)

        # The closed form, on the snapshot the slash was measured on.
        snapshot = before.get_snapshot(OPERATOR)
        current, slashed = before.get_validator(OPERATOR), after_slash.get_validator(OPERATOR)
        assert snapshot is not None and current is not None and slashed is not None
        backers = {d.delegator: d.amount for d in snapshot.delegations[1:]}
        assert snapshot.self_delegation == SELF_STAKE and backers == dict(zip(DELEGATORS, DELEGATED))
        own_loss = snapshot.self_delegation // 2
        delegators_owe = own_loss * 8 // 10
        shares = {delegator: delegators_owe * amount // sum(backers.values()) for delegator, amount in backers.items()}
        assert (own_loss, [shares[d] for d in DELEGATORS]) == (10_000 * ONE, [5_000 * ONE, 3_000 * ONE])
        assert slashed.status == EPoSStatus.BANNED and current.status != EPoSStatus.BANNED
        assert slashed.self_delegation == current.self_delegation - own_loss
        was = {d.delegator: d.amount for d in current.delegations[1:]}
        assert {d.delegator: d.amount for d in slashed.delegations[1:]} == {a: was[a] - shares[a] for a in was}
        total = own_loss + sum(shares.values())
        reporter = slash_block.coinbase
        reward = after_slash.get_balance(reporter) - before.get_balance(reporter)
        assert reward == total // 2, "the including block's coinbase is paid half of what was slashed"
        burned = after_slash.get_supply().burned - before.get_supply().burned
        assert burned == total - total // 2, "the rest is burned"

        # Elected before, banned for good after: no committee published from the slash on holds the key.
        published = [(h.number, ShardState.decode(h.shard_state)) for h in headers if h.shard_state]
        assert any(state.get_shard_of_key(NEW_KEY) is not None for n, state in published if n < slash_block.number)
        later = [state for n, state in published if n >= slash_block.number]
        assert len(later) >= 2 and all(state.get_shard_of_key(NEW_KEY) is None for state in later)
        wrapper = head.get_validator(OPERATOR)
        assert wrapper is not None and wrapper.status == EPoSStatus.BANNED

        # genesis + minted - burned = balances + stakes + unclaimed rewards + pending undelegations
        supply = head.get_supply()
        balances = sum(head.get_balance(a) for a in {OPERATOR, *DELEGATORS, reporter})
        staked = sum(d.amount + d.reward + d.pending_undelegation for d in wrapper.delegations)
        assert balances + staked == supply.total
