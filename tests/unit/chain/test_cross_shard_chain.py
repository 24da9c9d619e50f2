"""Two chains of one network on LevelDB: a transfer leaves shard 0 and is credited on shard 1 once.

The beacon (shard 0) and shard 1 follow the epoch rules (committees from the beacon, VRF headers);
blocks are built by a committee key and finalized with a real quorum certificate, as consensus
would. The destination credits a relayed proof exactly once: the same proof in a later block, a
proof with a forged amount, or one signed by the wrong committee changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from crypto import bls
from crypto.secp256k1 import compute_address
from harmony_node.chain.blockchain import Blockchain
from harmony_node.chain.shard_flows import ShardFlows, get_shard_flows
from harmony_node.chain.chain_store import CommitRecord
from harmony_node.chain.config import ONE, ChainConfig
from harmony_node.chain.genesis import Genesis
from harmony_node.exceptions import InvalidBlock
from harmony_node.types.block import Block, compute_incoming_receipts_root
from harmony_node.types.cx_receipt import CXReceiptsProof
from harmony_node.types.transaction import Transaction, sign_transaction
from two_chains import build_next, finalize, open_two_chains
from sharding.cross_shard import build_cx_receipts_proof
from sharding.crosslink import CrossLink, build_crosslink, decode_crosslinks, encode_crosslinks

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
SENDER = compute_address(KEY)
RECIPIENT = b"\x42" * 20
SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 9)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
CONFIG = ChainConfig(num_shards=2)
GENESIS = Genesis("localnet", CONFIG, 1_700_000_000, b"", ((SENDER, 1_000 * ONE),),
                  committees=(tuple(KEYS[:4]), tuple(KEYS[4:])))


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[tuple[Blockchain, Blockchain]]:
    with open_two_chains(tmp_path, GENESIS) as (_, beacon, shard):
        yield beacon, shard


def _secret_of(public_key: bytes) -> int:
    return SECRETS[KEYS.index(public_key)]


def _finalize(chain: Blockchain, block: Block, view: int) -> CommitRecord:
    return finalize(chain, block, view, _secret_of)


def _build(chain: Blockchain, txs: Sequence[Transaction], incoming: Sequence[CXReceiptsProof] = (),
           crosslinks: Sequence[CrossLink] = ()) -> tuple[Block, int]:
    return build_next(chain, _secret_of, txs, incoming, crosslinks)


def _send_cross_shard(beacon: Blockchain, value: int) -> CXReceiptsProof:
    tx = sign_transaction(nonce=beacon.get_state().get_nonce(SENDER), gas_price=CONFIG.min_gas_price, gas_limit=21_000,
                          shard_id=0, to_shard_id=1, to=RECIPIENT, value=value, data=b"", private_key=KEY,
                          chain_id=CONFIG.chain_id)
    block, view = _build(beacon, [tx])
    commit = _finalize(beacon, block, view + 2)  # committed after two view changes: the proof must say so
    outgoing = beacon.chain_store.get_outgoing_receipts(block.header.hash)
    assert [r.amount for r in outgoing] == [value]
    proof = build_cx_receipts_proof(block.header, outgoing, 1, commit.certificate, commit.view)
    assert proof is not None
    return proof


def test_transfer_is_credited_once(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, shard = chains
    proof = _send_cross_shard(beacon, 5 * ONE)
    assert beacon.get_state().get_balance(RECIPIENT) == 0  # debited at the source, credited nowhere yet
    block, view = _build(shard, [], [proof, proof])  # offered twice: included once
    assert len(block.incoming_receipts) == 1
    _finalize(shard, block, view)
    assert shard.get_state().get_balance(RECIPIENT) == 5 * ONE
    again, view = _build(shard, [], [proof])  # a leader re-offered it: left out as spent
    assert not again.incoming_receipts
    _finalize(shard, again, view)
    assert shard.get_state().get_balance(RECIPIENT) == 5 * ONE
    # Each shard's books: the beacon burned the fee and sent 5 ONE, shard 1 credited them, once.
    assert get_shard_flows(beacon.get_state()) == ShardFlows(21_000 * CONFIG.min_gas_price, 5 * ONE, 0)
    assert get_shard_flows(shard.get_state()) == ShardFlows(0, 0, 5 * ONE)


def _forced_block(shard: Blockchain, proofs: list[CXReceiptsProof]) -> tuple[Block, int]:
    """A block that carries ``proofs`` whatever honest checks say (a Byzantine leader's block).

    Its state root is the empty block's: an honest importer refuses the proofs before it gets there.
    """
    block, view = _build(shard, [])
    header = block.header.copy(incoming_receipts_root=compute_incoming_receipts_root(proofs))
    return block.copy(header=header, incoming_receipts=proofs), view


def test_a_replayed_proof_is_refused_and_changes_nothing(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, shard = chains
    proof = _send_cross_shard(beacon, 5 * ONE)
    block, view = _build(shard, [], [proof])
    _finalize(shard, block, view)
    replay, view = _forced_block(shard, [proof])
    assert len(replay.incoming_receipts) == 1
    head = shard.head
    with pytest.raises(InvalidBlock, match="already credited"):
        _finalize(shard, replay, view)
    assert shard.head == head and shard.get_state().get_balance(RECIPIENT) == 5 * ONE


def test_forged_proofs_are_refused(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, shard = chains
    proof = _send_cross_shard(beacon, 5 * ONE)
    richer = proof.copy(receipts=[proof.receipts[0].copy(amount=500 * ONE)])
    other_view = proof.copy(commit_view=proof.commit_view + 1)
    for forged, reason in ((richer, "receipts"), (other_view, "")):
        block, view = _forced_block(shard, [forged])
        with pytest.raises(InvalidBlock, match=f"incoming receipts.*{reason}"):
            _finalize(shard, block, view)
    assert shard.head.number == 0 and shard.get_state().get_balance(RECIPIENT) == 0
    # An honest leader never includes them.
    honest, _ = _build(shard, [], [richer, other_view])
    assert not honest.incoming_receipts


def test_beacon_includes_valid_crosslinks_once(chains: tuple[Blockchain, Blockchain]) -> None:
    beacon, shard = chains
    links = []
    for _ in range(2):
        block, view = _build(shard, [])
        commit = _finalize(shard, block, view)
        links.append(build_crosslink(block.header, commit.view, commit.certificate))
    forged = dataclasses.replace(links[1], block_number=9)  # a certificate of another block
    block, view = _build(beacon, [], crosslinks=[links[1], forged, links[0], links[0]])
    assert decode_crosslinks(block.header.cross_links) == (links[0], links[1])
    _finalize(beacon, block, view)
    assert beacon.chain_store.get_last_linked(1) == 2
    assert beacon.chain_store.get_crosslink(1, 1) == links[0].encode()
    again, view = _build(beacon, [], crosslinks=links)  # already linked: left out
    assert again.header.cross_links == b""
    # A beacon block carrying a crosslink the quorum did not sign is refused.
    bad = again.copy(header=again.header.copy(cross_links=encode_crosslinks([forged])))
    with pytest.raises(InvalidBlock, match="crosslink"):
        beacon.execute_block(bad)
    with pytest.raises(InvalidBlock, match="only the beacon"):
        shard_block, _ = _build(shard, [])
        shard.execute_block(shard_block.copy(header=shard_block.header.copy(cross_links=encode_crosslinks(links))))
