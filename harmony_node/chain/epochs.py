"""Epochs, committees and randomness for every chain of a network, as the beacon chain fixes them.

The rules (sharding/ has the pure pieces; this module reads the beacon's headers for them):

- Every chain counts epochs by its own block numbers (``EpochSchedule``): a header's ``epoch`` is
  ``compute_epoch(number)``. The committee of a block is the beacon's shard state for that epoch,
  so a committee is a function of the block number alone, known before the block exists.
- The beacon's last block of epoch E (E >= 1) publishes, in ``shard_state``, the assignment for
  epoch E + 2: one epoch of lookahead, in which a node can sync a shard it is about to validate.
  Epochs 0 to 2 use the genesis committees.
- The assignment shuffles every slot into shards with the randomness of epoch E: the VRF outputs
  of E's beacon blocks chained onto the randomness of E - 1 (genesis: a hash of the beacon's genesis
  block). The last block's own VRF counts, and a leader cannot choose its VRF, so nobody knows the
  assignment before that block is proposed.
- Every header carries its proposer's VRF over the parent hash; the proposer is the committee key
  whose BLS address is the header's coinbase.
- The slots are the genesis committees' keys (the network's own nodes, as Harmony's) plus the key
  slots the beacon's EPoS election picked at that same block, with their effective stake as voting
  power. In every shard with elected slots, its genesis slots together hold ``FOUNDATION_SHARE`` of
  the shard's power (as Harmony's HarmonyVotePercent), so a shard keeps a quorum while elected nodes
  come and go; a shard without any is one-key-one-vote. A key of a genesis slot cannot be elected.

A shard chain can run ahead of the beacon only by the lookahead: its last block of an epoch is
refused while the beacon has not published the next epoch's committee.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from consensus.quorum import Committee
from crypto.vrf import VRF_OUTPUT_SIZE, compute_vrf
from harmony_node.chain.genesis import Genesis
from harmony_node.exceptions import DecodingError, InvalidBlock, NotFound, ValidationError
from harmony_node.types.header import Header
from sharding.assignment import compute_shard_assignment
from sharding.randomness import compute_epoch_randomness, compute_genesis_randomness, validate_header_vrf
from sharding.schedule import EpochSchedule
from sharding.shard_state import ShardState, Slot, compute_genesis_shard_state
from staking.election import ElectedSlot

BEACON_SHARD = 0
GENESIS_EPOCHS = 2
"""Epochs 0..2 use the genesis committees; epoch E + 2's assignment is published at the end of E."""
FOUNDATION_SHARE = (68, 100)
"""Share of the voting power the genesis slots hold while elected slots exist (Harmony's 0.68)."""


class BeaconHeaders(Protocol):
    """Finalized beacon headers by number; NotFound for one this node has not finalized yet."""

    def get_header(self, number: int) -> Header:
        ...


def get_bls_address(public_key: bytes) -> bytes:
    """Harmony's ``PublicKey.GetAddress()``: the coinbase of a block a BLS key proposed."""
    return hashlib.sha256(public_key).digest()[:20]


class NetworkEpochs:
    """What every chain of one network needs to know about epochs; caches what it computed."""

    def __init__(self, genesis: Genesis, schedule: EpochSchedule, beacon_genesis_hash: bytes,
                 beacon: BeaconHeaders | None = None) -> None:
        """``beacon`` may be set later: the beacon chain's own rules need this object before it opens."""
        self.genesis = genesis
        self.schedule = schedule
        self.beacon = beacon
        self.num_shards = genesis.config.num_shards
        committees = [genesis.get_committee_keys(shard) for shard in range(self.num_shards)]
        self.genesis_state = compute_genesis_shard_state(committees)
        self.slots = tuple(Slot(key, get_bls_address(key), 0) for shard in committees for key in shard)
        self._randomness: dict[int, bytes] = {0: compute_genesis_randomness(beacon_genesis_hash)}
        self._states: dict[int, ShardState] = {}

    def _get_beacon_header(self, number: int) -> Header:
        if self.beacon is None:
            raise NotFound("the beacon chain is not open yet")
        return self.beacon.get_header(number)

    def get_shard_state(self, epoch: int) -> ShardState:
        """The assignment of ``epoch``; NotFound while the beacon block publishing it is not final here."""
        if epoch <= GENESIS_EPOCHS:
            return self.genesis_state
        state = self._states.get(epoch)
        if state is None:
            header = self._get_beacon_header(self.schedule.get_last_block(epoch - GENESIS_EPOCHS))
            try:
                state = ShardState.decode(header.shard_state)
            except DecodingError as exc:  # it was validated on import: the database is damaged
                raise NotFound(f"shard state of epoch {epoch} does not decode: {exc}") from exc
            self._states[epoch] = state
        return state

    def get_committee(self, shard_id: int, number: int) -> Committee:
        """The committee that signs block ``number`` of ``shard_id``."""
        epoch = self.schedule.compute_epoch(number)
        committee = self.get_shard_state(epoch).get_committee(shard_id)
        # Certificates are checked against (shard, epoch) of the block they sign.
        return Committee(shard_id, epoch, committee.public_keys, committee.voting_power)

    def get_slot_validators(self, shard_id: int, number: int) -> tuple[bytes, ...]:
        """The validator address of each committee slot of block ``number`` of ``shard_id``."""
        state = self.get_shard_state(self.schedule.compute_epoch(number))
        return tuple(slot.validator for slot in state.shards[shard_id])

    def get_randomness(self, epoch: int) -> bytes:
        """Randomness of a finished beacon epoch (every block of it final here).

        Each epoch chains onto the one before, so a node that starts late computes forward from the
        newest epoch it knows (iteratively: a long chain must not become a deep recursion).
        """
        known = max(e for e in self._randomness if e <= epoch)
        randomness = self._randomness[known]
        for next_epoch in range(known + 1, epoch + 1):
            first, last = self.schedule.get_first_block(next_epoch), self.schedule.get_last_block(next_epoch)
            outputs = [self._get_beacon_header(n).vrf[:VRF_OUTPUT_SIZE] for n in range(first, last + 1)]
            randomness = compute_epoch_randomness(randomness, outputs)
            self._randomness[next_epoch] = randomness
        return randomness

    def compute_slots(self, elected: Sequence[ElectedSlot]) -> tuple[Slot, ...]:
        """Genesis slots (stake 0 until a shard's powers are set) and elected slots (their effective stake)."""
        genesis_keys = {slot.public_key for slot in self.slots}
        return self.slots + tuple(Slot(e.public_key, e.validator, e.effective_stake) for e in elected
                                  if e.public_key not in genesis_keys and e.effective_stake > 0)

    def compute_published_state(self, epoch: int, last_vrf_output: bytes,
                                elected: Sequence[ElectedSlot] = ()) -> ShardState:
        """The assignment the beacon's last block of ``epoch`` publishes, given that block's VRF output
        and the slots its election picked."""
        first, last = self.schedule.get_first_block(epoch), self.schedule.get_last_block(epoch)
        outputs = [self._get_beacon_header(n).vrf[:VRF_OUTPUT_SIZE] for n in range(first, last)]
        randomness = compute_epoch_randomness(self.get_randomness(epoch - 1), [*outputs, last_vrf_output])
        state = compute_shard_assignment(self.compute_slots(elected), randomness, epoch + GENESIS_EPOCHS,
                                         self.num_shards)
        genesis_keys = frozenset(slot.public_key for slot in self.slots)
        return ShardState(state.epoch, tuple(compute_foundation_powers(slots, genesis_keys) for slots in state.shards))


