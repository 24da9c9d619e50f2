"""The double-sign switch: off by default, hidden from --help, and a real, provable equivocation when on."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

from chain_factory import BLS_SECRETS, COMMITTEE
from cli.node import main as hmy_node
from consensus.evidence import DoubleSignEvidence, Vote, validate_double_sign_evidence
from consensus.fbft import Broadcast, SendToLeader
from consensus.messages import ConsensusMessage, MessageKind, decode_message, encode_message, verify_message_signatures
from consensus.signing import compute_commit_payload, compute_prepare_payload
from crypto import bls
from crypto.hash import keccak256
from driver_network import KEYS, Network
from harmony_node.node.config import NodeConfig, build_config, dump_config
from harmony_node.node.fault_injection import compute_double_signed_actions

NUMBER, VIEW = 7, 9
BLOCK_HASH = b"\x42" * 32


def _vote(kind: MessageKind, signer: int) -> SendToLeader:
    """A vote as the engine sends it to the leader (committee member 3 leads)."""
    if kind == MessageKind.COMMIT:
        payload = compute_commit_payload(NUMBER, BLOCK_HASH, VIEW)
    else:
        payload = compute_prepare_payload(BLOCK_HASH, VIEW)
    message = ConsensusMessage(kind, 0, VIEW, NUMBER, BLOCK_HASH, KEYS[signer],
                               payload=bls.sign(BLS_SECRETS[signer], payload))
    return SendToLeader(encode_message(message), kind, KEYS[3])


def test_the_switch_is_off_by_default_and_round_trips_through_toml() -> None:
    assert NodeConfig().consensus.debug_double_sign is False
    assert "debug_double_sign = false" in dump_config(NodeConfig())
    config = build_config({"consensus": {"debug_double_sign": True}})
    assert config.consensus.debug_double_sign
    assert build_config(tomllib.loads(dump_config(config))) == config


def test_the_flag_works_but_is_hidden_from_help(tmp_path: Path) -> None:
    runner = CliRunner()
    for command in (["start"], ["config", "dump"]):
        result = runner.invoke(hmy_node, [*command, "--help"])
        assert result.exit_code == 0 and "double" not in result.output, command
    on = runner.invoke(hmy_node, ["config", "dump", "--debug.double-sign"])
    assert on.exit_code == 0, on.output
    assert tomllib.loads(on.output)["consensus"]["debug_double_sign"] is True
    # Without the flag, the file's setting stands.
    config = tmp_path / "node.toml"
    config.write_text("[consensus]\ndebug_double_sign = true\n")
    from_file = runner.invoke(hmy_node, ["config", "dump", "--config", str(config)])
    assert tomllib.loads(from_file.output)["consensus"]["debug_double_sign"] is True


def test_the_forged_vote_and_the_honest_one_prove_a_double_sign() -> None:
    honest = _vote(MessageKind.COMMIT, 0)
    actions = compute_double_signed_actions([honest], {KEYS[0]: BLS_SECRETS[0]})
    assert actions[0] == honest and len(actions) == 2
    sent = actions[1]
    assert isinstance(sent, Broadcast) and sent.kind == MessageKind.COMMIT
    forged = decode_message(sent.data)  # well-formed on the wire ...
    verify_message_signatures(forged)  # ... and a valid vote by the same key, same height and view
    original = decode_message(honest.data)
    assert (forged.sender, forged.block_number, forged.view_id) == (original.sender, NUMBER, VIEW)
    assert forged.block_hash == keccak256(BLOCK_HASH)
    evidence = DoubleSignEvidence(0, COMMITTEE.epoch, NUMBER, VIEW,
                                  Vote((original.sender,), original.block_hash, original.payload),
                                  Vote((forged.sender,), forged.block_hash, forged.payload))
    assert validate_double_sign_evidence(DoubleSignEvidence.decode(evidence.encode())) == (KEYS[0],)


def test_only_own_commit_votes_are_doubled() -> None:
    keys = {KEYS[0]: BLS_SECRETS[0]}
    for action in (_vote(MessageKind.PREPARE, 0), _vote(MessageKind.COMMIT, 1)):
        assert compute_double_signed_actions([action], keys) == [action]


def test_other_validators_report_a_double_signing_driver_and_blocks_still_finalize(tmp_path: Path) -> None:
    network = Network(tmp_path, double_signers=frozenset({1}))
    try:
        network.run_until(4)
        drivers = [d for d in network.drivers if d is not None]
        for number in range(1, 5):
            assert len({d.chain.get_block_by_number(number).header.hash for d in drivers}) == 1
        assert network.evidence, "nobody reported the double sign"
        for reporter, evidence in network.evidence:
            assert reporter != 1
            assert validate_double_sign_evidence(evidence) == (KEYS[1],)
    finally:
        network.close()
