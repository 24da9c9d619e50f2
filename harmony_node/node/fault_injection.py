"""Faults a test can switch on in a real node, to watch the rest of the network deal with them.

One fault so far: double signing (``consensus.debug_double_sign``, the hidden flag
``--debug.double-sign``). A node with it on is otherwise honest: its engine decides every vote and
its safety record is on disk before any vote leaves, as always. The fault only *adds* messages:
after each commit vote the engine sends, a second commit vote by the same key, at the same height
and view, for another block hash. Those two signatures are what ``consensus.evidence`` calls a
double sign, so the other committee members' engines report it and the beacon slashes and bans the
validator (reference §6.7). Only commit votes are doubled: a conflicting prepare vote is not
slashable evidence, so it would show nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from consensus.fbft import Action, Broadcast, SendToLeader
from consensus.messages import ConsensusMessage, MessageKind, decode_message, encode_message
from consensus.scheme import BLS_SCHEME, SignatureScheme
from consensus.signing import compute_commit_payload
from crypto.hash import keccak256


def compute_conflicting_commit(
    vote: ConsensusMessage, secret_key: int, scheme: SignatureScheme = BLS_SCHEME
) -> ConsensusMessage:
    """A commit vote by ``vote``'s sender at its height and view for another block, signed as an honest one.

    The other hash is keccak256 of the real one: no block has it, so the forged vote never counts
    towards a certificate, and anyone holding both votes can prove the equivocation.
    """
    if vote.kind != MessageKind.COMMIT:
        raise ValueError(f"only commit votes are slashable; got {vote.kind.name}")
    block_hash = keccak256(vote.block_hash)
    payload = compute_commit_payload(vote.block_number, block_hash, vote.view_id)
    return replace(vote, block_hash=block_hash, payload=scheme.sign(secret_key, payload))


def compute_double_signed_actions(
    actions: Sequence[Action], keys: Mapping[bytes, int], scheme: SignatureScheme = BLS_SCHEME
) -> list[Action]:
    """``actions`` with each commit vote signed by one of ``keys`` followed by a conflicting one.

    The conflicting vote is broadcast rather than sent to the leader, so that every committee
    member, not only the leader, holds both votes and can report them.
    """
    doubled: list[Action] = []
    for action in actions:
        doubled.append(action)
        if isinstance(action, SendToLeader) and action.kind == MessageKind.COMMIT:
            vote = decode_message(action.data)
            secret_key = keys.get(vote.sender)
            if secret_key is not None:
                forged = compute_conflicting_commit(vote, secret_key, scheme)
                doubled.append(Broadcast(encode_message(forged), MessageKind.COMMIT))
    return doubled