def compute_foundation_powers(slots: Sequence[Slot], genesis_keys: frozenset[bytes]) -> tuple[Slot, ...]:
    """One shard's slots with its genesis slots holding ``FOUNDATION_SHARE`` of its voting power.

    Per shard, as Harmony's ``votepower.Compute``: with the share taken over the whole network, a
    shard that drew most of the elected keys gave them more than a third of its power, and elected
    validators that never ran a node halted that shard for good (no quorum, so no epoch end to
    boot them for unavailability). Genesis slots split the share equally; elected ones keep their
    effective stake. A shard with no elected slot stays one-key-one-vote (stakes 0).
    """
    elected_total = sum(slot.stake for slot in slots if slot.public_key not in genesis_keys)
    genesis_count = sum(1 for slot in slots if slot.public_key in genesis_keys)
    if not elected_total or not genesis_count:
        return tuple(slots)
    numerator, denominator = FOUNDATION_SHARE
    per_genesis_slot = max(1, elected_total * numerator // ((denominator - numerator) * genesis_count))
    return tuple(Slot(s.public_key, s.validator, per_genesis_slot) if s.public_key in genesis_keys else s
                 for s in slots)


@dataclass(frozen=True, slots=True)
class HeaderFields:
    """What a leader fills into a header because of the epoch rules."""

    epoch: int
    vrf: bytes
    shard_state: bytes


class ChainRules:
    """The epoch rules of one chain: fields a leader must fill in, and checks on import."""

    def __init__(self, epochs: NetworkEpochs, shard_id: int) -> None:
        self.epochs = epochs
        self.shard_id = shard_id
        self.schedule = epochs.schedule

    def get_committee(self, number: int) -> Committee:
        return self.epochs.get_committee(self.shard_id, number)

    def _require_next_committee(self, number: int) -> None:
        if self.schedule.is_last_block(number):
            next_epoch = self.schedule.compute_epoch(number) + 1
            try:
                self.epochs.get_shard_state(next_epoch)
            except NotFound as exc:
                raise InvalidBlock(f"block {number} ends an epoch, but the beacon has not published the "
                                   f"committee of epoch {next_epoch} here yet") from exc

    def compute_header_fields(self, parent: Header, leader_secret: int) -> HeaderFields:
        """``epoch``, ``vrf`` and ``shard_state`` of the block after ``parent``, built by ``leader_secret``."""
        number = parent.number + 1
        self._require_next_committee(number)
        vrf = compute_vrf(leader_secret, parent.hash)
        # The beacon's epoch-ending shard state depends on the block's election: execution fills it in.
        return HeaderFields(self.schedule.compute_epoch(number), vrf, b"")

    def validate_header(self, parent: Header, header: Header) -> None:
        """Epoch, proposer VRF and published shard state of ``header``; InvalidBlock names the rule."""
        number = header.number
        if header.epoch != self.schedule.compute_epoch(number):
            raise InvalidBlock(f"block {number} must be in epoch {self.schedule.compute_epoch(number)}, "
                               f"not {header.epoch}")
        self._require_next_committee(number)
        committee = self.get_committee(number)
        proposer = next((k for k in committee.public_keys if get_bls_address(k) == header.coinbase), None)
        if proposer is None:
            raise InvalidBlock("the coinbase is not the address of a committee key")
        try:
            validate_header_vrf(header, proposer, parent.hash)
        except ValidationError as exc:
            raise InvalidBlock(f"VRF: {exc}") from exc
        # The beacon's epoch-ending shard state is checked after execution (it holds the election).
        if header.shard_state and not self.is_publishing_block(number):
            raise InvalidBlock("only the beacon's last block of an epoch carries a shard state")

    def is_publishing_block(self, number: int) -> bool:
        """Whether block ``number`` of this chain publishes the assignment two epochs ahead."""
        return self.shard_id == BEACON_SHARD and self.schedule.is_last_block(number)
